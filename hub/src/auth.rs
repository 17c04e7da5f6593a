//! Bearer tokens: issued by the admin CLI, stored hashed (SHA-256), compared in constant time
//! (see [`crate::db::HubDb::verify_token`]), looked up at every request on a read connection,
//! so that a revocation takes effect at the next one and a check never waits for a write.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::{StatusCode, request::Parts};
use std::sync::Arc;

pub use crate::access::{Principal, Rejection, Role, TokenInfo};

/// The token of a request's `Authorization: Bearer` header.
fn token_of(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_string())
}

/// The address a request came from: the TCP peer, or, when the peer is one of the trusted
/// reverse proxies, the client those proxies name (see [`client_addr`]).
pub fn source_of(parts: &Parts, proxies: &[ipnet::IpNet]) -> Option<std::net::IpAddr> {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())?;
    Some(client_addr(peer, &parts.headers, proxies))
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy; then the last
/// address in `Forwarded` (`for=`) or else `X-Forwarded-For` that is not a trusted proxy
/// (each proxy appends the address it was reached from, so the addresses before the last
/// untrusted one are the client's word, not ours). Headers from anyone else are ignored.
pub fn client_addr(
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    proxies: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let trusted = |ip: &std::net::IpAddr| proxies.iter().any(|n| n.contains(ip));
    if !trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                k.eq_ignore_ascii_case("for").then(|| parse_node(v))?
            })
        })
        .collect();
    let chain = if forwarded.is_empty() {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(parse_node)
            .collect()
    } else {
        forwarded
    };
    chain
        .into_iter()
        .rev()
        .find(|ip| !trusted(ip))
        .unwrap_or(peer)
}

/// An address as `Forwarded` or `X-Forwarded-For` writes it: `192.0.2.1`, `"[2001:db8::1]:443"`,
/// `192.0.2.1:8080`.
fn parse_node(text: &str) -> Option<std::net::IpAddr> {
    let t = text.trim().trim_matches('"');
    if let Ok(ip) = t.parse() {
        return Some(ip);
    }
    if let Some(rest) = t.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    t.parse::<std::net::SocketAddr>().ok().map(|s| s.ip())
}

impl FromRequestParts<Arc<AppState>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let unauthorized =
            |detail: String| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail);
        // In a browser, the dashboard's session cookie stands for the token it signed in with
        // (the cookie holds a session id only).
        if !parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
            && crate::session::session_of(&parts.headers).is_some()
        {
            return crate::session::signed_in(state, &parts.headers)
                .await?
                .map(|(principal, _)| principal)
                .ok_or_else(|| {
                    unauthorized(
                        "the dashboard session has ended (signed out, expired, or its token revoked); sign in again at /masuk".into(),
                    )
                });
        }
        if let Some(signed) = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix(karya_shared::agentkey::SCHEME))
        {
            return by_agent_key(parts, state, signed.to_string()).await;
        }
        let Some(token) = token_of(parts) else {
            return Err(unauthorized(
                "no token: send 'Authorization: Bearer <token>' (the hub admin issues tokens with karya-hub token issue or upt add)".into(),
            ));
        };
        let source = source_of(parts, &state.proxies);
        let verdict = state.blocking(move |db| db.verify_token(&token)).await??;
        if let Err(rejection) = &verdict {
            // Past the limit: 429, and nothing more is counted or written for it.
            state.auth_refused(rejection, source)?;
            let of_upt = rejection.of_upt();
            state.metrics.token_failed(of_upt.map(|(upt, _, _)| upt));
            if let Some((upt, id, reason)) = of_upt {
                // Counted for the UPT list without delaying the answer; the per-token rate
                // limit above bounds how often this writes.
                let (upt, id) = (upt.to_string(), id.to_string());
                let state = state.clone();
                tokio::spawn(async move {
                    let counted = state
                        .blocking(move |db| db.record_token_failure(&upt, &id, reason))
                        .await;
                    if let Ok(Err(e)) = counted {
                        tracing::warn!(error = %e, "a refused token attempt could not be counted");
                    }
                });
            }
        }
        match verdict {
            Ok(p) => Ok(p),
            Err(Rejection::Revoked { name, .. }) => Err(unauthorized(format!(
                "the token '{name}' was revoked; ask the hub admin for a new one (karya-hub upt token CODE, or karya-hub token issue)"
            ))),
            Err(_) => Err(unauthorized(
                "the token is not valid; check it was copied whole, or ask the hub admin for a new one".into(),
            )),
        }
    }
}

/// An agent that signed its request with its own key: the signature must be over this
/// request and recent, and the key its UPT's in the registry; while the hub is rebuilt from
/// the agents, a key the registry does not list yet is let in provisionally (it may bring the
/// registry, vouched by the lost hub's key, before anything of its own: see the sync handler).
async fn by_agent_key(
    parts: &Parts,
    state: &Arc<AppState>,
    signed: String,
) -> Result<Principal, ApiError> {
    let refuse = |detail: String| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail);
    let body_sha256 = parts
        .headers
        .get(karya_shared::agentkey::BODY_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // The path as the agent sent it (a nested router sees it without its prefix).
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map(|u| u.0.path().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string());
    let claim =
        karya_shared::agentkey::verify(&signed, parts.method.as_str(), &path, &body_sha256, now)
            .map_err(|e| refuse(format!("the agent's signature is refused: {e}")))?;
    let upt = claim.upt.clone();
    let (keys, rebuilding) = state
        .blocking(move |db| {
            Ok::<_, karya_shared::StoreError>((db.agent_keys(&upt)?, db.rebuilding_since()?))
        })
        .await??;
    let listed = keys.as_ref().is_some_and(|k| k.contains(&claim.key));
    if !listed && rebuilding.is_none() {
        return Err(refuse(format!(
            "the key of this installation is not {}'s in the registry (revoked, or never registered): sync once with the UPT's token (karya-agent token set TOKEN)",
            claim.upt
        )));
    }
    Ok(Principal {
        token_id: format!("kunci:{}", &claim.key[..16]),
        name: format!("{} (kunci agen {})", claim.upt, &claim.key[..8]),
        role: Role::Agent {
            upt: claim.upt.clone(),
        },
        kanwil: None,
        signed: Some(crate::access::Signed {
            body_sha256: claim.body_sha256,
            key: claim.key,
            provisional: !listed,
        }),
    })
}
