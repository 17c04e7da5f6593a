//! Rebuilding HQ from the UPTs: the hub's key kept off the machine (`keys export`), a new
//! hub that takes the agents' copies of the registry and the decisions back as its own
//! (`rebuild start`), and what has come back (`rebuild status`).
//!
//! Every agent holds its UPT's documents whole, with `national` (the registry, with each
//! agent's public key) and `curation/<UPT>`. A new hub with the lost hub's vouch key merges
//! the agents' `national` and `curation/*` as the lost hub wrote them (the vouch proves it;
//! see `karya_shared::vouch`), learns the agents' keys from the registry, and takes each
//! agent's own records under its key's signature (see `karya_shared::agentkey`).
//!
//! Without that key (`rebuild start` without `--keys`) the new hub takes nothing until HQ
//! adopts the registry the agents of most UPTs hold, confirmed by its fingerprint over the
//! phone ([`Agreement`], [`adopt`]); decisions cannot come back, and the agents take the
//! hub's copy of what it cannot take ([`hub_copy_stands`]).

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
    /// A rebuild without the lost hub's key: the registry adopted, or those offered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement: Option<AgreementReport>,
}

/// Where a rebuild without the lost hub's key stands.
#[derive(Debug, serde::Serialize)]
pub struct AgreementReport {
    /// The fingerprint of the registry HQ adopted (`None`: not yet).
    pub adopted: Option<String>,
    /// The registries the agents offered, the most widely held first.
    pub candidates: Vec<Candidate>,
}

/// What a rebuild without the lost hub's key cannot bring back besides [`LOST_FOR_GOOD`].
pub const LOST_WITHOUT_KEY: &str = "HQ's and the Kanwils' decisions: without the lost hub's key only the UPT's own agent vouches for them, and a UPT may not decide on its own products (decide again from the Antrean)";

/// What no rebuild can bring back, because it lived only at the lost hub.
pub const LOST_FOR_GOOD: [&str; 5] = [
    "the audit (change log) and the hub's sync statistics before the rebuild",
    "dashboard sessions, and the tokens of people (admins, curators, viewers, verifiers): issue new ones",
    "agent tokens (the agents sign with their own keys; issue new tokens with karya-hub upt token CODE when wanted)",
    "counts of refused tokens and refusals",
    "decisions made after the last sync of the UPT concerned (no agent received them)",
];

pub fn report(db: &HubDb, blobs: &BlobStore) -> anyhow::Result<Report> {
    let agreement = agreement(db)?;
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
        cannot_come_back: {
            let mut lost = LOST_FOR_GOOD.to_vec();
            if agreement.is_some() {
                lost.push(LOST_WITHOUT_KEY);
            }
            lost
        },
        agreement: match agreement {
            None => None,
            Some(a) => Some(AgreementReport {
                adopted: match a {
                    Agreement::Adopted(heads) => Some(karya_shared::vouch::fingerprint(&heads)),
                    Agreement::Waiting => None,
                },
                candidates: candidates(db)?.0,
            }),
        },
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
        if let Some(a) = &self.agreement {
            match &a.adopted {
                Some(f) => out.push_str(&format!("registry adopted: {f}\n")),
                None => out.push_str(
                    "no registry adopted yet (without the lost hub's key): confirm the fingerprint of the most widely held by phone with a UPT (karya-agent status, 'Sidik registri'), then karya-hub rebuild adopt FINGERPRINT\n",
                ),
            }
            out.push_str("registries the agents hold:\n");
            for c in &a.candidates {
                let shown: Vec<&str> = c.upts.iter().take(8).map(String::as_str).collect();
                out.push_str(&format!(
                    "  {}  {} UPT(s): {}{}\n",
                    c.fingerprint,
                    c.upts.len(),
                    shown.join(", "),
                    if c.upts.len() > shown.len() {
                        ", ..."
                    } else {
                        ""
                    }
                ));
            }
        }
        out.push_str("cannot come back:\n");
        for l in &self.cannot_come_back {
            out.push_str(&format!("  - {l}\n"));
        }
        out
    }
}

/// A rebuild without the lost hub's key (`rebuild start` without `--keys`): the new hub has
/// no way to tell the lost hub's registry from one an agent made up, so it takes none until
/// HQ adopts the one the agents agree on. Each agent's first sync offers the heads of the
/// registry it holds (recorded per UPT, signed with the agent's key); `rebuild status`
/// groups the offers by fingerprint; HQ confirms the fingerprint of the most widely held one
/// by phone with a UPT (`karya-agent status` shows it) and adopts it (`rebuild adopt`). The
/// hub then takes that registry (and only changes in its history) from the next agent that
/// syncs, as it takes a vouched one, and with it the keys that let each agent in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Agreement {
    /// No registry adopted yet: offers are recorded, nothing is taken.
    Waiting,
    /// The heads HQ adopted.
    Adopted(Vec<automerge::ChangeHash>),
}

/// Where a rebuild without the key stands (`None`: not such a rebuild).
pub fn agreement(db: &HubDb) -> karya_shared::store::Result<Option<Agreement>> {
    if db.rebuilding_since()?.is_none() {
        return Ok(None);
    }
    Ok(
        match db.replica().meta(crate::db::REBUILD_AGREEMENT)?.as_deref() {
            None | Some("") => None,
            Some("waiting") => Some(Agreement::Waiting),
            Some(heads) => Some(Agreement::Adopted(
                serde_json::from_str::<Vec<String>>(heads)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|h| h.parse().ok())
                    .collect(),
            )),
        },
    )
}

/// The meta key of an installation's offer: `rebuild_offer/<UPT>/<key>`.
const OFFER_PREFIX: &str = "rebuild_offer/";
/// Most offers kept: anyone can sign with a key of its own making under a UPT's name, so a
/// flood of made-up installations must not fill the database (627 UPTs with up to 8
/// installations each fit many times over).
const MAX_OFFERS: usize = 20_000;

/// What one installation of a UPT holds of the registry, as its latest sync offered it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Offer {
    pub upt: String,
    /// The installation's public key it signed with.
    pub key: String,
    pub heads: Vec<String>,
    pub fingerprint: String,
    pub at: String,
}

/// Records the registry heads an installation of `upt` (signing with `key`) holds; its
/// latest offer stands for it. An installation of another's making cannot displace a real
/// one's offer: each key has its own.
pub fn record_offer(
    db: &HubDb,
    upt: &str,
    key: &str,
    heads: &[automerge::ChangeHash],
) -> karya_shared::store::Result<()> {
    if karya_shared::model::UptCode::parse(upt).is_err() {
        // Not a UPT code at all: nothing to keep.
        return Ok(());
    }
    let offer = Offer {
        upt: upt.to_string(),
        key: key.to_string(),
        heads: heads.iter().map(|h| h.to_string()).collect(),
        fingerprint: karya_shared::vouch::fingerprint(heads),
        at: karya_shared::model::now_rfc3339(),
    };
    let meta_key = format!("{OFFER_PREFIX}{upt}/{key}");
    // The agents sync every few minutes: written only when the offer changes.
    let before = db.replica().meta(&meta_key)?;
    if before
        .as_deref()
        .and_then(|t| serde_json::from_str::<Offer>(t).ok())
        .is_some_and(|o| o.fingerprint == offer.fingerprint)
    {
        return Ok(());
    }
    if before.is_none() && db.replica().meta_with_prefix(OFFER_PREFIX)?.len() >= MAX_OFFERS {
        tracing::warn!(
            upt,
            "offer not kept: {MAX_OFFERS} installations have offered already"
        );
        return Ok(());
    }
    let text = serde_json::to_string(&offer).expect("an offer serialises");
    db.replica().set_meta(&meta_key, &text)
}

/// A registry some agents hold, and the UPTs one of whose installations offered it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Candidate {
    pub fingerprint: String,
    pub heads: Vec<String>,
    pub upts: Vec<String>,
}

/// The offers grouped by fingerprint, the most widely held first, and how many UPTs were
/// heard from.
pub fn candidates(db: &HubDb) -> karya_shared::store::Result<(Vec<Candidate>, usize)> {
    let mut by: std::collections::BTreeMap<String, Candidate> = Default::default();
    let mut heard = std::collections::BTreeSet::new();
    for (_, text) in db.replica().meta_with_prefix(OFFER_PREFIX)? {
        let Ok(o) = serde_json::from_str::<Offer>(&text) else {
            continue;
        };
        heard.insert(o.upt.clone());
        let c = by
            .entry(o.fingerprint.clone())
            .or_insert_with(|| Candidate {
                fingerprint: o.fingerprint.clone(),
                heads: o.heads.clone(),
                upts: Vec::new(),
            });
        if !c.upts.contains(&o.upt) {
            c.upts.push(o.upt);
        }
    }
    let mut out: Vec<Candidate> = by.into_values().collect();
    out.sort_by_key(|c| std::cmp::Reverse(c.upts.len()));
    Ok((out, heard.len()))
}

/// Adopts the registry of `fingerprint` (`rebuild adopt`): it must be held by more than half
/// of the UPTs heard from, unless HQ says it confirmed it by phone with UPTs anyway (`few`:
/// UPT names are anyone's to sign under with a key of their own, so a flood of made-up ones
/// can keep a real registry under half).
pub fn adopt(db: &HubDb, fingerprint: &str, few: bool) -> anyhow::Result<String> {
    anyhow::ensure!(
        agreement(db)?.is_some(),
        "this hub is not being rebuilt without the lost hub's key (rebuild start without --keys)"
    );
    let wanted = fingerprint.trim().to_uppercase();
    let (all, heard) = candidates(db)?;
    let Some(chosen) = all.iter().find(|c| c.fingerprint == wanted) else {
        anyhow::bail!(
            "no agent has offered a registry with fingerprint {wanted}; karya-hub rebuild status lists those offered"
        );
    };
    anyhow::ensure!(
        few || chosen.upts.len() * 2 > heard,
        "the registry {wanted} is held by {} of the {heard} UPTs heard from: wait for more UPTs to sync (karya-hub rebuild status), or, if UPTs you phoned read out this fingerprint, pass --few",
        chosen.upts.len()
    );
    db.replica().set_meta(
        crate::db::REBUILD_AGREEMENT,
        &serde_json::to_string(&chosen.heads).expect("heads serialise"),
    )?;
    Ok(format!(
        "registry {wanted} adopted (held by {} of {heard} UPTs): the next agent that holds it brings it, with every agent's key; each UPT's records follow at its sync",
        chosen.upts.len()
    ))
}

/// Whether this hub was rebuilt without the lost hub's key and took a registry by agreement
/// (kept after `rebuild finish`): what an agent holds of the hub's documents beyond what the
/// hub took cannot come back.
pub fn adopted_by_agreement(db: &HubDb) -> karya_shared::store::Result<bool> {
    Ok(db
        .replica()
        .meta(crate::db::REBUILD_AGREEMENT)?
        .is_some_and(|v| v.starts_with('[')))
}

/// Whether `r` refuses an agent's changes to a document only the hub writes.
pub fn refuses_hub_document(r: &karya_shared::server::Refused) -> bool {
    r.kind == "not_writer" && (r.doc.starts_with("curation/") || r.doc == "national")
}

/// Turns the refusal of an agent's changes to a document only the hub writes (`not_writer`
/// on `curation/*`: the decisions, which only the lost key vouched for; on `national`: a
/// registry beyond the one adopted) into `hub_copy_stands`: the agent then drops its copy and
/// takes the hub's (`karya-agent` does so by itself), instead of offering changes the hub
/// cannot take at every sync.
pub fn hub_copy_stands(served: &mut karya_shared::server::Served) {
    let reason = "this hub was rebuilt without the lost hub's key and cannot take these changes back (decisions, or a registry beyond the one HQ adopted); the agent takes the hub's copy (HQ decides again)";
    for r in served
        .refused
        .iter_mut()
        .filter(|r| refuses_hub_document(r))
    {
        r.kind = "hub_copy_stands";
        r.reason = reason.to_string();
        if let Some((_, reply)) = served.response.docs.iter_mut().find(|(d, _)| *d == r.doc) {
            *reply = r.reply();
        }
    }
}
