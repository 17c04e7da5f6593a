//! `POST /api/v1/sync`: one batch frame in, one out.
//!
//! Each document of the batch is handled on its own: a document the agent may not write, or
//! may not even see, is refused with a reason while the others sync normally. A refusal is
//! whole (received into a fork, inspected, dropped), logged, counted and kept in the
//! `refusals` table for the admin.

use crate::AppState;
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::metrics::Metrics;
use automerge::sync::Message;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use karya_shared::schema::DocId;
use karya_shared::store::{Received, WritePolicy};
use karya_shared::wire::{self, Reply, Request, WireError};
use karya_shared::{Store, StoreError};
use rusqlite::params;
use std::sync::Arc;
use tracing::instrument;

/// What an agent of `upt` may do with `doc`: `None` means it may not even see it.
pub fn policy_for(upt: &str, doc: &DocId) -> Option<WritePolicy> {
    match doc {
        DocId::Upt(c) if c == upt => Some(WritePolicy::MayWrite),
        DocId::Curation(c) if c == upt => Some(WritePolicy::ReadOnly),
        DocId::National => Some(WritePolicy::ReadOnly),
        _ => None,
    }
}

fn writer_of(doc: &DocId) -> String {
    match doc {
        DocId::Upt(c) => format!("the agents of {c}"),
        DocId::Curation(_) => "HQ curators (through the hub)".into(),
        DocId::National => "the hub admin".into(),
    }
}

#[instrument(skip_all, err, fields(upt))]
pub async fn sync(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let reject = |e: ApiError| {
        Metrics::add(&state.metrics.sync_rejected, 1);
        e
    };
    let Role::Agent { upt } = principal.role else {
        return Err(reject(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "'{}' is a {} token; only a UPT's agent token may sync",
                principal.name,
                principal.role.name()
            ),
        )));
    };
    tracing::Span::current().record("upt", upt.as_str());
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type != wire::CONTENT_TYPE {
        return Err(reject(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "sync bodies are {}, not '{content_type}'",
                wire::CONTENT_TYPE
            ),
        )));
    }
    let body = body.map_err(|e| {
        reject(ApiError::new(
            e.status(),
            "bad_body",
            format!(
                "{}; the hub accepts sync bodies up to {} bytes",
                e.body_text(),
                state.config.max_body_bytes
            ),
        ))
    })?;
    Metrics::add(&state.metrics.bytes_in, body.len() as u64);
    let request = Request::decode(&body).map_err(|e| {
        reject(match e {
            WireError::Version { .. } => ApiError::bad_request("protocol_version", e.to_string()),
            other => ApiError::bad_request("bad_frame", format!("{other}; nothing was merged")),
        })
    })?;
    if request.peer.is_empty() || request.peer.len() > 128 {
        return Err(reject(ApiError::bad_request(
            "bad_frame",
            "the peer id must be 1 to 128 bytes",
        )));
    }
    let peer = format!("{upt}/{}", request.peer);
    let upt_for_store = upt.clone();
    let status_due = state.status_due(&upt);
    let (frame, merged, refused) = state
        .with_store(move |store| handle(store, &upt_for_store, &peer, request, status_due))
        .await??;
    Metrics::add(&state.metrics.syncs, 1);
    Metrics::add(&state.metrics.changes_merged, merged as u64);
    Metrics::add(&state.metrics.refusals, refused as u64);
    Metrics::add(&state.metrics.bytes_out, frame.len() as u64);
    tracing::debug!(merged, refused, bytes = frame.len(), "sync served");
    Ok(([(header::CONTENT_TYPE, wire::CONTENT_TYPE)], frame).into_response())
}

/// Handles every document of a batch; returns the reply frame, the changes merged and the
/// number of documents refused.
///
/// The UPT's sync status is written when something happened (changes merged, a refusal) or
/// when `status_due` says the last write is old enough: an idle agent polling often must not
/// cost a disk flush per request.
fn handle(
    store: &mut Store,
    upt: &str,
    peer: &str,
    request: Request,
    status_due: bool,
) -> Result<(Vec<u8>, usize, usize), ApiError> {
    let mut replies = Vec::with_capacity(request.docs.len());
    let (mut merged, mut refused) = (0usize, 0usize);
    for (name, bytes) in request.docs {
        let reply = match DocId::parse(&name) {
            None => Reply::Refused(format!(
                "'{name}' is not a karya document; nothing of it was merged"
            )),
            Some(doc) => match policy_for(upt, &doc) {
                None => Reply::Refused(format!(
                    "UPT {upt} may not sync {doc}: its agents sync upt/{upt}, curation/{upt} and national only; nothing of it was merged"
                )),
                Some(policy) => match sync_doc(store, peer, &doc, &bytes, policy) {
                    Ok(DocOutcome::Reply(reply, n)) => {
                        merged += n;
                        reply
                    }
                    Ok(DocOutcome::Refused(reason)) => Reply::Refused(reason),
                    Err(StoreError::Sync { source, .. }) => Reply::Refused(format!(
                        "the sync message for {doc} could not be applied ({source}); nothing of it was merged"
                    )),
                    Err(e) => return Err(e.into()),
                },
            },
        };
        if let Reply::Refused(reason) = &reply {
            refused += 1;
            tracing::warn!(upt, peer, doc = %name, %reason, "sync refused");
            store.conn().execute(
                "INSERT INTO refusals (at, upt, peer, doc, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![karya_shared::model::now_rfc3339(), upt, peer, name, reason],
            )?;
        }
        replies.push((name, reply));
    }
    if !(status_due || merged > 0 || refused > 0) {
        return Ok((wire::Response { docs: replies }.encode(), merged, refused));
    }
    let now = karya_shared::model::now_rfc3339();
    store.conn().execute(
        "INSERT INTO upt_status (upt, last_sync_at, last_attempt_at, last_agent_version, last_peer, syncs)
         VALUES (?1, CASE WHEN ?5 THEN ?2 END, ?2, ?3, ?4, 1)
         ON CONFLICT(upt) DO UPDATE SET last_sync_at = CASE WHEN ?5 THEN ?2 ELSE last_sync_at END,
           last_attempt_at = ?2, last_agent_version = ?3, last_peer = ?4, syncs = syncs + 1",
        params![upt, now, request.agent_version, peer, refused == 0],
    )?;
    Ok((wire::Response { docs: replies }.encode(), merged, refused))
}

enum DocOutcome {
    Reply(Reply, usize),
    Refused(String),
}

fn sync_doc(
    store: &mut Store,
    peer: &str,
    doc: &DocId,
    bytes: &[u8],
    policy: WritePolicy,
) -> Result<DocOutcome, StoreError> {
    let mut state = store.sync_state(peer, doc)?;
    let mut merged = 0;
    if !bytes.is_empty() {
        let msg = match Message::decode(bytes) {
            Ok(m) => m,
            Err(e) => {
                return Ok(DocOutcome::Refused(format!(
                    "the sync message for {doc} is malformed ({e}); nothing of it was merged"
                )));
            }
        };
        match store.receive_sync_message(doc, peer, &mut state, msg, policy)? {
            Received::Applied { new_changes } => merged = new_changes,
            Received::Refused { new_changes } => {
                return Ok(DocOutcome::Refused(format!(
                    "{new_changes} change(s) to {doc} refused: only {} may write it; nothing of it was merged",
                    writer_of(doc)
                )));
            }
        }
    }
    let reply = match store.generate_sync_message(doc, &mut state)? {
        Some(m) => Reply::Message(m.encode()),
        None => Reply::Nothing,
    };
    Ok(DocOutcome::Reply(reply, merged))
}
