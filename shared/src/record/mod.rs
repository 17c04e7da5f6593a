//! One definition per record kind, and everything that follows from it.
//!
//! A record kind is declared once, with [`record!`](crate::record!): its key, the fields an
//! edit may change, its counters, and the fields written once. From that one declaration come
//! the Rust struct (and its API shape, by serde), the patch an edit carries, the record's layout
//! in its Automerge document (one map per record, one scalar per field), its materialized row
//! (columns named as the fields, read back by name) and the spreadsheet headers an import
//! accepts for each field. Adding a field is the declaration plus one migration line.
//!
//! How one field's value moves between the three places it lives (document, row, API) is its
//! type's [`FieldValue`]: text, whole numbers, yes/no, calendar dates, the fixed sets of
//! [`model`](crate::model) and lists kept as one JSON text.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::collections::HashMap;

pub mod kind;
mod macros;

/// A record that failed validation: the field and what is wrong with it, in words an operator
/// can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    pub field: &'static str,
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// A calendar date as `YYYY-MM-DD`.
pub fn iso(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Reads a `YYYY-MM-DD` date.
pub fn parse_iso_date(s: &str) -> Result<time::Date, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s.trim(), &format).map_err(|_| crate::text::input::not_a_date(s))
}

/// Values that replicas set concurrently on the same field, beside the winner Automerge chose:
/// field name to every value (winner first), so that no edit disappears silently.
pub type Conflicts = std::collections::BTreeMap<String, Vec<serde_json::Value>>;

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("{}", crate::text::store::not_found(kind, id))]
    NotFound { kind: &'static str, id: String },
    #[error("automerge: {0}")]
    Automerge(Box<automerge::AutomergeError>),
}

impl From<automerge::AutomergeError> for SchemaError {
    fn from(e: automerge::AutomergeError) -> Self {
        SchemaError::Automerge(Box::new(e))
    }
}

/// How a field's value is kept in a document and in a materialized row.
pub trait FieldValue: Sized {
    /// The scalar a document holds for it.
    fn to_scalar(&self) -> ScalarValue;
    /// Reads it back; `None` when the record's map has no such field (a record written by an
    /// older release). The error says what is wrong, in words that follow the field's name.
    fn from_scalar(v: Option<&ScalarValue>) -> Result<Self, String>;
    /// A value an insert may leave out of the document (an empty list): readers get it back
    /// from [`FieldValue::from_scalar`]`(None)`.
    fn is_omitted(&self) -> bool {
        false
    }
    /// The value of its column.
    fn to_sql(&self) -> ToSqlOutput<'_>;
    /// Reads its column back.
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String>;
}

impl FieldValue for String {
    fn to_scalar(&self) -> ScalarValue {
        ScalarValue::Str(self.as_str().into())
    }
    fn from_scalar(v: Option<&ScalarValue>) -> Result<Self, String> {
        match v {
            None => Ok(String::new()),
            Some(ScalarValue::Str(s)) => Ok(s.to_string()),
            Some(_) => Err("is not text".into()),
        }
    }
    fn to_sql(&self) -> ToSqlOutput<'_> {
        ToSqlOutput::Borrowed(ValueRef::Text(self.as_bytes()))
    }
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        v.as_str().map(str::to_string).map_err(|e| e.to_string())
    }
}

impl FieldValue for i64 {
    fn to_scalar(&self) -> ScalarValue {
        ScalarValue::Int(*self)
    }
    fn from_scalar(v: Option<&ScalarValue>) -> Result<Self, String> {
        match v {
            None => Ok(0),
            Some(s) => s.as_i64().ok_or_else(|| "is not a whole number".into()),
        }
    }
    fn to_sql(&self) -> ToSqlOutput<'_> {
        ToSqlOutput::Owned((*self).into())
    }
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        v.as_i64().map_err(|e| e.to_string())
    }
}

impl FieldValue for bool {
    fn to_scalar(&self) -> ScalarValue {
        ScalarValue::Boolean(*self)
    }
    fn from_scalar(v: Option<&ScalarValue>) -> Result<Self, String> {
        match v {
            None => Ok(false),
            Some(ScalarValue::Boolean(b)) => Ok(*b),
            Some(_) => Err("is not yes/no".into()),
        }
    }
    fn to_sql(&self) -> ToSqlOutput<'_> {
        ToSqlOutput::Owned((*self).into())
    }
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        v.as_i64().map(|n| n != 0).map_err(|e| e.to_string())
    }
}

/// A calendar date, kept as `YYYY-MM-DD` text (which sorts as dates do).
impl FieldValue for time::Date {
    fn to_scalar(&self) -> ScalarValue {
        ScalarValue::Str(iso(*self).into())
    }
    fn from_scalar(v: Option<&ScalarValue>) -> Result<Self, String> {
        match v {
            None => Err("is missing".into()),
            Some(ScalarValue::Str(s)) => parse_iso_date(s),
            Some(_) => Err("is not a date".into()),
        }
    }
    fn to_sql(&self) -> ToSqlOutput<'_> {
        ToSqlOutput::Owned(iso(*self).into())
    }
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        parse_iso_date(v.as_str().map_err(|e| e.to_string())?)
    }
}

/// A list kept as one JSON text (certifications, photos): replicas replace it whole.
impl<T: serde::Serialize + serde::de::DeserializeOwned> FieldValue for Vec<T> {
    fn to_scalar(&self) -> ScalarValue {
        ScalarValue::Str(serde_json::to_string(self).unwrap_or_default().into())
    }
    fn from_scalar(v: Option<&ScalarValue>) -> Result<Self, String> {
        match v {
            None => Ok(Vec::new()),
            Some(ScalarValue::Str(s)) => {
                serde_json::from_str(s).map_err(|e| format!("is not a valid list ({e})"))
            }
            Some(_) => Err("is not a list".into()),
        }
    }
    fn is_omitted(&self) -> bool {
        self.is_empty()
    }
    fn to_sql(&self) -> ToSqlOutput<'_> {
        ToSqlOutput::Owned(serde_json::to_string(self).unwrap_or_default().into())
    }
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        serde_json::from_str(v.as_str().map_err(|e| e.to_string())?).map_err(|e| e.to_string())
    }
}

/// An optional value: absent from the document and NULL in its column when `None`, so a
/// field added later reads as `None` in records written before it.
impl<T: FieldValue> FieldValue for Option<T> {
    fn to_scalar(&self) -> ScalarValue {
        self.as_ref().map_or(ScalarValue::Null, T::to_scalar)
    }
    fn from_scalar(v: Option<&ScalarValue>) -> Result<Self, String> {
        match v {
            None | Some(ScalarValue::Null) => Ok(None),
            v => T::from_scalar(v).map(Some),
        }
    }
    fn is_omitted(&self) -> bool {
        self.is_none()
    }
    fn to_sql(&self) -> ToSqlOutput<'_> {
        self.as_ref()
            .map_or(ToSqlOutput::Owned(rusqlite::types::Value::Null), T::to_sql)
    }
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Null => Ok(None),
            v => T::from_sql(v).map(Some),
        }
    }
}

/// A row whose columns can be read by name: rusqlite's, or one of either engine
/// ([`crate::store::sql::SqlRow`]).
pub trait Columns {
    /// Column `name` with its field's [`FieldValue`].
    fn field<T: FieldValue>(&self, name: &str) -> rusqlite::Result<T>;
}

pub(crate) fn field_error(idx: usize, name: &str, e: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        idx,
        rusqlite::types::Type::Text,
        format!("column {name}: {e}").into(),
    )
}

impl Columns for rusqlite::Row<'_> {
    fn field<T: FieldValue>(&self, name: &str) -> rusqlite::Result<T> {
        let idx = self.as_ref().column_index(name)?;
        T::from_sql(self.get_ref(idx)?).map_err(|e| field_error(idx, name, e))
    }
}

/// The columns of a row whose names carry a prefix (a joined table's, as `v_status`), read
/// by their fields' names.
pub struct Prefixed<'r, R: ?Sized>(pub &'static str, pub &'r R);

impl<R: Columns + ?Sized> Columns for Prefixed<'_, R> {
    fn field<T: FieldValue>(&self, name: &str) -> rusqlite::Result<T> {
        self.1.field(&format!("{}{name}", self.0))
    }
}

/// Reads a column by name with its field's [`FieldValue`].
pub fn column<T: FieldValue, R: Columns + ?Sized>(r: &R, name: &str) -> rusqlite::Result<T> {
    r.field(name)
}

/// Writes one materialized row (`INSERT OR REPLACE`), its columns named as given.
pub fn replace_row(
    conn: &rusqlite::Connection,
    table: &str,
    columns: &[(&str, ToSqlOutput<'_>)],
) -> rusqlite::Result<()> {
    let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
    let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT OR REPLACE INTO {table} ({}) VALUES ({})",
        names.join(", "),
        marks.join(", ")
    );
    conn.prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(columns.iter().map(|(_, v)| v)))?;
    Ok(())
}

/// The map of a record at the root of a document, the winner Automerge shows.
pub fn record_obj(doc: &AutoCommit, key: &str) -> Option<ObjId> {
    match doc.get(ROOT, key) {
        Ok(Some((Value::Object(ObjType::Map), id))) => Some(id),
        _ => None,
    }
}

/// Every map at a record's key, the winner first. Two replicas that create the same record
/// offline (two PCs of one UPT enrolling the same inmate) make two maps under one key;
/// Automerge shows one, and the other's fields would vanish. Reads take the fields of all of
/// them (a field set in several is a conflict), and writes go to every one that has the field.
pub fn record_objs(doc: &AutoCommit, key: &str) -> Vec<ObjId> {
    // One lookup: the value `get` shows is the last of `get_all`'s (a second lookup for the
    // winner was a fifth of reading a record).
    let Ok(mut all) = doc.get_all(ROOT, key) else {
        return Vec::new();
    };
    match all.pop() {
        Some((Value::Object(ObjType::Map), winner)) => {
            let mut objs = vec![winner];
            objs.extend(
                all.into_iter()
                    .filter(|(v, _)| matches!(v, Value::Object(ObjType::Map)))
                    .map(|(_, id)| id),
            );
            objs
        }
        _ => Vec::new(),
    }
}

pub fn scalar_to_json(v: &ScalarValue) -> serde_json::Value {
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
pub struct Fields<'a> {
    doc: &'a AutoCommit,
    objs: Vec<ObjId>,
    values: HashMap<String, ScalarValue>,
    /// Fields that replicas set concurrently.
    conflicted: Vec<String>,
}

impl Fields<'_> {
    /// The record's fields, or `None` when the document has no map at `key`.
    pub fn read<'a>(doc: &'a AutoCommit, key: &str) -> Option<Fields<'a>> {
        let objs = record_objs(doc, key);
        if objs.is_empty() {
            return None;
        }
        let mut values: HashMap<String, ScalarValue> = HashMap::new();
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

    /// The value a field shows.
    pub fn get(&self, field: &str) -> Option<&ScalarValue> {
        self.values.get(field)
    }

    /// A field's value as its type, or the error that names the field.
    pub fn typed<T: FieldValue>(&self, field: &'static str) -> Result<T, ValidationError> {
        T::from_scalar(self.get(field)).map_err(|reason| ValidationError::new(field, reason))
    }

    /// Every value of `field` that replicas set concurrently, the shown one first.
    pub fn all(&self, field: &str) -> Vec<ScalarValue> {
        let mut out: Vec<ScalarValue> = Vec::new();
        let shown = self.values.get(field);
        out.extend(shown.cloned());
        // One map, and no replica set the field concurrently (the read saw no conflict): the
        // shown value is all there is (the usual case: no lookup per field).
        if self.objs.len() == 1 && !self.conflicted.iter().any(|c| c == field) {
            return out;
        }
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
    pub fn conflicts(&self, fields: &[&str]) -> Conflicts {
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

/// The maps of a record (see [`record_objs`]), creating one when there is none.
pub fn ensure_maps(doc: &mut AutoCommit, key: &str) -> Result<Vec<ObjId>, SchemaError> {
    let objs = record_objs(doc, key);
    if !objs.is_empty() {
        return Ok(objs);
    }
    Ok(vec![doc.put_object(ROOT, key, ObjType::Map)?])
}

/// Writes a field of a record that may have several maps: into the first (the winner), and
/// into every other that holds a different value, so a write settles a conflict everywhere.
/// Whether none of `objs` holds `field`.
pub fn absent_from_all(doc: &AutoCommit, objs: &[ObjId], field: &str) -> Result<bool, SchemaError> {
    for obj in objs {
        if doc.get(obj, field)?.is_some() {
            return Ok(false);
        }
    }
    Ok(true)
}

pub fn put_all_if_changed(
    doc: &mut AutoCommit,
    objs: &[ObjId],
    field: &str,
    value: ScalarValue,
) -> Result<(), SchemaError> {
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
pub fn put_if_changed(
    doc: &mut AutoCommit,
    obj: &ObjId,
    field: &str,
    value: ScalarValue,
) -> Result<(), SchemaError> {
    let current = match doc.get(obj, field)? {
        Some((Value::Scalar(s), _)) => Some(s.into_owned()),
        _ => None,
    };
    if current.as_ref() != Some(&value) {
        doc.put(obj, field, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::model::*;
    use automerge::AutoCommit;

    fn sale() -> Sale {
        Sale {
            id: "s1".into(),
            product_id: "p1".into(),
            date: time::macros::date!(2026 - 11 - 15),
            quantity: 2,
            revenue_idr: 550_000,
            channel: SaleChannel::EKatalog,
            created_at: "2026-11-15T02:00:00Z".into(),
            stock_taken: Default::default(),
        }
    }

    /// What is written is what is read, in the document, in the row and in JSON.
    #[test]
    fn a_record_reads_back_as_written_from_document_row_and_json() {
        let s = sale();
        let mut doc = AutoCommit::new();
        s.insert_into(&mut doc).unwrap();
        let (back, conflicts) = Sale::read(&doc, "s1").unwrap().unwrap();
        assert_eq!(back, s);
        assert!(conflicts.is_empty());

        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE sales (id TEXT, product_id TEXT, date TEXT, quantity INTEGER,
             revenue_idr INTEGER, channel TEXT, created_at TEXT, stock_taken INTEGER)",
        )
        .unwrap();
        super::replace_row(&conn, "sales", &s.columns()).unwrap();
        let (date, channel): (String, String) = conn
            .query_row("SELECT date, channel FROM sales", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(
            (date.as_str(), channel.as_str()),
            ("2026-11-15", "e-katalog")
        );
        let row = conn
            .query_row("SELECT * FROM sales", [], |r| Sale::from_row(r))
            .unwrap();
        assert_eq!(row, s);

        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["date"], "2026-11-15");
        assert_eq!(json["channel"], "e-katalog");
        assert_eq!(serde_json::from_value::<Sale>(json).unwrap(), s);
    }

    #[test]
    fn a_patch_writes_only_the_fields_it_names() {
        let mut doc = AutoCommit::new();
        let p = Product {
            id: "p1".into(),
            name: "Kursi".into(),
            category: "furnitur".into(),
            price_idr: 100,
            unit: "pcs".into(),
            stock: 4,
            created_at: "t".into(),
            updated_at: "t".into(),
            ..Default::default()
        };
        let obj = p.insert_into(&mut doc).unwrap();
        let before = doc.get_heads();
        ProductPatch {
            name: Some("Kursi".into()),
            ..Default::default()
        }
        .apply(&mut doc, &obj)
        .unwrap();
        assert_eq!(doc.get_heads(), before, "an unchanged value writes nothing");
        ProductPatch {
            price_idr: Some(120),
            ..Default::default()
        }
        .apply(&mut doc, &obj)
        .unwrap();
        let (back, _) = Product::read(&doc, "p1").unwrap().unwrap();
        assert_eq!(
            (back.price_idr, back.stock, back.name.as_str()),
            (120, 4, "Kursi")
        );
    }

    #[test]
    fn an_optional_value_is_absent_or_null_when_none_and_reads_back() {
        use super::FieldValue;
        use automerge::ScalarValue;
        use rusqlite::types::{ToSqlOutput, Value, ValueRef};
        let none: Option<String> = None;
        assert!(none.is_omitted());
        assert_eq!(none.to_scalar(), ScalarValue::Null);
        assert_eq!(Option::<String>::from_scalar(None), Ok(None));
        assert_eq!(
            Option::<String>::from_scalar(Some(&ScalarValue::Null)),
            Ok(None)
        );
        assert!(matches!(none.to_sql(), ToSqlOutput::Owned(Value::Null)));
        assert_eq!(Option::<String>::from_sql(ValueRef::Null), Ok(None));
        let some = Some("kayu jati".to_string());
        assert!(!some.is_omitted());
        assert_eq!(
            Option::<String>::from_scalar(Some(&some.to_scalar())),
            Ok(some.clone())
        );
        assert_eq!(
            Option::<String>::from_sql(ValueRef::Text(b"kayu jati")),
            Ok(some.clone())
        );
        // A value of the wrong type is an error, not a silent None.
        assert!(Option::<i64>::from_scalar(Some(&ScalarValue::Str("x".into()))).is_err());
    }

    #[test]
    fn a_patch_reads_any_field_from_what_a_person_typed() {
        let mut p = ProductPatch::default();
        assert_eq!(p.set("price_idr", "Rp 275.000"), Ok(true));
        assert_eq!(p.set("nominated", "ya"), Ok(true));
        assert_eq!(p.set("name", "  Kursi jati "), Ok(true));
        assert_eq!(p.set("unit", "   "), Ok(true), "an empty text sets nothing");
        p.set(
            "certifications",
            "halal:ID31110000123:31/01/2028; pirt:2063507010123",
        )
        .unwrap();
        assert_eq!(p.price_idr, Some(275_000));
        assert_eq!(p.nominated, Some(true));
        assert_eq!(p.name.as_deref(), Some("Kursi jati"));
        assert_eq!(p.unit, None);
        assert_eq!(p.certifications.as_ref().map(Vec::len), Some(2));
        let err = p.set("price_idr", "banyak").unwrap_err();
        assert_eq!(err.field, "price_idr");
        assert_eq!(p.set("photos", "foto.jpg").unwrap_err().field, "photos");
        assert_eq!(p.set("warna", "merah"), Ok(false), "no such field");
        let mut product = Product {
            unit: "pcs".into(),
            ..Default::default()
        };
        p.apply_to(&mut product);
        assert_eq!((product.price_idr, product.unit.as_str()), (275_000, "pcs"));
        let mut d = DecisionPatch::default();
        assert_eq!(d.set("status", "entah").unwrap_err().field, "status");
        d.set("status", "approved").unwrap();
        assert_eq!(d.status, Some(CurationStatus::Approved));
    }

    #[test]
    fn a_fixed_set_names_its_values_when_refusing_one() {
        let err = "diskon".parse::<CurationStatus>().unwrap_err();
        assert_eq!(err.field, "status");
        assert!(err.reason.contains("approved, featured"), "{err}");
        assert_eq!("in_review".parse(), Ok(CurationStatus::InReview));
    }
}
