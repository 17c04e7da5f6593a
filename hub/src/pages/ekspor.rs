//! Export of the catalogue as the curator filtered it (`/katalog/ekspor?…&format=xlsx|csv`):
//! every product the filters match, not only the page on screen. XLSX with typed cells
//! (numbers are numbers) from a worksheet kept on disk while it is written (rust_xlsxwriter's
//! constant-memory mode); CSV in UTF-8 with a BOM (so Excel reads the accents), separated by
//! `;` (Excel with Indonesian settings) or `,`. Text that starts like a formula (`=`, `+`,
//! `-`, `@`) is neutralised in both.

use super::katalog::Filters;
use super::{Curator, unavailable};
use crate::AppState;
use crate::lookups::{Cell, PRODUCT_COLUMNS, Reader};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use karya_shared::views::{ProductCursor, ProductFilter, ProductRow};
use std::sync::Arc;

/// Products read from the database at a time.
const CHUNK: usize = 1000;

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

fn xlsx(state: &AppState, filter: &ProductFilter) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0");
    let sheet = book.add_worksheet_with_constant_memory();
    sheet.set_name("Produk").map_err(|e| e.to_string())?;
    for (c, column) in PRODUCT_COLUMNS.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, column.heading, &bold)
            .map_err(|e| e.to_string())?;
    }
    let mut row = 0u32;
    for_each_product(state, filter, |p| {
        row += 1;
        for (c, column) in PRODUCT_COLUMNS.iter().enumerate() {
            let col = c as u16;
            // Numbers are numbers, so sums and filters work in Excel.
            let written = match (column.cell)(p, Reader::Person) {
                Cell::Rupiah(n) => sheet.write_number_with_format(row, col, n as f64, &money),
                Cell::Whole(n) => sheet.write_number(row, col, n as f64),
                Cell::Text(t) => sheet.write_string(row, col, t),
            };
            written.map_err(|e| e.to_string())?;
        }
        Ok(())
    })?;
    let last = (PRODUCT_COLUMNS.len() - 1) as u16;
    sheet
        .autofilter(0, 0, row, last)
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    book.save_to_writer(std::io::Cursor::new(&mut out))
        .map_err(|e| e.to_string())?;
    Ok(out)
}

fn csv(state: &AppState, filter: &ProductFilter, delimiter: u8) -> Result<Vec<u8>, String> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(Vec::new());
    w.write_record(PRODUCT_COLUMNS.iter().map(|c| c.heading))
        .map_err(|e| e.to_string())?;
    for_each_product(state, filter, |p| {
        w.write_record(
            PRODUCT_COLUMNS
                .iter()
                .map(|c| (c.cell)(p, Reader::Person).text()),
        )
        .map_err(|e| e.to_string())
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
