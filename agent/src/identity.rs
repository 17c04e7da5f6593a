//! The local identity table: who is behind each pseudonym. It lives only in the agent's
//! database and is never part of any document, so names and registration numbers never leave
//! the UPT.

use crate::text::agent as text;
use karya_shared::Store;
use karya_shared::store::AppSchema;
use rusqlite::{OptionalExtension, params};

pub const SCHEMA: AppSchema = AppSchema {
    name: "agent",
    migrations: &[
        r#"-- local identities behind the pseudonyms (never synced)
        CREATE TABLE identities (
            pseudonym TEXT PRIMARY KEY,
            reg_no TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
    "#,
        r#"-- photo blobs the hub has whole (never sent again)
        CREATE TABLE uploaded_blobs (hash TEXT PRIMARY KEY, at TEXT NOT NULL);
    "#,
        r#"-- operator console: accounts (Argon2id hashes) and the events the Log page shows
        CREATE TABLE console_users (
            name TEXT PRIMARY KEY,
            hash TEXT NOT NULL,
            failed INTEGER NOT NULL DEFAULT 0,
            locked_until INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            message TEXT NOT NULL
        );
    "#,
        r#"-- photo uploads begun and not acknowledged whole: the next try asks the hub first
        CREATE TABLE upload_tries (hash TEXT PRIMARY KEY, at TEXT NOT NULL);
    "#,
        r#"-- console accounts that may change the UPT's settings (the token) from the console
        ALTER TABLE console_users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
    "#,
    ],
};

/// The agent's pseudonym secret, made once at first use. A secret that is damaged, or that
/// went missing once pseudonyms were made with it, is a loud error: a new or empty key would
/// give every participant a second pseudonym at HQ.
pub fn secret(store: &Store) -> Result<Vec<u8>, karya_shared::StoreError> {
    let lost = |why: &str| {
        karya_shared::StoreError::from(karya_shared::schema::SchemaError::Invalid(
            karya_shared::model::ValidationError::new("pseudonym secret", text::secret_lost(why)),
        ))
    };
    match store.meta("pseudonym_secret")? {
        Some(hex) => match hex::decode(hex.trim()) {
            Ok(bytes) if bytes.len() == 32 => Ok(bytes),
            _ => Err(lost(text::secret_damaged())),
        },
        None => {
            let used: bool =
                store
                    .conn()
                    .query_row("SELECT EXISTS(SELECT 1 FROM identities)", [], |r| r.get(0))?;
            if used {
                return Err(lost(text::secret_missing()));
            }
            store.conn().execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('pseudonym_secret', ?1)",
                [karya_shared::pseudonym::new_secret()],
            )?;
            let hex = store.meta("pseudonym_secret")?.unwrap_or_default();
            hex::decode(hex).map_err(|_| lost(text::secret_unreadable()))
        }
    }
}

/// Sets the secret from another agent of the same UPT. Only where no pseudonym was made with
/// another one here: changing it then would split every participant in two.
pub fn set_secret(store: &Store, hex_secret: &str) -> Result<(), crate::AgentError> {
    let bytes = hex::decode(hex_secret)
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| crate::AgentError::Usage(text::secret_file_shape().into()))?;
    // Another secret may be replaced only while nobody was enrolled with it here (the one
    // `init` made on a reinstalled PC).
    let used: bool =
        store
            .conn()
            .query_row("SELECT EXISTS(SELECT 1 FROM identities)", [], |r| r.get(0))?;
    if used
        && store
            .meta("pseudonym_secret")?
            .is_some_and(|existing| existing != hex::encode(&bytes))
    {
        return Err(crate::AgentError::Usage(text::secret_differs().into()));
    }
    store.set_meta("pseudonym_secret", &hex::encode(bytes))?;
    store.set_meta("pseudonym_secret_from", "import")?;
    Ok(())
}

/// Whether this installation's secret is the one the UPT's participants were enrolled with,
/// as far as can be told: it was imported, or chosen knowingly (`secret new`), or the UPT
/// has no participants yet, or this installation enrolled one of them. Otherwise (a new
/// installation whose init made a secret, and whose participants came down from the hub)
/// an enrolment would give the same people second pseudonyms: a loud refusal with the fix.
pub fn check_secret_fits(store: &Store) -> Result<(), karya_shared::StoreError> {
    if store.meta("pseudonym_secret_from")?.is_some()
        || store.meta("pseudonym_secret_new")?.is_some()
    {
        return Ok(());
    }
    let conn = store.conn();
    let theirs: i64 = conn.query_row("SELECT COUNT(*) FROM participants", [], |r| r.get(0))?;
    if theirs == 0 {
        return Ok(());
    }
    let ours: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM participants p JOIN identities i ON i.pseudonym = p.pseudonym)",
        [],
        |r| r.get(0),
    )?;
    if ours {
        return Ok(());
    }
    Err(karya_shared::StoreError::from(
        karya_shared::schema::SchemaError::Invalid(karya_shared::model::ValidationError::new(
            "pseudonym secret",
            text::secret_of_another_install(theirs),
        )),
    ))
}

/// Keeps this installation's own secret on purpose where the UPT's participants were
/// enrolled with one that is lost for good: from now on the same people enrolled again count
/// twice at HQ.
pub fn new_secret_knowingly(store: &Store) -> Result<(), crate::AgentError> {
    secret(store)?;
    store.set_meta("pseudonym_secret_new", &karya_shared::model::now_rfc3339())?;
    Ok(())
}

/// This installation's own key (Ed25519), made at first use and kept in its database; the
/// public half goes into the UPT's registry entry (see `karya_shared::agentkey`).
pub fn agent_key(
    store: &Store,
) -> Result<karya_shared::agentkey::SigningKey, karya_shared::StoreError> {
    if let Some(seed) = store.meta("agent_key")?
        && let Some(bytes) = hex::decode(seed.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
    {
        return Ok(karya_shared::agentkey::from_seed(&bytes));
    }
    let seed = karya_shared::agentkey::new_seed();
    store.conn().execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('agent_key', ?1)",
        [hex::encode(seed)],
    )?;
    Ok(karya_shared::agentkey::from_seed(&seed))
}

/// Records (or updates) who a pseudonym stands for and returns the pseudonym.
pub fn remember(
    store: &Store,
    reg_no: &str,
    name: &str,
) -> Result<String, karya_shared::StoreError> {
    let pseudonym = karya_shared::pseudonym::pseudonym(&secret(store)?, reg_no);
    store.conn().execute(
        "INSERT INTO identities (pseudonym, reg_no, name, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(pseudonym) DO UPDATE SET name = CASE WHEN ?3 = '' THEN name ELSE ?3 END",
        params![
            pseudonym,
            karya_shared::pseudonym::normalise_reg_no(reg_no),
            name.trim(),
            karya_shared::model::now_rfc3339()
        ],
    )?;
    Ok(pseudonym)
}

/// (registration number, name) behind a pseudonym, for local display only.
pub fn lookup(
    store: &Store,
    pseudonym: &str,
) -> Result<Option<(String, String)>, karya_shared::StoreError> {
    Ok(store
        .conn()
        .query_row(
            "SELECT reg_no, name FROM identities WHERE pseudonym = ?1",
            [pseudonym],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Notes an event for the console's Log page (syncs, imports, refusals); the last 500 are kept.
pub fn note_event(store: &Store, kind: &str, message: &str) {
    let conn = store.conn();
    let _ = conn.execute(
        "INSERT INTO events (at, kind, message) VALUES (?1, ?2, ?3)",
        params![karya_shared::model::now_rfc3339(), kind, message],
    );
    let _ = conn.execute(
        "DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - 500",
        [],
    );
}

/// The last `n` events, newest first: (time, kind, message).
pub fn events(
    store: &Store,
    n: usize,
) -> Result<Vec<(String, String, String)>, karya_shared::StoreError> {
    let conn = store.conn();
    let mut stmt =
        conn.prepare("SELECT at, kind, message FROM events ORDER BY seq DESC LIMIT ?1")?;
    let rows = stmt
        .query_map([n as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        Store::open_in_memory(Some(SCHEMA)).unwrap()
    }

    #[test]
    fn a_damaged_or_lost_secret_is_a_loud_error_never_an_empty_key() {
        let s = store();
        let first = secret(&s).unwrap();
        assert_eq!(first.len(), 32);
        assert_eq!(secret(&s).unwrap(), first, "made once");
        remember(&s, "AB 1/2026", "Agus").unwrap();

        s.conn()
            .execute(
                "UPDATE meta SET value = 'zz' WHERE key = 'pseudonym_secret'",
                [],
            )
            .unwrap();
        let err = secret(&s).unwrap_err().to_string();
        assert!(
            err.contains("rusak") && err.contains("secret export"),
            "{err}"
        );

        s.conn()
            .execute("DELETE FROM meta WHERE key = 'pseudonym_secret'", [])
            .unwrap();
        let err = secret(&s).unwrap_err().to_string();
        assert!(err.contains("hilang"), "{err}");
        assert!(
            s.meta("pseudonym_secret").unwrap().is_none(),
            "no new secret was made"
        );
    }
}
