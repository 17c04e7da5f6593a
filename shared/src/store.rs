//! The replica store: Automerge documents in SQLite, on the agent and on the hub alike.
//!
//! Per document the store keeps a snapshot plus the incremental chunks appended at each
//! change; [`Store::compact`] folds them into a new snapshot inside one transaction. Every
//! write (a local change or a received sync message) appends its chunk, updates the
//! materialized tables for exactly the records it touched, and commits, in one SQLite
//! transaction: when a write returns, it is on disk; when it fails, nothing of it is.
//!
//! The per-(peer, document) Automerge sync state is persisted too, so a sync session starts
//! from what both sides already share instead of from zero.

use crate::materialize;
use crate::schema::{DocId, RecordKey, SchemaError};
use automerge::sync::{self, SyncDoc};
use automerge::{
    ActorId, AutoCommit, AutomergeError, ChangeHash, PatchAction, Prop, ROOT,
    transaction::CommitOptions,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// The schema of the shared tables; each entry migrates from the version before it.
const MIGRATIONS: &[&str] = &[
    // 1: documents, sync state, materialized tables.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE docs (
        doc_id TEXT PRIMARY KEY,
        snapshot BLOB,
        n_chunks INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE chunks (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL,
        data BLOB NOT NULL
    );
    CREATE INDEX chunks_doc ON chunks(doc_id, seq);
    CREATE TABLE sync_states (
        peer TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        state BLOB NOT NULL,
        PRIMARY KEY (peer, doc_id)
    );
    CREATE TABLE products (
        upt TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, category TEXT NOT NULL,
        description TEXT NOT NULL, price_idr INTEGER NOT NULL, unit TEXT NOT NULL,
        stock INTEGER NOT NULL, workshop TEXT NOT NULL, certifications TEXT NOT NULL,
        nominated INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        deleted INTEGER NOT NULL, conflicts TEXT NOT NULL,
        PRIMARY KEY (upt, id)
    );
    CREATE INDEX products_id ON products(id);
    CREATE TABLE sales (
        upt TEXT NOT NULL, id TEXT NOT NULL, product_id TEXT NOT NULL, date TEXT NOT NULL,
        quantity INTEGER NOT NULL, revenue_idr INTEGER NOT NULL, channel TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (upt, id)
    );
    CREATE TABLE trainings (
        upt TEXT NOT NULL, id TEXT NOT NULL, program TEXT NOT NULL, category TEXT NOT NULL,
        partner TEXT NOT NULL, start_date TEXT NOT NULL, end_date TEXT NOT NULL,
        hours INTEGER NOT NULL, instructor TEXT NOT NULL, capacity INTEGER NOT NULL,
        scheme TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        deleted INTEGER NOT NULL, conflicts TEXT NOT NULL,
        PRIMARY KEY (upt, id)
    );
    CREATE TABLE participants (
        upt TEXT NOT NULL, training_id TEXT NOT NULL, pseudonym TEXT NOT NULL,
        enrolled_at TEXT NOT NULL, hours_attended INTEGER NOT NULL, status TEXT NOT NULL,
        certificate TEXT NOT NULL,
        PRIMARY KEY (upt, training_id, pseudonym)
    );
    CREATE TABLE curation (
        upt TEXT NOT NULL, product_id TEXT NOT NULL, status TEXT NOT NULL, note TEXT NOT NULL,
        decided_by TEXT NOT NULL, decided_at TEXT NOT NULL,
        PRIMARY KEY (upt, product_id)
    );
    CREATE TABLE upts (code TEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL, kanwil TEXT NOT NULL);
    CREATE TABLE categories (kind TEXT NOT NULL, slug TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (kind, slug));
    "#,
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the disk is full ({0}); free some space and try again; nothing was written")]
    DiskFull(String),
    #[error("database: {0}")]
    Sqlite(rusqlite::Error),
    #[error(
        "document {doc} could not be loaded ({source}); restore the data directory from a backup or re-initialise and sync from the hub"
    )]
    Corrupt {
        doc: String,
        source: Box<AutomergeError>,
    },
    #[error("sync message for {doc} could not be applied: {source}")]
    Sync {
        doc: String,
        source: Box<AutomergeError>,
    },
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error(
        "the database {what} has schema version {found}, newer than this build of karya knows ({known}); upgrade karya"
    )]
    TooNew {
        what: &'static str,
        found: i64,
        known: i64,
    },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, _) = &e
            && f.code == rusqlite::ErrorCode::DiskFull
        {
            return StoreError::DiskFull(e.to_string());
        }
        StoreError::Sqlite(e)
    }
}

impl From<crate::model::ValidationError> for StoreError {
    fn from(e: crate::model::ValidationError) -> Self {
        StoreError::Schema(SchemaError::Invalid(e))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What receiving a sync message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Applied; the number of new changes it brought (0 for a pure heads exchange).
    Applied { new_changes: usize },
    /// The sender may not write this document and the message carried changes new to us:
    /// nothing of it was merged and the sync state is unchanged.
    Refused { new_changes: usize },
}

/// Whether a peer may add changes to a document. Automerge itself authenticates nothing, so
/// the hub decides this from the authenticated HTTP peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritePolicy {
    MayWrite,
    ReadOnly,
}

/// A bounded cache of loaded documents: the hub's memory follows the cache size, not the
/// number of UPTs.
struct DocCache {
    capacity: usize,
    tick: u64,
    docs: HashMap<String, (AutoCommit, u64)>,
}

impl DocCache {
    fn touch(&mut self, key: &str) -> Option<&mut AutoCommit> {
        self.tick += 1;
        let tick = self.tick;
        self.docs.get_mut(key).map(|(doc, t)| {
            *t = tick;
            doc
        })
    }

    fn insert(&mut self, key: String, doc: AutoCommit) {
        if self.docs.len() >= self.capacity
            && let Some(oldest) = self
                .docs
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| k.clone())
        {
            self.docs.remove(&oldest);
        }
        self.tick += 1;
        self.docs.insert(key, (doc, self.tick));
    }
}

pub struct Store {
    conn: Connection,
    cache: DocCache,
    actor: ActorId,
    /// A document is compacted once this many incremental chunks have piled up.
    compact_after: i64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("actor", &self.actor.to_hex_string())
            .finish_non_exhaustive()
    }
}

/// The application's own tables (the agent's identities, the hub's tokens), migrated like the
/// shared ones, with their version kept under `meta.<name>_schema`.
#[derive(Debug, Clone, Copy)]
pub struct AppSchema {
    pub name: &'static str,
    pub migrations: &'static [&'static str],
}

impl Store {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path, app: Option<AppSchema>) -> Result<Store> {
        let conn = Connection::open(path)?;
        Self::init(conn, app)
    }

    pub fn open_in_memory(app: Option<AppSchema>) -> Result<Store> {
        Self::init(Connection::open_in_memory()?, app)
    }

    fn init(mut conn: Connection, app: Option<AppSchema>) -> Result<Store> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a write is durable when the command that made it returns, power loss included.
        conn.pragma_update(None, "synchronous", "FULL")?;
        migrate(&mut conn)?;
        if let Some(app) = app {
            migrate_app(&mut conn, app)?;
        }
        let actor = match meta_get(&conn, "actor")? {
            Some(hex) => ActorId::from(hex::decode(hex).unwrap_or_default()),
            None => {
                let actor = ActorId::random();
                meta_set(&conn, "actor", &actor.to_hex_string())?;
                actor
            }
        };
        Ok(Store {
            conn,
            cache: DocCache {
                capacity: 64,
                tick: 0,
                docs: HashMap::new(),
            },
            actor,
            compact_after: 256,
        })
    }

    /// How many documents stay loaded in memory.
    pub fn set_cache_capacity(&mut self, capacity: usize) {
        self.cache.capacity = capacity.max(1);
    }

    pub fn set_compact_after(&mut self, chunks: i64) {
        self.compact_after = chunks.max(1);
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn actor(&self) -> &ActorId {
        &self.actor
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        meta_get(&self.conn, key)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        meta_set(&self.conn, key, value)
    }

    /// The ids of the documents this store holds.
    pub fn doc_ids(&self) -> Result<Vec<DocId>> {
        let mut stmt = self
            .conn
            .prepare("SELECT doc_id FROM docs ORDER BY doc_id")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ids.iter().filter_map(|s| DocId::parse(s)).collect())
    }

    fn load(&self, key: &str) -> Result<AutoCommit> {
        let snapshot: Option<Option<Vec<u8>>> = self
            .conn
            .query_row("SELECT snapshot FROM docs WHERE doc_id = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?;
        let corrupt = |source| StoreError::Corrupt {
            doc: key.to_string(),
            source: Box::new(source),
        };
        let mut doc = match snapshot.flatten() {
            Some(bytes) => AutoCommit::load(&bytes).map_err(corrupt)?,
            None => AutoCommit::new(),
        };
        let mut stmt = self
            .conn
            .prepare_cached("SELECT data FROM chunks WHERE doc_id = ?1 ORDER BY seq")?;
        let mut rows = stmt.query([key])?;
        while let Some(row) = rows.next()? {
            let data: Vec<u8> = row.get(0)?;
            doc.load_incremental(&data).map_err(corrupt)?;
        }
        doc.set_actor(self.actor.clone());
        Ok(doc)
    }

    /// The document, loaded through the cache.
    pub fn doc(&mut self, id: &DocId) -> Result<&mut AutoCommit> {
        let key = id.to_string();
        if self.cache.touch(&key).is_none() {
            let doc = self.load(&key)?;
            self.cache.insert(key.clone(), doc);
        }
        Ok(self.cache.touch(&key).expect("just inserted"))
    }

    pub fn heads(&mut self, id: &DocId) -> Result<Vec<ChangeHash>> {
        Ok(self.doc(id)?.get_heads())
    }

    /// Makes a local change. `f` edits the document; if it fails, or persisting fails, the
    /// document is left as it was, in memory and on disk.
    pub fn change<T>(
        &mut self,
        id: &DocId,
        f: impl FnOnce(&mut AutoCommit) -> Result<T, SchemaError>,
    ) -> Result<T> {
        let doc = self.doc(id)?;
        let before = doc.get_heads();
        let value = match f(doc) {
            Ok(v) => v,
            Err(e) => {
                doc.rollback();
                return Err(e.into());
            }
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        doc.commit_with(CommitOptions::default().with_time(now));
        self.persist_since(id, &before)?;
        Ok(value)
    }

    /// Appends everything after `before` as a chunk and updates the materialized tables, in
    /// one transaction. On failure the cached document is dropped, so memory never runs ahead
    /// of the disk.
    fn persist_since(&mut self, id: &DocId, before: &[ChangeHash]) -> Result<()> {
        let key = id.to_string();
        let result = self.try_persist_since(id, &key, before, None);
        if result.is_err() {
            self.cache.docs.remove(&key);
        }
        result
    }

    fn try_persist_since(
        &mut self,
        id: &DocId,
        key: &str,
        before: &[ChangeHash],
        sync_state: Option<(&str, &sync::State)>,
    ) -> Result<()> {
        let (doc, _) = self.cache.docs.get_mut(key).expect("document is loaded");
        let after = doc.get_heads();
        if after.as_slice() == before {
            if let Some((peer, state)) = sync_state {
                save_sync_state(&self.conn, peer, key, state)?;
            }
            return Ok(());
        }
        let chunk = doc.save_after(before);
        let touched = touched_records(doc, before, &after);
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO chunks (doc_id, data) VALUES (?1, ?2)",
            params![key, chunk],
        )?;
        tx.execute(
            "INSERT INTO docs (doc_id, n_chunks, updated_at) VALUES (?1, 1, ?2)
             ON CONFLICT(doc_id) DO UPDATE SET n_chunks = n_chunks + 1, updated_at = ?2",
            params![key, crate::model::now_rfc3339()],
        )?;
        for record in &touched {
            materialize::apply(&tx, id, doc, record)?;
        }
        if let Some((peer, state)) = sync_state {
            save_sync_state(&tx, peer, key, state)?;
        }
        tx.commit()?;
        let n_chunks: i64 =
            self.conn
                .query_row("SELECT n_chunks FROM docs WHERE doc_id = ?1", [key], |r| {
                    r.get(0)
                })?;
        if n_chunks >= self.compact_after {
            self.compact(id)?;
        }
        Ok(())
    }

    /// Folds the snapshot and every chunk of a document into a new snapshot, atomically.
    pub fn compact(&mut self, id: &DocId) -> Result<()> {
        let key = id.to_string();
        let snapshot = self.doc(id)?.save();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO docs (doc_id, snapshot, n_chunks, updated_at) VALUES (?1, ?2, 0, ?3)
             ON CONFLICT(doc_id) DO UPDATE SET snapshot = ?2, n_chunks = 0, updated_at = ?3",
            params![key, snapshot, crate::model::now_rfc3339()],
        )?;
        tx.execute("DELETE FROM chunks WHERE doc_id = ?1", [&key])?;
        tx.commit()?;
        Ok(())
    }

    /// Rows stored for a document (1 snapshot row, if any, plus its chunks).
    pub fn stored_rows(&self, id: &DocId) -> Result<i64> {
        let key = id.to_string();
        let snapshots: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM docs WHERE doc_id = ?1 AND snapshot IS NOT NULL",
            [&key],
            |r| r.get(0),
        )?;
        let chunks: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM chunks WHERE doc_id = ?1",
            [&key],
            |r| r.get(0),
        )?;
        Ok(snapshots + chunks)
    }

    /// Re-reads a whole document into the materialized tables. The incremental path keeps them
    /// current; this repairs them (after a schema migration, say) and checks them in tests.
    pub fn rebuild_materialized(&mut self, id: &DocId) -> Result<()> {
        let key = id.to_string();
        self.doc(id)?;
        let (doc, _) = self.cache.docs.get_mut(&key).expect("loaded");
        let tx = self.conn.transaction()?;
        materialize::clear(&tx, id)?;
        for record in crate::schema::record_keys(doc) {
            materialize::apply(&tx, id, doc, &record)?;
        }
        tx.commit()?;
        Ok(())
    }

    // ---------- sync ----------

    /// The persisted sync state with `peer` for a document, or a fresh one.
    pub fn sync_state(&self, peer: &str, id: &DocId) -> Result<sync::State> {
        let bytes: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT state FROM sync_states WHERE peer = ?1 AND doc_id = ?2",
                params![peer, id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(bytes
            .and_then(|b| sync::State::decode(&b).ok())
            .unwrap_or_default())
    }

    pub fn save_sync_state(&self, peer: &str, id: &DocId, state: &sync::State) -> Result<()> {
        save_sync_state(&self.conn, peer, &id.to_string(), state)
    }

    pub fn generate_sync_message(
        &mut self,
        id: &DocId,
        state: &mut sync::State,
    ) -> Result<Option<sync::Message>> {
        Ok(self.doc(id)?.sync().generate_sync_message(state))
    }

    /// Applies a peer's sync message, persisting the new changes, the materialized tables and
    /// the sync state with `peer` in one transaction. Under [`WritePolicy::ReadOnly`] a message
    /// that carries changes we do not have yet is refused whole: it is received into a fork,
    /// inspected, and dropped.
    pub fn receive_sync_message(
        &mut self,
        id: &DocId,
        peer: &str,
        state: &mut sync::State,
        message: sync::Message,
        policy: WritePolicy,
    ) -> Result<Received> {
        let key = id.to_string();
        let doc = self.doc(id)?;
        let before = doc.get_heads();
        if policy == WritePolicy::ReadOnly && !message.changes.is_empty() {
            let mut fork = doc.fork();
            let mut probe = state.clone();
            fork.sync()
                .receive_sync_message(&mut probe, message.clone())
                .map_err(|source| StoreError::Sync {
                    doc: key.clone(),
                    source: Box::new(source),
                })?;
            let known: BTreeSet<ChangeHash> =
                doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
            let new_changes = fork
                .get_changes(&[])
                .iter()
                .filter(|c| !known.contains(&c.hash()))
                .count();
            if new_changes > 0 {
                return Ok(Received::Refused { new_changes });
            }
        }
        let received = doc.sync().receive_sync_message(state, message);
        if let Err(source) = received {
            // The document may hold part of the message: drop it and reload from disk.
            self.cache.docs.remove(&key);
            return Err(StoreError::Sync {
                doc: key,
                source: Box::new(source),
            });
        }
        let new_changes = doc.get_changes(&before).len();
        let result = self.try_persist_since(id, &key, &before, Some((peer, state)));
        if result.is_err() {
            self.cache.docs.remove(&key);
        }
        result.map(|()| Received::Applied { new_changes })
    }

    /// Changes in a document that `peer` has not acknowledged yet (as of the last sync).
    pub fn unshared_changes(&mut self, peer: &str, id: &DocId) -> Result<usize> {
        let shared = self.sync_state(peer, id)?.shared_heads;
        let doc = self.doc(id)?;
        if shared.iter().any(|h| doc.get_change_by_hash(h).is_none()) {
            return Ok(doc.get_changes(&[]).len());
        }
        Ok(doc.get_changes(&shared).len())
    }
}

fn save_sync_state(conn: &Connection, peer: &str, doc: &str, state: &sync::State) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sync_states (peer, doc_id, state) VALUES (?1, ?2, ?3)
         ON CONFLICT(peer, doc_id) DO UPDATE SET state = ?3",
    )?
    .execute(params![peer, doc, state.encode()])?;
    Ok(())
}

/// The record keys that changed between two sets of heads, read off Automerge's diff, so the
/// materialized tables are updated for those records only.
fn touched_records(
    doc: &mut AutoCommit,
    before: &[ChangeHash],
    after: &[ChangeHash],
) -> BTreeSet<RecordKey> {
    let mut keys = BTreeSet::new();
    for patch in doc.diff(before, after) {
        let root_key = match patch.path.first() {
            Some((_, Prop::Map(k))) => Some(k.clone()),
            Some(_) => None,
            None if patch.obj == ROOT => match &patch.action {
                PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => {
                    Some(key.clone())
                }
                PatchAction::Conflict {
                    prop: Prop::Map(key),
                } => Some(key.clone()),
                PatchAction::Increment {
                    prop: Prop::Map(key),
                    ..
                } => Some(key.clone()),
                _ => None,
            },
            None => None,
        };
        if let Some(key) = root_key.as_deref().and_then(RecordKey::parse) {
            keys.insert(key);
        }
    }
    keys
}

fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
        params![key, value],
    )?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew {
            what: "store",
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

fn migrate_app(conn: &mut Connection, app: AppSchema) -> Result<()> {
    let key = format!("{}_schema", app.name);
    let version: i64 = meta_get(conn, &key)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let known = app.migrations.len() as i64;
    if version > known {
        return Err(StoreError::TooNew {
            what: app.name,
            found: version,
            known,
        });
    }
    for (i, sql) in app.migrations.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        meta_set(&tx, &key, &(i + 1).to_string())?;
        tx.commit()?;
    }
    Ok(())
}
