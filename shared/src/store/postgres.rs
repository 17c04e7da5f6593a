//! The PostgreSQL backend: the hub's store when several hub processes share one database.
//!
//! Same tables as the SQLite backend (typed the PostgreSQL way: `BIGINT`, `BYTEA`, sequences),
//! same contract: a write is one transaction, durable when it returns. Writers of one document,
//! in this process or in another on the same database, exclude each other with a
//! transaction-scoped advisory lock keyed by the document (`pg_advisory_xact_lock`), taken
//! before the stored version is compared; the lock goes with the commit or the rollback, so a
//! process that dies holding it frees it at once. Readers take no lock: a document's snapshot
//! and chunks are read in one `REPEATABLE READ` transaction.
//!
//! Connections come from a small pool opened on demand; a connection found broken (the server
//! restarted, the network dropped) is dropped and the next use opens a new one.

use super::pg_conn::{Held, PgValue, Piped, Pool, describe_server, lost};
pub use super::pg_conn::{Params, PgConn};
use super::pg_tls;
use super::{AppSchema, Backend, Commit, DocVersion, DocWrite, Result, StoreError, StoredDoc};
use crate::materialize::RowOp;
use crate::schema::DocId;
use futures_executor::block_on;
use sha2::{Digest, Sha256};
use std::sync::{Condvar, Mutex};
use std::time::Duration;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// The shared tables, in PostgreSQL's dialect; each entry migrates from the version before it
/// and starts with a `-- ` line that says what it does. The store's state after all of them
/// equals the SQLite backend's (the words index is the hub's: see its schema).
pub const MIGRATIONS: &[&str] = &[
    r#"-- documents, sync states, materialized tables, change log
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE docs (
        doc_id TEXT PRIMARY KEY,
        snapshot BYTEA,
        n_chunks BIGINT NOT NULL DEFAULT 0,
        generation BIGINT NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE chunks (
        seq BIGSERIAL PRIMARY KEY,
        doc_id TEXT NOT NULL,
        data BYTEA NOT NULL
    );
    CREATE INDEX chunks_doc ON chunks(doc_id, seq);
    CREATE TABLE sync_states (
        peer TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        state BYTEA NOT NULL,
        PRIMARY KEY (peer, doc_id)
    );
    CREATE TABLE products (
        upt TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, category TEXT NOT NULL,
        description TEXT NOT NULL, price_idr BIGINT NOT NULL, unit TEXT NOT NULL,
        stock BIGINT NOT NULL, workshop TEXT NOT NULL, certifications TEXT NOT NULL,
        nominated BIGINT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        deleted BIGINT NOT NULL, conflicts TEXT NOT NULL, photos TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (upt, id)
    );
    CREATE INDEX products_id ON products(id);
    CREATE INDEX products_page ON products(deleted, upt, name, id);
    CREATE INDEX products_stats ON products(deleted, upt, stock);
    CREATE TABLE sales (
        upt TEXT NOT NULL, id TEXT NOT NULL, product_id TEXT NOT NULL, date TEXT NOT NULL,
        quantity BIGINT NOT NULL, revenue_idr BIGINT NOT NULL, channel TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (upt, id)
    );
    CREATE INDEX sales_stats ON sales(upt, date, revenue_idr);
    CREATE TABLE trainings (
        upt TEXT NOT NULL, id TEXT NOT NULL, program TEXT NOT NULL, category TEXT NOT NULL,
        partner TEXT NOT NULL, start_date TEXT NOT NULL, end_date TEXT NOT NULL,
        hours BIGINT NOT NULL, instructor TEXT NOT NULL, capacity BIGINT NOT NULL,
        scheme TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        deleted BIGINT NOT NULL, conflicts TEXT NOT NULL,
        PRIMARY KEY (upt, id)
    );
    CREATE INDEX trainings_page ON trainings(deleted, upt, start_date, id);
    CREATE TABLE participants (
        upt TEXT NOT NULL, training_id TEXT NOT NULL, pseudonym TEXT NOT NULL,
        enrolled_at TEXT NOT NULL, hours_attended BIGINT NOT NULL, status TEXT NOT NULL,
        certificate TEXT NOT NULL,
        PRIMARY KEY (upt, training_id, pseudonym)
    );
    CREATE INDEX participants_stats ON participants(upt, status);
    CREATE TABLE curation (
        upt TEXT NOT NULL, product_id TEXT NOT NULL, status TEXT NOT NULL, note TEXT NOT NULL,
        decided_by TEXT NOT NULL, decided_at TEXT NOT NULL,
        PRIMARY KEY (upt, product_id)
    );
    CREATE TABLE upts (
        code TEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL, kanwil TEXT NOT NULL
    );
    CREATE TABLE categories (
        kind TEXT NOT NULL, slug TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (kind, slug)
    );
    CREATE TABLE product_photos (
        upt TEXT NOT NULL, product_id TEXT NOT NULL, hash TEXT NOT NULL,
        size BIGINT NOT NULL, thumb BIGINT NOT NULL,
        PRIMARY KEY (upt, product_id, hash)
    );
    CREATE INDEX product_photos_hash ON product_photos(hash, upt);
    CREATE TABLE change_log (
        seq BIGSERIAL PRIMARY KEY,
        at TEXT NOT NULL,
        doc TEXT NOT NULL,
        upt TEXT NOT NULL,
        hash TEXT NOT NULL,
        peer TEXT NOT NULL,
        token TEXT NOT NULL
    );
    CREATE INDEX change_log_upt ON change_log(upt, seq);
    CREATE INDEX change_log_at ON change_log(at);
"#,
    r#"-- the Kanwil tier: its verifications, the values each level approved, nominations again
    ALTER TABLE products ADD COLUMN nominations BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE curation ADD COLUMN unverified BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE curation ADD COLUMN approved_name TEXT NOT NULL DEFAULT '';
    ALTER TABLE curation ADD COLUMN approved_price_idr BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE curation ADD COLUMN approved_description TEXT NOT NULL DEFAULT '';
    ALTER TABLE curation ADD COLUMN approved_photos TEXT NOT NULL DEFAULT '';
    CREATE TABLE verifications (
        upt TEXT NOT NULL, product_id TEXT NOT NULL, status TEXT NOT NULL, note TEXT NOT NULL,
        decided_by TEXT NOT NULL, decided_at TEXT NOT NULL, round BIGINT NOT NULL,
        approved_name TEXT NOT NULL, approved_price_idr BIGINT NOT NULL,
        approved_description TEXT NOT NULL, approved_photos TEXT NOT NULL,
        PRIMARY KEY (upt, product_id)
    );
    CREATE INDEX products_nominated ON products(deleted, nominated, upt, updated_at);
    CREATE INDEX verifications_queue ON verifications(status, decided_at);
    CREATE INDEX curation_status ON curation(status, upt);
"#,
    r#"-- a UPT's contact for buyers (the public catalogue's "Cara membeli"), set by HQ
    ALTER TABLE upts ADD COLUMN address TEXT NOT NULL DEFAULT '';
    ALTER TABLE upts ADD COLUMN phone TEXT NOT NULL DEFAULT '';
    ALTER TABLE upts ADD COLUMN email TEXT NOT NULL DEFAULT '';
    -- how much of its product's stock a sale took (given back when it is undone)
    ALTER TABLE sales ADD COLUMN stock_taken BIGINT NOT NULL DEFAULT 0;
"#,
    r#"-- the public keys of a UPT's agents (a hub rebuilt from nothing knows them by these)
    ALTER TABLE upts ADD COLUMN agent_keys TEXT NOT NULL DEFAULT '';
"#,
];

/// The key of the advisory lock held while migrating (any 64-bit constant of karya's own).
const MIGRATION_LOCK: i64 = 0x6b61_7279_615f_6d69; // "karya_mi"

/// The key of the advisory lock that orders the change log's entries.
const CHANGE_LOG_LOCK: i64 = 0x6b61_7279_615f_6c6f; // "karya_lo"

/// Takes the advisory lock with the given key until the transaction ends.
const ADVISORY_LOCK: &str = "SELECT pg_advisory_xact_lock($1)";

/// A document's stored version: its generation and its last chunk's number.
const VERSION_OF: &str =
    "SELECT generation, COALESCE((SELECT MAX(seq) FROM chunks WHERE doc_id = $1), 0)
     FROM docs WHERE doc_id = $1";

/// The version [`VERSION_OF`] answered (none: a document not stored yet).
fn version_in(row: Option<&Row>) -> DocVersion {
    row.map(|r| DocVersion {
        generation: r.get(0),
        last_seq: r.get(1),
    })
    .unwrap_or_default()
}

/// Stores a sync state: (peer, document, state).
const SYNC_STATE_SET: &str = "INSERT INTO sync_states (peer, doc_id, state) VALUES ($1, $2, $3)
     ON CONFLICT (peer, doc_id) DO UPDATE SET state = EXCLUDED.state";

/// Stores a value of `meta`: (key, value).
const META_SET: &str = "INSERT INTO meta (key, value) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value";

/// The advisory lock key of a document: 64 bits of a hash of its id.
fn doc_lock_key(doc: &str) -> i64 {
    let digest = Sha256::digest(format!("karya-doc:{doc}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

impl Drop for PgBackend {
    fn drop(&mut self) {
        // Without waiting: a store may be dropped inside an async task.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The PostgreSQL backend (see the module's documentation).
pub struct PgBackend {
    /// Connections for transactions (document writes, the hub's writes).
    pool: Pool,
    /// Connections for reads and single statements: a reader (a page, `/healthz`, a
    /// version check) never waits for writers holding every connection of `pool`.
    readers: Pool,
    /// Drives every connection's socket (see [`Pool`]); shut down when the store goes.
    runtime: Option<tokio::runtime::Runtime>,
    /// Where the server is, for messages (never the password).
    server: String,
}

impl std::fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackend")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// Whether `db` names a PostgreSQL database (`postgres://…` or `postgresql://…`) rather than
/// a SQLite file.
pub use super::is_postgres_url;

impl PgBackend {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`), creates or
    /// migrates its tables (the store's, then `app`'s), with at most `connections` open.
    pub fn open(url: &str, app: Option<AppSchema>, connections: usize) -> Result<PgBackend> {
        Self::open_with(url, app, connections, true)
    }

    /// As [`PgBackend::open`], but a database that holds no karya store yet is an error
    /// (a wrong address must not become a new, empty national hub).
    pub fn open_existing(
        url: &str,
        app: Option<AppSchema>,
        connections: usize,
    ) -> Result<PgBackend> {
        Self::open_with(url, app, connections, false)
    }

    fn open_with(
        url: &str,
        app: Option<AppSchema>,
        connections: usize,
        create: bool,
    ) -> Result<PgBackend> {
        let (address, tls) = pg_tls::split_tls(url)?;
        let mut config: tokio_postgres::Config = address.parse().map_err(|e: tokio_postgres::Error| {
            StoreError::Config(format!(
                "the PostgreSQL address is not valid ({e}); write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE"
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("karya");
        let tls = match tls {
            pg_tls::TlsMode::Disable => {
                config.ssl_mode(tokio_postgres::config::SslMode::Disable);
                None
            }
            pg_tls::TlsMode::Verify { roots, check_host } => {
                config.ssl_mode(tokio_postgres::config::SslMode::Require);
                Some(pg_tls::connector(roots.as_deref(), check_host)?)
            }
        };
        let server = describe_server(&config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("karya-postgres")
            .enable_all()
            .build()
            .map_err(|e| {
                StoreError::Config(format!("cannot start PostgreSQL's I/O thread: {e}"))
            })?;
        let pool = |max: usize| Pool {
            runtime: runtime.handle().clone(),
            config: config.clone(),
            tls: tls.clone(),
            idle: Mutex::new((Vec::new(), 0)),
            returned: Condvar::new(),
            max,
        };
        let backend = PgBackend {
            pool: pool(connections.max(2)),
            readers: pool(connections.max(2)),
            runtime: Some(runtime),
            server,
        };
        let name = backend.server.clone();
        backend
            .transaction(|c| {
                let found: bool = c
                    .query_one("SELECT to_regclass('karya_schema') IS NOT NULL", &[])?
                    .get(0);
                if !found && !create {
                    return Err(StoreError::Config(format!(
                        "the PostgreSQL database {} holds no karya hub; check the address, or start a new hub there with --create",
                        name
                    )));
                }
                c.lock_migrations()?;
                c.migrate("store", MIGRATIONS)?;
                if let Some(app) = app {
                    c.migrate(app.name, app.migrations)?;
                }
                Ok(())
            })
            .map_err(|e| backend.name_server(e))?;
        Ok(backend)
    }

    /// Host, port and database of the server, for messages.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// An error that names the server it came from (a refused connection, a wrong password).
    fn name_server(&self, e: StoreError) -> StoreError {
        let StoreError::Postgres(pg) = &e else {
            return e;
        };
        let server = &self.server;
        if let Some(why) = pg_tls::failure(pg) {
            return StoreError::Config(format!(
                "PostgreSQL at {server}: the encrypted connection failed, {why}"
            ));
        }
        match pg.as_db_error() {
            None => StoreError::Unreachable(format!(
                "PostgreSQL at {server} cannot be reached ({pg}); check that the server runs and the address, user and password are right"
            )),
            Some(db)
                if *db.code()
                    == tokio_postgres::error::SqlState::INVALID_AUTHORIZATION_SPECIFICATION
                    && db.message().contains("no encryption") =>
            {
                StoreError::Config(format!(
                    "PostgreSQL at {server} accepts only encrypted connections; add ?sslmode=verify-full to the address (with &sslrootcert=PATH when HQ's own CA signed the server's certificate)"
                ))
            }
            Some(_) => e,
        }
    }

    /// Runs `f` on a connection of the pool. A connection that turns out closed (the server
    /// restarted or the network dropped since its last use) is replaced and `f` runs again
    /// on a new one: every caller's `f` is one statement, or reads only, so it either ran
    /// whole or not at all.
    pub fn with<T>(&self, mut f: impl FnMut(&mut PgConn) -> Result<T>) -> Result<T> {
        let mut tries = 0;
        loop {
            let mut held = self.hold(&self.readers)?;
            match f(held.conn()) {
                Err(StoreError::Postgres(e)) if lost(&e) && tries <= self.readers.max => {
                    tries += 1;
                }
                other => return other,
            }
        }
    }

    /// A connection of the pool, given back when dropped (also when its user panics).
    fn hold<'a>(&self, pool: &'a Pool) -> Result<Held<'a>> {
        let conn = pool.take().map_err(|e| self.name_server(e))?;
        Ok(Held(pool, Some(conn)))
    }

    /// Runs `f` in a transaction: committed when it returns `Ok`, rolled back otherwise (and
    /// when it panics, by the pool when the connection comes back).
    pub fn transaction<T>(&self, f: impl FnOnce(&mut PgConn) -> Result<T>) -> Result<T> {
        self.in_transaction(&self.pool, "BEGIN", f)
    }

    /// Runs `f` in a read-only transaction that sees one snapshot of the database.
    pub fn snapshot<T>(&self, f: impl FnOnce(&mut PgConn) -> Result<T>) -> Result<T> {
        self.in_transaction(
            &self.readers,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            f,
        )
    }

    fn in_transaction<T>(
        &self,
        pool: &Pool,
        begin: &str,
        f: impl FnOnce(&mut PgConn) -> Result<T>,
    ) -> Result<T> {
        let mut tries = 0;
        let mut held = loop {
            let mut held = self.hold(pool)?;
            // A connection found closed fails here, before anything is written: take another.
            match held.conn().batch(begin) {
                Ok(()) => break held,
                Err(StoreError::Postgres(e)) if lost(&e) && tries <= pool.max => {
                    tries += 1;
                }
                Err(e) => return Err(e),
            }
        };
        let c = held.conn();
        c.in_transaction = true;
        let out = f(c)?;
        // A connection lost here leaves the outcome unknown: the error goes to the caller
        // (the replica then reloads the document from what was stored).
        c.batch("COMMIT")?;
        c.in_transaction = false;
        Ok(out)
    }

    /// Every materialized row, as text, in a stable order: for comparing two stores' tables.
    pub fn dump_materialized(&self) -> Result<Vec<String>> {
        self.snapshot(|c| {
            let mut out = Vec::new();
            for (table, key) in crate::materialize::table_keys() {
                let order = key.join(", ");
                for row in c.query(
                    &format!("SELECT row_to_json(t)::text FROM {table} t ORDER BY {order}"),
                    &[],
                )? {
                    out.push(format!("{table}: {}", row.get::<_, String>(0)));
                }
            }
            Ok(out)
        })
    }
}

impl Backend for PgBackend {
    fn version(&self, doc: &str) -> Result<DocVersion> {
        self.with(|c| c.version_of(doc))
    }

    fn load(&self, doc: &str) -> Result<StoredDoc> {
        self.snapshot(|c| {
            let row = c.query_opt(
                "SELECT snapshot, generation FROM docs WHERE doc_id = $1",
                &[&doc],
            )?;
            let chunks = c.chunks_after(doc, 0)?;
            let (snapshot, generation) = row.map(|r| (r.get(0), r.get(1))).unwrap_or((None, 0));
            Ok(StoredDoc {
                snapshot,
                generation,
                chunks,
            })
        })
    }

    fn chunks_after(&self, doc: &str, after_seq: i64) -> Result<Vec<(i64, Vec<u8>)>> {
        self.with(|c| c.chunks_after(doc, after_seq))
    }

    fn commit(&self, w: &DocWrite<'_>) -> Result<Commit> {
        self.transaction(|c| {
            let mut done = Commit::Done {
                version: w.base,
                n_chunks: None,
            };
            if let Some(chunk) = w.chunk {
                // Writers of this document, here or in another process, wait here in turn; the
                // version read after the lock is the one the next writer will compare with.
                if c.lock_and_version(w.doc)? != w.base {
                    return Ok(Commit::Conflict);
                }
                // Everything else the write stores goes in one pipeline (one round trip).
                let now = crate::model::now_rfc3339();
                let mut statements = vec![
                    Piped::new(
                        "INSERT INTO chunks (doc_id, data) VALUES ($1, $2) RETURNING seq",
                        vec![PgValue::Text(w.doc), PgValue::Blob(chunk)],
                    ),
                    Piped::new(
                        "INSERT INTO docs (doc_id, n_chunks, updated_at) VALUES ($1, 1, $2)
                         ON CONFLICT (doc_id) DO UPDATE
                         SET n_chunks = docs.n_chunks + 1, updated_at = EXCLUDED.updated_at
                         RETURNING n_chunks",
                        vec![PgValue::Text(w.doc), PgValue::Text(&now)],
                    ),
                ];
                let writes: Vec<_> = w
                    .rows
                    .iter()
                    .flat_map(crate::materialize::row_writes)
                    .collect();
                statements.extend(super::pg_batch::row_statements(&writes));
                for (key, value) in w.meta {
                    statements.push(Piped::new(
                        META_SET,
                        vec![PgValue::Text(key), PgValue::Text(value)],
                    ));
                }
                if let Some(log) = &w.log.as_ref().filter(|l| !l.hashes.is_empty()) {
                    // Log entries are numbered in commit order: a reader that saw entry N has
                    // seen every entry before it (the kept figures rely on it). Writers of
                    // different documents wait for each other only from here to the commit.
                    statements.push(Piped::new(
                        ADVISORY_LOCK,
                        vec![PgValue::Int(CHANGE_LOG_LOCK)],
                    ));
                    // Numbered in the order of `hashes` (the rows go in in that order).
                    statements.push(Piped::new(
                        "INSERT INTO change_log (at, doc, upt, hash, peer, token)
                         SELECT $1::text, $2::text, $3::text, h, $5::text, $6::text
                         FROM unnest($4::text[]) WITH ORDINALITY AS u(h, n) ORDER BY n",
                        vec![
                            PgValue::Text(&now),
                            PgValue::Text(w.doc),
                            PgValue::Text(log.upt),
                            PgValue::Texts(log.hashes.iter().map(|h| Some(h.as_str())).collect()),
                            PgValue::Text(log.origin.peer),
                            PgValue::Text(log.origin.token),
                        ],
                    ));
                }
                if let Some((peer, state)) = w.sync_state {
                    statements.push(Piped::new(
                        SYNC_STATE_SET,
                        vec![
                            PgValue::Text(peer),
                            PgValue::Text(w.doc),
                            PgValue::Blob(state),
                        ],
                    ));
                }
                let answers = c.pipeline(&statements)?;
                let first = |i: usize| -> i64 { answers[i][0].get(0) };
                let (seq, n_chunks) = (first(0), first(1));
                done = Commit::Done {
                    version: DocVersion {
                        generation: w.base.generation,
                        last_seq: seq,
                    },
                    n_chunks: Some(n_chunks),
                };
            } else if let Some((peer, state)) = w.sync_state {
                c.save_sync_state(peer, w.doc, state)?;
            }
            Ok(done)
        })
    }

    fn compact(&self, doc: &str, base: DocVersion, snapshot: &[u8]) -> Result<Option<DocVersion>> {
        self.transaction(|c| {
            if c.lock_and_version(doc)? != base {
                return Ok(None);
            }
            let generation = base.generation + 1;
            c.execute(
                "INSERT INTO docs (doc_id, snapshot, n_chunks, generation, updated_at)
                 VALUES ($1, $2, 0, $3, $4)
                 ON CONFLICT (doc_id) DO UPDATE SET snapshot = EXCLUDED.snapshot, n_chunks = 0,
                     generation = EXCLUDED.generation, updated_at = EXCLUDED.updated_at",
                &[&doc, &snapshot, &generation, &crate::model::now_rfc3339()],
            )?;
            c.execute("DELETE FROM chunks WHERE doc_id = $1", &[&doc])?;
            Ok(Some(DocVersion {
                generation,
                last_seq: 0,
            }))
        })
    }

    fn replace_rows(&self, id: &DocId, rows: &[RowOp]) -> Result<()> {
        self.transaction(|c| {
            c.lock_doc(&id.to_string())?;
            c.delete_rows(id)?;
            let writes: Vec<_> = rows
                .iter()
                .flat_map(crate::materialize::row_writes)
                .collect();
            c.pipeline(&super::pg_batch::row_statements(&writes))?;
            Ok(())
        })
    }

    fn forget(&self, id: &DocId) -> Result<()> {
        let key = id.to_string();
        self.transaction(|c| {
            c.lock_doc(&key)?;
            c.delete_rows(id)?;
            c.execute("DELETE FROM chunks WHERE doc_id = $1", &[&key])?;
            c.execute("DELETE FROM docs WHERE doc_id = $1", &[&key])?;
            c.execute("DELETE FROM sync_states WHERE doc_id = $1", &[&key])?;
            Ok(())
        })
    }

    fn sync_state(&self, peer: &str, doc: &str) -> Result<Option<Vec<u8>>> {
        self.with(|c| {
            Ok(c.query_opt(
                "SELECT state FROM sync_states WHERE peer = $1 AND doc_id = $2",
                &[&peer, &doc],
            )?
            .map(|r| r.get(0)))
        })
    }

    fn save_sync_state(&self, peer: &str, doc: &str, state: &[u8]) -> Result<()> {
        self.with(|c| c.save_sync_state(peer, doc, state))
    }

    fn poll_view(&self, peer: &str, docs: &[&str]) -> Result<Vec<(DocVersion, Option<Vec<u8>>)>> {
        self.with(|c| {
            let rows = c.query(
                "SELECT COALESCE(d.generation, 0),
                        COALESCE((SELECT MAX(seq) FROM chunks WHERE doc_id = wanted.id), 0),
                        (SELECT state FROM sync_states WHERE peer = $1 AND doc_id = wanted.id)
                 FROM unnest($2::text[]) WITH ORDINALITY AS wanted(id, n)
                 LEFT JOIN docs d ON d.doc_id = wanted.id
                 ORDER BY wanted.n",
                &[&peer, &docs],
            )?;
            Ok(rows
                .iter()
                .map(|r| (version_in(Some(r)), r.get(2)))
                .collect())
        })
    }

    fn doc_ids(&self) -> Result<Vec<String>> {
        self.with(|c| {
            Ok(c.query("SELECT doc_id FROM docs ORDER BY doc_id", &[])?
                .into_iter()
                .map(|r| r.get(0))
                .collect())
        })
    }

    fn stored_rows(&self, doc: &str) -> Result<i64> {
        self.with(|c| {
            Ok(c.query_one(
                "SELECT (SELECT COUNT(*) FROM docs WHERE doc_id = $1 AND snapshot IS NOT NULL)
                      + (SELECT COUNT(*) FROM chunks WHERE doc_id = $1)",
                &[&doc],
            )?
            .get(0))
        })
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.with(|c| c.meta_get(key))
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.with(|c| c.meta_set(key, value))
    }

    fn meta_init(&self, key: &str, value: &str) -> Result<String> {
        self.with(|c| {
            c.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                &[&key, &value],
            )?;
            Ok(c.meta_get(key)?.unwrap_or_default())
        })
    }

    fn meta_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        self.with(|c| {
            Ok(c.query(
                "SELECT key, value FROM meta WHERE starts_with(key, $1) ORDER BY key",
                &[&prefix],
            )?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
        })
    }
}

/// What a connection does for the store: the document and migration locks, versions, rows.
impl PgConn {
    /// Takes the lock of document `doc` until the transaction ends.
    pub(super) fn lock_doc(&mut self, doc: &str) -> Result<()> {
        self.execute(ADVISORY_LOCK, &[&doc_lock_key(doc)])?;
        Ok(())
    }

    pub(super) fn lock_migrations(&mut self) -> Result<()> {
        self.execute(ADVISORY_LOCK, &[&MIGRATION_LOCK])?;
        self.batch(
            "CREATE TABLE IF NOT EXISTS karya_schema (name TEXT PRIMARY KEY, version BIGINT NOT NULL)",
        )
    }

    /// Applies `name`'s pending migrations (inside the caller's transaction, under the
    /// migration lock: two processes starting at once migrate once).
    pub(super) fn migrate(&mut self, name: &'static str, migrations: &[&str]) -> Result<()> {
        let found: i64 = self
            .query_opt("SELECT version FROM karya_schema WHERE name = $1", &[&name])?
            .map(|r| r.get(0))
            .unwrap_or(0);
        let known = migrations.len() as i64;
        if found > known {
            return Err(StoreError::TooNew {
                what: name,
                found,
                known,
            });
        }
        for (i, sql) in migrations.iter().enumerate().skip(found as usize) {
            self.batch(sql)?;
            let version = i as i64 + 1;
            self.execute(
                "INSERT INTO karya_schema (name, version) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version",
                &[&name, &version],
            )?;
        }
        Ok(())
    }

    pub(super) fn version_of(&mut self, doc: &str) -> Result<DocVersion> {
        Ok(version_in(self.query(VERSION_OF, &[&doc])?.first()))
    }

    /// Takes the lock of document `doc` until the transaction ends, then reads its version
    /// (the one the next writer will compare with): one round trip.
    pub(super) fn lock_and_version(&mut self, doc: &str) -> Result<DocVersion> {
        let answers = self.pipeline(&[
            Piped::new(ADVISORY_LOCK, vec![PgValue::Int(doc_lock_key(doc))]),
            Piped::new(VERSION_OF, vec![PgValue::Text(doc)]),
        ])?;
        Ok(version_in(answers[1].first()))
    }

    pub(super) fn chunks_after(&mut self, doc: &str, after: i64) -> Result<Vec<(i64, Vec<u8>)>> {
        Ok(self
            .query(
                "SELECT seq, data FROM chunks WHERE doc_id = $1 AND seq > $2 ORDER BY seq",
                &[&doc, &after],
            )?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    pub(super) fn save_sync_state(&mut self, peer: &str, doc: &str, state: &[u8]) -> Result<()> {
        self.execute(SYNC_STATE_SET, &[&peer, &doc, &state])?;
        Ok(())
    }

    pub(super) fn meta_get(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?
            .map(|r| r.get(0)))
    }

    pub(super) fn meta_set(&mut self, key: &str, value: &str) -> Result<()> {
        self.execute(META_SET, &[&key, &value])?;
        Ok(())
    }

    /// Deletes every materialized row that came from a document.
    pub(super) fn delete_rows(&mut self, id: &DocId) -> Result<()> {
        let (tables, upt) = crate::materialize::doc_tables(id);
        for table in tables {
            match upt {
                Some(upt) => {
                    self.execute(&format!("DELETE FROM {table} WHERE upt = $1"), &[&upt])?
                }
                None => self.execute(&format!("DELETE FROM {table}"), &[])?,
            };
        }
        Ok(())
    }

    /// Runs `statements` in their order as one pipeline: all are sent before the first
    /// answer is awaited, so a chunk of a thousand rows costs one round trip to the server,
    /// not a thousand. The server runs them one after another, as if sent one by one; the
    /// first error is returned (and the transaction, if any, is then aborted).
    pub(super) fn pipeline(&mut self, statements: &[Piped<'_>]) -> Result<Vec<Vec<Row>>> {
        let mut prepared = Vec::with_capacity(statements.len());
        for s in statements {
            prepared.push(self.statement(&s.sql)?);
        }
        let params: Vec<Vec<&(dyn ToSql + Sync)>> = statements
            .iter()
            .map(|s| s.values.iter().map(PgValue::param).collect())
            .collect();
        let client = &self.client;
        // Each query is sent when first polled, and `try_join_all` polls them first in
        // their order (its results come back in that order too).
        let queries = prepared
            .iter()
            .zip(&params)
            .map(|(statement, p)| client.query(statement, p.as_slice()));
        Ok(block_on(futures_util::future::try_join_all(queries))?)
    }
}

impl super::Replica<PgBackend> {
    /// Connects to the PostgreSQL database at `url` (see [`PgBackend::open`]).
    pub fn open_postgres(url: &str, app: Option<AppSchema>, connections: usize) -> Result<Self> {
        Self::new(PgBackend::open(url, app, connections)?)
    }
}
