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

use super::pg_tls;
use super::{AppSchema, Backend, Commit, DocVersion, DocWrite, Result, StoreError, StoredDoc};
use crate::materialize::RowOp;
use crate::schema::DocId;
use futures_executor::block_on;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::Duration;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};
use tokio_postgres_rustls_improved::MakeRustlsConnect;

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

/// A connection with the statements it has prepared (each prepared once per connection).
pub struct PgConn {
    client: Client,
    prepared: HashMap<String, Statement>,
    in_transaction: bool,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConn").finish_non_exhaustive()
    }
}

/// A statement's parameters.
pub type Params<'a> = [&'a (dyn ToSql + Sync)];

impl PgConn {
    fn statement(&mut self, sql: &str) -> std::result::Result<Statement, tokio_postgres::Error> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = block_on(self.client.prepare(sql))?;
        self.prepared.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    pub fn query(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>> {
        let s = self.statement(sql)?;
        Ok(block_on(self.client.query(&s, params))?)
    }

    pub fn query_opt(&mut self, sql: &str, params: &Params<'_>) -> Result<Option<Row>> {
        let s = self.statement(sql)?;
        Ok(block_on(self.client.query_opt(&s, params))?)
    }

    pub fn query_one(&mut self, sql: &str, params: &Params<'_>) -> Result<Row> {
        let s = self.statement(sql)?;
        Ok(block_on(self.client.query_one(&s, params))?)
    }

    pub fn execute(&mut self, sql: &str, params: &Params<'_>) -> Result<u64> {
        let s = self.statement(sql)?;
        Ok(block_on(self.client.execute(&s, params))?)
    }

    /// Runs statements without parameters (a migration, `BEGIN`).
    pub fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(block_on(self.client.batch_execute(sql))?)
    }

    /// Takes the lock of document `doc` until the transaction ends.
    fn lock_doc(&mut self, doc: &str) -> Result<()> {
        self.execute(ADVISORY_LOCK, &[&doc_lock_key(doc)])?;
        Ok(())
    }
}

/// Whether an error says the connection is gone (closed, reset, or ended by a server that
/// stopped or restarted), so that nothing more can happen on it.
fn lost(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        return [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ]
        .contains(code);
    }
    std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

/// The advisory lock key of a document: 64 bits of a hash of its id.
fn doc_lock_key(doc: &str) -> i64 {
    let digest = Sha256::digest(format!("karya-doc:{doc}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// Connections opened on demand, at most `max`, reused; a caller waits when all are in use.
/// Each connection's socket is driven by a task on `runtime`, the store's own: callers wait
/// for answers with a plain executor, so they may be threads of any kind (an async task of
/// the server's runtime too, as with SQLite).
struct Pool {
    runtime: tokio::runtime::Handle,
    config: tokio_postgres::Config,
    /// TLS to the server (`sslmode` in the address), or none.
    tls: Option<MakeRustlsConnect>,
    idle: Mutex<(Vec<PgConn>, usize)>,
    returned: Condvar,
    max: usize,
}

impl Pool {
    fn take(&self) -> Result<PgConn> {
        let mut guard = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(conn) = guard.0.pop() {
                if !conn.client.is_closed() {
                    return Ok(conn);
                }
                guard.1 -= 1;
                continue;
            }
            if guard.1 < self.max {
                guard.1 += 1;
                drop(guard);
                return match self.connect() {
                    Ok(client) => Ok(PgConn {
                        client,
                        prepared: HashMap::new(),
                        in_transaction: false,
                    }),
                    Err(e) => {
                        self.idle.lock().unwrap_or_else(|p| p.into_inner()).1 -= 1;
                        self.returned.notify_one();
                        Err(e.into())
                    }
                };
            }
            guard = self.returned.wait(guard).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Opens a connection; its socket is served on the store's runtime.
    fn connect(&self) -> std::result::Result<Client, tokio_postgres::Error> {
        let runtime = &self.runtime;
        let config = self.config.clone();
        let tls = self.tls.clone();
        // The connection's task ends when the client is dropped or the server goes; the
        // client then reports itself closed.
        let connecting = runtime.spawn(async move {
            match tls {
                None => connect_with(config, NoTls).await,
                Some(tls) => connect_with(config, tls).await,
            }
        });
        match block_on(connecting) {
            Ok(connected) => connected,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    fn give_back(&self, mut conn: PgConn) {
        let mut broken = conn.client.is_closed();
        if conn.in_transaction && !broken {
            // Left inside a transaction (an error or a panic before the commit).
            broken = block_on(conn.client.batch_execute("ROLLBACK")).is_err();
            conn.in_transaction = false;
        }
        let mut guard = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if broken {
            guard.1 -= 1;
        } else {
            guard.0.push(conn);
        }
        drop(guard);
        self.returned.notify_one();
    }
}

/// A connection taken from the pool, given back on drop.
struct Held<'a>(&'a Pool, Option<PgConn>);

impl Held<'_> {
    fn conn(&mut self) -> &mut PgConn {
        self.1.as_mut().expect("held until drop")
    }
}

impl Drop for PgBackend {
    fn drop(&mut self) {
        // Without waiting: a store may be dropped inside an async task.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.1.take() {
            self.0.give_back(conn);
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
            for (table, key) in crate::materialize::TABLE_KEYS {
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

impl PgConn {
    fn lock_migrations(&mut self) -> Result<()> {
        self.execute(ADVISORY_LOCK, &[&MIGRATION_LOCK])?;
        self.batch(
            "CREATE TABLE IF NOT EXISTS karya_schema (name TEXT PRIMARY KEY, version BIGINT NOT NULL)",
        )
    }

    /// Applies `name`'s pending migrations (inside the caller's transaction, under the
    /// migration lock: two processes starting at once migrate once).
    fn migrate(&mut self, name: &'static str, migrations: &[&str]) -> Result<()> {
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

    fn version_of(&mut self, doc: &str) -> Result<DocVersion> {
        Ok(version_in(self.query(VERSION_OF, &[&doc])?.first()))
    }

    /// Takes the lock of document `doc` until the transaction ends, then reads its version
    /// (the one the next writer will compare with): one round trip.
    fn lock_and_version(&mut self, doc: &str) -> Result<DocVersion> {
        let answers = self.pipeline(&[
            Piped::new(ADVISORY_LOCK, vec![PgValue::Int(doc_lock_key(doc))]),
            Piped::new(VERSION_OF, vec![PgValue::Text(doc)]),
        ])?;
        Ok(version_in(answers[1].first()))
    }

    fn chunks_after(&mut self, doc: &str, after: i64) -> Result<Vec<(i64, Vec<u8>)>> {
        Ok(self
            .query(
                "SELECT seq, data FROM chunks WHERE doc_id = $1 AND seq > $2 ORDER BY seq",
                &[&doc, &after],
            )?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn save_sync_state(&mut self, peer: &str, doc: &str, state: &[u8]) -> Result<()> {
        self.execute(SYNC_STATE_SET, &[&peer, &doc, &state])?;
        Ok(())
    }

    fn meta_get(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?
            .map(|r| r.get(0)))
    }

    fn meta_set(&mut self, key: &str, value: &str) -> Result<()> {
        self.execute(META_SET, &[&key, &value])?;
        Ok(())
    }

    /// Deletes every materialized row that came from a document.
    fn delete_rows(&mut self, id: &DocId) -> Result<()> {
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
    fn pipeline(&mut self, statements: &[Piped<'_>]) -> Result<Vec<Vec<Row>>> {
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

/// A statement of a pipeline: its text and its parameters.
struct Piped<'a> {
    sql: String,
    values: Vec<PgValue<'a>>,
}

impl<'a> Piped<'a> {
    fn new(sql: impl Into<String>, values: Vec<PgValue<'a>>) -> Self {
        Piped {
            sql: sql.into(),
            values,
        }
    }

    fn delete_row(table: &str, key: &'a [(&'a str, &'a str)]) -> Self {
        let cond: Vec<String> = key
            .iter()
            .enumerate()
            .map(|(i, (c, _))| format!("{c} = ${}", i + 1))
            .collect();
        Piped::new(
            format!("DELETE FROM {table} WHERE {}", cond.join(" AND ")),
            key.iter().map(|(_, v)| PgValue::Text(v)).collect(),
        )
    }

    /// Writes one materialized row: replacing the one with its key, or (`replace` false)
    /// only where there is none.
    fn put_row(table: &str, columns: &'a [(&'a str, ToSqlOutput<'a>)], replace: bool) -> Self {
        let key = crate::materialize::table_key(table);
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        let marks: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        let updates: Vec<String> = names
            .iter()
            .filter(|n| !key.contains(n))
            .map(|n| format!("{n} = EXCLUDED.{n}"))
            .collect();
        let on_conflict = if replace && !updates.is_empty() {
            format!("({}) DO UPDATE SET {}", key.join(", "), updates.join(", "))
        } else {
            "DO NOTHING".to_string()
        };
        Piped::new(
            format!(
                "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT {on_conflict}",
                names.join(", "),
                marks.join(", "),
            ),
            columns.iter().map(|(_, v)| PgValue::of(v)).collect(),
        )
    }

    /// The statements that write records' rows (or delete them), as
    /// [`crate::materialize::row_writes`] says; `writes` holds what that returned.
    fn rows(writes: &'a [crate::materialize::RowWrite<'a>]) -> impl Iterator<Item = Self> + 'a {
        use crate::materialize::RowWrite;
        writes.iter().map(|write| match write {
            RowWrite::Replace { table, columns } => Piped::put_row(table, columns, true),
            RowWrite::Add { table, columns } => Piped::put_row(table, columns, false),
            RowWrite::Delete { table, key } => Piped::delete_row(table, key),
        })
    }
}

/// A record's column value (the record model speaks SQLite's value types) as a PostgreSQL
/// parameter: integers are `BIGINT`, text is `TEXT`.
enum PgValue<'a> {
    Null(Option<i64>),
    Int(i64),
    Real(f64),
    Text(&'a str),
    Owned(String),
    Blob(&'a [u8]),
}

impl<'a> PgValue<'a> {
    fn of(v: &'a ToSqlOutput<'_>) -> PgValue<'a> {
        let from_ref = |r: ValueRef<'a>| match r {
            ValueRef::Null => PgValue::Null(None),
            ValueRef::Integer(i) => PgValue::Int(i),
            ValueRef::Real(f) => PgValue::Real(f),
            ValueRef::Text(t) => match std::str::from_utf8(t) {
                Ok(s) => PgValue::Text(s),
                Err(_) => PgValue::Owned(String::from_utf8_lossy(t).into_owned()),
            },
            ValueRef::Blob(b) => PgValue::Blob(b),
        };
        match v {
            ToSqlOutput::Borrowed(r) => from_ref(*r),
            ToSqlOutput::Owned(Value::Null) => PgValue::Null(None),
            ToSqlOutput::Owned(Value::Integer(i)) => PgValue::Int(*i),
            ToSqlOutput::Owned(Value::Real(f)) => PgValue::Real(*f),
            ToSqlOutput::Owned(Value::Text(t)) => PgValue::Text(t),
            ToSqlOutput::Owned(Value::Blob(b)) => PgValue::Blob(b),
            other => PgValue::Owned(format!("{other:?}")),
        }
    }

    fn param(&self) -> &(dyn ToSql + Sync) {
        match self {
            PgValue::Null(n) => n,
            PgValue::Int(i) => i,
            PgValue::Real(f) => f,
            PgValue::Text(t) => t,
            PgValue::Owned(s) => s,
            PgValue::Blob(b) => b,
        }
    }
}

/// Connects with `tls`, and serves the connection's socket on a task of the current runtime.
async fn connect_with<T>(
    config: tokio_postgres::Config,
    tls: T,
) -> std::result::Result<Client, tokio_postgres::Error>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>,
    T::Stream: Send + 'static,
{
    let (client, connection) = config.connect(tls).await?;
    tokio::spawn(async move { drop(connection.await) });
    Ok(client)
}

/// "host:port/database" of a configuration (no user, no password).
fn describe_server(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or("(default)");
    format!("{host}:{port}/{db}")
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
                statements.extend(Piped::rows(&writes));
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
                    for hash in &log.hashes {
                        statements.push(Piped::new(
                            "INSERT INTO change_log (at, doc, upt, hash, peer, token)
                             VALUES ($1, $2, $3, $4, $5, $6)",
                            vec![
                                PgValue::Text(&now),
                                PgValue::Text(w.doc),
                                PgValue::Text(log.upt),
                                PgValue::Text(hash),
                                PgValue::Text(log.origin.peer),
                                PgValue::Text(log.origin.token),
                            ],
                        ));
                    }
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
            c.pipeline(&Piped::rows(&writes).collect::<Vec<_>>())?;
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
}

impl super::Replica<PgBackend> {
    /// Connects to the PostgreSQL database at `url` (see [`PgBackend::open`]).
    pub fn open_postgres(url: &str, app: Option<AppSchema>, connections: usize) -> Result<Self> {
        Self::new(PgBackend::open(url, app, connections)?)
    }
}
