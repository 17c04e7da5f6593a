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
    // A query on a read connection proves the database answers, not just the process; it
    // never waits for a sync in progress.
    state.blocking(|db| db.ping()).await??;
    Ok(Json(
        serde_json::json!({ "status": "ok", "version": karya_shared::VERSION }),
    ))
}

#[instrument(skip_all, err)]
pub async fn metrics(State(state): State<Arc<AppState>>) -> Result<impl IntoResponse, ApiError> {
    let last = state.blocking(|db| db.last_syncs()).await??;
    let body = state.metrics.render(&last);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body))
}
