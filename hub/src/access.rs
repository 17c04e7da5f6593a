//! Who is asking: the roles, the authenticated principal, the tokens as stored, and why a
//! token was refused. Plain types, below the token check (`auth`) and the storage (`db`) that
//! both use them.

use crate::error::ApiError;
use serde::Serialize;

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
    /// A viewer's or curator's token limited to one Kanwil: it sees, curates and exports
    /// only that Kanwil's UPTs (enforced by every view, not only the pages).
    pub kanwil: Option<String>,
    /// An agent that signed the request with its own key (see `karya_shared::agentkey`):
    /// the SHA-256 (hex) its body must have, and whether the key is still to be found in the
    /// registry (a hub being rebuilt takes the registry from it first).
    pub signed: Option<Signed>,
}

/// What a request signed with an agent's key binds (see [`Principal::signed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub body_sha256: String,
    pub key: String,
    /// The key is not (yet) in the registry: only allowed while the hub is rebuilt.
    pub provisional: bool,
}

impl Principal {
    /// Refuses a signed request whose body is not the one signed.
    pub fn check_body(&self, body: &[u8]) -> Result<(), ApiError> {
        match &self.signed {
            Some(s) if karya_shared::agentkey::body_hash(body) != s.body_sha256 => {
                Err(ApiError::new(
                    axum::http::StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "the body is not the one the agent's key signed; nothing was merged",
                ))
            }
            _ => Ok(()),
        }
    }
}

impl Principal {
    /// 404 for a UPT outside this token's Kanwil (as if it were not there: a Kanwil's token
    /// learns nothing of the others).
    pub fn may_see(&self, upt_kanwil: Option<&str>, what: &str) -> Result<(), ApiError> {
        match &self.kanwil {
            Some(mine) if upt_kanwil != Some(mine.as_str()) => Err(ApiError::not_found(format!(
                "no {what} at the hub in Kanwil {mine} (this token sees Kanwil {mine} only)"
            ))),
            _ => Ok(()),
        }
    }
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

/// Why a token was not accepted, for the 401's detail.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
    Malformed,
    Unknown,
    /// A known token id with the wrong secret; `upt` is the UPT of an agent token's id.
    Mismatch {
        token_id: String,
        upt: Option<String>,
    },
    /// A revoked token; `upt` is the UPT of an agent token.
    Revoked {
        token_id: String,
        name: String,
        upt: Option<String>,
    },
}

impl Rejection {
    /// The id of a token the hub knows (revoked, or sent with the wrong secret).
    pub fn token_id(&self) -> Option<&str> {
        match self {
            Rejection::Revoked { token_id, .. } | Rejection::Mismatch { token_id, .. } => {
                Some(token_id)
            }
            _ => None,
        }
    }

    /// The UPT whose agent token this was, the token's id and why it failed, for the count
    /// per UPT.
    pub(crate) fn of_upt(&self) -> Option<(&str, &str, &'static str)> {
        match self {
            Rejection::Revoked {
                token_id,
                upt: Some(upt),
                ..
            } => Some((upt, token_id, "revoked")),
            Rejection::Mismatch {
                token_id,
                upt: Some(upt),
            } => Some((upt, token_id, "wrong secret")),
            _ => None,
        }
    }
}
