//! `POST /api/v1/curation/{product_id}[?upt=CODE]`: an HQ curator's decision, written into the product's
//! `curation/<UPT>` document, from where it flows down to the UPT at its next sync.

use crate::AppState;
use crate::auth::Principal;
pub use crate::decisions::{DecisionRecorded, record};
use crate::error::ApiError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use std::sync::Arc;
use tracing::instrument;

#[derive(Debug, Deserialize)]
pub struct DecisionBody {
    pub status: String,
    #[serde(default)]
    pub note: String,
}

#[instrument(skip_all, fields(product = %product_id))]
pub async fn decide(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    Path(product_id): Path<String>,
    Query(at): Query<crate::handlers::views::ProductAt>,
    body: Result<Json<DecisionBody>, JsonRejection>,
) -> Result<Json<DecisionRecorded>, ApiError> {
    if !principal.role.can_curate() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "'{}' is a {} token; curation decisions need a curator or admin token",
                principal.name,
                principal.role.name()
            ),
        ));
    }
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request(
            "bad_body",
            format!(
                "{}; send JSON like {{\"status\": \"approved\", \"note\": \"...\"}}",
                e.body_text()
            ),
        )
    })?;
    let upt = at.upt.filter(|u| !u.trim().is_empty());
    let recorded = record(&state, &principal, product_id, upt, &body.status, body.note).await?;
    Ok(Json(recorded))
}
