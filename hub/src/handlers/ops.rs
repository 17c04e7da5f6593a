//! Health and metrics, for the admin's monitoring. Neither needs a token nor shows anything
//! but UPT codes and counters.

use crate::AppState;
use crate::error::ApiError;
use crate::metrics::Snapshot;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tracing::instrument;

#[instrument(skip_all)]
pub async fn healthz(State(state): State<Arc<AppState>>) -> Result<impl IntoResponse, ApiError> {
    // A query on a read connection proves the database answers, not just the process; it
    // never waits for a sync in progress.
    state.blocking(|db| db.ping()).await??;
    // Alive and answering, but unable to store a sync (a full disk): "degraded", with why.
    // Still 200: restarting the process would not free the disk (`/readyz` answers 503).
    let problems = state.storage_problems();
    let status = if problems.is_empty() {
        "ok"
    } else {
        "degraded"
    };
    Ok(Json(
        serde_json::json!({ "status": status, "problems": problems, "version": karya_shared::VERSION }),
    ))
}

/// Ready to take syncs (see [`AppState::readiness`]): 200, or 503 with the problems. For a
/// load balancer or an orchestrator; touches no database connection.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let r = state.readiness();
    let status = if r.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(r)).into_response()
}

#[instrument(skip_all)]
pub async fn metrics(State(state): State<Arc<AppState>>) -> Result<impl IntoResponse, ApiError> {
    let hours = state.config.stale_after_hours;
    // The disk this process writes to: the database's (SQLite), or the photos' (PostgreSQL:
    // the server's disk is watched on the server).
    let disk = if state.config.is_postgres() {
        state.config.blobs_path()
    } else {
        state.config.db.clone()
    };
    let looking = state.clone();
    let mut snap = state
        .blocking(move |db| -> Result<Snapshot, ApiError> {
            let rebuild = match db.rebuilding_since()? {
                Some(_) => {
                    Some(crate::rebuild::report(db, &looking.blobs).map_err(ApiError::internal)?)
                }
                None => None,
            };
            Ok(Snapshot {
                last_syncs: db.last_syncs()?,
                stale_upts: db.stale_upts(hours)?,
                db_bytes: db.database_bytes()?,
                disk_free_bytes: crate::disk_free(&disk),
                rebuild,
                ..Snapshot::default()
            })
        })
        .await??;
    (snap.docs_from_disk, snap.docs_from_cache) = state.db.replica().cache_counts();
    let body = state.metrics.render(&snap);
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    ))
}
