//! The UPTs: registered (with their tokens), their last syncs and what was refused, their
//! Kanwil.

use super::tokens::issue_token;
use super::{HubDb, Result};
use crate::access::Role;
use karya_shared::StoreError as E;
use karya_shared::sql::Sql;
use karya_shared::views;
use rusqlite::params;
use serde::Serialize;
use std::collections::HashMap;

/// Refusals of one UPT's syncs of one document, of one kind.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RefusalRow {
    pub doc: String,
    pub kind: String,
    pub last_reason: String,
    pub count: i64,
    pub last_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("UPT number {} ({code}): {reason}; nothing was registered", .index + 1)]
    Invalid {
        index: usize,
        code: String,
        reason: String,
    },
    #[error("UPT {0} appears twice; nothing was registered")]
    Twice(String),
    #[error(
        "already registered: {}; nothing was registered (use --update to change their details; no new token is issued)",
        .0.join(", ")
    )]
    Exists(Vec<String>),
    #[error(transparent)]
    Store(#[from] E),
}

#[derive(Debug, Clone, Serialize)]
pub struct UptRow {
    pub code: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub kanwil: String,
    pub last_sync_at: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_agent_version: Option<String>,
    /// No successful sync within the configured window (or never).
    pub stale: bool,
    /// Refused attempts with a token of this UPT's agent (revoked, or a wrong secret).
    pub token_failures: i64,
    pub last_token_failure_at: Option<String>,
    pub products: i64,
    pub sales: i64,
    pub trainings: i64,
    pub participants: i64,
}

/// The time `hours` ago, written as the hub writes times (RFC 3339, UTC).
pub(super) fn hours_ago(hours: i64) -> String {
    let t = time::OffsetDateTime::now_utc() - time::Duration::hours(hours);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub(super) fn upt_rows(conn: &mut Sql<'_>, stale_after_hours: i64) -> Result<Vec<UptRow>> {
    let sql = "SELECT u.code, u.name, u.type, u.kanwil, s.last_sync_at, s.last_attempt_at, s.last_agent_version,
           CASE WHEN s.last_sync_at IS NULL OR s.last_sync_at < ?1 THEN 1 ELSE 0 END,
           COALESCE(f.count, 0), f.last_at
         FROM upts u LEFT JOIN upt_status s ON s.upt = u.code
           LEFT JOIN token_failures f ON f.upt = u.code
         ORDER BY u.kanwil, u.code";
    conn.query_map(sql, [hours_ago(stale_after_hours)], |r| {
        Ok(UptRow {
            code: r.get(0)?,
            name: r.get(1)?,
            kind: r.get(2)?,
            kanwil: r.get(3)?,
            last_sync_at: r.get(4)?,
            last_attempt_at: r.get(5)?,
            last_agent_version: r.get(6)?,
            stale: r.get(7)?,
            products: 0,
            sales: 0,
            trainings: 0,
            participants: 0,
            token_failures: r.get(8)?,
            last_token_failure_at: r.get(9)?,
        })
    })
}

impl HubDb {
    /// Registers UPTs in the `national` document and issues each an agent token, all or
    /// nothing: every UPT is validated first, and a UPT already registered is an error unless
    /// `update` (which changes its details and issues no token). Returns (code, new token).
    pub fn register_upts(
        &self,
        upts: &[karya_shared::model::UptInfo],
        update: bool,
    ) -> Result<Vec<(String, Option<String>)>, RegisterError> {
        let mut seen = std::collections::HashSet::new();
        for (i, upt) in upts.iter().enumerate() {
            upt.validate().map_err(|e| RegisterError::Invalid {
                index: i,
                code: upt.code.to_string(),
                reason: e.to_string(),
            })?;
            if !seen.insert(upt.code.as_str()) {
                return Err(RegisterError::Twice(upt.code.to_string()));
            }
        }
        let existing: Vec<String> = upts
            .iter()
            .filter(|u| self.is_registered(&u.code).unwrap_or(false))
            .map(|u| u.code.to_string())
            .collect();
        if !existing.is_empty() && !update {
            return Err(RegisterError::Exists(existing));
        }
        // Tokens first, in one transaction, but only the hashes: if the document change below
        // fails, the tokens are removed again and nobody has seen them.
        let mut out = Vec::with_capacity(upts.len());
        let mut issued_ids = Vec::new();
        self.write(|c| {
            for upt in upts {
                if existing.iter().any(|c| *c == upt.code) {
                    out.push((upt.code.to_string(), None));
                    continue;
                }
                let (id, token) = issue_token(
                    c,
                    &Role::Agent {
                        upt: upt.code.to_string(),
                    },
                    &format!("agent {}", upt.code),
                    None,
                )?;
                issued_ids.push(id);
                out.push((upt.code.to_string(), Some(token)));
            }
            Ok(())
        })
        .map_err(RegisterError::Store)?;
        let registered = self.store.change(&karya_shared::DocId::National, |d| {
            for upt in upts {
                karya_shared::schema::put_upt(d, upt)?;
            }
            Ok(())
        });
        if let Err(e) = registered {
            let _ = self.write(|c| {
                for id in &issued_ids {
                    c.execute("DELETE FROM tokens WHERE id = ?1", [id])?;
                }
                Ok(())
            });
            return Err(RegisterError::Store(e));
        }
        Ok(out)
    }

    pub fn is_registered(&self, code: &str) -> Result<bool> {
        self.read(|c| {
            c.query_row(
                "SELECT EXISTS(SELECT 1 FROM upts WHERE code = ?1)",
                [code],
                |r| r.get(0),
            )
        })
    }

    /// Every registered UPT with its sync state and its records counted (the counts from
    /// the national figures).
    pub fn upt_rows(&self, stale_after_hours: i64) -> Result<Vec<UptRow>> {
        let mut rows = self.read(|c| upt_rows(c, stale_after_hours))?;
        let stats = self.stats()?;
        let counted: HashMap<&str, &views::Figures> = stats
            .per_upt
            .iter()
            .map(|u| (u.upt.as_str(), &u.figures))
            .collect();
        for row in &mut rows {
            if let Some(f) = counted.get(row.code.as_str()) {
                row.products = f.products;
                row.sales = f.sales + f.future_dated_sales;
                row.trainings = f.trainings;
                row.participants = f.participants;
            }
        }
        Ok(rows)
    }

    /// The UPT registry as HQ keeps it (names, Kanwils, contacts), by Kanwil and code.
    pub fn upt_registry(&self) -> Result<Vec<karya_shared::model::UptInfo>> {
        self.read(|c| {
            c.query_map(
                "SELECT code, name, type, kanwil, address, phone, email, agent_keys FROM upts ORDER BY kanwil, code",
                params![],
                |r| {
                    let kind: String = r.get(2)?;
                    let mut u = karya_shared::model::UptInfo::new(
                        &r.get::<_, String>(0)?,
                        &r.get::<_, String>(1)?,
                        kind.parse().unwrap_or(karya_shared::model::UptType::Lapas),
                        &r.get::<_, String>(3)?,
                    );
                    u.address = r.get::<_, String>(4)?.into();
                    u.phone = r.get::<_, String>(5)?.into();
                    u.email = r.get::<_, String>(6)?.into();
                    u.agent_keys = r.get::<_, String>(7)?.into();
                    Ok(u)
                },
            )
        })
    }

    /// HQ's and the Kanwils' decisions the hub holds.
    pub fn decision_count(&self) -> Result<i64> {
        self.read(|c| {
            c.query_row(
                "SELECT (SELECT COUNT(*) FROM curation) + (SELECT COUNT(*) FROM verifications)",
                params![],
                |r| r.get(0),
            )
        })
    }

    /// The public keys of a UPT's agents, as the registry has them (`None`: no such UPT).
    pub fn agent_keys(&self, upt: &str) -> Result<Option<karya_shared::model::AgentKeys>> {
        self.read(|c| {
            Ok(c.query_map(
                "SELECT agent_keys FROM upts WHERE code = ?1",
                params![upt],
                |r| Ok(r.get::<_, String>(0)?.into()),
            )?
            .into_iter()
            .next())
        })
    }

    /// Adds an agent's public key to its UPT's registry entry (an agent authenticated by
    /// the UPT's token offered it); nothing when the entry has it already.
    pub fn add_agent_key(&self, upt: &str, key: &str) -> Result<bool> {
        if self.agent_keys(upt)?.is_none_or(|k| k.contains(key)) {
            return Ok(false);
        }
        let Some(mut entry) = self.upt_registry()?.into_iter().find(|u| u.code == *upt) else {
            return Ok(false);
        };
        if entry.agent_keys.contains(key) {
            return Ok(false);
        }
        entry.agent_keys = entry.agent_keys.with(key);
        self.replica()
            .change(&karya_shared::schema::DocId::National, |d| {
                karya_shared::schema::put_upt(d, &entry)
            })?;
        Ok(true)
    }

    /// Clears a UPT's agent keys (revokes them, also for a hub rebuilt later: the registry
    /// travels with the agents); `false` for a UPT not registered.
    pub fn clear_agent_keys(&self, upt: &str) -> Result<bool> {
        let Some(mut entry) = self.upt_registry()?.into_iter().find(|u| u.code == *upt) else {
            return Ok(false);
        };
        entry.agent_keys = Default::default();
        self.replica()
            .change(&karya_shared::schema::DocId::National, |d| {
                karya_shared::schema::put_upt(d, &entry)
            })?;
        Ok(true)
    }

    /// Every registered UPT's code and Kanwil, by Kanwil and code (for filters).
    pub fn upt_kanwils(&self) -> Result<Vec<(String, String)>> {
        self.read(|c| {
            c.query_map(
                "SELECT code, kanwil FROM upts ORDER BY kanwil, code",
                params![],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
    }

    /// Notes a sync in the UPT's status (`ok`: no document refused).
    pub fn record_sync(&self, upt: &str, agent_version: &str, peer: &str, ok: bool) -> Result<()> {
        let now = karya_shared::model::now_rfc3339();
        self.write(|c| {
            c.execute(
                "INSERT INTO upt_status (upt, last_sync_at, last_attempt_at, last_agent_version, last_peer, syncs)
                 VALUES (?1, CASE WHEN ?5 = 1 THEN ?2 END, ?2, ?3, ?4, 1)
                 ON CONFLICT(upt) DO UPDATE SET
                   last_sync_at = CASE WHEN ?5 = 1 THEN ?2 ELSE upt_status.last_sync_at END,
                   last_attempt_at = ?2, last_agent_version = ?3, last_peer = ?4,
                   syncs = upt_status.syncs + 1",
                params![upt, now, agent_version, peer, i64::from(ok)],
            )
            .map(|_| ())
        })
    }

    /// Logs refused documents for the admin.
    /// The document name refusals of documents an agent may not sync are counted under.
    pub const NOT_VISIBLE_DOC: &'static str = "(dokumen lain)";

    pub fn record_refusals(
        &self,
        upt: &str,
        peer: &str,
        refused: &[karya_shared::server::Refused],
    ) -> Result<()> {
        let now = karya_shared::model::now_rfc3339();
        self.write(|c| {
            for r in refused {
                // Documents the agent may not sync are counted under one name: made-up names
                // must not add a row each.
                let doc = if r.kind == "not_visible" {
                    Self::NOT_VISIBLE_DOC
                } else {
                    r.doc.as_str()
                };
                c.execute(
                    "INSERT INTO refusal_counts (upt, doc, kind, last_reason, last_peer, first_at, last_at, count)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 1)
                     ON CONFLICT(upt, doc, kind) DO UPDATE SET last_reason = ?4, last_peer = ?5,
                       last_at = ?6, count = refusal_counts.count + 1",
                    params![upt, doc, r.kind, r.reason, peer, now],
                )?;
            }
            Ok(())
        })
    }

    /// Registered UPTs without a successful sync in the last `hours` (or ever).
    pub fn stale_upts(&self, hours: i64) -> Result<i64> {
        // Compared as RFC 3339 text (UTC, one format): what SQLite's and PostgreSQL's
        // date functions would agree on.
        let cutoff = hours_ago(hours);
        self.read(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM upts u LEFT JOIN upt_status s ON s.upt = u.code
                 WHERE s.last_sync_at IS NULL OR s.last_sync_at < ?1",
                [&cutoff],
                |r| r.get(0),
            )
        })
    }

    /// Refused document syncs, every attempt counted.
    pub fn refusal_count(&self) -> Result<i64> {
        self.read(|c| {
            c.query_row(
                "SELECT COALESCE(SUM(count), 0) FROM refusal_counts",
                params![],
                |r| r.get(0),
            )
        })
    }

    /// (UPT, unix seconds) of each UPT's last successful sync.
    pub fn last_syncs(&self) -> Result<Vec<(String, i64)>> {
        let rows: Vec<(String, String)> = self.read(|c| {
            c.query_map(
                "SELECT upt, last_sync_at FROM upt_status WHERE last_sync_at IS NOT NULL ORDER BY upt",
                params![],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(upt, at)| {
                let t = time::OffsetDateTime::parse(
                    &at,
                    &time::format_description::well_known::Rfc3339,
                )
                .ok()?;
                Some((upt, t.unix_timestamp()))
            })
            .collect())
    }

    /// The refusals of a UPT's syncs, counted per (document, kind), most recent first.
    pub fn refusals_of(&self, upt: &str) -> Result<Vec<RefusalRow>> {
        self.read(|c| {
            c.query_map(
                "SELECT doc, kind, last_reason, count, last_at FROM refusal_counts
                 WHERE upt = ?1 ORDER BY last_at DESC LIMIT 50",
                [upt],
                |r| {
                    Ok(RefusalRow {
                        doc: r.get(0)?,
                        kind: r.get(1)?,
                        last_reason: r.get(2)?,
                        count: r.get(3)?,
                        last_at: r.get(4)?,
                    })
                },
            )
        })
    }

    /// The Kanwil a UPT belongs to, if it is registered.
    pub fn kanwil_of(&self, upt: &str) -> Result<Option<String>> {
        self.read(|c| {
            c.query_opt("SELECT kanwil FROM upts WHERE code = ?1", [upt], |r| {
                r.get(0)
            })
        })
    }

    /// The Kanwils UPTs are registered in.
    pub fn kanwils(&self) -> Result<Vec<String>> {
        self.read(|c| {
            c.query_map(
                "SELECT DISTINCT kanwil FROM upts ORDER BY kanwil",
                params![],
                |r| r.get(0),
            )
        })
    }
}
