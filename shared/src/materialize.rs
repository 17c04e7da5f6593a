//! What the tables of current records (products, sales, trainings, participants, curation, UPT
//! registry, categories, and any registered kind) must say about one record, read off a
//! document.
//!
//! This module only reads documents and says what a row must become ([`RowOp`]); how a row is
//! written is the storage backend's business (SQL dialect stays in the backend), so the same
//! replica logic can sit over SQLite or another engine. Nothing here names a kind: each
//! [`Kind`] of the registry ([`crate::kinds`]) says its table, key and rules.

use crate::kinds::RecordKey;
use crate::record::ValidationError;
use crate::record::kind::{Catalogue, Home, Kind, Row, text};
use crate::schema::DocId;
use automerge::AutoCommit;
use rusqlite::types::{ToSqlOutput, Value};

pub use crate::record::kind::RowWrite;

/// One record's row, as it must be after a change.
#[derive(Debug)]
pub struct RowOp {
    pub key: RecordKey,
    /// The UPT whose document holds it (`None` in `national`).
    pub upt: Option<String>,
    pub row: RowState,
}

#[derive(Debug)]
pub enum RowState {
    /// The row with the record's current fields.
    Row(Box<dyn Row>),
    /// The record is gone: so is its row.
    Gone,
    /// A record whose fields do not hold the record model's types (a date that is not a
    /// date): a hub refuses the change that made it; a row already stored stays as it was.
    Invalid(ValidationError),
}

impl RowOp {
    pub fn kind(&self) -> &'static Kind {
        self.key.kind
    }

    /// The record as its kind's type, when the row is there and of kind `T`.
    pub fn record<T: 'static>(&self) -> Option<&T> {
        match &self.row {
            RowState::Row(row) => row.as_any().downcast_ref(),
            _ => None,
        }
    }
}

fn home_of(id: &DocId) -> Home {
    match id {
        DocId::Upt(_) => Home::Upt,
        DocId::Curation(_) => Home::Curation,
        DocId::National => Home::National,
    }
}

/// The row of one record as the document now has it. Records that do not belong to this kind
/// of document (an agent cannot put a UPT registry entry into its own document) give `None`
/// and are never materialized.
pub fn row_op(id: &DocId, doc: &AutoCommit, key: &RecordKey) -> Option<RowOp> {
    if key.kind.home != home_of(id) {
        return None;
    }
    let row = match key.kind.read(doc, &key.parts()) {
        Some(Ok(row)) => RowState::Row(row),
        Some(Err(error)) => RowState::Invalid(error),
        None => RowState::Gone,
    };
    Some(RowOp {
        key: key.clone(),
        upt: id.upt().map(str::to_string),
        row,
    })
}

/// The rows of the given records.
pub fn row_ops<'a>(
    id: &DocId,
    doc: &AutoCommit,
    keys: impl IntoIterator<Item = &'a RecordKey>,
) -> Vec<RowOp> {
    keys.into_iter()
        .filter_map(|k| row_op(id, doc, k))
        .collect()
}

/// Checks a row a peer's change produced against the record model, for a hub that merges what
/// agents send: `catalogue` holds the categories in force (needed only where the kind
/// [`uses_catalogue`](Kind::uses_catalogue)). Rows that go away are always fine.
pub fn check_row(op: &RowOp, catalogue: &Catalogue) -> Result<(), ValidationError> {
    match &op.row {
        RowState::Gone => Ok(()),
        RowState::Invalid(error) => Err(error.clone()),
        RowState::Row(row) => {
            // Ids name files, URLs and export rows at the hub: a safe alphabet and length
            // only. (The first part of a UPT's record key is its id; a participant's
            // pseudonym has a check of its own.)
            if op.key.kind.home != Home::National {
                crate::model::validate_record_id(op.key.parts()[0])?;
            }
            row.check(catalogue)
        }
    }
}

/// The record a row belongs to, for a message to people (`product 3f2a...`).
pub fn describe(op: &RowOp) -> String {
    op.key.kind.what.replace("{}", op.key.parts()[0])
}

/// Each materialized table's primary key: every kind's table and its children's.
pub fn table_keys() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for kind in crate::kinds::all() {
        if !out.iter().any(|(t, _)| *t == kind.table) {
            out.push((kind.table, kind.table_key()));
        }
        for child in kind.children {
            if !out.iter().any(|(t, _)| *t == child.table) {
                out.push((child.table, child.key.to_vec()));
            }
        }
    }
    out
}

/// The primary key of materialized table `table`.
pub fn table_key(table: &str) -> Vec<&'static str> {
    table_keys()
        .into_iter()
        .find(|(t, _)| *t == table)
        .map(|(_, k)| k)
        .expect("a materialized table")
}

/// The tables holding the rows of a document, and the column naming the document's UPT
/// (`None`: every row of those tables is the document's).
pub fn doc_tables(id: &DocId) -> (Vec<&'static str>, Option<&str>) {
    let home = home_of(id);
    let mut tables: Vec<&'static str> = Vec::new();
    for kind in crate::kinds::all().into_iter().filter(|k| k.home == home) {
        for table in std::iter::once(kind.table).chain(kind.children.iter().map(|c| c.table)) {
            if !tables.contains(&table) {
                tables.push(table);
            }
        }
    }
    (tables, id.upt())
}

/// What a row operation writes, in order: the record's child rows go, then its row is
/// written (with its children) or deleted.
pub fn row_writes(op: &RowOp) -> Vec<RowWrite<'_>> {
    let kind = op.key.kind;
    let parts = op.key.parts();
    let upt = op.upt.as_deref();
    let mut out = Vec::new();
    if matches!(op.row, RowState::Invalid(_)) {
        // Refused by a hub before it is stored; an agent keeps the row it had.
        return out;
    }
    for child in kind.children {
        let mut key = Vec::new();
        key.extend(upt.map(|u| ("upt", u)));
        key.push((child.by, parts[0]));
        out.push(RowWrite::Delete {
            table: child.table,
            key,
        });
    }
    match &op.row {
        RowState::Row(row) => {
            let mut columns: Vec<(&'static str, ToSqlOutput<'_>)> = Vec::new();
            columns.extend(upt.map(|u| ("upt", text(u))));
            columns.extend(kind.fixed.iter().map(|(c, v)| (*c, text(v))));
            columns.extend(row.columns());
            if kind.keeps_conflicts {
                columns.push((
                    "conflicts",
                    ToSqlOutput::Owned(Value::Text(
                        serde_json::to_string(row.conflicts()).unwrap_or_default(),
                    )),
                ));
            }
            out.push(RowWrite::Replace {
                table: kind.table,
                columns,
            });
            if let Some(upt) = upt {
                row.child_rows(upt, &mut out);
            }
        }
        _ => {
            let mut key = Vec::new();
            key.extend(upt.map(|u| ("upt", u)));
            key.extend(kind.fixed.iter().copied());
            key.extend(kind.key_columns.iter().copied().zip(parts.iter().copied()));
            out.push(RowWrite::Delete {
                table: kind.table,
                key,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::{ObjType, ROOT, transaction::Transactable};

    /// A peer's change whose sale holds a date that is not a date, or a quantity that is
    /// text, is refused with the field named, not stored as an empty date or a zero.
    #[test]
    fn a_field_that_does_not_hold_its_type_is_refused_by_name() {
        let sale = |date: &str, quantity: automerge::ScalarValue| {
            let mut doc = AutoCommit::new();
            let obj = doc.put_object(ROOT, "sale:s1", ObjType::Map).unwrap();
            doc.put(&obj, "product_id", "p1").unwrap();
            doc.put(&obj, "date", date).unwrap();
            doc.put(&obj, "quantity", quantity).unwrap();
            doc.put(&obj, "revenue_idr", 25_000).unwrap();
            doc.put(&obj, "channel", "toko").unwrap();
            doc.put(&obj, "created_at", "2026-12-02T00:00:00Z").unwrap();
            let op = row_op(
                &DocId::Upt("LAPAS-A".into()),
                &doc,
                &RecordKey::parse("sale:s1").unwrap(),
            )
            .unwrap();
            (check_row(&op, &Catalogue::default()), op)
        };
        let (ok, op) = sale("2026-12-01", 2.into());
        assert!(ok.is_ok(), "{ok:?}");
        let s = op.record::<crate::model::Sale>().expect("a sale's row");
        assert_eq!(s.date, time::macros::date!(2026 - 12 - 01));
        assert_eq!(s.channel, crate::model::SaleChannel::Toko);

        let (err, op) = sale("kemarin", 2.into());
        let err = err.unwrap_err();
        assert_eq!(err.field, "date");
        assert!(err.reason.contains("bukan tanggal"), "{err}");
        assert_eq!(describe(&op), "sale s1");

        let err = sale("2026-12-01", "dua".into()).0.unwrap_err();
        assert_eq!(err.field, "quantity");
    }
}
