//! Recording a curator's decision: written into the owning UPT's `curation/<UPT>` document,
//! from where it flows down at the UPT's next sync, under the deciding token. The API
//! (`POST /api/v1/curation/…`) and the dashboard's forms both come here.
//!
//! Two levels decide. A curator token limited to one Kanwil is that Kanwil's verifier: it
//! verifies its UPTs' nominated products (on to HQ's queue) or sends them back with a note.
//! A curator token of no Kanwil is HQ's: it decides on what the Kanwils verified, and on an
//! unverified product only with a reason (the decision says so). Each decision records the
//! product's values it was made on.

use crate::AppState;
use crate::access::Principal;
use crate::error::ApiError;
use crate::lookups::one_product;
use axum::http::StatusCode;
use karya_shared::model::{
    CurationDecision, CurationStatus, ValidationError, Verification, VerificationStatus,
};
use karya_shared::schema::{self, DocId};
use karya_shared::store::Origin;
use karya_shared::views::ProductRow;
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Serialize)]
pub struct DecisionRecorded {
    pub upt: String,
    /// `kanwil` (a verification) or `hq` (a decision).
    pub level: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<CurationDecision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

/// A Kanwil's verdict as a curator types or picks it (the codes, or their Indonesian words).
fn verification_status(s: &str) -> Result<VerificationStatus, ValidationError> {
    match s.trim().to_lowercase().replace([' ', '-'], "_").as_str() {
        "terverifikasi" | "verifikasi" => Ok(VerificationStatus::Verified),
        "perlu_perbaikan" | "kembalikan" => Ok(VerificationStatus::SentBack),
        other => other.parse(),
    }
}

fn unprocessable(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", detail.into())
}

/// What the level of `principal` writes about `product`, checked against the rules above.
enum Written {
    Hq(CurationDecision),
    Kanwil(Verification),
}

fn decide_on(
    principal: &Principal,
    product: &ProductRow,
    status: &str,
    note: String,
) -> Result<Written, ApiError> {
    let invalid = |e: ValidationError| unprocessable(e.to_string());
    let p = &product.product;
    if principal.kanwil.is_some() {
        let status = verification_status(status).map_err(|_| {
            unprocessable(format!(
                "'{status}' bukan keputusan Kanwil; pilih 'terverifikasi' (verified) atau 'perlu perbaikan' (sent_back)"
            ))
        })?;
        if !p.nominated {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_nominated",
                format!(
                    "produk '{}' belum diusulkan oleh UPT {}; Kanwil memverifikasi produk yang diusulkan saja",
                    p.name, product.upt
                ),
            ));
        }
        if status == VerificationStatus::SentBack && note.trim().is_empty() {
            return Err(unprocessable(
                "produk yang dikembalikan perlu catatan: tulis apa yang harus diperbaiki UPT",
            ));
        }
        let v = Verification::of(p, status, note, principal.name.clone());
        v.validate().map_err(invalid)?;
        return Ok(Written::Kanwil(v));
    }
    let status: CurationStatus = status.trim().parse().map_err(invalid)?;
    if status == CurationStatus::Rejected && note.trim().is_empty() {
        return Err(unprocessable(
            "penolakan perlu catatan: tulis alasannya untuk UPT",
        ));
    }
    let verified = product
        .verification
        .as_ref()
        .is_some_and(|v| v.status == VerificationStatus::Verified);
    if !verified && note.trim().is_empty() {
        return Err(unprocessable(
            "produk ini belum diverifikasi Kanwil-nya; keputusan pusat tanpa verifikasi perlu catatan yang menyebut alasannya",
        ));
    }
    let d = CurationDecision::of(p, status, note, principal.name.clone(), !verified);
    d.validate().map_err(invalid)?;
    Ok(Written::Hq(d))
}

/// Writes a curator's decision into the owning UPT's `curation/<UPT>` document (the API and
/// the dashboard's form both come here): a verification for a Kanwil's curator, HQ's
/// decision for HQ's.
pub async fn record(
    state: &Arc<AppState>,
    principal: &Principal,
    product_id: String,
    upt: Option<String>,
    status: &str,
    note: String,
) -> Result<DecisionRecorded, ApiError> {
    let token_id = principal.token_id.clone();
    let scope = principal.clone();
    let status = status.to_string();
    let recorded = state
        .blocking(move |db| -> Result<DecisionRecorded, ApiError> {
            // The decision lands in the owning UPT's curation document, never in "one of"
            // two UPTs that share an id.
            let rows = db.products_by_id(&product_id, upt.as_deref())?;
            let product = one_product(rows, &product_id, upt.as_deref())?;
            // A Kanwil's curator decides on its Kanwil's products only.
            scope.may_see(db.kanwil_of(&product.upt)?.as_deref(), "such product")?;
            let written = decide_on(&scope, &product, &status, note)?;
            // Entered in the audit under the curator's token.
            let origin = Origin {
                peer: "curator",
                token: &token_id,
            };
            let doc = DocId::Curation(product.upt.clone());
            let mut out = DecisionRecorded {
                upt: product.upt.clone(),
                level: "hq",
                decision: None,
                verification: None,
            };
            match written {
                Written::Hq(decision) => {
                    db.replica()
                        .change_as(&doc, origin, |d| schema::put_decision(d, &decision))?;
                    // The hub's own log beside the document; a decision whose log row cannot
                    // be written is still made (the document is what reaches the UPT).
                    if let Err(e) = db.log_decision(&product.upt, &decision) {
                        tracing::warn!(error = %e, "a curation decision was not added to its log");
                    }
                    out.decision = Some(decision);
                }
                Written::Kanwil(v) => {
                    db.replica()
                        .change_as(&doc, origin, |d| schema::put_verification(d, &v))?;
                    out.level = "kanwil";
                    out.verification = Some(v);
                }
            }
            Ok(out)
        })
        .await??;
    state.metrics.curation_decisions.inc();
    match (&recorded.decision, &recorded.verification) {
        (Some(d), _) => {
            tracing::info!(upt = %recorded.upt, status = %d.status, by = %d.decided_by, unverified = d.unverified, "curation decision")
        }
        (_, Some(v)) => {
            tracing::info!(upt = %recorded.upt, status = %v.status, by = %v.decided_by, "kanwil verification")
        }
        _ => {}
    }
    Ok(recorded)
}
