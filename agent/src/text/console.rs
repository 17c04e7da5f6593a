//! The operator's web console: its pages, forms and messages.

use super::{say, words};

words! {
    // Navigation and frame.
    nav_home: "Beranda", "Home";
    nav_products: "Produk", "Products";
    nav_sales: "Penjualan", "Sales";
    nav_trainings: "Pelatihan", "Trainings";
    nav_import: "Impor", "Import";
    nav_log: "Log", "Log";
    logout: "Keluar", "Log out";
    hub_word: "pusat", "hub";
    problem_title: "Ada masalah", "Something went wrong";
    back_home: "Kembali ke beranda", "Back to the home page";

    // Login.
    login_title: "Masuk", "Log in";
    no_accounts: "Belum ada akun. Di server UPT, jalankan: ", "No accounts yet. On the UPT's server, run: ";
    no_accounts_command: "karya-agent user add NAMA", "karya-agent user add NAME";
    field_user: "Nama", "Name";
    field_password: "Kata sandi", "Password";
    login_button: "Masuk", "Log in";
    login_wrong: "Nama atau kata sandi salah.", "Wrong name or password.";
    login_again: "Sesi berakhir; silakan masuk lagi.", "The session ended; please log in again.";
    login_form_stale: "Halaman masuk ini sudah kedaluwarsa atau tidak berasal dari konsol ini. Isi lagi formulir di bawah.",
        "This sign-in page has expired or did not come from this console. Fill in the form below again.";
    login_from_here: "Terlalu banyak percobaan masuk yang gagal dari komputer ini. Tunggu satu menit, lalu coba lagi.",
        "Too many failed sign-ins from this computer. Wait a minute, then try again.";
    login_busy: "Terlalu banyak percobaan masuk bersamaan. Tunggu sebentar, lalu coba lagi.",
        "Too many sign-ins at once. Wait a moment, then try again.";

    // Beranda: the sync state.
    state_synced: "Tersinkron", "In sync";
    state_never: "Belum pernah sinkron", "Never synced";
    state_never_advice: "Tekan \"Sinkronkan sekarang\" untuk mengirim data ke pusat.",
        "Press \"Sync now\" to send the data to HQ.";
    state_syncing: "Sedang sinkronisasi", "Syncing";
    state_offline: "Menunggu jaringan", "Waiting for the network";
    state_offline_advice: "Pusat tidak terjangkau. Data tetap aman di komputer ini dan dikirim otomatis saat jaringan kembali.",
        "HQ cannot be reached. The data is safe on this PC and is sent by itself when the network is back.";
    state_refused: "Dokumen ditolak", "Documents refused";
    state_refused_advice: "Pusat menolak sebagian data; lihat alasannya di bawah dan hubungi admin pusat.",
        "HQ refused some of the data; see the reasons below and contact HQ's admin.";
    state_token: "Token ditolak", "Token refused";
    state_token_advice: "Pusat tidak menerima token UPT ini (dicabut atau salah ketik). Minta token baru ke Ditjenpas, lalu di server UPT jalankan: karya-agent token set TOKEN-BARU — tidak perlu restart.",
        "HQ does not accept this UPT's token (revoked or mistyped). Ask HQ for a new one, then run on the UPT's server: karya-agent token set NEW-TOKEN — no restart needed.";
    state_interrupted: "Terputus di tengah", "Interrupted";
    state_interrupted_advice: "Sinkronisasi terakhir berhenti di tengah jalan; tidak ada data yang hilang, sinkronisasi berikutnya melanjutkan.",
        "The last sync stopped part-way; no data is lost, and the next sync goes on from there.";
    state_disk_full: "Disk penuh", "Disk full";
    state_disk_full_advice: "Layanan tidak bisa menulis datanya. Kosongkan ruang disk; layanan pulih sendiri.",
        "The service cannot write its data. Free disk space; the service recovers by itself.";
    state_read_only: "Hanya-baca", "Read-only";
    state_read_only_advice: "Folder data tidak bisa ditulis; data yang ada bisa dilihat, tetapi tidak ada yang bisa dicatat.",
        "The data folder cannot be written; what is stored can be seen, but nothing can be recorded.";
    last_success: "Terakhir berhasil", "Last success";
    never: "belum pernah", "never";
    changes_waiting: "Perubahan menunggu dikirim", "Changes waiting to be sent";
    photos_waiting: "Foto menunggu dikirim", "Photos waiting to be sent";
    next_try: "Percobaan berikutnya", "Next try";
    last_error: "Kesalahan terakhir", "Last error";
    refused: "Ditolak: ", "Refused: ";
    sync_now: "Sinkronkan sekarang", "Sync now";

    // Products.
    all_categories: "Semua kategori", "All categories";
    search: "Cari", "Search";
    category: "Kategori", "Category";
    show: "Tampilkan", "Show";
    name: "Nama", "Name";
    price: "Harga", "Price";
    price_rp: "Harga (Rp)", "Price (Rp)";
    stock: "Stok", "Stock";
    unit: "Satuan", "Unit";
    workshop: "Bengkel kerja", "Workshop";
    description: "Deskripsi", "Description";
    certifications: "Sertifikasi", "Certifications";
    nominate: " Usulkan ke katalog nasional", " Propose for the national catalogue";
    nominated: "Diusulkan", "Proposed";
    curation: "Kurasi pusat", "HQ curation";
    decided: "Diputuskan", "Decided";
    yes: "ya", "yes";
    conflict_flag: "(konflik)", "(conflict)";
    add_product: "Tambah produk", "Add a product";
    add: "Tambah", "Add";
    save: "Simpan", "Save";
    photos: "Foto", "Photos";
    cover: "Sampul", "Cover";
    remove_photo: "Hapus foto", "Remove photo";
    no_photos: "Belum ada foto.", "No photos yet.";
    caption: " Keterangan ", " Caption ";
    photo_files: "File foto (JPEG, PNG, WebP)", "Photo files (JPEG, PNG, WebP)";
    sheet_file: "File (XLSX, CSV, ODS)", "File (XLSX, CSV, ODS)";
    add_photos: "Tambah foto", "Add photos";
    photos_cleaned: "Foto diperkecil dan dibersihkan (lokasi GPS dan data kamera dihapus) sebelum disimpan.",
        "Photos are made smaller and cleaned (GPS location and camera data removed) before they are stored.";
    quantity: "Jumlah", "Quantity";
    stock_up: "+ Tambah", "+ Add";
    stock_down: "− Kurangi", "− Take away";
    edit: "Ubah", "Edit";
    remove_product: "Hapus produk", "Remove product";
    curation_nominated: "diusulkan", "proposed";
    curation_in_review: "sedang ditinjau", "in review";
    curation_approved: "disetujui", "approved";
    curation_featured: "diunggulkan", "featured";
    curation_rejected: "ditolak", "rejected";
    kanwil_verification: "Verifikasi Kanwil", "Kanwil verification";
    verified: "terverifikasi", "verified";
    sent_back: "perlu perbaikan", "sent back for changes";
    proposed_again: "(sudah diusulkan lagi)", "(proposed again)";
    changed_after_approval: "berubah setelah disetujui: katalog nasional tetap memakai nilai yang disetujui sampai pusat menyetujui lagi",
        "changed after approval: the national catalogue keeps the approved values until HQ approves again";
    changed_after_verification: "berubah setelah diverifikasi", "changed after verification";
    curation_history: "Riwayat kurasi", "Curation history";
    level: "Tingkat", "Level";
    decision: "Keputusan", "Decision";
    decided_by: "Oleh", "By";
    note: "Catatan", "Note";
    values_decided: "Nilai yang diputuskan", "Values decided on";
    hq_level: "Pusat", "HQ";
    fills: "Mengisi", "Fills";
    fills_nothing: "(tidak dikenal)", "(not known)";
    without_kanwil: "(tanpa verifikasi Kanwil)", "(without the Kanwil's verification)";
    save_and_propose: "Simpan dan usulkan lagi", "Save and propose again";
    awaits_you: "Menunggu tindakan Anda", "Waiting for you";
    kanwil_note: "Catatan Kanwil", "Kanwil's note";
    proposed_again_saved: "Perubahan disimpan dan produk diusulkan lagi; sampai ke Kanwil pada sinkronisasi berikutnya.",
        "Changes saved and the product proposed again; it reaches the Kanwil at the next sync.";
    and: " dan ", " and ";

    // Sales.
    product: "Produk", "Product";
    revenue: "Pendapatan", "Revenue";
    revenue_rp: "Pendapatan (Rp)", "Revenue (Rp)";
    date: "Tanggal", "Date";
    date_hint: "15/11/2026 (kosong: hari ini)", "15/11/2026 (empty: today)";
    channel: "Kanal", "Channel";
    record_sale: "Catat penjualan", "Record the sale";
    undo_sale: "Batalkan", "Undo";

    // Trainings.
    name_here_only: "Nama (hanya di komputer ini)", "Name (on this PC only)";
    reg_no: "Nomor registrasi", "Registration number";
    status: "Status", "Status";
    certificate: "Sertifikat", "Certificate";
    certificate_no: "Nomor sertifikat", "Certificate number";
    enrol: "Daftarkan peserta", "Enrol participant";
    mark_completed: "Tandai lulus", "Mark completed";
    add_training: "Tambah pelatihan", "Add a training";
    program: "Program", "Programme";
    start: "Mulai", "Start";
    end: "Selesai", "End";
    hours: "Jam", "Hours";
    partner: "Mitra", "Partner";
    instructor: "Instruktur", "Instructor";
    capacity: "Kapasitas", "Capacity";
    scheme: "Skema", "Scheme";
    status_enrolled: "terdaftar", "enrolled";
    status_completed: "lulus", "completed";
    status_dropped: "keluar", "dropped";

    // Import.
    errors_none_imported: " kesalahan; tidak ada yang diimpor. Perbaiki berkasnya, lalu unggah lagi.",
        " error(s); nothing was imported. Fix the file, then upload it again.";
    row: "Baris", "Row";
    column: "Kolom", "Column";
    problem: "Masalah", "Problem";
    upload: "Unggah berkas", "Upload a file";
    upload_hint: "CSV (dipisah ; atau ,) atau XLSX. Templat: ", "CSV (separated by ; or ,) or XLSX. Template: ";
    check: "Periksa", "Check";
    upload_expired: "Pratinjau ini sudah tidak berlaku; unggah berkasnya lagi.",
        "This preview has expired; upload the file again.";

    // Log.
    bundle: "Unduh bundel dukungan", "Download the support bundle";
    bundle_hint: " (status, kejadian terakhir, versi; tanpa nama, nomor registrasi, token atau rahasia)",
        " (status, recent events, versions; no names, registration numbers, tokens or secrets)";
    time: "Waktu", "Time";
    kind: "Jenis", "Kind";
    event: "Kejadian", "Event";

    // Flash messages and refusals.
    forged_form: "Formulir ini sudah kedaluwarsa atau tidak berasal dari konsol ini. Muat ulang halaman, lalu kirim lagi.",
        "This form has expired or did not come from this console. Reload the page, then send it again.";
    service_stopping: "Layanan sedang berhenti; sinkronisasi tidak dijalankan.", "The service is stopping; the sync was not run.";
    service_stopped: "Layanan sedang berhenti; sinkronisasi tidak selesai.", "The service is stopping; the sync did not finish.";
    product_not_found: "Produk tidak ditemukan. Mungkin sudah dihapus; lihat daftar produk.",
        "Product not found. It may have been removed; see the product list.";
    changes_saved: "Perubahan disimpan.", "Changes saved.";
    confirm_remove_product_title: "Hapus produk?", "Remove the product?";
    confirm_remove_photo_title: "Hapus foto?", "Remove the photo?";
    yes_remove: "Ya, hapus", "Yes, remove";
    choose_photo: "Pilih foto dulu (JPEG, PNG atau WebP).", "Choose a photo first (JPEG, PNG or WebP).";
    photo_removed: "Foto dihapus dari produk.", "Photo removed from the product.";
    photo_not_found: "Foto tidak ditemukan.", "Photo not found.";
    sale_not_found: "Penjualan itu tidak ada (sudah dibatalkan?).", "No such sale (undone already?).";
    confirm_undo_title: "Batalkan penjualan?", "Undo the sale?";
    confirm_sale_title: "Stok menjadi minus", "Stock goes below zero";
    yes_record_anyway: "Ya, tetap simpan", "Yes, record it anyway";
    yes_undo: "Ya, batalkan", "Yes, undo it";
    back: "Kembali", "Back";
    first_page: "« Halaman pertama", "« First page";
    certification_kind: "Jenis", "Kind";
    certification_number: "Nomor", "Number";
    valid_until: "Berlaku sampai", "Valid until";
    remove_this: "hapus", "remove";
    nav_settings: "Pengaturan", "Settings";
    admin_only: "Halaman ini hanya untuk akun admin. Admin UPT membuatnya di server: karya-agent user admin NAMA", "This page is for admin accounts only. The UPT's admin makes one on the server: karya-agent user admin NAME";
    no_such_template: "Templat itu tidak ada; pilih produk, penjualan atau pelatihan di halaman Impor.", "No such template; choose produk, penjualan or pelatihan on the Import page.";
    new_token_title: "Token baru dari pusat", "A new token from HQ";
    new_token_help: "Tempel token yang diberikan admin pusat (mis. setelah token lama dicabut). Token diperiksa ke pusat dulu: token UPT lain atau yang ditolak pusat tidak disimpan.", "Paste the token HQ's admin gave (e.g. after the old one was revoked). It is checked with the hub first: another UPT's token, or one the hub refuses, is not saved.";
    new_token: "Token", "Token";
    save_token: "Simpan token", "Save the token";
    token_saved_here: "Token disimpan.", "Token saved.";
    templates_here: "Templat XLSX dengan daftar pilihan dan contoh:", "XLSX templates with dropdowns and an example:";
    previous_page: "« Sebelumnya", "« Previous";
    search_trainings: "Cari pelatihan", "Search trainings";
    mark_passed: "Lulus", "Passed";
    product_pick_hint: "ketik nama produk", "type the product's name";
    search_sales: "Cari produk terjual", "Search by product";
    next_page: "Berikutnya »", "Next »";
    search_hint: "nama, kata, atau 6+ karakter id", "name, words, or 6+ characters of the id";
    completion_recorded: "Kelulusan dicatat.", "Completion recorded.";
    choose_file: "Pilih berkas CSV atau XLSX dulu.", "Choose a CSV or XLSX file first.";
    upload_not_found: "Unggahan tidak ditemukan; unggah berkasnya lagi.", "Upload not found; upload the file again.";
    event_stopped_during_sync: "layanan berhenti saat sinkron; tidak ada yang hilang", "the service stopped during a sync; nothing acknowledged was lost";
}

pub fn synced(
    documents: usize,
    sent: &str,
    received: &str,
    changes: &str,
    round_trips: u32,
) -> String {
    say!(
        "Sinkronisasi berhasil: {documents} dokumen, terkirim {sent} B, diterima {received} B, {changes} perubahan dari pusat, {round_trips} putaran.",
        "Sync done: {documents} documents, {sent} B sent, {received} B received, {changes} change(s) from HQ, {round_trips} round trip(s).",
    )
}

pub fn photos_sent(n: usize) -> String {
    say!(" {n} foto terkirim.", " {n} photo(s) sent.")
}

pub fn but_refused(text: &str, n: usize, docs: &str) -> String {
    say!(
        "{text} Tetapi pusat menolak {n} dokumen: {docs}",
        "{text} But HQ refused {n} document(s): {docs}",
    )
}

pub fn token_refused(reason: &str) -> String {
    say!(
        "Token ditolak oleh pusat. Minta token baru ke Ditjenpas, lalu jalankan di server UPT: karya-agent token set TOKEN-BARU. ({reason})",
        "HQ refused the token. Ask HQ for a new one, then run on the UPT's server: karya-agent token set NEW-TOKEN. ({reason})",
    )
}

pub fn sync_failed(reason: &str) -> String {
    say!(
        "Sinkronisasi gagal: {reason}. Data tetap aman di komputer ini dan dikirim otomatis saat jaringan kembali.",
        "Sync failed: {reason}. The data is safe on this PC and is sent by itself when the network is back.",
    )
}

pub fn input_wrong(field: &str, reason: &str) -> String {
    say!(
        "Isian belum benar — {field}: {reason}",
        "Not quite right — {field}: {reason}",
    )
}

pub fn not_found(what: &str) -> String {
    say!("Tidak ditemukan: {what}.", "Not found: {what}.")
}

pub fn failed(reason: &str) -> String {
    say!("Gagal: {reason}", "Failed: {reason}")
}

/// A field's name on the console's forms.
pub fn field_label(field: &str) -> &str {
    let (id, en) = match field.split('.').next().unwrap_or(field) {
        "name" => ("Nama", "Name"),
        "category" => ("Kategori", "Category"),
        "price_idr" => ("Harga", "Price"),
        "unit" => ("Satuan", "Unit"),
        "description" => ("Deskripsi", "Description"),
        "workshop" => ("Bengkel kerja", "Workshop"),
        "nominated" => ("Diusulkan", "Proposed"),
        "stock" => ("Stok", "Stock"),
        "certifications" => ("Sertifikasi", "Certifications"),
        "quantity" => ("Jumlah", "Quantity"),
        "revenue_idr" => ("Pendapatan", "Revenue"),
        "program" => ("Program", "Programme"),
        "end_date" => ("Selesai", "End"),
        "reg-no" | "reg_no" => ("Nomor registrasi", "Registration number"),
        "training_id" => ("Pelatihan", "Training"),
        "product_id" => ("Produk", "Product"),
        "date" => ("Tanggal", "Date"),
        "channel" => ("Tempat terjual", "Channel"),
        "start_date" => ("Mulai", "Start"),
        "hours" => ("Jam", "Hours"),
        "partner" => ("Mitra", "Partner"),
        "instructor" => ("Instruktur", "Instructor"),
        "capacity" => ("Kapasitas", "Capacity"),
        "scheme" => ("Skema sertifikasi", "Certification scheme"),
        _ => return field,
    };
    match super::lang() {
        super::Lang::Id => id,
        super::Lang::En => en,
    }
}

pub fn conflict_words(field: &str, values: &str, kept: &str) -> String {
    say!(
        "Dua komputer mengubah {field} bersamaan: {values}. Yang dipakai: {kept}. Simpan lagi nilai yang benar untuk menyelesaikannya.",
        "Two PCs changed {field} at the same time: {values}. Kept: {kept}. Save the right value again to settle it.",
    )
}

pub fn product_count(n: &str) -> String {
    say!("{n} produk", "{n} product(s)")
}

pub fn training_line(
    category: &str,
    start: &str,
    end: &str,
    hours: i64,
    people: i64,
    done: i64,
) -> String {
    say!(
        "{category}, {start} – {end}, {hours} jam, {people} peserta, {done} lulus",
        "{category}, {start} – {end}, {hours} h, {people} participant(s), {done} completed",
    )
}

pub fn preview_of(name: &str) -> String {
    say!("Pratinjau: {name}", "Preview: {name}")
}

pub fn all_rows_fine(n: usize, kind: &str) -> String {
    say!(
        "Semua {n} baris benar ({kind}). Belum ada yang ditulis.",
        "All {n} rows are fine ({kind}). Nothing was written yet.",
    )
}

pub fn import_all(n: usize) -> String {
    say!("Impor semua {n} baris", "Import all {n} rows")
}

pub fn imported_before(earlier: &str) -> String {
    say!(
        "Berkas dengan isi yang sama sudah pernah diimpor ({earlier}).",
        "A file with the same content was imported before ({earlier}).",
    )
}

pub fn login_slowed(seconds: i64) -> String {
    say!(
        "Terlalu banyak percobaan yang gagal. Coba lagi dalam {seconds} detik.",
        "Too many failed attempts. Try again in {seconds} seconds.",
    )
}

pub fn field_problem(label: &str, reason: &str) -> String {
    format!("{label}: {reason}")
}

pub fn product_added(name: &str) -> String {
    say!(
        "Produk \"{name}\" ditambahkan.",
        "Product \"{name}\" added."
    )
}

pub fn sent_back_box(note: &str) -> String {
    say!(
        "Kanwil mengembalikan produk ini untuk diperbaiki: “{note}”. Perbaiki di formulir Ubah di bawah, lalu tekan “Simpan dan usulkan lagi”.",
        "The Kanwil sent this product back for changes: “{note}”. Fix it in the Edit form below, then press “Save and propose again”."
    )
}

pub fn sale_words(quantity: &str, product: &str, date: &str, revenue: &str) -> String {
    say!(
        "{quantity} × {product} tanggal {date} senilai {revenue}",
        "{quantity} × {product} on {date} worth {revenue}"
    )
}

pub fn sale_undone(what: &str) -> String {
    say!("Penjualan {what} dibatalkan.", "Sale {what} undone.")
}

pub fn confirm_undo(what: &str) -> String {
    say!(
        "Penjualan {what} akan dihapus dari catatan UPT dan dari angka nasional pada sinkronisasi berikutnya.",
        "The sale {what} will be removed from the UPT's records, and from the national figures at the next sync."
    )
}

pub fn import_warning(which: &str) -> String {
    say!(
        "Perhatian: penjualan di berkas ini mengurangi stok: {which}. Mengimpor tetap menyimpannya dengan stok minus; periksa jumlahnya dulu.",
        "Note: the sales in this file lower the stock: {which}. Importing records them anyway with stock below zero; check the quantities first.",
    )
}

pub fn settings_upt(upt: &str, hubs: &str) -> String {
    say!(
        "Agen ini milik {upt} dan bersinkron dengan pusat di {hubs}.",
        "This agent belongs to {upt} and syncs with the hub at {hubs}."
    )
}

pub fn training_count(n: &str) -> String {
    say!("{n} pelatihan", "{n} training(s)")
}

pub fn page_of(n: usize, of: usize) -> String {
    say!("halaman {n} dari {of}", "page {n} of {of}")
}

pub fn sale_count(n: &str) -> String {
    say!("{n} penjualan", "{n} sale(s)")
}

pub fn shown_on_page(n: &str) -> String {
    say!("{n} di halaman ini", "{n} on this page")
}

pub fn product_removed(name: &str) -> String {
    say!(
        "Produk '{name}' dihapus (tetap tercatat di riwayat; pusat mengetahuinya pada sinkronisasi berikutnya).",
        "Product '{name}' removed (kept in the history; HQ learns of it at the next sync).",
    )
}

pub fn confirm_remove_product(name: &str) -> String {
    say!(
        "Produk '{name}' akan dihapus dari daftar UPT, dari antrean kurasi dan dari katalog nasional pada sinkronisasi berikutnya. Penjualannya tetap tercatat.",
        "Product '{name}' will be removed from the UPT's list, from the curation queues and from the national catalogue at the next sync. Its sales stay recorded.",
    )
}

pub fn confirm_remove_photo(n: usize, product: &str, caption: &str) -> String {
    say!(
        "Foto ke-{n} produk '{product}'{caption} akan dihapus dari produk; katalog memakai foto berikutnya sebagai sampul.",
        "Photo {n} of '{product}'{caption} will be removed from the product; the catalogue takes the next one as the cover.",
    )
}

pub fn stock_back(n: &str) -> String {
    say!("Stok kembali menjadi {n}.", "Stock back to {n}.")
}

pub fn confirm_sale(which: &str) -> String {
    say!(
        "Penjualan ini mengurangi stok: {which}. Periksa jumlahnya; bila stok memang belum dicatat, tambahkan stok di halaman produk. Tetap simpan dengan stok minus?",
        "This sale lowers the stock: {which}. Check the quantity; if stock was not recorded yet, add it on the product's page. Record it anyway with stock below zero?",
    )
}

pub fn stock_now(n: &str) -> String {
    say!("Stok sekarang {n}.", "Stock now {n}.")
}

pub fn photo_unreadable(reason: &str) -> String {
    say!(
        "Foto tidak terbaca: {reason}. Kirim paling banyak 4 foto sekaligus.",
        "The photo could not be read: {reason}. Send at most 4 photos at once.",
    )
}

pub fn photos_added(n: usize) -> String {
    say!(
        "{n} foto ditambahkan; dikirim ke pusat setelah data.",
        "{n} photo(s) added; sent to HQ after the records.",
    )
}

pub fn sale_recorded(date: &str, quantity: &str, revenue: &str) -> String {
    say!(
        "Penjualan {date} dicatat: {quantity} barang, {revenue}.",
        "Sale of {date} recorded: {quantity} item(s), {revenue}.",
    )
}

pub fn training_added(program: &str) -> String {
    say!(
        "Pelatihan \"{program}\" ditambahkan.",
        "Training \"{program}\" added."
    )
}

pub fn person_enrolled(name: &str) -> String {
    say!("{name} didaftarkan.", "{name} enrolled.")
}

pub fn file_unreadable(reason: &str) -> String {
    say!(
        "Berkas tidak terbaca: {reason}. Berkas paling besar 20 MB; bagi menjadi beberapa berkas.",
        "The file could not be read: {reason}. Files of at most 20 MB; split it into several files.",
    )
}

pub fn not_importable(ext: &str) -> String {
    say!(
        "Berkas .{ext} tidak bisa diimpor; gunakan CSV atau XLSX.",
        "A .{ext} file cannot be imported; use CSV or XLSX.",
    )
}

pub fn cannot_listen(listen: &str, reason: &str) -> String {
    say!(
        "konsol tidak bisa mendengarkan di {listen}: {reason}; atur alamat lain dengan console.listen di agent.toml (atau KARYA_CONSOLE_LISTEN)",
        "the console cannot listen on {listen}: {reason}; set another address with console.listen in agent.toml (or KARYA_CONSOLE_LISTEN)",
    )
}

pub fn rows_imported(n: usize) -> String {
    say!("{n} baris diimpor.", "{n} row(s) imported.")
}

pub fn event_imported(n: usize, kind: &str, file: &str) -> String {
    say!(
        "{n} baris {kind} diimpor dari {file} (konsol)",
        "{n} {kind} row(s) imported from {file} (console)",
    )
}

pub fn event_synced(
    sent: u64,
    received: u64,
    changes: usize,
    photos: usize,
    refused: usize,
) -> String {
    say!(
        "sinkron berhasil: terkirim {sent} B, diterima {received} B, {changes} perubahan dari pusat, {photos} foto terkirim, {refused} dokumen ditolak",
        "sync ok: {sent} B sent, {received} B received, {changes} change(s) from HQ, {photos} photo(s) sent, {refused} document(s) refused",
    )
}

/// The label of a product field's input in the console's form, by its declared name; every
/// field the form shows has its own words (a unit test checks it).
pub fn form_label(field: &str) -> &str {
    match field {
        "price_idr" => price_rp(),
        "nominated" => nominate().trim(),
        other => field_label(other),
    }
}

/// An example in a product field's empty input.
pub fn field_placeholder(field: &str) -> &'static str {
    match field {
        "price_idr" => "275.000",
        "unit" => "pcs",
        "certifications" => "halal:ID31110000123:31/01/2028; pirt:2063507010123",
        _ => "",
    }
}
