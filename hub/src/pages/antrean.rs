//! Antrean (`/antrean`): what waits for a decision at each level, sortable, with the counts
//! of every queue in the header; and Rekap (`/rekap`): per Kanwil and UPT, what was
//! nominated, verified, approved, featured and sent back, how long the oldest product waits,
//! and the UPTs that have not synced since the last 14:00 (the hub's local time: today's
//! from 14:00 on, yesterday's before), on the page and as CSV or XLSX.
//!
//! A Kanwil's token sees its Kanwil only, here as everywhere; its own queue is the Kanwil's
//! (verify or send back), HQ's is HQ's.

use super::katalog::status_words;
use super::ringkasan::urlencode;
use super::{Curator, page, unavailable};
use crate::AppState;
use crate::db::UptRow;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use karya_shared::localtime::{self, Zone, rupiah, thousands};
use karya_shared::model::VerificationStatus;
use karya_shared::views::{self, ProductFilter, Queue, QueueSort, Waiting};
use maud::{Markup, html};
use serde::Deserialize;
use std::sync::Arc;

/// Products per page of a queue.
const PER_PAGE: usize = 50;

#[derive(Debug, Deserialize, Default)]
pub struct QueueQuery {
    /// `kanwil`, `pusat`, `berubah` or `dikembalikan`; empty: the viewer's own level.
    #[serde(default)]
    antrean: String,
    #[serde(default)]
    urut: String,
    #[serde(default)]
    hal: usize,
}

/// The queues as the page names them: (URL name, tab label, queue).
const QUEUES: [(&str, &str, Queue); 4] = [
    ("kanwil", "Menunggu verifikasi Kanwil", Queue::Kanwil),
    ("pusat", "Menunggu keputusan pusat", Queue::Hq),
    ("berubah", "Berubah setelah disetujui", Queue::Changed),
    ("dikembalikan", "Dikembalikan ke UPT", Queue::SentBack),
];

fn sort_label(s: QueueSort) -> &'static str {
    match s {
        QueueSort::Waiting => "terlama menunggu",
        QueueSort::Upt => "UPT",
        QueueSort::Price => "harga tertinggi",
        QueueSort::Category => "kategori",
    }
}

/// Whole days from `since` (RFC 3339) to now.
fn days_waiting(since: &str) -> i64 {
    time::OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339)
        .map(|t| (time::OffsetDateTime::now_utc() - t).whole_days().max(0))
        .unwrap_or(0)
}

pub async fn antrean(
    State(state): State<Arc<AppState>>,
    who: Curator,
    Query(q): Query<QueueQuery>,
) -> Response {
    let kanwil = who.principal.kanwil.clone();
    let own = if kanwil.is_some() { "kanwil" } else { "pusat" };
    let name = if q.antrean.is_empty() {
        own
    } else {
        q.antrean.as_str()
    };
    let Some(&(name, label, queue)) = QUEUES.iter().find(|(n, _, _)| *n == name) else {
        return (
            StatusCode::NOT_FOUND,
            page(
                Some(&who),
                "Antrean tidak dikenal",
                "/antrean",
                html! { p class="flash bad" { "Tidak ada antrean '" (q.antrean) "'. " a href="/antrean" { "Buka antrean Anda" } } },
            ),
        )
            .into_response();
    };
    let sort = QueueSort::parse(&q.urut);
    let offset = q.hal.min(100_000) * PER_PAGE;
    let filter = ProductFilter {
        kanwil: kanwil.clone(),
        queue: Some(queue),
        ..Default::default()
    };
    let read = state
        .blocking(move |db| -> Result<_, karya_shared::StoreError> {
            let counts = db.queue_counts(kanwil.as_deref())?;
            let page = db.queue_page(&filter, sort, offset, PER_PAGE)?;
            Ok((counts, page, db.product_categories()?))
        })
        .await;
    let Ok(Ok((counts, rows, categories))) = read else {
        return unavailable();
    };
    let total = counts.of(queue);
    let zone = state.config.zone();
    let decides_here = who.principal.role.can_curate()
        && matches!(
            (queue, who.principal.kanwil.is_some()),
            (Queue::Kanwil, true) | (Queue::Hq | Queue::Changed, false)
        );
    page(
        Some(&who),
        "Antrean kurasi",
        "/antrean",
        html! {
            div class="cards" id="hitungan" {
                @for (n, l, qq) in QUEUES {
                    a class="card" href={ "/antrean?antrean=" (n) } {
                        b { (thousands(counts.of(qq))) }
                        @if n == name { strong { (l) } } @else { (l) }
                    }
                }
            }
            h2 { (label) " (" (thousands(total)) ")" }
            @if decides_here {
                p class="muted" { "Buka produk untuk memutuskan; keputusan sampai ke UPT pada sinkronisasi berikutnya." }
            }
            form method="get" action="/antrean" {
                input type="hidden" name="antrean" value=(name);
                label { "Urutkan "
                    select name="urut" {
                        @for s in QueueSort::ALL {
                            option value=(s.as_str()) selected[s == sort] { (sort_label(s)) }
                        }
                    }
                }
                button type="submit" { "Terapkan" }
            }
            @if rows.is_empty() {
                p class="muted" id="kosong" { "Tidak ada produk di antrean ini." }
            } @else {
                (queue_table(&rows, &categories, zone))
                (pager(name, sort, q.hal, total))
            }
        },
    )
    .into_response()
}

fn queue_table(
    rows: &[Waiting],
    categories: &std::collections::HashMap<String, String>,
    zone: Zone,
) -> Markup {
    html! {
        table id="antrean" {
            tr {
                th { "UPT" } th { "Produk" } th { "Kategori" } th class="num" { "Harga" }
                th { "Menunggu sejak" } th class="num" { "Hari" } th { "Kanwil" } th { "Pusat" }
            }
            @for w in rows {
                @let p = &w.row;
                tr {
                    td { (p.upt) }
                    td { a href={ "/produk/" (urlencode(&p.upt)) "/" (urlencode(&p.id)) } { (p.name) } }
                    // The category's name, as the catalogue's filters show it.
                    td { (categories.get(&p.category).map_or(p.category.as_str(), String::as_str)) }
                    td class="num" { (rupiah(p.price_idr)) }
                    td { (localtime::format(&w.waiting_since, zone)) }
                    td class="num" { (thousands(days_waiting(&w.waiting_since))) }
                    td { (kanwil_cell(p)) }
                    td {
                        @match &p.curation {
                            Some(c) => {
                                (status_words(c.status))
                                @if c.changed_since(&p.product) { " " span class="bad" { "berubah setelah disetujui" } }
                            },
                            None => span class="muted" { "—" },
                        }
                    }
                }
            }
        }
    }
}

/// The Kanwil's word on a product, as a curator reads it.
pub fn kanwil_cell(p: &views::ProductRow) -> Markup {
    html! {
        @match &p.verification {
            Some(v) => {
                (verification_words(v.status))
                @if v.status == VerificationStatus::SentBack && p.nominations > v.round { " (diusulkan lagi)" }
                @if v.changed_since(&p.product) { " " span class="bad" { "berubah setelah diverifikasi" } }
            },
            None => span class="muted" { "belum" },
        }
    }
}

/// A Kanwil's verdict in words.
pub fn verification_words(s: VerificationStatus) -> &'static str {
    match s {
        VerificationStatus::Verified => "terverifikasi",
        VerificationStatus::SentBack => "perlu perbaikan",
    }
}

fn pager(name: &str, sort: QueueSort, at: usize, total: i64) -> Markup {
    let pages = (total.max(0) as usize).div_ceil(PER_PAGE);
    html! {
        @if pages > 1 {
            p id="halaman" {
                "Halaman " (at + 1) " dari " (thousands(pages as i64)) " "
                @if at > 0 {
                    a href={ "/antrean?antrean=" (name) "&urut=" (sort.as_str()) "&hal=" (at - 1) } { "← sebelumnya" } " "
                }
                @if at + 1 < pages {
                    a href={ "/antrean?antrean=" (name) "&urut=" (sort.as_str()) "&hal=" (at + 1) } { "berikutnya →" }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct RecapQuery {
    /// `csv` or `xlsx`: the list of UPTs late for today's 14:00, as a file.
    #[serde(default)]
    format: String,
}

/// The last 14:00 that has passed in the hub's local time (today's from 14:00 on, before it
/// yesterday's): when the daily consolidation closes. As RFC 3339 in UTC (how sync times
/// are kept), and its local date for people.
fn last_two_oclock(zone: Zone) -> (String, time::Date) {
    let offset =
        time::UtcOffset::from_hms(zone.offset_hours(), 0, 0).unwrap_or(time::UtcOffset::UTC);
    let local = time::OffsetDateTime::now_utc().to_offset(offset);
    let two = time::Time::from_hms(14, 0, 0).unwrap_or(time::Time::MIDNIGHT);
    let mut at = local.replace_time(two);
    if at > local {
        at -= time::Duration::days(1);
    }
    let utc = at
        .to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    (utc, at.date())
}

/// UPTs whose last acknowledged sync is older than `cutoff` (or that never synced).
fn late(rows: Vec<UptRow>, cutoff: &str) -> Vec<UptRow> {
    rows.into_iter()
        .filter(|u| u.last_sync_at.as_deref().is_none_or(|at| at < cutoff))
        .collect()
}

pub async fn rekap(
    State(state): State<Arc<AppState>>,
    who: Curator,
    Query(q): Query<RecapQuery>,
) -> Response {
    let kanwil = who.principal.kanwil.clone();
    let hours = state.config.stale_after_hours;
    let read = state
        .blocking(move |db| -> Result<_, karya_shared::StoreError> {
            let recap = db.recap(kanwil.as_deref())?;
            let mut upts = db.upt_rows(hours)?;
            if let Some(k) = &kanwil {
                upts.retain(|u| &u.kanwil == k);
            }
            Ok((recap, upts))
        })
        .await;
    let Ok(Ok((recap, upts))) = read else {
        return unavailable();
    };
    let zone = state.config.zone();
    let (cutoff, day) = last_two_oclock(zone);
    let late = late(upts, &cutoff);
    match q.format.as_str() {
        "csv" => return late_csv(&late, zone),
        "xlsx" => return late_xlsx(&late, zone),
        _ => {}
    }
    page(
        Some(&who),
        "Rekap kurasi",
        "/rekap",
        html! {
            h2 { "Per Kanwil dan UPT" }
            table id="rekap" {
                tr {
                    th { "Kanwil" } th { "UPT" } th class="num" { "Diusulkan" } th class="num" { "Terverifikasi" }
                    th class="num" { "Disetujui" } th class="num" { "Diunggulkan" } th class="num" { "Dikembalikan" }
                    th class="num" { "Menunggu (hari)" }
                }
                @for r in &recap {
                    tr {
                        td { (r.kanwil) }
                        td { a href={ "/upt/" (urlencode(&r.upt)) } { (r.upt) } }
                        td class="num" { (thousands(r.nominated)) }
                        td class="num" { (thousands(r.verified)) }
                        td class="num" { (thousands(r.approved)) }
                        td class="num" { (thousands(r.featured)) }
                        td class="num" { (thousands(r.sent_back)) }
                        td class="num" {
                            @match &r.oldest_waiting {
                                Some(at) => (thousands(days_waiting(at))),
                                None => span class="muted" { "—" },
                            }
                        }
                    }
                }
            }
            h2 { "UPT yang belum sinkron sejak pukul 14.00 " (zone.abbreviation()) ", " (localtime::date(day)) }
            p {
                (thousands(late.len() as i64)) " UPT. Unduh: "
                a href="/rekap?format=xlsx" { "XLSX" } " · " a href="/rekap?format=csv" { "CSV" }
            }
            table id="terlambat" {
                tr { th { "Kanwil" } th { "UPT" } th { "Nama" } th { "Sinkron terakhir" } }
                @for u in &late {
                    tr {
                        td { (u.kanwil) }
                        td { a href={ "/upt/" (urlencode(&u.code)) } { (u.code) } }
                        td { (u.name) }
                        td {
                            @match &u.last_sync_at {
                                Some(at) => (localtime::format(at, zone)),
                                None => span class="stale" { "belum pernah" },
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}

/// The late list's rows as people read them: Kanwil, UPT, name, last sync (local time).
fn late_rows(late: &[UptRow], zone: Zone) -> Vec<[String; 4]> {
    late.iter()
        .map(|u| {
            [
                u.kanwil.clone(),
                u.code.clone(),
                u.name.clone(),
                u.last_sync_at
                    .as_deref()
                    .map(|at| localtime::format(at, zone))
                    .unwrap_or_else(|| "belum pernah".into()),
            ]
        })
        .collect()
}

const LATE_HEADINGS: [&str; 4] = ["Kanwil", "UPT", "Nama", "Sinkron terakhir"];

fn attachment(kind: &'static str, name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// CSV with `;` between fields (Excel with Indonesian settings opens it in columns), in
/// UTF-8 with a BOM (so Excel reads its letters as UTF-8), as the Katalog's export.
fn late_csv(late: &[UptRow], zone: Zone) -> Response {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer("\u{feff}".as_bytes().to_vec());
    let mut rows = vec![LATE_HEADINGS.map(String::from)];
    rows.extend(late_rows(late, zone));
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .map(|c| crate::lookups::neutralise(c).into_owned())
            .collect();
        if w.write_record(&cells).is_err() {
            return unavailable();
        }
    }
    match w.into_inner() {
        Ok(body) => attachment("text/csv; charset=utf-8", "upt-terlambat.csv", body),
        Err(_) => unavailable(),
    }
}

fn late_xlsx(late: &[UptRow], zone: Zone) -> Response {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let bold = Format::new().set_bold();
    let written = (|| -> Result<(), rust_xlsxwriter::XlsxError> {
        sheet.set_name("UPT terlambat")?;
        for (col, h) in LATE_HEADINGS.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, *h, &bold)?;
        }
        for (i, r) in late_rows(late, zone).iter().enumerate() {
            for (col, cell) in r.iter().enumerate() {
                sheet.write_string(i as u32 + 1, col as u16, cell)?;
            }
        }
        sheet.autofit();
        Ok(())
    })();
    match written.and_then(|()| book.save_to_buffer()) {
        Ok(body) => attachment(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "upt-terlambat.xlsx",
            body,
        ),
        Err(_) => unavailable(),
    }
}
