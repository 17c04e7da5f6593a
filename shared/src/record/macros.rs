//! The declaration macros: [`record!`](crate::record!), [`fixed_set!`](crate::fixed_set!)
//! and [`text_newtype!`](crate::text_newtype!). Each expands, where a kind is declared, into
//! the type and everything that follows from it (see the [module](crate::record)).

/// A field's name in documents and rows: the Rust name, or the one given with `as`.
#[macro_export]
#[doc(hidden)]
macro_rules! field_name {
    ($f:ident) => {
        stringify!($f)
    };
    ($f:ident, $name:literal) => {
        $name
    };
}

/// Declares a record kind: see the [module](crate::record). Groups, in this order:
/// - `key (…)`: the fields that name the record (its document key is `KIND:key1:key2…`);
///   they are not stored in its map;
/// - `edit Patch { … }`: fields an edit may change, one `Option` each in the patch;
///   concurrent writes to them are reported as conflicts;
/// - `count { … }`: counters (concurrent increments add up);
/// - `keep { … }`: fields written when the record is made.
///
/// `=> ["header", …]` after a field's type lists the spreadsheet headers (lower case, letters
/// and digits only) that an import reads into it.
#[macro_export]
macro_rules! record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident = $kind:literal;
        key ($($(#[$km:meta])* $key:ident : $kty:ty),+ $(,)?)
        edit $patch:ident {
            $( $(#[$em:meta])* $ef:ident $(as $efn:literal)? : $ety:ty $(=> [$($ea:literal),* $(,)?])? ),* $(,)?
        }
        count {
            $( $(#[$cm:meta])* $cf:ident : $cty:ty $(=> [$($ca:literal),* $(,)?])? ),* $(,)?
        }
        keep {
            $( $(#[$pm:meta])* $pf:ident : $pty:ty $(=> [$($pa:literal),* $(,)?])? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            $( $(#[$km])* pub $key: $kty, )+
            $( $(#[$em])* pub $ef: $ety, )*
            $( $(#[$cm])* pub $cf: $cty, )*
            $( $(#[$pm])* pub $pf: $pty, )*
        }

        #[doc = concat!("The fields of a ", $kind, " that an edit may change; `None` leaves a field as it is.")]
        #[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub struct $patch {
            $( pub $ef: Option<$ety>, )*
        }

        impl $patch {
            pub fn is_empty(&self) -> bool {
                true $( && self.$ef.is_none() )*
            }

            /// Sets the field declared as `field` from what a person typed, read as its type
            /// reads input ([`FromInput`](crate::input::FromInput)); an empty text sets
            /// nothing. `Ok(false)`: no field of that name may be edited.
            pub fn set(
                &mut self,
                field: &str,
                text: &str,
            ) -> Result<bool, $crate::record::ValidationError> {
                $(
                    if field == stringify!($ef) {
                        if !text.trim().is_empty() {
                            self.$ef = Some(
                                <$ety as $crate::input::FromInput>::from_input(text).map_err(
                                    |reason| $crate::record::ValidationError::new(stringify!($ef), reason),
                                )?,
                            );
                        }
                        return Ok(true);
                    }
                )*
                let _ = (field, text);
                Ok(false)
            }

            /// As [`Self::set`], except that an empty text clears a field where emptying
            /// means something (no text, no items, no: [`FromInput::cleared`]), as an
            /// emptied form field does.
            ///
            /// [`FromInput::cleared`]: $crate::input::FromInput::cleared
            pub fn set_or_clear(
                &mut self,
                field: &str,
                text: &str,
            ) -> Result<bool, $crate::record::ValidationError> {
                $(
                    if field == stringify!($ef) && text.trim().is_empty() {
                        self.$ef = <$ety as $crate::input::FromInput>::cleared();
                        return Ok(true);
                    }
                )*
                self.set(field, text)
            }

            /// Writes the fields it names into `record`.
            pub fn apply_to(&self, record: &mut $name) {
                $(
                    if let Some(v) = &self.$ef {
                        record.$ef = v.clone();
                    }
                )*
                let _ = record;
            }

            /// Writes the fields it names that differ from the map's.
            pub fn apply(
                &self,
                doc: &mut automerge::AutoCommit,
                obj: &automerge::ObjId,
            ) -> Result<(), $crate::record::SchemaError> {
                $(
                    if let Some(v) = &self.$ef {
                        $crate::record::put_if_changed(doc, obj, $crate::field_name!($ef $(, $efn)?), $crate::record::FieldValue::to_scalar(v))?;
                    }
                )*
                let _ = (doc, obj);
                Ok(())
            }
        }

        impl $name {
            /// The first part of its document key, and the name people read.
            pub const KIND: &'static str = $kind;
            /// Its fields in documents, which are also its columns.
            pub const FIELDS: &'static [&'static str] = &[
                $( $crate::field_name!($ef $(, $efn)?), )*
                $( stringify!($cf), )*
                $( stringify!($pf), )*
            ];
            /// The fields an edit may change (and whose conflicts are reported).
            pub const EDITABLE: &'static [&'static str] = &[ $( $crate::field_name!($ef $(, $efn)?), )* ];
            /// Each field an edit may change, with its type as declared (`bool`, `i64`, …).
            pub const EDIT_TYPES: &'static [(&'static str, &'static str)] = &[
                $( (stringify!($ef), stringify!($ety)), )*
            ];
            /// The columns that name its row, beside the UPT.
            pub const KEY_COLUMNS: &'static [&'static str] = &[ $( stringify!($key), )+ ];
            /// Each field an import fills, and the headers that mean it.
            pub const IMPORT: &'static [(&'static str, &'static [&'static str])] = &[
                $( $( (stringify!($ef), &[$($ea),*]), )? )*
                $( $( (stringify!($cf), &[$($ca),*]), )? )*
                $( $( (stringify!($pf), &[$($pa),*]), )? )*
            ];

            /// A field an edit may change, as a person would type it (`None`: no such
            /// field), for a form showing the record.
            pub fn input_text(&self, field: &str) -> Option<String> {
                $(
                    if field == stringify!($ef) {
                        return Some($crate::input::FromInput::to_input(&self.$ef));
                    }
                )*
                let _ = field;
                None
            }

            /// The record's key in its document.
            pub fn doc_key($($key: &str),+) -> String {
                let mut key = String::from($kind);
                $( key.push(':'); key.push_str($key); )+
                key
            }

            /// This record's key in its document.
            pub fn key(&self) -> String {
                Self::doc_key($(&self.$key),+)
            }

            /// Reads the record at its key: `None` when there is none, an error naming the
            /// field when a field does not hold its type.
            pub fn read(
                doc: &automerge::AutoCommit,
                $($key: &str),+
            ) -> Option<Result<(Self, $crate::record::Conflicts), $crate::record::ValidationError>> {
                let f = $crate::record::Fields::read(doc, &Self::doc_key($($key),+))?;
                Some(Self::from_fields(&f, $($key),+))
            }

            pub fn from_fields(
                f: &$crate::record::Fields<'_>,
                $($key: &str),+
            ) -> Result<(Self, $crate::record::Conflicts), $crate::record::ValidationError> {
                let record = Self {
                    $( $key: $key.into(), )+
                    $( $ef: f.typed($crate::field_name!($ef $(, $efn)?))?, )*
                    $( $cf: f.typed(stringify!($cf))?, )*
                    $( $pf: f.typed(stringify!($pf))?, )*
                };
                Ok((record, f.conflicts(Self::EDITABLE)))
            }

            /// Adds the record as a new map at its key (counters as counters).
            pub fn insert_into(
                &self,
                doc: &mut automerge::AutoCommit,
            ) -> Result<automerge::ObjId, $crate::record::SchemaError> {
                use automerge::transaction::Transactable;
                let obj = doc.put_object(automerge::ROOT, self.key(), automerge::ObjType::Map)?;
                $(
                    if !$crate::record::FieldValue::is_omitted(&self.$ef) {
                        doc.put(&obj, $crate::field_name!($ef $(, $efn)?), $crate::record::FieldValue::to_scalar(&self.$ef))?;
                    }
                )*
                $( doc.put(&obj, stringify!($cf), automerge::ScalarValue::counter(self.$cf))?; )*
                $(
                    if !$crate::record::FieldValue::is_omitted(&self.$pf) {
                        doc.put(&obj, stringify!($pf), $crate::record::FieldValue::to_scalar(&self.$pf))?;
                    }
                )*
                Ok(obj)
            }

            /// Writes every field into the record's maps, making one if there is none; only
            /// fields that differ are written.
            pub fn upsert_into(
                &self,
                doc: &mut automerge::AutoCommit,
            ) -> Result<(), $crate::record::SchemaError> {
                let objs = $crate::record::ensure_maps(doc, &self.key())?;
                $(
                    // A value a new record leaves out stays out of a map that lacks it.
                    if !($crate::record::FieldValue::is_omitted(&self.$ef)
                        && $crate::record::absent_from_all(doc, &objs, $crate::field_name!($ef $(, $efn)?))?)
                    {
                        $crate::record::put_all_if_changed(doc, &objs, $crate::field_name!($ef $(, $efn)?), $crate::record::FieldValue::to_scalar(&self.$ef))?;
                    }
                )*
                $( $crate::record::put_all_if_changed(doc, &objs, stringify!($cf), automerge::ScalarValue::counter(self.$cf))?; )*
                $( $crate::record::put_all_if_changed(doc, &objs, stringify!($pf), $crate::record::FieldValue::to_scalar(&self.$pf))?; )*
                Ok(())
            }

            /// Its row's columns: key and fields, named as in [`Self::FIELDS`].
            pub fn columns(&self) -> Vec<(&'static str, rusqlite::types::ToSqlOutput<'_>)> {
                vec![
                    $( (stringify!($key), $crate::record::FieldValue::to_sql(&self.$key)), )+
                    $( ($crate::field_name!($ef $(, $efn)?), $crate::record::FieldValue::to_sql(&self.$ef)), )*
                    $( (stringify!($cf), $crate::record::FieldValue::to_sql(&self.$cf)), )*
                    $( (stringify!($pf), $crate::record::FieldValue::to_sql(&self.$pf)), )*
                ]
            }

            /// Reads it from a row that has its columns, by name.
            pub fn from_row<R: $crate::record::Columns + ?Sized>(r: &R) -> rusqlite::Result<Self> {
                Ok(Self {
                    $( $key: $crate::record::column(r, stringify!($key))?, )+
                    $( $ef: $crate::record::column(r, $crate::field_name!($ef $(, $efn)?))?, )*
                    $( $cf: $crate::record::column(r, stringify!($cf))?, )*
                    $( $pf: $crate::record::column(r, stringify!($pf))?, )*
                })
            }
        }
        impl $crate::record::kind::Declared for $name {
            const KIND: &'static str = $kind;
            const KEY_COLUMNS: &'static [&'static str] = Self::KEY_COLUMNS;
            const FIELDS: &'static [&'static str] = Self::FIELDS;
            fn read_parts(
                doc: &automerge::AutoCommit,
                parts: &[&str],
            ) -> Option<Result<(Self, $crate::record::Conflicts), $crate::record::ValidationError>> {
                let mut parts = parts.iter();
                $( let $key: &str = parts.next()?; )+
                Self::read(doc, $($key),+)
            }
            fn row_columns(&self) -> Vec<(&'static str, rusqlite::types::ToSqlOutput<'_>)> {
                self.columns()
            }
        }
    };
}

/// Declares a fixed set of values: an enum whose variants are written as the given strings in
/// documents, rows, JSON and on the command line, and that reads them back with an error that
/// lists the accepted values.
#[macro_export]
macro_rules! fixed_set {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($field:literal) {
            $( $(#[$vm:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$vm])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every value, in the order people read them.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];
            /// Every value as written.
            pub const NAMES: &'static [&'static str] = &[ $( $text, )+ ];

            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::record::ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $text => Ok($name::$variant), )+
                    _ => Err($crate::record::ValidationError::new(
                        $field,
                        $crate::text::input::unknown_choice(s, &Self::NAMES.join(", ")),
                    )),
                }
            }
        }

        impl $crate::input::FromInput for $name {
            fn from_input(text: &str) -> Result<Self, String> {
                $crate::input::match_choice(
                    $field,
                    text,
                    &$crate::input::choices_of(Self::NAMES),
                )
                .and_then(|c| c.parse())
                .map_err(|e| e.reason)
            }
            fn to_input(&self) -> String {
                self.as_str().to_string()
            }
        }

        impl clap::ValueEnum for $name {
            fn value_variants<'a>() -> &'a [Self] {
                Self::ALL
            }
            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(clap::builder::PossibleValue::new(self.as_str()))
            }
        }

        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(
                    self.as_str().as_bytes(),
                )))
            }
        }

        impl $crate::record::FieldValue for $name {
            fn to_scalar(&self) -> automerge::ScalarValue {
                automerge::ScalarValue::Str(self.as_str().into())
            }
            fn from_scalar(v: Option<&automerge::ScalarValue>) -> Result<Self, String> {
                match v {
                    None => Err("is missing".into()),
                    Some(automerge::ScalarValue::Str(s)) => {
                        s.parse().map_err(|e: $crate::record::ValidationError| e.reason)
                    }
                    Some(_) => Err("is not text".into()),
                }
            }
            fn to_sql(&self) -> rusqlite::types::ToSqlOutput<'_> {
                rusqlite::types::ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(
                    self.as_str().as_bytes(),
                ))
            }
            fn from_sql(v: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
                v.as_str()
                    .map_err(|e| e.to_string())?
                    .parse()
                    .map_err(|e: $crate::record::ValidationError| e.reason)
            }
        }
    };
}

/// Declares a text newtype (an id, a code): transparent in JSON and rows, read as `&str`.
/// `left_out_when_empty = true` after the name: a new record's map leaves the field out while
/// it is empty (read back as empty), for optional fields most records never fill.
#[macro_export]
macro_rules! text_newtype {
    ($(#[$meta:meta])* pub struct $name:ident; $(left_out_when_empty = $omit:literal)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }
        impl $crate::input::FromInput for $name {
            fn from_input(text: &str) -> Result<Self, String> {
                Ok(Self(text.trim().to_string()))
            }
            fn to_input(&self) -> String {
                self.0.clone()
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_string())
            }
        }
        impl From<&String> for $name {
            fn from(s: &String) -> Self {
                Self(s.clone())
            }
        }
        impl From<$name> for String {
            fn from(s: $name) -> String {
                s.0
            }
        }
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(
                    self.0.as_bytes(),
                )))
            }
        }
        impl $crate::record::FieldValue for $name {
            fn to_scalar(&self) -> automerge::ScalarValue {
                automerge::ScalarValue::Str(self.0.as_str().into())
            }
            fn from_scalar(v: Option<&automerge::ScalarValue>) -> Result<Self, String> {
                <String as $crate::record::FieldValue>::from_scalar(v).map(Self)
            }
            fn is_omitted(&self) -> bool {
                let omit = false $(|| $omit)?;
                omit && self.0.is_empty()
            }
            fn to_sql(&self) -> rusqlite::types::ToSqlOutput<'_> {
                rusqlite::types::ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(
                    self.0.as_bytes(),
                ))
            }
            fn from_sql(v: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
                <String as $crate::record::FieldValue>::from_sql(v).map(Self)
            }
        }
    };
}
