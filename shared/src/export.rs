//! Any kind's rows as a spreadsheet table, from its declaration: the columns are the row's
//! key (the UPT, then the kind's key) and the declared fields, in declaration order.

use crate::record::kind::Kind;
use crate::sql::Sql;
use crate::store::StoreError;
use rusqlite::types::Value;

/// The header of a kind's table: its key columns, then its fields.
pub fn columns(kind: &Kind) -> Vec<&'static str> {
    let mut columns = kind.table_key();
    columns.extend(kind.fields);
    columns
}

/// Every row of `kind` (those of one UPT, if given), ordered by key, each cell as text: whole
/// numbers in digits, yes/no as 1/0, lists as their JSON, nothing as an empty cell.
pub fn rows(
    sql: &mut Sql<'_>,
    kind: &Kind,
    upt: Option<&str>,
) -> Result<Vec<Vec<String>>, StoreError> {
    let columns = columns(kind);
    let key = kind.table_key();
    let mut filter: Vec<String> = kind
        .fixed
        .iter()
        .map(|(c, v)| format!("{c} = '{}'", v.replace('\'', "''")))
        .collect();
    if upt.is_some() {
        filter.push("upt = ?1".into());
    }
    let query = format!(
        "SELECT {} FROM {}{} ORDER BY {}",
        columns.join(", "),
        kind.table,
        if filter.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", filter.join(" AND "))
        },
        key.join(", "),
    );
    let read = |r: &crate::sql::SqlRow<'_>| {
        (0..columns.len())
            .map(|i| {
                Ok(match r.value(i)? {
                    Value::Null => String::new(),
                    Value::Integer(n) => n.to_string(),
                    Value::Real(x) => x.to_string(),
                    Value::Text(t) => t,
                    Value::Blob(b) => format!("{} bytes", b.len()),
                })
            })
            .collect::<rusqlite::Result<Vec<String>>>()
    };
    match upt {
        Some(upt) => sql.query_map(&query, [upt], read),
        None => sql.query_map(&query, [] as [&str; 0], read),
    }
}

/// The rows of [`rows`] as CSV (a header line first), as a spreadsheet opens it.
pub fn csv(sql: &mut Sql<'_>, kind: &Kind, upt: Option<&str>) -> Result<String, StoreError> {
    let rows = rows(sql, kind, upt)?;
    // Writing into memory: the writer's only errors are I/O errors, which a Vec never has.
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(columns(kind)).expect("csv into memory");
    for row in rows {
        w.write_record(&row).expect("csv into memory");
    }
    let bytes = w.into_inner().expect("csv into memory");
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
