//! The national view: UPTs, products, trainings, statistics. Read from the materialized
//! tables; no document is loaded to answer these.

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use karya_shared::views::{self, ProductFilter};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tracing::instrument;

pub fn require_read(p: &Principal) -> Result<(), ApiError> {
    if p.role.can_read() {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "agent tokens may only sync; use a viewer, curator or admin token for the national view",
    ))
}

#[derive(Debug, Clone, Serialize)]
pub struct UptRow {
    pub code: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub kanwil: String,
    pub last_sync_at: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_agent_version: Option<String>,
    /// No successful sync within the configured window (or never).
    pub stale: bool,
    pub products: i64,
    pub sales: i64,
    pub trainings: i64,
    pub participants: i64,
}

pub fn upt_rows(conn: &Connection, stale_after_hours: i64) -> rusqlite::Result<Vec<UptRow>> {
    let mut stmt = conn.prepare(
        "SELECT u.code, u.name, u.type, u.kanwil, s.last_sync_at, s.last_attempt_at, s.last_agent_version,
           (s.last_sync_at IS NULL OR (julianday('now') - julianday(s.last_sync_at)) * 24.0 > ?1),
           (SELECT COUNT(*) FROM products p WHERE p.upt = u.code AND p.deleted = 0),
           (SELECT COUNT(*) FROM sales x WHERE x.upt = u.code),
           (SELECT COUNT(*) FROM trainings t WHERE t.upt = u.code AND t.deleted = 0),
           (SELECT COUNT(*) FROM participants x WHERE x.upt = u.code)
         FROM upts u LEFT JOIN upt_status s ON s.upt = u.code ORDER BY u.kanwil, u.code",
    )?;
    stmt.query_map([stale_after_hours], |r| {
        Ok(UptRow {
            code: r.get(0)?,
            name: r.get(1)?,
            kind: r.get(2)?,
            kanwil: r.get(3)?,
            last_sync_at: r.get(4)?,
            last_attempt_at: r.get(5)?,
            last_agent_version: r.get(6)?,
            stale: r.get(7)?,
            products: r.get(8)?,
            sales: r.get(9)?,
            trainings: r.get(10)?,
            participants: r.get(11)?,
        })
    })?
    .collect()
}

#[instrument(skip_all, err)]
pub async fn upts(
    State(state): State<Arc<AppState>>,
    principal: Principal,
) -> Result<Json<Vec<UptRow>>, ApiError> {
    require_read(&principal)?;
    let hours = state.config.stale_after_hours;
    Ok(Json(
        state
            .with_store(move |s| upt_rows(s.conn(), hours))
            .await??,
    ))
}

#[derive(Debug, Deserialize, Default)]
pub struct ProductQuery {
    pub upt: Option<String>,
    pub category: Option<String>,
    pub curation: Option<String>,
    pub format: Option<String>,
}

fn blank_to_none(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

#[instrument(skip_all, err)]
pub async fn products(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    Query(q): Query<ProductQuery>,
) -> Result<Response, ApiError> {
    require_read(&principal)?;
    let filter = ProductFilter {
        upt: blank_to_none(q.upt),
        category: blank_to_none(q.category),
        curation: blank_to_none(q.curation),
        include_deleted: false,
    };
    let rows = state
        .with_store(move |s| views::products(s.conn(), &filter))
        .await??;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(rows).into_response()),
        Some("csv") => {
            let csv = products_csv(&rows).map_err(ApiError::internal)?;
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"produk-nasional.csv\"",
                    ),
                ],
                csv,
            )
                .into_response())
        }
        Some(other) => Err(ApiError::bad_request(
            "bad_format",
            format!("format '{other}' is not known; use json or csv"),
        )),
    }
}

pub fn products_csv(rows: &[views::ProductRow]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "upt",
        "id",
        "name",
        "category",
        "price_idr",
        "unit",
        "stock",
        "workshop",
        "nominated",
        "curation",
        "updated_at",
    ])?;
    for p in rows {
        w.write_record([
            p.upt.as_str(),
            &p.id,
            &p.name,
            &p.category,
            &p.price_idr.to_string(),
            &p.unit,
            &p.stock.to_string(),
            &p.workshop,
            if p.nominated { "ya" } else { "tidak" },
            p.curation.as_ref().map(|c| c.status.as_str()).unwrap_or(""),
            &p.updated_at,
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[instrument(skip_all, err)]
pub async fn product(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<views::ProductRow>, ApiError> {
    require_read(&principal)?;
    let lookup = id.clone();
    state
        .with_store(move |s| views::product(s.conn(), &lookup))
        .await??
        .map(Json)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no product {id} at the hub; has its UPT synced yet?"
            ))
        })
}

#[derive(Debug, Deserialize)]
pub struct TrainingQuery {
    pub upt: Option<String>,
    pub category: Option<String>,
}

#[instrument(skip_all, err)]
pub async fn trainings(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    Query(q): Query<TrainingQuery>,
) -> Result<Json<Vec<views::TrainingRow>>, ApiError> {
    require_read(&principal)?;
    let (upt, category) = (blank_to_none(q.upt), blank_to_none(q.category));
    Ok(Json(
        state
            .with_store(move |s| views::trainings(s.conn(), upt.as_deref(), category.as_deref()))
            .await??,
    ))
}

#[instrument(skip_all, err)]
pub async fn stats(
    State(state): State<Arc<AppState>>,
    principal: Principal,
) -> Result<Json<views::Stats>, ApiError> {
    require_read(&principal)?;
    Ok(Json(state.with_store(|s| views::stats(s.conn())).await??))
}
