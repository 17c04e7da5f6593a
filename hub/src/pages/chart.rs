//! Charts as server-rendered SVG: no script, readable without colour (each bar carries its
//! figure), and drawn the same in every browser.

use maud::{Markup, html};

/// One bar: its label, its value, and the value as people read it.
pub struct Bar {
    pub label: String,
    pub value: i64,
    pub shown: String,
}

const WIDTH: i64 = 860;
const LABEL: i64 = 200;
const FIGURE: i64 = 260;
const ROW: i64 = 24;

/// A horizontal bar chart titled `title` (its accessible name too).
pub fn bars(id: &str, title: &str, rows: &[Bar]) -> Markup {
    let max = rows.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let span = WIDTH - LABEL - FIGURE;
    let height = ROW * rows.len().max(1) as i64 + 8;
    html! {
        figure class="chart" {
            figcaption { strong { (title) } }
            @if rows.is_empty() {
                p class="muted" { "Belum ada data." }
            } @else {
                svg id=(id) xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(title)
                    width=(WIDTH) height=(height) viewBox={ "0 0 " (WIDTH) " " (height) } {
                    title { (title) }
                    @for (i, b) in rows.iter().enumerate() {
                        @let y = 4 + ROW * i as i64;
                        @let w = (b.value.max(0) as i128 * span as i128 / max as i128) as i64;
                        text x=(LABEL - 8) y=(y + 16) text-anchor="end" font-size="13" { (truncate(&b.label, 28)) }
                        rect x=(LABEL) y=(y + 3) width=(w.max(1)) height=(ROW - 8) fill="#2f6f9f" {}
                        text x=(LABEL + w + 6) y=(y + 16) font-size="13" { (b.shown) }
                    }
                }
            }
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_escape_their_labels() {
        let svg = bars(
            "c",
            "Produk per Kanwil",
            &[
                Bar {
                    label: "Jawa <Tengah>".into(),
                    value: 200,
                    shown: "200".into(),
                },
                Bar {
                    label: "Bali".into(),
                    value: 50,
                    shown: "50".into(),
                },
            ],
        )
        .into_string();
        let span = WIDTH - LABEL - FIGURE;
        assert!(svg.contains(&format!("width=\"{span}\"")), "{svg}");
        assert!(svg.contains(&format!("width=\"{}\"", span / 4)), "{svg}");
        assert!(svg.contains("Jawa &lt;Tengah&gt;") && !svg.contains("<Tengah>"));
        assert!(
            bars("e", "Kosong", &[])
                .into_string()
                .contains("Belum ada data")
        );
    }
}
