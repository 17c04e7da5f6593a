//! The replica: Automerge documents over a storage backend, on the agent and on the hub alike.
//!
//! ```text
//!   hub handlers / agent commands
//!              │
//!         [`Replica`]        cache of loaded documents, one lock per document,
//!              │             change / receive / generate / compact, touched records,
//!              │             the read-only check, panic isolation
//!         [`Backend`]        documents (snapshot + chunks), sync states, materialized rows,
//!              │             one transaction per write, optimistic version check
//!      SQLite ([`sqlite`])   (PostgreSQL plugs in here)
//! ```
//!
//! Per document the backend keeps a snapshot plus the incremental chunks appended at each
//! change; compaction folds them into a new snapshot. Every write (a local change or a
//! received sync message) appends its chunk, updates the materialized rows of exactly the
//! records it touched, and saves the sync state, in one backend transaction: when a write
//! returns, it is stored; when it fails, nothing of it is, and the in-memory copy is dropped.
//!
//! Concurrency: each document has its own lock, so writes to different documents run in
//! parallel (the Automerge work, which is most of the cost, happens outside the backend's
//! transaction). A write carries the version of the stored document it was made on; if
//! another process wrote the document meanwhile (the agent's CLI beside its service, a second
//! hub process), the backend refuses it, and the replica reloads the document and makes the
//! write again on top of the other one.
//!
//! Isolation: a panic while a document is changed (Automerge has known panics on some sync
//! messages) is caught; that document's in-memory copy is dropped (the backend transaction
//! never began, or rolled back), the error says which document, and every other document and
//! every later request is served.

// PostgreSQL (the hub's store for several processes) is the `postgres` feature: the agent
// builds without it, and links no PostgreSQL client.
#[cfg(feature = "postgres")]
pub mod any;
#[cfg(feature = "postgres")]
mod pg_tls;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sql;
pub mod sqlite;

use crate::materialize::{self, RowOp};
use crate::schema::{DocId, RecordKey, SchemaError};
use automerge::sync::{self, SyncDoc};
use automerge::{
    ActorId, AutoCommit, AutomergeError, ChangeHash, PatchAction, Prop, ROOT, ReadDoc,
    transaction::{CommitOptions, Transactable},
};
use std::collections::{BTreeSet, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

#[cfg(feature = "postgres")]
pub use self::postgres::PgBackend;
#[cfg(feature = "postgres")]
pub use any::{AnyBackend, AnyStore};

/// Whether `db` names a PostgreSQL database (`postgres://…` or `postgresql://…`) rather than
/// a SQLite file.
pub fn is_postgres_url(db: &str) -> bool {
    let lower = db.trim().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}
pub use sqlite::{AppSchema, SqliteBackend};

/// The replica store on SQLite: what the agent uses, and the hub's default.
pub type Store = Replica<SqliteBackend>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}", crate::text::store::disk_full(.0))]
    DiskFull(String),
    #[error("{}", crate::text::store::read_only_disk(.0))]
    ReadOnly(String),
    #[error("database: {0}")]
    Sqlite(rusqlite::Error),
    #[cfg(feature = "postgres")]
    #[error("database: {0}")]
    Postgres(::tokio_postgres::Error),
    /// The database's address or settings are wrong.
    #[error("{0}")]
    Config(String),
    /// The database's server cannot be reached now (down, restarting, the network between):
    /// worth trying again, unlike [`StoreError::Config`].
    #[error("{0}")]
    Unreachable(String),
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
    #[error(
        "internal error while changing {doc} ({message}); nothing of it was stored, and the document was reloaded"
    )]
    Panicked { doc: String, message: String },
    #[error("{reason}; nothing of {doc} was merged")]
    Invalid { doc: String, reason: String },
    #[error(
        "document {doc} kept changing under this write (another process writing it); nothing was written; try again"
    )]
    Contended { doc: String },
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
        if let rusqlite::Error::SqliteFailure(f, _) = &e
            && f.code == rusqlite::ErrorCode::ReadOnly
        {
            return StoreError::ReadOnly(e.to_string());
        }
        StoreError::Sqlite(e)
    }
}

#[cfg(feature = "postgres")]
impl From<::tokio_postgres::Error> for StoreError {
    fn from(e: ::tokio_postgres::Error) -> Self {
        use ::tokio_postgres::error::SqlState;
        match e.code() {
            Some(c) if *c == SqlState::DISK_FULL => StoreError::DiskFull(e.to_string()),
            // A standby (a replica of the database) or a database set read-only.
            Some(c) if *c == SqlState::READ_ONLY_SQL_TRANSACTION => {
                StoreError::ReadOnly(e.to_string())
            }
            _ => StoreError::Postgres(e),
        }
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

// ---------- the backend seam ----------

/// Where a stored document stands: the generation (bumped by each compaction) and the last
/// chunk appended since. Two equal versions mean the same stored bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DocVersion {
    pub generation: i64,
    pub last_seq: i64,
}

/// A stored document as loaded: the snapshot and every chunk after it, read consistently.
#[derive(Debug, Default)]
pub struct StoredDoc {
    pub snapshot: Option<Vec<u8>>,
    pub generation: i64,
    /// (sequence number, bytes), in order.
    pub chunks: Vec<(i64, Vec<u8>)>,
}

/// One write of one document, made atomically by the backend.
#[derive(Debug)]
pub struct DocWrite<'a> {
    pub doc: &'a str,
    /// The stored version the change was made on; the backend refuses the chunk if the stored
    /// document has moved since ([`Commit::Conflict`]).
    pub base: DocVersion,
    /// The new changes, as an incremental save; `None` when only the sync state moved.
    pub chunk: Option<&'a [u8]>,
    /// The materialized rows of the records the chunk touched.
    pub rows: &'a [RowOp],
    /// (peer, encoded state) to save with it.
    pub sync_state: Option<(&'a str, &'a [u8])>,
    /// The changes the chunk carries, to be entered in the change log with the same
    /// transaction (empty when the replica keeps no log).
    pub log: Option<LogEntry<'a>>,
    /// (key, value) pairs stored in `meta` with the chunk, in its transaction (an imported
    /// file's content hash, so a crash between the import and moving the file cannot
    /// import it twice).
    pub meta: &'a [(String, String)],
}

/// Where a write came from: the peer whose sync state it moves (or [`Origin::LOCAL`]) and the
/// id of the token it was sent with (never the token itself; empty for the hub's own writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'a> {
    pub peer: &'a str,
    pub token: &'a str,
}

impl Origin<'static> {
    /// A change made here (a command, a curator's decision through a handler that names no
    /// token).
    pub const LOCAL: Origin<'static> = Origin {
        peer: "local",
        token: "",
    };
}

/// What a write carries besides the document: where it came from (for the change log) and
/// `meta` rows stored in its transaction.
#[derive(Debug, Clone, Copy)]
struct Extras<'a> {
    origin: Origin<'a>,
    meta: &'a [(String, String)],
}

/// The change-log entries of one write: every new change's hash, with its origin.
#[derive(Debug)]
pub struct LogEntry<'a> {
    /// The UPT the document belongs to (`""` for `national`).
    pub upt: &'a str,
    pub hashes: Vec<String>,
    pub origin: Origin<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Stored; the document's new version and, when a chunk was written, its chunk count.
    Done {
        version: DocVersion,
        n_chunks: Option<i64>,
    },
    /// The stored document moved since `base`; nothing was written.
    Conflict,
}

/// What a storage engine provides to a [`Replica`]. Every method is one transaction; SQL
/// dialect stays behind this trait.
pub trait Backend: Send + Sync {
    /// The stored version of a document (the default for one never stored).
    fn version(&self, doc: &str) -> Result<DocVersion>;
    /// The snapshot and chunks of a document, read in one consistent view.
    fn load(&self, doc: &str) -> Result<StoredDoc>;
    /// Chunks appended after `after_seq`, in order.
    fn chunks_after(&self, doc: &str, after_seq: i64) -> Result<Vec<(i64, Vec<u8>)>>;
    /// Writes a chunk with its rows and sync state, all or nothing.
    fn commit(&self, write: &DocWrite<'_>) -> Result<Commit>;
    /// Replaces the snapshot and drops the chunks if the document is still at `base`;
    /// `None` when it moved.
    fn compact(&self, doc: &str, base: DocVersion, snapshot: &[u8]) -> Result<Option<DocVersion>>;
    /// Replaces every materialized row that came from a document.
    fn replace_rows(&self, id: &DocId, rows: &[RowOp]) -> Result<()>;
    /// Drops a document whole (its bytes, its rows and every sync state about it), in one
    /// transaction: the next sync fetches it again from the peer.
    fn forget(&self, id: &DocId) -> Result<()>;
    fn sync_state(&self, peer: &str, doc: &str) -> Result<Option<Vec<u8>>>;
    fn save_sync_state(&self, peer: &str, doc: &str, state: &[u8]) -> Result<()>;
    /// What answering a poll needs of several documents: each one's stored version and
    /// `peer`'s sync state of it, in the order of `docs` (a backend across a network reads
    /// them in one round trip).
    fn poll_view(&self, peer: &str, docs: &[&str]) -> Result<Vec<(DocVersion, Option<Vec<u8>>)>> {
        docs.iter()
            .map(|doc| Ok((self.version(doc)?, self.sync_state(peer, doc)?)))
            .collect()
    }
    fn doc_ids(&self) -> Result<Vec<String>>;
    /// Stored rows of a document (1 for a snapshot, if any, plus its chunks).
    fn stored_rows(&self, doc: &str) -> Result<i64>;
    fn meta(&self, key: &str) -> Result<Option<String>>;
    fn set_meta(&self, key: &str, value: &str) -> Result<()>;
    /// Stores `value` under `key` unless one is there; returns the value stored. Two
    /// processes starting at once agree on one value.
    fn meta_init(&self, key: &str, value: &str) -> Result<String>;
}

// ---------- the replica ----------

/// A loaded document and the stored version it equals.
struct Cached {
    doc: AutoCommit,
    version: DocVersion,
}

/// One document's lock; `None` inside when it is not loaded (or was dropped after a failure).
type Slot = Mutex<Option<Cached>>;

/// Loaded documents, least recently used evicted first. An entry in use (its lock held or
/// waited for) is never evicted, so one document never has two locks.
struct DocCache {
    capacity: usize,
    tick: u64,
    slots: HashMap<String, (Arc<Slot>, u64)>,
}

impl DocCache {
    fn slot(&mut self, key: &str) -> Arc<Slot> {
        self.tick += 1;
        let tick = self.tick;
        if let Some((slot, used)) = self.slots.get_mut(key) {
            *used = tick;
            return slot.clone();
        }
        let slot = Arc::new(Mutex::new(None));
        self.slots.insert(key.to_string(), (slot.clone(), tick));
        while self.slots.len() > self.capacity {
            let victim = self
                .slots
                .iter()
                .filter(|(k, (s, _))| k.as_str() != key && Arc::strong_count(s) == 1)
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            match victim {
                Some(k) => {
                    self.slots.remove(&k);
                }
                // Every other document is in use: go over the capacity for now.
                None => break,
            }
        }
        slot
    }
}

/// A test-only fault: called with the document inside every received change, before it is
/// stored. A hook that panics stands in for an Automerge panic.
pub type FaultHook = Arc<dyn Fn(&DocId) + Send + Sync>;

/// Checks each row a received change produces (the hub: the record model's rules); an error
/// refuses the whole message, and says which record broke which rule.
pub type RowCheck = Arc<dyn Fn(&RowOp) -> Result<(), String> + Send + Sync>;

pub struct Replica<B> {
    backend: B,
    actor: ActorId,
    cache: Mutex<DocCache>,
    /// A document is compacted once this many incremental chunks have piled up.
    compact_after: AtomicI64,
    fault: RwLock<Option<FaultHook>>,
    row_check: RwLock<Option<RowCheck>>,
    /// Whether every stored change is entered in the change log (the hub's audit).
    log_changes: std::sync::atomic::AtomicBool,
    /// Documents loaded from the backend, and uses served by the loaded copy (for metrics).
    loads: AtomicU64,
    hits: AtomicU64,
}

impl<B> std::fmt::Debug for Replica<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("actor", &self.actor.to_hex_string())
            .finish_non_exhaustive()
    }
}

/// What a sync exchange on one document did (see [`Replica::exchange`]).
#[derive(Debug)]
pub struct Exchange {
    /// What receiving the peer's message did (`None` when it sent none).
    pub received: Option<Received>,
    /// The message to send back, if there is anything to say.
    pub reply: Option<sync::Message>,
}

impl<B: Backend> Replica<B> {
    /// A replica over `backend`, with its actor id stored in the backend.
    pub fn new(backend: B) -> Result<Replica<B>> {
        let hex = backend.meta_init("actor", &ActorId::random().to_hex_string())?;
        let actor = ActorId::from(hex::decode(hex).unwrap_or_default());
        Ok(Self::with_actor(backend, actor))
    }

    /// A replica over a backend that is only read (a read-only disk): its actor never
    /// writes, so it is not stored.
    pub fn new_read_only(backend: B) -> Replica<B> {
        Self::with_actor(backend, ActorId::random())
    }

    fn with_actor(backend: B, actor: ActorId) -> Replica<B> {
        Replica {
            backend,
            actor,
            cache: Mutex::new(DocCache {
                capacity: 64,
                tick: 0,
                slots: HashMap::new(),
            }),
            compact_after: AtomicI64::new(256),
            fault: RwLock::new(None),
            row_check: RwLock::new(None),
            log_changes: std::sync::atomic::AtomicBool::new(false),
            loads: AtomicU64::new(0),
            hits: AtomicU64::new(0),
        }
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// (documents loaded from the backend, uses served by a loaded copy) since this replica
    /// was opened.
    pub fn cache_counts(&self) -> (u64, u64) {
        (
            self.loads.load(Ordering::Relaxed),
            self.hits.load(Ordering::Relaxed),
        )
    }

    /// How many documents stay loaded in memory.
    pub fn set_cache_capacity(&self, capacity: usize) {
        let capacity = capacity.max(1);
        lock_plain(&self.cache).capacity = capacity;
    }

    /// Enters every change stored from now on in the change log, with its origin, in the
    /// transaction that stores it (the hub's audit; the agent keeps none).
    pub fn set_change_log(&self, on: bool) {
        self.log_changes.store(on, Ordering::Relaxed);
    }

    pub fn set_compact_after(&self, chunks: i64) {
        self.compact_after.store(chunks.max(1), Ordering::Relaxed);
    }

    #[doc(hidden)]
    /// Installs a test-only fault hook (see [`FaultHook`]).
    pub fn set_fault_hook(&self, hook: Option<FaultHook>) {
        *self.fault.write().unwrap_or_else(|p| p.into_inner()) = hook;
    }

    /// Checks every row that a received change produces before it is stored (see
    /// [`RowCheck`]). Local changes are checked by their callers.
    pub fn set_row_check(&self, check: Option<RowCheck>) {
        *self.row_check.write().unwrap_or_else(|p| p.into_inner()) = check;
    }

    /// Writes from now on under a new, random actor id instead of the stored one. The hub
    /// does this at every start: a hub restored from a backup must never write again under
    /// sequence numbers its lost changes already used ("duplicate seq" at every agent).
    pub fn renew_actor(&mut self) {
        self.actor = ActorId::random();
        // Documents loaded before write as the old actor: drop them.
        lock_plain(&self.cache).slots.clear();
    }

    pub fn actor(&self) -> &ActorId {
        &self.actor
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.backend.meta(key)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.backend.set_meta(key, value)
    }

    /// The ids of the documents this replica holds.
    pub fn doc_ids(&self) -> Result<Vec<DocId>> {
        Ok(self
            .backend
            .doc_ids()?
            .iter()
            .filter_map(|s| DocId::parse(s))
            .collect())
    }

    /// Whether a document is loaded in memory now (for tests of eviction).
    pub fn is_loaded(&self, id: &DocId) -> bool {
        let key = id.to_string();
        let slot = lock_plain(&self.cache)
            .slots
            .get(&key)
            .map(|(s, _)| s.clone());
        slot.is_some_and(|s| lock_slot(&s).is_some())
    }

    /// Runs `f` with the document's lock held; a panic inside drops the in-memory copy and
    /// becomes [`StoreError::Panicked`].
    fn with_slot<T>(
        &self,
        key: &str,
        f: impl FnOnce(&mut Option<Cached>) -> Result<T>,
    ) -> Result<T> {
        let slot = lock_plain(&self.cache).slot(key);
        let mut guard = lock_slot(&slot);
        match catch_unwind(AssertUnwindSafe(|| f(&mut guard))) {
            Ok(result) => {
                if result.is_err() {
                    // The copy in memory may hold what the backend does not.
                    *guard = None;
                }
                result
            }
            Err(panic) => {
                *guard = None;
                Err(StoreError::Panicked {
                    doc: key.to_string(),
                    message: panic_message(&panic),
                })
            }
        }
    }

    /// Brings the loaded copy up to date with the backend (loading it if needed). Cheap when
    /// nothing changed: one indexed query.
    fn fresh<'a>(&self, key: &str, slot: &'a mut Option<Cached>) -> Result<&'a mut Cached> {
        let stored = self.backend.version(key)?;
        let reload = match slot {
            Some(c) => {
                c.version.generation != stored.generation || c.version.last_seq > stored.last_seq
            }
            None => true,
        };
        if reload {
            *slot = None;
            self.loads.fetch_add(1, Ordering::Relaxed);
            let loaded = self.backend.load(key)?;
            let corrupt = |source| StoreError::Corrupt {
                doc: key.to_string(),
                source: Box::new(source),
            };
            let mut doc = match &loaded.snapshot {
                Some(bytes) => AutoCommit::load(bytes).map_err(corrupt)?,
                None => AutoCommit::new(),
            };
            let mut last_seq = 0;
            for (seq, data) in &loaded.chunks {
                doc.load_incremental(data).map_err(corrupt)?;
                last_seq = *seq;
            }
            doc.set_actor(self.actor.clone());
            // Index changes from here on, so the diff that keeps the materialized tables
            // current costs what the change costs, not what the document costs.
            doc.update_diff_cursor();
            *slot = Some(Cached {
                doc,
                version: DocVersion {
                    generation: loaded.generation,
                    last_seq,
                },
            });
        }
        if !reload {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        let cached = slot.as_mut().expect("loaded above");
        if cached.version.last_seq < stored.last_seq {
            let corrupt = |source| StoreError::Corrupt {
                doc: key.to_string(),
                source: Box::new(source),
            };
            let chunks = self.backend.chunks_after(key, cached.version.last_seq)?;
            for (seq, data) in &chunks {
                cached.doc.load_incremental(data).map_err(corrupt)?;
                cached.version.last_seq = *seq;
            }
            if !chunks.is_empty() {
                cached.doc.update_diff_cursor();
            }
        }
        Ok(cached)
    }

    /// Reads the document, current with the backend. (`&mut` because some of Automerge's
    /// reads need it; anything `f` changes without committing is rolled back. Changes go
    /// through [`Replica::change`].)
    pub fn with_doc<T>(&self, id: &DocId, f: impl FnOnce(&mut AutoCommit) -> T) -> Result<T> {
        let key = id.to_string();
        self.with_slot(&key, |slot| {
            let doc = &mut self.fresh(&key, slot)?.doc;
            let value = f(doc);
            if doc.pending_ops() > 0 {
                doc.rollback();
            }
            Ok(value)
        })
    }

    pub fn heads(&self, id: &DocId) -> Result<Vec<ChangeHash>> {
        self.with_doc(id, |d| d.get_heads())
    }

    /// The heads of several documents and `peer`'s sync state of each: what a poll compares.
    /// One read of the backend when the copies in memory are current (the usual case of an
    /// idle agent's poll), instead of two per document.
    pub fn poll_view(
        &self,
        peer: &str,
        ids: &[DocId],
    ) -> Result<Vec<(Vec<ChangeHash>, sync::State)>> {
        let keys: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
        let names: Vec<&str> = keys.iter().map(String::as_str).collect();
        let stored = self.backend.poll_view(peer, &names)?;
        keys.iter()
            .zip(stored)
            .map(|(key, (version, state))| {
                let heads = self.with_slot(key, |slot| {
                    let cached = match slot {
                        Some(c) if c.version == version => {
                            self.hits.fetch_add(1, Ordering::Relaxed);
                            c
                        }
                        // Loaded since, or never: read the version again, as any use does.
                        _ => self.fresh(key, slot)?,
                    };
                    Ok(cached.doc.get_heads())
                })?;
                let state = state
                    .and_then(|b| sync::State::decode(&b).ok())
                    .unwrap_or_default();
                Ok((heads, state))
            })
            .collect()
    }

    /// Makes a local change. `f` edits the document; if it fails, or storing fails, the
    /// document is left as it was, in memory and in the backend. If another process wrote the
    /// document meanwhile, `f` runs again on top of that write.
    pub fn change<T>(
        &self,
        id: &DocId,
        f: impl FnMut(&mut AutoCommit) -> Result<T, SchemaError>,
    ) -> Result<T> {
        self.change_as(id, Origin::LOCAL, f)
    }

    /// [`Replica::change`], entered in the change log under `origin` (a curator's token).
    pub fn change_as<T>(
        &self,
        id: &DocId,
        origin: Origin<'_>,
        f: impl FnMut(&mut AutoCommit) -> Result<T, SchemaError>,
    ) -> Result<T> {
        self.change_with(id, origin, &[], f)
    }

    /// [`Replica::change`], storing `meta` (key, value) pairs in the same transaction as the
    /// change: both are stored, or neither.
    pub fn change_noting<T>(
        &self,
        id: &DocId,
        meta: &[(String, String)],
        f: impl FnMut(&mut AutoCommit) -> Result<T, SchemaError>,
    ) -> Result<T> {
        self.change_with(id, Origin::LOCAL, meta, f)
    }

    /// Makes a local change of many records (an import) as several Automerge changes of at
    /// most `per_change` items each, stored in one backend transaction with `meta`: all of
    /// them or none, as one [`Replica::change_noting`]. A sync sends a backlog in parts cut
    /// between changes and never splits one, so a change past what a thin link carries
    /// within one request's timeout could never cross it; bounded changes always can.
    pub fn change_in_parts<I>(
        &self,
        id: &DocId,
        meta: &[(String, String)],
        items: &[I],
        per_change: usize,
        mut f: impl FnMut(&mut AutoCommit, &I) -> Result<(), SchemaError>,
    ) -> Result<()> {
        let key = id.to_string();
        let n_chunks = self.with_slot(&key, |slot| {
            for attempt in 0..MAX_ATTEMPTS {
                let cached = self.fresh(&key, slot)?;
                let before = cached.doc.get_heads();
                let mut failed = None;
                for part in items.chunks(per_change.max(1)) {
                    if let Err(e) = part.iter().try_for_each(|item| f(&mut cached.doc, item)) {
                        cached.doc.rollback();
                        failed = Some(e);
                        break;
                    }
                    let now = time::OffsetDateTime::now_utc().unix_timestamp();
                    cached
                        .doc
                        .commit_with(CommitOptions::default().with_time(now));
                }
                if let Some(e) = failed {
                    // Parts committed in memory before the failure: the document is read
                    // again from the backend, where none of them is.
                    *slot = None;
                    return Err(e.into());
                }
                let stored = self.persist(
                    id,
                    cached,
                    &before,
                    None,
                    false,
                    Extras {
                        origin: Origin::LOCAL,
                        meta,
                    },
                );
                match stored {
                    Ok(Some(n_chunks)) => return Ok(n_chunks),
                    Ok(None) => *slot = None,
                    Err(e) => {
                        *slot = None;
                        return Err(e);
                    }
                }
                contention_pause(attempt);
            }
            Err(StoreError::Contended { doc: key.clone() })
        })?;
        self.maybe_compact(id, n_chunks);
        Ok(())
    }

    fn change_with<T>(
        &self,
        id: &DocId,
        origin: Origin<'_>,
        meta: &[(String, String)],
        mut f: impl FnMut(&mut AutoCommit) -> Result<T, SchemaError>,
    ) -> Result<T> {
        let key = id.to_string();
        let (value, n_chunks) = self.with_slot(&key, |slot| {
            for attempt in 0..MAX_ATTEMPTS {
                let cached = self.fresh(&key, slot)?;
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
                match self.persist(id, cached, &before, None, false, Extras { origin, meta })? {
                    Some(n_chunks) => return Ok((value, n_chunks)),
                    None => *slot = None,
                }
                contention_pause(attempt);
            }
            Err(StoreError::Contended { doc: key.clone() })
        })?;
        self.maybe_compact(id, n_chunks);
        Ok(value)
    }

    /// Appends everything after `before` as a chunk, with the materialized rows of the records
    /// it touched and the sync state, in one backend transaction. `Some(chunk count)` when
    /// stored (`None` inside when no chunk was needed), `None` on a version conflict.
    fn persist(
        &self,
        id: &DocId,
        cached: &mut Cached,
        before: &[ChangeHash],
        sync_state: Option<(&str, &sync::State)>,
        received: bool,
        extras: Extras<'_>,
    ) -> Result<Option<Option<i64>>> {
        let Extras { origin, meta } = extras;
        let key = id.to_string();
        let after = cached.doc.get_heads();
        let encoded_state = sync_state.map(|(peer, s)| (peer, s.encode()));
        let sync_state = encoded_state
            .as_ref()
            .map(|(peer, bytes)| (*peer, bytes.as_slice()));
        if after.as_slice() == before {
            if sync_state.is_none() {
                return Ok(Some(None));
            }
            let write = DocWrite {
                doc: &key,
                base: cached.version,
                chunk: None,
                rows: &[],
                sync_state,
                log: None,
                meta: &[],
            };
            return match self.backend.commit(&write)? {
                Commit::Done { .. } => Ok(Some(None)),
                Commit::Conflict => Ok(None),
            };
        }
        let chunk = cached.doc.save_after(before);
        // A document that was empty before: every record in it is new, and listing the root's
        // keys is much cheaper than a diff of the whole document.
        let touched: BTreeSet<RecordKey> = if before.is_empty() {
            crate::schema::record_keys(&cached.doc)
                .into_iter()
                .collect()
        } else {
            let mut keys = touched_records(&mut cached.doc, before, &after);
            keys.extend(written_records(&mut cached.doc, before));
            keys
        };
        cached.doc.update_diff_cursor();
        let rows = materialize::row_ops(id, &cached.doc, &touched);
        if received {
            let check = self
                .row_check
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if let Some(check) = check {
                for row in &rows {
                    check(row).map_err(|reason| StoreError::Invalid {
                        doc: key.clone(),
                        reason: format!("{}: {reason}", materialize::describe(row)),
                    })?;
                }
            }
        }
        let log = self.log_changes.load(Ordering::Relaxed).then(|| LogEntry {
            upt: id.upt().unwrap_or(""),
            hashes: cached
                .doc
                .get_changes(before)
                .iter()
                .map(|c| c.hash().to_string())
                .collect(),
            origin,
        });
        let write = DocWrite {
            doc: &key,
            base: cached.version,
            chunk: Some(&chunk),
            rows: &rows,
            sync_state,
            log,
            meta,
        };
        match self.backend.commit(&write)? {
            Commit::Done { version, n_chunks } => {
                cached.version = version;
                Ok(Some(n_chunks))
            }
            Commit::Conflict => Ok(None),
        }
    }

    /// Compacts after a write once enough chunks piled up. A write that was stored is never
    /// reported as failed because the compaction after it failed: that is logged, and the
    /// next write tries again.
    fn maybe_compact(&self, id: &DocId, n_chunks: Option<i64>) {
        if n_chunks.is_some_and(|n| n >= self.compact_after.load(Ordering::Relaxed))
            && let Err(e) = self.compact(id)
        {
            tracing::warn!(doc = %id, error = %e, "compaction failed; the write itself is stored, and compaction is retried after the next write");
        }
    }

    /// Folds the snapshot and every chunk of a document into a new snapshot, atomically.
    pub fn compact(&self, id: &DocId) -> Result<()> {
        let key = id.to_string();
        self.with_slot(&key, |slot| {
            let cached = self.fresh(&key, slot)?;
            let snapshot = cached.doc.save();
            match self.backend.compact(&key, cached.version, &snapshot)? {
                Some(version) => cached.version = version,
                // Someone wrote meanwhile: the next write compacts.
                None => *slot = None,
            }
            Ok(())
        })
    }

    /// Drops a document here (see [`Backend::forget`]) so the next sync brings it back whole
    /// from the hub: the repair of a copy the hub refuses (tampered with, or ahead of a hub
    /// restored from a backup). What only this copy held is gone.
    pub fn forget(&self, id: &DocId) -> Result<()> {
        let key = id.to_string();
        self.with_slot(&key, |slot| {
            *slot = None;
            self.backend.forget(id)
        })
    }

    /// Rows stored for a document (1 snapshot row, if any, plus its chunks).
    pub fn stored_rows(&self, id: &DocId) -> Result<i64> {
        self.backend.stored_rows(&id.to_string())
    }

    /// Re-reads a whole document into the materialized tables. The incremental path keeps them
    /// current; this repairs them (after a schema migration, say) and checks them in tests.
    pub fn rebuild_materialized(&self, id: &DocId) -> Result<()> {
        let key = id.to_string();
        self.with_slot(&key, |slot| {
            let cached = self.fresh(&key, slot)?;
            let keys = crate::schema::record_keys(&cached.doc);
            let rows = materialize::row_ops(id, &cached.doc, &keys);
            self.backend.replace_rows(id, &rows)
        })
    }

    // ---------- sync ----------

    /// The stored sync state with `peer` for a document, or a fresh one.
    pub fn sync_state(&self, peer: &str, id: &DocId) -> Result<sync::State> {
        Ok(self
            .backend
            .sync_state(peer, &id.to_string())?
            .and_then(|b| sync::State::decode(&b).ok())
            .unwrap_or_default())
    }

    pub fn save_sync_state(&self, peer: &str, id: &DocId, state: &sync::State) -> Result<()> {
        self.backend
            .save_sync_state(peer, &id.to_string(), &state.encode())
    }

    /// `peer` is known to have exactly `heads` of `id` (its poll's digest matched): its stored
    /// sync state says so from now on, so that an answer to a later poll starts from there.
    /// Written only when it changes.
    pub fn mark_shared(&self, peer: &str, id: &DocId, heads: &[ChangeHash]) -> Result<()> {
        self.mark_shared_from(peer, id, heads, self.sync_state(peer, id)?)
    }

    /// [`Replica::mark_shared`], with `state` the stored sync state, read already.
    pub fn mark_shared_from(
        &self,
        peer: &str,
        id: &DocId,
        heads: &[ChangeHash],
        mut state: sync::State,
    ) -> Result<()> {
        let mut known = state.shared_heads.clone();
        let mut now = heads.to_vec();
        known.sort();
        now.sort();
        if known == now {
            return Ok(());
        }
        state.shared_heads = now;
        self.save_sync_state(peer, id, &state)
    }

    pub fn generate_sync_message(
        &self,
        id: &DocId,
        state: &mut sync::State,
    ) -> Result<Option<sync::Message>> {
        let key = id.to_string();
        self.with_slot(&key, |slot| {
            Ok(self
                .fresh(&key, slot)?
                .doc
                .sync()
                .generate_sync_message(state))
        })
    }

    /// As [`Replica::generate_sync_message`], with at most `budget` bytes of changes in the
    /// message (always at least one change, so an upload progresses): when Automerge would
    /// send more, the message carries instead the oldest changes the peer has not been sent
    /// and is not known to have (causal order, so each part applies on its own), and the
    /// rest stay unsent in the state for the next message. `.1` is true when the message was
    /// cut. A long upload over a thin link then goes in requests that each finish within the
    /// request timeout, and each part the peer acknowledged is never sent again.
    pub fn generate_bounded_sync_message(
        &self,
        id: &DocId,
        state: &mut sync::State,
        budget: usize,
    ) -> Result<(Option<sync::Message>, bool)> {
        let key = id.to_string();
        self.with_slot(&key, |slot| {
            let doc = &mut self.fresh(&key, slot)?.doc;
            let sent_before = state.sent_hashes.clone();
            let Some(mut message) = doc.sync().generate_sync_message(state) else {
                return Ok((None, false));
            };
            // Every change the peer is not known to have and was not sent yet, oldest first.
            let pending: Vec<automerge::Change> = doc
                .get_changes(&state.shared_heads)
                .into_iter()
                .filter(|c| !sent_before.contains(&c.hash()))
                .collect();
            let pending_bytes: usize = pending.iter().map(|c| c.raw_bytes().len()).sum();
            let bytes: usize = message.changes.iter().map(<[u8]>::len).sum();
            if bytes <= budget && pending_bytes <= budget {
                return Ok((Some(message), false));
            }
            // More than one part: send the next part in causal order, whatever Automerge
            // picked (after a part, it asks only for the newest heads, whose history the peer
            // still lacks, and the upload would go a few changes per round trip).
            let mut chosen = Vec::new();
            let mut hashes = Vec::new();
            let mut size = 0;
            for change in &pending {
                let raw = change.raw_bytes();
                if !chosen.is_empty() && size + raw.len() > budget {
                    break;
                }
                size += raw.len();
                chosen.push(raw.to_vec());
                hashes.push(change.hash());
            }
            state.sent_hashes = sent_before;
            state.sent_hashes.extend(hashes);
            message.changes = chosen.into();
            Ok((Some(message), true))
        })
    }

    /// Applies a peer's sync message, storing the new changes, the materialized rows and the
    /// sync state with `peer` in one transaction. Under [`WritePolicy::ReadOnly`] a message
    /// that carries changes we do not have yet is refused whole: it is received into a fork,
    /// inspected, and dropped, and the sync state is left as it was.
    pub fn receive_sync_message(
        &self,
        id: &DocId,
        peer: &str,
        state: &mut sync::State,
        message: sync::Message,
        policy: WritePolicy,
    ) -> Result<Received> {
        let origin = Origin { peer, token: "" };
        Ok(self
            .exchange_with(id, origin, state, Some(message), policy, None, false)?
            .received
            .expect("a message was given"))
    }

    /// The hub's answer to a poll from `origin` whose digest differs: what `origin` lacks of
    /// `id`, assuming it still has what both agreed on at their last sync (see
    /// [`assume_shared`]); for a document the peer only reads, nothing agreed on means it
    /// has nothing (a UPT's first curation decision comes down in the same round trip).
    /// Nothing is received; the sync state is not changed.
    pub fn answer_poll(
        &self,
        id: &DocId,
        origin: Origin<'_>,
        policy: WritePolicy,
    ) -> Result<Option<sync::Message>> {
        let mut state = self.sync_state(origin.peer, id)?;
        if state.shared_heads.is_empty() && policy == WritePolicy::ReadOnly {
            state.their_heads = Some(Vec::new());
            state.their_need = Some(Vec::new());
            state.their_have = Some(vec![sync::Have {
                last_sync: Vec::new(),
                bloom: sync::BloomFilter::default(),
            }]);
        }
        assume_shared(&mut state);
        Ok(self
            .exchange_with(
                id,
                origin,
                &mut state,
                None,
                WritePolicy::ReadOnly,
                None,
                true,
            )?
            .reply)
    }

    /// One document's part of a sync round, under one lock: receive the peer's message (if
    /// any), then generate the reply, with the sync state with `peer` loaded and saved here.
    /// The sync state is the one with `origin.peer`; the changes received are logged under
    /// `origin` (see [`Replica::set_change_log`]).
    ///
    /// Under [`WritePolicy::ReadOnly`], changes new here are refused, unless `vouched` names
    /// heads this replica vouched for (see [`crate::vouch`]; the caller checked the MAC) and
    /// every new change lies in their history: then they are merged (a restored hub taking
    /// back its own changes).
    pub fn exchange(
        &self,
        id: &DocId,
        origin: Origin<'_>,
        message: Option<sync::Message>,
        policy: WritePolicy,
        vouched: Option<&[ChangeHash]>,
    ) -> Result<Exchange> {
        let mut state = self.sync_state(origin.peer, id)?;
        self.exchange_with(id, origin, &mut state, message, policy, vouched, true)
    }

    #[allow(clippy::too_many_arguments)]
    fn exchange_with(
        &self,
        id: &DocId,
        origin: Origin<'_>,
        state: &mut sync::State,
        message: Option<sync::Message>,
        policy: WritePolicy,
        vouched: Option<&[ChangeHash]>,
        reply: bool,
    ) -> Result<Exchange> {
        let key = id.to_string();
        let fault = self.fault.read().unwrap_or_else(|p| p.into_inner()).clone();
        let (exchange, n_chunks) = self.with_slot(&key, |slot| {
            let mut n_chunks = None;
            let mut received = None;
            if let Some(message) = message {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let mut try_state = state.clone();
                    match self.receive_once(
                        id,
                        slot,
                        origin,
                        &mut try_state,
                        message.clone(),
                        policy,
                        vouched,
                        fault.as_ref(),
                    )? {
                        Some((r, n)) => {
                            *state = try_state;
                            received = Some(r);
                            n_chunks = n;
                            break;
                        }
                        None if attempt < MAX_ATTEMPTS => {
                            *slot = None;
                            contention_pause(attempt);
                        }
                        None => return Err(StoreError::Contended { doc: key.clone() }),
                    }
                }
            }
            let reply = if reply {
                // After a receive under this lock the copy equals the stored document: no
                // second look at the backend.
                let cached = match slot {
                    Some(cached) if received.is_some() => cached,
                    _ => self.fresh(&key, slot)?,
                };
                cached.doc.sync().generate_sync_message(state)
            } else {
                None
            };
            Ok((Exchange { received, reply }, n_chunks))
        })?;
        self.maybe_compact(id, n_chunks);
        Ok(exchange)
    }

    /// `None` on a version conflict (the caller reloads and tries again).
    #[allow(clippy::too_many_arguments)]
    fn receive_once(
        &self,
        id: &DocId,
        slot: &mut Option<Cached>,
        origin: Origin<'_>,
        state: &mut sync::State,
        message: sync::Message,
        policy: WritePolicy,
        vouched: Option<&[ChangeHash]>,
        fault: Option<&FaultHook>,
    ) -> Result<Option<(Received, Option<i64>)>> {
        let key = id.to_string();
        let sync_error = |source| StoreError::Sync {
            doc: key.clone(),
            source: Box::new(source),
        };
        let cached = self.fresh(&key, slot)?;
        let doc = &mut cached.doc;
        let before = doc.get_heads();
        if policy == WritePolicy::ReadOnly && !message.changes.is_empty() {
            let mut fork = doc.fork();
            let mut probe = state.clone();
            fork.sync()
                .receive_sync_message(&mut probe, message.clone())
                .map_err(sync_error)?;
            let known: BTreeSet<ChangeHash> =
                doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
            let new: BTreeSet<ChangeHash> = fork
                .get_changes(&[])
                .iter()
                .map(|c| c.hash())
                .filter(|h| !known.contains(h))
                .collect();
            // Taken back only when all of the vouched history is here and holds every new
            // change: whatever lies outside it (or a history cut short) is not the writer's.
            let taken_back = match vouched {
                Some(heads) if !new.is_empty() => {
                    heads.iter().all(|h| fork.get_change_by_hash(h).is_some())
                        && fork
                            .get_changes(heads)
                            .iter()
                            .all(|c| !new.contains(&c.hash()))
                }
                _ => false,
            };
            if !new.is_empty() && !taken_back {
                return Ok(Some((
                    Received::Refused {
                        new_changes: new.len(),
                    },
                    None,
                )));
            }
        }
        let changes_before = doc.stats().num_changes;
        let shared_before = state.shared_heads.clone();
        doc.sync()
            .receive_sync_message(state, message)
            .map_err(sync_error)?;
        let new_changes = (doc.stats().num_changes - changes_before) as usize;
        if new_changes > 0
            && let Some(hook) = fault
        {
            hook(id);
        }
        // Only what is stored of the state (the shared heads) decides whether to write it: a
        // no-op sync then writes nothing, and costs no fsync.
        let state_changed = state.shared_heads != shared_before;
        Ok(self
            .persist(
                id,
                cached,
                &before,
                state_changed.then_some((origin.peer, &*state)),
                true,
                Extras { origin, meta: &[] },
            )?
            .map(|n| (Received::Applied { new_changes }, n)))
    }

    /// Changes in a document that `peer` has not acknowledged yet (as of the last sync).
    pub fn unshared_changes(&self, peer: &str, id: &DocId) -> Result<usize> {
        let shared = self.sync_state(peer, id)?.shared_heads;
        self.with_doc(id, |doc| {
            if shared.iter().any(|h| doc.get_change_by_hash(h).is_none()) {
                return doc.get_changes(&[]).len();
            }
            doc.get_changes(&shared).len()
        })
    }
}

/// How often a write is made again after other processes' writes got in first.
const MAX_ATTEMPTS: usize = 40;

/// A short random pause after losing a race to another process, growing with the attempts,
/// so that two writers of one document take turns instead of colliding again.
fn contention_pause(attempt: usize) {
    let cap_ms = (1u64 << attempt.min(6)).min(50);
    let ms = 1 + rand::random::<u64>() % cap_ms;
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

/// Takes a document's lock. A lock poisoned by a panic elsewhere is not trusted: the copy in
/// memory is dropped and reloaded from the backend at its next use.
fn lock_slot(slot: &Slot) -> MutexGuard<'_, Option<Cached>> {
    slot.lock().unwrap_or_else(|poisoned| {
        let mut guard = poisoned.into_inner();
        *guard = None;
        slot.clear_poison();
        guard
    })
}

/// Takes a lock whose data a panic cannot leave half-changed (the cache map: every change to
/// it is one insert or remove).
fn lock_plain<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| {
        m.clear_poison();
        poisoned.into_inner()
    })
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".into()
    }
}

/// The records that the changes after `before` write to, read off their operations. The diff
/// misses one case this sees: a write that only supersedes a losing concurrent value leaves
/// the visible value as it was (no patch), yet the record's conflicts change, and its row
/// must be written again (found by the convergence property test).
fn written_records(doc: &mut AutoCommit, before: &[ChangeHash]) -> BTreeSet<RecordKey> {
    let mut keys = BTreeSet::new();
    let mut records: HashMap<String, Option<RecordKey>> = HashMap::new();
    for change in doc.get_changes(before) {
        for op in change.decode().operations {
            let key = match &op.obj {
                automerge::legacy::ObjectId::Root => match &op.key {
                    automerge::legacy::Key::Map(k) => RecordKey::parse(k),
                    _ => None,
                },
                obj => records
                    .entry(obj.to_string())
                    .or_insert_with_key(|id| record_of(doc, id))
                    .clone(),
            };
            keys.extend(key);
        }
    }
    keys
}

/// The record (root key) an object lives under.
fn record_of(doc: &AutoCommit, obj: &str) -> Option<RecordKey> {
    let id = doc.import_obj(obj).ok()?;
    let root = doc.parents(&id).ok()?.last()?;
    match root.prop {
        Prop::Map(key) => RecordKey::parse(&key),
        Prop::Seq(_) => None,
    }
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

/// Starts optimistic: assumes the peer still has what both sides agreed on at the last sync
/// (the persisted shared heads), so the first message already carries every change made
/// since. An incremental sync is then one round trip instead of two; on a satellite link that
/// is 600 ms saved each time. If the peer does not have those heads after all (restored from
/// a backup, say), it answers with what it needs and the next round sends it.
pub fn assume_shared(state: &mut sync::State) {
    if state.shared_heads.is_empty() {
        return;
    }
    state.their_heads = Some(state.shared_heads.clone());
    state.their_need = Some(Vec::new());
    state.their_have = Some(vec![sync::Have {
        last_sync: state.shared_heads.clone(),
        bloom: sync::BloomFilter::default(),
    }]);
}
