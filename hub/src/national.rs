//! The `national` document and the UPT registry the hub admin keeps in it.

use karya_shared::model::UptInfo;
use karya_shared::schema::{self, DocId};
use karya_shared::{Store, StoreError};

/// Seeds the national catalogue once, when the hub's database is new.
pub fn ensure_seeded(store: &mut Store) -> Result<(), StoreError> {
    if store.meta("national_seeded")?.is_some() {
        return Ok(());
    }
    store.change(&DocId::National, schema::seed_national)?;
    store.set_meta("national_seeded", &karya_shared::model::now_rfc3339())
}

pub fn register_upt(store: &mut Store, upt: &UptInfo) -> Result<(), StoreError> {
    upt.validate()?;
    ensure_seeded(store)?;
    store.change(&DocId::National, |d| schema::put_upt(d, upt))
}

pub fn upts(store: &Store) -> rusqlite::Result<Vec<UptInfo>> {
    let mut stmt = store
        .conn()
        .prepare("SELECT code, name, type, kanwil FROM upts ORDER BY code")?;
    stmt.query_map([], |r| {
        Ok(UptInfo {
            code: r.get(0)?,
            name: r.get(1)?,
            kind: r.get(2)?,
            kanwil: r.get(3)?,
        })
    })?
    .collect()
}

pub fn is_registered(store: &Store, code: &str) -> rusqlite::Result<bool> {
    store.conn().query_row(
        "SELECT EXISTS(SELECT 1 FROM upts WHERE code = ?1)",
        [code],
        |r| r.get(0),
    )
}
