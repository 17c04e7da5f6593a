//! A backend chosen when the store opens: SQLite (a file) or PostgreSQL (a `postgres://`
//! address). The hub runs on either; the agent always on SQLite.

use super::{AppSchema, Backend, Commit, DocVersion, DocWrite, Result, StoredDoc};
use super::{PgBackend, SqliteBackend};
use crate::materialize::RowOp;
use crate::schema::DocId;
use crate::store::sql::Sql;

#[derive(Debug)]
pub enum AnyBackend {
    Sqlite(SqliteBackend),
    Postgres(Box<PgBackend>),
}

/// Both arms, the same call.
macro_rules! each {
    ($self:ident, $b:ident => $e:expr) => {
        match $self {
            AnyBackend::Sqlite($b) => $e,
            AnyBackend::Postgres($b) => $e,
        }
    };
}

impl AnyBackend {
    /// Runs `f` on a connection for reading (a reader of SQLite's pool, a connection of
    /// PostgreSQL's). On PostgreSQL `f` may run twice, when the first connection turned out
    /// closed before it ran: it must only read.
    pub fn read<T>(&self, mut f: impl FnMut(&mut Sql<'_>) -> Result<T>) -> Result<T> {
        match self {
            AnyBackend::Sqlite(b) => b.read(|c| f(&mut Sql::Lite(c))),
            AnyBackend::Postgres(b) => b.with(|c| f(&mut Sql::Pg(c))),
        }
    }

    /// Runs `f` in a write transaction: all of it is stored, or nothing.
    pub fn write<T>(&self, f: impl FnOnce(&mut Sql<'_>) -> Result<T>) -> Result<T> {
        match self {
            AnyBackend::Sqlite(b) => {
                let mut conn = b.writer();
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let out = f(&mut Sql::Lite(&tx))?;
                tx.commit()?;
                Ok(out)
            }
            AnyBackend::Postgres(b) => b.transaction(|c| f(&mut Sql::Pg(c))),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, AnyBackend::Postgres(_))
    }
}

impl Backend for AnyBackend {
    fn version(&self, doc: &str) -> Result<DocVersion> {
        each!(self, b => b.version(doc))
    }
    fn load(&self, doc: &str) -> Result<StoredDoc> {
        each!(self, b => b.load(doc))
    }
    fn chunks_after(&self, doc: &str, after_seq: i64) -> Result<Vec<(i64, Vec<u8>)>> {
        each!(self, b => b.chunks_after(doc, after_seq))
    }
    fn commit(&self, write: &DocWrite<'_>) -> Result<Commit> {
        each!(self, b => b.commit(write))
    }
    fn compact(&self, doc: &str, base: DocVersion, snapshot: &[u8]) -> Result<Option<DocVersion>> {
        each!(self, b => b.compact(doc, base, snapshot))
    }
    fn replace_rows(&self, id: &DocId, rows: &[RowOp]) -> Result<()> {
        each!(self, b => b.replace_rows(id, rows))
    }
    fn forget(&self, id: &DocId) -> Result<()> {
        each!(self, b => b.forget(id))
    }
    fn sync_state(&self, peer: &str, doc: &str) -> Result<Option<Vec<u8>>> {
        each!(self, b => b.sync_state(peer, doc))
    }
    fn save_sync_state(&self, peer: &str, doc: &str, state: &[u8]) -> Result<()> {
        each!(self, b => b.save_sync_state(peer, doc, state))
    }
    fn poll_view(&self, peer: &str, docs: &[&str]) -> Result<Vec<(DocVersion, Option<Vec<u8>>)>> {
        each!(self, b => b.poll_view(peer, docs))
    }
    fn doc_ids(&self) -> Result<Vec<String>> {
        each!(self, b => b.doc_ids())
    }
    fn stored_rows(&self, doc: &str) -> Result<i64> {
        each!(self, b => b.stored_rows(doc))
    }
    fn meta(&self, key: &str) -> Result<Option<String>> {
        each!(self, b => b.meta(key))
    }
    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        each!(self, b => b.set_meta(key, value))
    }
    fn meta_init(&self, key: &str, value: &str) -> Result<String> {
        each!(self, b => b.meta_init(key, value))
    }
    fn meta_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        each!(self, b => b.meta_with_prefix(prefix))
    }
}

/// The store of a hub: on SQLite or on PostgreSQL.
pub type AnyStore = super::Replica<AnyBackend>;

impl super::Replica<AnyBackend> {
    /// Opens the store `db` names: a `postgres://` address (with `pg_app`'s tables and at
    /// most `connections` connections), else a SQLite file (with `app`'s tables and
    /// `connections` readers).
    pub fn open_any(
        db: &str,
        app: Option<AppSchema>,
        pg_app: Option<AppSchema>,
        connections: usize,
    ) -> Result<Self> {
        let backend = if super::is_postgres_url(db) {
            AnyBackend::Postgres(Box::new(PgBackend::open(db, pg_app, connections)?))
        } else {
            AnyBackend::Sqlite(SqliteBackend::open(
                std::path::Path::new(db),
                app,
                connections,
            )?)
        };
        Self::new(backend)
    }
}
