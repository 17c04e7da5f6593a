//! A commit's row writes on PostgreSQL in as few statements as its tables need: the rows of
//! one table and shape go in one statement whose values are arrays (`unnest`), not one
//! statement per row. The server's work per statement (binding, planning the cached plan,
//! starting and ending the executor) was most of its CPU during a national bootstrap: 1,000
//! records of a UPT were 2,000 statements, now a handful.
//!
//! What the statements do equals what the row-by-row statements of
//! [`Piped::rows`] do in their order. The batched form runs every delete first, then every
//! write; that is the same only when no delete takes a row an earlier write of the same
//! commit put, and no two writes put one key. Both are checked, and a commit where either
//! fails (none that the record model makes, but the check costs little) is written row by
//! row.

use super::pg_conn::{PgValue, Piped, on_conflict};
use crate::materialize::RowWrite;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use std::collections::{HashMap, HashSet};

/// The columns and values of a row to put.
type Columns<'a> = [(&'static str, ToSqlOutput<'a>)];
/// The key columns and values of rows to delete.
type Key<'a> = [(&'static str, &'a str)];

/// The statements writing `writes`: one per table and shape where rows share them (see the
/// module's documentation), row by row where the batched form could differ.
pub(super) fn row_statements<'a>(writes: &'a [RowWrite<'a>]) -> Vec<Piped<'a>> {
    if writes.len() < 2 || !reorderable(writes) {
        return Piped::rows(writes).collect();
    }
    // Groups in the order of their first row.
    let mut deletes: Vec<(&'static str, Vec<&'static str>, Vec<&'a Key<'a>>)> = Vec::new();
    let mut puts: Vec<(&'static str, Vec<&'static str>, bool, Vec<&'a Columns<'a>>)> = Vec::new();
    for write in writes {
        match write {
            RowWrite::Delete { table, key } => {
                let names: Vec<&'static str> = key.iter().map(|(c, _)| *c).collect();
                match deletes
                    .iter_mut()
                    .find(|(t, n, _)| t == table && *n == names)
                {
                    Some((_, _, keys)) => keys.push(key),
                    None => deletes.push((table, names, vec![key])),
                }
            }
            RowWrite::Replace { table, columns } | RowWrite::Add { table, columns } => {
                let replace = matches!(write, RowWrite::Replace { .. });
                let names: Vec<&'static str> = columns.iter().map(|(c, _)| *c).collect();
                match puts
                    .iter_mut()
                    .find(|(t, n, r, _)| t == table && *n == names && *r == replace)
                {
                    Some((_, _, _, rows)) => rows.push(columns),
                    None => puts.push((table, names, replace, vec![columns])),
                }
            }
        }
    }
    let mut out = Vec::new();
    for (table, names, keys) in &deletes {
        delete_statements(table, names, keys, &mut out);
    }
    for (table, names, replace, rows) in &puts {
        put_statements(table, names, *replace, rows, &mut out);
    }
    out
}

/// A value of a key column as bytes (keys are text; anything else: none).
fn key_bytes<'a>(v: &'a ToSqlOutput<'a>) -> Option<&'a [u8]> {
    match v {
        ToSqlOutput::Borrowed(ValueRef::Text(t)) => Some(t),
        ToSqlOutput::Owned(Value::Text(t)) => Some(t.as_bytes()),
        _ => None,
    }
}

/// The values of the columns `names` of a row to put, when each is there and is text.
fn project<'a>(columns: &'a Columns<'a>, names: &[&str]) -> Option<Vec<&'a [u8]>> {
    names
        .iter()
        .map(|n| {
            columns
                .iter()
                .find(|(c, _)| c == n)
                .and_then(|(_, v)| key_bytes(v))
        })
        .collect()
}

/// Whether running every delete of `writes` first, then every write, does what running them
/// in their order does: no delete takes a row put before it, no two writes put one key.
fn reorderable<'a>(writes: &'a [RowWrite<'a>]) -> bool {
    // The shapes (key columns) of each table's deletes.
    let mut shapes: HashMap<&str, Vec<Vec<&str>>> = HashMap::new();
    for write in writes {
        if let RowWrite::Delete { table, key } = write {
            let names: Vec<&str> = key.iter().map(|(c, _)| *c).collect();
            let known = shapes.entry(table).or_default();
            if !known.contains(&names) {
                known.push(names);
            }
        }
    }
    let mut table_keys: HashMap<&str, Vec<&str>> = HashMap::new();
    // What deletes would take of the rows put so far, and the keys put so far.
    let mut put_for_deletes: HashSet<(&str, usize, Vec<&[u8]>)> = HashSet::new();
    let mut put_keys: HashSet<(&str, Vec<&[u8]>)> = HashSet::new();
    for write in writes {
        match write {
            RowWrite::Delete { table, key } => {
                let values: Vec<&[u8]> = key.iter().map(|(_, v)| v.as_bytes()).collect();
                let names: Vec<&str> = key.iter().map(|(c, _)| *c).collect();
                let shape = shapes[table]
                    .iter()
                    .position(|s| *s == names)
                    .expect("every delete's shape was listed");
                if put_for_deletes.contains(&(*table, shape, values)) {
                    return false;
                }
            }
            RowWrite::Replace { table, columns } | RowWrite::Add { table, columns } => {
                let key = table_keys
                    .entry(table)
                    .or_insert_with(|| crate::materialize::table_key(table));
                let Some(values) = project(columns, key) else {
                    return false;
                };
                if !put_keys.insert((table, values)) {
                    return false;
                }
                for (i, shape) in shapes.get(table).into_iter().flatten().enumerate() {
                    let Some(values) = project(columns, shape) else {
                        return false;
                    };
                    put_for_deletes.insert((table, i, values));
                }
            }
        }
    }
    true
}

/// Deletes of rows of `table` by the key columns `names`: one statement for all of them.
/// Columns with one value for every row are compared with it; one varying column is
/// matched with `= ANY(array)`, several with a join on `unnest` of their arrays.
fn delete_statements<'a>(
    table: &str,
    names: &[&'static str],
    keys: &[&'a Key<'a>],
    out: &mut Vec<Piped<'a>>,
) {
    if keys.len() < 2 {
        out.extend(keys.iter().map(|key| Piped::delete_row(table, key)));
        return;
    }
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    let mut varying: Vec<(&str, Vec<Option<&'a str>>)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let first = keys[0][i].1;
        if keys.iter().all(|k| k[i].1 == first) {
            values.push(PgValue::Text(first));
            conditions.push(format!("{name} = ${}", values.len()));
        } else {
            varying.push((name, keys.iter().map(|k| Some(k[i].1)).collect()));
        }
    }
    match varying.len() {
        0 => {}
        1 => {
            let (name, column) = varying.pop().expect("one");
            values.push(PgValue::Texts(column));
            conditions.push(format!("{name} = ANY(${}::text[])", values.len()));
        }
        _ => {
            let columns: Vec<&str> = varying.iter().map(|(n, _)| *n).collect();
            let mut arrays = Vec::new();
            for (_, column) in varying {
                values.push(PgValue::Texts(column));
                arrays.push(format!("${}::text[]", values.len()));
            }
            conditions.push(format!(
                "({}) IN (SELECT * FROM unnest({}))",
                columns.join(", "),
                arrays.join(", ")
            ));
        }
    }
    out.push(Piped::new(
        format!("DELETE FROM {table} WHERE {}", conditions.join(" AND ")),
        values,
    ));
}

/// A column's values as one array parameter and its SQL type, or none when its rows do not
/// hold one type (or hold only NULLs, whose column type the statement could not tell).
fn column_array<'a>(rows: &[&'a Columns<'a>], i: usize) -> Option<(PgValue<'a>, &'static str)> {
    let mut array: Option<PgValue<'a>> = None;
    for (n, row) in rows.iter().enumerate() {
        let value = PgValue::of(&row[i].1);
        if matches!(value, PgValue::Null) {
            match &mut array {
                Some(PgValue::Ints(v)) => v.push(None),
                Some(PgValue::Reals(v)) => v.push(None),
                Some(PgValue::Texts(v)) => v.push(None),
                Some(PgValue::Blobs(v)) => v.push(None),
                // Counted when the first value tells the column's type.
                _ => {}
            }
            continue;
        }
        let array = array.get_or_insert_with(|| {
            let empty = match value {
                PgValue::Int(_) => PgValue::Ints(Vec::with_capacity(rows.len())),
                PgValue::Real(_) => PgValue::Reals(Vec::with_capacity(rows.len())),
                PgValue::Blob(_) => PgValue::Blobs(Vec::with_capacity(rows.len())),
                _ => PgValue::Texts(Vec::with_capacity(rows.len())),
            };
            empty.with_nulls(n)
        });
        match (array, value) {
            (PgValue::Ints(v), PgValue::Int(x)) => v.push(Some(x)),
            (PgValue::Reals(v), PgValue::Real(x)) => v.push(Some(x)),
            (PgValue::Texts(v), PgValue::Text(x)) => v.push(Some(x)),
            (PgValue::Blobs(v), PgValue::Blob(x)) => v.push(Some(x)),
            _ => return None,
        }
    }
    let array = array?;
    let sql_type = match array {
        PgValue::Ints(_) => "bigint[]",
        PgValue::Reals(_) => "float8[]",
        PgValue::Blobs(_) => "bytea[]",
        _ => "text[]",
    };
    Some((array, sql_type))
}

/// Rows of `table` with the columns `names`: one `INSERT … SELECT FROM unnest(…)` for all of
/// them, with the conflict clause of [`Piped::put_row`].
fn put_statements<'a>(
    table: &str,
    names: &[&'static str],
    replace: bool,
    rows: &[&'a Columns<'a>],
    out: &mut Vec<Piped<'a>>,
) {
    let one_by_one = |out: &mut Vec<Piped<'a>>| {
        out.extend(rows.iter().map(|row| Piped::put_row(table, row, replace)));
    };
    if rows.len() < 2 {
        return one_by_one(out);
    }
    let mut values = Vec::with_capacity(names.len());
    let mut arrays = Vec::with_capacity(names.len());
    for i in 0..names.len() {
        let Some((array, sql_type)) = column_array(rows, i) else {
            return one_by_one(out);
        };
        values.push(array);
        arrays.push(format!("${}::{sql_type}", values.len()));
    }
    out.push(Piped::new(
        format!(
            "INSERT INTO {table} ({}) SELECT * FROM unnest({}) ON CONFLICT {}",
            names.join(", "),
            arrays.join(", "),
            on_conflict(table, names, replace),
        ),
        values,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::kind::text;

    fn photo_rows<'a>(upt: &'a str, products: &'a [String]) -> Vec<RowWrite<'a>> {
        let mut out = Vec::new();
        for id in products {
            out.push(RowWrite::Delete {
                table: "product_photos",
                key: vec![("upt", upt), ("product_id", id)],
            });
            out.push(RowWrite::Replace {
                table: "product_photos",
                columns: vec![
                    ("upt", text(upt)),
                    ("product_id", text(id)),
                    ("hash", text(id)),
                    ("size", ToSqlOutput::Owned(Value::Integer(7))),
                    ("thumb", ToSqlOutput::Owned(Value::Integer(0))),
                ],
            });
        }
        out
    }

    #[test]
    fn the_rows_of_many_records_go_in_one_statement_per_table_and_kind_of_write() {
        let ids: Vec<String> = (0..1000).map(|i| format!("p{i}")).collect();
        let writes = photo_rows("LAPAS-A", &ids);
        let statements = row_statements(&writes);
        assert_eq!(
            statements.len(),
            2,
            "{:?}",
            statements.iter().map(|s| &s.sql).collect::<Vec<_>>()
        );
        assert_eq!(
            statements[0].sql,
            "DELETE FROM product_photos WHERE upt = $1 AND product_id = ANY($2::text[])"
        );
        assert!(statements[1].sql.starts_with(
            "INSERT INTO product_photos (upt, product_id, hash, size, thumb) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) ON CONFLICT (upt, product_id, hash) DO UPDATE"
        ), "{}", statements[1].sql);
        assert!(matches!(&statements[1].values[3], PgValue::Ints(v) if v.len() == 1000));
    }

    #[test]
    fn a_delete_of_a_row_put_earlier_in_the_commit_keeps_the_order() {
        let ids: Vec<String> = vec!["p1".into(), "p2".into()];
        let mut writes = photo_rows("LAPAS-A", &ids);
        // p1's photos go again after they were put: run first, the delete would not see them.
        writes.push(RowWrite::Delete {
            table: "product_photos",
            key: vec![("upt", "LAPAS-A"), ("product_id", "p1")],
        });
        assert_eq!(row_statements(&writes).len(), writes.len());
    }

    #[test]
    fn one_key_put_twice_keeps_the_order() {
        let ids: Vec<String> = vec!["p1".into(), "p2".into(), "p1".into()];
        let writes = photo_rows("LAPAS-A", &ids);
        assert_eq!(row_statements(&writes).len(), writes.len());
    }

    #[test]
    fn a_column_of_mixed_types_is_written_row_by_row() {
        let ids: Vec<String> = vec!["p1".into(), "p2".into()];
        let mut writes = photo_rows("LAPAS-A", &ids);
        if let RowWrite::Replace { columns, .. } = &mut writes[3] {
            columns[3].1 = text("tujuh");
        }
        let statements = row_statements(&writes);
        // The deletes still go in one statement; the two rows one by one.
        assert_eq!(statements.len(), 3);
        assert!(statements[1].sql.contains("VALUES ($1, $2, $3, $4, $5)"));
    }
}
