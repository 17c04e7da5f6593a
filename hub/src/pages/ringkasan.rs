//! Ringkasan (`/`): the national figures, per Kanwil, and the UPTs — those that have not synced
//! for longer than `stale_after_hours` first.

use super::chart::{self, Bar};
use super::{Curator, page};
use crate::AppState;
use crate::db::UptRow;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use karya_shared::localtime::{self, Zone, rupiah, thousands};
use karya_shared::views::Stats;
use maud::html;
use std::sync::Arc;

/// What the page shows, read in one go on the store's threads.
pub struct View {
    stats: Stats,
    upts: Vec<UptRow>,
    refusals: i64,
    per_category: Vec<(String, i64)>,
    categories: std::collections::HashMap<String, String>,
    per_month: Vec<(String, i64, i64)>,
    /// When a rebuild from the agents began, while it goes on.
    rebuilding: Option<String>,
    /// A rebuild without the lost hub's key that has not adopted a registry yet: how many
    /// UPTs have offered one.
    awaiting_adoption: Option<usize>,
}

/// A month (`2026-11`) as people read it: `Nov 2026`.
fn month_words(ym: &str) -> String {
    let month = ym.get(5..7).and_then(|m| m.parse::<u8>().ok()).unwrap_or(1);
    format!(
        "{} {}",
        karya_shared::text::month_abbrev(month),
        ym.get(..4).unwrap_or(ym)
    )
}

pub async fn ringkasan(State(state): State<Arc<AppState>>, who: Curator) -> Response {
    let hours = state.config.stale_after_hours;
    let zone = state.config.zone();
    let kanwil = who.principal.kanwil.clone();
    let today = time::OffsetDateTime::now_utc().date();
    let view = state
        .blocking(move |db| read(db, hours, kanwil.as_deref(), today))
        .await;
    match view {
        Ok(Ok(view)) => render(&who, view, hours, zone).into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "the summary page could not read the figures");
            super::unavailable()
        }
        Err(_) => super::unavailable(),
    }
}

/// Reads the page's figures: those of `kanwil` (a Kanwil's token) or the nation's, with the
/// sales of the twelve months to `today`.
pub fn read(
    db: &crate::db::HubDb,
    hours: i64,
    kanwil: Option<&str>,
    today: time::Date,
) -> Result<View, karya_shared::StoreError> {
    // The last twelve months of sales, to today (a sale dated later is a wrong clock's).
    let since = today
        .replace_day(1)
        .ok()
        .and_then(|d| d.replace_year(d.year() - 1).ok())
        .unwrap_or(today);
    let rebuilding = db.rebuilding_since()?;
    Ok(View {
        stats: db.stats()?,
        upts: db.upt_rows(hours)?,
        refusals: db.refusal_count()?,
        per_category: db.products_per_category(kanwil)?,
        categories: db.product_categories()?,
        per_month: db.sales_per_month(
            &karya_shared::model::iso(since),
            &karya_shared::model::iso(today),
            kanwil,
        )?,
        awaiting_adoption: match &rebuilding {
            Some(_)
                if crate::rebuild::agreement(db)? == Some(crate::rebuild::Agreement::Waiting) =>
            {
                Some(crate::rebuild::candidates(db)?.1)
            }
            _ => None,
        },
        rebuilding,
    })
}

/// The page of `view` for `who`.
pub fn render(who: &Curator, view: View, hours: i64, zone: Zone) -> Html<String> {
    let View {
        stats,
        mut upts,
        refusals,
        per_category,
        categories,
        per_month,
        rebuilding,
        awaiting_adoption,
    } = view;
    // A Kanwil's token sees its Kanwil's figures and UPTs only.
    let scope = who.principal.kanwil.as_deref();
    let stats = crate::lookups::scoped_stats(stats, scope);
    if let Some(k) = scope {
        upts.retain(|u| u.kanwil == k);
    }
    let title = match scope {
        Some(k) => format!("Ringkasan Kanwil {k}"),
        None => "Ringkasan nasional".to_string(),
    };
    // Stale UPTs first (longest silent first), then the rest by code.
    upts.sort_by(|a, b| {
        b.stale
            .cmp(&a.stale)
            .then_with(|| a.last_sync_at.cmp(&b.last_sync_at))
            .then_with(|| a.code.cmp(&b.code))
    });
    let n = &stats.national;
    let stale = upts.iter().filter(|u| u.stale).count();
    let card = |label: &str, value: String, bad: bool| {
        html! { div class="card" { (label) b class=[bad.then_some("stale")] { (value) } } }
    };
    page(
        Some(who),
        &title,
        "/",
        html! {
            @if let Some(heard) = awaiting_adoption {
                p class="flash bad" id="menunggu-registri" role="status" {
                    "Pusat dibangun ulang tanpa kunci lamanya: belum ada yang diterima sampai daftar UPT ditetapkan. "
                    (thousands(heard as i64)) " UPT sudah menawarkan daftar yang mereka pegang. Lihat karya-hub rebuild status, "
                    "cocokkan sidik registri lewat telepon dengan UPT (karya-agent status), lalu karya-hub rebuild adopt SIDIK."
                }
            }
            @if let (Some(since), None) = (&rebuilding, awaiting_adoption) {
                p class="flash bad" id="bangun-ulang" role="status" {
                    "Pusat sedang dibangun ulang dari UPT sejak " (localtime::format(since, zone)) ": "
                    (thousands(upts.iter().filter(|u| u.last_sync_at.is_some()).count() as i64)) " dari "
                    (thousands(upts.len() as i64)) " UPT sudah kembali. Setelah semua kembali: karya-hub rebuild finish."
                }
            }
            div class="cards" {
                (card("UPT terdaftar", thousands(upts.len() as i64), false))
                (card(&format!("UPT belum sinkron > {hours} jam"), thousands(stale as i64), stale > 0))
                (card("Produk", thousands(n.products), false))
                (card("Stok", thousands(n.stock), false))
                (card("Penjualan", thousands(n.sales), false))
                (card("Pendapatan", rupiah(n.revenue_idr), false))
                (card("Pelatihan", thousands(n.trainings), false))
                (card("Peserta", thousands(n.participants), false))
                (card("Lulus", thousands(n.completions), false))
                @if scope.is_none() {
                    (card("Sinkronisasi ditolak", thousands(refusals), refusals > 0))
                }
            }
            @if n.future_dated_sales > 0 {
                p class="stale" {
                    (thousands(n.future_dated_sales)) " penjualan bertanggal lebih dari sehari setelah hari ini (jam komputer UPT salah) tidak dihitung dalam penjualan dan pendapatan."
                }
            }
            (chart::bars("grafik-kanwil", "Produk per Kanwil", &stats.per_kanwil.iter().map(|k| Bar {
                label: k.kanwil.clone(),
                value: k.figures.products,
                shown: thousands(k.figures.products),
            }).collect::<Vec<_>>()))
            (chart::bars("grafik-kategori", "Produk per kategori", &per_category.iter().map(|(slug, n)| Bar {
                label: categories.get(slug).cloned().unwrap_or_else(|| slug.clone()),
                value: *n,
                shown: thousands(*n),
            }).collect::<Vec<_>>()))
            (chart::bars("grafik-bulan", "Penjualan per bulan (12 bulan terakhir)", &per_month.iter().map(|(m, revenue, n)| Bar {
                label: month_words(m),
                value: *revenue,
                shown: format!("{} ({} transaksi)", rupiah(*revenue), thousands(*n)),
            }).collect::<Vec<_>>()))
            h2 { "Per Kanwil" }
            table {
                tr { th { "Kanwil" } th class="num" { "UPT" } th class="num" { "Produk" } th class="num" { "Stok" } th class="num" { "Pendapatan" } th class="num" { "Pelatihan" } th class="num" { "Peserta" } th class="num" { "Lulus" } }
                @for k in &stats.per_kanwil {
                    tr {
                        td { a href={ "/katalog?kanwil=" (urlencode(&k.kanwil)) } { (k.kanwil) } }
                        td class="num" { (thousands(k.upts)) }
                        td class="num" { (thousands(k.figures.products)) }
                        td class="num" { (thousands(k.figures.stock)) }
                        td class="num" { (rupiah(k.figures.revenue_idr)) }
                        td class="num" { (thousands(k.figures.trainings)) }
                        td class="num" { (thousands(k.figures.participants)) }
                        td class="num" { (thousands(k.figures.completions)) }
                    }
                }
            }
            h2 { "UPT" }
            table id="upt" {
                tr { th { "Kode" } th { "Nama" } th { "Kanwil" } th { "Sinkron terakhir" } th { "Versi agen" } th class="num" { "Produk" } th class="num" { "Pelatihan" } }
                @for u in &upts {
                    tr {
                        td { a href={ "/upt/" (urlencode(&u.code)) } { (u.code) } }
                        td { (u.name) }
                        td { (u.kanwil) }
                        td {
                            @match &u.last_sync_at {
                                Some(at) if u.stale => span class="stale" { (localtime::format(at, zone)) " (usang)" },
                                Some(at) => span class="ok" { (localtime::format(at, zone)) },
                                None => span class="stale" { "belum pernah" },
                            }
                        }
                        td { (u.last_agent_version.as_deref().unwrap_or("—")) }
                        td class="num" { (thousands(u.products)) }
                        td class="num" { (thousands(u.trainings)) }
                    }
                }
            }
        },
    )
}

/// A query-string value: everything but unreserved characters percent-encoded.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
