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
    ActorId, AutoCommit, AutomergeError, ChangeHash, PatchAction, Prop, ROOT, ReadDoc,
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
        generation INTEGER NOT NULL DEFAULT 0,
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

/// A loaded document and where it stands against the database.
struct Cached {
    doc: AutoCommit,
    /// Bumped in the database at each compaction: a different value means reload.
    generation: i64,
    /// The last chunk applied; newer chunks (written by another process, the CLI beside the
    /// service) are applied on the next access.
    last_seq: i64,
    tick: u64,
}

/// A bounded cache of loaded documents: the hub's memory follows the cache size, not the
/// number of UPTs.
struct DocCache {
    capacity: usize,
    tick: u64,
    docs: HashMap<String, Cached>,
}

impl DocCache {
    fn get(&mut self, key: &str) -> Option<&mut Cached> {
        self.tick += 1;
        let tick = self.tick;
        let cached = self.docs.get_mut(key)?;
        cached.tick = tick;
        Some(cached)
    }

    fn insert(&mut self, key: String, mut cached: Cached) {
        if self.docs.len() >= self.capacity
            && let Some(oldest) = self
                .docs
                .iter()
                .min_by_key(|(_, c)| c.tick)
                .map(|(k, _)| k.clone())
        {
            self.docs.remove(&oldest);
        }
        self.tick += 1;
        cached.tick = self.tick;
        self.docs.insert(key, cached);
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
        set_wal(&conn)?;
        // FULL: a write is durable when the command that made it returns, power loss included.
        conn.pragma_update(None, "synchronous", "FULL")?;
        migrate(&mut conn)?;
        if let Some(app) = app {
            migrate_app(&mut conn, app)?;
        }
        // INSERT OR IGNORE then read back: two processes starting at once agree on one actor.
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('actor', ?1)",
            [ActorId::random().to_hex_string()],
        )?;
        let hex = meta_get(&conn, "actor")?.unwrap_or_default();
        let actor = ActorId::from(hex::decode(hex).unwrap_or_default());
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

    /// Brings the cached copy of a document up to date with the database (loading it if
    /// needed) and returns it. Cheap when nothing changed: one indexed query.
    fn fresh(&mut self, key: &str) -> Result<&mut Cached> {
        let generation: i64 = self
            .conn
            .prepare_cached("SELECT generation FROM docs WHERE doc_id = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        let stale = match self.cache.get(key) {
            Some(c) => c.generation != generation,
            None => true,
        };
        if stale {
            let cached = self.load(key)?;
            self.cache.insert(key.to_string(), cached);
        }
        let cached = self.cache.get(key).expect("loaded above");
        let corrupt = |source| StoreError::Corrupt {
            doc: key.to_string(),
            source: Box::new(source),
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, data FROM chunks WHERE doc_id = ?1 AND seq > ?2 ORDER BY seq",
        )?;
        let mut rows = stmt.query(params![key, cached.last_seq])?;
        let mut applied = false;
        while let Some(row) = rows.next()? {
            let data: Vec<u8> = row.get(1)?;
            cached.doc.load_incremental(&data).map_err(corrupt)?;
            cached.last_seq = row.get(0)?;
            applied = true;
        }
        if applied {
            cached.doc.update_diff_cursor();
        }
        Ok(cached)
    }

    fn load(&self, key: &str) -> Result<Cached> {
        let row: Option<(Option<Vec<u8>>, i64)> = self
            .conn
            .query_row(
                "SELECT snapshot, generation FROM docs WHERE doc_id = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (snapshot, generation) = row.unwrap_or((None, 0));
        let mut doc = match snapshot {
            Some(bytes) => AutoCommit::load(&bytes).map_err(|source| StoreError::Corrupt {
                doc: key.to_string(),
                source: Box::new(source),
            })?,
            None => AutoCommit::new(),
        };
        doc.set_actor(self.actor.clone());
        // Index changes from here on, so the diff that keeps the materialized tables current
        // costs what the change costs, not what the document costs.
        doc.update_diff_cursor();
        Ok(Cached {
            doc,
            generation,
            last_seq: 0,
            tick: 0,
        })
    }

    /// The document, current with the database.
    pub fn doc(&mut self, id: &DocId) -> Result<&mut AutoCommit> {
        Ok(&mut self.fresh(&id.to_string())?.doc)
    }

    pub fn heads(&mut self, id: &DocId) -> Result<Vec<ChangeHash>> {
        Ok(self.doc(id)?.get_heads())
    }

    /// Makes a local change. `f` edits the document; if it fails, or persisting fails, the
    /// document is left as it was, in memory and on disk. The write lock is taken first, so
    /// a CLI command and the running service never write the same document at once.
    pub fn change<T>(
        &mut self,
        id: &DocId,
        f: impl FnOnce(&mut AutoCommit) -> Result<T, SchemaError>,
    ) -> Result<T> {
        let key = id.to_string();
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = self.change_locked(id, &key, f);
        self.finish_write(&key, result)
    }

    fn change_locked<T>(
        &mut self,
        id: &DocId,
        key: &str,
        f: impl FnOnce(&mut AutoCommit) -> Result<T, SchemaError>,
    ) -> Result<T> {
        let cached = self.fresh(key)?;
        let before = cached.doc.get_heads();
        let value = match f(&mut cached.doc) {
            Ok(v) => v,
            Err(e) => {
                cached.doc.rollback();
                return Err(e.into());
            }
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        cached
            .doc
            .commit_with(CommitOptions::default().with_time(now));
        self.persist_locked(id, key, &before, None)?;
        Ok(value)
    }

    /// Commits the transaction a write opened, or rolls it back and forgets the cached copy
    /// (which may hold what the database does not).
    fn finish_write<T>(&mut self, key: &str, result: Result<T>) -> Result<T> {
        match result.and_then(|v| {
            self.conn.execute_batch("COMMIT")?;
            Ok(v)
        }) {
            Ok(v) => {
                self.maybe_compact(key)?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                self.cache.docs.remove(key);
                Err(e)
            }
        }
    }

    /// Inside the caller's transaction: appends everything after `before` as a chunk, updates
    /// the materialized tables for the records it touched, and saves the sync state.
    fn persist_locked(
        &mut self,
        id: &DocId,
        key: &str,
        before: &[ChangeHash],
        sync_state: Option<(&str, &sync::State)>,
    ) -> Result<()> {
        if let Some((peer, state)) = sync_state {
            save_sync_state(&self.conn, peer, key, state)?;
        }
        let cached = self.cache.docs.get_mut(key).expect("document is loaded");
        let after = cached.doc.get_heads();
        if after.as_slice() == before {
            return Ok(());
        }
        let chunk = cached.doc.save_after(before);
        // A document that was empty before: every record in it is new, and listing the root's
        // keys is much cheaper than a diff of the whole document.
        let touched: BTreeSet<RecordKey> = if before.is_empty() {
            crate::schema::record_keys(&cached.doc)
                .into_iter()
                .collect()
        } else {
            touched_records(&mut cached.doc, before, &after)
        };
        cached.doc.update_diff_cursor();
        self.conn
            .prepare_cached("INSERT INTO chunks (doc_id, data) VALUES (?1, ?2)")?
            .execute(params![key, chunk])?;
        cached.last_seq = self.conn.last_insert_rowid();
        self.conn
            .prepare_cached(
                "INSERT INTO docs (doc_id, n_chunks, updated_at) VALUES (?1, 1, ?2)
                 ON CONFLICT(doc_id) DO UPDATE SET n_chunks = n_chunks + 1, updated_at = ?2",
            )?
            .execute(params![key, crate::model::now_rfc3339()])?;
        for record in &touched {
            materialize::apply(&self.conn, id, &cached.doc, record)?;
        }
        Ok(())
    }

    fn maybe_compact(&mut self, key: &str) -> Result<()> {
        let n_chunks: i64 = self
            .conn
            .prepare_cached("SELECT n_chunks FROM docs WHERE doc_id = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        if n_chunks >= self.compact_after
            && let Some(id) = DocId::parse(key)
        {
            self.compact(&id)?;
        }
        Ok(())
    }

    /// Folds the snapshot and every chunk of a document into a new snapshot, atomically.
    pub fn compact(&mut self, id: &DocId) -> Result<()> {
        let key = id.to_string();
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = (|| {
            let cached = self.fresh(&key)?;
            let snapshot = cached.doc.save();
            cached.generation += 1;
            let generation = cached.generation;
            self.conn.execute(
                "INSERT INTO docs (doc_id, snapshot, n_chunks, generation, updated_at) VALUES (?1, ?2, 0, ?3, ?4)
                 ON CONFLICT(doc_id) DO UPDATE SET snapshot = ?2, n_chunks = 0, generation = ?3, updated_at = ?4",
                params![key, snapshot, generation, crate::model::now_rfc3339()],
            )?;
            self.conn
                .execute("DELETE FROM chunks WHERE doc_id = ?1", [&key])?;
            self.conn.execute_batch("COMMIT")?;
            Ok(())
        })();
        if result.is_err() {
            let _ = self.conn.execute_batch("ROLLBACK");
            self.cache.docs.remove(&key);
        }
        result
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
        self.fresh(&key)?;
        let doc = &self.cache.docs.get(&key).expect("loaded").doc;
        let tx = self.conn.unchecked_transaction()?;
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
            .prepare_cached("SELECT state FROM sync_states WHERE peer = ?1 AND doc_id = ?2")?
            .query_row(params![peer, id.to_string()], |r| r.get(0))
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
    /// inspected, and dropped, and the sync state is left as it was.
    pub fn receive_sync_message(
        &mut self,
        id: &DocId,
        peer: &str,
        state: &mut sync::State,
        message: sync::Message,
        policy: WritePolicy,
    ) -> Result<Received> {
        let key = id.to_string();
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = self.receive_locked(id, &key, peer, state, message, policy);
        self.finish_write(&key, result)
    }

    fn receive_locked(
        &mut self,
        id: &DocId,
        key: &str,
        peer: &str,
        state: &mut sync::State,
        message: sync::Message,
        policy: WritePolicy,
    ) -> Result<Received> {
        let sync_error = |source| StoreError::Sync {
            doc: key.to_string(),
            source: Box::new(source),
        };
        let doc = &mut self.fresh(key)?.doc;
        let before = doc.get_heads();
        if policy == WritePolicy::ReadOnly && !message.changes.is_empty() {
            let mut fork = doc.fork();
            let mut probe = state.clone();
            fork.sync()
                .receive_sync_message(&mut probe, message.clone())
                .map_err(sync_error)?;
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
        let changes_before = doc.stats().num_changes;
        let shared_before = state.shared_heads.clone();
        doc.sync()
            .receive_sync_message(state, message)
            .map_err(sync_error)?;
        let new_changes = (doc.stats().num_changes - changes_before) as usize;
        // Only what is persisted of the state (the shared heads) decides whether to write it:
        // a no-op sync then writes nothing, and costs no fsync.
        let state_changed = state.shared_heads != shared_before;
        self.persist_locked(id, key, &before, state_changed.then_some((peer, &*state)))?;
        Ok(Received::Applied { new_changes })
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

/// Switches a database to WAL. Changing the journal mode does not wait on SQLite's busy
/// handler, so two processes creating the same new file at once (the service and a CLI
/// command) retry here for a while instead of failing.
fn set_wal(conn: &Connection) -> Result<()> {
    let mut tries = 0;
    loop {
        let mode: rusqlite::Result<String> =
            conn.query_row("PRAGMA journal_mode", [], |r| r.get(0));
        let result = match mode {
            Ok(m) if m.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(_) => conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
                .map(|_| ()),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::DatabaseBusy && tries < 100 =>
            {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => return Err(e.into()),
        }
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

/// Applies pending migrations under the write lock, re-reading the version inside it, so two
/// processes opening a new file at once (the service and a CLI command) do not both migrate.
fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew {
            what: "store",
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    tx.commit()?;
    Ok(())
}

fn migrate_app(conn: &mut Connection, app: AppSchema) -> Result<()> {
    let key = format!("{}_schema", app.name);
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = meta_get(&tx, &key)?
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
        tx.execute_batch(sql)?;
        meta_set(&tx, &key, &(i + 1).to_string())?;
    }
    tx.commit()?;
    Ok(())
}
