//! Katalog (`/katalog`): the national catalogue, filtered by Kanwil, UPT, category, curation
//! status, certification and words, in keyset pages of 50 with thumbnails; and a page per
//! product (`/produk/{upt}/{id}`) with its photos and, for curators, the decision form.

use super::ringkasan::urlencode;
use super::{Curator, forged, page, unavailable};
use crate::AppState;
use crate::lookups::{decode_cursor, encode_cursor, one_product};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use karya_shared::localtime::{self, rupiah, thousands};
use karya_shared::model::{CertificationKind, CurationStatus, VerificationStatus};
use karya_shared::views::{Page, ProductCursor, ProductFilter, ProductRow};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

const PAGE: usize = 50;

pub use crate::lookups::status_words;

#[derive(Debug, Deserialize, Default, Clone)]
pub struct Filters {
    #[serde(default)]
    kanwil: String,
    #[serde(default)]
    upt: String,
    #[serde(default)]
    kategori: String,
    #[serde(default)]
    kurasi: String,
    #[serde(default)]
    sertifikasi: String,
    #[serde(default)]
    q: String,
    /// Where the page starts (a cursor this hub gave out).
    #[serde(default)]
    after: String,
    /// The number of the page's first product (for "51–100 dari …").
    #[serde(default)]
    dari: Option<u64>,
    /// After a decision on a selection: how many were saved, and how many not.
    #[serde(default)]
    disimpan: Option<usize>,
    #[serde(default)]
    gagal: Option<usize>,
}

fn some(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.chars().take(200).collect())
}

impl Filters {
    /// The filters as a query, within what `who` may see (a Kanwil's token: its Kanwil).
    pub fn filter(&self, who: &Curator) -> ProductFilter {
        ProductFilter {
            kanwil: who.principal.kanwil.clone().or_else(|| some(&self.kanwil)),
            upt: some(&self.upt),
            category: some(&self.kategori),
            curation: some(&self.kurasi),
            certification: some(&self.sertifikasi),
            text: some(&self.q),
            include_deleted: false,
            queue: None,
        }
    }

    /// The query string of these filters (without the page).
    fn query(&self) -> String {
        [
            ("kanwil", &self.kanwil),
            ("upt", &self.upt),
            ("kategori", &self.kategori),
            ("kurasi", &self.kurasi),
            ("sertifikasi", &self.sertifikasi),
            ("q", &self.q),
        ]
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// One page of the catalogue and the filters' choices.
pub struct Listing {
    page: Page<ProductRow, ProductCursor>,
    kanwils: Vec<String>,
    upts: Vec<String>,
    categories: HashMap<String, String>,
}

pub async fn katalog(
    State(state): State<Arc<AppState>>,
    who: Curator,
    Query(f): Query<Filters>,
) -> Response {
    let after: Option<ProductCursor> = match some(&f.after).map(|a| decode_cursor(&a)) {
        Some(Ok(c)) => Some(c),
        Some(Err(e)) => return e.into_response(),
        None => None,
    };
    let filter = f.filter(&who);
    let scope = who.principal.kanwil.clone();
    let listing = state
        .blocking(move |db| read(db, &filter, after.as_ref(), scope.as_deref()))
        .await;
    let Ok(Ok(l)) = listing else {
        return unavailable();
    };
    render(&who, &f, l).into_response()
}

/// Reads one page of the catalogue (`filter`, from `after`) and the filters' choices, within
/// `scope` (a Kanwil's token: its Kanwil).
pub fn read(
    db: &crate::db::HubDb,
    filter: &ProductFilter,
    after: Option<&ProductCursor>,
    scope: Option<&str>,
) -> Result<Listing, karya_shared::StoreError> {
    let mut upts = db.upt_kanwils()?;
    if let Some(k) = scope {
        upts.retain(|(_, kanwil)| kanwil == k);
    }
    let mut kanwils: Vec<String> = upts.iter().map(|(_, k)| k.clone()).collect();
    kanwils.dedup();
    let mut codes: Vec<String> = upts.into_iter().map(|(code, _)| code).collect();
    codes.sort();
    Ok(Listing {
        page: db.products_page(filter, after, PAGE)?,
        kanwils,
        upts: codes,
        categories: db.product_categories()?,
    })
}

/// The page of listing `l` under filters `f`, for `who`.
pub fn render(who: &Curator, f: &Filters, l: Listing) -> Html<String> {
    let first = f.dari.unwrap_or(1).max(1);
    let shown = l.page.items.len() as u64;
    let mut categories: Vec<(&String, &String)> = l.categories.iter().collect();
    categories.sort_by(|a, b| a.1.cmp(b.1));
    let select = |name: &str, current: &str, any: &str, options: Vec<(String, String)>| {
        html! {
            select name=(name) {
                option value="" { (any) }
                @for (value, label) in &options {
                    option value=(value) selected[value == current] { (label) }
                }
            }
        }
    };
    let query = f.query();
    let curate = who.principal.role.can_curate();
    let amp = if query.is_empty() { "" } else { "&" };
    page(
        Some(who),
        "Katalog nasional",
        "/katalog",
        html! {
            form method="get" action="/katalog" id="saring" {
                fieldset {
                    @if let Some(k) = &who.principal.kanwil {
                        label { "Kanwil " strong { (k) } }
                    } @else {
                        label { "Kanwil " (select("kanwil", &f.kanwil, "Semua Kanwil", l.kanwils.iter().map(|k| (k.clone(), k.clone())).collect())) }
                    }
                    label { "UPT " (select("upt", &f.upt, "Semua UPT", l.upts.iter().map(|u| (u.clone(), u.clone())).collect())) }
                    label { "Kategori " (select("kategori", &f.kategori, "Semua kategori", categories.iter().map(|(s, n)| ((*s).clone(), (*n).clone())).collect())) }
                    label { "Kurasi " (select("kurasi", &f.kurasi, "Semua status", std::iter::once(("none".to_string(), "belum dikurasi".to_string())).chain(CurationStatus::ALL.iter().map(|s| (s.as_str().to_string(), status_words(*s).to_string()))).collect())) }
                    label { "Sertifikasi " (select("sertifikasi", &f.sertifikasi, "Semua", CertificationKind::NAMES.iter().map(|k| (k.to_string(), k.to_uppercase())).collect())) }
                    label { "Cari " input name="q" value=(f.q) size="24"; }
                    button type="submit" { "Saring" }
                    " " a href="/katalog" { "Hapus saringan" }
                }
            }
            @if let Some(n) = f.disimpan {
                p class={ "flash " (if f.gagal.unwrap_or(0) == 0 { "ok" } else { "bad" }) } role="status" {
                    (n) " keputusan disimpan"
                    @if let Some(g) = f.gagal.filter(|g| *g > 0) { "; " (g) " tidak disimpan (produknya tidak ada lagi di hub)" }
                    "."
                }
            }
            p {
                "Unduh yang tersaring: "
                a href={ "/katalog/ekspor?" (query) (amp) "format=xlsx" } { "XLSX" } " · "
                a href={ "/katalog/ekspor?" (query) (amp) "format=csv&pemisah=%3B" } { "CSV (;)" } " · "
                a href={ "/katalog/ekspor?" (query) (amp) "format=csv&pemisah=%2C" } { "CSV (,)" }
            }
            p id="jumlah" {
                @if shown == 0 {
                    "Tidak ada produk yang cocok dengan saringan ini."
                } @else {
                    (thousands(first as i64)) "–" (thousands((first + shown - 1) as i64)) " dari " (thousands(l.page.total)) " produk"
                }
            }
            form method="post" action="/katalog/keputusan" id="massal" {
            input type="hidden" name="csrf" value=(who.csrf);
            input type="hidden" name="kembali" value=(query);
            table id="katalog" {
                tr { @if curate { th { "Pilih" } } th { "Foto" } th { "Produk" } th { "UPT" } th { "Kategori" } th class="num" { "Harga" } th class="num" { "Stok" } th { "Diusulkan" } th { "Kurasi" } }
                @for p in &l.page.items {
                    tr {
                        @if curate { td { input type="checkbox" name="pilih" value={ (p.upt) "/" (p.id) } aria-label={ "Pilih " (p.name) }; } }
                        td {
                            @if let Some(ph) = p.photos.first() {
                                img src={ "/api/v1/blobs/" (ph.thumb) } alt=(p.name) width="80" loading="lazy";
                            } @else { span class="muted" { "—" } }
                        }
                        td { a href={ "/produk/" (urlencode(&p.upt)) "/" (urlencode(&p.id)) } { (p.name) } br; code class="muted" { (p.id) } }
                        td { (p.upt) }
                        td { (l.categories.get(&p.category).unwrap_or(&p.category)) }
                        td class="num" { (rupiah(p.price_idr)) }
                        td class="num" { (thousands(p.stock)) }
                        td { (if p.nominated { "ya" } else { "" }) }
                        td { (p.curation.as_ref().map(|c| status_words(c.status)).unwrap_or("—")) }
                    }
                }
            }
            @if curate && shown > 0 {
                fieldset {
                    label { "Keputusan untuk yang dipilih "
                        select name="status" {
                            @for s in CurationStatus::ALL { option value=(s.as_str()) { (status_words(*s)) } }
                        }
                    }
                    label { "Catatan " input name="catatan" size="40" maxlength="5000"; }
                    button type="submit" { "Putuskan yang dipilih" }
                }
            }
            }
            p {
                @if first > 1 { a href={ "/katalog?" (query) } { "← Halaman pertama" } " " }
                @if let Some(next) = &l.page.next {
                    a id="berikutnya" href={ "/katalog?" (query) @if !query.is_empty() { "&" } "after=" (encode_cursor(next)) "&dari=" (first + shown) } { "Halaman berikutnya →" }
                }
            }
        },
    )
}

#[derive(Debug, Deserialize, Default)]
pub struct Message {
    /// A message after a decision was saved.
    #[serde(default)]
    pesan: String,
}

/// What a product's page shows: the product, its decisions made here, the category names.
struct Shown {
    p: ProductRow,
    /// Every step of its curation, from its UPT's curation document.
    history: Vec<karya_shared::schema::Step>,
    categories: HashMap<String, String>,
    sales: crate::db::ProductSales,
}

async fn load(
    state: &Arc<AppState>,
    who: &Curator,
    upt: &str,
    id: &str,
) -> Result<Shown, Response> {
    let (upt, id) = (upt.to_string(), id.to_string());
    let scope = who.principal.kanwil.clone();
    let read = state
        .blocking({
            let (upt, id) = (upt.clone(), id.clone());
            move |db| -> Result<_, karya_shared::StoreError> {
                // Outside a Kanwil token's Kanwil, a product is not there.
                let visible = match &scope {
                    Some(k) => db.kanwil_of(&upt)?.as_deref() == Some(k.as_str()),
                    None => true,
                };
                let today = karya_shared::model::iso(time::OffsetDateTime::now_utc().date());
                Ok((
                    if visible {
                        db.products_by_id(&id, Some(&upt))?
                    } else {
                        Vec::new()
                    },
                    db.replica()
                        .with_doc(&karya_shared::DocId::Curation(upt.clone()), |d| {
                            karya_shared::schema::history(d, &id)
                        })?,
                    db.product_categories()?,
                    db.sales_of_product(&upt, &id, &today)?,
                ))
            }
        })
        .await;
    match read {
        Ok(Ok((rows, history, categories, sales))) => one_product(rows, &id, Some(&upt))
            .map(|p| Shown {
                p,
                history,
                categories,
                sales,
            })
            .map_err(|_| {
            (
                StatusCode::NOT_FOUND,
                page(
                    None,
                    "Produk tidak ditemukan",
                    "",
                    html! { p class="flash bad" { "Tidak ada produk " code { (id) } " dari UPT " (upt) " di hub. Sudahkah UPT-nya sinkron?" } p { a href="/katalog" { "Kembali ke katalog" } } },
                ),
            )
                .into_response()
        }),
        _ => Err(unavailable()),
    }
}

pub async fn product(
    State(state): State<Arc<AppState>>,
    who: Curator,
    Path((upt, id)): Path<(String, String)>,
    Query(message): Query<Message>,
) -> Response {
    let shown = match load(&state, &who, &upt, &id).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let message = match message.pesan.as_str() {
        "disimpan" => Some((
            true,
            "Keputusan disimpan; sampai ke UPT pada sinkronisasi berikutnya.".to_string(),
        )),
        _ => None,
    };
    product_page(&state, &who, &shown, message).into_response()
}

fn product_page(
    state: &AppState,
    who: &Curator,
    shown: &Shown,
    message: Option<(bool, String)>,
) -> axum::response::Html<String> {
    let p = &shown.p;
    let zone = state.config.zone();
    let today = time::OffsetDateTime::now_utc().date();
    let action = format!(
        "/produk/{}/{}/keputusan",
        urlencode(&p.upt),
        urlencode(&p.id)
    );
    page(
        Some(who),
        &p.name,
        "/katalog",
        html! {
            @if let Some((good, text)) = message {
                p class={ "flash " (if good { "ok" } else { "bad" }) } role="status" { (text) }
            }
            p { a href="/katalog" { "← Katalog" } }
            div id="foto" {
                @for (i, ph) in p.photos.iter().enumerate() {
                    figure {
                        a href={ "/api/v1/blobs/" (ph.hash) } {
                            img src={ "/api/v1/blobs/" (ph.thumb) } alt=(if ph.caption.is_empty() { p.name.as_str() } else { ph.caption.as_str() }) style="max-width:240px;max-height:240px";
                        }
                        figcaption {
                            @if i == 0 { strong { "Sampul" } br; }
                            @if !ph.caption.is_empty() { (ph.caption) br; }
                            span class="muted" { (ph.width) "×" (ph.height) " px" }
                        }
                    }
                }
                @if p.photos.is_empty() { p class="muted" { "Belum ada foto dari UPT." } }
            }
            table {
                tr { th { "UPT" } td { (p.upt) } }
                tr { th { "Id" } td { code { (p.id) } } }
                tr { th { "Kategori" } td { (shown.categories.get(&p.category).unwrap_or(&p.category)) } }
                tr { th { "Harga" } td { (rupiah(p.price_idr)) " / " (p.unit) } }
                tr { th { "Stok" } td { (thousands(p.stock)) } }
                tr { th { "Bengkel kerja" } td { (p.workshop) } }
                tr { th { "Deskripsi" } td { (p.description) } }
                tr { th { "Diusulkan UPT" } td { (if p.nominated { "ya" } else { "tidak" }) } }
                tr {
                    th { "Sertifikasi" }
                    td {
                        @for c in &p.certifications {
                            (c.kind.as_str().to_uppercase()) " " (c.number)
                            @if let Some(until) = c.valid_until {
                                @if until < today {
                                    " " span class="bad" { "kedaluwarsa " (localtime::date(until)) }
                                } @else {
                                    " (berlaku sampai " (localtime::date(until)) ")"
                                }
                            }
                            br;
                        }
                        @if p.certifications.is_empty() { span class="muted" { "—" } }
                    }
                }
                tr { th { "Diperbarui" } td { (localtime::format(&p.updated_at, zone)) } }
            }
            (conflicts(p))
            h2 { "Penjualan" }
            @if shown.sales.count == 0 {
                p class="muted" { "Belum ada penjualan tercatat." }
            } @else {
                p id="penjualan" {
                    (thousands(shown.sales.count)) " penjualan, " (thousands(shown.sales.quantity)) " barang, "
                    strong { (rupiah(shown.sales.revenue)) }
                }
                table {
                    tr { th { "Tanggal" } th class="num" { "Jumlah" } th class="num" { "Pendapatan" } th { "Kanal" } }
                    @for (date, qty, revenue, channel) in &shown.sales.latest {
                        tr {
                            td { (karya_shared::model::parse_iso_date(date).map(localtime::date).unwrap_or_else(|_| date.clone())) }
                            td class="num" { (thousands(*qty)) }
                            td class="num" { (rupiah(*revenue)) }
                            td { (channel) }
                        }
                    }
                }
            }
            h2 { "Kurasi" }
            table id="kurasi" {
                tr {
                    th { "Verifikasi Kanwil" }
                    td id="verifikasi" {
                        @match &p.verification {
                            Some(v) => {
                                strong { (super::antrean::kanwil_cell(p)) } " — oleh " (v.decided_by) ", " (localtime::format(&v.decided_at, zone))
                                @if !v.note.is_empty() { br; span class="muted" { "“" (v.note) "”" } }
                            },
                            None => span class="muted" { "Belum diverifikasi." },
                        }
                    }
                }
                tr {
                    th { "Keputusan pusat" }
                    td id="keputusan-pusat" {
                        @match &p.curation {
                            Some(c) => {
                                strong { (status_words(c.status)) } " — oleh " (c.decided_by) ", " (localtime::format(&c.decided_at, zone))
                                @if c.unverified { " " span class="bad" { "(tanpa verifikasi Kanwil)" } }
                                @if c.changed_since(p) { br; span class="bad" id="berubah" { "Berubah setelah disetujui: disetujui " (c.approved_name) ", " (rupiah(c.approved_price_idr)) "; sekarang " (p.name) ", " (rupiah(p.price_idr)) ". Katalog publik tetap memakai nilai yang disetujui." } }
                                @if !c.note.is_empty() { br; span class="muted" { "“" (c.note) "”" } }
                            },
                            None => span class="muted" { "Belum ada keputusan." },
                        }
                    }
                }
            }
            @if !shown.history.is_empty() {
                h3 { "Riwayat kurasi" }
                (history_table(&shown.history, zone))
            }
            @if who.principal.role.can_curate() {
                form method="post" action=(action) id="keputusan" {
                    input type="hidden" name="csrf" value=(who.csrf);
                    fieldset {
                        label { "Keputusan "
                            select name="status" {
                                @if who.principal.kanwil.is_some() {
                                    @for s in VerificationStatus::ALL {
                                        option value=(s.as_str()) selected[p.verification.as_ref().is_some_and(|v| v.status == *s)] { (super::antrean::verification_words(*s)) }
                                    }
                                } @else {
                                    @for s in CurationStatus::ALL {
                                        option value=(s.as_str()) selected[p.curation.as_ref().is_some_and(|c| c.status == *s)] { (status_words(*s)) }
                                    }
                                }
                            }
                        }
                        @if who.principal.kanwil.is_none() && p.verification.as_ref().is_none_or(|v| v.status != VerificationStatus::Verified) {
                            br; span class="bad" { "Produk ini belum diverifikasi Kanwil: tulis alasan keputusan pusat di catatan." }
                        }
                        br;
                        label { "Catatan " br; textarea name="catatan" rows="3" cols="60" maxlength="5000" {} }
                        br;
                        button type="submit" { "Simpan keputusan" }
                    }
                }
            } @else {
                p class="muted" { "Token " (who.principal.role.name()) " hanya dapat melihat; keputusan kurasi memerlukan token curator." }
            }
        },
    )
}

/// The steps of a product's curation, newest first: level, decision, by whom, when (local
/// time), the note, and the values decided on.
fn history_table(steps: &[karya_shared::schema::Step], zone: localtime::Zone) -> Markup {
    use karya_shared::schema::Step;
    html! {
        table id="riwayat" {
            tr { th { "Waktu" } th { "Tingkat" } th { "Keputusan" } th { "Oleh" } th { "Catatan" } th { "Nilai yang diputuskan" } }
            @for step in steps.iter().rev() {
                @let (level, words) = match step {
                    Step::Kanwil(v) => ("Kanwil", super::antrean::verification_words(v.status)),
                    Step::Hq(d) => ("Pusat", status_words(d.status)),
                };
                @let (name, price) = step.approved();
                tr {
                    td { (localtime::format(step.decided_at(), zone)) }
                    td { (level) }
                    td {
                        (words)
                        @if matches!(step, Step::Hq(d) if d.unverified) { " " span class="bad" { "(tanpa verifikasi Kanwil)" } }
                    }
                    td { (step.decided_by()) }
                    td { (step.note()) }
                    td { @if !name.is_empty() { (name) ", " (rupiah(price)) } }
                }
            }
        }
    }
}

fn conflicts(p: &ProductRow) -> Markup {
    html! {
        @for (field, values) in &p.conflicts {
            p class="bad" {
                "Dua komputer UPT mengubah " (field) " bersamaan: "
                (values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" dan "))
                ". Yang berlaku: " (values.first().map(|v| v.to_string()).unwrap_or_default()) "."
            }
        }
    }
}

/// Why a decision's form is refused: not this session's (403, forged), or its sender may not
/// curate (403 with the reason); `None` when it may be carried out.
fn refusal(who: &Curator, csrf: &str) -> Option<Response> {
    if !who.form_is_ours(csrf) {
        return Some(forged());
    }
    if !who.principal.role.can_curate() {
        return Some((
            StatusCode::FORBIDDEN,
            page(
                Some(who),
                "Tidak diizinkan",
                "",
                html! { p class="flash bad" { "Keputusan kurasi memerlukan token curator atau admin." } },
            ),
        )
            .into_response());
    }
    None
}

#[derive(Debug, Deserialize)]
pub struct Decision {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    catatan: String,
}

pub async fn decide(
    State(state): State<Arc<AppState>>,
    who: Curator,
    Path((upt, id)): Path<(String, String)>,
    axum::Form(form): axum::Form<Decision>,
) -> Response {
    if let Some(refused) = refusal(&who, &form.csrf) {
        return refused;
    }
    let recorded = crate::decisions::record(
        &state,
        &who.principal,
        id.clone(),
        Some(upt.clone()),
        &form.status,
        form.catatan,
    )
    .await;
    match recorded {
        Ok(_) => Redirect::to(&format!(
            "/produk/{}/{}?pesan=disimpan",
            urlencode(&upt),
            urlencode(&id)
        ))
        .into_response(),
        Err(e) => match load(&state, &who, &upt, &id).await {
            Ok(shown) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                product_page(
                    &state,
                    &who,
                    &shown,
                    Some((false, format!("Keputusan tidak disimpan: {}", e.detail))),
                ),
            )
                .into_response(),
            Err(r) => r,
        },
    }
}

/// At most this many products in one decision on a selection.
const MAX_SELECTED: usize = 200;

/// `POST /katalog/keputusan`: one decision for every product ticked on the list. The form is
/// read by hand: it repeats `pilih` once per product.
pub async fn decide_many(
    State(state): State<Arc<AppState>>,
    who: Curator,
    body: axum::body::Bytes,
) -> Response {
    let mut csrf = String::new();
    let mut status = String::new();
    let mut note = String::new();
    let mut back = String::new();
    let mut picked: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = v.into_owned(),
            "status" => status = v.into_owned(),
            "catatan" => note = v.into_owned(),
            "kembali" => back = v.into_owned(),
            "pilih" if picked.len() < MAX_SELECTED => {
                if let Some((upt, id)) = v.split_once('/') {
                    picked.push((upt.to_string(), id.to_string()));
                }
            }
            _ => {}
        }
    }
    if let Some(refused) = refusal(&who, &csrf) {
        return refused;
    }
    let (mut saved, mut failed) = (0usize, 0usize);
    for (upt, id) in picked {
        let r =
            crate::decisions::record(&state, &who.principal, id, Some(upt), &status, note.clone())
                .await;
        match r {
            Ok(_) => saved += 1,
            Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
                // The status or the note is wrong for every product alike: say so at once.
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    page(
                        Some(&who),
                        "Keputusan tidak disimpan",
                        "/katalog",
                        html! { p class="flash bad" { (e.detail) } p { a href="/katalog" { "Kembali ke katalog" } } },
                    ),
                )
                    .into_response();
            }
            Err(_) => failed += 1,
        }
    }
    // Back to the same filtered list (the filters only: a query this page wrote).
    let back: String = back
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "=&%-_.~".contains(*c))
        .take(2000)
        .collect();
    let amp = if back.is_empty() { "" } else { "&" };
    Redirect::to(&format!(
        "/katalog?{back}{amp}disimpan={saved}&gagal={failed}"
    ))
    .into_response()
}
