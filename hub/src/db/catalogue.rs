//! The categories in force, read for checking the records a sync merges.

use super::Result;
use crate::config::Config;
use karya_shared::sql::Sql;

/// The categories in force, for checking merged records: read from the `national`
/// document's materialized table on a connection of its own, again at most every 30 s.
pub(super) struct Catalogue {
    source: CatalogueSource,
    cached: std::sync::Mutex<Option<(std::time::Instant, std::sync::Arc<Slugs>)>>,
}

/// Product category slugs, training category slugs.
pub(super) struct Slugs {
    products: Vec<String>,
    trainings: Vec<String>,
}

/// Where the catalogue reads the categories: a connection of its own (the check runs while
/// the store's writer may be held).
pub(super) enum CatalogueSource {
    Sqlite(std::sync::Mutex<rusqlite::Connection>),
    Postgres(Box<karya_shared::store::PgBackend>),
}

impl Catalogue {
    pub(super) fn open(config: &Config) -> Result<Catalogue> {
        let source = if config.is_postgres() {
            CatalogueSource::Postgres(Box::new(karya_shared::store::PgBackend::open(
                &config.db.to_string_lossy(),
                None,
                1,
            )?))
        } else {
            let conn = rusqlite::Connection::open_with_flags(
                &config.db,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            CatalogueSource::Sqlite(std::sync::Mutex::new(conn))
        };
        Ok(Catalogue {
            source,
            cached: std::sync::Mutex::new(None),
        })
    }

    /// The slugs in force; shared, so that checking a bootstrap's half a million rows copies
    /// nothing.
    pub(super) fn slugs(&self) -> std::sync::Arc<Slugs> {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, slugs)) = cached.as_ref()
            && at.elapsed() < std::time::Duration::from_secs(30)
        {
            return slugs.clone();
        }
        let read = |kind: &str| -> Vec<String> {
            let sql = "SELECT slug FROM categories WHERE kind = ?1";
            match &self.source {
                CatalogueSource::Sqlite(conn) => {
                    let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
                    Sql::Lite(&conn).query_map(sql, [kind], |r| r.get(0))
                }
                CatalogueSource::Postgres(b) => {
                    b.with(|c| Sql::Pg(c).query_map(sql, [kind], |r| r.get(0)))
                }
            }
            .unwrap_or_default()
        };
        let (mut products, mut trainings) = (read("product"), read("training"));
        // Before the national document is materialized: the built-in catalogue.
        if products.is_empty() {
            products = karya_shared::schema::categories(None, false);
        }
        if trainings.is_empty() {
            trainings = karya_shared::schema::categories(None, true);
        }
        let slugs = std::sync::Arc::new(Slugs {
            products,
            trainings,
        });
        *cached = Some((std::time::Instant::now(), slugs.clone()));
        slugs
    }

    pub(super) fn check(&self, row: &karya_shared::materialize::RowOp) -> Result<(), String> {
        use karya_shared::materialize::{RowState, check_row};
        use karya_shared::record::kind::Catalogue;
        // Only rows that name a category need the catalogue.
        if !(row.kind().uses_catalogue && matches!(row.row, RowState::Row(_))) {
            return check_row(row, &Catalogue::default()).map_err(|e| e.to_string());
        }
        let slugs = self.slugs();
        let p: Vec<&str> = slugs.products.iter().map(String::as_str).collect();
        let t: Vec<&str> = slugs.trainings.iter().map(String::as_str).collect();
        let catalogue = Catalogue {
            products: &p,
            trainings: &t,
        };
        check_row(row, &catalogue).map_err(|e| e.to_string())
    }
}
