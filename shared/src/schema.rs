//! How records are laid out inside the three kinds of Automerge document.
//!
//! Every record is a map at the document's root under a key `<kind>:<id>` (`product:…`,
//! `sale:…`, `training:…`, `participant:<training>:<pseudonym>`, `decision:<product>`,
//! `upt:<code>`, `category:<slug>`, `training_category:<slug>`). Keeping records flat at the
//! root means no replica ever has to create a shared container first, so two replicas that
//! start empty never race to create the same `products` map (Automerge would keep only one of
//! them), and a change to one record names its key directly in the diff, which is how the
//! materialized tables are kept current without re-reading the document.

use crate::model::*;
use automerge::{
    AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable,
};
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

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    #[error("automerge: {0}")]
    Automerge(Box<automerge::AutomergeError>),
}

impl From<automerge::AutomergeError> for SchemaError {
    fn from(e: automerge::AutomergeError) -> Self {
        SchemaError::Automerge(Box::new(e))
    }
}

/// A record key at the root of a document, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKey {
    Product(String),
    Sale(String),
    Training(String),
    Participant {
        training_id: String,
        pseudonym: String,
    },
    Decision(String),
    Upt(String),
    Category(String),
    TrainingCategory(String),
}

impl RecordKey {
    pub fn parse(key: &str) -> Option<RecordKey> {
        let (kind, rest) = key.split_once(':')?;
        Some(match kind {
            "product" => RecordKey::Product(rest.into()),
            "sale" => RecordKey::Sale(rest.into()),
            "training" => RecordKey::Training(rest.into()),
            "participant" => {
                let (t, p) = rest.split_once(':')?;
                RecordKey::Participant {
                    training_id: t.into(),
                    pseudonym: p.into(),
                }
            }
            "decision" => RecordKey::Decision(rest.into()),
            "upt" => RecordKey::Upt(rest.into()),
            "category" => RecordKey::Category(rest.into()),
            "training_category" => RecordKey::TrainingCategory(rest.into()),
            _ => return None,
        })
    }

    pub fn key(&self) -> String {
        match self {
            RecordKey::Product(id) => format!("product:{id}"),
            RecordKey::Sale(id) => format!("sale:{id}"),
            RecordKey::Training(id) => format!("training:{id}"),
            RecordKey::Participant {
                training_id,
                pseudonym,
            } => format!("participant:{training_id}:{pseudonym}"),
            RecordKey::Decision(id) => format!("decision:{id}"),
            RecordKey::Upt(c) => format!("upt:{c}"),
            RecordKey::Category(s) => format!("category:{s}"),
            RecordKey::TrainingCategory(s) => format!("training_category:{s}"),
        }
    }
}

// ---------- low-level field access ----------

fn record_obj(doc: &AutoCommit, key: &str) -> Option<ObjId> {
    match doc.get(ROOT, key) {
        Ok(Some((Value::Object(ObjType::Map), id))) => Some(id),
        _ => None,
    }
}

/// Every map at a record's key, the winner first. Two replicas that create the same record
/// offline (two PCs of one UPT enrolling the same inmate) make two maps under one key;
/// Automerge shows one, and the other's fields would vanish. Reads take the fields of all of
/// them (a field set in several is a conflict), and writes go to every one that has the field.
fn record_objs(doc: &AutoCommit, key: &str) -> Vec<ObjId> {
    let Some(winner) = record_obj(doc, key) else {
        return Vec::new();
    };
    let mut objs = vec![winner.clone()];
    if let Ok(all) = doc.get_all(ROOT, key) {
        for (v, id) in all {
            if matches!(v, Value::Object(ObjType::Map)) && id != winner {
                objs.push(id);
            }
        }
    }
    objs
}

fn scalar_to_json(v: &ScalarValue) -> serde_json::Value {
    match v {
        ScalarValue::Str(s) => serde_json::Value::String(s.to_string()),
        ScalarValue::Int(n) | ScalarValue::Timestamp(n) => (*n).into(),
        ScalarValue::Uint(n) => (*n).into(),
        ScalarValue::F64(n) => serde_json::json!(n),
        ScalarValue::Counter(c) => i64::from(c).into(),
        ScalarValue::Boolean(b) => (*b).into(),
        _ => serde_json::Value::Null,
    }
}

/// A record's fields, read in one pass over its map (one lookup per field would scan the
/// map again each time); over every map at its key (see [`record_objs`]), the winner first.
struct Fields<'a> {
    doc: &'a AutoCommit,
    objs: Vec<ObjId>,
    values: std::collections::HashMap<String, ScalarValue>,
    /// Fields that replicas set concurrently.
    conflicted: Vec<String>,
}

impl Fields<'_> {
    fn str(&self, field: &str) -> String {
        self.opt_str(field).unwrap_or_default()
    }
    fn opt_str(&self, field: &str) -> Option<String> {
        self.values
            .get(field)
            .and_then(|s| s.as_str().map(str::to_string))
    }
    fn i64(&self, field: &str) -> i64 {
        self.values.get(field).and_then(|s| s.as_i64()).unwrap_or(0)
    }
    fn bool(&self, field: &str) -> bool {
        matches!(self.values.get(field), Some(ScalarValue::Boolean(true)))
    }
    /// Every value of `field` that replicas set concurrently, the shown one first.
    fn all(&self, field: &str) -> Vec<ScalarValue> {
        let mut out: Vec<ScalarValue> = Vec::new();
        let shown = self.values.get(field);
        out.extend(shown.cloned());
        for obj in &self.objs {
            let Ok(all) = self.doc.get_all(obj, field) else {
                continue;
            };
            for (v, _) in all {
                if let Value::Scalar(s) = v
                    && !out.contains(&s)
                {
                    out.push(s.into_owned());
                }
            }
        }
        out
    }

    /// The values of every listed field that replicas set concurrently, winner first.
    fn conflicts(&self, fields: &[&str]) -> Conflicts {
        let mut out = Conflicts::new();
        for field in fields
            .iter()
            .filter(|f| self.conflicted.iter().any(|c| c == *f))
        {
            let values = self.all(field);
            if values.len() > 1 {
                out.insert(
                    field.to_string(),
                    values.iter().map(scalar_to_json).collect(),
                );
            }
        }
        out
    }
}

fn fields<'a>(doc: &'a AutoCommit, key: &str) -> Option<Fields<'a>> {
    let objs = record_objs(doc, key);
    if objs.is_empty() {
        return None;
    }
    let mut values: std::collections::HashMap<String, ScalarValue> =
        std::collections::HashMap::new();
    let mut conflicted = Vec::new();
    for obj in &objs {
        for item in doc.map_range(obj, ..) {
            let key = item.key.to_string();
            let Value::Scalar(s) = Value::from(item.value) else {
                continue;
            };
            let s = s.into_owned();
            match values.get(&key) {
                // A map after the winner: its value shows only where the winner has none.
                Some(shown) => {
                    if *shown != s && !conflicted.contains(&key) {
                        conflicted.push(key);
                    }
                }
                None => {
                    if item.conflict {
                        conflicted.push(key.clone());
                    }
                    values.insert(key, s);
                }
            }
        }
    }
    Some(Fields {
        doc,
        objs,
        values,
        conflicted,
    })
}

/// Every value of a record's field that is visible at this replica: the one shown first,
/// then those set concurrently (a conflict), across every map at the record's key. What a
/// replica wrote and nobody overwrote after seeing it is always among them.
pub fn visible_values(doc: &AutoCommit, key: &str, field: &str) -> Vec<serde_json::Value> {
    fields(doc, key)
        .map(|f| f.all(field).iter().map(scalar_to_json).collect())
        .unwrap_or_default()
}

/// The maps of a record (see [`record_objs`]), creating one when there is none.
fn ensure_maps(doc: &mut AutoCommit, key: &str) -> Result<Vec<ObjId>, SchemaError> {
    let objs = record_objs(doc, key);
    if !objs.is_empty() {
        return Ok(objs);
    }
    Ok(vec![doc.put_object(ROOT, key, ObjType::Map)?])
}

/// Writes a field of a record that may have several maps: into the first (the winner), and
/// into every other that holds a different value, so a write settles a conflict everywhere.
fn put_all_if_changed(
    doc: &mut AutoCommit,
    objs: &[ObjId],
    field: &str,
    value: impl Into<ScalarValue>,
) -> Result<(), SchemaError> {
    let value = value.into();
    for (i, obj) in objs.iter().enumerate() {
        let present = doc.get(obj, field)?.is_some();
        if i == 0 || present {
            put_if_changed(doc, obj, field, value.clone())?;
        }
    }
    Ok(())
}

/// Writes a scalar only when it differs, so that an edit of one field does not touch (and
/// later conflict on) the others.
fn put_if_changed(
    doc: &mut AutoCommit,
    obj: &ObjId,
    field: &str,
    value: impl Into<ScalarValue>,
) -> Result<(), SchemaError> {
    let value = value.into();
    let current = match doc.get(obj, field)? {
        Some((Value::Scalar(s), _)) => Some(s.into_owned()),
        _ => None,
    };
    if current.as_ref() != Some(&value) {
        doc.put(obj, field, value)?;
    }
    Ok(())
}

/// A list field kept as one JSON text (certifications, photos).
fn json_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

// ---------- products ----------

const PRODUCT_FIELDS: &[&str] = &[
    "name",
    "category",
    "description",
    "price_idr",
    "unit",
    "workshop",
    "certifications",
    "photos",
    "nominated",
    "deleted",
];

pub fn read_product(doc: &AutoCommit, id: &str) -> Option<(Product, Conflicts)> {
    let f = fields(doc, &RecordKey::Product(id.into()).key())?;
    let certifications = serde_json::from_str(&f.str("certifications")).unwrap_or_default();
    let p = Product {
        id: id.to_string(),
        name: f.str("name"),
        category: f.str("category"),
        description: f.str("description"),
        price_idr: f.i64("price_idr"),
        unit: f.str("unit"),
        stock: f.i64("stock"),
        workshop: f.str("workshop"),
        certifications,
        photos: serde_json::from_str(&f.str("photos")).unwrap_or_default(),
        nominated: f.bool("nominated"),
        created_at: f.str("created_at"),
        updated_at: f.str("updated_at"),
        deleted: f.bool("deleted"),
    };
    let conflicts = f.conflicts(PRODUCT_FIELDS);
    Some((p, conflicts))
}

/// Adds a product. The caller validates it first (`Product::validate`).
pub fn insert_product(doc: &mut AutoCommit, p: &Product) -> Result<(), SchemaError> {
    let obj = doc.put_object(ROOT, RecordKey::Product(p.id.clone()).key(), ObjType::Map)?;
    doc.put(&obj, "name", p.name.as_str())?;
    doc.put(&obj, "category", p.category.as_str())?;
    doc.put(&obj, "description", p.description.as_str())?;
    doc.put(&obj, "price_idr", p.price_idr)?;
    doc.put(&obj, "unit", p.unit.as_str())?;
    doc.put(&obj, "stock", ScalarValue::counter(p.stock))?;
    doc.put(&obj, "workshop", p.workshop.as_str())?;
    doc.put(
        &obj,
        "certifications",
        serde_json::to_string(&p.certifications).unwrap_or_default(),
    )?;
    if !p.photos.is_empty() {
        doc.put(&obj, "photos", json_text(&p.photos))?;
    }
    doc.put(&obj, "nominated", p.nominated)?;
    doc.put(&obj, "created_at", p.created_at.as_str())?;
    doc.put(&obj, "updated_at", p.updated_at.as_str())?;
    doc.put(&obj, "deleted", p.deleted)?;
    Ok(())
}

fn product_obj(doc: &AutoCommit, id: &str) -> Result<ObjId, SchemaError> {
    record_obj(doc, &RecordKey::Product(id.into()).key()).ok_or_else(|| SchemaError::NotFound {
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
    if let Some(v) = &patch.name {
        put_if_changed(doc, &obj, "name", v.as_str())?;
    }
    if let Some(v) = &patch.category {
        put_if_changed(doc, &obj, "category", v.as_str())?;
    }
    if let Some(v) = &patch.description {
        put_if_changed(doc, &obj, "description", v.as_str())?;
    }
    if let Some(v) = patch.price_idr {
        put_if_changed(doc, &obj, "price_idr", v)?;
    }
    if let Some(v) = &patch.unit {
        put_if_changed(doc, &obj, "unit", v.as_str())?;
    }
    if let Some(v) = &patch.workshop {
        put_if_changed(doc, &obj, "workshop", v.as_str())?;
    }
    if let Some(v) = &patch.certifications {
        put_if_changed(
            doc,
            &obj,
            "certifications",
            serde_json::to_string(v).unwrap_or_default(),
        )?;
    }
    if let Some(v) = &patch.photos {
        put_if_changed(doc, &obj, "photos", json_text(v))?;
    }
    if let Some(v) = patch.nominated {
        put_if_changed(doc, &obj, "nominated", v)?;
    }
    doc.put(&obj, "updated_at", now)?;
    Ok(())
}

pub fn delete_product(doc: &mut AutoCommit, id: &str, now: &str) -> Result<(), SchemaError> {
    let obj = product_obj(doc, id)?;
    put_if_changed(doc, &obj, "deleted", true)?;
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
    let obj = product_obj(doc, id)?;
    let current = match doc.get(&obj, "stock")? {
        Some((Value::Scalar(s), _)) => s.as_i64().unwrap_or(0),
        _ => 0,
    };
    if current + delta < 0 {
        return Err(ValidationError::new(
            "stock",
            format!("only {current} in stock; cannot take away {}", -delta),
        )
        .into());
    }
    doc.increment(&obj, "stock", delta)?;
    doc.put(&obj, "updated_at", now)?;
    Ok(current + delta)
}

// ---------- sales ----------

pub fn read_sale(doc: &AutoCommit, id: &str) -> Option<Sale> {
    let f = fields(doc, &RecordKey::Sale(id.into()).key())?;
    Some(Sale {
        id: id.into(),
        product_id: f.str("product_id"),
        date: f.str("date"),
        quantity: f.i64("quantity"),
        revenue_idr: f.i64("revenue_idr"),
        channel: f.str("channel"),
        created_at: f.str("created_at"),
    })
}

/// Records a sale (append-only). The product must exist in this document.
pub fn insert_sale(doc: &mut AutoCommit, s: &Sale) -> Result<(), SchemaError> {
    product_obj(doc, &s.product_id)?;
    let obj = doc.put_object(ROOT, RecordKey::Sale(s.id.clone()).key(), ObjType::Map)?;
    doc.put(&obj, "product_id", s.product_id.as_str())?;
    doc.put(&obj, "date", s.date.as_str())?;
    doc.put(&obj, "quantity", s.quantity)?;
    doc.put(&obj, "revenue_idr", s.revenue_idr)?;
    doc.put(&obj, "channel", s.channel.as_str())?;
    doc.put(&obj, "created_at", s.created_at.as_str())?;
    Ok(())
}

// ---------- trainings and participants ----------

const TRAINING_FIELDS: &[&str] = &[
    "program",
    "category",
    "partner",
    "start_date",
    "end_date",
    "hours",
    "instructor",
    "capacity",
    "scheme",
];

pub fn read_training(doc: &AutoCommit, id: &str) -> Option<(Training, Conflicts)> {
    let f = fields(doc, &RecordKey::Training(id.into()).key())?;
    let t = Training {
        id: id.into(),
        program: f.str("program"),
        category: f.str("category"),
        partner: f.str("partner"),
        start_date: f.str("start_date"),
        end_date: f.str("end_date"),
        hours: f.i64("hours"),
        instructor: f.str("instructor"),
        capacity: f.i64("capacity"),
        scheme: f.str("scheme"),
        created_at: f.str("created_at"),
        updated_at: f.str("updated_at"),
        deleted: f.bool("deleted"),
    };
    Some((t, f.conflicts(TRAINING_FIELDS)))
}

pub fn insert_training(doc: &mut AutoCommit, t: &Training) -> Result<(), SchemaError> {
    let obj = doc.put_object(ROOT, RecordKey::Training(t.id.clone()).key(), ObjType::Map)?;
    for (k, v) in [
        ("program", &t.program),
        ("category", &t.category),
        ("partner", &t.partner),
        ("start_date", &t.start_date),
        ("end_date", &t.end_date),
        ("instructor", &t.instructor),
        ("scheme", &t.scheme),
        ("created_at", &t.created_at),
        ("updated_at", &t.updated_at),
    ] {
        doc.put(&obj, k, v.as_str())?;
    }
    doc.put(&obj, "hours", t.hours)?;
    doc.put(&obj, "capacity", t.capacity)?;
    doc.put(&obj, "deleted", t.deleted)?;
    Ok(())
}

pub fn read_participant(
    doc: &AutoCommit,
    training_id: &str,
    pseudonym: &str,
) -> Option<Participant> {
    let key = RecordKey::Participant {
        training_id: training_id.into(),
        pseudonym: pseudonym.into(),
    }
    .key();
    let f = fields(doc, &key)?;
    // Concurrent enrolments of one inmate on two PCs are one enrolment: what either side
    // recorded survives (a completion is never undone by the other side's enrolment).
    let strs = |field: &str| -> Vec<String> {
        f.all(field)
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .filter(|v| !v.is_empty())
            .collect()
    };
    let rank = |s: &str| match s {
        "completed" => 2,
        "dropped" => 1,
        _ => 0,
    };
    let status = strs("status")
        .into_iter()
        .max_by_key(|s| rank(s))
        .unwrap_or_default();
    Some(Participant {
        training_id: training_id.into(),
        pseudonym: pseudonym.into(),
        enrolled_at: strs("enrolled_at").into_iter().min().unwrap_or_default(),
        hours_attended: f
            .all("hours_attended")
            .iter()
            .filter_map(ScalarValue::as_i64)
            .max()
            .unwrap_or(0),
        status,
        certificate: strs("certificate").into_iter().next().unwrap_or_default(),
    })
}

/// Enrols a participant (by pseudonym) or updates the enrolment if it exists.
pub fn upsert_participant(doc: &mut AutoCommit, p: &Participant) -> Result<(), SchemaError> {
    if record_obj(doc, &RecordKey::Training(p.training_id.clone()).key()).is_none() {
        return Err(SchemaError::NotFound {
            kind: "training",
            id: p.training_id.clone(),
        });
    }
    let key = RecordKey::Participant {
        training_id: p.training_id.clone(),
        pseudonym: p.pseudonym.clone(),
    }
    .key();
    let objs = ensure_maps(doc, &key)?;
    put_all_if_changed(doc, &objs, "enrolled_at", p.enrolled_at.as_str())?;
    put_all_if_changed(doc, &objs, "hours_attended", p.hours_attended)?;
    put_all_if_changed(doc, &objs, "status", p.status.as_str())?;
    put_all_if_changed(doc, &objs, "certificate", p.certificate.as_str())?;
    Ok(())
}

// ---------- curation ----------

pub fn read_decision(doc: &AutoCommit, product_id: &str) -> Option<CurationDecision> {
    let f = fields(doc, &RecordKey::Decision(product_id.into()).key())?;
    Some(CurationDecision {
        product_id: product_id.into(),
        status: f.str("status"),
        note: f.str("note"),
        decided_by: f.str("decided_by"),
        decided_at: f.str("decided_at"),
    })
}

pub fn put_decision(doc: &mut AutoCommit, d: &CurationDecision) -> Result<(), SchemaError> {
    let objs = ensure_maps(doc, &RecordKey::Decision(d.product_id.clone()).key())?;
    put_all_if_changed(doc, &objs, "status", d.status.as_str())?;
    put_all_if_changed(doc, &objs, "note", d.note.as_str())?;
    put_all_if_changed(doc, &objs, "decided_by", d.decided_by.as_str())?;
    put_all_if_changed(doc, &objs, "decided_at", d.decided_at.as_str())?;
    Ok(())
}

// ---------- national ----------

pub fn read_upt(doc: &AutoCommit, code: &str) -> Option<UptInfo> {
    let f = fields(doc, &RecordKey::Upt(code.into()).key())?;
    Some(UptInfo {
        code: code.into(),
        name: f.str("name"),
        kind: f.str("type"),
        kanwil: f.str("kanwil"),
    })
}

pub fn put_upt(doc: &mut AutoCommit, u: &UptInfo) -> Result<(), SchemaError> {
    let objs = ensure_maps(doc, &RecordKey::Upt(u.code.clone()).key())?;
    put_all_if_changed(doc, &objs, "name", u.name.as_str())?;
    put_all_if_changed(doc, &objs, "type", u.kind.as_str())?;
    put_all_if_changed(doc, &objs, "kanwil", u.kanwil.as_str())?;
    Ok(())
}

pub fn read_category(doc: &AutoCommit, key: &RecordKey) -> Option<String> {
    fields(doc, &key.key()).and_then(|f| f.opt_str("name"))
}

pub fn put_category(doc: &mut AutoCommit, key: &RecordKey, name: &str) -> Result<(), SchemaError> {
    let objs = ensure_maps(doc, &key.key())?;
    put_all_if_changed(doc, &objs, "name", name)
}

/// Seeds a new `national` document with the categories that ship with karya.
pub fn seed_national(doc: &mut AutoCommit) -> Result<(), SchemaError> {
    for (slug, name) in PRODUCT_CATEGORIES {
        put_category(doc, &RecordKey::Category(slug.to_string()), name)?;
    }
    for slug in TRAINING_CATEGORIES {
        put_category(doc, &RecordKey::TrainingCategory(slug.to_string()), slug)?;
    }
    Ok(())
}

/// Every record key at the root of a document.
pub fn record_keys(doc: &AutoCommit) -> Vec<RecordKey> {
    doc.keys(ROOT)
        .filter_map(|k| RecordKey::parse(&k))
        .collect()
}

/// The product categories a document's catalogue holds (the `national` document), or the
/// built-in list when the national document has not arrived yet.
pub fn categories(national: Option<&AutoCommit>, training: bool) -> Vec<String> {
    let from_doc: Vec<String> = national
        .map(|doc| {
            record_keys(doc)
                .into_iter()
                .filter_map(|k| match (k, training) {
                    (RecordKey::Category(s), false) | (RecordKey::TrainingCategory(s), true) => {
                        Some(s)
                    }
                    _ => None,
                })
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
            description: String::new(),
            price_idr: 100,
            unit: "pcs".into(),
            stock: 1,
            workshop: String::new(),
            certifications: vec![],
            photos: vec![],
            nominated: false,
            created_at: "t".into(),
            updated_at: "t".into(),
            deleted: false,
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
