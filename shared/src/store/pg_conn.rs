//! Connections to PostgreSQL: a small pool opened on demand (a connection found broken is
//! dropped and the next use opens a new one), TLS as the address asks, statements sent as
//! one pipeline, and values passed as SQLite would have stored them.

use super::Result;
use futures_executor::block_on;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};
use tokio_postgres_rustls_improved::MakeRustlsConnect;

/// A connection with the statements it has prepared (each prepared once per connection).
pub struct PgConn {
    pub(super) client: Client,
    pub(super) prepared: HashMap<String, Statement>,
    pub(super) in_transaction: bool,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConn").finish_non_exhaustive()
    }
}

/// A statement's parameters.
pub type Params<'a> = [&'a (dyn ToSql + Sync)];

impl PgConn {
    pub(super) fn statement(
        &mut self,
        sql: &str,
    ) -> std::result::Result<Statement, tokio_postgres::Error> {
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
}

/// Whether an error says the connection is gone (closed, reset, or ended by a server that
/// stopped or restarted), so that nothing more can happen on it.
pub(super) fn lost(e: &tokio_postgres::Error) -> bool {
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

/// Connections opened on demand, at most `max`, reused; a caller waits when all are in use.
/// Each connection's socket is driven by a task on `runtime`, the store's own: callers wait
/// for answers with a plain executor, so they may be threads of any kind (an async task of
/// the server's runtime too, as with SQLite).
pub(super) struct Pool {
    pub(super) runtime: tokio::runtime::Handle,
    pub(super) config: tokio_postgres::Config,
    /// TLS to the server (`sslmode` in the address), or none.
    pub(super) tls: Option<MakeRustlsConnect>,
    pub(super) idle: Mutex<(Vec<PgConn>, usize)>,
    pub(super) returned: Condvar,
    pub(super) max: usize,
}

impl Pool {
    pub(super) fn take(&self) -> Result<PgConn> {
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
    pub(super) fn connect(&self) -> std::result::Result<Client, tokio_postgres::Error> {
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

    pub(super) fn give_back(&self, mut conn: PgConn) {
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
pub(super) struct Held<'a>(pub(super) &'a Pool, pub(super) Option<PgConn>);

impl Held<'_> {
    pub(super) fn conn(&mut self) -> &mut PgConn {
        self.1.as_mut().expect("held until drop")
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.1.take() {
            self.0.give_back(conn);
        }
    }
}

/// A statement of a pipeline: its text and its parameters.
pub(super) struct Piped<'a> {
    pub(super) sql: String,
    pub(super) values: Vec<PgValue<'a>>,
}

impl<'a> Piped<'a> {
    pub(super) fn new(sql: impl Into<String>, values: Vec<PgValue<'a>>) -> Self {
        Piped {
            sql: sql.into(),
            values,
        }
    }

    pub(super) fn delete_row(table: &str, key: &'a [(&'a str, &'a str)]) -> Self {
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
    pub(super) fn put_row(
        table: &str,
        columns: &'a [(&'a str, ToSqlOutput<'a>)],
        replace: bool,
    ) -> Self {
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        let marks: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        Piped::new(
            format!(
                "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT {}",
                names.join(", "),
                marks.join(", "),
                on_conflict(table, &names, replace),
            ),
            columns.iter().map(|(_, v)| PgValue::of(v)).collect(),
        )
    }

    /// The statements that write records' rows (or delete them), as
    /// [`crate::materialize::row_writes`] says; `writes` holds what that returned.
    pub(super) fn rows(
        writes: &'a [crate::materialize::RowWrite<'a>],
    ) -> impl Iterator<Item = Self> + 'a {
        use crate::materialize::RowWrite;
        writes.iter().map(|write| match write {
            RowWrite::Replace { table, columns } => Piped::put_row(table, columns, true),
            RowWrite::Add { table, columns } => Piped::put_row(table, columns, false),
            RowWrite::Delete { table, key } => Piped::delete_row(table, key),
        })
    }
}

/// What a row written to `table` with the columns `names` does when its key is there: it
/// replaces the row's other columns (`replace`), or nothing happens.
pub(super) fn on_conflict(table: &str, names: &[&str], replace: bool) -> String {
    let key = crate::materialize::table_key(table);
    let updates: Vec<String> = names
        .iter()
        .filter(|n| !key.contains(n))
        .map(|n| format!("{n} = EXCLUDED.{n}"))
        .collect();
    if replace && !updates.is_empty() {
        format!("({}) DO UPDATE SET {}", key.join(", "), updates.join(", "))
    } else {
        "DO NOTHING".to_string()
    }
}

/// A record's column value (the record model speaks SQLite's value types) as a PostgreSQL
/// parameter: integers are `BIGINT`, text is `TEXT`; or a column of values of many rows, as
/// an array of one type.
pub(super) enum PgValue<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Owned(String),
    Blob(&'a [u8]),
    Ints(Vec<Option<i64>>),
    Reals(Vec<Option<f64>>),
    Texts(Vec<Option<&'a str>>),
    Blobs(Vec<Option<&'a [u8]>>),
}

impl<'a> PgValue<'a> {
    /// An array (this empty one) with `n` NULLs in it.
    pub(super) fn with_nulls(mut self, n: usize) -> Self {
        match &mut self {
            PgValue::Ints(v) => v.extend(std::iter::repeat_n(None, n)),
            PgValue::Reals(v) => v.extend(std::iter::repeat_n(None, n)),
            PgValue::Texts(v) => v.extend(std::iter::repeat_n(None, n)),
            PgValue::Blobs(v) => v.extend(std::iter::repeat_n(None, n)),
            _ => {}
        }
        self
    }

    pub(super) fn of(v: &'a ToSqlOutput<'_>) -> PgValue<'a> {
        let from_ref = |r: ValueRef<'a>| match r {
            ValueRef::Null => PgValue::Null,
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
            ToSqlOutput::Owned(Value::Null) => PgValue::Null,
            ToSqlOutput::Owned(Value::Integer(i)) => PgValue::Int(*i),
            ToSqlOutput::Owned(Value::Real(f)) => PgValue::Real(*f),
            ToSqlOutput::Owned(Value::Text(t)) => PgValue::Text(t),
            ToSqlOutput::Owned(Value::Blob(b)) => PgValue::Blob(b),
            other => PgValue::Owned(format!("{other:?}")),
        }
    }

    pub(super) fn param(&self) -> &(dyn ToSql + Sync) {
        match self {
            PgValue::Null => &AnyNull,
            PgValue::Int(i) => i,
            PgValue::Real(f) => f,
            PgValue::Text(t) => t,
            PgValue::Owned(s) => s,
            PgValue::Blob(b) => b,
            PgValue::Ints(v) => v,
            PgValue::Reals(v) => v,
            PgValue::Texts(v) => v,
            PgValue::Blobs(v) => v,
        }
    }
}

/// SQL NULL for a column of any type. (`None::<i64>` is refused by a text column: an optional
/// field left empty, NULL in its row, would have failed every write on PostgreSQL.)
#[derive(Debug, Clone, Copy)]
pub(super) struct AnyNull;

impl ToSql for AnyNull {
    fn to_sql(
        &self,
        _: &tokio_postgres::types::Type,
        _: &mut bytes::BytesMut,
    ) -> std::result::Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        Ok(tokio_postgres::types::IsNull::Yes)
    }

    fn accepts(_: &tokio_postgres::types::Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// Connects with `tls`, and serves the connection's socket on a task of the current runtime.
pub(super) async fn connect_with<T>(
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
pub(super) fn describe_server(config: &tokio_postgres::Config) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::types::{IsNull, Type};

    #[test]
    fn a_null_goes_into_a_column_of_any_type() {
        let mut out = bytes::BytesMut::new();
        for ty in [Type::TEXT, Type::INT8, Type::BYTEA, Type::FLOAT8] {
            let null = PgValue::of(&ToSqlOutput::Owned(Value::Null));
            let written = null.param().to_sql_checked(&ty, &mut out);
            assert!(
                matches!(written, Ok(IsNull::Yes)),
                "{ty}: {:?}",
                written.err()
            );
        }
    }
}
