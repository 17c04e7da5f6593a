//! The audit: the change log's entries by UPT and time, and HQ's decisions logged beside
//! the curation documents (a product's history is read from its document: `schema::history`).

use super::{HubDb, Result};
use rusqlite::params;
use serde::Serialize;

/// Which part of the change log to show.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub upt: Option<String>,
    /// UTC, `YYYY-MM-DDTHH:MM:SS` (see [`crate::audit::parse_since`]).
    pub since: Option<String>,
    /// The `seq` of the last entry already shown (0: from the start).
    pub after: i64,
    pub limit: usize,
}

/// One change the hub stored.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    /// When the hub stored it (UTC).
    pub at: String,
    pub doc: String,
    /// The UPT the document belongs to (`""` for `national`).
    pub upt: String,
    /// The change's hash, as Automerge names it.
    pub hash: String,
    /// `UPT/agent-peer` for a change an agent sent, `local` for the hub's own.
    pub peer: String,
    /// The id of the token it came with (`""` for a command run at the hub).
    pub token: String,
    pub token_name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// The `seq` to pass as `after` for the next page; `None` on the last one.
    pub next: Option<i64>,
}

impl HubDb {
    /// A page of the change log, oldest first: every change the hub stored, with its
    /// document, UPT, origin and the name of the token it came with.
    pub fn audit(&self, q: &AuditQuery) -> Result<AuditPage> {
        self.read(|c| {
            let mut items = c.query_map(
                "SELECT l.seq, l.at, l.doc, l.upt, l.hash, l.peer, l.token, t.name
                 FROM change_log l LEFT JOIN tokens t ON t.id = l.token
                 WHERE (CAST(?1 AS TEXT) IS NULL OR l.upt = ?1)
                   AND (CAST(?2 AS TEXT) IS NULL OR l.at >= ?2) AND l.seq > ?3
                 ORDER BY l.seq LIMIT ?4",
                params![q.upt, q.since, q.after, q.limit as i64 + 1],
                |r| {
                    Ok(AuditEntry {
                        seq: r.get(0)?,
                        at: r.get(1)?,
                        doc: r.get(2)?,
                        upt: r.get(3)?,
                        hash: r.get(4)?,
                        peer: r.get(5)?,
                        token: r.get(6)?,
                        token_name: r.get(7)?,
                    })
                },
            )?;
            let next = if items.len() > q.limit {
                items.truncate(q.limit);
                items.last().map(|e| e.seq)
            } else {
                None
            };
            Ok(AuditPage { items, next })
        })
    }

    /// Adds a decision to its product's history.
    pub fn log_decision(&self, upt: &str, d: &karya_shared::model::CurationDecision) -> Result<()> {
        self.write(|c| {
            c.execute(
                "INSERT INTO curation_log (upt, product_id, status, note, decided_by, decided_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![
                    upt,
                    d.product_id.as_str(),
                    d.status.as_str(),
                    d.note,
                    d.decided_by,
                    d.decided_at
                ],
            )
            .map(|_| ())
        })
    }
}
