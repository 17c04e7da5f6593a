//! One way to run a query on either engine: the hub's own tables and the views over the
//! materialized tables are written once, in the SQL both SQLite and PostgreSQL speak, and run
//! on whichever the store is.
//!
//! Statements are written with SQLite's placeholders (`?1`, or `?` in order) and rusqlite's
//! parameters (`params![…]`); on PostgreSQL the placeholders become `$1…` and each parameter is
//! passed as the value SQLite would have stored (integers to integer columns, text to text
//! columns). Rows are read as rusqlite reads them (`r.get(0)?`, `r.get("name")?`), on
//! PostgreSQL from the value the column holds. Where the dialects differ (a function only one
//! has), the caller asks [`Sql::is_pg`] and writes each.

use super::StoreError;
#[cfg(feature = "postgres")]
use super::pg_conn::PgConn;
#[cfg(feature = "postgres")]
use bytes::BytesMut;
use rusqlite::types::{FromSql, Value};
#[cfg(feature = "postgres")]
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::borrow::Cow;
#[cfg(feature = "postgres")]
use tokio_postgres::types::{IsNull, Kind, ToSql, Type, to_sql_checked};

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A connection of either engine.
pub enum Sql<'a> {
    Lite(&'a rusqlite::Connection),
    #[cfg(feature = "postgres")]
    Pg(&'a mut PgConn),
}

impl std::fmt::Debug for Sql<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_pg() { "Sql::Pg" } else { "Sql::Lite" })
    }
}

/// Parameters, as rusqlite takes them: `params![…]`, or an array of one type (`[a, b]`).
pub trait Params {
    fn values(&self) -> Vec<&dyn rusqlite::ToSql>;
}

impl Params for &[&dyn rusqlite::ToSql] {
    fn values(&self) -> Vec<&dyn rusqlite::ToSql> {
        self.to_vec()
    }
}

impl<T: rusqlite::ToSql, const N: usize> Params for [T; N] {
    fn values(&self) -> Vec<&dyn rusqlite::ToSql> {
        self.iter().map(|v| v as &dyn rusqlite::ToSql).collect()
    }
}

impl Params for Vec<&dyn rusqlite::ToSql> {
    fn values(&self) -> Vec<&dyn rusqlite::ToSql> {
        self.clone()
    }
}

/// One row of a result, read like a rusqlite row.
pub enum SqlRow<'r> {
    Lite(&'r rusqlite::Row<'r>),
    #[cfg(feature = "postgres")]
    Pg(&'r tokio_postgres::Row),
}

/// A column by position or by name.
pub trait ColumnIndex: Copy + std::fmt::Display {
    fn position(self, row: &SqlRow<'_>) -> rusqlite::Result<usize>;
}

impl ColumnIndex for usize {
    fn position(self, row: &SqlRow<'_>) -> rusqlite::Result<usize> {
        let n = match row {
            SqlRow::Lite(r) => r.as_ref().column_count(),
            #[cfg(feature = "postgres")]
            SqlRow::Pg(r) => r.len(),
        };
        if self < n {
            Ok(self)
        } else {
            Err(rusqlite::Error::InvalidColumnIndex(self))
        }
    }
}

impl ColumnIndex for &str {
    fn position(self, row: &SqlRow<'_>) -> rusqlite::Result<usize> {
        match row {
            SqlRow::Lite(r) => r.as_ref().column_index(self),
            #[cfg(feature = "postgres")]
            SqlRow::Pg(r) => r
                .columns()
                .iter()
                .position(|c| c.name() == self)
                .ok_or_else(|| rusqlite::Error::InvalidColumnName(self.to_string())),
        }
    }
}

impl SqlRow<'_> {
    /// Column `idx` as `T` (what rusqlite's `Row::get` gives).
    pub fn get<I: ColumnIndex, T: FromSql>(&self, idx: I) -> rusqlite::Result<T> {
        let i = idx.position(self)?;
        match self {
            SqlRow::Lite(r) => r.get(i),
            #[cfg(feature = "postgres")]
            SqlRow::Pg(_) => {
                let value = self.value(i)?;
                T::column_result(ValueRef::from(&value)).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        i,
                        value.data_type(),
                        format!("column {idx}: {e}").into(),
                    )
                })
            }
        }
    }

    /// Column `i` as the value SQLite would hold: integers (and booleans, as 0 or 1), floats,
    /// text, bytes, NULL.
    pub fn value(&self, i: usize) -> rusqlite::Result<Value> {
        match self {
            SqlRow::Lite(r) => r.get(i),
            #[cfg(feature = "postgres")]
            SqlRow::Pg(r) => pg_value(r, i).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    i,
                    rusqlite::types::Type::Null,
                    format!("column {i}: {e}").into(),
                )
            }),
        }
    }
}

/// Reads column `i` of a PostgreSQL row as a SQLite value.
#[cfg(feature = "postgres")]
fn pg_value(r: &tokio_postgres::Row, i: usize) -> std::result::Result<Value, String> {
    let ty = r.columns()[i].type_().clone();
    let e = |e: tokio_postgres::Error| e.to_string();
    Ok(match ty {
        Type::INT8 => r
            .try_get::<_, Option<i64>>(i)
            .map_err(e)?
            .map(Value::Integer),
        Type::INT4 => r
            .try_get::<_, Option<i32>>(i)
            .map_err(e)?
            .map(|n| Value::Integer(n.into())),
        Type::INT2 => r
            .try_get::<_, Option<i16>>(i)
            .map_err(e)?
            .map(|n| Value::Integer(n.into())),
        Type::BOOL => r
            .try_get::<_, Option<bool>>(i)
            .map_err(e)?
            .map(|b| Value::Integer(b.into())),
        Type::FLOAT8 => r.try_get::<_, Option<f64>>(i).map_err(e)?.map(Value::Real),
        Type::FLOAT4 => r
            .try_get::<_, Option<f32>>(i)
            .map_err(e)?
            .map(|f| Value::Real(f.into())),
        Type::NUMERIC => r.try_get::<_, Option<Numeric>>(i).map_err(e)?.map(|n| n.0),
        Type::BYTEA => r
            .try_get::<_, Option<Vec<u8>>>(i)
            .map_err(e)?
            .map(Value::Blob),
        _ => r
            .try_get::<_, Option<String>>(i)
            .map_err(e)?
            .map(Value::Text),
    }
    .unwrap_or(Value::Null))
}

/// A `NUMERIC` (what PostgreSQL's `SUM` of integers gives) as a SQLite value: an integer when
/// it is whole (saturated to 64 bits), else a float.
#[cfg(feature = "postgres")]
struct Numeric(Value);

#[cfg(feature = "postgres")]
impl<'a> tokio_postgres::types::FromSql<'a> for Numeric {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        // Binary form: digit count, weight (of the first base-10000 digit), sign, scale,
        // then the digits.
        let word = |at: usize| -> std::result::Result<u16, String> {
            raw.get(at..at + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .ok_or_else(|| "a short NUMERIC".to_string())
        };
        let ndigits = word(0)? as usize;
        let weight = word(2)? as i16 as i32;
        let sign = word(4)?;
        if sign == 0xC000 {
            return Ok(Numeric(Value::Null)); // NaN
        }
        let mut total: i128 = 0;
        let mut fraction = 0f64;
        for k in 0..ndigits {
            let digit = i128::from(word(8 + 2 * k)?);
            let power = weight - k as i32;
            if power >= 0 {
                let place = 10_000i128.saturating_pow(power as u32);
                total = total.saturating_add(digit.saturating_mul(place));
            } else {
                fraction += digit as f64 * 10_000f64.powi(power);
            }
        }
        let negative = sign == 0x4000;
        let value = if fraction == 0.0 {
            let t = if negative { -total } else { total };
            Value::Integer(t.clamp(i64::MIN.into(), i64::MAX.into()) as i64)
        } else {
            let f = total as f64 + fraction;
            Value::Real(if negative { -f } else { f })
        };
        Ok(Numeric(value))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

/// A parameter as SQLite would take it, passed to PostgreSQL as the column's type asks
/// (an integer to `BIGINT`, `INTEGER` or `BOOLEAN`, text to `TEXT`), NULL to any.
#[cfg(feature = "postgres")]
#[derive(Debug)]
struct PgArg(Value);

#[cfg(feature = "postgres")]
impl ToSql for PgArg {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match (&self.0, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Integer(n), &Type::INT8) => n.to_sql(ty, out),
            (Value::Integer(n), &Type::INT4) => i32::try_from(*n)?.to_sql(ty, out),
            (Value::Integer(n), &Type::INT2) => i16::try_from(*n)?.to_sql(ty, out),
            (Value::Integer(n), &Type::BOOL) => (*n != 0).to_sql(ty, out),
            (Value::Integer(n), &Type::FLOAT8) => (*n as f64).to_sql(ty, out),
            (Value::Integer(n), &Type::NUMERIC) => {
                // Text form is not accepted in binary mode: send it as a float8-free integer
                // NUMERIC (base-10000 digits).
                numeric_of(*n, out)
            }
            (Value::Integer(n), _) => n.to_string().to_sql(&Type::TEXT, out),
            (Value::Real(f), &Type::FLOAT4) => (*f as f32).to_sql(ty, out),
            (Value::Real(f), _) => f.to_sql(&Type::FLOAT8, out),
            (Value::Text(t), &Type::INT8) => t.parse::<i64>()?.to_sql(ty, out),
            (Value::Text(t), &Type::JSONB) => {
                // Binary jsonb: a version byte, then the text.
                out.extend_from_slice(&[1]);
                out.extend_from_slice(t.as_bytes());
                Ok(IsNull::No)
            }
            (Value::Text(t), _) => t.as_str().to_sql(&Type::TEXT, out),
            (Value::Blob(b), _) => b.as_slice().to_sql(&Type::BYTEA, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        !matches!(ty.kind(), Kind::Array(_) | Kind::Composite(_))
    }

    to_sql_checked!();
}

/// Writes `n` in NUMERIC's binary form.
#[cfg(feature = "postgres")]
fn numeric_of(
    n: i64,
    out: &mut BytesMut,
) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
    let mut digits = Vec::new();
    let mut rest = i128::from(n).unsigned_abs();
    while rest > 0 {
        digits.push((rest % 10_000) as u16);
        rest /= 10_000;
    }
    digits.reverse();
    let weight = digits.len() as i16 - 1;
    for w in [
        digits.len() as u16,
        weight.max(0) as u16,
        if n < 0 { 0x4000 } else { 0 },
        0,
    ] {
        out.extend_from_slice(&w.to_be_bytes());
    }
    for d in digits {
        out.extend_from_slice(&d.to_be_bytes());
    }
    Ok(IsNull::No)
}

/// A statement with SQLite's placeholders (`?1`, `?`) written with PostgreSQL's (`$1`),
/// string literals left alone.
pub fn pg_placeholders(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut in_string = false;
    let mut next = 0;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_string = !in_string;
                out.push(c);
            }
            '?' if !in_string => {
                let mut number = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    number.push(*d);
                    chars.next();
                }
                if number.is_empty() {
                    next += 1;
                    number = next.to_string();
                }
                out.push('$');
                out.push_str(&number);
            }
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(feature = "postgres")]
fn pg_args(params: &impl Params) -> Result<Vec<PgArg>> {
    params
        .values()
        .into_iter()
        .map(|p| {
            let v = p.to_sql()?;
            Ok(PgArg(match v {
                ToSqlOutput::Borrowed(r) => r.into(),
                ToSqlOutput::Owned(v) => v,
                other => Value::Text(format!("{other:?}")),
            }))
        })
        .collect()
}

impl Sql<'_> {
    pub fn is_pg(&self) -> bool {
        match self {
            Sql::Lite(_) => false,
            #[cfg(feature = "postgres")]
            Sql::Pg(_) => true,
        }
    }

    /// Every row `sql` gives, each read by `f`.
    pub fn query_map<T>(
        &mut self,
        sql: &str,
        params: impl Params,
        mut f: impl FnMut(&SqlRow<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        match self {
            Sql::Lite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(params.values()))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(f(&SqlRow::Lite(r))?);
                }
                Ok(out)
            }
            #[cfg(feature = "postgres")]
            Sql::Pg(c) => {
                let args = pg_args(&params)?;
                let refs: Vec<&(dyn ToSql + Sync)> =
                    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
                let rows = c.query(&pg_placeholders(sql), &refs)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.push(f(&SqlRow::Pg(r))?);
                }
                Ok(out)
            }
        }
    }

    /// The first row `sql` gives, read by `f`; `None` when it gives none.
    pub fn query_opt<T>(
        &mut self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&SqlRow<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        let mut f = Some(f);
        let mut first = self.query_map(sql, params, |r| match f.take() {
            Some(f) => f(r).map(Some),
            None => Ok(None),
        })?;
        Ok(if first.is_empty() {
            None
        } else {
            first.swap_remove(0)
        })
    }

    /// The one row `sql` gives, read by `f` (an error when there is none).
    pub fn query_row<T>(
        &mut self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&SqlRow<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, params, f)?
            .ok_or(StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute(&mut self, sql: &str, params: impl Params) -> Result<usize> {
        match self {
            Sql::Lite(c) => Ok(c
                .prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(params.values()))?),
            #[cfg(feature = "postgres")]
            Sql::Pg(c) => {
                let args = pg_args(&params)?;
                let refs: Vec<&(dyn ToSql + Sync)> =
                    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
                Ok(c.execute(&pg_placeholders(sql), &refs)? as usize)
            }
        }
    }

    /// Runs statements without parameters.
    pub fn batch(&mut self, sql: &str) -> Result<()> {
        match self {
            Sql::Lite(c) => Ok(c.execute_batch(sql)?),
            #[cfg(feature = "postgres")]
            Sql::Pg(c) => c.batch(sql),
        }
    }
}

/// A row of either engine is read by column name like rusqlite's (see [`Columns`]).
impl crate::record::Columns for SqlRow<'_> {
    fn field<T: crate::record::FieldValue>(&self, name: &str) -> rusqlite::Result<T> {
        let idx = name.position(self)?;
        let value = self.value(idx)?;
        T::from_sql(rusqlite::types::ValueRef::from(&value))
            .map_err(|e| crate::record::field_error(idx, name, e))
    }
}

#[cfg(test)]
mod tests {
    use super::pg_placeholders;

    #[test]
    fn placeholders_become_numbered_outside_literals() {
        assert_eq!(
            pg_placeholders("SELECT a FROM t WHERE b = ?1 AND c = '?' AND d = ?2"),
            "SELECT a FROM t WHERE b = $1 AND c = '?' AND d = $2"
        );
        assert_eq!(
            pg_placeholders("WHERE a = ? AND b IN (?, ?)"),
            "WHERE a = $1 AND b IN ($2, $3)"
        );
        assert_eq!(pg_placeholders("SELECT 1"), "SELECT 1");
    }
}
