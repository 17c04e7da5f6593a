//! The dashboard's sessions, as every request finds them: the cookie, its lookup in the
//! database, the limits. Used by the pages and by the token check alike (a browser's session
//! stands for the token it signed in with), so it lives below both.

use crate::AppState;
use crate::access::Principal;
use crate::db::SessionLimits;
use crate::error::ApiError;
use axum::http::HeaderMap;
use std::sync::Arc;

pub const COOKIE: &str = "karya_sesi";
/// Sessions end after 8 hours without a request, and 24 hours after sign-in.
pub const LIMITS: SessionLimits = SessionLimits {
    idle_secs: 8 * 3600,
    lifetime_secs: 24 * 3600,
};

pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The session id a request's cookie names.
pub fn session_of(headers: &HeaderMap) -> Option<String> {
    cookie_named(headers, COOKIE)
}

pub fn cookie_named(headers: &HeaderMap, name: &str) -> Option<String> {
    axum_extra::extract::cookie::CookieJar::from_headers(headers)
        .get(name)
        .map(|c| c.value().to_string())
}

/// The person behind a request's session cookie and the session's CSRF token; `None` when
/// the request names no live session. Sessions are rows in the hub's database, so every hub
/// process knows them and a restart signs no one out.
pub async fn signed_in(
    state: &Arc<AppState>,
    headers: &HeaderMap,
) -> Result<Option<(Principal, String)>, ApiError> {
    let Some(id) = session_of(headers) else {
        return Ok(None);
    };
    let now = unix_now();
    Ok(state
        .blocking(move |db| db.session(&id, now, LIMITS))
        .await??)
}
