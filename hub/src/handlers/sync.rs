//! `POST /api/v1/sync`: one batch frame in, one out.
//!
//! Glue around the server half of the protocol ([`karya_shared::server::serve`]): the
//! token says which UPT the agent speaks for; one sync per UPT at a time and admission
//! control bound the syncs in flight (past them: 503 with Retry-After, before the body is
//! read); the body is read at a minimum pace before a merge slot is taken (a trickle is cut
//! with 408); the frame is inflated, decoded and merged on the store's threads, and refusals
//! and panics are logged, counted and kept in the `refusals` table for the admin.

use crate::AppState;
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::metrics::SyncOutcome;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use karya_shared::server::{self, AgentAuthority, ServeError};
use karya_shared::store::Origin;
use karya_shared::wire::{self, Incoming, WireError};
use std::sync::Arc;
use std::time::Duration;
use tracing::instrument;

/// What one request came to, for the metrics.
struct Ended {
    outcome: SyncOutcome,
    bytes_in: u64,
    response: Response,
}

#[instrument(skip_all, fields(upt))]
pub async fn sync(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = std::time::Instant::now();
    let ended = match handle(&state, principal, headers, body).await {
        Ok(ended) => ended,
        Err((e, bytes_in)) => Ended {
            outcome: if e.status.is_server_error() {
                SyncOutcome::Error
            } else {
                SyncOutcome::Rejected
            },
            bytes_in,
            response: e.into_response(),
        },
    };
    let bytes_out = ended
        .response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    state.metrics.sync_served(
        ended.outcome,
        started.elapsed().as_secs_f64(),
        ended.bytes_in,
        bytes_out,
    );
    ended.response
}

async fn handle(
    state: &Arc<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Body,
) -> Result<Ended, (ApiError, u64)> {
    let reject = |e: ApiError| (e, 0u64);
    let token_id = principal.token_id.clone();
    let signed = principal.signed.clone();
    // An agent authenticated by the UPT's token offering its own key, for the registry.
    let offered = headers
        .get(karya_shared::agentkey::ANNOUNCE_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|k| signed.is_none() && karya_shared::agentkey::is_public_hex(k))
        .map(str::to_lowercase);
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
    // The error's own log line (ApiError::into_response) is written inside this span, which
    // names the UPT from here on.
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
    let shed = |why: &str| Ended {
        outcome: SyncOutcome::Busy,
        bytes_in: 0,
        response: busy(why, state.config.retry_after_secs),
    };
    // One sync of a UPT at a time: a token sending many at once (or trickling them) holds
    // one admission slot at most, and only its own UPT waits.
    let Some(_turn) = state.syncs.take(&upt, 1) else {
        return Ok(Ended {
            outcome: SyncOutcome::Busy,
            bytes_in: 0,
            response: busy(
                &format!("another sync of {upt} is in progress"),
                UPT_BUSY_SECS,
            ),
        });
    };
    // Admission before the body is read: a storm of syncs must not pile up bodies in memory.
    let Ok(_admitted) = state.sync_admission.clone().try_acquire_owned() else {
        return Ok(shed("too many syncs are waiting"));
    };
    // The body is read before a merge slot is taken, at a minimum pace: a slow client holds
    // its own admission slot for a few seconds, never a merge slot.
    let limit = state.config.max_body_bytes;
    let body = crate::body::read_paced(body, limit, state.config.min_body_bytes_per_sec)
        .await
        .map_err(|e| {
            reject(match e {
                crate::body::BodyError::TooLarge { .. } => ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("the hub accepts sync bodies up to {limit} bytes; nothing was merged"),
                ),
                crate::body::BodyError::TooSlow { .. } => ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "too_slow",
                    format!("{e}; nothing was merged"),
                ),
                crate::body::BodyError::Broken(_) => {
                    ApiError::bad_request("bad_body", format!("{e}; nothing was merged"))
                }
            })
        })?;
    if let Some(signed) = &signed
        && karya_shared::agentkey::body_hash(&body) != signed.body_sha256
    {
        return Err(reject(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the body is not the one the agent's key signed; nothing was merged",
        )));
    }
    let waited = std::time::Instant::now();
    let running = tokio::time::timeout(
        Duration::from_secs(state.config.sync_wait_secs),
        state.sync_running.clone().acquire_owned(),
    )
    .await;
    let Ok(Ok(_running)) = running else {
        return Ok(shed("no turn came free in time"));
    };
    state
        .metrics
        .sync_wait
        .observe(waited.elapsed().as_secs_f64());
    let bytes_in = body.len() as u64;
    let fail = |e: ApiError| (e, bytes_in);
    let status_due = state.status_due(&upt);
    let answering = state.clone();
    let provisional = signed.filter(|s| s.provisional).map(|s| s.key);
    let outcome = state
        .blocking(move |db| {
            let served = answer_as(
                &answering,
                db,
                &upt,
                &token_id,
                &body,
                status_due,
                provisional.as_deref(),
            )?;
            if let Some(key) = &offered
                && let Err(e) = db.add_agent_key(&upt, key)
            {
                tracing::warn!(error = %e, "an agent's key could not be added to the registry");
            }
            Ok::<_, ApiError>(served)
        })
        .await
        .map_err(fail)?
        .map_err(|e| {
            if matches!(e.error, "disk_full") {
                state.note_disk_full();
            }
            fail(e)
        })?;
    state.note_write_ok();
    let Some(outcome) = outcome else {
        // A poll whose digest matched: nothing to do on either side, and nothing to say
        // beyond the status line (the agent reads the hub's clock from `Date`).
        return Ok(Ended {
            outcome: SyncOutcome::Ok,
            bytes_in,
            response: StatusCode::NO_CONTENT.into_response(),
        });
    };
    let frame = outcome.response.encode();
    state.metrics.changes_merged.inc_by(outcome.merged as u64);
    state.metrics.panics.inc_by(outcome.panicked.len() as u64);
    for r in &outcome.refused {
        state.metrics.refused(r.kind);
    }
    tracing::debug!(
        merged = outcome.merged,
        refused = outcome.refused.len(),
        bytes = frame.len(),
        "sync served"
    );
    Ok(Ended {
        outcome: if outcome.refused.is_empty() {
            SyncOutcome::Ok
        } else {
            SyncOutcome::Refused
        },
        bytes_in,
        response: ([(header::CONTENT_TYPE, wire::CONTENT_TYPE)], frame).into_response(),
    })
}

/// Answers one sync frame (`body`) of an agent of `upt`, authenticated by token `token_id`,
/// against `db`: decoded within the configured limits, served, and its refusals and the UPT's
/// last sync recorded (`status_due`: also when nothing changed). `None`: a poll that matched
/// (204). The HTTP glue around it is [`sync`]; the instruction-count benchmarks call it as is.
pub fn answer(
    state: &AppState,
    db: &crate::db::HubDb,
    upt: &str,
    token_id: &str,
    body: &[u8],
    status_due: bool,
) -> Result<Option<server::Served>, ApiError> {
    answer_as(state, db, upt, token_id, body, status_due, None)
}

/// A request to a hub rebuilt without the lost hub's key, before HQ adopted a registry: the
/// heads of the registry the agent holds are recorded as its UPT's offer, and every document
/// is refused for now (`awaiting_adoption`; the agent tries again at its next sync).
fn awaiting_adoption(
    db: &crate::db::HubDb,
    upt: &str,
    key: &str,
    request: wire::Request,
) -> Result<server::Served, ApiError> {
    let national = karya_shared::schema::DocId::National.to_string();
    if let Some(heads) = request
        .docs
        .iter()
        .find(|(n, _)| *n == national)
        .and_then(|(_, bytes)| automerge::sync::Message::decode(bytes).ok())
        .map(|m| m.heads)
        .filter(|h| !h.is_empty())
    {
        crate::rebuild::record_offer(db, upt, key, &heads)?;
    }
    let reason = "this hub is being rebuilt without the lost hub's key: it takes nothing until HQ adopts the registry most UPTs hold (karya-hub rebuild status, rebuild adopt); the next sync tries again";
    let mut served = server::Served::default();
    served.response.accepts_polls = true;
    for (name, _) in request.docs {
        served.refuse(name, "awaiting_adoption", reason.to_string());
    }
    Ok(served)
}

/// [`answer`], for an agent whose signed key the registry does not list yet (`provisional`,
/// while the hub is rebuilt): the registry it brings is served first, as the lost hub's
/// (vouched); the rest only if that registry lists the key.
pub fn answer_as(
    state: &AppState,
    db: &crate::db::HubDb,
    upt: &str,
    token_id: &str,
    body: &[u8],
    status_due: bool,
    provisional: Option<&str>,
) -> Result<Option<server::Served>, ApiError> {
    let limits = wire::Limits {
        max_inflated: state.config.max_inflated_bytes,
        ..wire::Limits::default()
    };
    let incoming = Incoming::decode_with(body, &limits).map_err(|e| match e {
        WireError::Version { .. } => ApiError::bad_request("protocol_version", e.to_string()),
        WireError::TooLarge { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("{e}; nothing was merged"),
        ),
        other => ApiError::bad_request("bad_frame", format!("{other}; nothing was merged")),
    })?;
    let (peer, agent_version, takes_gaps) = match &incoming {
        Incoming::Request(r) => (&r.peer, &r.agent_version, r.takes_photo_gaps),
        Incoming::Poll(p) => (&p.peer, &p.agent_version, p.takes_photo_gaps),
    };
    // The peer id reaches logs, the UPT page and the refusals table: a safe alphabet.
    if peer.is_empty()
        || peer.len() > 128
        || !peer
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(ApiError::bad_request(
            "bad_frame",
            "the peer id must be 1 to 128 letters, digits, '-', '_' or '.'; nothing was merged",
        ));
    }
    let peer = format!("{upt}/{peer}");
    let agent_version = agent_version.clone();
    // The photos this UPT's products name that the hub lacks, for an agent that takes
    // the list and was not told since the hub last looked.
    let photo_gaps = || -> Result<Option<Vec<String>>, ApiError> {
        if !takes_gaps {
            return Ok(None);
        }
        Ok(state.photo_gaps.to_tell(upt, &peer, || {
            db.photos_of(upt).map(|named| {
                named
                    .into_iter()
                    .map(|(hash, _)| hash)
                    .filter(|hash| !state.blobs.has(hash))
                    .collect()
            })
        })?)
    };
    let authority = AgentAuthority {
        upt: upt.to_string(),
        key: Some(db.heads_key().clone()),
    };
    let origin = Origin {
        peer: &peer,
        token: token_id,
    };
    let serve_error = |e: ServeError| match e {
        ServeError::Frame(f) => {
            ApiError::bad_request("bad_frame", format!("{f}; nothing was merged"))
        }
        ServeError::Store(s) => s.into(),
    };
    let registry_only = server::RegistryOnly {
        key: Some(db.heads_key().clone()),
    };
    // A rebuild without the lost hub's key: nothing is taken until HQ adopts a registry.
    let agreement = match provisional {
        Some(_) => crate::rebuild::agreement(db)?,
        None => None,
    };
    let mut served = match (incoming, provisional) {
        (Incoming::Request(request), Some(key))
            if agreement == Some(crate::rebuild::Agreement::Waiting) =>
        {
            awaiting_adoption(db, upt, key, request)?
        }
        (Incoming::Request(mut request), Some(key)) => {
            let national = karya_shared::schema::DocId::National.to_string();
            if let Some(crate::rebuild::Agreement::Adopted(heads)) = &agreement {
                // The registry HQ adopted stands where the lost hub's vouch would: only
                // changes in its history are taken.
                request.vouches = Some(vec![(
                    national.clone(),
                    db.heads_key().vouch(&national, heads).encode(),
                )]);
            }
            let rest: Vec<_> = request
                .docs
                .iter()
                .filter(|(n, _)| *n != national)
                .cloned()
                .collect();
            request.docs.retain(|(n, _)| *n == national);
            let vouches = request.vouches.clone();
            let (peer_id, version, gaps) = (
                request.peer.clone(),
                request.agent_version.clone(),
                request.takes_photo_gaps,
            );
            let mut served = server::serve(db.replica(), origin, request, &registry_only)
                .map_err(serve_error)?;
            let known = db.agent_keys(upt)?.is_some_and(|k| k.contains(key));
            if known {
                let more = wire::Request {
                    peer: peer_id,
                    agent_version: version,
                    docs: rest,
                    vouches,
                    takes_photo_gaps: gaps,
                };
                served.extend(
                    server::serve(db.replica(), origin, more, &authority).map_err(serve_error)?,
                );
            } else {
                for (name, _) in rest {
                    let reason = format!(
                        "this hub is being rebuilt and its registry does not list this installation's key for {upt} yet; {name} is taken once it does (the next sync)"
                    );
                    served.refuse(name, "unknown_key", reason);
                }
            }
            served
        }
        (Incoming::Request(request), None) => {
            server::serve(db.replica(), origin, request, &authority).map_err(serve_error)?
        }
        // A poll says "in sync?" of every document: a hub being rebuilt that does not know
        // this installation's key yet cannot answer for the UPT's own documents without
        // showing them to an unproven key. Refused as a hub that takes no polls refuses one:
        // the agent then sends its documents in full (the registry first, see above).
        // While the hub is rebuilt it has no sync state for any agent: a poll would be
        // answered with the whole registry, as to an agent that holds nothing. Refused the
        // same way, the agent sends its documents in full, whose messages say what it holds.
        (Incoming::Poll(_), _)
            if provisional.is_some()
                || state.rebuilding.load(std::sync::atomic::Ordering::Relaxed) =>
        {
            if status_due {
                state.status_owed(upt);
            }
            return Err(ApiError::bad_request(
                "poll_not_taken",
                "this hub is being rebuilt: send the documents in full",
            ));
        }
        (Incoming::Poll(poll), _) => {
            match server::serve_poll(db.replica(), origin, &poll, &authority)? {
                Some(response) => server::Served {
                    response,
                    ..Default::default()
                },
                None => {
                    if status_due {
                        db.record_sync(upt, &agent_version, &peer, true)?;
                    }
                    // In sync; a reply of no documents instead of 204 only to name
                    // photos the hub lacks.
                    let Some(gaps) = photo_gaps()? else {
                        return Ok(None);
                    };
                    return Ok(Some(server::Served {
                        response: wire::Response {
                            accepts_polls: true,
                            photo_gaps: Some(gaps),
                            ..Default::default()
                        },
                        ..Default::default()
                    }));
                }
            }
        }
    };
    // A hub rebuilt without the lost hub's key cannot take the decisions an agent holds
    // (only the lost key vouched for them), nor a registry beyond the one adopted: the agent
    // is told to take the hub's copy.
    if served
        .refused
        .iter()
        .any(crate::rebuild::refuses_hub_document)
        && crate::rebuild::adopted_by_agreement(db)?
    {
        crate::rebuild::hub_copy_stands(&mut served);
    }
    if served.merged > 0 && state.rebuilding.load(std::sync::atomic::Ordering::Relaxed) {
        // A hub being rebuilt takes the UPTs' products as they come: their photos are
        // looked for now, not an hour after a look that found none.
        state.photo_gaps.forget(upt);
    }
    served.response.photo_gaps = photo_gaps()?;
    for (doc, message) in &served.panicked {
        tracing::error!(upt, peer, doc, panic = %message, "merging a document panicked; it was rolled back and dropped from the cache");
    }
    for r in &served.refused {
        // One line per (UPT, document, kind) a minute: an agent that repeats a refused
        // change every few seconds must not flood the log.
        // Documents it may not sync count as one, whatever names it made up.
        let doc = if r.kind == "not_visible" {
            crate::db::HubDb::NOT_VISIBLE_DOC
        } else {
            r.doc.as_str()
        };
        if let Some(suppressed) = state.log_allowed(&format!("{upt}\u{0}{doc}\u{0}{}", r.kind)) {
            tracing::warn!(
                upt,
                peer,
                doc = r.doc,
                kind = r.kind,
                reason = r.reason,
                suppressed,
                "document refused"
            );
        }
    }
    if !served.refused.is_empty() {
        db.record_refusals(upt, &peer, &served.refused)?;
    }
    // The UPT's sync status is written when something happened (changes merged, a
    // refusal) or when the last write is old enough: an idle agent polling often must
    // not cost a disk flush per request.
    if status_due || served.merged > 0 || !served.refused.is_empty() {
        db.record_sync(upt, &agent_version, &peer, served.refused.is_empty())?;
        if !served.refused.is_empty() {
            state.status_owed(upt);
        }
    }
    Ok(Some(served))
}

/// What a sync of a UPT that has one in progress is told to wait (two PCs of one UPT).
const UPT_BUSY_SECS: u64 = 5;

/// 503 with Retry-After: the agent waits at least `secs` before its next attempt.
pub fn busy(why: &str, secs: u64) -> Response {
    let body = serde_json::json!({
        "error": "busy",
        "detail": format!("the hub is busy ({why}); try again in {secs} s"),
    });
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, secs.to_string())],
        axum::Json(body),
    )
        .into_response()
}
