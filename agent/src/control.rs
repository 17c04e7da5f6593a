//! The loopback control API of the running service, behind `karya-agent sync` and `status`.
//! It listens on 127.0.0.1 only, on a port written to `control.json`, and wants the API key
//! kept in `control.key` (readable by the service's user only), as Syncthing does.

use crate::commands::Command;
use crate::config::{Paths, write_private};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

pub const KEY_HEADER: &str = "x-api-key";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ControlInfo {
    pub addr: std::net::SocketAddr,
    pub pid: u32,
}

struct ControlState {
    key: String,
    commands: mpsc::Sender<Command>,
    paths: Paths,
    live: crate::commands::Live,
}

/// The API key, made on first use.
pub fn api_key(paths: &Paths) -> Result<String, crate::config::ConfigError> {
    let path = paths.control_key();
    match std::fs::read_to_string(&path) {
        Ok(k) if !k.trim().is_empty() => Ok(k.trim().to_string()),
        _ => {
            let key = hex::encode(rand::random::<[u8; 24]>());
            write_private(&path, &key)?;
            Ok(key)
        }
    }
}

fn authorised(
    state: &ControlState,
    headers: &HeaderMap,
) -> Result<(), (StatusCode, Json<serde_json::Value>)> {
    let given = headers
        .get(KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if given.len() == state.key.len()
        && given
            .bytes()
            .zip(state.key.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    {
        return Ok(());
    }
    Err((
        StatusCode::UNAUTHORIZED,
        Json(
            serde_json::json!({"error": "unauthorized", "detail": "wrong or missing API key (see control.key in the data directory)"}),
        ),
    ))
}

async fn sync_now(
    State(state): State<Arc<ControlState>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, (StatusCode, Json<serde_json::Value>)> {
    authorised(&state, &headers)?;
    let (tx, rx) = oneshot::channel();
    let stopped = || {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"error": "stopping", "detail": "the service is stopping"})),
        )
    };
    state
        .commands
        .send(Command::SyncNow(tx))
        .await
        .map_err(|_| stopped())?;
    match rx.await.map_err(|_| stopped())? {
        Ok(outcome) => Ok(Json(serde_json::json!({ "ok": true, "outcome": outcome }))),
        Err(failure) => Err((
            StatusCode::BAD_GATEWAY,
            Json(serde_json::json!({
                "error": if failure.token_refused { "token_refused" } else { "sync_failed" },
                "detail": failure.message,
            })),
        )),
    }
}

async fn status(
    State(state): State<Arc<ControlState>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, (StatusCode, Json<serde_json::Value>)> {
    authorised(&state, &headers)?;
    let mut report = crate::status::status_report(&state.paths, true).map_err(|e| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(serde_json::json!({"error": "internal", "detail": e.to_string()})),
        )
    })?;
    if let Some(problem) = state.live.storage_problem() {
        // The stored status could not be written: what the service saw is the truth.
        report.state = crate::status::State::DiskFull;
        report.last_error = Some(problem.clone());
        report.storage_problem = Some(problem);
    }
    Ok(Json(serde_json::to_value(report).unwrap_or_default()))
}

/// Starts the control API; returns where it listens. It stops when `commands` closes.
pub async fn start(
    paths: &Paths,
    commands: mpsc::Sender<Command>,
    live: crate::commands::Live,
) -> Result<ControlInfo, crate::AgentError> {
    let key = api_key(paths)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| crate::AgentError::Io(e.to_string()))?;
    let info = ControlInfo {
        addr: listener
            .local_addr()
            .map_err(|e| crate::AgentError::Io(e.to_string()))?,
        pid: std::process::id(),
    };
    let state = Arc::new(ControlState {
        key,
        commands,
        paths: paths.clone(),
        live,
    });
    let app = axum::Router::new()
        .route("/v1/sync", post(sync_now))
        .route("/v1/status", get(status))
        .with_state(state);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    write_private(
        &paths.control_info(),
        &serde_json::to_string(&info).unwrap_or_default(),
    )?;
    Ok(info)
}

/// The running service's control address, if a `control.json` is there.
pub fn running(paths: &Paths) -> Option<ControlInfo> {
    let text = std::fs::read_to_string(paths.control_info()).ok()?;
    serde_json::from_str(&text).ok()
}
