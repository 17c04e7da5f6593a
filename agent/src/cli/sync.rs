//! `sync`, `status` and `repair`: through the running service when one answers, directly
//! otherwise.

use super::{kb, print_json};
use crate::config::{AgentConfig, Paths, Timing};
use crate::status::{self, StatusReport, status_report};
use crate::text::agent as text;
use crate::{AgentError, control};
use karya_shared::DocId;
use karya_shared::session::Outcome;

fn print_outcome(outcome: &Outcome, elapsed: std::time::Duration, json: bool) {
    if json {
        print_json(
            &serde_json::json!({ "ok": outcome.refused.is_empty(), "outcome": outcome, "seconds": elapsed.as_secs_f64() }),
        );
        return;
    }
    println!(
        "{}",
        text::sync_ok(
            outcome.documents,
            outcome.round_trips,
            &kb(outcome.bytes_sent),
            &kb(outcome.bytes_received),
            elapsed.as_secs_f64(),
            outcome.changes_received,
        )
    );
    for r in outcome.refused.iter().chain(&outcome.photos_refused) {
        println!(
            "{}",
            text::refused_by_hub(
                &karya_shared::text::printable(&r.doc),
                &karya_shared::text::printable(&text::refusal_words(r))
            )
        );
    }
    if outcome.photos_sent > 0 || outcome.photos_waiting > 0 {
        println!(
            "{}",
            text::photos_sent(
                outcome.photos_sent,
                &kb(outcome.photo_bytes),
                outcome.photos_waiting
            )
        );
    }
}

/// The running service's own status report, if a service answers.
async fn service_status(paths: &Paths) -> Option<StatusReport> {
    let info = control::running(paths)?;
    let key = control::api_key(paths).ok()?;
    let http = reqwest::Client::builder()
        .tls_built_in_native_certs(false)
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .ok()?;
    let resp = http
        .get(format!("http://{}/v1/status", info.addr))
        .header(control::KEY_HEADER, key)
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json().await.ok()
}

pub async fn sync_command(paths: &Paths, json: bool) -> Result<(), AgentError> {
    let config = AgentConfig::load(paths)?;
    let started = std::time::Instant::now();
    if let Some(info) = control::running(paths) {
        let key = control::api_key(paths)?;
        let http = reqwest::Client::builder()
            // The running service's control endpoint, on loopback over plain HTTP.
            .tls_built_in_native_certs(false)
            .timeout(config.timing.request_timeout() * karya_shared::session::MAX_ROUNDS)
            .build()
            .map_err(|e| AgentError::Io(e.to_string()))?;
        match http
            .post(format!("http://{}/v1/sync", info.addr))
            .header(control::KEY_HEADER, key)
            .send()
            .await
        {
            Ok(resp) => {
                let ok = resp.status().is_success();
                let body: serde_json::Value = resp.json().await.unwrap_or_default();
                if !ok {
                    let detail = body["detail"]
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(text::service_gave_no_reason);
                    return Err(crate::sync::SyncFailure {
                        message: detail,
                        token_refused: body["error"] == "token_refused",
                    }
                    .into());
                }
                let outcome: Outcome =
                    serde_json::from_value(body["outcome"].clone()).unwrap_or_default();
                print_outcome(&outcome, started.elapsed(), json);
                return refused_is_failure(&outcome);
            }
            Err(e) if e.is_connect() => {
                // A control.json left by a service that was killed: sync directly.
                tracing::debug!("service not reachable at {}; syncing directly", info.addr);
            }
            Err(e) => {
                return Err(AgentError::SyncFailed(text::service_did_not_answer(
                    &e.to_string(),
                )));
            }
        }
    }
    let mut store = crate::store::open_store(paths)?;
    let timing: Timing = config.timing.clone();
    let outcome = crate::sync::sync_and_record(paths, &config, &mut store, |attempt| {
        status::backoff(attempt, timing.retry_initial(), timing.retry_max(), 1.0)
    })
    .await
    .map_err(|e| AgentError::from(crate::sync::SyncFailure::from(&e)))?;
    print_outcome(&outcome, started.elapsed(), json);
    refused_is_failure(&outcome)
}

fn refused_is_failure(outcome: &Outcome) -> Result<(), AgentError> {
    if outcome.refused.is_empty() {
        return Ok(());
    }
    let docs: Vec<&str> = outcome.refused.iter().map(|r| r.doc.as_str()).collect();
    Err(AgentError::SyncFailed(text::documents_refused(
        &docs.join(", "),
    )))
}

/// After `token set`: a running service is asked to sync with the new token now.
pub async fn after_token_set(paths: &Paths, json: bool) -> Result<(), AgentError> {
    if control::running(paths).is_some() {
        eprintln!("{}", text::token_asking_service());
        sync_command(paths, json).await
    } else {
        println!("{}", text::token_next_sync());
        Ok(())
    }
}

pub async fn status_command(paths: &Paths, json: bool) -> Result<(), AgentError> {
    // The running service knows what its database may not hold (a full disk): ask it
    // first, and read the database when no service answers.
    let report = match service_status(paths).await {
        Some(report) => report,
        None => status_report(paths, false)?,
    };
    if json {
        print_json(&report);
    } else {
        print_status(&report);
    }
    Ok(())
}

/// The sync state in words.
pub fn state_words(report: &StatusReport) -> String {
    use status::State;
    match report.state {
        State::Idle => text::state_idle().into(),
        State::Syncing => text::state_syncing().into(),
        State::Offline => text::state_offline(report.attempt),
        State::Refused => text::state_refused().into(),
        State::TokenRefused => text::state_token_refused().into(),
        State::Interrupted => text::state_interrupted().into(),
        State::DiskFull => text::state_disk_full().into(),
        State::ReadOnly => text::state_read_only().into(),
    }
}

fn print_status(report: &StatusReport) {
    let zone = karya_shared::localtime::Zone::from_env();
    let local = |at: &str| karya_shared::localtime::format(at, zone);
    println!("{:<18} {}", text::label_upt(), report.upt);
    println!("{:<18} {}", text::label_hub(), report.hub);
    let running = if report.service_running {
        text::running()
    } else {
        text::not_running()
    };
    println!("{:<18} {running}", text::label_service());
    println!("{:<18} {}", text::label_state(), state_words(report));
    if let Some(problem) = &report.storage_problem {
        println!("{:<18} {problem}", text::label_storage());
    }
    let last = report
        .last_success_at
        .as_deref()
        .map(local)
        .unwrap_or_else(|| text::never().into());
    println!("{:<18} {last}", text::label_last_success());
    if let Some(since) = &report.offline_since {
        println!("{:<18} {}", text::label_offline_since(), local(since));
    }
    if let Some(skew) = report
        .clock_skew_secs
        .filter(|s| s.abs() > crate::client::MAX_CLOCK_SKEW_SECS)
    {
        println!(
            "{:<18} {}",
            text::label_clock(),
            text::clock_skew(skew.abs() / 60, skew > 0)
        );
    }
    println!(
        "{:<18} {}",
        text::label_last_error(),
        report.last_error.as_deref().unwrap_or("-")
    );
    println!(
        "{:<18} {}",
        text::label_pending(),
        text::pending_changes(report.pending_changes)
    );
    let next = report
        .next_attempt_at
        .as_deref()
        .map(local)
        .unwrap_or_else(|| text::next_when_no_service().into());
    println!("{:<18} {next}", text::label_next());
    for r in report.refused.iter().chain(&report.photos_refused) {
        println!(
            "{:<18} {}: {}",
            text::label_refused(),
            karya_shared::text::printable(&r.doc),
            karya_shared::text::printable(&text::refusal_words(r))
        );
    }
    if report.photos_waiting > 0 {
        println!(
            "{:<18} {}",
            text::label_photos(),
            text::photos_waiting(report.photos_waiting)
        );
    }
    if let Some(print) = &report.registry_fingerprint {
        println!("{:<18} {print}", text::label_registry());
    }
}

/// `repair DOC`: drops this PC's copy of a document and fetches it again from the hub.
pub async fn repair(
    paths: &Paths,
    upt: &str,
    doc: &str,
    force: bool,
    json: bool,
) -> Result<(), AgentError> {
    let id = match doc {
        "national" => DocId::National,
        "curation" => DocId::Curation(upt.to_string()),
        "upt" => DocId::Upt(upt.to_string()),
        other => return Err(AgentError::Usage(text::not_a_document(other))),
    };
    {
        // Not while a sync runs: the service's sync would write the copy back.
        let _lock = crate::store::SyncLock::acquire(paths).await?;
        let store = crate::store::open_store(paths)?;
        if matches!(id, DocId::Upt(_)) {
            let pending = status::pending_changes(&store, upt)?;
            if pending > 0 && !force {
                return Err(AgentError::Usage(text::repair_would_lose(
                    &id.to_string(),
                    pending,
                )));
            }
        }
        store.forget(&id)?;
        eprintln!("{}", text::repair_dropped(&id.to_string()));
    }
    sync_command(paths, json).await
}
