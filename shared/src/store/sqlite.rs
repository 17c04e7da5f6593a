//! The SQLite backend: one writer connection (SQLite serialises writers anyway) and a small
//! pool of read connections, so that reads (views, token checks, health) never wait for a
//! write. WAL mode; `synchronous = FULL`, so a write is durable when it returns. Every write
//! is a transaction guard: dropped without a commit (an error, a panic), it rolls back.

pub use super::sqlite_schema::AppSchema;
use super::sqlite_schema::{MIGRATIONS, meta_get, meta_set, migrate, migrate_app};
pub use super::sqlite_schema::{SchemaState, inspect};
use super::{Backend, Commit, DocVersion, DocWrite, Result, StoreError, StoredDoc};
use crate::materialize::RowOp;
use crate::record::replace_row;
use crate::schema::DocId;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Read connections, handed out one at a time.
struct ReadPool {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

pub struct SqliteBackend {
    writer: Mutex<Connection>,
    /// `None` for an in-memory database (reads go to the writer) or when no pool was asked.
    readers: Option<ReadPool>,
}

impl std::fmt::Debug for SqliteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteBackend").finish_non_exhaustive()
    }
}

impl SqliteBackend {
    /// Opens (creating if needed) the database at `path`, with `readers` read connections
    /// beside the writer (0: reads use the writer, as the agent's commands do).
    pub fn open(path: &Path, app: Option<AppSchema>, readers: usize) -> Result<SqliteBackend> {
        let writer = Connection::open(path)?;
        init(&writer)?;
        let mut writer = writer;
        migrate(&mut writer)?;
        if let Some(app) = app {
            migrate_app(&mut writer, app)?;
        }
        let readers = if readers == 0 {
            None
        } else {
            let mut idle = Vec::with_capacity(readers);
            for _ in 0..readers {
                let conn = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                conn.busy_timeout(Duration::from_secs(10))?;
                conn.pragma_update(None, "query_only", true)?;
                idle.push(conn);
            }
            Some(ReadPool {
                idle: Mutex::new(idle),
                returned: Condvar::new(),
            })
        };
        Ok(SqliteBackend {
            writer: Mutex::new(writer),
            readers,
        })
    }

    /// Opens the database at `path` for reading only, changing nothing on disk (a data
    /// directory on a read-only disk): no migration, no WAL files made. When SQLite cannot
    /// set up its shared memory there, the file is read as immutable (what a checkpoint left
    /// in it; a crash's un-checkpointed tail is not seen).
    pub fn open_read_only(path: &Path) -> Result<SqliteBackend> {
        let plain = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .and_then(|c| {
            c.query_row("SELECT COUNT(*) FROM meta", [], |r| r.get::<_, i64>(0))?;
            Ok(c)
        });
        let conn = match plain {
            Ok(c) => c,
            Err(_) => {
                let mut uri = url_path(path);
                uri.push_str("?immutable=1");
                Connection::open_with_flags(
                    &uri,
                    OpenFlags::SQLITE_OPEN_READ_ONLY
                        | OpenFlags::SQLITE_OPEN_URI
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?
            }
        };
        Self::reading(conn)
    }

    /// Opens an existing database beside the process that serves it, to read only: one
    /// read-only connection (it waits for a writer like the server's own, and writes, migrates
    /// and checkpoints nothing). Unlike [`SqliteBackend::open_read_only`] it never falls back
    /// to reading the file as immutable, which would miss what the write-ahead log holds.
    pub fn open_existing_read_only(path: &Path) -> Result<SqliteBackend> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        Self::reading(conn)
    }

    /// A backend over one connection that only reads, refusing a store newer than this
    /// build.
    fn reading(conn: Connection) -> Result<SqliteBackend> {
        conn.pragma_update(None, "query_only", true)?;
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if found > known {
            return Err(StoreError::TooNew {
                what: "store",
                found,
                known,
            });
        }
        Ok(SqliteBackend {
            writer: Mutex::new(conn),
            readers: None,
        })
    }

    pub fn open_in_memory(app: Option<AppSchema>) -> Result<SqliteBackend> {
        let mut writer = Connection::open_in_memory()?;
        init(&writer)?;
        migrate(&mut writer)?;
        if let Some(app) = app {
            migrate_app(&mut writer, app)?;
        }
        Ok(SqliteBackend {
            writer: Mutex::new(writer),
            readers: None,
        })
    }

    /// The writer connection, for the application's own tables. A connection whose holder
    /// panicked is checked: a transaction it left open is rolled back before anyone uses it.
    pub fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(|poisoned| {
            let conn = poisoned.into_inner();
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            self.writer.clear_poison();
            conn
        })
    }

    /// Runs `f` on a read connection (the writer when there is no pool). Reads see every
    /// committed write and never wait for one in progress (WAL).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        let Some(pool) = &self.readers else {
            return f(&self.writer());
        };
        let conn = {
            let mut idle = pool.idle.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(conn) = idle.pop() {
                    break conn;
                }
                idle = pool.returned.wait(idle).unwrap_or_else(|p| p.into_inner());
            }
        };
        // Give the connection back even if `f` panics.
        struct Return<'a>(&'a ReadPool, Option<Connection>);
        impl Drop for Return<'_> {
            fn drop(&mut self) {
                if let Some(conn) = self.1.take() {
                    if !conn.is_autocommit() {
                        let _ = conn.execute_batch("ROLLBACK");
                    }
                    self.0
                        .idle
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(conn);
                    self.0.returned.notify_one();
                }
            }
        }
        let held = Return(pool, Some(conn));
        f(held.1.as_ref().expect("held until drop"))
    }

    /// Every materialized row, as text, in a stable order: for comparing two stores' tables.
    pub fn dump_materialized(&self) -> Result<Vec<String>> {
        self.read(|conn| {
            let mut out = Vec::new();
            for (table, order) in [
                ("products", "upt, id"),
                ("sales", "upt, id"),
                ("trainings", "upt, id"),
                ("participants", "upt, training_id, pseudonym"),
                ("curation", "upt, product_id"),
                ("verifications", "upt, product_id"),
                ("upts", "code"),
                ("categories", "kind, slug"),
            ] {
                let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))?;
                let n = stmt.column_count();
                let mut rows = stmt.query([])?;
                while let Some(row) = rows.next()? {
                    let mut line = format!("{table}:");
                    for i in 0..n {
                        let v: rusqlite::types::Value = row.get(i)?;
                        line.push_str(&format!(" {v:?}"));
                    }
                    out.push(line);
                }
            }
            Ok(out)
        })
    }
}

fn init(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    set_wal(conn)?;
    // FULL: a write is durable when the command that made it returns, power loss included.
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

fn version_of(conn: &Connection, doc: &str) -> Result<DocVersion> {
    Ok(conn
        .prepare_cached(
            "SELECT generation, COALESCE((SELECT MAX(seq) FROM chunks WHERE doc_id = ?1), 0)
             FROM docs WHERE doc_id = ?1",
        )?
        .query_row([doc], |r| {
            Ok(DocVersion {
                generation: r.get(0)?,
                last_seq: r.get(1)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

fn chunks_after(conn: &Connection, doc: &str, after: i64) -> Result<Vec<(i64, Vec<u8>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, data FROM chunks WHERE doc_id = ?1 AND seq > ?2 ORDER BY seq",
    )?;
    let rows = stmt
        .query_map(params![doc, after], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

impl Backend for SqliteBackend {
    fn version(&self, doc: &str) -> Result<DocVersion> {
        self.read(|c| version_of(c, doc))
    }

    fn load(&self, doc: &str) -> Result<StoredDoc> {
        self.read(|c| {
            // One read transaction: the snapshot and the chunks after it belong together.
            let tx = c.unchecked_transaction()?;
            let row: Option<(Option<Vec<u8>>, i64)> = tx
                .prepare_cached("SELECT snapshot, generation FROM docs WHERE doc_id = ?1")?
                .query_row([doc], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let chunks = chunks_after(&tx, doc, 0)?;
            let (snapshot, generation) = row.unwrap_or((None, 0));
            Ok(StoredDoc {
                snapshot,
                generation,
                chunks,
            })
        })
    }

    fn chunks_after(&self, doc: &str, after_seq: i64) -> Result<Vec<(i64, Vec<u8>)>> {
        self.read(|c| chunks_after(c, doc, after_seq))
    }

    fn commit(&self, w: &DocWrite<'_>) -> Result<Commit> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut done = Commit::Done {
            version: w.base,
            n_chunks: None,
        };
        if let Some(chunk) = w.chunk {
            if version_of(&tx, w.doc)? != w.base {
                return Ok(Commit::Conflict);
            }
            tx.prepare_cached("INSERT INTO chunks (doc_id, data) VALUES (?1, ?2)")?
                .execute(params![w.doc, chunk])?;
            let seq = tx.last_insert_rowid();
            let n_chunks: i64 = tx
                .prepare_cached(
                    "INSERT INTO docs (doc_id, n_chunks, updated_at) VALUES (?1, 1, ?2)
                     ON CONFLICT(doc_id) DO UPDATE SET n_chunks = n_chunks + 1, updated_at = ?2
                     RETURNING n_chunks",
                )?
                .query_row(params![w.doc, crate::model::now_rfc3339()], |r| r.get(0))?;
            apply_rows(&tx, w.rows)?;
            for (key, value) in w.meta {
                meta_set(&tx, key, value)?;
            }
            if let Some(log) = &w.log {
                let at = crate::model::now_rfc3339();
                let mut insert = tx.prepare_cached(
                    "INSERT INTO change_log (at, doc, upt, hash, peer, token)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for hash in &log.hashes {
                    insert.execute(params![
                        at,
                        w.doc,
                        log.upt,
                        hash,
                        log.origin.peer,
                        log.origin.token
                    ])?;
                }
            }
            done = Commit::Done {
                version: DocVersion {
                    generation: w.base.generation,
                    last_seq: seq,
                },
                n_chunks: Some(n_chunks),
            };
        }
        if let Some((peer, state)) = w.sync_state {
            save_sync_state(&tx, peer, w.doc, state)?;
        }
        tx.commit()?;
        Ok(done)
    }

    fn compact(&self, doc: &str, base: DocVersion, snapshot: &[u8]) -> Result<Option<DocVersion>> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if version_of(&tx, doc)? != base {
            return Ok(None);
        }
        let generation = base.generation + 1;
        tx.execute(
            "INSERT INTO docs (doc_id, snapshot, n_chunks, generation, updated_at) VALUES (?1, ?2, 0, ?3, ?4)
             ON CONFLICT(doc_id) DO UPDATE SET snapshot = ?2, n_chunks = 0, generation = ?3, updated_at = ?4",
            params![doc, snapshot, generation, crate::model::now_rfc3339()],
        )?;
        tx.execute("DELETE FROM chunks WHERE doc_id = ?1", [doc])?;
        tx.commit()?;
        Ok(Some(DocVersion {
            generation,
            last_seq: 0,
        }))
    }

    fn replace_rows(&self, id: &DocId, rows: &[RowOp]) -> Result<()> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        delete_rows(&tx, id)?;
        apply_rows(&tx, rows)?;
        tx.commit()?;
        Ok(())
    }

    fn forget(&self, id: &DocId) -> Result<()> {
        let key = id.to_string();
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        delete_rows(&tx, id)?;
        tx.execute("DELETE FROM chunks WHERE doc_id = ?1", [&key])?;
        tx.execute("DELETE FROM docs WHERE doc_id = ?1", [&key])?;
        tx.execute("DELETE FROM sync_states WHERE doc_id = ?1", [&key])?;
        tx.commit()?;
        Ok(())
    }

    fn sync_state(&self, peer: &str, doc: &str) -> Result<Option<Vec<u8>>> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT state FROM sync_states WHERE peer = ?1 AND doc_id = ?2")?
                    .query_row(params![peer, doc], |r| r.get(0))
                    .optional()?,
            )
        })
    }

    fn save_sync_state(&self, peer: &str, doc: &str, state: &[u8]) -> Result<()> {
        save_sync_state(&self.writer(), peer, doc, state)
    }

    fn doc_ids(&self) -> Result<Vec<String>> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT doc_id FROM docs ORDER BY doc_id")?;
            let ids = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(ids)
        })
    }

    fn stored_rows(&self, doc: &str) -> Result<i64> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT (SELECT COUNT(*) FROM docs WHERE doc_id = ?1 AND snapshot IS NOT NULL)
                      + (SELECT COUNT(*) FROM chunks WHERE doc_id = ?1)",
                [doc],
                |r| r.get(0),
            )?)
        })
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.read(|c| meta_get(c, key))
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        meta_set(&self.writer(), key, value)
    }

    fn meta_init(&self, key: &str, value: &str) -> Result<String> {
        let conn = self.writer();
        // INSERT OR IGNORE then read back: two processes starting at once agree on one value.
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
            params![key, value],
        )?;
        Ok(meta_get(&conn, key)?.unwrap_or_default())
    }

    fn meta_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT key, value FROM meta WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key",
            )?;
            let rows = stmt
                .query_map([prefix], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }
}

/// Deletes every materialized row that came from a document.
fn delete_rows(tx: &Connection, id: &DocId) -> rusqlite::Result<()> {
    let (tables, upt) = crate::materialize::doc_tables(id);
    if tables.contains(&"products") {
        // Their words first, while the rows that hold them are there.
        let sql = "INSERT INTO products_text (products_text, rowid, name, description)
                   SELECT 'delete', rowid, name, description FROM products";
        match upt {
            Some(upt) => tx.execute(&format!("{sql} WHERE upt = ?1"), [upt])?,
            None => tx.execute(sql, [])?,
        };
    }
    for table in tables {
        match upt {
            Some(upt) => tx.execute(&format!("DELETE FROM {table} WHERE upt = ?1"), [upt])?,
            None => tx.execute(&format!("DELETE FROM {table}"), [])?,
        };
    }
    Ok(())
}

fn delete_row(conn: &Connection, table: &str, key: &[(&str, &str)]) -> rusqlite::Result<()> {
    let cond: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{c} = ?{}", i + 1))
        .collect();
    conn.prepare_cached(&format!("DELETE FROM {table} WHERE {}", cond.join(" AND ")))?
        .execute(rusqlite::params_from_iter(key.iter().map(|(_, v)| v)))?;
    Ok(())
}

/// The words index of product names and descriptions (`products_text`, FTS5 over the
/// `products` table): the words of the products named by `keys` ([upt, id] pairs as JSON)
/// are taken out (`delete`) or put in. One statement for a whole batch: FTS5 writes its
/// pending words out at every statement that changes it, and triggers on `products` made
/// that one index segment (and the merges after) per product row, a fifth of the hub's CPU
/// in a national bootstrap.
fn product_words(tx: &Connection, keys: &str, delete: bool) -> rusqlite::Result<()> {
    let sql = if delete {
        "INSERT INTO products_text (products_text, rowid, name, description)
         SELECT 'delete', p.rowid, p.name, p.description
         FROM json_each(?1) k JOIN products p
           ON p.upt = json_extract(k.value, '$[0]') AND p.id = json_extract(k.value, '$[1]')"
    } else {
        "INSERT INTO products_text (rowid, name, description)
         SELECT p.rowid, p.name, p.description
         FROM json_each(?1) k JOIN products p
           ON p.upt = json_extract(k.value, '$[0]') AND p.id = json_extract(k.value, '$[1]')"
    };
    tx.prepare_cached(sql)?.execute([keys])?;
    Ok(())
}

/// Writes records' rows (or deletes them), keeping the words index in step for the batch:
/// the old words of every product touched go before the rows are written, the new ones come
/// after.
fn apply_rows(tx: &Connection, rows: &[RowOp]) -> rusqlite::Result<()> {
    let products: Vec<[&str; 2]> = rows
        .iter()
        .filter(|op| op.kind().table == "products")
        .filter_map(|op| Some([op.upt.as_deref()?, op.key.id.as_str()]))
        .collect();
    let keys = (!products.is_empty()).then(|| serde_json::to_string(&products).unwrap_or_default());
    if let Some(keys) = &keys {
        product_words(tx, keys, true)?;
    }
    for row in rows {
        apply_row(tx, row)?;
    }
    if let Some(keys) = &keys {
        product_words(tx, keys, false)?;
    }
    Ok(())
}

/// Writes one record's row (or deletes it), as [`crate::materialize::row_writes`] says.
fn apply_row(conn: &Connection, op: &RowOp) -> rusqlite::Result<()> {
    use crate::materialize::RowWrite;
    for write in crate::materialize::row_writes(op) {
        match write {
            RowWrite::Replace { table, columns } => replace_row(conn, table, &columns)?,
            RowWrite::Add { table, columns } => {
                let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
                let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
                conn.prepare_cached(&format!(
                    "INSERT OR IGNORE INTO {table} ({}) VALUES ({})",
                    names.join(", "),
                    marks.join(", ")
                ))?
                .execute(rusqlite::params_from_iter(columns.iter().map(|(_, v)| v)))?;
            }
            RowWrite::Delete { table, key } => delete_row(conn, table, &key)?,
        }
    }
    Ok(())
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
            Ok(m) if m.eq_ignore_ascii_case("wal") || m.eq_ignore_ascii_case("memory") => {
                return Ok(());
            }
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
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn save_sync_state(conn: &Connection, peer: &str, doc: &str, state: &[u8]) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sync_states (peer, doc_id, state) VALUES (?1, ?2, ?3)
         ON CONFLICT(peer, doc_id) DO UPDATE SET state = ?3",
    )?
    .execute(params![peer, doc, state])?;
    Ok(())
}

impl super::Replica<SqliteBackend> {
    /// Opens (creating if needed) the store at `path`; reads share the writer connection.
    pub fn open(path: &Path, app: Option<AppSchema>) -> Result<Self> {
        Self::new(SqliteBackend::open(path, app, 0)?)
    }

    /// Opens the store at `path` with a pool of `readers` read connections (the hub).
    pub fn open_pooled(path: &Path, app: Option<AppSchema>, readers: usize) -> Result<Self> {
        Self::new(SqliteBackend::open(path, app, readers)?)
    }

    pub fn open_in_memory(app: Option<AppSchema>) -> Result<Self> {
        Self::new(SqliteBackend::open_in_memory(app)?)
    }

    /// Opens the store at `path` to read only (see [`SqliteBackend::open_read_only`]):
    /// every write fails with [`StoreError::ReadOnly`].
    pub fn open_read_only(path: &Path) -> Result<Self> {
        Ok(Self::new_read_only(SqliteBackend::open_read_only(path)?))
    }

    /// The writer connection, for the agent's own tables (identities, status).
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        self.backend().writer()
    }
}

/// `path` as a `file:` URI path (percent-encoding what a URI reserves).
fn url_path(path: &Path) -> String {
    let mut out = String::from("file:");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
