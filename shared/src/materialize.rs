//! What the tables of current records (products, sales, trainings, participants, curation, UPT
//! registry, categories) must say about one record, read off a document.
//!
//! This module only reads documents and says what a row must become ([`RowOp`]); how a row is
//! written is the storage backend's business (SQL dialect stays in the backend), so the same
//! replica logic can sit over SQLite or another engine.

use crate::model::{
    Conflicts, CurationDecision, Participant, Product, Sale, Training, UptInfo, ValidationError,
};
use crate::schema::{self, DocId, RecordKey};
use automerge::AutoCommit;

/// One record's row, as it must be after a change: `row: None` means the row goes.
#[derive(Debug, Clone, PartialEq)]
pub enum RowOp {
    Product {
        upt: String,
        id: String,
        row: Option<(Product, Conflicts)>,
    },
    Sale {
        upt: String,
        id: String,
        row: Option<Sale>,
    },
    Training {
        upt: String,
        id: String,
        row: Option<(Training, Conflicts)>,
    },
    Participant {
        upt: String,
        training_id: String,
        pseudonym: String,
        row: Option<Participant>,
    },
    Decision {
        upt: String,
        product_id: String,
        row: Option<CurationDecision>,
    },
    Upt {
        code: String,
        row: Option<UptInfo>,
    },
    Category {
        /// `product` or `training`.
        kind: &'static str,
        slug: String,
        name: Option<String>,
    },
    /// A record whose fields do not hold the record model's types (a date that is not a date):
    /// a hub refuses the change that made it; a row already stored stays as it was.
    Invalid {
        what: String,
        error: ValidationError,
    },
}

/// A record read off a document as its row: `Invalid` when a field does not hold its type.
fn typed<T>(
    read: Option<Result<T, ValidationError>>,
    what: impl FnOnce() -> String,
    op: impl FnOnce(Option<T>) -> RowOp,
) -> RowOp {
    match read {
        Some(Err(error)) => RowOp::Invalid {
            what: what(),
            error,
        },
        Some(Ok(row)) => op(Some(row)),
        None => op(None),
    }
}

/// The row of one record as the document now has it. Records that do not belong to this kind
/// of document (an agent cannot put a UPT registry entry into its own document) give `None`
/// and are never materialized.
pub fn row_op(id: &DocId, doc: &AutoCommit, key: &RecordKey) -> Option<RowOp> {
    Some(match (id, key) {
        (DocId::Upt(upt), RecordKey::Product(pid)) => typed(
            Product::read(doc, pid),
            || format!("product {pid}"),
            |row| RowOp::Product {
                upt: upt.clone(),
                id: pid.clone(),
                row,
            },
        ),
        (DocId::Upt(upt), RecordKey::Sale(sid)) => typed(
            Sale::read(doc, sid),
            || format!("sale {sid}"),
            |row| RowOp::Sale {
                upt: upt.clone(),
                id: sid.clone(),
                row: row.map(|(s, _)| s),
            },
        ),
        (DocId::Upt(upt), RecordKey::Training(tid)) => typed(
            Training::read(doc, tid),
            || format!("training {tid}"),
            |row| RowOp::Training {
                upt: upt.clone(),
                id: tid.clone(),
                row,
            },
        ),
        (
            DocId::Upt(upt),
            RecordKey::Participant {
                training_id,
                pseudonym,
            },
        ) => typed(
            schema::read_participant_checked(doc, training_id, pseudonym),
            || format!("a participant of training {training_id}"),
            |row| RowOp::Participant {
                upt: upt.clone(),
                training_id: training_id.clone(),
                pseudonym: pseudonym.clone(),
                row,
            },
        ),
        (DocId::Curation(upt), RecordKey::Decision(pid)) => typed(
            CurationDecision::read(doc, pid),
            || format!("the decision on product {pid}"),
            |row| RowOp::Decision {
                upt: upt.clone(),
                product_id: pid.clone(),
                row: row.map(|(d, _)| d),
            },
        ),
        (DocId::National, RecordKey::Upt(code)) => typed(
            UptInfo::read(doc, code),
            || format!("UPT {code}"),
            |row| RowOp::Upt {
                code: code.clone(),
                row: row.map(|(u, _)| u),
            },
        ),
        (DocId::National, RecordKey::Category(slug) | RecordKey::TrainingCategory(slug)) => {
            RowOp::Category {
                kind: if matches!(key, RecordKey::Category(_)) {
                    "product"
                } else {
                    "training"
                },
                slug: slug.clone(),
                name: schema::read_category(doc, key),
            }
        }
        _ => return None,
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
/// agents send: `categories` and `training_categories` are the catalogue in force. Rows that
/// go away (`None`) are always fine.
pub fn check_row(
    op: &RowOp,
    categories: &[&str],
    training_categories: &[&str],
) -> Result<(), crate::model::ValidationError> {
    match op {
        RowOp::Product {
            row: Some((p, _)), ..
        } => p.validate_stored(categories),
        RowOp::Sale { row: Some(s), .. } => s.validate(),
        RowOp::Training {
            row: Some((t, _)), ..
        } => t.validate(training_categories),
        RowOp::Participant { row: Some(p), .. } => p.validate(),
        RowOp::Decision { row: Some(d), .. } => d.validate(),
        RowOp::Upt { row: Some(u), .. } => u.validate(),
        RowOp::Invalid { error, .. } => Err(error.clone()),
        _ => Ok(()),
    }
}

/// The record a row belongs to, for a message to people (`product 3f2a...`).
pub fn describe(op: &RowOp) -> String {
    match op {
        RowOp::Product { id, .. } => format!("product {id}"),
        RowOp::Sale { id, .. } => format!("sale {id}"),
        RowOp::Training { id, .. } => format!("training {id}"),
        RowOp::Participant { training_id, .. } => {
            format!("a participant of training {training_id}")
        }
        RowOp::Decision { product_id, .. } => format!("the decision on product {product_id}"),
        RowOp::Upt { code, .. } => format!("UPT {code}"),
        RowOp::Category { slug, .. } => format!("category {slug}"),
        RowOp::Invalid { what, .. } => what.clone(),
    }
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
                &RecordKey::Sale("s1".into()),
            )
            .unwrap();
            (check_row(&op, &[], &[]), op)
        };
        let (ok, op) = sale("2026-12-01", 2.into());
        assert!(ok.is_ok(), "{ok:?}");
        let RowOp::Sale { row: Some(s), .. } = op else {
            panic!("{op:?}")
        };
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
