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
    // Ids name files, URLs and export rows at the hub: a safe alphabet and length only.
    let ids: &[&String] = match op {
        RowOp::Product {
            id, row: Some(_), ..
        }
        | RowOp::Sale {
            id, row: Some(_), ..
        }
        | RowOp::Training {
            id, row: Some(_), ..
        } => &[id],
        // (A pseudonym has a check of its own: 64 hex digits.)
        RowOp::Participant {
            training_id,
            row: Some(_),
            ..
        } => &[training_id],
        RowOp::Decision {
            product_id,
            row: Some(_),
            ..
        } => &[product_id],
        _ => &[],
    };
    for id in ids {
        crate::model::validate_record_id(id)?;
    }
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

/// One statement a [`RowOp`] becomes, whatever the engine: each backend writes it in its own
/// dialect.
#[derive(Debug)]
pub enum RowWrite<'a> {
    /// The row with these columns replaces the one with its key.
    Replace {
        table: &'static str,
        columns: Vec<(&'static str, ToSqlOutput<'a>)>,
    },
    /// The row is added unless one with its key is there.
    Add {
        table: &'static str,
        columns: Vec<(&'static str, ToSqlOutput<'a>)>,
    },
    /// The rows with these key columns go.
    Delete {
        table: &'static str,
        key: Vec<(&'static str, &'a str)>,
    },
}

use rusqlite::types::{ToSqlOutput, Value, ValueRef};

/// Each materialized table's primary key.
pub const TABLE_KEYS: &[(&str, &[&str])] = &[
    ("products", &["upt", "id"]),
    ("product_photos", &["upt", "product_id", "hash"]),
    ("sales", &["upt", "id"]),
    ("trainings", &["upt", "id"]),
    ("participants", &["upt", "training_id", "pseudonym"]),
    ("curation", &["upt", "product_id"]),
    ("upts", &["code"]),
    ("categories", &["kind", "slug"]),
];

/// The primary key of materialized table `table`.
pub fn table_key(table: &str) -> &'static [&'static str] {
    TABLE_KEYS
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, k)| *k)
        .expect("a materialized table")
}

/// The tables holding the rows of a document, and the column naming the document's UPT
/// (`None`: every row of those tables is the document's).
pub fn doc_tables(id: &DocId) -> (&'static [&'static str], Option<&str>) {
    match id {
        DocId::Upt(upt) => (
            &[
                "products",
                "product_photos",
                "sales",
                "trainings",
                "participants",
            ],
            Some(upt),
        ),
        DocId::Curation(upt) => (&["curation"], Some(upt)),
        DocId::National => (&["upts", "categories"], None),
    }
}

fn text(s: &str) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
}

/// A record's row with the UPT it belongs to (and its conflicts, where the table keeps them).
fn upt_row<'a>(
    upt: &'a str,
    mut columns: Vec<(&'static str, ToSqlOutput<'a>)>,
    conflicts: Option<&Conflicts>,
) -> Vec<(&'static str, ToSqlOutput<'a>)> {
    columns.insert(0, ("upt", text(upt)));
    if let Some(c) = conflicts {
        columns.push((
            "conflicts",
            ToSqlOutput::Owned(Value::Text(serde_json::to_string(c).unwrap_or_default())),
        ));
    }
    columns
}

/// What a row operation writes, in order.
pub fn row_writes(op: &RowOp) -> Vec<RowWrite<'_>> {
    let replace = |table, columns| RowWrite::Replace { table, columns };
    let delete = |table, key| RowWrite::Delete { table, key };
    match op {
        RowOp::Product { upt, id, row } => {
            let mut out = vec![delete(
                "product_photos",
                vec![("upt", upt.as_str()), ("product_id", id.as_str())],
            )];
            match row {
                Some((p, conflicts)) => {
                    out.push(replace(
                        "products",
                        upt_row(upt, p.columns(), Some(conflicts)),
                    ));
                    if !p.deleted {
                        for photo in &p.photos {
                            for (hash, size, thumb) in [
                                (&photo.thumb, photo.thumb_size, 1),
                                (&photo.hash, photo.size, 0),
                            ] {
                                out.push(RowWrite::Add {
                                    table: "product_photos",
                                    columns: vec![
                                        ("upt", text(upt)),
                                        ("product_id", text(id)),
                                        ("hash", text(hash)),
                                        ("size", ToSqlOutput::Owned(Value::Integer(size as i64))),
                                        ("thumb", ToSqlOutput::Owned(Value::Integer(thumb))),
                                    ],
                                });
                            }
                        }
                    }
                }
                None => out.push(delete("products", vec![("upt", upt), ("id", id)])),
            }
            out
        }
        RowOp::Sale { upt, id, row } => vec![match row {
            Some(s) => replace("sales", upt_row(upt, s.columns(), None)),
            None => delete("sales", vec![("upt", upt), ("id", id)]),
        }],
        RowOp::Training { upt, id, row } => vec![match row {
            Some((t, conflicts)) => {
                replace("trainings", upt_row(upt, t.columns(), Some(conflicts)))
            }
            None => delete("trainings", vec![("upt", upt), ("id", id)]),
        }],
        RowOp::Participant {
            upt,
            training_id,
            pseudonym,
            row,
        } => vec![match row {
            Some(p) => replace("participants", upt_row(upt, p.columns(), None)),
            None => delete(
                "participants",
                vec![
                    ("upt", upt),
                    ("training_id", training_id),
                    ("pseudonym", pseudonym),
                ],
            ),
        }],
        RowOp::Decision {
            upt,
            product_id,
            row,
        } => vec![match row {
            Some(d) => replace("curation", upt_row(upt, d.columns(), None)),
            None => delete("curation", vec![("upt", upt), ("product_id", product_id)]),
        }],
        RowOp::Upt { code, row } => vec![match row {
            Some(u) => replace("upts", u.columns()),
            None => delete("upts", vec![("code", code)]),
        }],
        RowOp::Category { kind, slug, name } => vec![match name {
            Some(name) => replace(
                "categories",
                vec![
                    ("kind", text(kind)),
                    ("slug", text(slug)),
                    ("name", text(name)),
                ],
            ),
            None => delete("categories", vec![("kind", kind), ("slug", slug)]),
        }],
        // Refused by a hub before it is stored; an agent keeps the row it had.
        RowOp::Invalid { .. } => Vec::new(),
    }
}
