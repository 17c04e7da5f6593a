//! Console accounts: names and Argon2id password hashes in the agent's database, and the
//! slow-down after failed logins.

use crate::AgentError;
use crate::text::agent as text;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use karya_shared::Store;
use rusqlite::{OptionalExtension, params};
use std::collections::HashMap;

/// Failed logins in a row after which an account is slowed down.
pub const FREE_FAILURES: i64 = 5;

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn hash(password: &str) -> Result<String, AgentError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| AgentError::Io(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AgentError::Io(e.to_string()))
}

pub fn check_name(name: &str) -> Result<(), AgentError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(AgentError::Usage(text::account_name_shape(name)))
    }
}

fn check_password(password: &str) -> Result<(), AgentError> {
    if password.chars().count() < 8 {
        return Err(AgentError::Usage(text::password_too_short().into()));
    }
    Ok(())
}

/// Sets (or adds) an account's password, and unlocks it.
pub fn set_password(
    store: &Store,
    name: &str,
    password: &str,
    add: bool,
) -> Result<(), AgentError> {
    check_name(name)?;
    check_password(password)?;
    let h = hash(password)?;
    let conn = store.conn();
    if add {
        let added = conn.execute(
            "INSERT OR IGNORE INTO console_users (name, hash, created_at) VALUES (?1, ?2, ?3)",
            params![name, h, karya_shared::model::now_rfc3339()],
        )?;
        if added == 0 {
            return Err(AgentError::Usage(text::account_exists(name)));
        }
    } else {
        let changed = conn.execute(
            "UPDATE console_users SET hash = ?2, failed = 0, locked_until = 0 WHERE name = ?1",
            params![name, h],
        )?;
        if changed == 0 {
            return Err(AgentError::Usage(text::no_account(name)));
        }
    }
    Ok(())
}

/// Why a login did not succeed.
#[derive(Debug, PartialEq, Eq)]
pub enum LoginRefused {
    /// Wrong name or password (which one is not said).
    Wrong,
    /// Too many failures in a row: try again after this many seconds.
    SlowDown(i64),
}

/// Checks a login; failures are counted, and after [`FREE_FAILURES`] in a row the account
/// waits 30 s, doubling with each further failure (at most 15 minutes). The attempt is
/// counted, and the wait set, in one statement before the password is checked (and undone
/// when it was right): logins tried in parallel cannot pass the count between a read and a
/// write. `Ok(Ok(tag))`: the stored hash, which names this password until it is changed.
pub fn login(
    store: &Store,
    name: &str,
    password: &str,
) -> Result<Result<String, LoginRefused>, AgentError> {
    let conn = store.conn();
    let now = now_secs();
    let taken: Option<String> = conn
        .query_row(
            "UPDATE console_users SET failed = failed + 1,
                 locked_until = CASE WHEN failed + 1 >= ?3
                     THEN ?2 + MIN(900, 30 << MIN(failed + 1 - ?3, 5)) ELSE 0 END
             WHERE name = ?1 AND locked_until <= ?2
             RETURNING hash || CASE WHEN admin = 1 THEN ' admin' ELSE '' END",
            params![name, now, FREE_FAILURES],
            |r| r.get(0),
        )
        .optional()?;
    let Some(stored) = taken else {
        let locked: Option<i64> = conn
            .query_row(
                "SELECT locked_until FROM console_users WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(until) = locked.filter(|u| *u > now) {
            return Ok(Err(LoginRefused::SlowDown(until - now)));
        }
        // The same work as a real check, so a name's existence does not show in the time.
        let _ = hash(password);
        return Ok(Err(LoginRefused::Wrong));
    };
    let good = PasswordHash::new(stored.trim_end_matches(ADMIN_MARK))
        .map(|h| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false);
    if good {
        conn.execute(
            "UPDATE console_users SET failed = 0, locked_until = 0 WHERE name = ?1",
            [name],
        )?;
        return Ok(Ok(stored));
    }
    let locked_until: i64 = conn.query_row(
        "SELECT locked_until FROM console_users WHERE name = ?1",
        [name],
        |r| r.get(0),
    )?;
    Ok(Err(if locked_until > now {
        LoginRefused::SlowDown(locked_until - now)
    } else {
        LoginRefused::Wrong
    }))
}

/// What ends a session's tag when its account is an admin's.
const ADMIN_MARK: &str = " admin";

/// Whether a session's tag (see [`login`]) is an admin account's.
pub fn is_admin_tag(tag: &str) -> bool {
    tag.ends_with(ADMIN_MARK)
}

/// Makes an account an admin's (who may change the UPT's token in the console) or not;
/// its sessions end, so the change shows at the next sign-in.
pub fn set_admin(store: &Store, name: &str, admin: bool) -> Result<(), AgentError> {
    let changed = store.conn().execute(
        "UPDATE console_users SET admin = ?2 WHERE name = ?1",
        params![name, i64::from(admin)],
    )?;
    if changed == 0 {
        return Err(AgentError::Usage(text::no_account(name)));
    }
    Ok(())
}

/// Every account's name and the tag of its password and role (see [`login`]): a session
/// whose account is gone, or whose password or role changed since, ends.
pub fn tags(store: &Store) -> Result<HashMap<String, String>, AgentError> {
    let conn = store.conn();
    let mut stmt = conn.prepare(
        "SELECT name, hash || CASE WHEN admin = 1 THEN ' admin' ELSE '' END FROM console_users",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Whether any account exists (the console says how to make one when none does).
pub fn any(store: &Store) -> Result<bool, AgentError> {
    Ok(store
        .conn()
        .query_row("SELECT EXISTS(SELECT 1 FROM console_users)", [], |r| {
            r.get(0)
        })?)
}

/// Removes an account; `false` when there was none of that name. Its sessions end within
/// a few seconds (the running console checks).
pub fn remove(store: &Store, name: &str) -> Result<bool, AgentError> {
    Ok(store
        .conn()
        .execute("DELETE FROM console_users WHERE name = ?1", [name])?
        > 0)
}

/// Every account: name, when it was made, failed logins in a row, whether an admin's.
pub fn list(store: &Store) -> Result<Vec<(String, String, i64, bool)>, AgentError> {
    let conn = store.conn();
    let mut stmt =
        conn.prepare("SELECT name, created_at, failed, admin FROM console_users ORDER BY name")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
