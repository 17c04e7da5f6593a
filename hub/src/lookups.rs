//! What the API handlers and the dashboard's pages both need: page cursors, one product by
//! id (or 409 when several UPTs share it), the figures a token may see, and CSV cells safe to
//! open. Below both, so neither reaches into the other.

use crate::error::ApiError;
use axum::http::StatusCode;
use karya_shared::views;
use serde::{Deserialize, Serialize};

/// A cursor as the API shows it: opaque, URL-safe (hex of its JSON).
pub fn encode_cursor<C: Serialize>(cursor: &C) -> String {
    hex::encode(serde_json::to_vec(cursor).unwrap_or_default())
}

pub fn decode_cursor<C: for<'de> Deserialize<'de>>(text: &str) -> Result<C, ApiError> {
    hex::decode(text)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "bad_cursor",
                "'after' is not a cursor this hub gave out; use the 'next' value of the previous page",
            )
        })
}

/// The one product at (UPT, id); with no UPT given, the one product with that id, or 409
/// naming the UPTs that share it.
pub fn one_product(
    mut rows: Vec<views::ProductRow>,
    id: &str,
    upt: Option<&str>,
) -> Result<views::ProductRow, ApiError> {
    match rows.len() {
        0 => Err(ApiError::not_found(match upt {
            Some(u) => format!("no product {id} of UPT {u} at the hub; has its UPT synced yet?"),
            None => format!("no product {id} at the hub; has its UPT synced yet?"),
        })),
        1 => Ok(rows.remove(0)),
        _ => {
            let upts: Vec<&str> = rows.iter().map(|p| p.upt.as_str()).collect();
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "ambiguous_product",
                format!(
                    "product id {id} exists in several UPTs ({}); add ?upt=CODE to say which",
                    upts.join(", ")
                ),
            ))
        }
    }
}

/// The figures a token may see: a Kanwil's token gets its Kanwil's as the "national" ones.
pub fn scoped_stats(mut stats: views::Stats, kanwil: Option<&str>) -> views::Stats {
    if let Some(k) = kanwil {
        stats.per_upt.retain(|row| row.kanwil == k);
        stats.per_kanwil.retain(|row| row.kanwil == k);
        stats.national = stats
            .per_kanwil
            .first()
            .map(|row| row.figures.clone())
            .unwrap_or_default();
    }
    stats
}

/// Who reads an export: a program (the API's CSV: field names and codes) or a person (the
/// Katalog's XLSX and CSV: headings and words in Bahasa Indonesia).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Program,
    Person,
}

/// A cell of a product export. Numbers stay numbers in a spreadsheet (sums and filters work);
/// text is already [`neutralise`]d.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    Whole(i64),
    Rupiah(i64),
}

impl Cell {
    /// The cell as CSV writes it.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Whole(n) | Cell::Rupiah(n) => n.to_string(),
        }
    }
}

/// One column of a product export: its name for programs, its heading for people, its cell.
pub struct ProductColumn {
    pub key: &'static str,
    pub heading: &'static str,
    pub cell: fn(&views::ProductRow, Reader) -> Cell,
}

fn safe(text: &str) -> Cell {
    Cell::Text(neutralise(text).into_owned())
}

/// A curation status as a curator reads it.
pub fn status_words(s: karya_shared::model::CurationStatus) -> &'static str {
    use karya_shared::model::CurationStatus;
    match s {
        CurationStatus::Nominated => "diusulkan",
        CurationStatus::InReview => "sedang ditinjau",
        CurationStatus::Approved => "disetujui",
        CurationStatus::Featured => "diunggulkan",
        CurationStatus::Rejected => "ditolak",
    }
}

/// A product's columns in every export: the API's CSV (`format=csv`) and the Katalog's XLSX
/// and CSV. One definition: a column added here is in all three.
pub const PRODUCT_COLUMNS: &[ProductColumn] = &[
    ProductColumn {
        key: "upt",
        heading: "UPT",
        cell: |p, _| Cell::Text(p.upt.clone()),
    },
    ProductColumn {
        key: "id",
        heading: "ID",
        cell: |p, _| Cell::Text(p.id.to_string()),
    },
    ProductColumn {
        key: "name",
        heading: "Nama",
        cell: |p, _| safe(&p.name),
    },
    ProductColumn {
        key: "category",
        heading: "Kategori",
        cell: |p, _| safe(&p.category),
    },
    ProductColumn {
        key: "price_idr",
        heading: "Harga (Rp)",
        cell: |p, _| Cell::Rupiah(p.price_idr),
    },
    ProductColumn {
        key: "unit",
        heading: "Satuan",
        cell: |p, _| safe(&p.unit),
    },
    ProductColumn {
        key: "stock",
        heading: "Stok",
        cell: |p, _| Cell::Whole(p.stock),
    },
    ProductColumn {
        key: "workshop",
        heading: "Bengkel kerja",
        cell: |p, _| safe(&p.workshop),
    },
    ProductColumn {
        key: "nominated",
        heading: "Diusulkan",
        cell: |p, _| Cell::Text(if p.nominated { "ya" } else { "tidak" }.into()),
    },
    ProductColumn {
        key: "curation",
        heading: "Kurasi",
        cell: |p, reader| {
            Cell::Text(
                p.curation
                    .as_ref()
                    .map(|c| match reader {
                        Reader::Program => c.status.as_str(),
                        Reader::Person => status_words(c.status),
                    })
                    .unwrap_or("")
                    .into(),
            )
        },
    },
    ProductColumn {
        key: "curation_note",
        heading: "Catatan kurasi",
        cell: |p, _| safe(p.curation.as_ref().map(|c| c.note.as_str()).unwrap_or("")),
    },
    ProductColumn {
        key: "updated_at",
        heading: "Diperbarui",
        cell: |p, _| Cell::Text(p.updated_at.clone()),
    },
];

/// A cell as a spreadsheet may safely open it: text that starts like a formula (`=`, `+`,
/// `-`, `@`, or a tab or carriage return) is prefixed with `'`, so Excel shows it as text and
/// never runs it.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_export_has_the_same_columns_named_once() {
        let mut keys: Vec<&str> = PRODUCT_COLUMNS.iter().map(|c| c.key).collect();
        let mut headings: Vec<&str> = PRODUCT_COLUMNS.iter().map(|c| c.heading).collect();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        headings.sort();
        headings.dedup();
        assert_eq!((keys.len(), headings.len()), (n, n), "a column named twice");
        let csv = crate::handlers::views::products_csv(&[], true).unwrap();
        let header = String::from_utf8(csv).unwrap();
        let names: Vec<&str> = PRODUCT_COLUMNS.iter().map(|c| c.key).collect();
        assert_eq!(header.trim_end(), names.join(","));
    }
}
