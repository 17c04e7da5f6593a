//! Bearer tokens: issued by the admin CLI, stored hashed (SHA-256), compared in constant time,
//! looked up at every request so that a revocation takes effect at the next one.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::{StatusCode, request::Parts};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// An agent of one UPT: may sync its UPT's documents and `national`.
    Agent {
        upt: String,
    },
    Curator,
    Admin,
    Viewer,
}

impl Role {
    pub fn name(&self) -> &'static str {
        match self {
            Role::Agent { .. } => "agent",
            Role::Curator => "curator",
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(role: &str, upt: Option<String>) -> Option<Role> {
        Some(match (role, upt) {
            ("agent", Some(upt)) => Role::Agent { upt },
            ("curator", _) => Role::Curator,
            ("admin", _) => Role::Admin,
            ("viewer", _) => Role::Viewer,
            _ => return None,
        })
    }

    /// May read the national views and the dashboard.
    pub fn can_read(&self) -> bool {
        !matches!(self, Role::Agent { .. })
    }

    /// May post curation decisions.
    pub fn can_curate(&self) -> bool {
        matches!(self, Role::Curator | Role::Admin)
    }
}

/// The authenticated peer of a request. Its `Debug` never shows a secret: it has none.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: String,
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub role: String,
    pub name: String,
    pub upt: Option<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// hash, role, name, upt, revoked_at
type TokenRow = (String, String, String, Option<String>, Option<String>);

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Issues a token and returns (id, token). The token is shown once; only its hash is kept.
pub fn issue(conn: &Connection, role: &Role, name: &str) -> rusqlite::Result<(String, String)> {
    let id = hex::encode(rand::random::<[u8; 6]>());
    let secret = hex::encode(rand::random::<[u8; 24]>());
    let token = format!("karya_{id}_{secret}");
    let upt = match role {
        Role::Agent { upt } => Some(upt.as_str()),
        _ => None,
    };
    conn.execute(
        "INSERT INTO tokens (id, hash, role, name, upt, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, hash(&token), role.name(), name, upt, karya_shared::model::now_rfc3339()],
    )?;
    Ok((id, token))
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<TokenInfo>> {
    let mut stmt = conn.prepare(
        "SELECT id, role, name, upt, created_at, revoked_at FROM tokens ORDER BY created_at, id",
    )?;
    stmt.query_map([], |r| {
        Ok(TokenInfo {
            id: r.get(0)?,
            role: r.get(1)?,
            name: r.get(2)?,
            upt: r.get(3)?,
            created_at: r.get(4)?,
            revoked_at: r.get(5)?,
        })
    })?
    .collect()
}

/// Revokes a token; false when there is no such (unrevoked) token.
pub fn revoke(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, karya_shared::model::now_rfc3339()],
    )?;
    Ok(n > 0)
}

/// Why a token was not accepted, for the 401's detail.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
    Malformed,
    Unknown,
    Revoked { name: String },
}

pub fn verify(conn: &Connection, token: &str) -> rusqlite::Result<Result<Principal, Rejection>> {
    let Some(id) = token
        .strip_prefix("karya_")
        .and_then(|rest| rest.split_once('_'))
        .map(|(id, _)| id)
    else {
        return Ok(Err(Rejection::Malformed));
    };
    let row: Option<TokenRow> = conn
        .prepare_cached("SELECT hash, role, name, upt, revoked_at FROM tokens WHERE id = ?1")?
        .query_row([id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let Some((stored, role, name, upt, revoked_at)) = row else {
        return Ok(Err(Rejection::Unknown));
    };
    if !bool::from(stored.as_bytes().ct_eq(hash(token).as_bytes())) {
        return Ok(Err(Rejection::Unknown));
    }
    if revoked_at.is_some() {
        return Ok(Err(Rejection::Revoked { name }));
    }
    let Some(role) = Role::parse(&role, upt) else {
        return Ok(Err(Rejection::Unknown));
    };
    Ok(Ok(Principal {
        token_id: id.to_string(),
        name,
        role,
    }))
}

/// The token of a request: the `Authorization: Bearer` header, or for the dashboard in a
/// browser, the `karya_token` cookie.
fn token_of(parts: &Parts) -> Option<String> {
    if let Some(h) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        return h
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")
            .map(|t| t.trim().to_string());
    }
    let cookies = parts
        .headers
        .get(axum::http::header::COOKIE)?
        .to_str()
        .ok()?;
    cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == "karya_token")
        .map(|(_, v)| v.to_string())
}

impl FromRequestParts<Arc<AppState>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let unauthorized =
            |detail: String| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail);
        let Some(token) = token_of(parts) else {
            return Err(unauthorized(
                "no token: send 'Authorization: Bearer <token>' (the hub admin issues tokens with karya-hub token issue or upt add)".into(),
            ));
        };
        let verdict = state
            .with_store(move |store| verify(store.conn(), &token))
            .await??;
        match verdict {
            Ok(p) => Ok(p),
            Err(Rejection::Revoked { name }) => Err(unauthorized(format!(
                "the token '{name}' was revoked; ask the hub admin for a new one (karya-hub upt token CODE, or karya-hub token issue)"
            ))),
            Err(_) => Err(unauthorized(
                "the token is not valid; check it was copied whole, or ask the hub admin for a new one".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_verify_revoke() {
        let store = karya_shared::Store::open_in_memory(Some(crate::db::SCHEMA)).unwrap();
        let conn = store.conn();
        let (id, token) = issue(conn, &Role::Curator, "Subdit Kegiatan Kerja").unwrap();
        let p = verify(conn, &token).unwrap().unwrap();
        assert_eq!(p.role, Role::Curator);
        let mut forged = token.clone();
        forged.pop();
        forged.push('x');
        assert_eq!(
            verify(conn, &forged).unwrap().unwrap_err(),
            Rejection::Unknown
        );
        assert_eq!(
            verify(conn, "nonsense").unwrap().unwrap_err(),
            Rejection::Malformed
        );
        assert!(revoke(conn, &id).unwrap());
        assert!(matches!(
            verify(conn, &token).unwrap(),
            Err(Rejection::Revoked { .. })
        ));
        let stored: String = conn
            .query_row("SELECT hash FROM tokens", [], |r| r.get(0))
            .unwrap();
        assert!(
            !stored.contains(&token[20..]),
            "the token itself is never stored"
        );
    }
}
