//! The `national` document: the catalogue's categories, seeded once, and the UPT registry
//! the hub admin keeps in it (see [`crate::db::HubDb::register_upts`]).

use karya_shared::StoreError;
use karya_shared::schema::{self, DocId};
use karya_shared::store::{Backend, Replica};

/// Seeds the national catalogue once, when the hub's database is new.
pub fn ensure_seeded<B: Backend>(store: &Replica<B>) -> Result<(), StoreError> {
    if store.meta("national_seeded")?.is_some() {
        return Ok(());
    }
    store.change(&DocId::National, schema::seed_national)?;
    store.set_meta("national_seeded", &karya_shared::model::now_rfc3339())
}
