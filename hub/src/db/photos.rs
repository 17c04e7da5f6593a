//! Which photos the hub holds, and which live products name them.

use super::{HubDb, Result};
use rusqlite::params;

impl HubDb {
    /// The size of photo blob `hash` as a live product of `upt` names it, if one does.
    pub fn photo_size(&self, upt: &str, hash: &str) -> Result<Option<u64>> {
        self.read(|c| {
            c.query_opt(
                "SELECT size FROM product_photos WHERE hash = ?1 AND upt = ?2 LIMIT 1",
                [hash, upt],
                |r| r.get::<_, i64>(0),
            )
            .map(|s| s.map(|s| s.max(0) as u64))
        })
    }

    /// Every photo blob a live product of `upt` names, with its size.
    pub fn photos_of(&self, upt: &str) -> Result<Vec<(String, u64)>> {
        self.read(|c| {
            c.query_map(
                "SELECT DISTINCT hash, size FROM product_photos WHERE upt = ?1",
                [upt],
                |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)),
            )
        })
    }

    /// Every photo blob a live product names (what blob collection keeps).
    pub fn referenced_blobs(&self) -> Result<std::collections::HashSet<String>> {
        self.read(|c| {
            Ok(
                c.query_map("SELECT DISTINCT hash FROM product_photos", params![], |r| {
                    r.get(0)
                })?
                .into_iter()
                .collect(),
            )
        })
    }

    /// Whether a live product of a UPT in `kanwil` names this photo blob.
    pub fn blob_in_kanwil(&self, hash: &str, kanwil: &str) -> Result<bool> {
        self.read(|c| {
            c.query_row(
                "SELECT EXISTS (SELECT 1 FROM product_photos WHERE hash = ?1
                 AND upt IN (SELECT code FROM upts WHERE kanwil = ?2))",
                [hash, kanwil],
                |r| r.get(0),
            )
        })
    }
}
