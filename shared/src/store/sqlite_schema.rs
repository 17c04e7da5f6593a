//! The SQLite store's schema: the shared tables' migrations, the application's own
//! (`AppSchema`), applying them, and where a database stands against this build
//! (`migrate --check`).

use super::{Result, StoreError};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::path::Path;
use std::time::Duration;

/// The application's own tables (the agent's identities, the hub's tokens), migrated like the
/// shared ones, with their version kept under `meta.<name>_schema`.
#[derive(Debug, Clone, Copy)]
pub struct AppSchema {
    pub name: &'static str,
    pub migrations: &'static [&'static str],
}

/// The schema of the shared tables; each entry migrates from the version before it.
/// Each starts with a `-- ` line that says what it does (shown by `migrate --check`).
pub(super) const MIGRATIONS: &[&str] = &[
    r#"-- documents, sync states, materialized tables
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
    r#"-- indexes for keyset pages of products (UPT, name, id) and trainings (UPT, start, id)
    CREATE INDEX products_page ON products(deleted, upt, name, id);
    CREATE INDEX trainings_page ON trainings(deleted, upt, start_date, id);
    "#,
    r#"-- covering indexes for the national figures (one grouped pass per table)
    CREATE INDEX products_stats ON products(deleted, upt, stock);
    CREATE INDEX sales_stats ON sales(upt, revenue_idr);
    CREATE INDEX participants_stats ON participants(upt, status);
    "#,
    r#"-- the change log: every change stored, with its document, UPT, origin and time (audit)
    CREATE TABLE change_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
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
    r#"-- sales figures by date (sales dated in the future by a wrong clock are counted apart)
    DROP INDEX sales_stats;
    CREATE INDEX sales_stats ON sales(upt, date, revenue_idr);
    "#,
    r#"-- product photos: the list on each product, and one row per blob a live product names
    ALTER TABLE products ADD COLUMN photos TEXT NOT NULL DEFAULT '[]';
    CREATE TABLE product_photos (
        upt TEXT NOT NULL, product_id TEXT NOT NULL, hash TEXT NOT NULL,
        size INTEGER NOT NULL, thumb INTEGER NOT NULL,
        PRIMARY KEY (upt, product_id, hash)
    );
    CREATE INDEX product_photos_hash ON product_photos(hash, upt);
    "#,
    r#"-- words in product names and descriptions: a trigram index (any part of a word, any case)
    CREATE VIRTUAL TABLE products_text USING fts5(
        name, description, content = 'products', content_rowid = 'rowid', tokenize = 'trigram'
    );
    INSERT INTO products_text (products_text) VALUES ('rebuild');
    -- Rows are written with INSERT OR REPLACE, whose removal of the old row fires no delete
    -- trigger: the old row's words are taken out before the insert, while it is still there.
    CREATE TRIGGER products_text_before_insert BEFORE INSERT ON products BEGIN
        INSERT INTO products_text (products_text, rowid, name, description)
            SELECT 'delete', rowid, name, description FROM products
            WHERE upt = new.upt AND id = new.id;
    END;
    CREATE TRIGGER products_text_insert AFTER INSERT ON products BEGIN
        INSERT INTO products_text (rowid, name, description)
            VALUES (new.rowid, new.name, new.description);
    END;
    CREATE TRIGGER products_text_delete AFTER DELETE ON products BEGIN
        INSERT INTO products_text (products_text, rowid, name, description)
            VALUES ('delete', old.rowid, old.name, old.description);
    END;
    CREATE TRIGGER products_text_update AFTER UPDATE OF name, description ON products BEGIN
        INSERT INTO products_text (products_text, rowid, name, description)
            VALUES ('delete', old.rowid, old.name, old.description);
        INSERT INTO products_text (rowid, name, description)
            VALUES (new.rowid, new.name, new.description);
    END;
    "#,
    r#"-- the words index kept by the store's row writer, once per batch (not by triggers per row)
    DROP TRIGGER products_text_before_insert;
    DROP TRIGGER products_text_insert;
    DROP TRIGGER products_text_delete;
    DROP TRIGGER products_text_update;
    "#,
    r#"-- the Kanwil tier: its verifications, the values each level approved, nominations again
    ALTER TABLE products ADD COLUMN nominations INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE curation ADD COLUMN unverified INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE curation ADD COLUMN approved_name TEXT NOT NULL DEFAULT '';
    ALTER TABLE curation ADD COLUMN approved_price_idr INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE curation ADD COLUMN approved_description TEXT NOT NULL DEFAULT '';
    ALTER TABLE curation ADD COLUMN approved_photos TEXT NOT NULL DEFAULT '';
    CREATE TABLE verifications (
        upt TEXT NOT NULL, product_id TEXT NOT NULL, status TEXT NOT NULL, note TEXT NOT NULL,
        decided_by TEXT NOT NULL, decided_at TEXT NOT NULL, round INTEGER NOT NULL,
        approved_name TEXT NOT NULL, approved_price_idr INTEGER NOT NULL,
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
    ALTER TABLE sales ADD COLUMN stock_taken INTEGER NOT NULL DEFAULT 0;
    "#,
    r#"-- the public keys of a UPT's agents (a hub rebuilt from nothing knows them by these)
    ALTER TABLE upts ADD COLUMN agent_keys TEXT NOT NULL DEFAULT '';
    "#,
];

/// Applies pending migrations under the write lock, re-reading the version inside it, so two
/// processes opening a new file at once (the service and a CLI command) do not both migrate.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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

pub(super) fn migrate_app(conn: &mut Connection, app: AppSchema) -> Result<()> {
    let key = format!("{}_schema", app.name);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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

/// Where one schema of a database stands against this build.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SchemaState {
    pub name: &'static str,
    pub found: i64,
    pub known: i64,
    /// What each pending migration does, in order.
    pub pending: Vec<String>,
}

impl SchemaState {
    fn new(name: &'static str, found: i64, migrations: &[&str]) -> SchemaState {
        SchemaState {
            name,
            found,
            known: migrations.len() as i64,
            pending: migrations
                .iter()
                .enumerate()
                .skip(found.max(0) as usize)
                .map(|(i, sql)| format!("{}: {}", i + 1, describe(sql)))
                .collect(),
        }
    }

    pub fn too_new(&self) -> bool {
        self.found > self.known
    }
}

fn describe(sql: &str) -> &str {
    sql.lines()
        .find_map(|l| l.trim().strip_prefix("-- "))
        .unwrap_or("(no description)")
}

/// What opening the database at `path` would migrate, without changing it (read-only).
pub fn inspect(path: &Path, app: AppSchema) -> Result<Vec<SchemaState>> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let store: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let has_meta: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
        [],
        |r| r.get(0),
    )?;
    let app_version = if has_meta {
        meta_get(&conn, &format!("{}_schema", app.name))?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    } else {
        0
    };
    Ok(vec![
        SchemaState::new("store", store, MIGRATIONS),
        SchemaState::new(app.name, app_version, app.migrations),
    ])
}

pub(super) fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

pub(super) fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
        params![key, value],
    )?;
    Ok(())
}
