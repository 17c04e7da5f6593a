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
mod exchange;
#[cfg(feature = "postgres")]
mod pg_batch;
#[cfg(feature = "postgres")]
mod pg_conn;
#[cfg(feature = "postgres")]
mod pg_tls;
#[cfg(feature = "postgres")]
pub mod postgres;
mod replica;
pub mod sql;
pub mod sqlite;
mod sqlite_schema;

pub use exchange::Exchange;
pub use exchange::assume_shared;
pub use replica::{FaultHook, Replica, RowCheck};

use crate::materialize::RowOp;
use crate::schema::{DocId, SchemaError};
use automerge::AutomergeError;

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
    /// Every meta entry whose key starts with `prefix`, by key.
    fn meta_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>>;
}
