//! What `karya-agent` says on the command line: sync outcomes, `status`, imports, records,
//! set-up, and its errors.

use super::{say, words};
// Words of the shared layers that the agent shows in its own sentences too.
pub use karya_shared::text::store::{disk_full, not_found, read_only_disk, record_kind};

// Sync outcomes, `status` and the hub as the agent reports it: `sync.rs`.
pub use super::sync::*;

// ---- set-up, token, secret ----

pub fn hub_url_shape(hub: &str) -> String {
    say!(
        "--hub '{hub}' harus berupa URL yang diawali https:// (atau http:// di jaringan tertutup)",
        "--hub '{hub}' must be a URL starting with https:// (or http:// on a private network)",
    )
}

pub fn initialised(dir: &str, upt: &str) -> String {
    say!(
        "{dir} siap untuk UPT {upt}; jalankan layanannya dengan: karya-agent run",
        "initialised {dir} for UPT {upt}; start the service with: karya-agent run",
    )
}

pub fn hub_accepts_token(hub: &str) -> String {
    say!(
        "pusat di {hub} menerima token ini",
        "the hub at {hub} accepts this token",
    )
}

pub fn hub_refuses_token_at_init(hub: &str, detail: &str, upt: &str) -> String {
    say!(
        "pusat di {hub} menolak token ini ({detail}); belum ada yang disiapkan. Periksa token dari Ditjenpas untuk {upt} (pusat bisa menerbitkan yang baru: karya-hub upt token {upt}), atau jalankan init dengan --no-check untuk tetap menyiapkan",
        "the hub at {hub} refused the token ({detail}); nothing was set up. Check the token HQ gave for {upt} (HQ can issue a new one: karya-hub upt token {upt}), or run init with --no-check to set up anyway",
    )
}

pub fn account_admin(name: &str, admin: bool) -> String {
    if admin {
        say!(
            "akun {name} kini admin (boleh mengganti token di Pengaturan konsol); berlaku saat masuk berikutnya",
            "account {name} is now an admin (may change the token under the console's Settings); from its next sign-in",
        )
    } else {
        say!(
            "akun {name} bukan admin lagi; berlaku saat masuk berikutnya",
            "account {name} is no longer an admin; from its next sign-in",
        )
    }
}

pub fn token_of_another_upt(other: &str, upt: &str) -> String {
    say!(
        "token ini milik {other}, bukan {upt}; tidak disimpan. Minta token {upt} ke admin pusat (karya-hub upt token {upt})",
        "this token belongs to {other}, not {upt}; it was not saved. Ask HQ's admin for {upt}'s token (karya-hub upt token {upt})",
    )
}

pub fn hub_refuses_new_token(hub: &str, detail: &str, upt: &str) -> String {
    say!(
        "pusat di {hub} menolak token ini ({detail}); token lama tetap dipakai. Periksa token dari Ditjenpas untuk {upt} (pusat bisa menerbitkan yang baru: karya-hub upt token {upt})",
        "the hub at {hub} refused this token ({detail}); the old one stays in use. Check the token HQ gave for {upt} (HQ can issue a new one: karya-hub upt token {upt})",
    )
}

pub fn token_not_checked(reason: &str) -> String {
    say!(
        "PERINGATAN: token belum bisa diperiksa sekarang ({reason}); init dilanjutkan, dan layanan akan sinkron saat pusat terjangkau",
        "WARNING: the token could not be checked now ({reason}); init goes on, and the service syncs when the hub is reachable",
    )
}

pub fn plain_http(hub: &str) -> String {
    say!(
        "PERINGATAN: pusat {hub} memakai HTTP biasa: token UPT dan semua catatan melewati jaringan tanpa enkripsi dan bisa diputar ulang. Pakai https:// (pasang TLS di depan pusat), atau tegaskan dengan --insecure-http.",
        "WARNING: the hub {hub} is plain HTTP: the UPT's token and every record cross the network unencrypted and can be replayed. Use https:// (put the hub behind TLS), or confirm with --insecure-http.",
    )
}

words! {
    token_shape: "token adalah satu kata tanpa spasi, persis seperti dari Ditjenpas (karya_...)",
        "a token is one word without spaces, as HQ gave it (karya_...)";
    token_saved: "token disimpan", "token saved";
    token_asking_service: "meminta layanan yang berjalan untuk sinkron sekarang ...", "asking the running service to sync with it now ...";
    token_next_sync: "sinkron berikutnya memakai token ini; untuk mencoba sekarang: karya-agent sync",
        "the next sync uses it; to try now: karya-agent sync";
    secret_file_shape: "berkas rahasia pseudonim harus berisi 64 digit heksadesimal (dari karya-agent secret export)",
        "the pseudonym secret file must hold 64 hex digits (from karya-agent secret export)";
    secret_differs: "instalasi ini sudah punya rahasia pseudonim yang lain; pakai --data-dir yang baru",
        "this installation already has a different pseudonym secret; use a new --data-dir";
    secret_damaged: "rahasia di agent.db rusak (bukan 64 digit heksadesimal)", "the secret in agent.db is damaged (not 64 hex digits)";
    secret_missing: "rahasia hilang dari agent.db padahal sudah ada peserta yang didaftarkan dengannya",
        "the secret is missing from agent.db although participants were enrolled with it";
    secret_unreadable: "rahasia yang baru dibuat tidak bisa dibaca kembali", "the secret just made cannot be read back";
    account_is_admin: " (admin)", " (admin)";
    secret_imported: "rahasia pseudonim dipasang; pendaftaran memakai pseudonim yang sama dengan PC lama", "pseudonym secret put in place; enrolments use the same pseudonyms as the old PC";
    secret_made_new: "rahasia pseudonim baru dibuat; peserta lama yang didaftarkan lagi akan terhitung dua kali", "a new pseudonym secret was made; earlier participants enrolled again will count twice";
}

pub fn secret_of_another_install(n: i64) -> String {
    say!(
        "UPT ini sudah punya {n} peserta yang didaftarkan dengan rahasia pseudonim instalasi lain, dan rahasia itu tidak ada di sini; tidak ada yang didaftarkan. Salin rahasianya dari PC lama (karya-agent secret export FILE, atau salinan yang disimpan offline) lalu di sini: karya-agent secret import FILE. Bila rahasia itu hilang untuk selamanya: karya-agent secret new (orang yang sama yang didaftarkan lagi akan terhitung dua kali di pusat)",
        "this UPT already has {n} participants enrolled with another installation's pseudonym secret, which is not here; nobody was enrolled. Copy the secret from the old PC (karya-agent secret export FILE, or the copy kept offline), then here: karya-agent secret import FILE. If it is lost for good: karya-agent secret new (the same people enrolled again then count twice at HQ)",
    )
}

pub fn secret_lost(why: &str) -> String {
    say!(
        "{why}; pseudonim tidak bisa dibuat. Pulihkan rahasia dari ekspornya (karya-agent secret export, disimpan offline) dengan init --pseudonym-secret-file pada folder data baru, atau pulihkan agent.db dari cadangan; jangan membuat yang baru, karena setiap peserta akan mendapat pseudonim kedua",
        "{why}; pseudonyms cannot be made. Restore the secret from its export (karya-agent secret export, kept offline) with init --pseudonym-secret-file on a new data directory, or restore agent.db from a backup; do not make a new one, or every participant gets a second pseudonym",
    )
}

pub fn secret_written(file: &str) -> String {
    say!(
        "rahasia pseudonim ditulis ke {file} (hanya pemiliknya yang bisa membaca); jangan pernah mengirimnya ke pusat",
        "pseudonym secret written to {file} (owner-only); never send it to the hub",
    )
}

pub fn cannot_read(file: &str, reason: &str) -> String {
    say!(
        "tidak bisa membaca {file}: {reason}",
        "cannot read {file}: {reason}",
    )
}

pub fn cannot_write(file: &str, reason: &str) -> String {
    say!(
        "tidak bisa menulis {file}: {reason}",
        "cannot write {file}: {reason}",
    )
}

pub fn not_initialised(dir: &str) -> String {
    say!(
        "{dir} belum disiapkan sebagai folder karya-agent; jalankan: karya-agent init --upt KODE --hub URL --token TOKEN",
        "{dir} is not an initialised karya agent directory; run: karya-agent init --upt CODE --hub URL --token TOKEN",
    )
}

pub fn already_initialised(path: &str, upt: &str) -> String {
    say!(
        "{path} sudah berisi agen untuk UPT {upt}; pakai --data-dir lain, atau hapus untuk mulai dari awal",
        "{path} already holds an agent for UPT {upt}; use another --data-dir, or remove it to start over",
    )
}

pub fn config_io(path: &str, reason: &str) -> String {
    say!(
        "tidak bisa membaca atau menulis {path}: {reason}",
        "cannot read or write {path}: {reason}",
    )
}

pub fn config_invalid(path: &str, reason: &str) -> String {
    say!(
        "{path} tidak valid: {reason}",
        "{path} is not valid: {reason}",
    )
}

pub fn env_not_seconds(name: &str, value: &str) -> String {
    say!(
        "variabel lingkungan {name}={value} bukan jumlah detik",
        "environment variable {name}={value} is not a number of seconds",
    )
}

pub fn read_only_dir(dir: &str, why: &str) -> String {
    say!(
        "folder data {dir} hanya-baca ({why}); karya-agent bisa menampilkan isinya (status, daftar produk) tetapi tidak mencatat apa pun sampai bisa ditulis lagi: pasang ulang disk dengan izin tulis atau beri pengguna layanan hak tulis",
        "the data directory {dir} is read-only ({why}); karya-agent can show what it holds (status, product list) but records nothing until it is writable again: remount the disk read-write or give the service's user write access",
    )
}

pub fn service_already_runs(dir: &str, who: Option<u32>, console: Option<&str>) -> String {
    let who = who.map(|pid| format!(" (pid {pid})")).unwrap_or_default();
    let console = console
        .map(|a| match super::lang() {
            super::Lang::Id => format!("; konsolnya di http://{a}/"),
            super::Lang::En => format!("; its console is at http://{a}/"),
        })
        .unwrap_or_default();
    say!(
        "layanan karya-agent sudah berjalan untuk {dir}{who}{console}; hentikan dulu (systemctl stop karya-agent), atau pakai --data-dir lain",
        "a karya-agent service already runs for {dir}{who}{console}; stop it first (systemctl stop karya-agent), or use another --data-dir",
    )
}

// ---- console accounts ----

pub fn account_name_shape(name: &str) -> String {
    say!(
        "'{name}' bukan nama akun; pakai huruf, angka, '.', '-' atau '_' (misalnya budi.santoso)",
        "'{name}' is not an account name; use letters, digits, '.', '-' or '_' (e.g. budi.santoso)",
    )
}

pub fn account_exists(name: &str) -> String {
    say!(
        "akun '{name}' sudah ada; untuk mengganti kata sandinya: karya-agent user passwd {name}",
        "there is an account '{name}' already; to change its password: karya-agent user passwd {name}",
    )
}

pub fn no_account(name: &str) -> String {
    say!(
        "tidak ada akun '{name}'; lihat karya-agent user list",
        "there is no account '{name}'; see karya-agent user list",
    )
}

pub fn account_added(name: &str, listen: &str) -> String {
    say!(
        "akun '{name}' ditambahkan; masuk ke konsol di http://{listen}/",
        "account '{name}' added; sign in to the console at http://{listen}/",
    )
}

pub fn password_changed(name: &str) -> String {
    say!(
        "kata sandi '{name}' diganti",
        "password of '{name}' changed",
    )
}

pub fn account_removed(name: &str) -> String {
    say!("akun '{name}' dihapus", "account '{name}' removed")
}

pub fn account_line(name: &str, since: &str, failed: i64) -> String {
    let failed = match (failed, super::lang()) {
        (0, _) => String::new(),
        (n, super::Lang::Id) => format!("  ({n} kali gagal masuk berturut-turut)"),
        (n, super::Lang::En) => format!("  ({n} failed login(s) in a row)"),
    };
    say!(
        "{name}  sejak {since}{failed}",
        "{name}  since {since}{failed}"
    )
}

words! {
    password_too_short: "kata sandi terlalu pendek; paling sedikit 8 karakter",
        "the password is too short; use at least 8 characters";
    passwords_differ: "kedua kata sandi berbeda; tidak ada yang diubah", "the two passwords differ; nothing changed";
    password_prompt: "Kata sandi: ", "Password: ";
    new_password_prompt: "Kata sandi baru: ", "New password: ";
    password_again: "Ulangi kata sandi: ", "Repeat the password: ";
    no_accounts: "belum ada akun; tambahkan dengan: karya-agent user add NAMA",
        "no accounts; add one with: karya-agent user add NAME";
}

// ---- records ----

pub fn already_enrolled(reg_no: &str) -> String {
    say!(
        "nomor registrasi {reg_no} sudah terdaftar di pelatihan ini; tidak didaftarkan lagi",
        "registration number {reg_no} is already enrolled in this training; not enrolled again",
    )
}

pub fn training_full(program: &str, taken: i64, capacity: i64) -> String {
    say!(
        "pelatihan '{program}' sudah penuh ({taken} peserta, kapasitas {capacity}); naikkan kapasitasnya atau tandai peserta yang mundur",
        "training '{program}' is full ({taken} participants, capacity {capacity}); raise its capacity or mark those who dropped out",
    )
}

pub fn name_ambiguous(name: &str, kind: &str) -> String {
    let kind = super::store::record_kind(kind);
    say!(
        "lebih dari satu {kind} bernama '{name}'; tulis id-nya",
        "more than one {kind} is named '{name}'; give its id",
    )
}

pub fn id_ambiguous(id: &str, kind: &str) -> String {
    let kind = super::store::record_kind(kind);
    say!(
        "'{id}' cocok dengan lebih dari satu {kind}; tulis id lebih panjang",
        "'{id}' matches more than one {kind}; give more of the id",
    )
}

pub fn no_such_photo(id: &str, hash: &str) -> String {
    say!(
        "produk {id} tidak punya foto {hash}; lihat karya-agent product photo list {id}",
        "product {id} has no photo {hash}; see karya-agent product photo list {id}",
    )
}

pub fn photo_ambiguous(hash: &str, n: usize, id: &str) -> String {
    say!(
        "'{hash}' mengawali {n} hash foto produk {id}; tulis lebih panjang",
        "'{hash}' starts {n} photo hashes of product {id}; give more of it",
    )
}

pub fn no_participant(reg_no: &str) -> String {
    say!(
        "tidak ada peserta dengan nomor registrasi {reg_no} di pelatihan ini; daftarkan dulu (training enroll)",
        "no participant with registration number {reg_no} in this training; enrol them first (training enroll)",
    )
}

pub fn removed(id: &str) -> String {
    say!("{id} dihapus", "{id} removed")
}

pub fn stock_now(id: &str, stock: i64) -> String {
    say!("{id}: stok sekarang {stock}", "{id}: stock now {stock}")
}

pub fn enrolled(pseudonym: &str) -> String {
    say!(
        "terdaftar (pseudonim {pseudonym})",
        "enrolled (pseudonym {pseudonym})",
    )
}

pub fn completed(pseudonym: &str) -> String {
    say!(
        "lulus (pseudonim {pseudonym})",
        "completed (pseudonym {pseudonym})",
    )
}

pub fn no_photos(id: &str) -> String {
    say!(
        "belum ada foto; tambahkan dengan: karya-agent product photo add {id} BERKAS",
        "no photos; add one with: karya-agent product photo add {id} FILE",
    )
}

words! {
    col_name: "NAMA", "NAME";
    col_category: "KATEGORI", "CATEGORY";
    col_price: "HARGA (Rp)", "PRICE (Rp)";
    col_stock: "STOK", "STOCK";
    col_curation: "KURASI", "CURATION";
    col_start: "MULAI", "START";
    col_end: "SELESAI", "END";
    col_people: "ORANG", "PEOPLE";
    col_done: "LULUS", "DONE";
    conflict_flag: " (konflik)", " (conflict)";
    removed_flag: ", DIHAPUS", ", REMOVED";
    yes: "ya", "yes";
    no: "tidak", "no";
    no_curation_yet: "  Kurasi pusat: belum ada", "  HQ curation: none yet";
    verified: "terverifikasi", "verified";
    sent_back: "perlu perbaikan", "sent back for changes";
    changed_after_approval: "  Berubah setelah disetujui: katalog nasional tetap memakai nilai yang disetujui sampai pusat menyetujui lagi.",
        "  Changed after approval: the national catalogue keeps the approved values until HQ approves again.";
}

pub fn product_line(
    category: &str,
    price: &str,
    unit: &str,
    stock: &str,
    workshop: &str,
) -> String {
    say!(
        "  kategori {category}, harga {price}, satuan {unit}, stok {stock}, bengkel kerja {workshop}",
        "  category {category}, price {price}, unit {unit}, stock {stock}, workshop {workshop}",
    )
}

pub fn product_nominated(yes_no: &str, removed: &str) -> String {
    say!(
        "  diusulkan: {yes_no}{removed}",
        "  nominated: {yes_no}{removed}"
    )
}

pub fn product_photos(n: usize) -> String {
    say!("  foto: {n}", "  photos: {n}")
}

pub fn product_certification(kind: &str, number: &str, until: Option<&str>) -> String {
    let until = until
        .map(|d| match super::lang() {
            super::Lang::Id => format!(", berlaku sampai {d}"),
            super::Lang::En => format!(", valid until {d}"),
        })
        .unwrap_or_default();
    say!(
        "  sertifikasi: {kind} {number}{until}",
        "  certification: {kind} {number}{until}",
    )
}

pub fn product_verification(status: &str, by: &str, at: &str, note: &str) -> String {
    let note = if note.is_empty() {
        String::new()
    } else {
        format!(" — {note}")
    };
    say!(
        "  Verifikasi Kanwil: {status} oleh {by} pada {at}{note}",
        "  Kanwil verification: {status} by {by} at {at}{note}",
    )
}

pub fn product_curation(status: &str, by: &str, at: &str, note: &str) -> String {
    let note = if note.is_empty() {
        String::new()
    } else {
        format!(" — {note}")
    };
    say!(
        "  Kurasi pusat: {status} oleh {by} pada {at}{note}",
        "  HQ curation: {status} by {by} at {at}{note}",
    )
}

pub fn product_conflict(field: &str, kept: &str, others: &str) -> String {
    say!(
        "  KONFLIK pada {field}: yang dipakai {kept}, juga diisi bersamaan: {others}",
        "  CONFLICT on {field}: kept {kept}, also set concurrently: {others}",
    )
}

pub fn training_line(
    id: &str,
    program: &str,
    category: &str,
    start: &str,
    end: &str,
    hours: i64,
    partner: &str,
) -> String {
    say!(
        "{id}  {program} ({category}), {start} s.d. {end}, {hours} jam, mitra {partner}",
        "{id}  {program} ({category}), {start} to {end}, {hours} h, partner {partner}",
    )
}

pub fn participant_line(who: &str, status: &str, hours: i64, certificate: &str) -> String {
    let certificate = if certificate.is_empty() {
        String::new()
    } else {
        match super::lang() {
            super::Lang::Id => format!(", sertifikat {certificate}"),
            super::Lang::En => format!(", certificate {certificate}"),
        }
    };
    say!(
        "  {who}: {status} — {hours} jam{certificate}",
        "  {who}: {status} — {hours} h{certificate}",
    )
}

pub fn pseudonym_only(short: &str) -> String {
    say!("pseudonim {short}", "pseudonym {short}")
}

// ---- repair and migrate ----

pub fn not_a_document(name: &str) -> String {
    say!(
        "'{name}' bukan dokumen UPT ini; yang bisa diperbaiki: national, curation atau upt",
        "'{name}' is not a document of this UPT; repair national, curation or upt",
    )
}

pub fn repair_would_lose(doc: &str, pending: usize) -> String {
    say!(
        "{doc} berisi {pending} perubahan yang belum ada di pusat; memperbaikinya akan menghilangkannya. Sinkronkan dulu, atau perbaiki dengan --force",
        "{doc} holds {pending} change(s) the hub does not have yet; repairing it loses them. Sync first, or repair with --force",
    )
}

pub fn repair_dropped(doc: &str) -> String {
    say!(
        "{doc}: salinan di komputer ini dibuang; mengambilnya lagi dari pusat",
        "{doc}: this PC's copy dropped; fetching it again from the hub",
    )
}

pub fn no_database(path: &str) -> String {
    say!(
        "tidak ada basis data agen di {path}; periksa --data-dir (atau KARYA_DATA_DIR)",
        "there is no agent database at {path}; check --data-dir (or KARYA_DATA_DIR)",
    )
}

pub fn schema_newer(name: &str, found: i64, known: i64) -> String {
    say!(
        "  {name} skema {found}: LEBIH BARU dari yang dikenal versi ini ({known}); pakai karya-agent yang lebih baru",
        "  {name} schema {found}: NEWER than this build knows ({known}); use the newer karya-agent",
    )
}

pub fn schema_current(name: &str, found: i64) -> String {
    say!(
        "  {name} skema {found}: terkini, tidak ada yang perlu dilakukan",
        "  {name} schema {found}: current, nothing to do",
    )
}

pub fn schema_pending(name: &str, found: i64, known: i64) -> String {
    say!(
        "  {name} skema {found} -> {known}: saat mulai berikutnya diterapkan:",
        "  {name} schema {found} -> {known}: the next start applies:",
    )
}

pub fn database_too_new(name: &str, found: i64, known: i64) -> String {
    say!(
        "skema {name} basis data ({found}) lebih baru dari yang dikenal karya-agent ini ({known}); pasang karya-agent yang lebih baru",
        "the database's {name} schema ({found}) is newer than this karya-agent knows ({known}); install the newer karya-agent",
    )
}

// ---- import and templates ----

pub fn import_checked(file: &str, rows: usize, kind: &str) -> String {
    say!(
        "{file}: semua {rows} baris {kind} benar; belum ada yang ditulis (jalankan lagi tanpa --dry-run untuk mengimpor)",
        "{file}: all {rows} {kind} row(s) are fine; nothing was written (run again without --dry-run to import)",
    )
}

pub fn imported(rows: usize, kind: &str, file: &str) -> String {
    say!(
        "{rows} baris {kind} diimpor dari {file}",
        "imported {rows} {kind} row(s) from {file}",
    )
}

/// An import's kind of rows as the operator reads it.
pub fn import_kind(kind: &str) -> &'static str {
    match (super::lang(), kind) {
        (super::Lang::Id, "products") => "produk",
        (super::Lang::Id, "sales") => "penjualan",
        (super::Lang::Id, "trainings") => "pelatihan",
        (super::Lang::Id, "enrolments") => "peserta",
        (super::Lang::En, "products") => "product",
        (super::Lang::En, "sales") => "sale",
        (super::Lang::En, "enrolments") => "participant",
        (_, _) => "training",
    }
}

pub fn template_written(file: &str) -> String {
    say!(
        "{file} ditulis; isi lembar Data (hapus baris contohnya), lalu: karya-agent import {file}",
        "wrote {file}; fill in the Data sheet (delete the example row), then: karya-agent import {file}",
    )
}

pub fn row_error(row: usize, column: &str, reason: &str) -> String {
    say!(
        "baris {row}, kolom '{column}': {reason}",
        "row {row}, column '{column}': {reason}",
    )
}

pub fn import_unreadable(file: &str, reason: &str) -> String {
    cannot_read(file, reason)
}

pub fn import_unknown_kind(file: &str, headers: &str) -> String {
    say!(
        "{file}: dari judul kolomnya ({headers}) tidak jelas berkas ini berisi apa; pakai templat dari karya-agent template produk|penjualan|pelatihan",
        "{file}: cannot tell what the file holds from its headers ({headers}); use a template from karya-agent template produk|penjualan|pelatihan",
    )
}

pub fn import_unknown_columns(file: &str, columns: &str) -> String {
    say!(
        "{file}: {columns}. Tidak ada yang diimpor: ganti judul kolom itu dengan nama kolom di templat (karya-agent template produk|penjualan|pelatihan), atau hapus kolomnya bila isinya tidak perlu.",
        "{file}: {columns}. Nothing was imported: rename that column to a template's header (karya-agent template produk|penjualan|pelatihan), or delete the column if its contents are not needed.",
    )
}

pub fn unknown_column(column: &str, nearest: Option<&str>) -> String {
    match nearest {
        Some(near) => say!(
            "kolom '{column}' tidak dikenal; maksudnya '{near}'?",
            "column '{column}' is not known; did you mean '{near}'?",
        ),
        None => say!(
            "kolom '{column}' tidak dikenal",
            "column '{column}' is not known",
        ),
    }
}

pub fn column_number(n: usize) -> String {
    say!("kolom {n} tanpa judul", "column {n} without a header")
}

pub fn import_rejected(file: &str, count: usize, rows: &str) -> String {
    say!(
        "{file}: {count} baris bermasalah, tidak ada yang diimpor:\n{rows}",
        "{file}: {count} bad row(s), nothing was imported:\n{rows}",
    )
}

pub fn import_again(file: &str, earlier: &str) -> String {
    say!(
        "{file} sudah pernah diimpor ({earlier}); berkas yang sama tidak diimpor dua kali. Untuk menambahkan barisnya lagi, impor dengan --again (atau pilih \"impor lagi\" di konsol)",
        "{file} was imported already ({earlier}); the same file is not imported twice. To add its rows again, import it with --again (or choose \"import again\" in the console)",
    )
}

pub fn imported_earlier(file: &str, at: &str, rows: &str) -> String {
    say!(
        "sebagai {file} pada {at}, {rows} baris",
        "as {file} on {at}, {rows} row(s)",
    )
}

pub fn file_too_big(size: u64, max: u64, rows: usize) -> String {
    say!(
        "berkasnya {size} byte; paling besar {max} (pecah menjadi berkas berisi paling banyak {rows} baris)",
        "the file is {size} bytes; at most {max} (split it into files of at most {rows} rows)",
    )
}

pub fn too_many_rows(max: usize) -> String {
    say!(
        "lembarnya berisi lebih dari {max} baris; pecah menjadi berkas berisi paling banyak {max} baris (setiap berkas diimpor utuh atau tidak sama sekali)",
        "the sheet has more than {max} rows; split it into files of at most {max} rows (each file is imported whole or not at all)",
    )
}

pub fn too_many_columns(n: usize, max: usize) -> String {
    say!(
        "ada baris berisi {n} kolom; templat paling banyak {max}",
        "a row has {n} columns; a template has at most {max}",
    )
}

pub fn not_xlsx(reason: &str) -> String {
    say!(
        "bukan berkas XLSX ({reason})",
        "not an XLSX file ({reason})",
    )
}

pub fn xlsx_inflates(size: u64, max: u64) -> String {
    say!(
        "isi buku kerja ini {size} byte bila dibuka; paling besar {max} (simpan hanya lembar datanya, atau pecah berkasnya)",
        "the workbook unpacks to {size} bytes; at most {max} (save only the data sheet, or split the file)",
    )
}

pub fn wrong_extension(ext: &str) -> String {
    say!(
        "berkas '.{ext}' tidak diimpor; pakai .csv atau .xlsx",
        "'.{ext}' files are not imported; use .csv or .xlsx",
    )
}

words! {
    file_empty: "berkasnya kosong", "the file is empty";
    workbook_damaged: "buku kerja rusak dan tidak bisa dibaca; buka di Excel, simpan ulang (atau ekspor sebagai CSV), lalu coba lagi",
        "the workbook is damaged and could not be read; open it in Excel, save it again (or export it as CSV), and retry";
    example_row: "ini baris contoh dari templat; hapus, lalu impor lagi",
        "this is the template's example row; delete it, then import again";
    inbox_rejected_head: "DITOLAK: tidak ada baris yang diimpor. Perbaiki baris di bawah ini lalu taruh lagi berkasnya di folder inbox.",
        "REJECTED: nothing was imported. Fix the rows below and drop the file into the inbox again.";
}

pub fn no_training_here(text: &str) -> String {
    say!(
        "tidak ada pelatihan '{text}' di UPT ini; tulis nama pelatihan persis seperti di daftar, atau 6+ karakter pertama id-nya",
        "no training '{text}' in this UPT; write the training's name as listed, or the first 6+ characters of its id",
    )
}

pub fn enrolled_twice_in_sheet(reg_no: &str) -> String {
    say!(
        "nomor registrasi {reg_no} muncul dua kali untuk pelatihan yang sama di berkas ini",
        "registration number {reg_no} appears twice for the same training in this file",
    )
}

pub fn no_product_here(text: &str) -> String {
    say!(
        "tidak ada produk '{text}' di UPT ini (tulis namanya persis, id-nya, atau 6+ karakter pertama id-nya)",
        "no product '{text}' at this UPT (give its exact name, its id, or the first 6+ characters of the id)",
    )
}

words! {
    no_sheet: "buku kerja tidak punya lembar", "the workbook has no sheet";
    empty_number: "kosong; perlu bilangan bulat", "is empty; a whole number is needed";
    empty_date: "kosong; perlu tanggal (15/11/2026)", "is empty; a date is needed (15/11/2026)";
    inbox_link: "ini tautan, bukan berkas; salin berkasnya sendiri ke inbox", "it is a link, not a file; copy the file itself into the inbox";
    import_internal_error: "pembacaannya gagal di dalam karya-agent (galat internal); kirim berkasnya ke dukungan pusat",
        "reading it failed inside karya-agent (internal error); send the file to HQ support";
    nothing_to_change: "tidak ada yang diubah; isi paling sedikit satu dari --name, --price, ...",
        "nothing to change; give at least one of --name, --price, ...";
    unknown_file_type: "jenis berkas tidak dikenal", "unknown file type";
}

pub fn photo_is(format: &str) -> String {
    say!("berkasnya {format}", "it is {format}")
}

pub fn too_many_pixels(w: u32, h: u32) -> String {
    say!(
        "{w}x{h} piksel melebihi 64 juta piksel; simpan fotonya dengan resolusi lebih kecil (mis. 12 MP) lalu tambahkan lagi",
        "{w}x{h} pixels is more than 64 million; save the photo at a smaller resolution (say 12 MP) and add it again",
    )
}

// ---- photos ----

pub fn photo_too_big(path: &str, size: u64, max_mb: u64) -> String {
    say!(
        "{path} berukuran {size} byte; foto paling besar {max_mb} MB (perkecil dulu di ponsel atau komputer)",
        "{path} is {size} bytes; photos of at most {max_mb} MB are taken (make it smaller on the phone or PC first)",
    )
}

pub fn photo_not_image(path: &str, reason: &str) -> String {
    say!(
        "{path} bukan foto JPEG, PNG atau WebP ({reason})",
        "{path} is not a JPEG, PNG or WebP photo ({reason})",
    )
}

pub fn photo_undecodable(path: &str, reason: &str) -> String {
    say!(
        "{path} tidak bisa dibaca sebagai gambar ({reason}); apakah berkasnya utuh?",
        "{path} could not be decoded ({reason}); is the file complete?",
    )
}

pub fn photo_cannot_store(dir: &str, reason: &str) -> String {
    say!(
        "foto tidak bisa disimpan di {dir}: {reason}",
        "cannot store the photo in {dir}: {reason}",
    )
}

// ---- storage ----

pub fn stock_below_zero(product: &str, stock: &str, sold: &str, after: &str) -> String {
    say!(
        "stok '{product}' tercatat {stock}; terjual {sold} membuatnya {after}",
        "'{product}' has {stock} in stock; selling {sold} takes it to {after}",
    )
}

pub fn sale_would_go_below_zero(which: &str) -> String {
    say!(
        "{which}. Periksa jumlahnya, atau tambahkan stok dulu (karya-agent product stock ID +N); untuk tetap menyimpan dengan stok minus: --below-zero",
        "{which}. Check the quantity, or add stock first (karya-agent product stock ID +N); to record it anyway with stock below zero: --below-zero",
    )
}

/// Why the hub refused a document or a photo, in the operator's words: from the hub's code
/// where it sends one (its own words otherwise, and in English).
pub fn refusal_words(r: &karya_shared::session::Refusal) -> String {
    if karya_shared::text::lang() == karya_shared::text::Lang::En {
        return r.detail().to_string();
    }
    let said = match r.code() {
        Some("unknown_document") => "pusat tidak mengenal dokumen ini",
        Some("not_visible") => "dokumen ini bukan milik UPT ini; agen tidak boleh mengirimnya",
        Some("malformed") => {
            "isinya rusak atau melanggar aturan data; pusat tidak menerima apa pun darinya. Jalankan karya-agent repair untuk mengambil salinan pusat"
        }
        Some("not_applicable") => {
            "perubahan tidak bisa diterapkan di pusat; jalankan karya-agent repair untuk menyamakan dengan pusat"
        }
        Some("not_writer") => {
            "ada perubahan yang hanya boleh ditulis pusat atau Kanwil (mis. keputusan kurasi); tidak ada yang diterima"
        }
        Some("unknown_key") => {
            "pusat sedang dibangun ulang dan belum mengenal kunci agen ini; dikirim lagi setelah daftar UPT kembali"
        }
        Some("hub_copy_stands") => {
            "pusat dibangun ulang tanpa kunci lamanya dan tidak dapat memulihkan keputusan kurasi atau daftar UPT yang lebih baru; salinan pusat dipakai (Ditjenpas memutuskan lagi)"
        }
        Some("awaiting_adoption") => {
            "pusat sedang dibangun ulang tanpa kunci lamanya dan belum menerima apa pun sampai Ditjenpas menetapkan daftar UPT; bila pusat menelepon, bacakan Sidik registri dari karya-agent status. Dikirim lagi pada sinkron berikutnya"
        }
        Some("internal_error") => {
            "terjadi galat di pusat; tidak ada yang digabung. Sinkronisasi berikutnya mencoba lagi"
        }
        Some("photo_quota") => {
            "kuota foto UPT di pusat penuh; hapus foto yang tidak dipakai lagi, atau minta pusat menaikkan kuotanya"
        }
        Some("too_many_uploads") | Some("busy") => {
            "pusat sedang sibuk menerima foto; dikirim lagi nanti"
        }
        Some("forbidden") | Some("unauthorized") => {
            "pusat menolak token ini untuk foto; periksa token UPT (karya-agent token set)"
        }
        _ => return r.detail().to_string(),
    };
    said.to_string()
}
