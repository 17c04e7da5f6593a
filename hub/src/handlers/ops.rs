//! Health and metrics, for the admin's monitoring. Neither needs a token nor shows anything
//! but UPT codes and counters.

use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use std::sync::Arc;
use tracing::instrument;

#[instrument(skip_all, err)]
pub async fn healthz(State(state): State<Arc<AppState>>) -> Result<impl IntoResponse, ApiError> {
    // A query through the store proves the database answers, not just the process.
    state
        .with_store(|store| {
            store
                .conn()
                .query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
        })
        .await??;
    Ok(Json(
        serde_json::json!({ "status": "ok", "version": karya_shared::VERSION }),
    ))
}

#[instrument(skip_all, err)]
pub async fn metrics(State(state): State<Arc<AppState>>) -> Result<impl IntoResponse, ApiError> {
    let last = state
        .with_store(|store| -> rusqlite::Result<Vec<(String, i64)>> {
            let mut stmt = store.conn().prepare(
                "SELECT upt, CAST(strftime('%s', last_sync_at) AS INTEGER) FROM upt_status
                 WHERE last_sync_at IS NOT NULL ORDER BY upt",
            )?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .await??;
    let body = state.metrics.render(&last);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body))
}
