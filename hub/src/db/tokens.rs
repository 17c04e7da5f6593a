//! Tokens: issued, listed, revoked, checked (by hash, in constant time), and the failures
//! of an agent's token counted per UPT.

use super::{HubDb, Result};
use crate::access::{Principal, Rejection, Role, TokenInfo};
use karya_shared::sql::{Sql, SqlRow};
use rusqlite::params;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The columns of a token that make its [`Principal`], read by [`TokenRow::read`] (the token
/// table is `t` in the query).
pub(super) const TOKEN_COLUMNS: &str = "t.id, t.role, t.name, t.upt, t.revoked_at, t.kanwil";

/// A token as stored (without its hash).
pub(super) struct TokenRow {
    id: String,
    role: String,
    name: String,
    upt: Option<String>,
    pub(super) revoked_at: Option<String>,
    kanwil: Option<String>,
}

impl TokenRow {
    /// The [`TOKEN_COLUMNS`] of a row, from column `at` on.
    pub(super) fn read(r: &SqlRow<'_>, at: usize) -> rusqlite::Result<TokenRow> {
        Ok(TokenRow {
            id: r.get(at)?,
            role: r.get(at + 1)?,
            name: r.get(at + 2)?,
            upt: r.get(at + 3)?,
            revoked_at: r.get(at + 4)?,
            kanwil: r.get(at + 5)?,
        })
    }

    /// Who the token stands for; `None` for a role this release does not know.
    pub(super) fn principal(self) -> Option<Principal> {
        Some(Principal {
            role: Role::parse(&self.role, self.upt)?,
            token_id: self.id,
            name: self.name,
            kanwil: self.kanwil,
            signed: None,
        })
    }
}

pub(super) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub(super) fn issue_token(
    conn: &mut Sql<'_>,
    role: &Role,
    name: &str,
    kanwil: Option<&str>,
) -> Result<(String, String)> {
    let id = hex::encode(rand::random::<[u8; 6]>());
    let secret = hex::encode(rand::random::<[u8; 24]>());
    let token = format!("karya_{id}_{secret}");
    let upt = match role {
        Role::Agent { upt } => Some(upt.as_str()),
        _ => None,
    };
    conn.execute(
        "INSERT INTO tokens (id, hash, role, name, upt, created_at, kanwil) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![id, token_hash(&token), role.name(), name, upt, karya_shared::model::now_rfc3339(), kanwil],
    )?;
    Ok((id, token))
}

impl HubDb {
    /// Issues a token and returns (id, token). The token is shown once; only its hash is kept.
    pub fn issue_token(&self, role: &Role, name: &str) -> Result<(String, String)> {
        self.write(|c| issue_token(c, role, name, None))
    }

    /// Issues a viewer or curator token that sees only the UPTs of `kanwil`.
    pub fn issue_kanwil_token(
        &self,
        role: &Role,
        name: &str,
        kanwil: &str,
    ) -> Result<(String, String)> {
        self.write(|c| issue_token(c, role, name, Some(kanwil)))
    }

    pub fn tokens(&self) -> Result<Vec<TokenInfo>> {
        self.read(|c| {
            c.query_map(
                "SELECT id, role, name, upt, created_at, revoked_at FROM tokens ORDER BY created_at, id",
                params![],
                |r| {
                    Ok(TokenInfo {
                        id: r.get(0)?,
                        role: r.get(1)?,
                        name: r.get(2)?,
                        upt: r.get(3)?,
                        created_at: r.get(4)?,
                        revoked_at: r.get(5)?,
                    })
                },
            )
        })
    }

    /// Revokes a token; false when there is no such (unrevoked) token.
    pub fn revoke_token(&self, id: &str) -> Result<bool> {
        let upt: Option<String> = self.write(|c| {
            let n = c.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, karya_shared::model::now_rfc3339()],
            )?;
            if n == 0 {
                return Ok(None);
            }
            Ok(c.query_opt(
                "SELECT upt FROM tokens WHERE id = ?1 AND role = 'agent'",
                params![id],
                |r| r.get::<_, Option<String>>(0),
            )?
            .flatten()
            .or(Some(String::new())))
        })?;
        let Some(upt) = upt else {
            return Ok(false);
        };
        // An agent's token revoked: the UPT's agents' keys go with it (the installation
        // behind the token must not go on by its key); the others offer theirs again at
        // their next sync with a valid token.
        if !upt.is_empty() {
            self.clear_agent_keys(&upt)?;
        }
        Ok(true)
    }

    /// Checks a bearer token (on a read connection: never waits for a write).
    pub fn verify_token(&self, token_text: &str) -> Result<Result<Principal, Rejection>> {
        let Some(id) = token_text
            .strip_prefix("karya_")
            .and_then(|rest| rest.split_once('_'))
            .map(|(id, _)| id)
        else {
            return Ok(Err(Rejection::Malformed));
        };
        let row = self.read(|c| {
            c.query_opt(
                &format!("SELECT t.hash, {TOKEN_COLUMNS} FROM tokens t WHERE t.id = ?1"),
                [id],
                |r| Ok((r.get::<_, String>(0)?, TokenRow::read(r, 1)?)),
            )
        })?;
        let Some((stored, token)) = row else {
            return Ok(Err(Rejection::Unknown));
        };
        if !bool::from(stored.as_bytes().ct_eq(token_hash(token_text).as_bytes())) {
            return Ok(Err(Rejection::Mismatch {
                token_id: token.id,
                upt: token.upt,
            }));
        }
        if token.revoked_at.is_some() {
            return Ok(Err(Rejection::Revoked {
                token_id: token.id,
                name: token.name,
                upt: token.upt,
            }));
        }
        Ok(token.principal().ok_or(Rejection::Unknown))
    }

    /// Counts a refused token attempt against the UPT whose agent token it names (revoked,
    /// or the right id with a wrong secret), so HQ sees a UPT that keeps failing.
    pub fn record_token_failure(&self, upt: &str, token_id: &str, reason: &str) -> Result<()> {
        let now = karya_shared::model::now_rfc3339();
        self.write(|c| {
            c.execute(
                "INSERT INTO token_failures (upt, count, first_at, last_at, last_reason, last_token)
                 VALUES (?1, 1, ?2, ?2, ?3, ?4)
                 ON CONFLICT(upt) DO UPDATE SET count = token_failures.count + 1, last_at = ?2,
                   last_reason = ?3, last_token = ?4",
                params![upt, now, reason, token_id],
            )
            .map(|_| ())
        })
    }
}
