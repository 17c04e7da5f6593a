//! `POST /api/v1/curation/{product_id}[?upt=CODE]`: an HQ curator's decision, written into the product's
//! `curation/<UPT>` document, from where it flows down to the UPT at its next sync.

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::handlers::views::one_product;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use karya_shared::model::{CurationDecision, ValidationError, now_rfc3339};
use karya_shared::schema::{self, DocId};
use karya_shared::store::Origin;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tracing::instrument;

#[derive(Debug, Deserialize)]
pub struct DecisionBody {
    pub status: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Serialize)]
pub struct DecisionRecorded {
    pub upt: String,
    pub decision: CurationDecision,
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

/// Writes a curator's decision into the owning UPT's `curation/<UPT>` document (the API and
/// the dashboard's form both come here).
pub async fn record(
    state: &Arc<AppState>,
    principal: &Principal,
    product_id: String,
    upt: Option<String>,
    status: &str,
    note: String,
) -> Result<DecisionRecorded, ApiError> {
    let invalid = |e: ValidationError| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
    };
    let decision = CurationDecision {
        product_id: product_id.into(),
        status: status.trim().parse().map_err(invalid)?,
        note,
        decided_by: principal.name.clone(),
        decided_at: now_rfc3339(),
    };
    decision.validate().map_err(invalid)?;
    let token_id = principal.token_id.clone();
    let scope = principal.clone();
    let recorded = state
        .blocking(move |db| -> Result<DecisionRecorded, ApiError> {
            // The decision lands in the owning UPT's curation document, never in "one of"
            // two UPTs that share an id.
            let rows = db.products_by_id(&decision.product_id, upt.as_deref())?;
            let product = one_product(rows, &decision.product_id, upt.as_deref())?;
            // A Kanwil's curator decides on its Kanwil's products only.
            scope.may_see(db.kanwil_of(&product.upt)?.as_deref(), "such product")?;
            // Entered in the audit under the curator's token.
            let origin = Origin {
                peer: "curator",
                token: &token_id,
            };
            db.replica()
                .change_as(&DocId::Curation(product.upt.clone()), origin, |d| {
                    schema::put_decision(d, &decision)
                })?;
            // The history is kept beside the document; a decision whose history row cannot
            // be written is still made (the document is what reaches the UPT).
            if let Err(e) = db.log_decision(&product.upt, &decision) {
                tracing::warn!(error = %e, "a curation decision was not added to its history");
            }
            Ok(DecisionRecorded {
                upt: product.upt,
                decision,
            })
        })
        .await??;
    state.metrics.curation_decisions.inc();
    tracing::info!(upt = %recorded.upt, status = %recorded.decision.status, by = %recorded.decision.decided_by, "curation decision");
    Ok(recorded)
}
