//! The dashboard's sessions: started at sign-in, looked up per request, ended at sign-out
//! or when idle or too old.

use super::tokens::{TOKEN_COLUMNS, TokenRow, token_hash};
use super::{HubDb, Result};
use crate::access::Principal;
use rusqlite::params;

/// Sessions kept at most; past it the least recently used goes.
pub const MAX_SESSIONS: i64 = 10_000;

/// How long a dashboard session lives, in seconds: without a request, and at most.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    pub idle_secs: i64,
    pub lifetime_secs: i64,
}

impl HubDb {
    /// Starts a session for a verified token; returns (session id, CSRF token). Only the
    /// session id's hash is stored, and the token's id (never the token): a copy of the
    /// database signs no one in. Sessions past their time are dropped here, and past
    /// [`MAX_SESSIONS`] the least recently used go.
    pub fn start_session(
        &self,
        token_id: &str,
        now: i64,
        limits: SessionLimits,
    ) -> Result<(String, String)> {
        let id = hex::encode(rand::random::<[u8; 24]>());
        let csrf = hex::encode(rand::random::<[u8; 24]>());
        self.write(|c| {
            c.execute(
                "DELETE FROM sessions WHERE seen_at <= ?1 OR created_at <= ?2",
                params![now - limits.idle_secs, now - limits.lifetime_secs],
            )?;
            // Past the most recently seen MAX_SESSIONS - 1 (no LIMIT: an OFFSET alone is
            // what both engines accept).
            c.execute(
                "DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions
                   ORDER BY seen_at DESC, id_hash LIMIT ?2 OFFSET ?1)",
                params![MAX_SESSIONS - 1, i64::MAX],
            )?;
            c.execute(
                "INSERT INTO sessions (id_hash, token_id, csrf, created_at, seen_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                params![token_hash(&id), token_id, csrf, now],
            )?;
            Ok(())
        })?;
        Ok((id, csrf))
    }

    /// The person behind a live session and the session's CSRF token; `None` for a session
    /// unknown, ended, past its time, or whose token was revoked since. A session used is
    /// marked seen (written at most once a minute).
    pub fn session(
        &self,
        id: &str,
        now: i64,
        limits: SessionLimits,
    ) -> Result<Option<(Principal, String)>> {
        let hash = token_hash(id);
        let row = self.read(|c| {
            c.query_opt(
                &format!(
                    "SELECT s.csrf, s.created_at, s.seen_at, {TOKEN_COLUMNS}
                     FROM sessions s JOIN tokens t ON t.id = s.token_id WHERE s.id_hash = ?1"
                ),
                [&hash],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        TokenRow::read(r, 3)?,
                    ))
                },
            )
        })?;
        let Some((csrf, created, seen, token)) = row else {
            return Ok(None);
        };
        let alive = now - seen < limits.idle_secs && now - created < limits.lifetime_secs;
        let revoked = token.revoked_at.is_some();
        let principal = token.principal().filter(|p| p.role.can_read());
        let (true, false, Some(principal)) = (alive, revoked, principal) else {
            self.end_session(id)?;
            return Ok(None);
        };
        if now - seen >= 60 {
            self.write(|c| {
                c.execute(
                    "UPDATE sessions SET seen_at = ?2 WHERE id_hash = ?1",
                    params![hash, now],
                )
            })?;
        }
        Ok(Some((principal, csrf)))
    }

    pub fn end_session(&self, id: &str) -> Result<()> {
        self.write(|c| {
            c.execute("DELETE FROM sessions WHERE id_hash = ?1", [token_hash(id)])
                .map(|_| ())
        })
    }
}
