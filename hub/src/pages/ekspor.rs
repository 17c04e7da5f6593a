//! Export of the catalogue as the curator filtered it (`/katalog/ekspor?…&format=xlsx|csv`):
//! every product the filters match, not only the page on screen. XLSX with typed cells
//! (numbers are numbers) from a worksheet kept on disk while it is written (rust_xlsxwriter's
//! constant-memory mode); CSV in UTF-8 with a BOM (so Excel reads the accents), separated by
//! `;` (Excel with Indonesian settings) or `,`. Text that starts like a formula (`=`, `+`,
//! `-`, `@`) is neutralised in both.

use super::katalog::{Filters, status_words};
use super::{Curator, unavailable};
use crate::AppState;
use crate::lookups::neutralise;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use karya_shared::views::{ProductCursor, ProductFilter, ProductRow};
use std::sync::Arc;

/// Products read from the database at a time.
const CHUNK: usize = 1000;

const HEADERS: [&str; 12] = [
    "UPT",
    "ID",
    "Nama",
    "Kategori",
    "Harga (Rp)",
    "Satuan",
    "Stok",
    "Bengkel kerja",
    "Diusulkan",
    "Kurasi",
    "Catatan kurasi",
    "Diperbarui",
];

#[derive(Debug, serde::Deserialize, Default)]
pub struct Format {
    #[serde(default)]
    format: String,
    /// The CSV separator: `;` (default) or `,`.
    #[serde(default)]
    pemisah: String,
}

/// Every product `filter` matches, a chunk at a time, to `each`.
fn for_each_product(
    state: &AppState,
    filter: &ProductFilter,
    mut each: impl FnMut(&ProductRow) -> Result<(), String>,
) -> Result<(), String> {
    let mut after: Option<ProductCursor> = None;
    loop {
        let (items, next) = state
            .db
            .products_after(filter, after.as_ref(), CHUNK)
            .map_err(|e| e.to_string())?;
        for p in &items {
            each(p)?;
        }
        match next {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

fn texts(p: &ProductRow) -> [String; 12] {
    let curation = p.curation.as_ref();
    [
        p.upt.clone(),
        p.id.to_string(),
        neutralise(&p.name).into_owned(),
        neutralise(&p.category).into_owned(),
        p.price_idr.to_string(),
        neutralise(&p.unit).into_owned(),
        p.stock.to_string(),
        neutralise(&p.workshop).into_owned(),
        if p.nominated { "ya" } else { "tidak" }.into(),
        curation
            .map(|c| status_words(c.status))
            .unwrap_or("")
            .into(),
        neutralise(curation.map(|c| c.note.as_str()).unwrap_or("")).into_owned(),
        p.updated_at.clone(),
    ]
}

fn xlsx(state: &AppState, filter: &ProductFilter) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0");
    let sheet = book.add_worksheet_with_constant_memory();
    sheet.set_name("Produk").map_err(|e| e.to_string())?;
    for (c, h) in HEADERS.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, *h, &bold)
            .map_err(|e| e.to_string())?;
    }
    let mut row = 0u32;
    for_each_product(state, filter, |p| {
        row += 1;
        let cells = texts(p);
        for (c, text) in cells.iter().enumerate() {
            let col = c as u16;
            let written = match c {
                // Price and stock are numbers, so sums and filters work in Excel.
                4 => sheet.write_number_with_format(row, col, p.price_idr as f64, &money),
                6 => sheet.write_number(row, col, p.stock as f64),
                _ => sheet.write_string(row, col, text),
            };
            written.map_err(|e| e.to_string())?;
        }
        Ok(())
    })?;
    sheet.autofilter(0, 0, row, 11).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    book.save_to_writer(std::io::Cursor::new(&mut out))
        .map_err(|e| e.to_string())?;
    Ok(out)
}

fn csv(state: &AppState, filter: &ProductFilter, delimiter: u8) -> Result<Vec<u8>, String> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(Vec::new());
    w.write_record(HEADERS).map_err(|e| e.to_string())?;
    for_each_product(state, filter, |p| {
        w.write_record(texts(p)).map_err(|e| e.to_string())
    })?;
    let body = w.into_inner().map_err(|e| e.to_string())?;
    let mut out = "\u{feff}".as_bytes().to_vec();
    out.extend(body);
    Ok(out)
}

pub async fn ekspor(
    State(state): State<Arc<AppState>>,
    who: Curator,
    Query(f): Query<Filters>,
    Query(fmt): Query<Format>,
) -> Response {
    let filter = f.filter(&who);
    let xlsx_wanted = fmt.format != "csv";
    let delimiter = if fmt.pemisah == "," { b',' } else { b';' };
    let made = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || {
            if xlsx_wanted {
                xlsx(&state, &filter)
            } else {
                csv(&state, &filter, delimiter)
            }
        })
        .await
    };
    match made {
        Ok(Ok(bytes)) => {
            let (kind, name) = if xlsx_wanted {
                (
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "katalog-karya.xlsx",
                )
            } else {
                ("text/csv; charset=utf-8", "katalog-karya.csv")
            };
            (
                [
                    (header::CONTENT_TYPE, kind.to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                ],
                bytes,
            )
                .into_response()
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "catalogue export failed");
            unavailable()
        }
        Err(_) => unavailable(),
    }
}
