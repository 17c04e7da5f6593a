//! The hub's storage: the replica (documents and the national tables materialized from them)
//! and the hub's own tables beside it (tokens, per-UPT sync status, refusals).
//!
//! This module is the only place in the hub that touches a database connection: handlers and
//! commands call the functions here, so the SQL dialect stays in one place (with the store's
//! backend) when a second engine comes.

mod audit;
mod catalogue;
mod figures;
mod photos;
mod schema;
mod sessions;
mod tokens;
mod upts;

pub use audit::{AuditEntry, AuditPage, AuditQuery};
use catalogue::Catalogue;
use figures::Figures;
pub use figures::{CategoryCompletion, ProductSales};
pub use schema::{PG_SCHEMA, SCHEMA};
pub use sessions::{MAX_SESSIONS, SessionLimits};
pub use upts::{RefusalRow, RegisterError, UptRow};

use crate::config::Config;
use karya_shared::sql::Sql;
use karya_shared::store::{AnyBackend, AnyStore, StoreError};
use karya_shared::vouch::HeadsKey;
use rusqlite::params;

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

/// The meta key of the hub's vouch key (see [`karya_shared::vouch`]).
const HEADS_KEY: &str = "hub_heads_key";
/// Set while the hub is being rebuilt from the agents (the time it began); `rebuild finish`
/// removes it.
const REBUILD_SINCE: &str = "rebuild_since";
/// Set when a rebuild began without the lost hub's key: "waiting" until HQ adopts the
/// registry the agents agree on, then the adopted heads (see `crate::rebuild`).
pub const REBUILD_AGREEMENT: &str = "rebuild_agreement";

/// How a new hub database is rebuilt from the agents.
#[derive(Clone, Copy)]
enum Rebuild<'a> {
    /// With the lost hub's vouch key: its registry and decisions are taken back as its own.
    WithKey(&'a HeadsKey),
    /// Without it: a key of its own; the registry the agents agree on, once HQ adopts it.
    ByAgreement,
}

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
        Self::open_with(config, create, None)
    }

    /// Makes a new, empty hub database to be rebuilt from the agents (`karya-hub rebuild
    /// start`): its vouch key is the one HQ exported from the lost hub (`keys export`), so
    /// the agents' copies of `national` and `curation/*` are taken back as the lost hub's
    /// own; the registry is not seeded anew (it comes from the agents); rebuild mode is on.
    /// Without the key (`None`), the new hub makes a key of its own and takes the registry
    /// only once HQ adopts one the agents agree on (see `crate::rebuild`).
    pub fn open_for_rebuild(
        config: &Config,
        heads_key: Option<&HeadsKey>,
    ) -> Result<HubDb, OpenError> {
        let rebuild = match heads_key {
            Some(key) => Rebuild::WithKey(key),
            None => Rebuild::ByAgreement,
        };
        Self::open_with(config, Create::IfMissing, Some(rebuild))
    }

    fn open_with(
        config: &Config,
        create: Create,
        rebuild: Option<Rebuild<'_>>,
    ) -> Result<HubDb, OpenError> {
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
        let made = match rebuild {
            Some(Rebuild::WithKey(key)) => key.clone(),
            _ => HeadsKey::generate(),
        }
        .to_hex();
        let heads_key = karya_shared::store::Backend::meta_init(store.backend(), HEADS_KEY, &made)
            .map_err(|e| OpenError::Key(e.to_string()))?;
        if rebuild.is_some() && heads_key != made {
            return Err(OpenError::Key(
                "this database already has a hub's key: a rebuild starts on a new, empty database (another --db)".into(),
            ));
        }
        let heads_key = HeadsKey::from_hex(&heads_key)
            .ok_or_else(|| OpenError::Key(format!("meta.{HEADS_KEY} is not a 32-byte hex key")))?;
        let db = HubDb {
            store,
            path: config.db.clone(),
            heads_key,
            figures: Figures::default(),
        };
        if rebuild.is_some() {
            let now = karya_shared::model::now_rfc3339();
            // The registry and its categories come back from the agents, not from a seed
            // that would stand beside them.
            db.store.set_meta("national_seeded", &now)?;
            if db.store.meta(REBUILD_SINCE)?.is_none() {
                db.store.set_meta(REBUILD_SINCE, &now)?;
            }
            if matches!(rebuild, Some(Rebuild::ByAgreement)) {
                karya_shared::store::Backend::meta_init(
                    db.store.backend(),
                    REBUILD_AGREEMENT,
                    "waiting",
                )?;
            }
        }
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

    /// When the rebuild from the agents began, while it goes on.
    pub fn rebuilding_since(&self) -> Result<Option<String>> {
        Ok(self.store.meta(REBUILD_SINCE)?.filter(|v| !v.is_empty()))
    }

    /// Leaves rebuild mode (`karya-hub rebuild finish`): agents' keys the registry does not
    /// list are refused from now on.
    pub fn finish_rebuild(&self) -> Result<()> {
        self.store.set_meta(REBUILD_SINCE, "")?;
        Ok(())
    }

    /// The replica: documents, sync, local changes (curation decisions, the UPT registry).
    pub fn replica(&self) -> &AnyStore {
        &self.store
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
}

#[cfg(test)]
mod tests;
