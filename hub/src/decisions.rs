//! Recording a curator's decision: written into the owning UPT's `curation/<UPT>` document,
//! from where it flows down at the UPT's next sync, under the deciding token. The API
//! (`POST /api/v1/curation/…`) and the dashboard's forms both come here.

use crate::AppState;
use crate::access::Principal;
use crate::error::ApiError;
use crate::lookups::one_product;
use axum::http::StatusCode;
use karya_shared::model::{CurationDecision, ValidationError, now_rfc3339};
use karya_shared::schema::{self, DocId};
use karya_shared::store::Origin;
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Serialize)]
pub struct DecisionRecorded {
    pub upt: String,
    pub decision: CurationDecision,
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
