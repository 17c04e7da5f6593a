//! The national view: UPTs, products, trainings, statistics. Read from the materialized
//! tables on the read pool; no document is loaded to answer these, and no read waits for a
//! sync. Lists come in keyset pages (`limit`, `after`); the CSV export streams the whole
//! filtered list a page at a time.

use crate::AppState;
use crate::auth::Principal;
use crate::db::UptRow;
use crate::error::ApiError;
use crate::lookups::{PRODUCT_COLUMNS, Reader};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use karya_shared::views::{self, Page, ProductCursor, ProductFilter, TrainingCursor};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tracing::instrument;

/// Items per page unless `limit` says otherwise, and the most `limit` may ask.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

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

#[instrument(skip_all)]
pub async fn upts(
    State(state): State<Arc<AppState>>,
    principal: Principal,
) -> Result<Json<Vec<UptRow>>, ApiError> {
    require_read(&principal)?;
    let hours = state.config.stale_after_hours;
    let mut rows = state.blocking(move |db| db.upt_rows(hours)).await??;
    if let Some(k) = &principal.kanwil {
        rows.retain(|u| &u.kanwil == k);
    }
    Ok(Json(rows))
}

#[derive(Debug, Deserialize, Default)]
pub struct ProductQuery {
    pub upt: Option<String>,
    pub category: Option<String>,
    pub curation: Option<String>,
    pub format: Option<String>,
    pub limit: Option<usize>,
    pub after: Option<String>,
}

pub use crate::lookups::{decode_cursor, encode_cursor, neutralise, one_product, scoped_stats};

fn blank_to_none(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

pub fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        0 => Err(ApiError::bad_request(
            "bad_limit",
            format!("limit must be 1 to {MAX_LIMIT}"),
        )),
        n if n > MAX_LIMIT => Err(ApiError::bad_request(
            "bad_limit",
            format!(
                "limit {n} is above the most a page holds ({MAX_LIMIT}); follow 'next' for more"
            ),
        )),
        n => Ok(n),
    }
}

/// A page as the API answers it.
#[derive(Debug, Serialize)]
pub struct PageBody<T> {
    pub items: Vec<T>,
    pub total: i64,
    /// Pass as `after` for the next page; `null` on the last one.
    pub next: Option<String>,
}

fn page_body<T, C: Serialize>(page: Page<T, C>) -> PageBody<T> {
    PageBody {
        next: page.next.as_ref().map(encode_cursor),
        items: page.items,
        total: page.total,
    }
}

#[instrument(skip_all)]
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
        // A Kanwil's token lists its Kanwil's products only.
        kanwil: principal.kanwil.clone(),
        ..Default::default()
    };
    match q.format.as_deref() {
        None | Some("json") => {
            let limit = page_limit(q.limit)?;
            let after: Option<ProductCursor> = blank_to_none(q.after)
                .map(|a| decode_cursor(&a))
                .transpose()?;
            let page = state
                .blocking(move |db| db.products_page(&filter, after.as_ref(), limit))
                .await??;
            Ok(Json(page_body(page)).into_response())
        }
        Some("csv") => Ok(products_csv_stream(state, filter)),
        Some(other) => Err(ApiError::bad_request(
            "bad_format",
            format!("format '{other}' is not known; use json or csv"),
        )),
    }
}

/// The whole filtered catalogue as CSV, read and sent a page at a time: memory stays at one
/// page whatever the size of the country.
fn products_csv_stream(state: Arc<AppState>, filter: ProductFilter) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
    tokio::task::spawn_blocking(move || {
        let mut after: Option<ProductCursor> = None;
        let mut first = true;
        loop {
            let (items, next) = match state.db.products_after(&filter, after.as_ref(), MAX_LIMIT) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "CSV export stopped");
                    let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                    return;
                }
            };
            let chunk = match products_csv(&items, first) {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                    return;
                }
            };
            first = false;
            if tx.blocking_send(Ok(chunk)).is_err() {
                return; // the client went away
            }
            match next {
                Some(next) => after = Some(next),
                None => return,
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"produk-nasional.csv\"",
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// Products as the API's CSV: the columns of [`PRODUCT_COLUMNS`], named for programs.
pub fn products_csv(rows: &[views::ProductRow], header_row: bool) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if header_row {
        w.write_record(PRODUCT_COLUMNS.iter().map(|c| c.key))?;
    }
    for p in rows {
        w.write_record(
            PRODUCT_COLUMNS
                .iter()
                .map(|c| (c.cell)(p, Reader::Program).text()),
        )?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[derive(Debug, Deserialize, Default)]
pub struct ProductAt {
    /// The owning UPT, when the id alone names products in several UPTs.
    pub upt: Option<String>,
}

#[instrument(skip_all)]
pub async fn product(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    Path(id): Path<String>,
    Query(at): Query<ProductAt>,
) -> Result<Json<views::ProductRow>, ApiError> {
    require_read(&principal)?;
    let upt = blank_to_none(at.upt);
    let (lookup, scope) = (id.clone(), upt.clone());
    let kanwil = principal.kanwil.clone();
    let rows = state
        .blocking(move |db| -> Result<_, karya_shared::StoreError> {
            let mut rows = db.products_by_id(&lookup, scope.as_deref())?;
            if let Some(k) = &kanwil {
                let mut mine = Vec::new();
                for p in rows {
                    if db.kanwil_of(&p.upt)?.as_deref() == Some(k.as_str()) {
                        mine.push(p);
                    }
                }
                rows = mine;
            }
            Ok(rows)
        })
        .await??;
    one_product(rows, &id, upt.as_deref()).map(Json)
}

#[derive(Debug, Deserialize)]
pub struct TrainingQuery {
    pub upt: Option<String>,
    pub category: Option<String>,
    pub limit: Option<usize>,
    pub after: Option<String>,
}

#[instrument(skip_all)]
pub async fn trainings(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    Query(q): Query<TrainingQuery>,
) -> Result<Json<PageBody<views::TrainingRow>>, ApiError> {
    require_read(&principal)?;
    let limit = page_limit(q.limit)?;
    let after: Option<TrainingCursor> = blank_to_none(q.after)
        .map(|a| decode_cursor(&a))
        .transpose()?;
    let (upt, category) = (blank_to_none(q.upt), blank_to_none(q.category));
    let kanwil = principal.kanwil.clone();
    let page = state
        .blocking(move |db| {
            db.trainings_page(
                upt.as_deref(),
                category.as_deref(),
                kanwil.as_deref(),
                after.as_ref(),
                limit,
            )
        })
        .await??;
    Ok(Json(page_body(page)))
}

#[instrument(skip_all)]
pub async fn stats(
    State(state): State<Arc<AppState>>,
    principal: Principal,
) -> Result<Json<views::Stats>, ApiError> {
    require_read(&principal)?;
    let stats = state.blocking(|db| db.stats()).await??;
    Ok(Json(scoped_stats(stats, principal.kanwil.as_deref())))
}

#[derive(Debug, Deserialize)]
pub struct AuditParams {
    pub upt: Option<String>,
    pub since: Option<String>,
    pub limit: Option<usize>,
    pub after: Option<i64>,
}

/// `GET /api/v1/audit`: the change log, for admins only, oldest first, in keyset pages
/// (`after` is the `next` of the previous page).
#[instrument(skip_all)]
pub async fn audit(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    Query(q): Query<AuditParams>,
) -> Result<Json<crate::db::AuditPage>, ApiError> {
    if principal.role != crate::auth::Role::Admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the audit is for the hub admin; use an admin token (karya-hub token issue --role admin --name NAME)",
        ));
    }
    let query = crate::db::AuditQuery {
        upt: blank_to_none(q.upt),
        since: blank_to_none(q.since)
            .map(|s| crate::audit::parse_since(&s, state.config.zone()))
            .transpose()
            .map_err(|e| ApiError::bad_request("bad_since", e))?,
        after: q.after.unwrap_or(0).max(0),
        limit: page_limit(q.limit)?,
    };
    Ok(Json(state.blocking(move |db| db.audit(&query)).await??))
}
