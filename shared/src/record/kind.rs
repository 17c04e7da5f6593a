//! The registry of record kinds: what a kind's records are called in documents, which
//! document holds them, the table their rows go to and how a row is checked and written.
//!
//! Every kind karya ships is one [`Kind`] in [`crate::kinds::KINDS`], made from its
//! [`record!`](crate::record!) declaration by [`Kind::of`]; a kind added beside them (a test's,
//! a later release's) is registered once at start ([`crate::kinds::register`]). Nothing else
//! lists kinds: a record key ([`crate::kinds::RecordKey`]) and a row to write
//! ([`crate::materialize::RowOp`]) name their kind by reference, and the storage backends
//! write any kind's rows from [`RowWrite`]s.

use super::{Conflicts, ValidationError};
use automerge::AutoCommit;
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::any::Any;
use std::fmt;

/// Which kind of document a kind's records live in (DESIGN.md's three).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Home {
    /// `upt/<code>`: what the UPT records.
    Upt,
    /// `curation/<code>`: HQ's decisions on the UPT's products.
    Curation,
    /// `national`: the registry and the catalogue's categories.
    National,
}

/// The category slugs in force, for the rows that name one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Catalogue<'a> {
    pub products: &'a [&'a str],
    pub trainings: &'a [&'a str],
}

/// A table whose rows belong to another kind's record and are written again with it (a
/// product's photos): `by` is its column holding the record's first key part.
#[derive(Debug)]
pub struct Child {
    pub table: &'static str,
    pub key: &'static [&'static str],
    pub by: &'static str,
}

/// What the [`record!`](crate::record!) declaration gives every kind.
pub trait Declared: Sized {
    const KIND: &'static str;
    const KEY_COLUMNS: &'static [&'static str];
    const FIELDS: &'static [&'static str];
    /// Reads the record named by its key parts (`None`: no such record).
    fn read_parts(
        doc: &AutoCommit,
        parts: &[&str],
    ) -> Option<Result<(Self, Conflicts), ValidationError>>;
    /// Its row's columns, key included.
    fn row_columns(&self) -> Vec<(&'static str, ToSqlOutput<'_>)>;
}

/// A declared record kept in a document and a table: how it is read for its row, what is
/// checked before a hub stores the row, and the rows written beside it. Every method has
/// a default; a kind says only where it differs.
pub trait Stored: Declared + fmt::Debug + Clone + Send + Sync + 'static {
    /// The record as its row must show it (by default: as declared).
    fn read_stored(
        doc: &AutoCommit,
        parts: &[&str],
    ) -> Option<Result<(Self, Conflicts), ValidationError>> {
        Self::read_parts(doc, parts)
    }
    /// The record model's rules a row must hold before a hub stores it.
    fn check(&self, catalogue: &Catalogue) -> Result<(), ValidationError> {
        let _ = catalogue;
        Ok(())
    }
    /// Rows of [`Kind::children`] tables written after its own.
    fn child_rows<'a>(&'a self, upt: &'a str, out: &mut Vec<RowWrite<'a>>) {
        let _ = (upt, out);
    }
}

/// One record read off a document, ready for its table, whatever its kind.
pub trait Row: fmt::Debug + Send + Sync {
    fn columns(&self) -> Vec<(&'static str, ToSqlOutput<'_>)>;
    fn conflicts(&self) -> &Conflicts;
    fn check(&self, catalogue: &Catalogue) -> Result<(), ValidationError>;
    fn child_rows<'a>(&'a self, upt: &'a str, out: &mut Vec<RowWrite<'a>>);
    /// The record itself, for a caller that knows its kind: `row.as_any().downcast_ref::<Product>()`.
    fn as_any(&self) -> &dyn Any;
}

#[derive(Debug)]
struct Read<T>(T, Conflicts);

impl<T: Stored> Row for Read<T> {
    fn columns(&self) -> Vec<(&'static str, ToSqlOutput<'_>)> {
        self.0.row_columns()
    }
    fn conflicts(&self) -> &Conflicts {
        &self.1
    }
    fn check(&self, catalogue: &Catalogue) -> Result<(), ValidationError> {
        self.0.check(catalogue)
    }
    fn child_rows<'a>(&'a self, upt: &'a str, out: &mut Vec<RowWrite<'a>>) {
        self.0.child_rows(upt, out)
    }
    fn as_any(&self) -> &dyn Any {
        &self.0
    }
}

fn read_boxed<T: Stored>(
    doc: &AutoCommit,
    parts: &[&str],
) -> Option<Result<Box<dyn Row>, ValidationError>> {
    Some(T::read_stored(doc, parts)?.map(|(r, c)| Box::new(Read(r, c)) as Box<dyn Row>))
}

/// How a kind's record is read for its row.
type ReadFn = fn(&AutoCommit, &[&str]) -> Option<Result<Box<dyn Row>, ValidationError>>;

/// A kind of record, registered once.
pub struct Kind {
    /// The first part of its records' keys (`product`), and its name in messages.
    pub name: &'static str,
    pub home: Home,
    /// The table of its rows (their key: `upt` for UPT and curation records, then
    /// [`Kind::fixed`]'s columns, then [`Kind::key_columns`]).
    pub table: &'static str,
    /// The columns that name its row, one per part of its key after the kind.
    pub key_columns: &'static [&'static str],
    /// Its fields, which are also its columns.
    pub fields: &'static [&'static str],
    /// Columns with the same value in every row of this kind, for kinds sharing a table.
    pub fixed: &'static [(&'static str, &'static str)],
    /// Its rows keep the values replicas set concurrently (a `conflicts` column).
    pub keeps_conflicts: bool,
    /// Its rows name a category, so checking them needs the catalogue in force.
    pub uses_catalogue: bool,
    pub children: &'static [Child],
    /// How a message names one record: `{}` is its first key part.
    pub what: &'static str,
    read: ReadFn,
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kind({})", self.name)
    }
}

impl PartialEq for Kind {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for Kind {}

impl Kind {
    /// The kind of a declared record `T`, kept in documents of `home` and rows of `table`.
    pub const fn of<T: Stored>(home: Home, table: &'static str) -> Kind {
        Kind {
            name: T::KIND,
            home,
            table,
            key_columns: T::KEY_COLUMNS,
            fields: T::FIELDS,
            fixed: &[],
            keeps_conflicts: false,
            uses_catalogue: false,
            children: &[],
            what: "{}",
            read: read_boxed::<T>,
        }
    }
    pub const fn keeping_conflicts(mut self) -> Kind {
        self.keeps_conflicts = true;
        self
    }
    pub const fn using_catalogue(mut self) -> Kind {
        self.uses_catalogue = true;
        self
    }
    pub const fn with_children(mut self, children: &'static [Child]) -> Kind {
        self.children = children;
        self
    }
    pub const fn with_fixed(mut self, fixed: &'static [(&'static str, &'static str)]) -> Kind {
        self.fixed = fixed;
        self
    }
    pub const fn described(mut self, what: &'static str) -> Kind {
        self.what = what;
        self
    }

    /// Reads the record named by `parts` off a document.
    pub fn read(
        &self,
        doc: &AutoCommit,
        parts: &[&str],
    ) -> Option<Result<Box<dyn Row>, ValidationError>> {
        (self.read)(doc, parts)
    }

    /// The primary key of its table.
    pub fn table_key(&self) -> Vec<&'static str> {
        let mut key = Vec::new();
        if self.home != Home::National {
            key.push("upt");
        }
        key.extend(self.fixed.iter().map(|(c, _)| *c));
        key.extend(self.key_columns);
        key
    }
}

/// One statement a row becomes, whatever the engine: each backend writes it in its own
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

/// A text column's value.
pub fn text(s: &str) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
}
