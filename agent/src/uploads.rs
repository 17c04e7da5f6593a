//! Photo uploads, after the records: the blobs this UPT's products name that the hub does
//! not have whole yet, thumbnails first, in parts sized to the link as measured (tus 1.0
//! core). A photo never tried is sent from byte 0 at once; one begun before is resumed from
//! the byte the hub acknowledged (asked with `HEAD`), so a byte the hub acknowledged to this
//! agent is never sent again. [`LANES`] photos go at once, so that a long round trip leaves
//! the link busy; a cut link or a busy hub (429, 503) stops both lanes after the part in
//! flight, and the round is retried on the records' backoff. Records come first: when a local change waits, the upload stops after
//! the part in flight and the next sync carries the change before the photos go on.

use crate::client::{HubClient, SyncError};
use karya_shared::session::Refusal;
use karya_shared::{Store, StoreError};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What one round of uploads did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uploaded {
    /// Blobs the hub now has whole, and the bytes sent for them in this round.
    pub sent: usize,
    pub bytes: u64,
    /// Blobs still to send (after a refusal, a cut link, or a record that went first).
    pub waiting: usize,
    /// Photos the hub refused, and why.
    pub refused: Vec<Refusal>,
    /// Why the round stopped early (the link, a busy hub), if it did; the next sync resumes.
    pub interrupted: Option<String>,
}

/// The smallest and largest part of an upload.
const MIN_PART: usize = 4 * 1024;
/// (The hub takes parts of up to 1 MB.)
const MAX_PART: usize = 1024 * 1024;

/// The photo blobs (thumbnails first) named by this UPT's live products that this PC holds
/// and the hub does not have whole yet.
fn to_send(store: &Store, data_dir: &Path, upt: &str) -> Result<Vec<String>, StoreError> {
    let done: std::collections::HashSet<String> = sent_blobs(store)?.into_iter().collect();
    // (thumbnail, photo) pairs: every thumbnail first.
    let named = named_blobs(store, upt)?;
    let thumbs = named.iter().step_by(2);
    let full = named.iter().skip(1).step_by(2);
    let mut out: Vec<String> = Vec::new();
    for hash in thumbs.chain(full) {
        // A photo added on another PC of this UPT is that PC's to send.
        if !done.contains(hash)
            && !out.contains(hash)
            && crate::photos::blob_path(data_dir, hash).is_file()
        {
            out.push(hash.clone());
        }
    }
    Ok(out)
}

fn mark_sent(store: &Store, hash: &str) -> Result<(), StoreError> {
    let conn = store.conn();
    conn.execute(
        "INSERT OR IGNORE INTO uploaded_blobs (hash, at) VALUES (?1, ?2)",
        [hash, &karya_shared::model::now_rfc3339()],
    )?;
    conn.execute("DELETE FROM upload_tries WHERE hash = ?1", [hash])?;
    Ok(())
}

/// Whether an upload of `hash` was begun and not acknowledged whole (a cut link, a refusal):
/// then the hub is asked where it stands (`HEAD`) before any byte is sent. A photo never
/// tried goes straight to a `PATCH` from byte 0: no idle round trip per photo (a hub that
/// holds part of it already answers 409 with its offset, and the upload goes on from there).
fn tried(store: &Store, hash: &str) -> Result<bool, StoreError> {
    Ok(store.conn().query_row(
        "SELECT EXISTS(SELECT 1 FROM upload_tries WHERE hash = ?1)",
        [hash],
        |r| r.get(0),
    )?)
}

fn mark_tried(store: &Store, hash: &str) -> Result<(), StoreError> {
    store.conn().execute(
        "INSERT OR IGNORE INTO upload_tries (hash, at) VALUES (?1, ?2)",
        [hash, &karya_shared::model::now_rfc3339()],
    )?;
    Ok(())
}

/// The meta key of the last check that the hub still has what it acknowledged.
pub const RECHECKED_KEY: &str = "photos_rechecked_at";
/// How often that check runs (one HEAD per photo sent).
const RECHECK_EVERY: Duration = Duration::from_secs(24 * 3600);

/// Once a day, asks the hub whether it still has each photo it acknowledged (one HEAD each):
/// a hub put back from a backup older than its photo folder lacks some, and those are sent
/// again in this round.
async fn recheck_if_due(
    store: &Store,
    data_dir: &Path,
    upt: &str,
    client: &HubClient,
) -> Result<(), SyncError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let last = store
        .meta(RECHECKED_KEY)?
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    if now - last < RECHECK_EVERY.as_secs() as i64 {
        return Ok(());
    }
    let sent = sent_blobs(store)?;
    let named = named_blobs(store, upt)?;
    for hash in sent.iter().filter(|h| named.contains(*h)) {
        if !crate::photos::blob_path(data_dir, hash).is_file() {
            continue;
        }
        let state = match client.upload_state(hash).await {
            Ok(s) => s,
            Err(SyncError::Server { status, .. }) if (400..500).contains(&status) => continue,
            Err(e) => return Err(e),
        };
        if state.offset < state.length {
            tracing::warn!(photo = %hash, "the hub no longer has a photo it had received (restored from a backup?); sending it again");
            store
                .conn()
                .execute("DELETE FROM uploaded_blobs WHERE hash = ?1", [hash])
                .map_err(StoreError::from)?;
        }
    }
    store.set_meta(RECHECKED_KEY, &now.to_string())?;
    Ok(())
}

/// The hub said it lacks these photos (its photo folder was put back older, or moved): those
/// this PC had sent are sent again in the upload round that follows the sync.
pub fn hub_lacks(store: &Store, hashes: &[String]) -> Result<(), StoreError> {
    for hash in hashes {
        let forgotten = store
            .conn()
            .execute("DELETE FROM uploaded_blobs WHERE hash = ?1", [hash])
            .map_err(StoreError::from)?;
        if forgotten > 0 {
            tracing::warn!(photo = %hash, "the hub no longer has a photo it had received (restored from a backup, or moved?); sending it again");
        }
    }
    Ok(())
}

/// The blobs the hub acknowledged whole.
fn sent_blobs(store: &Store) -> Result<Vec<String>, StoreError> {
    Ok(store
        .conn()
        .prepare_cached("SELECT hash FROM uploaded_blobs")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

/// Every photo blob (photos and thumbnails) this UPT's live products name.
fn named_blobs(store: &Store, upt: &str) -> Result<Vec<String>, StoreError> {
    let rows: Vec<String> = store
        .conn()
        .prepare_cached("SELECT photos FROM products WHERE upt = ?1 AND deleted = 0")?
        .query_map([upt], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for text in rows {
        let photos: Vec<karya_shared::model::Photo> =
            serde_json::from_str(&text).unwrap_or_default();
        for p in photos {
            out.push(p.thumb);
            out.push(p.hash);
        }
    }
    Ok(out)
}

/// A good answer, or the hub's refusal of this photo (a 4xx other than 429: the others go
/// on); an error that stops the round (the link, a hub that is busy or down) as it is.
fn refused_or<T>(r: Result<T, SyncError>, hash: &str) -> Result<Result<T, Refusal>, SyncError> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(SyncError::Server { status, detail, .. })
            if (400..500).contains(&status) && status != 429 =>
        {
            Ok(Err(Refusal {
                doc: format!("photo {hash}"),
                reason: detail,
            }))
        }
        Err(e) => Err(e),
    }
}

/// Sends what [`to_send`] lists. `cap_kbps` bounds the rate; a network error stops the round
/// (the next sync resumes), a refusal of one photo is reported and the others go on.
pub async fn upload_photos(
    store: &Store,
    data_dir: &Path,
    upt: &str,
    client: &HubClient,
    cap_kbps: Option<u32>,
) -> Result<Uploaded, StoreError> {
    upload_photos_with(store, data_dir, upt, client, cap_kbps, LANES).await
}

/// [`upload_photos`] with `lanes` photos at once (the benchmark compares 1 and [`LANES`]).
pub async fn upload_photos_with(
    store: &Store,
    data_dir: &Path,
    upt: &str,
    client: &HubClient,
    cap_kbps: Option<u32>,
    lanes: usize,
) -> Result<Uploaded, StoreError> {
    let mut out = Uploaded::default();
    let round = async {
        recheck_if_due(store, data_dir, upt, client).await?;
        upload_round(
            store,
            data_dir,
            upt,
            client,
            cap_kbps,
            lanes.max(1),
            &mut out,
        )
        .await
    };
    match round.await {
        Ok(()) => Ok(out),
        Err(SyncError::Store(e)) => Err(e),
        Err(e) => {
            out.interrupted = Some(e.to_string());
            Ok(out)
        }
    }
}

/// Photos sent at once. The hub takes two uploads of one UPT at a time
/// (`max_uploads_per_upt`), and over a thin link with a long round trip the second keeps the
/// link busy while the first waits for the hub's answer to its part. Both go over the
/// client's kept-alive connections (HTTP/1.1, one connection per upload in flight).
pub const LANES: usize = 2;

/// How one photo's upload ended.
#[derive(Debug, Default)]
struct One {
    bytes: u64,
    sent: bool,
    refused: Option<Refusal>,
}

async fn upload_round(
    store: &Store,
    data_dir: &Path,
    upt: &str,
    client: &HubClient,
    cap_kbps: Option<u32>,
    lanes: usize,
    out: &mut Uploaded,
) -> Result<(), SyncError> {
    use futures_util::StreamExt;
    let list = to_send(store, data_dir, upt)?;
    out.waiting = list.len();
    // Each lane has its share of a rate cap.
    let cap = cap_kbps
        .filter(|k| *k > 0)
        .map(|k| (k / lanes as u32).max(1));
    // Set when a lane meets an error, or a record waits: the lanes stop after the part in
    // flight (none is cut off), and no photo starts.
    let stop = AtomicBool::new(false);
    let mut lanes = futures_util::stream::iter(list)
        .map(|hash| upload_one(store, data_dir, upt, client, hash, cap, &stop))
        .buffer_unordered(lanes);
    let mut first_error = None;
    while let Some(done) = lanes.next().await {
        match done {
            Ok(one) => {
                out.bytes += one.bytes;
                if one.sent {
                    out.sent += 1;
                    out.waiting -= 1;
                }
                out.refused.extend(one.refused);
            }
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Sends one photo, from where the hub stands; returns early (not sent) when `stop` is set
/// or a record waits.
async fn upload_one(
    store: &Store,
    data_dir: &Path,
    upt: &str,
    client: &HubClient,
    hash: String,
    cap_kbps: Option<u32>,
    stop: &AtomicBool,
) -> Result<One, SyncError> {
    let mut one = One::default();
    if stop.load(Ordering::Relaxed) {
        return Ok(one);
    }
    let path = crate::photos::blob_path(data_dir, &hash);
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(one);
    };
    // A photo begun before: where does the hub stand (and does it still take it)?
    // A photo never tried: from byte 0 at once.
    let start = if tried(store, &hash)? {
        match refused_or(client.upload_state(&hash).await, &hash)? {
            Ok(state) => state.offset,
            Err(refusal) => {
                one.refused = Some(refusal);
                return Ok(one);
            }
        }
    } else {
        mark_tried(store, &hash)?;
        0
    };
    let mut offset = start.min(bytes.len() as u64);
    while offset < bytes.len() as u64 {
        if stop.load(Ordering::Relaxed) {
            return Ok(one);
        }
        if crate::status::pending_changes(store, upt)? > 0 {
            // A record waits: it goes first, the photos go on after it.
            stop.store(true, Ordering::Relaxed);
            return Ok(one);
        }
        let part = client.upload_budget().clamp(MIN_PART, MAX_PART);
        let end = (offset as usize + part).min(bytes.len());
        let n = end - offset as usize;
        let started = Instant::now();
        let res = client
            .upload_part(&hash, offset, bytes[offset as usize..end].to_vec())
            .await;
        match refused_or(res, &hash)? {
            Ok(at) => offset = at,
            Err(refusal) => {
                one.refused = Some(refusal);
                return Ok(one);
            }
        }
        one.bytes += n as u64;
        if let Some(kbps) = cap_kbps {
            let due = Duration::from_secs_f64(n as f64 * 8.0 / (f64::from(kbps) * 1000.0));
            if let Some(rest) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(rest).await;
            }
        }
    }
    mark_sent(store, &hash)?;
    one.sent = true;
    Ok(one)
}
