//! The hub's storage: the replica (documents and the national tables materialized from them)
//! and the hub's own tables beside it (tokens, per-UPT sync status, refusals).
//!
//! This module is the only place in the hub that touches a database connection: handlers and
//! commands call the functions here, so the SQL dialect stays in one place (with the store's
//! backend) when a second engine comes.

use crate::access::{Principal, Rejection, Role, TokenInfo};
use crate::config::Config;
use karya_shared::StoreError as E;
use karya_shared::sql::{Sql, SqlRow};
use karya_shared::store::{AnyBackend, AnyStore, AppSchema, StoreError};
use karya_shared::views::{self, Page, ProductFilter, ProductRow, Stats, TrainingRow};
use karya_shared::vouch::HeadsKey;
use rusqlite::params;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;

pub const SCHEMA: AppSchema = AppSchema {
    name: "hub",
    migrations: &[
        r#"-- tokens, per-UPT sync status, refusals
        CREATE TABLE tokens (
            id TEXT PRIMARY KEY,
            hash TEXT NOT NULL,
            role TEXT NOT NULL,
            name TEXT NOT NULL,
            upt TEXT,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE TABLE upt_status (
            upt TEXT PRIMARY KEY,
            last_sync_at TEXT,
            last_attempt_at TEXT,
            last_agent_version TEXT,
            last_peer TEXT,
            syncs INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE refusals (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            upt TEXT,
            peer TEXT NOT NULL,
            doc TEXT NOT NULL,
            reason TEXT NOT NULL
        );
    "#,
        r#"-- refusals counted once per (UPT, document, kind) instead of a row per attempt
        CREATE TABLE refusal_counts (
            upt TEXT NOT NULL,
            doc TEXT NOT NULL,
            kind TEXT NOT NULL,
            last_reason TEXT NOT NULL,
            last_peer TEXT NOT NULL,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (upt, doc, kind)
        );
        INSERT INTO refusal_counts (upt, doc, kind, last_reason, last_peer, first_at, last_at, count)
            SELECT COALESCE(upt, ''), doc, 'earlier', MAX(reason), MAX(peer), MIN(at), MAX(at), COUNT(*)
            FROM refusals GROUP BY COALESCE(upt, ''), doc;
        DROP TABLE refusals;
    "#,
        r#"-- refused token attempts per UPT (a revoked or wrong token of the UPT's agent)
        CREATE TABLE token_failures (
            upt TEXT PRIMARY KEY,
            count INTEGER NOT NULL,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            last_reason TEXT NOT NULL,
            last_token TEXT NOT NULL
        );
    "#,
        r#"-- every curation decision made at this hub, for the product page's history
        CREATE TABLE curation_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            upt TEXT NOT NULL,
            product_id TEXT NOT NULL,
            status TEXT NOT NULL,
            note TEXT NOT NULL,
            decided_by TEXT NOT NULL,
            decided_at TEXT NOT NULL
        );
        CREATE INDEX curation_log_product ON curation_log(upt, product_id, id);
    "#,
        r#"-- viewer and curator tokens limited to one Kanwil's UPTs
        ALTER TABLE tokens ADD COLUMN kanwil TEXT;
    "#,
        r#"-- the dashboard's sessions, shared by every hub process and kept across restarts
        CREATE TABLE sessions (
            id_hash TEXT PRIMARY KEY,
            token_id TEXT NOT NULL,
            csrf TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            seen_at INTEGER NOT NULL
        );
        CREATE INDEX sessions_seen ON sessions(seen_at);
    "#,
        r#"-- products per category, counted per UPT from an index alone
        CREATE INDEX products_category ON products(deleted, upt, category);
    "#,
    ],
};

/// The hub's tables on PostgreSQL: the state [`SCHEMA`] leaves on SQLite, in one step (a
/// PostgreSQL hub starts at this release), plus trigram indexes for the words search.
pub const PG_SCHEMA: AppSchema = AppSchema {
    name: "hub",
    migrations: &[
        r#"-- tokens, sync status, refusals, decisions, sessions; indexes for the views
        CREATE TABLE tokens (
            id TEXT PRIMARY KEY,
            hash TEXT NOT NULL,
            role TEXT NOT NULL,
            name TEXT NOT NULL,
            upt TEXT,
            created_at TEXT NOT NULL,
            revoked_at TEXT,
            kanwil TEXT
        );
        CREATE TABLE upt_status (
            upt TEXT PRIMARY KEY,
            last_sync_at TEXT,
            last_attempt_at TEXT,
            last_agent_version TEXT,
            last_peer TEXT,
            syncs BIGINT NOT NULL DEFAULT 0
        );
        CREATE TABLE refusal_counts (
            upt TEXT NOT NULL,
            doc TEXT NOT NULL,
            kind TEXT NOT NULL,
            last_reason TEXT NOT NULL,
            last_peer TEXT NOT NULL,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            count BIGINT NOT NULL,
            PRIMARY KEY (upt, doc, kind)
        );
        CREATE TABLE token_failures (
            upt TEXT PRIMARY KEY,
            count BIGINT NOT NULL,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            last_reason TEXT NOT NULL,
            last_token TEXT NOT NULL
        );
        CREATE TABLE curation_log (
            id BIGSERIAL PRIMARY KEY,
            upt TEXT NOT NULL,
            product_id TEXT NOT NULL,
            status TEXT NOT NULL,
            note TEXT NOT NULL,
            decided_by TEXT NOT NULL,
            decided_at TEXT NOT NULL
        );
        CREATE INDEX curation_log_product ON curation_log(upt, product_id, id);
        CREATE TABLE sessions (
            id_hash TEXT PRIMARY KEY,
            token_id TEXT NOT NULL,
            csrf TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            seen_at BIGINT NOT NULL
        );
        CREATE INDEX sessions_seen ON sessions(seen_at);
        CREATE INDEX products_category ON products(deleted, upt, category);
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX products_name_words ON products USING gin (name gin_trgm_ops);
        CREATE INDEX products_description_words ON products USING gin (description gin_trgm_ops);
    "#,
    ],
};

/// Trainings of one category and how many of their participants completed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CategoryCompletion {
    pub category: String,
    pub trainings: i64,
    pub participants: i64,
    pub completed: i64,
}

/// A product's sales, for its page.
#[derive(Debug, Clone, Default)]
pub struct ProductSales {
    /// The latest: (date, quantity, revenue, channel).
    pub latest: Vec<(String, i64, i64, String)>,
    pub count: i64,
    pub quantity: i64,
    pub revenue: i64,
}

/// Refusals of one UPT's syncs of one document, of one kind.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RefusalRow {
    pub doc: String,
    pub kind: String,
    pub last_reason: String,
    pub count: i64,
    pub last_at: String,
}

/// One decision of a product's history: status, note, who, when.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DecisionEntry {
    pub status: String,
    pub note: String,
    pub decided_by: String,
    pub decided_at: String,
}

pub type Result<T, Err = StoreError> = std::result::Result<T, Err>;

/// The hub's database: the replica store plus the hub's tables.
#[derive(Debug)]
pub struct HubDb {
    store: AnyStore,
    /// The database's file (SQLite) or address (PostgreSQL).
    path: std::path::PathBuf,
    heads_key: HeadsKey,
    figures: Figures,
}

/// Figures over the whole country (national, per UPT, per category, per month), kept per
/// UPT and brought up to date per UPT: at national scale each is a pass over every product,
/// sale or participant (about a second together on a 2-core machine at 627 × 1,000), and
/// every dashboard page reads some. A figure is kept with the change log's last sequence
/// number when it was computed and used while that number stands; after a change stored, by
/// this process or another on the same database, the next read computes again the rows of
/// the UPTs the change log names since, and sums (per Kanwil, nationally) in memory.
#[derive(Default)]
struct Figures(Mutex<HashMap<String, (i64, KeptFigure)>>);

/// A computed figure (its type is the reader's).
type KeptFigure = Arc<dyn std::any::Any + Send + Sync>;

impl std::fmt::Debug for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Figures")
    }
}

/// Figures kept at most (kinds × date ranges); past it, all are dropped.
const FIGURES_KEPT: usize = 512;

/// Past this many UPTs changed since a figure was kept, it is computed again whole.
const UPTS_UPDATED_APART: usize = 200;

/// A figure's rows, per UPT.
type PerUpt<P> = HashMap<String, Vec<P>>;

/// The meta key of the hub's vouch key (see [`karya_shared::vouch`]).
const HEADS_KEY: &str = "hub_heads_key";

/// Whether `serve` may create a database that is not there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    IfMissing,
    No,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "there is no hub database at {0}; pass --db with the right path, or start a new hub with --create"
    )]
    Missing(std::path::PathBuf),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the hub's vouch key in the database cannot be used ({0}); restore the database from a backup"
    )]
    Key(String),
    #[error("{0}")]
    Blobs(String),
    /// The database's file or folder cannot be made.
    #[error("{0}")]
    File(String),
    /// A setting cannot be used, or the hub's threads cannot start.
    #[error("{0}")]
    Setting(String),
}

impl HubDb {
    /// Opens the hub's database; with `Create::No`, a missing file is an error instead of a
    /// new, empty national hub.
    pub fn open(config: &Config, create: Create) -> Result<HubDb, OpenError> {
        let postgres = config.is_postgres();
        if create == Create::No && !postgres && !config.db.exists() {
            return Err(OpenError::Missing(config.db.clone()));
        }
        if !postgres {
            if create == Create::IfMissing && !config.db.exists() {
                // A new hub's file is the owner's alone from its first byte (the vouch key,
                // token hashes and sessions live in it); SQLite's WAL and shared-memory files
                // take its mode. Made empty before any connection exists.
                if let Some(folder) = config.db.parent().filter(|p| !p.as_os_str().is_empty())
                    && !folder.exists()
                {
                    crate::storage::private_dir_all(folder).map_err(|e| {
                        OpenError::File(format!(
                            "cannot make the folder {} for the hub's database ({e})",
                            folder.display()
                        ))
                    })?;
                }
                match crate::storage::create_private_empty(&config.db) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => {
                        return Err(OpenError::File(format!(
                            "cannot create the hub's database {} ({e}); check that the folder exists and the hub may write it",
                            config.db.display()
                        )));
                    }
                }
            }
            // Databases made by earlier versions were 0644: tightened by path (chmod opens no
            // descriptor, so it is safe while another process serves this file).
            for f in crate::storage::database_files(&config.db) {
                crate::storage::make_private(&f);
            }
        }
        let db = config.db.to_string_lossy();
        let mut store = if create == Create::No && postgres {
            // A database that holds no hub: the wrong address, not a new national hub.
            AnyStore::new(AnyBackend::Postgres(Box::new(
                karya_shared::store::PgBackend::open_existing(
                    &db,
                    Some(PG_SCHEMA),
                    config.read_connections,
                )?,
            )))?
        } else {
            AnyStore::open_any(&db, Some(SCHEMA), Some(PG_SCHEMA), config.read_connections)?
        };
        // A new actor per start (and per admin command): never a sequence number used before,
        // even after the database was restored from a backup.
        store.renew_actor();
        store.set_cache_capacity(config.cache_docs);
        // Every change the hub stores, received or its own, is entered in the change log
        // (the audit) in the transaction that stores it.
        store.set_change_log(true);
        // Every record an agent's change produces is checked against the record model before
        // it is merged: the hub never stores what the agent would have refused.
        let catalogue = Catalogue::open(config)?;
        store.set_row_check(Some(std::sync::Arc::new(move |row| catalogue.check(row))));
        // The key the hub vouches for its own documents with: made once, kept in the
        // database (so in every backup); the first process to store one wins.
        let made = HeadsKey::generate().to_hex();
        let heads_key = karya_shared::store::Backend::meta_init(store.backend(), HEADS_KEY, &made)
            .map_err(|e| OpenError::Key(e.to_string()))?;
        let heads_key = HeadsKey::from_hex(&heads_key)
            .ok_or_else(|| OpenError::Key(format!("meta.{HEADS_KEY} is not a 32-byte hex key")))?;
        let db = HubDb {
            store,
            path: config.db.clone(),
            heads_key,
            figures: Figures::default(),
        };
        crate::national::ensure_seeded(db.replica())?;
        Ok(db)
    }

    /// Opens an existing hub database to read only, for the admin commands that only look
    /// (`upt list`, `token list`, `audit`, `catalogue export`): on SQLite a
    /// read-only connection that migrates nothing and writes nothing (a serving hub beside it
    /// keeps its locks and its write-ahead log); on PostgreSQL the ordinary pool.
    pub fn open_read_only(config: &Config) -> Result<HubDb, OpenError> {
        let store = if config.is_postgres() {
            AnyStore::new(AnyBackend::Postgres(Box::new(
                karya_shared::store::PgBackend::open_existing(
                    &config.db.to_string_lossy(),
                    Some(PG_SCHEMA),
                    config.read_connections.min(2),
                )?,
            )))?
        } else {
            if !config.db.exists() {
                return Err(OpenError::Missing(config.db.clone()));
            }
            AnyStore::new_read_only(AnyBackend::Sqlite(
                karya_shared::store::SqliteBackend::open_existing_read_only(&config.db)?,
            ))
        };
        let key = karya_shared::store::Backend::meta(store.backend(), HEADS_KEY)?
            .ok_or_else(|| OpenError::Key(format!("meta.{HEADS_KEY} is missing")))?;
        let heads_key = HeadsKey::from_hex(&key)
            .ok_or_else(|| OpenError::Key(format!("meta.{HEADS_KEY} is not a 32-byte hex key")))?;
        Ok(HubDb {
            store,
            path: config.db.clone(),
            heads_key,
            figures: Figures::default(),
        })
    }

    /// The key this hub vouches for its own documents with.
    pub fn heads_key(&self) -> &HeadsKey {
        &self.heads_key
    }

    /// The replica: documents, sync, local changes (curation decisions, the UPT registry).
    pub fn replica(&self) -> &AnyStore {
        &self.store
    }

    /// A figure's rows per UPT as the data stored now gives them (see [`Figures`]): kept
    /// while no change was stored since; after changes, computed again for the UPTs whose
    /// documents changed only (all of them after a change to `national`, the registry, or
    /// to many UPTs at once). `query` computes the rows of every UPT (`None`) or of those a
    /// JSON list names.
    fn per_upt<P: Clone + Send + Sync + 'static>(
        &self,
        key: &str,
        query: impl Fn(&mut Sql<'_>, Option<&str>) -> Result<Vec<(String, P)>>,
    ) -> Result<Arc<PerUpt<P>>> {
        let seq: i64 = self.read(|c| {
            c.query_row(
                "SELECT COALESCE(MAX(seq), 0) FROM change_log",
                params![],
                |r| r.get(0),
            )
        })?;
        let lock = || self.figures.0.lock().unwrap_or_else(|p| p.into_inner());
        let kept = lock()
            .get(key)
            .and_then(|(at, v)| Some((*at, v.clone().downcast::<PerUpt<P>>().ok()?)));
        let group = |rows: Vec<(String, P)>, into: &mut PerUpt<P>| {
            for (upt, row) in rows {
                into.entry(upt).or_default().push(row);
            }
        };
        let updated = match kept {
            Some((at, figure)) if at == seq => return Ok(figure),
            Some((at, figure)) => {
                let changed: Vec<String> = self.read(|c| {
                    c.query_map(
                        "SELECT DISTINCT upt FROM change_log WHERE seq > ?1",
                        [at],
                        |r| r.get(0),
                    )
                })?;
                if changed.iter().any(String::is_empty) || changed.len() > UPTS_UPDATED_APART {
                    None
                } else {
                    let only = serde_json::Value::from(changed.clone()).to_string();
                    let rows = self.read(|c| query(c, Some(&only)))?;
                    let mut figure = (*figure).clone();
                    for upt in &changed {
                        figure.remove(upt);
                    }
                    group(rows, &mut figure);
                    Some(figure)
                }
            }
            None => None,
        };
        let figure = match updated {
            Some(f) => f,
            None => {
                let mut all = PerUpt::new();
                group(self.read(|c| query(c, None))?, &mut all);
                all
            }
        };
        let figure = Arc::new(figure);
        let mut kept = lock();
        if kept.len() >= FIGURES_KEPT {
            kept.clear();
        }
        kept.insert(key.to_string(), (seq, figure.clone()));
        Ok(figure)
    }

    /// The rows of a per-UPT figure of the UPTs in `kanwil` (of all when `None`).
    fn within<'a, P>(
        &self,
        figure: &'a PerUpt<P>,
        kanwil: Option<&str>,
    ) -> Result<impl Iterator<Item = &'a P> + use<'a, P>> {
        let inside: Option<std::collections::HashSet<String>> = match kanwil {
            Some(k) => Some(
                self.upt_kanwils()?
                    .into_iter()
                    .filter(|(_, kanwil)| kanwil == k)
                    .map(|(code, _)| code)
                    .collect(),
            ),
            None => None,
        };
        Ok(figure
            .iter()
            .filter(move |(upt, _)| inside.as_ref().is_none_or(|set| set.contains(*upt)))
            .flat_map(|(_, rows)| rows.iter()))
    }

    /// Runs `f` on a connection for reading (on PostgreSQL, again on a new connection when
    /// the first turned out closed: `f` only reads).
    fn read<T>(&self, f: impl FnMut(&mut Sql<'_>) -> Result<T>) -> Result<T> {
        self.store.backend().read(f)
    }

    /// Runs `f` in a write transaction: all of it or nothing.
    fn write<T>(&self, f: impl FnOnce(&mut Sql<'_>) -> Result<T>) -> Result<T> {
        self.store.backend().write(f)
    }

    // ---------- photos ----------

    /// The size of photo blob `hash` as a live product of `upt` names it, if one does.
    pub fn photo_size(&self, upt: &str, hash: &str) -> Result<Option<u64>> {
        self.read(|c| {
            c.query_opt(
                "SELECT size FROM product_photos WHERE hash = ?1 AND upt = ?2 LIMIT 1",
                [hash, upt],
                |r| r.get::<_, i64>(0),
            )
            .map(|s| s.map(|s| s.max(0) as u64))
        })
    }

    /// Every photo blob a live product of `upt` names, with its size.
    pub fn photos_of(&self, upt: &str) -> Result<Vec<(String, u64)>> {
        self.read(|c| {
            c.query_map(
                "SELECT DISTINCT hash, size FROM product_photos WHERE upt = ?1",
                [upt],
                |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)),
            )
        })
    }

    /// Every photo blob a live product names (what blob collection keeps).
    pub fn referenced_blobs(&self) -> Result<std::collections::HashSet<String>> {
        self.read(|c| {
            Ok(
                c.query_map("SELECT DISTINCT hash FROM product_photos", params![], |r| {
                    r.get(0)
                })?
                .into_iter()
                .collect(),
            )
        })
    }

    // ---------- backup ----------

    /// Writes a consistent copy of the whole database to `to` (SQLite's `VACUUM INTO`: one
    /// read transaction, so syncs and curators go on meanwhile). `to` must not exist: it is
    /// made empty with mode 0600 first (the copy holds the vouch key, token hashes and
    /// sessions), and removed again if the copy fails.
    pub fn backup(&self, to: &std::path::Path) -> Result<()> {
        let target = to.to_string_lossy().into_owned();
        match self.store.backend() {
            AnyBackend::Sqlite(b) => {
                crate::storage::create_private_empty(to)
                    .map_err(|e| StoreError::Config(format!("{}: {e}", to.display())))?;
                let copied = b.writer().execute("VACUUM INTO ?1", [target]).map(|_| ());
                // The copy is this command's own new file, not a live database: its one
                // descriptor here makes it durable before the command says it is written.
                let synced = copied.as_ref().map_err(|_| ()).and_then(|_| {
                    std::fs::File::open(to)
                        .and_then(|f| f.sync_all())
                        .map_err(|_| ())
                });
                if copied.is_err() || synced.is_err() {
                    let _ = std::fs::remove_file(to);
                }
                copied?;
                synced.map_err(|_| {
                    StoreError::Config(format!("{} could not be flushed to disk", to.display()))
                })
            }
            AnyBackend::Postgres(b) => Err(StoreError::Config(format!(
                "the hub's database is PostgreSQL ({}): back it up with pg_dump or the server's own backups (docs/DEPLOYMENT.md), not with karya-hub backup",
                b.server()
            ))),
        }
    }

    // ---------- health ----------

    /// Bytes the database takes: the file and its write-ahead log (SQLite), or the
    /// database's size as the server counts it (PostgreSQL).
    pub fn database_bytes(&self) -> Result<u64> {
        match self.store.backend() {
            AnyBackend::Sqlite(_) => Ok(crate::storage::database_bytes(&self.path)),
            AnyBackend::Postgres(b) => b.with(|c| {
                let n: i64 = c
                    .query_one("SELECT pg_database_size(current_database())", &[])?
                    .get(0);
                Ok(n.max(0) as u64)
            }),
        }
    }

    /// A query on a read connection: the database answers.
    pub fn ping(&self) -> Result<()> {
        self.read(|c| c.query_row("SELECT 1", params![], |r| r.get::<_, i64>(0)))
            .map(|_| ())
    }

    // ---------- tokens ----------

    /// Issues a token and returns (id, token). The token is shown once; only its hash is kept.
    pub fn issue_token(&self, role: &Role, name: &str) -> Result<(String, String)> {
        self.write(|c| issue_token(c, role, name, None))
    }

    /// Issues a viewer or curator token that sees only the UPTs of `kanwil`.
    pub fn issue_kanwil_token(
        &self,
        role: &Role,
        name: &str,
        kanwil: &str,
    ) -> Result<(String, String)> {
        self.write(|c| issue_token(c, role, name, Some(kanwil)))
    }

    pub fn tokens(&self) -> Result<Vec<TokenInfo>> {
        self.read(|c| {
            c.query_map(
                "SELECT id, role, name, upt, created_at, revoked_at FROM tokens ORDER BY created_at, id",
                params![],
                |r| {
                    Ok(TokenInfo {
                        id: r.get(0)?,
                        role: r.get(1)?,
                        name: r.get(2)?,
                        upt: r.get(3)?,
                        created_at: r.get(4)?,
                        revoked_at: r.get(5)?,
                    })
                },
            )
        })
    }

    /// Revokes a token; false when there is no such (unrevoked) token.
    pub fn revoke_token(&self, id: &str) -> Result<bool> {
        self.write(|c| {
            let n = c.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, karya_shared::model::now_rfc3339()],
            )?;
            Ok(n > 0)
        })
    }

    /// Checks a bearer token (on a read connection: never waits for a write).
    pub fn verify_token(&self, token_text: &str) -> Result<Result<Principal, Rejection>> {
        let Some(id) = token_text
            .strip_prefix("karya_")
            .and_then(|rest| rest.split_once('_'))
            .map(|(id, _)| id)
        else {
            return Ok(Err(Rejection::Malformed));
        };
        let row = self.read(|c| {
            c.query_opt(
                &format!("SELECT t.hash, {TOKEN_COLUMNS} FROM tokens t WHERE t.id = ?1"),
                [id],
                |r| Ok((r.get::<_, String>(0)?, TokenRow::read(r, 1)?)),
            )
        })?;
        let Some((stored, token)) = row else {
            return Ok(Err(Rejection::Unknown));
        };
        if !bool::from(stored.as_bytes().ct_eq(token_hash(token_text).as_bytes())) {
            return Ok(Err(Rejection::Mismatch {
                token_id: token.id,
                upt: token.upt,
            }));
        }
        if token.revoked_at.is_some() {
            return Ok(Err(Rejection::Revoked {
                token_id: token.id,
                name: token.name,
                upt: token.upt,
            }));
        }
        Ok(token.principal().ok_or(Rejection::Unknown))
    }

    /// Counts a refused token attempt against the UPT whose agent token it names (revoked,
    /// or the right id with a wrong secret), so HQ sees a UPT that keeps failing.
    pub fn record_token_failure(&self, upt: &str, token_id: &str, reason: &str) -> Result<()> {
        let now = karya_shared::model::now_rfc3339();
        self.write(|c| {
            c.execute(
                "INSERT INTO token_failures (upt, count, first_at, last_at, last_reason, last_token)
                 VALUES (?1, 1, ?2, ?2, ?3, ?4)
                 ON CONFLICT(upt) DO UPDATE SET count = token_failures.count + 1, last_at = ?2,
                   last_reason = ?3, last_token = ?4",
                params![upt, now, reason, token_id],
            )
            .map(|_| ())
        })
    }

    // ---------- the dashboard's sessions ----------

    /// Starts a session for a verified token; returns (session id, CSRF token). Only the
    /// session id's hash is stored, and the token's id (never the token): a copy of the
    /// database signs no one in. Sessions past their time are dropped here, and past
    /// [`MAX_SESSIONS`] the least recently used go.
    pub fn start_session(
        &self,
        token_id: &str,
        now: i64,
        limits: SessionLimits,
    ) -> Result<(String, String)> {
        let id = hex::encode(rand::random::<[u8; 24]>());
        let csrf = hex::encode(rand::random::<[u8; 24]>());
        self.write(|c| {
            c.execute(
                "DELETE FROM sessions WHERE seen_at <= ?1 OR created_at <= ?2",
                params![now - limits.idle_secs, now - limits.lifetime_secs],
            )?;
            // Past the most recently seen MAX_SESSIONS - 1 (no LIMIT: an OFFSET alone is
            // what both engines accept).
            c.execute(
                "DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions
                   ORDER BY seen_at DESC, id_hash LIMIT ?2 OFFSET ?1)",
                params![MAX_SESSIONS - 1, i64::MAX],
            )?;
            c.execute(
                "INSERT INTO sessions (id_hash, token_id, csrf, created_at, seen_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                params![token_hash(&id), token_id, csrf, now],
            )?;
            Ok(())
        })?;
        Ok((id, csrf))
    }

    /// The person behind a live session and the session's CSRF token; `None` for a session
    /// unknown, ended, past its time, or whose token was revoked since. A session used is
    /// marked seen (written at most once a minute).
    pub fn session(
        &self,
        id: &str,
        now: i64,
        limits: SessionLimits,
    ) -> Result<Option<(Principal, String)>> {
        let hash = token_hash(id);
        let row = self.read(|c| {
            c.query_opt(
                &format!(
                    "SELECT s.csrf, s.created_at, s.seen_at, {TOKEN_COLUMNS}
                     FROM sessions s JOIN tokens t ON t.id = s.token_id WHERE s.id_hash = ?1"
                ),
                [&hash],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        TokenRow::read(r, 3)?,
                    ))
                },
            )
        })?;
        let Some((csrf, created, seen, token)) = row else {
            return Ok(None);
        };
        let alive = now - seen < limits.idle_secs && now - created < limits.lifetime_secs;
        let revoked = token.revoked_at.is_some();
        let principal = token.principal().filter(|p| p.role.can_read());
        let (true, false, Some(principal)) = (alive, revoked, principal) else {
            self.end_session(id)?;
            return Ok(None);
        };
        if now - seen >= 60 {
            self.write(|c| {
                c.execute(
                    "UPDATE sessions SET seen_at = ?2 WHERE id_hash = ?1",
                    params![hash, now],
                )
            })?;
        }
        Ok(Some((principal, csrf)))
    }

    pub fn end_session(&self, id: &str) -> Result<()> {
        self.write(|c| {
            c.execute("DELETE FROM sessions WHERE id_hash = ?1", [token_hash(id)])
                .map(|_| ())
        })
    }

    // ---------- the audit ----------

    /// A page of the change log, oldest first: every change the hub stored, with its
    /// document, UPT, origin and the name of the token it came with.
    pub fn audit(&self, q: &AuditQuery) -> Result<AuditPage> {
        self.read(|c| {
            let mut items = c.query_map(
                "SELECT l.seq, l.at, l.doc, l.upt, l.hash, l.peer, l.token, t.name
                 FROM change_log l LEFT JOIN tokens t ON t.id = l.token
                 WHERE (CAST(?1 AS TEXT) IS NULL OR l.upt = ?1)
                   AND (CAST(?2 AS TEXT) IS NULL OR l.at >= ?2) AND l.seq > ?3
                 ORDER BY l.seq LIMIT ?4",
                params![q.upt, q.since, q.after, q.limit as i64 + 1],
                |r| {
                    Ok(AuditEntry {
                        seq: r.get(0)?,
                        at: r.get(1)?,
                        doc: r.get(2)?,
                        upt: r.get(3)?,
                        hash: r.get(4)?,
                        peer: r.get(5)?,
                        token: r.get(6)?,
                        token_name: r.get(7)?,
                    })
                },
            )?;
            let next = if items.len() > q.limit {
                items.truncate(q.limit);
                items.last().map(|e| e.seq)
            } else {
                None
            };
            Ok(AuditPage { items, next })
        })
    }

    // ---------- UPTs ----------

    /// Registers UPTs in the `national` document and issues each an agent token, all or
    /// nothing: every UPT is validated first, and a UPT already registered is an error unless
    /// `update` (which changes its details and issues no token). Returns (code, new token).
    pub fn register_upts(
        &self,
        upts: &[karya_shared::model::UptInfo],
        update: bool,
    ) -> Result<Vec<(String, Option<String>)>, RegisterError> {
        let mut seen = std::collections::HashSet::new();
        for (i, upt) in upts.iter().enumerate() {
            upt.validate().map_err(|e| RegisterError::Invalid {
                index: i,
                code: upt.code.to_string(),
                reason: e.to_string(),
            })?;
            if !seen.insert(upt.code.as_str()) {
                return Err(RegisterError::Twice(upt.code.to_string()));
            }
        }
        let existing: Vec<String> = upts
            .iter()
            .filter(|u| self.is_registered(&u.code).unwrap_or(false))
            .map(|u| u.code.to_string())
            .collect();
        if !existing.is_empty() && !update {
            return Err(RegisterError::Exists(existing));
        }
        // Tokens first, in one transaction, but only the hashes: if the document change below
        // fails, the tokens are removed again and nobody has seen them.
        let mut out = Vec::with_capacity(upts.len());
        let mut issued_ids = Vec::new();
        self.write(|c| {
            for upt in upts {
                if existing.iter().any(|c| *c == upt.code) {
                    out.push((upt.code.to_string(), None));
                    continue;
                }
                let (id, token) = issue_token(
                    c,
                    &Role::Agent {
                        upt: upt.code.to_string(),
                    },
                    &format!("agent {}", upt.code),
                    None,
                )?;
                issued_ids.push(id);
                out.push((upt.code.to_string(), Some(token)));
            }
            Ok(())
        })
        .map_err(RegisterError::Store)?;
        let registered = self.store.change(&karya_shared::DocId::National, |d| {
            for upt in upts {
                karya_shared::schema::put_upt(d, upt)?;
            }
            Ok(())
        });
        if let Err(e) = registered {
            let _ = self.write(|c| {
                for id in &issued_ids {
                    c.execute("DELETE FROM tokens WHERE id = ?1", [id])?;
                }
                Ok(())
            });
            return Err(RegisterError::Store(e));
        }
        Ok(out)
    }

    pub fn is_registered(&self, code: &str) -> Result<bool> {
        self.read(|c| {
            c.query_row(
                "SELECT EXISTS(SELECT 1 FROM upts WHERE code = ?1)",
                [code],
                |r| r.get(0),
            )
        })
    }

    /// Every registered UPT with its sync state and its records counted (the counts from
    /// the national figures).
    pub fn upt_rows(&self, stale_after_hours: i64) -> Result<Vec<UptRow>> {
        let mut rows = self.read(|c| upt_rows(c, stale_after_hours))?;
        let stats = self.stats()?;
        let counted: HashMap<&str, &views::Figures> = stats
            .per_upt
            .iter()
            .map(|u| (u.upt.as_str(), &u.figures))
            .collect();
        for row in &mut rows {
            if let Some(f) = counted.get(row.code.as_str()) {
                row.products = f.products;
                row.sales = f.sales + f.future_dated_sales;
                row.trainings = f.trainings;
                row.participants = f.participants;
            }
        }
        Ok(rows)
    }

    /// Every registered UPT's code and Kanwil, by Kanwil and code (for filters).
    pub fn upt_kanwils(&self) -> Result<Vec<(String, String)>> {
        self.read(|c| {
            c.query_map(
                "SELECT code, kanwil FROM upts ORDER BY kanwil, code",
                params![],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
    }

    /// Adds a decision to its product's history.
    pub fn log_decision(&self, upt: &str, d: &karya_shared::model::CurationDecision) -> Result<()> {
        self.write(|c| {
            c.execute(
                "INSERT INTO curation_log (upt, product_id, status, note, decided_by, decided_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![
                    upt,
                    d.product_id.as_str(),
                    d.status.as_str(),
                    d.note,
                    d.decided_by,
                    d.decided_at
                ],
            )
            .map(|_| ())
        })
    }

    /// A product's decisions made at this hub, newest first (at most 100).
    pub fn decision_history(&self, upt: &str, product_id: &str) -> Result<Vec<DecisionEntry>> {
        self.read(|c| {
            c.query_map(
                "SELECT status, note, decided_by, decided_at FROM curation_log
                 WHERE upt = ?1 AND product_id = ?2 ORDER BY id DESC LIMIT 100",
                rusqlite::params![upt, product_id],
                |r| {
                    Ok(DecisionEntry {
                        status: r.get(0)?,
                        note: r.get(1)?,
                        decided_by: r.get(2)?,
                        decided_at: r.get(3)?,
                    })
                },
            )
        })
    }

    /// Notes a sync in the UPT's status (`ok`: no document refused).
    pub fn record_sync(&self, upt: &str, agent_version: &str, peer: &str, ok: bool) -> Result<()> {
        let now = karya_shared::model::now_rfc3339();
        self.write(|c| {
            c.execute(
                "INSERT INTO upt_status (upt, last_sync_at, last_attempt_at, last_agent_version, last_peer, syncs)
                 VALUES (?1, CASE WHEN ?5 = 1 THEN ?2 END, ?2, ?3, ?4, 1)
                 ON CONFLICT(upt) DO UPDATE SET
                   last_sync_at = CASE WHEN ?5 = 1 THEN ?2 ELSE upt_status.last_sync_at END,
                   last_attempt_at = ?2, last_agent_version = ?3, last_peer = ?4,
                   syncs = upt_status.syncs + 1",
                params![upt, now, agent_version, peer, i64::from(ok)],
            )
            .map(|_| ())
        })
    }

    /// Logs refused documents for the admin.
    /// The document name refusals of documents an agent may not sync are counted under.
    pub const NOT_VISIBLE_DOC: &'static str = "(dokumen lain)";

    pub fn record_refusals(
        &self,
        upt: &str,
        peer: &str,
        refused: &[karya_shared::server::Refused],
    ) -> Result<()> {
        let now = karya_shared::model::now_rfc3339();
        self.write(|c| {
            for r in refused {
                // Documents the agent may not sync are counted under one name: made-up names
                // must not add a row each.
                let doc = if r.kind == "not_visible" {
                    Self::NOT_VISIBLE_DOC
                } else {
                    r.doc.as_str()
                };
                c.execute(
                    "INSERT INTO refusal_counts (upt, doc, kind, last_reason, last_peer, first_at, last_at, count)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 1)
                     ON CONFLICT(upt, doc, kind) DO UPDATE SET last_reason = ?4, last_peer = ?5,
                       last_at = ?6, count = refusal_counts.count + 1",
                    params![upt, doc, r.kind, r.reason, peer, now],
                )?;
            }
            Ok(())
        })
    }

    /// Registered UPTs without a successful sync in the last `hours` (or ever).
    pub fn stale_upts(&self, hours: i64) -> Result<i64> {
        // Compared as RFC 3339 text (UTC, one format): what SQLite's and PostgreSQL's
        // date functions would agree on.
        let cutoff = hours_ago(hours);
        self.read(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM upts u LEFT JOIN upt_status s ON s.upt = u.code
                 WHERE s.last_sync_at IS NULL OR s.last_sync_at < ?1",
                [&cutoff],
                |r| r.get(0),
            )
        })
    }

    /// Refused document syncs, every attempt counted.
    pub fn refusal_count(&self) -> Result<i64> {
        self.read(|c| {
            c.query_row(
                "SELECT COALESCE(SUM(count), 0) FROM refusal_counts",
                params![],
                |r| r.get(0),
            )
        })
    }

    /// (UPT, unix seconds) of each UPT's last successful sync.
    pub fn last_syncs(&self) -> Result<Vec<(String, i64)>> {
        let rows: Vec<(String, String)> = self.read(|c| {
            c.query_map(
                "SELECT upt, last_sync_at FROM upt_status WHERE last_sync_at IS NOT NULL ORDER BY upt",
                params![],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(upt, at)| {
                let t = time::OffsetDateTime::parse(
                    &at,
                    &time::format_description::well_known::Rfc3339,
                )
                .ok()?;
                Some((upt, t.unix_timestamp()))
            })
            .collect())
    }

    // ---------- national views ----------

    pub fn products_page(
        &self,
        filter: &ProductFilter,
        after: Option<&views::ProductCursor>,
        limit: usize,
    ) -> Result<Page<ProductRow, views::ProductCursor>> {
        self.read(|c| views::products_page(c, filter, after, limit))
    }

    /// Up to `limit` products after `after`, and where the next ones start; no count.
    pub fn products_after(
        &self,
        filter: &ProductFilter,
        after: Option<&views::ProductCursor>,
        limit: usize,
    ) -> Result<(Vec<ProductRow>, Option<views::ProductCursor>)> {
        self.read(|c| views::products_after(c, filter, after, limit))
    }

    /// Every product that shares this id, in every UPT (ids are random: usually one).
    pub fn products_by_id(&self, id: &str, upt: Option<&str>) -> Result<Vec<ProductRow>> {
        self.read(|c| views::products_by_id(c, id, upt))
    }

    pub fn trainings_page(
        &self,
        upt: Option<&str>,
        category: Option<&str>,
        kanwil: Option<&str>,
        after: Option<&views::TrainingCursor>,
        limit: usize,
    ) -> Result<Page<TrainingRow, views::TrainingCursor>> {
        self.read(|c| views::trainings_page(c, upt, category, kanwil, after, limit))
    }

    /// Live products per category (most first), within `kanwil` if given.
    pub fn products_per_category(&self, kanwil: Option<&str>) -> Result<Vec<(String, i64)>> {
        let per_upt = self.per_upt("products_per_category", |c, only| {
            let sql = format!(
                "SELECT upt, category, COUNT(*) FROM products WHERE deleted = 0 AND {}
                 GROUP BY upt, category",
                views::only_upts(c, only, "upt", "?1")
            );
            c.query_map(&sql, [only], |r| {
                Ok((r.get(0)?, (r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))
            })
        })?;
        let mut sums: HashMap<String, i64> = HashMap::new();
        for (category, n) in self.within(&per_upt, kanwil)? {
            *sums.entry(category.clone()).or_default() += n;
        }
        let mut out: Vec<(String, i64)> = sums.into_iter().collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(out)
    }

    /// Sales per month (`YYYY-MM`, revenue, count) from `since` (a date) to `until`, within
    /// `kanwil` if given. Sales dated after `until` (a wrong clock) are left out.
    pub fn sales_per_month(
        &self,
        since: &str,
        until: &str,
        kanwil: Option<&str>,
    ) -> Result<Vec<(String, i64, i64)>> {
        let per_upt = self.per_upt(&format!("sales_per_month/{since}/{until}"), |c, only| {
            let sql = format!(
                "SELECT upt, substr(date, 1, 7) AS month, {}, COUNT(*)
                 FROM sales WHERE date >= ?1 AND date <= ?2 AND {}
                 GROUP BY upt, month",
                views::total(c, "revenue_idr"),
                views::only_upts(c, only, "upt", "?3")
            );
            c.query_map(&sql, rusqlite::params![since, until, only], |r| {
                Ok((
                    r.get(0)?,
                    (
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                    ),
                ))
            })
        })?;
        let mut sums: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
        for (month, revenue, n) in self.within(&per_upt, kanwil)? {
            let sum = sums.entry(month.clone()).or_default();
            sum.0 = sum.0.saturating_add(*revenue);
            sum.1 += n;
        }
        Ok(sums.into_iter().map(|(m, (r, n))| (m, r, n)).collect())
    }

    /// The refusals of a UPT's syncs, counted per (document, kind), most recent first.
    pub fn refusals_of(&self, upt: &str) -> Result<Vec<RefusalRow>> {
        self.read(|c| {
            c.query_map(
                "SELECT doc, kind, last_reason, count, last_at FROM refusal_counts
                 WHERE upt = ?1 ORDER BY last_at DESC LIMIT 50",
                [upt],
                |r| {
                    Ok(RefusalRow {
                        doc: r.get(0)?,
                        kind: r.get(1)?,
                        last_reason: r.get(2)?,
                        count: r.get(3)?,
                        last_at: r.get(4)?,
                    })
                },
            )
        })
    }

    /// Per training category, within `kanwil` if given: (category, trainings, participants,
    /// completed), most participants first.
    pub fn completion_per_category(&self, kanwil: Option<&str>) -> Result<Vec<CategoryCompletion>> {
        let per_upt = self.per_upt("completion_per_category", |c, only| {
            let sql = format!(
                "SELECT t.upt, t.category, COUNT(DISTINCT t.id), COUNT(p.pseudonym),
                        COALESCE(SUM(CASE WHEN p.status = 'completed' THEN 1 ELSE 0 END), 0)
                 FROM trainings t LEFT JOIN participants p ON p.upt = t.upt AND p.training_id = t.id
                 WHERE t.deleted = 0 AND {}
                 GROUP BY t.upt, t.category",
                views::only_upts(c, only, "t.upt", "?1")
            );
            c.query_map(&sql, [only], |r| {
                Ok((
                    r.get(0)?,
                    CategoryCompletion {
                        category: r.get(1)?,
                        trainings: r.get(2)?,
                        participants: r.get(3)?,
                        completed: r.get(4)?,
                    },
                ))
            })
        })?;
        let mut sums: HashMap<String, CategoryCompletion> = HashMap::new();
        for c in self.within(&per_upt, kanwil)? {
            let sum = sums
                .entry(c.category.clone())
                .or_insert_with(|| CategoryCompletion {
                    category: c.category.clone(),
                    trainings: 0,
                    participants: 0,
                    completed: 0,
                });
            sum.trainings += c.trainings;
            sum.participants += c.participants;
            sum.completed += c.completed;
        }
        let mut out: Vec<CategoryCompletion> = sums.into_values().collect();
        out.sort_by(|a, b| {
            b.participants
                .cmp(&a.participants)
                .then_with(|| a.category.cmp(&b.category))
        });
        Ok(out)
    }

    /// A product's sales: the latest 20 (date, quantity, revenue, channel), and the totals of
    /// all (count, quantity, revenue). Sales dated after `until` (a wrong clock) are left out.
    pub fn sales_of_product(
        &self,
        upt: &str,
        product_id: &str,
        until: &str,
    ) -> Result<ProductSales> {
        self.read(|c| {
            let latest = c.query_map(
                "SELECT date, quantity, revenue_idr, channel FROM sales
                 WHERE upt = ?1 AND product_id = ?2 AND date <= ?3 ORDER BY date DESC, id LIMIT 20",
                [upt, product_id, until],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            let sql = format!(
                "SELECT COUNT(*), COALESCE(SUM(quantity), 0), {}
                 FROM sales WHERE upt = ?1 AND product_id = ?2 AND date <= ?3",
                views::total(c, "revenue_idr")
            );
            let (count, quantity, revenue) = c.query_row(&sql, [upt, product_id, until], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
            Ok(ProductSales {
                latest,
                count,
                quantity,
                revenue,
            })
        })
    }

    /// The Kanwil a UPT belongs to, if it is registered.
    pub fn kanwil_of(&self, upt: &str) -> Result<Option<String>> {
        self.read(|c| {
            c.query_opt("SELECT kanwil FROM upts WHERE code = ?1", [upt], |r| {
                r.get(0)
            })
        })
    }

    /// The Kanwils UPTs are registered in.
    pub fn kanwils(&self) -> Result<Vec<String>> {
        self.read(|c| {
            c.query_map(
                "SELECT DISTINCT kanwil FROM upts ORDER BY kanwil",
                params![],
                |r| r.get(0),
            )
        })
    }

    /// Whether a live product of a UPT in `kanwil` names this photo blob.
    pub fn blob_in_kanwil(&self, hash: &str, kanwil: &str) -> Result<bool> {
        self.read(|c| {
            c.query_row(
                "SELECT EXISTS (SELECT 1 FROM product_photos WHERE hash = ?1
                 AND upt IN (SELECT code FROM upts WHERE kanwil = ?2))",
                [hash, kanwil],
                |r| r.get(0),
            )
        })
    }

    /// The national figures, per Kanwil and per UPT.
    pub fn stats(&self) -> Result<Stats> {
        // Sales dated after today are counted apart: the figures of one day.
        let per_upt = self.per_upt(&format!("stats/{}", views::future_cutoff().0), |c, only| {
            Ok(views::upt_figures(c, only)?
                .into_iter()
                .map(|f| (f.upt.clone(), f))
                .collect())
        })?;
        Ok(views::stats_of(
            per_upt.values().flatten().cloned().collect(),
        ))
    }

    /// Category slug to the name people read.
    pub fn product_categories(&self) -> Result<std::collections::HashMap<String, String>> {
        Ok(self
            .read(|c| {
                c.query_map(
                    "SELECT slug, name FROM categories WHERE kind = 'product'",
                    params![],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
            })?
            .into_iter()
            .collect())
    }
}

/// The categories in force, for checking merged records: read from the `national`
/// document's materialized table on a connection of its own, again at most every 30 s.
struct Catalogue {
    source: CatalogueSource,
    cached: std::sync::Mutex<Option<(std::time::Instant, std::sync::Arc<Slugs>)>>,
}

/// Product category slugs, training category slugs.
struct Slugs {
    products: Vec<String>,
    trainings: Vec<String>,
}

/// Where the catalogue reads the categories: a connection of its own (the check runs while
/// the store's writer may be held).
enum CatalogueSource {
    Sqlite(std::sync::Mutex<rusqlite::Connection>),
    Postgres(Box<karya_shared::store::PgBackend>),
}

impl Catalogue {
    fn open(config: &Config) -> Result<Catalogue> {
        let source = if config.is_postgres() {
            CatalogueSource::Postgres(Box::new(karya_shared::store::PgBackend::open(
                &config.db.to_string_lossy(),
                None,
                1,
            )?))
        } else {
            let conn = rusqlite::Connection::open_with_flags(
                &config.db,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            CatalogueSource::Sqlite(std::sync::Mutex::new(conn))
        };
        Ok(Catalogue {
            source,
            cached: std::sync::Mutex::new(None),
        })
    }

    /// The slugs in force; shared, so that checking a bootstrap's half a million rows copies
    /// nothing.
    fn slugs(&self) -> std::sync::Arc<Slugs> {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, slugs)) = cached.as_ref()
            && at.elapsed() < std::time::Duration::from_secs(30)
        {
            return slugs.clone();
        }
        let read = |kind: &str| -> Vec<String> {
            let sql = "SELECT slug FROM categories WHERE kind = ?1";
            match &self.source {
                CatalogueSource::Sqlite(conn) => {
                    let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
                    Sql::Lite(&conn).query_map(sql, [kind], |r| r.get(0))
                }
                CatalogueSource::Postgres(b) => {
                    b.with(|c| Sql::Pg(c).query_map(sql, [kind], |r| r.get(0)))
                }
            }
            .unwrap_or_default()
        };
        let (mut products, mut trainings) = (read("product"), read("training"));
        // Before the national document is materialized: the built-in catalogue.
        if products.is_empty() {
            products = karya_shared::schema::categories(None, false);
        }
        if trainings.is_empty() {
            trainings = karya_shared::schema::categories(None, true);
        }
        let slugs = std::sync::Arc::new(Slugs {
            products,
            trainings,
        });
        *cached = Some((std::time::Instant::now(), slugs.clone()));
        slugs
    }

    fn check(&self, row: &karya_shared::materialize::RowOp) -> Result<(), String> {
        use karya_shared::materialize::RowOp;
        // Only rows that name a category need the catalogue.
        if !matches!(
            row,
            RowOp::Product { row: Some(_), .. } | RowOp::Training { row: Some(_), .. }
        ) {
            return karya_shared::materialize::check_row(row, &[], &[]).map_err(|e| e.to_string());
        }
        let slugs = self.slugs();
        let p: Vec<&str> = slugs.products.iter().map(String::as_str).collect();
        let t: Vec<&str> = slugs.trainings.iter().map(String::as_str).collect();
        karya_shared::materialize::check_row(row, &p, &t).map_err(|e| e.to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("UPT number {} ({code}): {reason}; nothing was registered", .index + 1)]
    Invalid {
        index: usize,
        code: String,
        reason: String,
    },
    #[error("UPT {0} appears twice; nothing was registered")]
    Twice(String),
    #[error(
        "already registered: {}; nothing was registered (use --update to change their details; no new token is issued)",
        .0.join(", ")
    )]
    Exists(Vec<String>),
    #[error(transparent)]
    Store(#[from] E),
}

/// Sessions kept at most; past it the least recently used goes.
pub const MAX_SESSIONS: i64 = 10_000;

/// How long a dashboard session lives, in seconds: without a request, and at most.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    pub idle_secs: i64,
    pub lifetime_secs: i64,
}

/// The columns of a token that make its [`Principal`], read by [`TokenRow::read`] (the token
/// table is `t` in the query).
const TOKEN_COLUMNS: &str = "t.id, t.role, t.name, t.upt, t.revoked_at, t.kanwil";

/// A token as stored (without its hash).
struct TokenRow {
    id: String,
    role: String,
    name: String,
    upt: Option<String>,
    revoked_at: Option<String>,
    kanwil: Option<String>,
}

impl TokenRow {
    /// The [`TOKEN_COLUMNS`] of a row, from column `at` on.
    fn read(r: &SqlRow<'_>, at: usize) -> rusqlite::Result<TokenRow> {
        Ok(TokenRow {
            id: r.get(at)?,
            role: r.get(at + 1)?,
            name: r.get(at + 2)?,
            upt: r.get(at + 3)?,
            revoked_at: r.get(at + 4)?,
            kanwil: r.get(at + 5)?,
        })
    }

    /// Who the token stands for; `None` for a role this release does not know.
    fn principal(self) -> Option<Principal> {
        Some(Principal {
            role: Role::parse(&self.role, self.upt)?,
            token_id: self.id,
            name: self.name,
            kanwil: self.kanwil,
        })
    }
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn issue_token(
    conn: &mut Sql<'_>,
    role: &Role,
    name: &str,
    kanwil: Option<&str>,
) -> Result<(String, String)> {
    let id = hex::encode(rand::random::<[u8; 6]>());
    let secret = hex::encode(rand::random::<[u8; 24]>());
    let token = format!("karya_{id}_{secret}");
    let upt = match role {
        Role::Agent { upt } => Some(upt.as_str()),
        _ => None,
    };
    conn.execute(
        "INSERT INTO tokens (id, hash, role, name, upt, created_at, kanwil) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![id, token_hash(&token), role.name(), name, upt, karya_shared::model::now_rfc3339(), kanwil],
    )?;
    Ok((id, token))
}

/// Which part of the change log to show.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub upt: Option<String>,
    /// UTC, `YYYY-MM-DDTHH:MM:SS` (see [`crate::audit::parse_since`]).
    pub since: Option<String>,
    /// The `seq` of the last entry already shown (0: from the start).
    pub after: i64,
    pub limit: usize,
}

/// One change the hub stored.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    /// When the hub stored it (UTC).
    pub at: String,
    pub doc: String,
    /// The UPT the document belongs to (`""` for `national`).
    pub upt: String,
    /// The change's hash, as Automerge names it.
    pub hash: String,
    /// `UPT/agent-peer` for a change an agent sent, `local` for the hub's own.
    pub peer: String,
    /// The id of the token it came with (`""` for a command run at the hub).
    pub token: String,
    pub token_name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// The `seq` to pass as `after` for the next page; `None` on the last one.
    pub next: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UptRow {
    pub code: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub kanwil: String,
    pub last_sync_at: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_agent_version: Option<String>,
    /// No successful sync within the configured window (or never).
    pub stale: bool,
    /// Refused attempts with a token of this UPT's agent (revoked, or a wrong secret).
    pub token_failures: i64,
    pub last_token_failure_at: Option<String>,
    pub products: i64,
    pub sales: i64,
    pub trainings: i64,
    pub participants: i64,
}

/// The time `hours` ago, written as the hub writes times (RFC 3339, UTC).
fn hours_ago(hours: i64) -> String {
    let t = time::OffsetDateTime::now_utc() - time::Duration::hours(hours);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn upt_rows(conn: &mut Sql<'_>, stale_after_hours: i64) -> Result<Vec<UptRow>> {
    let sql = "SELECT u.code, u.name, u.type, u.kanwil, s.last_sync_at, s.last_attempt_at, s.last_agent_version,
           CASE WHEN s.last_sync_at IS NULL OR s.last_sync_at < ?1 THEN 1 ELSE 0 END,
           COALESCE(f.count, 0), f.last_at
         FROM upts u LEFT JOIN upt_status s ON s.upt = u.code
           LEFT JOIN token_failures f ON f.upt = u.code
         ORDER BY u.kanwil, u.code";
    conn.query_map(sql, [hours_ago(stale_after_hours)], |r| {
        Ok(UptRow {
            code: r.get(0)?,
            name: r.get(1)?,
            kind: r.get(2)?,
            kanwil: r.get(3)?,
            last_sync_at: r.get(4)?,
            last_attempt_at: r.get(5)?,
            last_agent_version: r.get(6)?,
            stale: r.get(7)?,
            products: 0,
            sales: 0,
            trainings: 0,
            participants: 0,
            token_failures: r.get(8)?,
            last_token_failure_at: r.get(9)?,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, HubDb) {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            db: dir.path().join("hub.db"),
            ..Config::default()
        };
        let db = HubDb::open(&config, Create::IfMissing).unwrap();
        (dir, db)
    }

    /// A hub restored from a backup must not write again under sequence numbers its lost
    /// changes used: each start writes under an actor of its own.
    #[test]
    fn kept_figures_follow_every_change_stored_also_by_another_process() {
        let (dir, db) = db();
        let upt = |code: &str, kanwil: &str| karya_shared::model::UptInfo {
            code: code.into(),
            name: code.into(),
            kind: karya_shared::model::UptType::Lapas,
            kanwil: kanwil.into(),
        };
        db.register_upts(&[upt("LAPAS-A", "Bali")], false).unwrap();
        let kanwils = |db: &HubDb| -> Vec<String> {
            db.stats()
                .unwrap()
                .per_kanwil
                .into_iter()
                .map(|k| k.kanwil)
                .collect()
        };
        assert_eq!(kanwils(&db), ["Bali"]);
        assert_eq!(kanwils(&db), ["Bali"], "read again: kept");
        // Another hub process on the same database registers a UPT.
        let other = HubDb::open(
            &Config {
                db: dir.path().join("hub.db"),
                ..Config::default()
            },
            Create::No,
        )
        .unwrap();
        other
            .register_upts(&[upt("LAPAS-B", "Jawa Timur")], false)
            .unwrap();
        assert_eq!(kanwils(&db), ["Bali", "Jawa Timur"], "computed again");
        let codes: Vec<String> = db
            .upt_rows(24)
            .unwrap()
            .into_iter()
            .map(|u| u.code)
            .collect();
        assert_eq!(codes, ["LAPAS-A", "LAPAS-B"]);

        // Products arrive in one UPT, then another: the kept figures are brought up to date
        // for the UPT that changed, and agree with figures computed from nothing.
        let product = |name: &str, category: &str| {
            let now = karya_shared::model::now_rfc3339();
            karya_shared::model::Product {
                id: karya_shared::model::new_id().into(),
                name: name.into(),
                category: category.into(),
                description: String::new(),
                price_idr: 10_000,
                unit: "pcs".into(),
                stock: 3,
                workshop: String::new(),
                certifications: vec![],
                photos: vec![],
                nominated: false,
                created_at: now.clone(),
                updated_at: now,
                deleted: false,
            }
        };
        let add = |code: &str, name: &str, category: &str| {
            let p = product(name, category);
            other
                .replica()
                .change(&karya_shared::DocId::Upt(code.into()), |d| {
                    karya_shared::schema::insert_product(d, &p)
                })
                .unwrap();
        };
        let fresh = || {
            HubDb::open(
                &Config {
                    db: dir.path().join("hub.db"),
                    ..Config::default()
                },
                Create::No,
            )
            .unwrap()
        };
        add("LAPAS-A", "Tikar", "kerajinan");
        assert_eq!(db.stats().unwrap().national.products, 1);
        assert_eq!(
            db.products_per_category(None).unwrap(),
            [("kerajinan".to_string(), 1)]
        );
        add("LAPAS-B", "Keripik", "makanan");
        add("LAPAS-B", "Kursi", "kerajinan");
        let stats = db.stats().unwrap();
        assert_eq!(stats, fresh().stats().unwrap());
        assert_eq!(stats.national.products, 3);
        assert_eq!(
            db.products_per_category(None).unwrap(),
            [("kerajinan".to_string(), 2), ("makanan".to_string(), 1)]
        );
        assert_eq!(
            db.products_per_category(Some("Jawa Timur")).unwrap(),
            [("kerajinan".to_string(), 1), ("makanan".to_string(), 1)]
        );
        let rows = db.upt_rows(24).unwrap();
        assert_eq!((rows[0].products, rows[1].products), (1, 2));
    }

    #[test]
    fn every_start_writes_under_a_new_actor() {
        let (dir, db) = db();
        let upt = |code: &str| karya_shared::model::UptInfo {
            code: code.into(),
            name: code.into(),
            kind: karya_shared::model::UptType::Lapas,
            kanwil: "Bali".into(),
        };
        db.register_upts(&[upt("LAPAS-A")], false).unwrap();
        let first = db.replica().actor().clone();
        drop(db);
        let config = Config {
            db: dir.path().join("hub.db"),
            ..Config::default()
        };
        let db = HubDb::open(&config, Create::No).unwrap();
        assert_ne!(db.replica().actor(), &first);
        db.register_upts(&[upt("LAPAS-B")], false).unwrap();
        let actors: std::collections::HashSet<automerge::ActorId> = db
            .replica()
            .with_doc(&karya_shared::DocId::National, |d| {
                d.get_changes(&[])
                    .iter()
                    .map(|c| c.actor_id().clone())
                    .collect()
            })
            .unwrap();
        assert!(actors.contains(&first) && actors.contains(db.replica().actor()));
    }

    #[test]
    fn issue_verify_revoke() {
        let (_dir, db) = db();
        let (id, token) = db
            .issue_token(&Role::Curator, "Subdit Kegiatan Kerja")
            .unwrap();
        let p = db.verify_token(&token).unwrap().unwrap();
        assert_eq!(p.role, Role::Curator);
        let mut forged = token.clone();
        forged.pop();
        forged.push('x');
        assert_eq!(
            db.verify_token(&forged).unwrap().unwrap_err(),
            Rejection::Mismatch {
                token_id: id.clone(),
                upt: None
            },
            "a wrong secret is told apart from an unknown id (for the count per UPT), not to the caller"
        );
        assert_eq!(
            db.verify_token("nonsense").unwrap().unwrap_err(),
            Rejection::Malformed
        );
        assert!(db.revoke_token(&id).unwrap());
        assert!(matches!(
            db.verify_token(&token).unwrap(),
            Err(Rejection::Revoked { .. })
        ));
        let stored: String = db
            .read(|c| c.query_row("SELECT hash FROM tokens", params![], |r| r.get(0)))
            .unwrap();
        assert!(
            !stored.contains(&token[20..]),
            "the token itself is never stored"
        );
    }

    #[test]
    fn serve_does_not_create_a_missing_database() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            db: dir.path().join("elsewhere.db"),
            ..Config::default()
        };
        let err = HubDb::open(&config, Create::No).unwrap_err();
        assert!(err.to_string().contains("--create"), "{err}");
        assert!(!config.db.exists(), "nothing was created");
    }
}
