//! The record kinds karya ships, registered: one line each in [`KINDS`], beside any kind
//! [`register`]ed at start. See [`crate::record::kind`] for what a kind says.

use crate::model::{
    CurationDecision, Participant, ParticipantStatus, Product, Sale, Training, UptInfo,
    Verification,
};
use crate::record::kind::{Catalogue, Child, Home, Kind, RowWrite, Stored, text};
use crate::record::{Conflicts, Fields, ValidationError};
use automerge::{AutoCommit, ScalarValue};
use rusqlite::types::{ToSqlOutput, Value};
use std::sync::RwLock;

use std::fmt;

crate::record! {
    /// A product category of the national catalogue (`category:<slug>`).
    pub struct ProductCategory = "category";
    key (slug: String)
    edit ProductCategoryPatch {
        /// The name people read.
        name: String,
    }
    count {}
    keep {}
}

crate::record! {
    /// A training category of the national catalogue (`training_category:<slug>`).
    pub struct TrainingCategory = "training_category";
    key (slug: String)
    edit TrainingCategoryPatch {
        name: String,
    }
    count {}
    keep {}
}

/// Every record kind karya ships.
pub static KINDS: &[Kind] = &[
    Kind::of::<Product>(Home::Upt, "products")
        .keeping_conflicts()
        .using_catalogue()
        .with_children(&[Child {
            table: "product_photos",
            key: &["upt", "product_id", "hash"],
            by: "product_id",
        }])
        .described("product {}"),
    Kind::of::<Sale>(Home::Upt, "sales").described("sale {}"),
    Kind::of::<Training>(Home::Upt, "trainings")
        .keeping_conflicts()
        .using_catalogue()
        .described("training {}"),
    Kind::of::<Participant>(Home::Upt, "participants").described("a participant of training {}"),
    Kind::of::<CurationDecision>(Home::Curation, "curation")
        .described("the decision on product {}"),
    Kind::of::<Verification>(Home::Curation, "verifications")
        .described("the Kanwil's verification of product {}"),
    Kind::of::<UptInfo>(Home::National, "upts").described("UPT {}"),
    Kind::of::<ProductCategory>(Home::National, "categories")
        .with_fixed(&[("kind", "product")])
        .described("category {}"),
    Kind::of::<TrainingCategory>(Home::National, "categories")
        .with_fixed(&[("kind", "training")])
        .described("category {}"),
];

impl Stored for Product {
    fn check(&self, catalogue: &Catalogue) -> Result<(), ValidationError> {
        self.validate_stored(catalogue.products)
    }

    /// Its photos' rows, the full image and the thumbnail (a deleted product has none).
    fn child_rows<'a>(&'a self, upt: &'a str, out: &mut Vec<RowWrite<'a>>) {
        if self.deleted {
            return;
        }
        for photo in &self.photos {
            for (hash, size, thumb) in [
                (&photo.thumb, photo.thumb_size, 1),
                (&photo.hash, photo.size, 0),
            ] {
                out.push(RowWrite::Add {
                    table: "product_photos",
                    columns: vec![
                        ("upt", text(upt)),
                        ("product_id", text(&self.id)),
                        ("hash", text(hash)),
                        ("size", ToSqlOutput::Owned(Value::Integer(size as i64))),
                        ("thumb", ToSqlOutput::Owned(Value::Integer(thumb))),
                    ],
                });
            }
        }
    }
}

impl Stored for Sale {
    fn check(&self, _: &Catalogue) -> Result<(), ValidationError> {
        self.validate()
    }
}

impl Stored for Training {
    fn check(&self, catalogue: &Catalogue) -> Result<(), ValidationError> {
        self.validate(catalogue.trainings)
    }
}

impl Stored for Participant {
    /// A participant as every replica's enrolment of them says: concurrent enrolments of one
    /// inmate on two PCs are one enrolment, and what either side recorded survives (a
    /// completion is never undone by the other side's enrolment).
    fn read_stored(
        doc: &AutoCommit,
        parts: &[&str],
    ) -> Option<Result<(Self, Conflicts), ValidationError>> {
        let [training_id, pseudonym] = parts else {
            return None;
        };
        let f = Fields::read(doc, &Participant::doc_key(training_id, pseudonym))?;
        Some(
            Participant::from_fields(&f, training_id, pseudonym).and_then(|(mut p, _)| {
                let strs = |field: &str| -> Vec<String> {
                    f.all(field)
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .filter(|v| !v.is_empty())
                        .collect()
                };
                for s in strs("status") {
                    let s: ParticipantStatus = s.parse()?;
                    if s.rank() > p.status.rank() {
                        p.status = s;
                    }
                }
                p.enrolled_at = strs("enrolled_at")
                    .into_iter()
                    .min()
                    .unwrap_or(p.enrolled_at);
                p.hours_attended = f
                    .all("hours_attended")
                    .iter()
                    .filter_map(ScalarValue::as_i64)
                    .max()
                    .unwrap_or(0);
                p.certificate = strs("certificate").into_iter().next().unwrap_or_default();
                Ok((p, Conflicts::new()))
            }),
        )
    }
    fn check(&self, _: &Catalogue) -> Result<(), ValidationError> {
        self.validate()
    }
}

impl Stored for CurationDecision {
    fn check(&self, _: &Catalogue) -> Result<(), ValidationError> {
        self.validate()
    }
}

impl Stored for Verification {
    fn check(&self, _: &Catalogue) -> Result<(), ValidationError> {
        self.validate()
    }
}

impl Stored for UptInfo {
    fn check(&self, _: &Catalogue) -> Result<(), ValidationError> {
        self.validate()
    }
}

impl Stored for ProductCategory {}
impl Stored for TrainingCategory {}

static ADDED: RwLock<Vec<&'static Kind>> = RwLock::new(Vec::new());

/// Adds a kind beside those karya ships, before a store that keeps its rows opens (its table
/// comes from a migration of that store). Registering a kind again does nothing; a kind
/// whose name another kind has is refused.
pub fn register(kind: &'static Kind) -> Result<(), String> {
    if let Some(there) = find(kind.name) {
        return if std::ptr::eq(there, kind) {
            Ok(())
        } else {
            Err(format!(
                "a record kind named {:?} is already registered",
                kind.name
            ))
        };
    }
    ADDED.write().unwrap_or_else(|p| p.into_inner()).push(kind);
    Ok(())
}

/// The kind named `name`.
pub fn find(name: &str) -> Option<&'static Kind> {
    if let Some(k) = KINDS.iter().find(|k| k.name == name) {
        return Some(k);
    }
    ADDED
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .find(|k| k.name == name)
        .copied()
}

/// The kind named `name`, which karya ships (a programming error otherwise).
pub fn kind(name: &str) -> &'static Kind {
    find(name).unwrap_or_else(|| panic!("no record kind {name:?}"))
}

/// Every kind: karya's, then the registered ones.
pub fn all() -> Vec<&'static Kind> {
    let mut kinds: Vec<&'static Kind> = KINDS.iter().collect();
    kinds.extend(ADDED.read().unwrap_or_else(|p| p.into_inner()).iter());
    kinds
}

/// A record key at the root of a document, parsed: its kind and the rest (`3f2a…`, or
/// `<training>:<pseudonym>` for a kind keyed by two parts).
#[derive(Clone)]
pub struct RecordKey {
    pub kind: &'static Kind,
    pub id: String,
}

impl RecordKey {
    /// The key of a record of `kind` named by `parts`.
    pub fn new(kind: &'static Kind, parts: &[&str]) -> RecordKey {
        RecordKey {
            kind,
            id: parts.join(":"),
        }
    }

    /// Reads a document's root key; `None` for a key of no registered kind.
    pub fn parse(key: &str) -> Option<RecordKey> {
        let (name, rest) = key.split_once(':')?;
        let kind = find(name)?;
        let key = RecordKey {
            kind,
            id: rest.to_string(),
        };
        (key.parts().len() == kind.key_columns.len()).then_some(key)
    }

    /// The parts of the key after the kind, one per key column.
    pub fn parts(&self) -> Vec<&str> {
        self.id
            .splitn(self.kind.key_columns.len().max(1), ':')
            .collect()
    }

    pub fn is(&self, name: &str) -> bool {
        self.kind.name == name
    }

    pub fn key(&self) -> String {
        format!("{}:{}", self.kind.name, self.id)
    }
}

impl fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl PartialEq for RecordKey {
    fn eq(&self, other: &Self) -> bool {
        self.kind.name == other.kind.name && self.id == other.id
    }
}
impl Eq for RecordKey {}
impl std::hash::Hash for RecordKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.kind.name.hash(state);
        self.id.hash(state);
    }
}
impl PartialOrd for RecordKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for RecordKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.kind.name, &self.id).cmp(&(other.kind.name, &other.id))
    }
}
