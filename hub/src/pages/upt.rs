//! UPT (`/upt`): every UPT, filtered by Kanwil, type and staleness, sorted by a column; and a
//! page per UPT (`/upt/{code}`) with its sync state, refusals, refused token attempts (a revoked
//! token still in use shows here), products and trainings.

use super::katalog::status_words;
use super::ringkasan::urlencode;
use super::{Curator, page, unavailable};
use crate::AppState;
use crate::db::UptRow;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use karya_shared::localtime::{self, Zone, rupiah, thousands};
use karya_shared::views::{Page, ProductFilter, ProductRow, TrainingCursor, TrainingRow};
use maud::{Markup, html};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Debug, Deserialize, Default)]
pub struct UptQuery {
    #[serde(default)]
    kanwil: String,
    #[serde(default)]
    jenis: String,
    /// `usang`: only UPTs that have not synced within the threshold.
    #[serde(default)]
    status: String,
    /// `kode`, `nama`, `kanwil`, `sinkron` or `produk`.
    #[serde(default)]
    urut: String,
}

fn last_sync(u: &UptRow, zone: Zone) -> Markup {
    html! {
        @match &u.last_sync_at {
            Some(at) if u.stale => span class="stale" { (localtime::format(at, zone)) " (usang)" },
            Some(at) => span class="ok" { (localtime::format(at, zone)) },
            None => span class="stale" { "belum pernah" },
        }
    }
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    who: Curator,
    Query(q): Query<UptQuery>,
) -> Response {
    let hours = state.config.stale_after_hours;
    let zone = state.config.zone();
    let Ok(Ok(mut rows)) = state.blocking(move |db| db.upt_rows(hours)).await else {
        return unavailable();
    };
    if let Some(k) = &who.principal.kanwil {
        rows.retain(|u| &u.kanwil == k);
    }
    let mut kanwils: Vec<String> = rows.iter().map(|u| u.kanwil.clone()).collect();
    kanwils.sort();
    kanwils.dedup();
    rows.retain(|u| {
        (q.kanwil.is_empty() || u.kanwil == q.kanwil)
            && (q.jenis.is_empty() || u.kind == q.jenis)
            && (q.status != "usang" || u.stale)
    });
    match q.urut.as_str() {
        "nama" => rows.sort_by(|a, b| a.name.cmp(&b.name)),
        "kanwil" => rows.sort_by(|a, b| a.kanwil.cmp(&b.kanwil).then(a.code.cmp(&b.code))),
        // Longest silent first.
        "sinkron" => rows.sort_by(|a, b| a.last_sync_at.cmp(&b.last_sync_at)),
        "produk" => rows.sort_by_key(|u| std::cmp::Reverse(u.products)),
        _ => rows.sort_by(|a, b| a.code.cmp(&b.code)),
    }
    let base = format!(
        "/upt?kanwil={}&jenis={}&status={}",
        urlencode(&q.kanwil),
        urlencode(&q.jenis),
        urlencode(&q.status)
    );
    let sort = |key: &str, label: &str| html! { a href={ (base) "&urut=" (key) } { (label) } };
    page(
        Some(&who),
        "UPT",
        "/upt",
        html! {
            form method="get" action="/upt" id="saring-upt" {
                fieldset {
                    @if let Some(k) = &who.principal.kanwil {
                        label { "Kanwil " strong { (k) } }
                    } @else {
                        label { "Kanwil "
                            select name="kanwil" {
                                option value="" { "Semua Kanwil" }
                                @for k in &kanwils { option value=(k) selected[*k == q.kanwil] { (k) } }
                            }
                        }
                    }
                    label { "Jenis "
                        select name="jenis" {
                            option value="" { "Semua jenis" }
                            @for t in karya_shared::model::UptType::NAMES { option value=(t) selected[*t == q.jenis] { (t.to_uppercase()) } }
                        }
                    }
                    label { input type="checkbox" name="status" value="usang" checked[q.status == "usang"]; " hanya yang belum sinkron > " (hours) " jam" }
                    input type="hidden" name="urut" value=(q.urut);
                    button type="submit" { "Saring" }
                }
            }
            p { (thousands(rows.len() as i64)) " UPT" }
            table id="daftar-upt" {
                tr {
                    th { (sort("kode", "Kode")) } th { (sort("nama", "Nama")) } th { "Jenis" } th { (sort("kanwil", "Kanwil")) }
                    th { (sort("sinkron", "Sinkron terakhir")) } th { "Versi agen" } th class="num" { (sort("produk", "Produk")) } th class="num" { "Token ditolak" }
                }
                @for u in &rows {
                    tr {
                        td { a href={ "/upt/" (urlencode(&u.code)) } { (u.code) } }
                        td { (u.name) }
                        td { (u.kind.to_uppercase()) }
                        td { (u.kanwil) }
                        td { (last_sync(u, zone)) }
                        td { (u.last_agent_version.as_deref().unwrap_or("—")) }
                        td class="num" { (thousands(u.products)) }
                        td class="num" { @if u.token_failures > 0 { span class="bad" { (thousands(u.token_failures)) } } @else { "0" } }
                    }
                }
            }
        },
    )
    .into_response()
}

struct Detail {
    upt: UptRow,
    refusals: Vec<crate::db::RefusalRow>,
    products: Page<ProductRow, karya_shared::views::ProductCursor>,
    trainings: Page<TrainingRow, TrainingCursor>,
}

pub async fn detail(
    State(state): State<Arc<AppState>>,
    who: Curator,
    Path(code): Path<String>,
) -> Response {
    let hours = state.config.stale_after_hours;
    let zone = state.config.zone();
    let scope = who.principal.kanwil.clone();
    let wanted = code.clone();
    let read =
        state
            .blocking(
                move |db| -> Result<Option<Detail>, karya_shared::StoreError> {
                    let Some(upt) = db.upt_rows(hours)?.into_iter().find(|u| {
                        u.code == wanted && scope.as_ref().is_none_or(|k| &u.kanwil == k)
                    }) else {
                        return Ok(None);
                    };
                    let filter = ProductFilter {
                        upt: Some(upt.code.clone()),
                        ..Default::default()
                    };
                    Ok(Some(Detail {
                        refusals: db.refusals_of(&upt.code)?,
                        products: db.products_page(&filter, None, 50)?,
                        trainings: db.trainings_page(Some(&upt.code), None, None, None, 50)?,
                        upt,
                    }))
                },
            )
            .await;
    let d = match read {
        Ok(Ok(Some(d))) => d,
        Ok(Ok(None)) => {
            return (
                StatusCode::NOT_FOUND,
                page(
                    Some(&who),
                    "UPT tidak ditemukan",
                    "/upt",
                    html! { p class="flash bad" { "Tidak ada UPT " code { (code) } " yang terdaftar di hub." } p { a href="/upt" { "Daftar UPT" } } },
                ),
            )
                .into_response();
        }
        _ => return unavailable(),
    };
    let u = &d.upt;
    page(
        Some(&who),
        &format!("{} — {}", u.code, u.name),
        "/upt",
        html! {
            p { a href="/upt" { "← Daftar UPT" } }
            table {
                tr { th { "Jenis" } td { (u.kind.to_uppercase()) } }
                tr { th { "Kanwil" } td { (u.kanwil) } }
                tr { th { "Sinkron terakhir" } td { (last_sync(u, zone)) } }
                tr { th { "Percobaan terakhir" } td { (u.last_attempt_at.as_deref().map(|a| localtime::format(a, zone)).unwrap_or_else(|| "—".into())) } }
                tr { th { "Versi agen" } td { (u.last_agent_version.as_deref().unwrap_or("—")) } }
                tr { th { "Produk / penjualan / pelatihan" } td { (thousands(u.products)) " / " (thousands(u.sales)) " / " (thousands(u.trainings)) } }
            }
            h2 { "Token ditolak" }
            @if u.token_failures > 0 {
                p class="bad" id="token-ditolak" {
                    (thousands(u.token_failures)) " percobaan sinkron dengan token yang ditolak"
                    @if let Some(at) = &u.last_token_failure_at { ", terakhir " (localtime::format(at, zone)) }
                    ". Bila tokennya dicabut, terbitkan yang baru (karya-hub upt token " (u.code) ") dan kirimkan ke operator UPT: karya-agent token set TOKEN-BARU."
                }
            } @else {
                p class="muted" { "Tidak ada." }
            }
            h2 { "Penolakan sinkronisasi" }
            @if d.refusals.is_empty() {
                p class="muted" { "Tidak ada." }
            } @else {
                table id="penolakan" {
                    tr { th { "Dokumen" } th { "Alasan terakhir" } th class="num" { "Kali" } th { "Terakhir" } }
                    @for r in &d.refusals {
                        tr { td { (r.doc) } td { (r.last_reason) } td class="num" { (thousands(r.count)) } td { (localtime::format(&r.last_at, zone)) } }
                    }
                }
            }
            h2 { "Produk (" (thousands(d.products.total)) ")" }
            table {
                tr { th { "Produk" } th class="num" { "Harga" } th class="num" { "Stok" } th { "Kurasi" } }
                @for p in &d.products.items {
                    tr {
                        td { a href={ "/produk/" (urlencode(&p.upt)) "/" (urlencode(&p.id)) } { (p.name) } }
                        td class="num" { (rupiah(p.price_idr)) }
                        td class="num" { (thousands(p.stock)) }
                        td { (p.curation.as_ref().map(|c| status_words(c.status)).unwrap_or("—")) }
                    }
                }
            }
            @if d.products.total > d.products.items.len() as i64 {
                p { a href={ "/katalog?upt=" (urlencode(&u.code)) } { "Semua produk UPT ini di katalog →" } }
            }
            h2 { "Pelatihan (" (thousands(d.trainings.total)) ")" }
            table {
                tr { th { "Program" } th { "Kategori" } th { "Mulai" } th { "Selesai" } th class="num" { "Peserta" } th class="num" { "Lulus" } }
                @for t in &d.trainings.items {
                    tr {
                        td { (t.program) } td { (t.category) }
                        td { (localtime::date(t.start_date)) } td { (localtime::date(t.end_date)) }
                        td class="num" { (thousands(t.participants)) } td class="num" { (thousands(t.completed)) }
                    }
                }
            }
        },
    )
    .into_response()
}
