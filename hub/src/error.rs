//! The one JSON error type of the API: `{"error": "...", "detail": "..."}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// A short machine-readable code (`unauthorized`, `bad_frame`, ...).
    pub error: &'static str,
    /// What went wrong and what to do, for a person.
    pub detail: String,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            error,
            detail: detail.into(),
        }
    }
    pub fn bad_request(error: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            detail.to_string(),
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.error,
            self.status.as_u16(),
            self.detail
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    /// Logs at the level the error means: a client's mistake is INFO (or WARN for auth), a
    /// hub that cannot serve is ERROR, because then the operator must act.
    fn into_response(self) -> Response {
        let (status, error, detail) = (self.status.as_u16(), self.error, &self.detail);
        match self.status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS => {
                tracing::warn!(status, error, detail, "request refused")
            }
            s if s.is_client_error() => tracing::info!(status, error, detail, "bad request"),
            StatusCode::SERVICE_UNAVAILABLE => tracing::warn!(status, error, detail, "busy"),
            _ => tracing::error!(status, error, detail, "request failed"),
        }
        let body = serde_json::json!({ "error": self.error, "detail": self.detail });
        (self.status, Json(body)).into_response()
    }
}

impl From<karya_shared::StoreError> for ApiError {
    fn from(e: karya_shared::StoreError) -> Self {
        match e {
            karya_shared::StoreError::DiskFull(_) => {
                Self::new(StatusCode::INSUFFICIENT_STORAGE, "disk_full", e.to_string())
            }
            other => Self::internal(other),
        }
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        karya_shared::StoreError::from(e).into()
    }
}
