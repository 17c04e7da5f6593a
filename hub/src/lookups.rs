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

/// A cell as a spreadsheet may safely open it: text that starts like a formula (`=`, `+`,
/// `-`, `@`, or a tab or carriage return) is prefixed with `'`, so Excel shows it as text and
/// never runs it.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}
