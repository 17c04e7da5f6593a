//! `karya-hub migrate --from FILE --to postgres://…`: moves a SQLite hub into an empty
//! PostgreSQL database, whole and in one transaction: documents and their chunks (same
//! sequence numbers), every agent's sync state, the hub's vouch key, the materialized tables,
//! tokens, statuses, refusals, decisions, sessions and the change log. Agents notice nothing:
//! the heads they share with the hub, their tokens and their next sync (one round trip) are
//! the same. The SQLite file is only read.

use crate::db::{PG_SCHEMA, SCHEMA};
use karya_shared::sql::Sql;
use karya_shared::store::{PgBackend, StoreError};
use rusqlite::types::Value;
use serde::Serialize;
use std::path::Path;

/// What a migration copied, per table.
#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    pub tables: Vec<(String, i64)>,
}

/// The tables moved, in an order that needs no deferred checks; each with its sequence column
/// (carried on from the SQLite file's numbers), if any.
const TABLES: &[(&str, Option<&str>)] = &[
    ("meta", None),
    ("docs", None),
    ("chunks", Some("seq")),
    ("sync_states", None),
    ("products", None),
    ("product_photos", None),
    ("sales", None),
    ("trainings", None),
    ("participants", None),
    ("curation", None),
    ("upts", None),
    ("categories", None),
    ("change_log", Some("seq")),
    ("tokens", None),
    ("upt_status", None),
    ("refusal_counts", None),
    ("token_failures", None),
    ("curation_log", Some("id")),
    ("sessions", None),
];

/// Rows per INSERT statement.
const BATCH: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("there is no hub database at {0}; pass --from with the SQLite file to move")]
    NoSource(std::path::PathBuf),
    #[error(
        "{0} needs its schema brought up to this version first: start this version of karya-hub on it once (or see `karya-hub migrate --check`), then migrate"
    )]
    SourceBehind(std::path::PathBuf),
    #[error("--to must be a PostgreSQL address (postgres://USER:PASSWORD@HOST:PORT/DATABASE)")]
    NotPostgres,
    #[error(
        "the PostgreSQL database {0} already holds a hub ({1} documents, {2} tokens): migrate only into an empty database (createdb a new one); nothing was copied"
    )]
    NotEmpty(String, i64, i64),
    #[error("{0}; nothing was copied (the PostgreSQL database is as it was)")]
    Store(#[from] StoreError),
    #[error("reading {0}: {1}")]
    Source(std::path::PathBuf, rusqlite::Error),
}

/// Copies the SQLite hub at `from` into the empty PostgreSQL database at `to`.
pub fn sqlite_to_postgres(from: &Path, to: &str) -> Result<Moved, MigrateError> {
    if !karya_shared::store::is_postgres_url(to) {
        return Err(MigrateError::NotPostgres);
    }
    if !from.is_file() {
        return Err(MigrateError::NoSource(from.to_path_buf()));
    }
    let states = karya_shared::store::sqlite::inspect(from, SCHEMA)?;
    if states.iter().any(|s| !s.pending.is_empty() || s.too_new()) {
        return Err(MigrateError::SourceBehind(from.to_path_buf()));
    }
    let source = rusqlite::Connection::open_with_flags(
        from,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| MigrateError::Source(from.to_path_buf(), e))?;
    // One read transaction: a consistent copy even if a hub still writes the file.
    source
        .execute_batch("BEGIN")
        .map_err(|e| MigrateError::Source(from.to_path_buf(), e))?;
    let target = PgBackend::open(to, Some(PG_SCHEMA), 2)?;
    let server = target.server().to_string();
    let moved = target.transaction(|pg| {
        let (docs, tokens): (i64, i64) = {
            let r = pg.query_one(
                "SELECT (SELECT COUNT(*) FROM docs), (SELECT COUNT(*) FROM tokens)",
                &[],
            )?;
            (r.get(0), r.get(1))
        };
        if docs > 0 || tokens > 0 {
            return Err(StoreError::Config(
                MigrateError::NotEmpty(server.clone(), docs, tokens).to_string(),
            ));
        }
        // The new database's own rows (its seeding marker, its actor) give way to the hub's.
        pg.batch("DELETE FROM meta")?;
        let mut tables = Vec::new();
        for (table, sequence) in TABLES {
            let n = copy_table(&source, pg, table)?;
            if let Some(column) = sequence {
                // The next number continues after the hub's last.
                pg.execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', '{column}'),
                                       GREATEST((SELECT MAX({column}) FROM {table}), 1))"
                    ),
                    &[],
                )?;
            }
            tables.push((table.to_string(), n));
        }
        Ok(Moved { tables })
    });
    match moved {
        Err(StoreError::Config(message)) if message.contains("already holds a hub") => {
            Err(MigrateError::Store(StoreError::Config(
                message.trim_end_matches("; nothing was copied").to_string(),
            )))
        }
        other => Ok(other?),
    }
}

/// Copies every row of `table`, columns by name; returns how many. The SQLite hub's own
/// schema counter in `meta` stays behind (PostgreSQL keeps its own).
fn copy_table(
    source: &rusqlite::Connection,
    pg: &mut karya_shared::store::postgres::PgConn,
    table: &str,
) -> Result<i64, StoreError> {
    let columns: Vec<String> = source
        .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let list = columns.join(", ");
    let mut stmt = source.prepare(&format!("SELECT {list} FROM {table}"))?;
    let mut rows = stmt.query([])?;
    let mut batch: Vec<Value> = Vec::new();
    let mut count = 0i64;
    let mut pg = Sql::Pg(pg);
    let flush = |batch: &mut Vec<Value>, pg: &mut Sql<'_>| -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let n = batch.len() / columns.len();
        let groups: Vec<String> = (0..n)
            .map(|r| {
                let marks: Vec<String> = (0..columns.len())
                    .map(|c| format!("?{}", r * columns.len() + c + 1))
                    .collect();
                format!("({})", marks.join(", "))
            })
            .collect();
        let params: Vec<&dyn rusqlite::ToSql> =
            batch.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
        pg.execute(
            &format!("INSERT INTO {table} ({list}) VALUES {}", groups.join(", ")),
            params,
        )?;
        batch.clear();
        Ok(())
    };
    while let Some(row) = rows.next()? {
        if table == "meta" {
            let key: String = row.get(0)?;
            if key.ends_with("_schema") {
                continue;
            }
        }
        for i in 0..columns.len() {
            batch.push(row.get::<_, Value>(i)?);
        }
        count += 1;
        if (count as usize).is_multiple_of(BATCH) {
            flush(&mut batch, &mut pg)?;
        }
    }
    flush(&mut batch, &mut pg)?;
    Ok(count)
}
