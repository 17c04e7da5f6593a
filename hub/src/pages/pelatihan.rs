//! Pelatihan (`/pelatihan`): completion rates per Kanwil and per category, and the programmes
//! (filtered by Kanwil and category, in keyset pages of 50). Participants are counted, never
//! named: names and registration numbers never leave the UPT.

use super::ringkasan::urlencode;
use super::{Curator, page, unavailable};
use crate::AppState;
use crate::db::CategoryCompletion;
use crate::lookups::{decode_cursor, encode_cursor, scoped_stats};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use karya_shared::localtime::{self, thousands};
use karya_shared::views::{Page, Stats, TrainingCursor, TrainingRow};
use maud::{Markup, html};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Debug, Deserialize, Default)]
pub struct TrainingQuery {
    #[serde(default)]
    kanwil: String,
    #[serde(default)]
    kategori: String,
    #[serde(default)]
    after: String,
}

/// A share as people read it: `67,5%`; `—` when there is nothing to divide.
fn rate(done: i64, of: i64) -> String {
    if of <= 0 {
        return "—".into();
    }
    format!(
        "{}%",
        karya_shared::text::decimal(done as f64 * 100.0 / of as f64, 1)
    )
}

/// One row of a completion table: what it counts, and the page's filter for it.
struct Completion<'a> {
    label: &'a str,
    link: String,
    trainings: i64,
    participants: i64,
    completed: i64,
}

fn completion_table<'a>(
    id: &str,
    first: &str,
    rows: impl Iterator<Item = Completion<'a>>,
) -> Markup {
    html! {
        table id=(id) {
            tr { th { (first) } th class="num" { "Pelatihan" } th class="num" { "Peserta" } th class="num" { "Lulus" } th class="num" { "Tingkat kelulusan" } }
            @for r in rows {
                tr {
                    td { a href={ "/pelatihan?" (r.link) } { (r.label) } }
                    td class="num" { (thousands(r.trainings)) }
                    td class="num" { (thousands(r.participants)) }
                    td class="num" { (thousands(r.completed)) }
                    td class="num" { (rate(r.completed, r.participants)) }
                }
            }
        }
    }
}

struct View {
    stats: Stats,
    per_category: Vec<CategoryCompletion>,
    page: Page<TrainingRow, TrainingCursor>,
}

pub async fn pelatihan(
    State(state): State<Arc<AppState>>,
    who: Curator,
    Query(q): Query<TrainingQuery>,
) -> Response {
    let after: Option<TrainingCursor> = match q.after.trim() {
        "" => None,
        a => match decode_cursor(a) {
            Ok(c) => Some(c),
            Err(e) => return e.into_response(),
        },
    };
    let scope = who.principal.kanwil.clone();
    let kanwil = scope
        .clone()
        .or_else(|| Some(q.kanwil.trim().to_string()).filter(|k| !k.is_empty()));
    let category = Some(q.kategori.trim().to_string()).filter(|k| !k.is_empty());
    let read = state
        .blocking(move |db| -> Result<View, karya_shared::StoreError> {
            Ok(View {
                stats: db.stats()?,
                per_category: db.completion_per_category(scope.as_deref())?,
                page: db.trainings_page(
                    None,
                    category.as_deref(),
                    kanwil.as_deref(),
                    after.as_ref(),
                    50,
                )?,
            })
        })
        .await;
    let Ok(Ok(v)) = read else {
        return unavailable();
    };
    let stats = scoped_stats(v.stats, who.principal.kanwil.as_deref());
    let query = format!(
        "kanwil={}&kategori={}",
        urlencode(&q.kanwil),
        urlencode(&q.kategori)
    );
    page(
        Some(&who),
        "Pelatihan",
        "/pelatihan",
        html! {
            h2 { "Kelulusan per Kanwil" }
            (completion_table("per-kanwil", "Kanwil", stats.per_kanwil.iter().map(|k| Completion {
                label: &k.kanwil,
                link: format!("kanwil={}", urlencode(&k.kanwil)),
                trainings: k.figures.trainings,
                participants: k.figures.participants,
                completed: k.figures.completions,
            })))
            h2 { "Kelulusan per kategori" }
            (completion_table("per-kategori", "Kategori", v.per_category.iter().map(|c| Completion {
                label: &c.category,
                link: format!("kategori={}", urlencode(&c.category)),
                trainings: c.trainings,
                participants: c.participants,
                completed: c.completed,
            })))
            h2 { "Program" }
            p {
                (thousands(v.page.total)) " pelatihan"
                @if !q.kanwil.is_empty() { " di Kanwil " (q.kanwil) }
                @if !q.kategori.is_empty() { ", kategori " (q.kategori) }
                @if !q.kanwil.is_empty() || !q.kategori.is_empty() { " · " a href="/pelatihan" { "semua" } }
            }
            table id="program" {
                tr { th { "UPT" } th { "Program" } th { "Kategori" } th { "Mulai" } th { "Selesai" } th class="num" { "Jam" } th { "Mitra" } th class="num" { "Peserta" } th class="num" { "Lulus" } }
                @for t in &v.page.items {
                    tr {
                        td { a href={ "/upt/" (urlencode(&t.upt)) } { (t.upt) } }
                        td { (t.program) }
                        td { (t.category) }
                        td { (localtime::date(t.start_date)) }
                        td { (localtime::date(t.end_date)) }
                        td class="num" { (thousands(t.hours)) }
                        td { (t.partner) }
                        td class="num" { (thousands(t.participants)) }
                        td class="num" { (thousands(t.completed)) }
                    }
                }
            }
            @if let Some(next) = &v.page.next {
                p { a href={ "/pelatihan?" (query) "&after=" (encode_cursor(next)) } { "Halaman berikutnya →" } }
            }
        },
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_rate_reads_the_indonesian_way() {
        assert_eq!(super::rate(27, 40), "67,5%");
        assert_eq!(super::rate(0, 0), "—");
    }
}
