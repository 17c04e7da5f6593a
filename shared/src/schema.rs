//! How records are laid out inside the three kinds of Automerge document.
//!
//! Every record is a map at the document's root under a key `<kind>:<id>` (`product:…`,
//! `sale:…`, `training:…`, `participant:<training>:<pseudonym>`, `decision:<product>`,
//! `upt:<code>`, `category:<slug>`, `training_category:<slug>`). Keeping records flat at the
//! root means no replica ever has to create a shared container first, so two replicas that
//! start empty never race to create the same `products` map (Automerge would keep only one of
//! them), and a change to one record names its key directly in the diff, which is how the
//! materialized tables are kept current without re-reading the document.

use crate::kinds::{ProductCategory, TrainingCategory};
use crate::model::*;
pub use crate::record::SchemaError;
use automerge::{AutoCommit, ObjId, ROOT, ReadDoc, Value, transaction::Transactable};
use std::fmt;

/// Which document: the three kinds of DESIGN.md.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocId {
    Upt(String),
    Curation(String),
    National,
}

impl DocId {
    pub fn parse(s: &str) -> Option<DocId> {
        if s == "national" {
            return Some(DocId::National);
        }
        let (kind, code) = s.split_once('/')?;
        validate_upt_code(code).ok()?;
        match kind {
            "upt" => Some(DocId::Upt(code.to_string())),
            "curation" => Some(DocId::Curation(code.to_string())),
            _ => None,
        }
    }

    /// The UPT a document belongs to, if any.
    pub fn upt(&self) -> Option<&str> {
        match self {
            DocId::Upt(c) | DocId::Curation(c) => Some(c),
            DocId::National => None,
        }
    }

    /// The documents an agent of `upt` replicates.
    pub fn for_agent(upt: &str) -> Vec<DocId> {
        vec![
            DocId::Upt(upt.to_string()),
            DocId::Curation(upt.to_string()),
            DocId::National,
        ]
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocId::Upt(c) => write!(f, "upt/{c}"),
            DocId::Curation(c) => write!(f, "curation/{c}"),
            DocId::National => f.write_str("national"),
        }
    }
}

pub use crate::kinds::RecordKey;

// ---------- field access ----------

use crate::record::{Fields, put_if_changed, record_obj};

/// Every value of a record's field that is visible at this replica: the one shown first,
/// then those set concurrently (a conflict), across every map at the record's key. What a
/// replica wrote and nobody overwrote after seeing it is always among them.
pub fn visible_values(doc: &AutoCommit, key: &str, field: &str) -> Vec<serde_json::Value> {
    Fields::read(doc, key)
        .map(|f| {
            f.all(field)
                .iter()
                .map(crate::record::scalar_to_json)
                .collect()
        })
        .unwrap_or_default()
}

// ---------- products ----------

/// A product and its conflicts; `None` when there is none, or when it does not hold the
/// record model's types (which a hub refuses before it is ever stored).
pub fn read_product(doc: &AutoCommit, id: &str) -> Option<(Product, Conflicts)> {
    Product::read(doc, id)?.ok()
}

/// Adds a product. The caller validates it first (`Product::validate`).
pub fn insert_product(doc: &mut AutoCommit, p: &Product) -> Result<(), SchemaError> {
    p.insert_into(doc).map(|_| ())
}

fn product_obj(doc: &AutoCommit, id: &str) -> Result<ObjId, SchemaError> {
    record_obj(doc, &Product::doc_key(id)).ok_or_else(|| SchemaError::NotFound {
        kind: "product",
        id: id.into(),
    })
}

/// Applies an edit field by field; only the fields it names are written.
pub fn edit_product(
    doc: &mut AutoCommit,
    id: &str,
    patch: &ProductPatch,
    now: &str,
) -> Result<(), SchemaError> {
    let obj = product_obj(doc, id)?;
    patch.apply(doc, &obj)?;
    doc.put(&obj, "updated_at", now)?;
    Ok(())
}

pub fn delete_product(doc: &mut AutoCommit, id: &str, now: &str) -> Result<(), SchemaError> {
    let obj = product_obj(doc, id)?;
    put_if_changed(doc, &obj, "deleted", true.into())?;
    doc.put(&obj, "updated_at", now)?;
    Ok(())
}

/// Adds `delta` (may be negative) to the stock counter. Refuses to take stock below zero as
/// this replica sees it; concurrent decrements elsewhere can still add up below zero, which
/// the views show as it is rather than hiding it.
pub fn add_stock(
    doc: &mut AutoCommit,
    id: &str,
    delta: i64,
    now: &str,
) -> Result<i64, SchemaError> {
    move_stock(doc, id, delta, now, false)
}

/// Takes `quantity` from a product's stock for a sale (or gives it back, negative), below
/// zero if need be: whether a sale may take more than the stock is asked before (see the
/// agent's `records::stock_shortfalls`), and two PCs selling the last piece offline end
/// below zero anyway.
pub fn take_stock(
    doc: &mut AutoCommit,
    id: &str,
    quantity: i64,
    now: &str,
) -> Result<i64, SchemaError> {
    move_stock(doc, id, -quantity, now, true)
}

/// The stock counter moved by `delta`; the stock after.
fn move_stock(
    doc: &mut AutoCommit,
    id: &str,
    delta: i64,
    now: &str,
    below_zero: bool,
) -> Result<i64, SchemaError> {
    let obj = product_obj(doc, id)?;
    let current = match doc.get(&obj, "stock")? {
        Some((Value::Scalar(s), _)) => s.as_i64().unwrap_or(0),
        _ => 0,
    };
    if !below_zero && current + delta < 0 {
        return Err(ValidationError::new(
            "stock",
            crate::text::input::not_enough_stock(current, -delta),
        )
        .into());
    }
    doc.increment(&obj, "stock", delta)?;
    doc.put(&obj, "updated_at", now)?;
    Ok(current + delta)
}

// ---------- sales ----------

pub fn read_sale(doc: &AutoCommit, id: &str) -> Option<Sale> {
    Some(Sale::read(doc, id)?.ok()?.0)
}

/// Records a sale (append-only). The product must exist in this document.
pub fn insert_sale(doc: &mut AutoCommit, s: &Sale) -> Result<(), SchemaError> {
    product_obj(doc, &s.product_id)?;
    s.insert_into(doc).map(|_| ())
}

/// Takes back a sale entered by mistake: its record goes from the document (the change
/// stays in history, and the hub's figures drop it at the next sync).
pub fn delete_sale(doc: &mut AutoCommit, id: &str) -> Result<(), SchemaError> {
    let key = Sale::doc_key(id);
    if record_obj(doc, &key).is_none() {
        return Err(SchemaError::NotFound {
            kind: "sale",
            id: id.into(),
        });
    }
    doc.delete(ROOT, key)?;
    Ok(())
}

// ---------- trainings and participants ----------

pub fn read_training(doc: &AutoCommit, id: &str) -> Option<(Training, Conflicts)> {
    Training::read(doc, id)?.ok()
}

pub fn insert_training(doc: &mut AutoCommit, t: &Training) -> Result<(), SchemaError> {
    t.insert_into(doc).map(|_| ())
}

/// A participant as every replica's enrolment of them says (see the kind's
/// [`Stored::read_stored`](crate::record::kind::Stored::read_stored)).
pub fn read_participant_checked(
    doc: &AutoCommit,
    training_id: &str,
    pseudonym: &str,
) -> Option<Result<Participant, ValidationError>> {
    use crate::record::kind::Stored;
    Some(Participant::read_stored(doc, &[training_id, pseudonym])?.map(|(p, _)| p))
}

pub fn read_participant(
    doc: &AutoCommit,
    training_id: &str,
    pseudonym: &str,
) -> Option<Participant> {
    read_participant_checked(doc, training_id, pseudonym)?.ok()
}

/// Enrols a participant (by pseudonym) or updates the enrolment if it exists.
pub fn upsert_participant(doc: &mut AutoCommit, p: &Participant) -> Result<(), SchemaError> {
    if record_obj(doc, &Training::doc_key(&p.training_id)).is_none() {
        return Err(SchemaError::NotFound {
            kind: "training",
            id: p.training_id.to_string(),
        });
    }
    p.upsert_into(doc)
}

/// The UPT nominates a product again (after its Kanwil sent it back): nominated, and its
/// nominations one up, so the Kanwil's queue takes it back (two PCs doing it at once both
/// write the same next number: one nomination again, as it should be).
pub fn renominate(doc: &mut AutoCommit, id: &str, now: &str) -> Result<(), SchemaError> {
    let obj = product_obj(doc, id)?;
    let now_at = match doc.get(&obj, "nominations")? {
        Some((Value::Scalar(s), _)) => s.as_i64().unwrap_or(0),
        _ => 0,
    };
    doc.put(&obj, "nominations", now_at + 1)?;
    doc.put(&obj, "nominated", true)?;
    doc.put(&obj, "updated_at", now)?;
    Ok(())
}

// ---------- curation ----------

pub fn read_decision(doc: &AutoCommit, product_id: &str) -> Option<CurationDecision> {
    Some(CurationDecision::read(doc, product_id)?.ok()?.0)
}

pub fn put_decision(doc: &mut AutoCommit, d: &CurationDecision) -> Result<(), SchemaError> {
    d.upsert_into(doc)?;
    step(
        doc,
        &CurationDecision::doc_key(&d.product_id),
        &d.decided_at,
    )
}

pub fn read_verification(doc: &AutoCommit, product_id: &str) -> Option<Verification> {
    Some(Verification::read(doc, product_id)?.ok()?.0)
}

pub fn put_verification(doc: &mut AutoCommit, v: &Verification) -> Result<(), SchemaError> {
    v.upsert_into(doc)?;
    step(doc, &Verification::doc_key(&v.product_id), &v.decided_at)
}

/// Commits a decision as a change of its own whose message names its record: the product's
/// history is then read from the document (see [`history`]).
fn step(doc: &mut AutoCommit, key: &str, at: &str) -> Result<(), SchemaError> {
    let when = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc().unix_timestamp());
    doc.commit_with(
        automerge::transaction::CommitOptions::default()
            .with_message(key.to_string())
            .with_time(when),
    );
    Ok(())
}

/// One step of a product's curation: a Kanwil's verification or HQ's decision, as it was
/// made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Step {
    Kanwil(Verification),
    Hq(CurationDecision),
}

impl Step {
    pub fn decided_at(&self) -> &str {
        match self {
            Step::Kanwil(v) => &v.decided_at,
            Step::Hq(d) => &d.decided_at,
        }
    }

    /// The deciding token's name.
    pub fn decided_by(&self) -> &str {
        match self {
            Step::Kanwil(v) => &v.decided_by,
            Step::Hq(d) => &d.decided_by,
        }
    }

    pub fn note(&self) -> &str {
        match self {
            Step::Kanwil(v) => &v.note,
            Step::Hq(d) => &d.note,
        }
    }

    /// The name and price decided on (an empty name: a decision made before values were
    /// recorded).
    pub fn approved(&self) -> (&str, i64) {
        match self {
            Step::Kanwil(v) => (&v.approved_name, v.approved_price_idr),
            Step::Hq(d) => (&d.approved_name, d.approved_price_idr),
        }
    }
}

/// Every step of the curation of `product_id`, oldest first, from the curation document's
/// history: each decision is a change of its own (see [`put_decision`]), read as the
/// document stood after it.
pub fn history(doc: &mut AutoCommit, product_id: &str) -> Vec<Step> {
    let hq = CurationDecision::doc_key(product_id);
    let kanwil = Verification::doc_key(product_id);
    let mut out = Vec::new();
    let changes: Vec<(automerge::ChangeHash, bool)> = doc
        .get_changes(&[])
        .into_iter()
        .filter_map(|c| {
            let message = c.message()?;
            (*message == hq || *message == kanwil).then(|| (c.hash(), *message == hq))
        })
        .collect();
    for (hash, is_hq) in changes {
        let Ok(then) = doc.fork_at(&[hash]) else {
            continue;
        };
        let step = if is_hq {
            read_decision(&then, product_id).map(Step::Hq)
        } else {
            read_verification(&then, product_id).map(Step::Kanwil)
        };
        out.extend(step);
    }
    out
}

// ---------- national ----------

pub fn read_upt(doc: &AutoCommit, code: &str) -> Option<UptInfo> {
    Some(UptInfo::read(doc, code)?.ok()?.0)
}

pub fn put_upt(doc: &mut AutoCommit, u: &UptInfo) -> Result<(), SchemaError> {
    u.upsert_into(doc)
}

/// The name people read of the product category (`training`: training category) `slug`.
pub fn read_category(doc: &AutoCommit, slug: &str, training: bool) -> Option<String> {
    if training {
        Some(TrainingCategory::read(doc, slug)?.ok()?.0.name)
    } else {
        Some(ProductCategory::read(doc, slug)?.ok()?.0.name)
    }
}

pub fn put_category(
    doc: &mut AutoCommit,
    slug: &str,
    name: &str,
    training: bool,
) -> Result<(), SchemaError> {
    let (slug, name) = (slug.to_string(), name.to_string());
    if training {
        TrainingCategory { slug, name }.upsert_into(doc)
    } else {
        ProductCategory { slug, name }.upsert_into(doc)
    }
}

/// Seeds a new `national` document with the categories that ship with karya.
pub fn seed_national(doc: &mut AutoCommit) -> Result<(), SchemaError> {
    for (slug, name) in PRODUCT_CATEGORIES {
        put_category(doc, slug, name, false)?;
    }
    for slug in TRAINING_CATEGORIES {
        put_category(doc, slug, slug, true)?;
    }
    Ok(())
}

/// Every record key at the root of a document.
pub fn record_keys(doc: &AutoCommit) -> Vec<RecordKey> {
    doc.keys(ROOT)
        .filter_map(|k| RecordKey::parse(&k))
        .collect()
}

/// The categories in force as (slug, the name people read), for matching what operators
/// type (see [`crate::input::match_choice`]).
pub fn category_choices(national: Option<&AutoCommit>, training: bool) -> Vec<(String, String)> {
    categories(national, training)
        .into_iter()
        .map(|slug| {
            let name = national
                .and_then(|d| read_category(d, &slug, training))
                .or_else(|| {
                    PRODUCT_CATEGORIES
                        .iter()
                        .find(|(s, _)| *s == slug && !training)
                        .map(|(_, n)| n.to_string())
                })
                .unwrap_or_else(|| slug.clone());
            // Training categories ship named by their slugs (`tata-rias`): read as words.
            let name = if name == slug {
                slug_words(&slug)
            } else {
                name
            };
            (slug, name)
        })
        .collect()
}

/// A slug as people read it: `tata-rias` as `Tata rias`.
pub fn slug_words(slug: &str) -> String {
    let spaced = slug.replace(['-', '_'], " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => spaced,
    }
}

/// The product categories a document's catalogue holds (the `national` document), or the
/// built-in list when the national document has not arrived yet.
pub fn categories(national: Option<&AutoCommit>, training: bool) -> Vec<String> {
    let from_doc: Vec<String> = national
        .map(|doc| {
            record_keys(doc)
                .into_iter()
                .filter(|k| {
                    k.is(if training {
                        TrainingCategory::KIND
                    } else {
                        ProductCategory::KIND
                    })
                })
                .map(|k| k.id)
                .collect()
        })
        .unwrap_or_default();
    if !from_doc.is_empty() {
        return from_doc;
    }
    if training {
        TRAINING_CATEGORIES.iter().map(|s| s.to_string()).collect()
    } else {
        product_category_slugs()
            .into_iter()
            .map(str::to_string)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_ids_round_trip() {
        for s in ["upt/LAPAS-CIPINANG", "curation/LPKA-TANGERANG", "national"] {
            assert_eq!(DocId::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(DocId::parse("upt/../etc"), None);
        assert_eq!(DocId::parse("other/LAPAS-X"), None);
    }

    #[test]
    fn concurrent_edits_expose_conflicts() {
        let mut a = AutoCommit::new();
        let p = Product {
            id: "p1".into(),
            name: "Kursi".into(),
            category: "furnitur".into(),
            price_idr: 100,
            unit: "pcs".into(),
            stock: 1,
            created_at: "t".into(),
            updated_at: "t".into(),
            ..Default::default()
        };
        insert_product(&mut a, &p).unwrap();
        let mut b = a.fork();
        edit_product(
            &mut a,
            "p1",
            &ProductPatch {
                price_idr: Some(200),
                ..Default::default()
            },
            "t2",
        )
        .unwrap();
        edit_product(
            &mut b,
            "p1",
            &ProductPatch {
                price_idr: Some(300),
                ..Default::default()
            },
            "t3",
        )
        .unwrap();
        add_stock(&mut a, "p1", 2, "t2").unwrap();
        add_stock(&mut b, "p1", 5, "t3").unwrap();
        a.merge(&mut b).unwrap();
        let (merged, conflicts) = read_product(&a, "p1").unwrap();
        assert_eq!(merged.stock, 8, "concurrent increments add up");
        let prices = &conflicts["price_idr"];
        assert_eq!(prices.len(), 2);
        assert!(prices.contains(&200.into()) && prices.contains(&300.into()));
        assert_eq!(
            prices[0],
            serde_json::Value::from(merged.price_idr),
            "winner first"
        );
    }
}
