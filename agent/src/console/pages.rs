//! The console's pages, in Bahasa Indonesia with Indonesian number, money and date formats.

use super::{Operator, ProductForm};
use crate::AgentError;
use crate::records::SaleLine;
use crate::service::SyncFailure;
use crate::status::State;
use crate::status::StatusReport;
use karya_shared::Store;
use karya_shared::localtime::{self, Zone, rupiah, thousands};
use karya_shared::model::{CurationStatus, Participant, ParticipantStatus};
use karya_shared::session::Outcome;
use karya_shared::views::{ProductRow, TrainingRow};
use maud::{DOCTYPE, Markup, html};

const STYLE: &str = "
body{font-family:Segoe UI,Arial,sans-serif;margin:0;color:#1d2733;background:#f6f8fb}
header{background:#1f4e79;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none}header a.on{text-decoration:underline;font-weight:bold}
header form{margin-left:auto}main{padding:1rem 1.5rem;max-width:72rem}
table{border-collapse:collapse;margin:.8rem 0;background:#fff}td,th{border:1px solid #ccd;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{background:#eef2f7}.num{text-align:right}.ok{color:#17692e}.bad{color:#a4161a}
.flash{padding:.6rem .9rem;border-radius:4px;margin:.6rem 0}.flash.ok{background:#e3f4e8}.flash.bad{background:#fbe4e4}
fieldset{border:1px solid #ccd;background:#fff;margin:1rem 0;padding:.8rem}label{display:inline-block;margin:.25rem .8rem .25rem 0}
input,select,button{font-size:1rem;padding:.25rem .4rem}button{cursor:pointer}.state{font-size:1.4rem;font-weight:bold}
.muted{color:#667}";

/// A message shown once at the top of the next page.
#[derive(Debug, Clone)]
pub struct Flash {
    pub good: bool,
    pub text: String,
}

impl Flash {
    pub fn good(text: &str) -> Flash {
        Flash {
            good: true,
            text: text.to_string(),
        }
    }
    pub fn bad(text: &str) -> Flash {
        Flash {
            good: false,
            text: text.to_string(),
        }
    }
    pub fn synced(o: &Outcome) -> Flash {
        let mut text = format!(
            "Sinkronisasi berhasil: {} dokumen, terkirim {} B, diterima {} B, {} perubahan dari pusat, {} putaran.",
            o.documents,
            thousands(o.bytes_sent as i64),
            thousands(o.bytes_received as i64),
            thousands(o.changes_received as i64),
            o.round_trips
        );
        if o.photos_sent > 0 {
            text.push_str(&format!(" {} foto terkirim.", o.photos_sent));
        }
        if !o.refused.is_empty() {
            return Flash::bad(&format!(
                "{text} Tetapi pusat menolak {} dokumen: {}",
                o.refused.len(),
                o.refused
                    .iter()
                    .map(|r| format!("{} ({})", r.doc, r.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        Flash::good(&text)
    }
    pub fn sync_failed(f: &SyncFailure) -> Flash {
        if f.token_refused {
            Flash::bad(&format!(
                "Token ditolak oleh pusat. Minta token baru ke Ditjenpas, lalu jalankan di server UPT: karya-agent token set TOKEN-BARU. ({})",
                f.message
            ))
        } else {
            Flash::bad(&format!(
                "Sinkronisasi gagal: {}. Data tetap aman di komputer ini dan dikirim otomatis saat jaringan kembali.",
                f.message
            ))
        }
    }
}

/// An error as an operator reads it.
pub fn in_words(e: &AgentError) -> String {
    match e {
        AgentError::Store(karya_shared::StoreError::Schema(
            karya_shared::schema::SchemaError::Invalid(v),
        )) => format!("Isian belum benar — {}: {}", field_label(v.field), v.reason),
        AgentError::Store(karya_shared::StoreError::Schema(
            karya_shared::schema::SchemaError::NotFound { kind, id },
        )) => format!("Tidak ditemukan: {kind} {id}."),
        other => format!("Gagal: {other}"),
    }
}

fn field_label(field: &str) -> &str {
    match field.split('.').next().unwrap_or(field) {
        "name" => "Nama",
        "category" => "Kategori",
        "price_idr" => "Harga",
        "unit" => "Satuan",
        "stock" => "Stok",
        "certifications" => "Sertifikasi",
        "quantity" => "Jumlah",
        "revenue_idr" => "Pendapatan",
        "program" => "Program",
        "end_date" => "Selesai",
        "reg-no" => "Nomor registrasi",
        other => other,
    }
}

fn curation_words(s: CurationStatus) -> &'static str {
    match s {
        CurationStatus::Nominated => "diusulkan",
        CurationStatus::InReview => "sedang ditinjau",
        CurationStatus::Approved => "disetujui",
        CurationStatus::Featured => "diunggulkan",
        CurationStatus::Rejected => "ditolak",
    }
}

fn when(rfc3339: &str) -> String {
    localtime::format(rfc3339, Zone::from_env())
}

fn flash_box(flash: Option<Flash>) -> Markup {
    html! {
        @if let Some(f) = flash {
            p class={ "flash " (if f.good { "ok" } else { "bad" }) } role="status" { (f.text) }
        }
    }
}

fn csrf(op: &Operator) -> Markup {
    html! { input type="hidden" name="csrf" value=(op.csrf); }
}

fn layout(op: Option<&Operator>, title: &str, active: &str, body: Markup) -> Markup {
    let nav = [
        ("/", "Beranda"),
        ("/produk", "Produk"),
        ("/penjualan", "Penjualan"),
        ("/pelatihan", "Pelatihan"),
        ("/impor", "Impor"),
        ("/log", "Log"),
    ];
    html! {
        (DOCTYPE)
        html lang="id" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — karya" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { "karya" }
                    @if let Some(op) = op {
                        @for (href, label) in nav {
                            a href=(href) class=[(href == active).then_some("on")] { (label) }
                        }
                        form method="post" action="/keluar" {
                            (csrf(op))
                            span { (op.user) " " }
                            button type="submit" { "Keluar" }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

pub fn error_page(message: &str) -> Markup {
    layout(
        None,
        "Ada masalah",
        "",
        html! { p class="flash bad" { (message) } p { a href="/" { "Kembali ke beranda" } } },
    )
}

pub fn login(message: Option<&str>, any_accounts: bool) -> Markup {
    layout(
        None,
        "Masuk",
        "",
        html! {
            @if let Some(m) = message { p class="flash bad" role="alert" { (m) } }
            @if !any_accounts {
                p class="flash bad" {
                    "Belum ada akun. Di server UPT, jalankan: "
                    code { "karya-agent user add NAMA" }
                }
            }
            form method="post" action="/masuk" {
                fieldset {
                    label { "Nama " input name="nama" autocomplete="username" required; }
                    label { "Kata sandi " input name="sandi" type="password" autocomplete="current-password" required; }
                    button type="submit" { "Masuk" }
                }
            }
        },
    )
}

fn state_words(report: &StatusReport) -> (&'static str, bool, Option<String>) {
    match report.state {
        State::Idle if report.last_success_at.is_some() => ("Tersinkron", true, None),
        State::Idle => ("Belum pernah sinkron", false, Some("Tekan \"Sinkronkan sekarang\" untuk mengirim data ke pusat.".into())),
        State::Syncing => ("Sedang sinkronisasi", true, None),
        State::Offline => (
            "Menunggu jaringan",
            false,
            Some("Pusat tidak terjangkau. Data tetap aman di komputer ini dan dikirim otomatis saat jaringan kembali.".into()),
        ),
        State::Refused => (
            "Dokumen ditolak",
            false,
            Some("Pusat menolak sebagian data; lihat alasannya di bawah dan hubungi admin pusat.".into()),
        ),
        State::TokenRefused => (
            "Token ditolak",
            false,
            Some("Pusat tidak menerima token UPT ini (dicabut atau salah ketik). Minta token baru ke Ditjenpas, lalu di server UPT jalankan: karya-agent token set TOKEN-BARU — tidak perlu restart.".into()),
        ),
        State::Interrupted => (
            "Terputus di tengah",
            false,
            Some("Sinkronisasi terakhir berhenti di tengah jalan; tidak ada data yang hilang, sinkronisasi berikutnya melanjutkan.".into()),
        ),
        State::DiskFull => (
            "Disk penuh",
            false,
            Some("Layanan tidak bisa menulis datanya. Kosongkan ruang disk; layanan pulih sendiri.".into()),
        ),
        State::ReadOnly => (
            "Hanya-baca",
            false,
            Some("Folder data tidak bisa ditulis; data yang ada bisa dilihat, tetapi tidak ada yang bisa dicatat.".into()),
        ),
    }
}

pub fn beranda(op: &Operator, report: &StatusReport, flash: Option<Flash>) -> Markup {
    let (state, good, advice) = state_words(report);
    layout(
        Some(op),
        "Beranda",
        "/",
        html! {
            (flash_box(flash))
            p { "UPT " strong { (report.upt) } ", pusat " code { (report.hub) } }
            p class={ "state " (if good { "ok" } else { "bad" }) } id="status" { (state) }
            @if let Some(a) = advice { p { (a) } }
            table {
                tr { th { "Terakhir berhasil" } td { (report.last_success_at.as_deref().map(when).unwrap_or_else(|| "belum pernah".into())) } }
                tr { th { "Perubahan menunggu dikirim" } td class="num" { (thousands(report.pending_changes as i64)) } }
                @if report.photos_waiting > 0 {
                    tr { th { "Foto menunggu dikirim" } td class="num" { (thousands(report.photos_waiting as i64)) } }
                }
                tr { th { "Percobaan berikutnya" } td { (report.next_attempt_at.as_deref().map(when).unwrap_or_else(|| "—".into())) } }
                @if let Some(e) = &report.last_error {
                    tr { th { "Kesalahan terakhir" } td { (e) } }
                }
                @for r in &report.refused {
                    tr { th { "Ditolak: " (r.doc) } td { (r.reason) } }
                }
            }
            form method="post" action="/sinkron" {
                (csrf(op))
                button type="submit" id="sinkron" { "Sinkronkan sekarang" }
            }
        },
    )
}

fn category_select(name: &str, cats: &[(String, String)], selected: &str, any: bool) -> Markup {
    html! {
        select name=(name) {
            @if any { option value="" { "Semua kategori" } }
            @for (slug, label) in cats {
                option value=(slug) selected[slug == selected] { (label) }
            }
        }
    }
}

fn category_label<'a>(cats: &'a [(String, String)], slug: &'a str) -> &'a str {
    cats.iter()
        .find(|(s, _)| s == slug)
        .map(|(_, n)| n.as_str())
        .unwrap_or(slug)
}

fn curation_cell(p: &ProductRow) -> Markup {
    html! {
        @match &p.curation {
            Some(c) => {
                strong { (curation_words(c.status)) }
                @if !c.note.is_empty() { br; span class="muted" { "“" (c.note) "”" } }
            }
            None => { span class="muted" { "—" } }
        }
    }
}

fn conflicts_in_words(p: &ProductRow) -> Markup {
    html! {
        @for (field, values) in &p.conflicts {
            p class="bad" {
                "Dua komputer mengubah " (field_label(field)) " bersamaan: "
                (values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" dan "))
                ". Yang dipakai: " (values.first().map(|v| v.to_string()).unwrap_or_default())
                ". Simpan lagi nilai yang benar untuk menyelesaikannya."
            }
        }
    }
}

pub fn products(
    op: &Operator,
    rows: &[ProductRow],
    cats: &[(String, String)],
    q: &str,
    kategori: &str,
    flash: Option<Flash>,
) -> Markup {
    layout(
        Some(op),
        "Produk",
        "/produk",
        html! {
            (flash_box(flash))
            form method="get" action="/produk" {
                label { "Cari " input name="q" value=(q); }
                label { "Kategori " (category_select("kategori", cats, kategori, true)) }
                button type="submit" { "Tampilkan" }
            }
            p { (thousands(rows.len() as i64)) " produk" }
            table id="produk" {
                tr { th { "Nama" } th { "Kategori" } th class="num" { "Harga" } th class="num" { "Stok" } th { "Diusulkan" } th { "Kurasi pusat" } }
                @for p in rows {
                    tr {
                        td { a href={ "/produk/" (p.id) } { (p.name) } @if !p.conflicts.is_empty() { " " span class="bad" { "(konflik)" } } }
                        td { (category_label(cats, &p.category)) }
                        td class="num" { (rupiah(p.price_idr)) }
                        td class="num" { (thousands(p.stock)) }
                        td { (if p.nominated { "ya" } else { "—" }) }
                        td { (curation_cell(p)) }
                    }
                }
            }
            h2 { "Tambah produk" }
            (product_fields(op, "/produk", &ProductForm::default(), cats, "Tambah"))
        },
    )
}

fn product_fields(
    op: &Operator,
    action: &str,
    f: &ProductForm,
    cats: &[(String, String)],
    submit: &str,
) -> Markup {
    html! {
        form method="post" action=(action) {
            (csrf(op))
            fieldset {
                label { "Nama " input name="nama" value=(f.nama) required; }
                label { "Kategori " (category_select("kategori", cats, &f.kategori, false)) }
                label { "Harga (Rp) " input name="harga" value=(f.harga) placeholder="275.000" required; }
                label { "Satuan " input name="satuan" value=(f.satuan) placeholder="pcs"; }
                @if submit == "Tambah" {
                    label { "Stok " input name="stok" value=(f.stok) placeholder="0"; }
                }
                label { "Bengkel kerja " input name="bengkel" value=(f.bengkel); }
                br;
                label { "Deskripsi " input name="deskripsi" size="60" value=(f.deskripsi); }
                br;
                label { "Sertifikasi " input name="sertifikasi" size="50" value=(f.sertifikasi) placeholder="halal:ID31110000123:31/01/2028; pirt:2063507010123"; }
                label { input type="checkbox" name="usulkan" value="ya" checked[f.usulkan.is_some()]; " Usulkan ke katalog nasional" }
                br;
                button type="submit" { (submit) }
            }
        }
    }
}

pub fn product_form(
    op: &Operator,
    _row: Option<&ProductRow>,
    f: &ProductForm,
    cats: &[(String, String)],
    error: Option<&str>,
) -> Markup {
    layout(
        Some(op),
        "Tambah produk",
        "/produk",
        html! {
            @if let Some(e) = error { p class="flash bad" role="alert" { (e) } }
            (product_fields(op, "/produk", f, cats, "Tambah"))
        },
    )
}

pub fn product_page(
    op: &Operator,
    p: &ProductRow,
    cats: &[(String, String)],
    flash: Option<Flash>,
) -> Markup {
    let form = ProductForm {
        csrf: String::new(),
        nama: p.name.clone(),
        kategori: p.category.clone(),
        harga: thousands(p.price_idr),
        satuan: p.unit.clone(),
        stok: String::new(),
        bengkel: p.workshop.clone(),
        deskripsi: p.description.clone(),
        sertifikasi: p
            .certifications
            .iter()
            .map(|c| match c.valid_until {
                Some(d) => format!("{}:{}:{}", c.kind, c.number, karya_shared::model::iso(d)),
                None => format!("{}:{}", c.kind, c.number),
            })
            .collect::<Vec<_>>()
            .join("; "),
        usulkan: p.nominated.then(|| "ya".into()),
    };
    layout(
        Some(op),
        &p.name,
        "/produk",
        html! {
            (flash_box(flash))
            table {
                tr { th { "Kategori" } td { (category_label(cats, &p.category)) } }
                tr { th { "Harga" } td { (rupiah(p.price_idr)) " / " (p.unit) } }
                tr { th { "Stok" } td id="stok" { (thousands(p.stock)) } }
                tr { th { "Kurasi pusat" } td id="kurasi" { (curation_cell(p)) } }
                @if let Some(c) = &p.curation {
                    tr { th { "Diputuskan" } td { (c.decided_by) ", " (when(&c.decided_at)) } }
                }
                tr { th { "Id" } td { code { (p.id) } } }
            }
            (conflicts_in_words(p))
            h2 { "Foto" }
            div id="foto" {
                @for (i, photo) in p.photos.iter().enumerate() {
                    figure style="display:inline-block;margin:0 1rem 1rem 0;vertical-align:top" {
                        a href={ "/foto/" (photo.hash) } {
                            img src={ "/foto/" (photo.thumb) } alt=(if photo.caption.is_empty() { p.name.as_str() } else { photo.caption.as_str() }) style="max-width:200px;max-height:200px";
                        }
                        figcaption {
                            @if i == 0 { strong { "Sampul" } br; }
                            @if !photo.caption.is_empty() { (photo.caption) br; }
                            span class="muted" { (photo.width) "×" (photo.height) " px, " (thousands((photo.size / 1024) as i64)) " KB" }
                            form method="post" action={ "/produk/" (p.id) "/foto/" (photo.hash) "/hapus" } {
                                (csrf(op)) button type="submit" { "Hapus foto" }
                            }
                        }
                    }
                }
                @if p.photos.is_empty() { p class="muted" { "Belum ada foto." } }
            }
            form method="post" action={ "/produk/" (p.id) "/foto" } enctype="multipart/form-data" {
                (csrf(op))
                input type="file" name="foto" accept="image/jpeg,image/png,image/webp" multiple required;
                label { " Keterangan " input name="keterangan"; }
                button type="submit" { "Tambah foto" }
                p class="muted" { "Foto diperkecil dan dibersihkan (lokasi GPS dan data kamera dihapus) sebelum disimpan." }
            }
            h2 { "Stok" }
            form method="post" action={ "/produk/" (p.id) "/stok" } {
                (csrf(op))
                label { "Jumlah " input name="jumlah" value="1" size="6"; }
                button type="submit" name="arah" value="tambah" { "+ Tambah" }
                " "
                button type="submit" name="arah" value="kurang" { "− Kurangi" }
            }
            h2 { "Ubah" }
            (product_fields(op, &format!("/produk/{}", p.id), &form, cats, "Simpan"))
            form method="post" action={ "/produk/" (p.id) "/hapus" } {
                (csrf(op))
                button type="submit" { "Hapus produk" }
            }
        },
    )
}

pub fn sales(
    op: &Operator,
    sales: &[SaleLine],
    products: &[ProductRow],
    flash: Option<Flash>,
) -> Markup {
    layout(
        Some(op),
        "Penjualan",
        "/penjualan",
        html! {
            (flash_box(flash))
            form method="post" action="/penjualan" {
                (csrf(op))
                fieldset {
                    label { "Produk " select name="produk" {
                        @for p in products { option value=(p.id) { (p.name) } }
                    } }
                    label { "Jumlah " input name="jumlah" size="6" required; }
                    label { "Pendapatan (Rp) " input name="pendapatan" placeholder="550.000" required; }
                    label { "Tanggal " input name="tanggal" placeholder="15/11/2026 (kosong: hari ini)"; }
                    label { "Kanal " select name="kanal" {
                        @for c in karya_shared::model::SaleChannel::NAMES { option value=(c) selected[*c == "toko"] { (c) } }
                    } }
                    button type="submit" { "Catat penjualan" }
                }
            }
            table id="penjualan" {
                tr { th { "Tanggal" } th { "Produk" } th class="num" { "Jumlah" } th class="num" { "Pendapatan" } th { "Kanal" } th {} }
                @for s in sales {
                    tr {
                        td { (localtime::date(s.sale.date)) }
                        td { (s.product_name) }
                        td class="num" { (thousands(s.sale.quantity)) }
                        td class="num" { (rupiah(s.sale.revenue_idr)) }
                        td { (s.sale.channel) }
                        td { form method="post" action={ "/penjualan/" (s.sale.id) "/batal" } {
                            (csrf(op)) button type="submit" { "Batalkan" }
                        } }
                    }
                }
            }
        },
    )
}

pub fn trainings(
    op: &Operator,
    rows: &[TrainingRow],
    cats: &[(String, String)],
    people: &[Enrolment],
    flash: Option<Flash>,
) -> Markup {
    layout(
        Some(op),
        "Pelatihan",
        "/pelatihan",
        html! {
            (flash_box(flash))
            @for t in rows {
                h2 { (t.program) }
                p class="muted" {
                    (category_label(cats, &t.category)) ", " (localtime::date(t.start_date)) " – " (localtime::date(t.end_date))
                    ", " (t.hours) " jam, " (t.participants) " peserta, " (t.completed) " lulus"
                }
                table {
                    tr { th { "Nama (hanya di komputer ini)" } th { "Nomor registrasi" } th { "Status" } th { "Sertifikat" } }
                    @for (_, p, who) in people.iter().filter(|(tid, _, _)| *tid == t.id.as_str()) {
                        tr {
                            td { (who.as_ref().map(|w| w.1.as_str()).unwrap_or("?")) }
                            td { (who.as_ref().map(|w| w.0.as_str()).unwrap_or("?")) }
                            td { (match p.status { ParticipantStatus::Enrolled => "terdaftar", ParticipantStatus::Completed => "lulus", ParticipantStatus::Dropped => "keluar" }) }
                            td { (p.certificate) }
                        }
                    }
                }
                form method="post" action={ "/pelatihan/" (t.id) "/peserta" } {
                    (csrf(op))
                    label { "Nama " input name="nama" required; }
                    label { "Nomor registrasi " input name="nomor" required; }
                    button type="submit" { "Daftarkan peserta" }
                }
                form method="post" action={ "/pelatihan/" (t.id) "/lulus" } {
                    (csrf(op))
                    label { "Nomor registrasi " input name="nomor" required; }
                    label { "Nomor sertifikat " input name="sertifikat"; }
                    button type="submit" { "Tandai lulus" }
                }
            }
            h2 { "Tambah pelatihan" }
            form method="post" action="/pelatihan" {
                (csrf(op))
                fieldset {
                    label { "Program " input name="program" required; }
                    label { "Kategori " (category_select("kategori", cats, "", false)) }
                    label { "Mulai " input name="mulai" placeholder="01/12/2026" required; }
                    label { "Selesai " input name="selesai" placeholder="20/12/2026" required; }
                    label { "Jam " input name="jam" size="5"; }
                    label { "Mitra " input name="mitra" placeholder="BLK ..."; }
                    label { "Instruktur " input name="instruktur"; }
                    label { "Kapasitas " input name="kapasitas" size="5"; }
                    label { "Skema " input name="skema" placeholder="BNSP"; }
                    button type="submit" { "Tambah pelatihan" }
                }
            }
        },
    )
}

/// A participant of a training (by its id) and, from this PC's identity table, their
/// registration number and name.
pub type Enrolment = (String, Participant, Option<(String, String)>);

/// What an uploaded file would import: every row, and every error, before anything is written.
pub struct Preview {
    pub token: String,
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
    pub kind: Option<String>,
    /// The rows' errors (row, column, reason), or why the file cannot be read at all.
    pub errors: Vec<(usize, String, String)>,
    pub problem: Option<String>,
}

impl Preview {
    pub fn of(
        store: &mut Store,
        upt: &str,
        path: &std::path::Path,
        name: &str,
        token: &str,
    ) -> Preview {
        let mut p = Preview {
            token: token.to_string(),
            name: name.to_string(),
            headers: Vec::new(),
            rows: Vec::new(),
            kind: None,
            errors: Vec::new(),
            problem: None,
        };
        match crate::import::preview(path) {
            Ok((headers, rows)) => {
                p.headers = headers;
                p.rows = rows;
            }
            Err(e) => {
                p.problem = Some(e.to_string());
                return p;
            }
        }
        let checked = crate::import::import_file_with(
            store,
            upt,
            path,
            crate::import::ImportOptions {
                dry_run: true,
                again: false,
            },
        );
        match checked {
            Ok(report) => p.kind = Some(format!("{:?}", report.kind).to_lowercase()),
            Err(crate::import::ImportError::Rejected { errors, .. }) => {
                p.errors = errors
                    .into_iter()
                    .map(|e| (e.row, e.column, e.reason))
                    .collect();
            }
            Err(crate::import::ImportError::AlreadyImported { earlier, .. }) => {
                p.problem = Some(format!(
                    "Berkas dengan isi yang sama sudah pernah diimpor ({earlier})."
                ));
            }
            Err(e) => p.problem = Some(e.to_string()),
        }
        p
    }
}

pub fn import_page(op: &Operator, preview: Option<&Preview>, flash: Option<Flash>) -> Markup {
    layout(
        Some(op),
        "Impor",
        "/impor",
        html! {
            (flash_box(flash))
            @if let Some(p) = preview {
                h2 { "Pratinjau: " (p.name) }
                @if let Some(problem) = &p.problem {
                    p class="flash bad" role="alert" { (problem) }
                } @else if !p.errors.is_empty() {
                    p class="flash bad" role="alert" {
                        (p.errors.len()) " kesalahan; tidak ada yang diimpor. Perbaiki berkasnya, lalu unggah lagi."
                    }
                    table id="kesalahan" {
                        tr { th { "Baris" } th { "Kolom" } th { "Masalah" } }
                        @for (row, col, reason) in &p.errors { tr { td class="num" { (row) } td { (col) } td { (reason) } } }
                    }
                } @else {
                    p class="flash ok" {
                        "Semua " (p.rows.len()) " baris benar (" (p.kind.as_deref().unwrap_or("")) "). Belum ada yang ditulis."
                    }
                    form method="post" action={ "/impor/" (p.token) } {
                        (csrf(op))
                        input type="hidden" name="nama" value=(p.name);
                        button type="submit" id="impor" { "Impor semua " (p.rows.len()) " baris" }
                    }
                }
                table id="pratinjau" {
                    tr { th { "Baris" } @for h in &p.headers { th { (h) } } }
                    @for (n, cells) in &p.rows {
                        tr class=[p.errors.iter().any(|e| e.0 == *n).then_some("bad")] {
                            td class="num" { (n) }
                            @for c in cells { td { (c) } }
                        }
                    }
                }
            }
            h2 { "Unggah berkas" }
            p { "CSV (dipisah ; atau ,) atau XLSX. Templat: " code { "karya-agent template produk produk.xlsx" } }
            form method="post" action="/impor" enctype="multipart/form-data" {
                (csrf(op))
                input type="file" name="berkas" accept=".csv,.xlsx,.xls,.ods,.txt" required;
                " "
                button type="submit" id="unggah" { "Periksa" }
            }
        },
    )
}

pub fn log(op: &Operator, events: &[(String, String, String)]) -> Markup {
    layout(
        Some(op),
        "Log",
        "/log",
        html! {
            p { a href="/log/bundel" { "Unduh bundel dukungan" } " (status, kejadian terakhir, versi; tanpa nama, nomor registrasi, token atau rahasia)" }
            table id="log" {
                tr { th { "Waktu" } th { "Jenis" } th { "Kejadian" } }
                @for (at, kind, message) in events {
                    tr { td { (when(at)) } td { (kind) } td { (message) } }
                }
            }
        },
    )
}
