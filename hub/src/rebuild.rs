//! Rebuilding HQ from the UPTs: the hub's key kept off the machine (`keys export`), a new
//! hub that takes the agents' copies of the registry and the decisions back as its own
//! (`rebuild start`), and what has come back (`rebuild status`).
//!
//! Every agent holds its UPT's documents whole, with `national` (the registry, with each
//! agent's public key) and `curation/<UPT>`. A new hub with the lost hub's vouch key merges
//! the agents' `national` and `curation/*` as the lost hub wrote them (the vouch proves it;
//! see `karya_shared::vouch`), learns the agents' keys from the registry, and takes each
//! agent's own records under its key's signature (see `karya_shared::agentkey`).

use crate::blobs::BlobStore;
use crate::db::HubDb;
use karya_shared::vouch::HeadsKey;
use std::path::Path;

/// The format of an exported key file.
const KEYS_FORMAT: &str = "karya-hub-keys/1";
/// The largest key file read.
const MAX_KEYS_BYTES: u64 = 16 * 1024;

/// Writes the hub's vouch key to `file` (0600), for HQ to keep offline.
pub fn write_keys(db: &HubDb, file: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        !file.exists(),
        "{} exists; keys are never written over a file",
        file.display()
    );
    let body = serde_json::json!({
        "format": KEYS_FORMAT,
        "vouch_key": db.heads_key().to_hex(),
        "exported_at": karya_shared::model::now_rfc3339(),
        "note": "karya-hub rebuild start --keys THIS-FILE: a new hub takes the UPTs' registry and decisions back as this hub's own. Anyone holding it can vouch for the registry: keep it offline.",
    });
    crate::storage::create_private_empty(file)?;
    std::fs::write(file, serde_json::to_string_pretty(&body)? + "\n")?;
    crate::storage::make_private(file);
    Ok(())
}

/// Reads a file [`write_keys`] wrote.
pub fn read_keys(file: &Path) -> anyhow::Result<HeadsKey> {
    let size = std::fs::metadata(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?
        .len();
    anyhow::ensure!(
        size <= MAX_KEYS_BYTES,
        "{} is {size} bytes; not a key file from karya-hub keys export",
        file.display()
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(file)?).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a key file from karya-hub keys export ({e})",
            file.display()
        )
    })?;
    anyhow::ensure!(
        v["format"] == KEYS_FORMAT,
        "{} is not a key file from karya-hub keys export (format {})",
        file.display(),
        v["format"]
    );
    v["vouch_key"]
        .as_str()
        .and_then(HeadsKey::from_hex)
        .ok_or_else(|| {
            anyhow::anyhow!("{}: its vouch_key is not a 32-byte hex key", file.display())
        })
}

/// What a rebuild has brought back, and what it cannot.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    /// When the rebuild began (`None`: not in rebuild mode).
    pub rebuilding_since: Option<String>,
    /// UPTs in the registry (which came back from the agents).
    pub upts: usize,
    /// UPTs whose agent has synced with this hub.
    pub upts_back: usize,
    /// UPTs of the registry not back yet.
    pub upts_waiting: Vec<String>,
    pub products: i64,
    pub sales: i64,
    pub trainings: i64,
    pub participants: i64,
    /// HQ's and the Kanwils' decisions back.
    pub decisions: i64,
    /// Photos the products name, and of them those the hub holds again.
    pub photos: usize,
    pub photos_back: usize,
    /// What no agent holds, so no rebuild brings back.
    pub cannot_come_back: Vec<&'static str>,
}

/// What no rebuild can bring back, because it lived only at the lost hub.
pub const LOST_FOR_GOOD: [&str; 5] = [
    "the audit (change log) and the hub's sync statistics before the rebuild",
    "dashboard sessions, and the tokens of people (admins, curators, viewers, verifiers): issue new ones",
    "agent tokens (the agents sign with their own keys; issue new tokens with karya-hub upt token CODE when wanted)",
    "counts of refused tokens and refusals",
    "decisions made after the last sync of the UPT concerned (no agent received them)",
];

pub fn report(db: &HubDb, blobs: &BlobStore) -> anyhow::Result<Report> {
    let rows = db.upt_rows(24 * 365 * 100)?;
    let stats = db.stats()?;
    let back: Vec<&str> = rows
        .iter()
        .filter(|u| u.last_sync_at.is_some())
        .map(|u| u.code.as_str())
        .collect();
    let mut photos = 0;
    let mut photos_back = 0;
    for u in &rows {
        for (hash, _) in db.photos_of(&u.code)? {
            photos += 1;
            if blobs.has(&hash) {
                photos_back += 1;
            }
        }
    }
    Ok(Report {
        rebuilding_since: db.rebuilding_since()?,
        upts: rows.len(),
        upts_back: back.len(),
        upts_waiting: rows
            .iter()
            .filter(|u| u.last_sync_at.is_none())
            .map(|u| u.code.clone())
            .collect(),
        products: stats.national.products,
        sales: stats.national.sales,
        trainings: stats.national.trainings,
        participants: stats.national.participants,
        decisions: db.decision_count()?,
        photos,
        photos_back,
        cannot_come_back: LOST_FOR_GOOD.to_vec(),
    })
}

impl Report {
    pub fn in_words(&self) -> String {
        let mut out = match &self.rebuilding_since {
            Some(since) => format!("rebuilding from the agents since {since}\n"),
            None => "not in rebuild mode\n".to_string(),
        };
        out.push_str(&format!(
            "UPTs back: {} of {} in the registry\nrecords: {} products, {} sales, {} trainings, {} participants\ndecisions: {}\nphotos: {} of {} back\n",
            self.upts_back,
            self.upts,
            self.products,
            self.sales,
            self.trainings,
            self.participants,
            self.decisions,
            self.photos_back,
            self.photos
        ));
        if !self.upts_waiting.is_empty() {
            out.push_str(&format!("waiting for: {}\n", self.upts_waiting.join(", ")));
        }
        out.push_str("cannot come back:\n");
        for l in &self.cannot_come_back {
            out.push_str(&format!("  - {l}\n"));
        }
        out
    }
}
