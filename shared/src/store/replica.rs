//! The replica: documents loaded on demand (least recently used evicted), each behind its
//! own lock, changed locally and stored through the backend with its materialized rows.

use super::{Backend, Commit, DocVersion, DocWrite, Extras, LogEntry, Origin, Result, StoreError};
use crate::materialize::{self, RowOp};
use crate::schema::{DocId, RecordKey, SchemaError};
use automerge::sync;
use automerge::{
    ActorId, AutoCommit, ChangeHash, PatchAction, Prop, ROOT, ReadDoc,
    transaction::{CommitOptions, Transactable},
};
use std::collections::{BTreeSet, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

/// A loaded document and the stored version it equals.
pub(super) struct Cached {
    pub(super) doc: AutoCommit,
    pub(super) version: DocVersion,
}

/// One document's lock; `None` inside when it is not loaded (or was dropped after a failure).
pub(super) type Slot = Mutex<Option<Cached>>;

/// Loaded documents, least recently used evicted first. An entry in use (its lock held or
/// waited for) is never evicted, so one document never has two locks.
pub(super) struct DocCache {
    capacity: usize,
    tick: u64,
    slots: HashMap<String, (Arc<Slot>, u64)>,
}

impl DocCache {
    pub(super) fn slot(&mut self, key: &str) -> Arc<Slot> {
        self.tick += 1;
        let tick = self.tick;
        if let Some((slot, used)) = self.slots.get_mut(key) {
            *used = tick;
            return slot.clone();
        }
        let slot = Arc::new(Mutex::new(None));
        self.slots.insert(key.to_string(), (slot.clone(), tick));
        while self.slots.len() > self.capacity {
            let victim = self
                .slots
                .iter()
                .filter(|(k, (s, _))| k.as_str() != key && Arc::strong_count(s) == 1)
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            match victim {
                Some(k) => {
                    self.slots.remove(&k);
                }
                // Every other document is in use: go over the capacity for now.
                None => break,
            }
        }
        slot
    }
}

/// A test-only fault: called with the document inside every received change, before it is
/// stored. A hook that panics stands in for an Automerge panic.
pub type FaultHook = Arc<dyn Fn(&DocId) + Send + Sync>;

/// Checks each row a received change produces (the hub: the record model's rules); an error
/// refuses the whole message, and says which record broke which rule.
pub type RowCheck = Arc<dyn Fn(&RowOp) -> Result<(), String> + Send + Sync>;

pub struct Replica<B> {
    pub(super) backend: B,
    pub(super) actor: ActorId,
    pub(super) cache: Mutex<DocCache>,
    /// A document is compacted once this many incremental chunks have piled up.
    pub(super) compact_after: AtomicI64,
    pub(super) fault: RwLock<Option<FaultHook>>,
    pub(super) row_check: RwLock<Option<RowCheck>>,
    /// Whether every stored change is entered in the change log (the hub's audit).
    pub(super) log_changes: std::sync::atomic::AtomicBool,
    /// Documents loaded from the backend, and uses served by the loaded copy (for metrics).
    pub(super) loads: AtomicU64,
    pub(super) hits: AtomicU64,
}

impl<B> std::fmt::Debug for Replica<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("actor", &self.actor.to_hex_string())
            .finish_non_exhaustive()
    }
}

/// How often a write is made again after other processes' writes got in first.
pub(super) const MAX_ATTEMPTS: usize = 40;

/// A short random pause after losing a race to another process, growing with the attempts,
/// so that two writers of one document take turns instead of colliding again.
pub(super) fn contention_pause(attempt: usize) {
    let cap_ms = (1u64 << attempt.min(6)).min(50);
    let ms = 1 + rand::random::<u64>() % cap_ms;
    std::thread::sleep(std::time::Duration::from_millis(ms));
}

/// Takes a document's lock. A lock poisoned by a panic elsewhere is not trusted: the copy in
/// memory is dropped and reloaded from the backend at its next use.
pub(super) fn lock_slot(slot: &Slot) -> MutexGuard<'_, Option<Cached>> {
    slot.lock().unwrap_or_else(|poisoned| {
        let mut guard = poisoned.into_inner();
        *guard = None;
        slot.clear_poison();
        guard
    })
}

/// Takes a lock whose data a panic cannot leave half-changed (the cache map: every change to
/// it is one insert or remove).
pub(super) fn lock_plain<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| {
        m.clear_poison();
        poisoned.into_inner()
    })
}

pub(super) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".into()
    }
}

/// The records that the changes after `before` write to, read off their operations. The diff
/// misses one case this sees: a write that only supersedes a losing concurrent value leaves
/// the visible value as it was (no patch), yet the record's conflicts change, and its row
/// must be written again (found by the convergence property test).
pub(super) fn written_records(doc: &mut AutoCommit, before: &[ChangeHash]) -> BTreeSet<RecordKey> {
    let mut keys = BTreeSet::new();
    let mut records: HashMap<String, Option<RecordKey>> = HashMap::new();
    for change in doc.get_changes(before) {
        for op in change.decode().operations {
            let key = match &op.obj {
                automerge::legacy::ObjectId::Root => match &op.key {
                    automerge::legacy::Key::Map(k) => RecordKey::parse(k),
                    _ => None,
                },
                obj => records
                    .entry(obj.to_string())
                    .or_insert_with_key(|id| record_of(doc, id))
                    .clone(),
            };
            keys.extend(key);
        }
    }
    keys
}

/// The record (root key) an object lives under.
pub(super) fn record_of(doc: &AutoCommit, obj: &str) -> Option<RecordKey> {
    let id = doc.import_obj(obj).ok()?;
    let root = doc.parents(&id).ok()?.last()?;
    match root.prop {
        Prop::Map(key) => RecordKey::parse(&key),
        Prop::Seq(_) => None,
    }
}

/// The record keys that changed between two sets of heads, read off Automerge's diff, so the
/// materialized tables are updated for those records only.
pub(super) fn touched_records(
    doc: &mut AutoCommit,
    before: &[ChangeHash],
    after: &[ChangeHash],
) -> BTreeSet<RecordKey> {
    let mut keys = BTreeSet::new();
    for patch in doc.diff(before, after) {
        let root_key = match patch.path.first() {
            Some((_, Prop::Map(k))) => Some(k.clone()),
            Some(_) => None,
            None if patch.obj == ROOT => match &patch.action {
                PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => {
                    Some(key.clone())
                }
                PatchAction::Conflict {
                    prop: Prop::Map(key),
                } => Some(key.clone()),
                PatchAction::Increment {
                    prop: Prop::Map(key),
                    ..
                } => Some(key.clone()),
                _ => None,
            },
            None => None,
        };
        if let Some(key) = root_key.as_deref().and_then(RecordKey::parse) {
            keys.insert(key);
        }
    }
    keys
}

impl<B: Backend> Replica<B> {
    /// A replica over `backend`, with its actor id stored in the backend.
    pub fn new(backend: B) -> Result<Replica<B>> {
        let hex = backend.meta_init("actor", &ActorId::random().to_hex_string())?;
        let actor = ActorId::from(hex::decode(hex).unwrap_or_default());
        Ok(Self::with_actor(backend, actor))
    }

    /// A replica over a backend that is only read (a read-only disk): its actor never
    /// writes, so it is not stored.
    pub fn new_read_only(backend: B) -> Replica<B> {
        Self::with_actor(backend, ActorId::random())
    }

    pub(super) fn with_actor(backend: B, actor: ActorId) -> Replica<B> {
        Replica {
            backend,
            actor,
            cache: Mutex::new(DocCache {
                capacity: 64,
                tick: 0,
                slots: HashMap::new(),
            }),
            compact_after: AtomicI64::new(256),
            fault: RwLock::new(None),
            row_check: RwLock::new(None),
            log_changes: std::sync::atomic::AtomicBool::new(false),
            loads: AtomicU64::new(0),
            hits: AtomicU64::new(0),
        }
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// (documents loaded from the backend, uses served by a loaded copy) since this replica
    /// was opened.
    pub fn cache_counts(&self) -> (u64, u64) {
        (
            self.loads.load(Ordering::Relaxed),
            self.hits.load(Ordering::Relaxed),
        )
    }

    /// How many documents stay loaded in memory.
    pub fn set_cache_capacity(&self, capacity: usize) {
        let capacity = capacity.max(1);
        lock_plain(&self.cache).capacity = capacity;
    }

    /// Enters every change stored from now on in the change log, with its origin, in the
    /// transaction that stores it (the hub's audit; the agent keeps none).
    pub fn set_change_log(&self, on: bool) {
        self.log_changes.store(on, Ordering::Relaxed);
    }

    pub fn set_compact_after(&self, chunks: i64) {
        self.compact_after.store(chunks.max(1), Ordering::Relaxed);
    }

    #[doc(hidden)]
    /// Installs a test-only fault hook (see [`FaultHook`]).
    pub fn set_fault_hook(&self, hook: Option<FaultHook>) {
        *self.fault.write().unwrap_or_else(|p| p.into_inner()) = hook;
    }

    /// Checks every row that a received change produces before it is stored (see
    /// [`RowCheck`]). Local changes are checked by their callers.
    pub fn set_row_check(&self, check: Option<RowCheck>) {
        *self.row_check.write().unwrap_or_else(|p| p.into_inner()) = check;
    }

    /// Writes from now on under a new, random actor id instead of the stored one. The hub
    /// does this at every start: a hub restored from a backup must never write again under
    /// sequence numbers its lost changes already used ("duplicate seq" at every agent).
    pub fn renew_actor(&mut self) {
        self.actor = ActorId::random();
        // Documents loaded before write as the old actor: drop them.
        lock_plain(&self.cache).slots.clear();
    }

    pub fn actor(&self) -> &ActorId {
        &self.actor
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.backend.meta(key)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.backend.set_meta(key, value)
    }

    /// Every meta entry whose key starts with `prefix`, by key.
    pub fn meta_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        self.backend.meta_with_prefix(prefix)
    }

    /// The ids of the documents this replica holds.
    pub fn doc_ids(&self) -> Result<Vec<DocId>> {
        Ok(self
            .backend
            .doc_ids()?
            .iter()
            .filter_map(|s| DocId::parse(s))
            .collect())
    }

    /// Whether a document is loaded in memory now (for tests of eviction).
    pub fn is_loaded(&self, id: &DocId) -> bool {
        let key = id.to_string();
        let slot = lock_plain(&self.cache)
            .slots
            .get(&key)
            .map(|(s, _)| s.clone());
        slot.is_some_and(|s| lock_slot(&s).is_some())
    }

    /// Runs `f` with the document's lock held; a panic inside drops the in-memory copy and
    /// becomes [`StoreError::Panicked`].
    pub(super) fn with_slot<T>(
        &self,
        key: &str,
        f: impl FnOnce(&mut Option<Cached>) -> Result<T>,
    ) -> Result<T> {
        let slot = lock_plain(&self.cache).slot(key);
        let mut guard = lock_slot(&slot);
        match catch_unwind(AssertUnwindSafe(|| f(&mut guard))) {
            Ok(result) => {
                if result.is_err() {
                    // The copy in memory may hold what the backend does not.
                    *guard = None;
                }
                result
            }
            Err(panic) => {
                *guard = None;
                Err(StoreError::Panicked {
                    doc: key.to_string(),
                    message: panic_message(&panic),
                })
            }
        }
    }

    /// Brings the loaded copy up to date with the backend (loading it if needed). Cheap when
    /// nothing changed: one indexed query.
    pub(super) fn fresh<'a>(
        &self,
        key: &str,
        slot: &'a mut Option<Cached>,
    ) -> Result<&'a mut Cached> {
        let stored = self.backend.version(key)?;
        let reload = match slot {
            Some(c) => {
                c.version.generation != stored.generation || c.version.last_seq > stored.last_seq
            }
            None => true,
        };
        if reload {
            *slot = None;
            self.loads.fetch_add(1, Ordering::Relaxed);
            let loaded = self.backend.load(key)?;
            let corrupt = |source| StoreError::Corrupt {
                doc: key.to_string(),
                source: Box::new(source),
            };
            let mut doc = match &loaded.snapshot {
                Some(bytes) => AutoCommit::load(bytes).map_err(corrupt)?,
                None => AutoCommit::new(),
            };
            let mut last_seq = 0;
            for (seq, data) in &loaded.chunks {
                doc.load_incremental(data).map_err(corrupt)?;
                last_seq = *seq;
            }
            doc.set_actor(self.actor.clone());
            // Index changes from here on, so the diff that keeps the materialized tables
            // current costs what the change costs, not what the document costs.
            doc.update_diff_cursor();
            *slot = Some(Cached {
                doc,
                version: DocVersion {
                    generation: loaded.generation,
                    last_seq,
                },
            });
        }
        if !reload {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        let cached = slot.as_mut().expect("loaded above");
        if cached.version.last_seq < stored.last_seq {
            let corrupt = |source| StoreError::Corrupt {
                doc: key.to_string(),
                source: Box::new(source),
            };
            let chunks = self.backend.chunks_after(key, cached.version.last_seq)?;
            for (seq, data) in &chunks {
                cached.doc.load_incremental(data).map_err(corrupt)?;
                cached.version.last_seq = *seq;
            }
            if !chunks.is_empty() {
                cached.doc.update_diff_cursor();
            }
        }
        Ok(cached)
    }

    /// Reads the document, current with the backend. (`&mut` because some of Automerge's
    /// reads need it; anything `f` changes without committing is rolled back. Changes go
    /// through [`Replica::change`].)
    pub fn with_doc<T>(&self, id: &DocId, f: impl FnOnce(&mut AutoCommit) -> T) -> Result<T> {
        let key = id.to_string();
        self.with_slot(&key, |slot| {
            let doc = &mut self.fresh(&key, slot)?.doc;
            let value = f(doc);
            if doc.pending_ops() > 0 {
                doc.rollback();
            }
            Ok(value)
        })
    }

    pub fn heads(&self, id: &DocId) -> Result<Vec<ChangeHash>> {
        self.with_doc(id, |d| d.get_heads())
    }

    /// The heads of several documents and `peer`'s sync state of each: what a poll compares.
    /// One read of the backend when the copies in memory are current (the usual case of an
    /// idle agent's poll), instead of two per document.
    pub fn poll_view(
        &self,
        peer: &str,
        ids: &[DocId],
    ) -> Result<Vec<(Vec<ChangeHash>, sync::State)>> {
        let keys: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
        let names: Vec<&str> = keys.iter().map(String::as_str).collect();
        let stored = self.backend.poll_view(peer, &names)?;
        keys.iter()
            .zip(stored)
            .map(|(key, (version, state))| {
                let heads = self.with_slot(key, |slot| {
                    let cached = match slot {
                        Some(c) if c.version == version => {
                            self.hits.fetch_add(1, Ordering::Relaxed);
                            c
                        }
                        // Loaded since, or never: read the version again, as any use does.
                        _ => self.fresh(key, slot)?,
                    };
                    Ok(cached.doc.get_heads())
                })?;
                let state = state
                    .and_then(|b| sync::State::decode(&b).ok())
                    .unwrap_or_default();
                Ok((heads, state))
            })
            .collect()
    }

    /// Makes a local change. `f` edits the document; if it fails, or storing fails, the
    /// document is left as it was, in memory and in the backend. If another process wrote the
    /// document meanwhile, `f` runs again on top of that write.
    pub fn change<T>(
        &self,
        id: &DocId,
        f: impl FnMut(&mut AutoCommit) -> Result<T, SchemaError>,
    ) -> Result<T> {
        self.change_as(id, Origin::LOCAL, f)
    }

    /// [`Replica::change`], entered in the change log under `origin` (a curator's token).
    pub fn change_as<T>(
        &self,
        id: &DocId,
        origin: Origin<'_>,
        f: impl FnMut(&mut AutoCommit) -> Result<T, SchemaError>,
    ) -> Result<T> {
        self.change_with(id, origin, &[], f)
    }

    /// [`Replica::change`], storing `meta` (key, value) pairs in the same transaction as the
    /// change: both are stored, or neither.
    pub fn change_noting<T>(
        &self,
        id: &DocId,
        meta: &[(String, String)],
        f: impl FnMut(&mut AutoCommit) -> Result<T, SchemaError>,
    ) -> Result<T> {
        self.change_with(id, Origin::LOCAL, meta, f)
    }

    /// Makes a local change of many records (an import) as several Automerge changes of at
    /// most `per_change` items each, stored in one backend transaction with `meta`: all of
    /// them or none, as one [`Replica::change_noting`]. A sync sends a backlog in parts cut
    /// between changes and never splits one, so a change past what a thin link carries
    /// within one request's timeout could never cross it; bounded changes always can.
    pub fn change_in_parts<I>(
        &self,
        id: &DocId,
        meta: &[(String, String)],
        items: &[I],
        per_change: usize,
        mut f: impl FnMut(&mut AutoCommit, &I) -> Result<(), SchemaError>,
    ) -> Result<()> {
        let key = id.to_string();
        let n_chunks = self.with_slot(&key, |slot| {
            for attempt in 0..MAX_ATTEMPTS {
                let cached = self.fresh(&key, slot)?;
                let before = cached.doc.get_heads();
                let mut failed = None;
                for part in items.chunks(per_change.max(1)) {
                    if let Err(e) = part.iter().try_for_each(|item| f(&mut cached.doc, item)) {
                        cached.doc.rollback();
                        failed = Some(e);
                        break;
                    }
                    let now = time::OffsetDateTime::now_utc().unix_timestamp();
                    cached
                        .doc
                        .commit_with(CommitOptions::default().with_time(now));
                }
                if let Some(e) = failed {
                    // Parts committed in memory before the failure: the document is read
                    // again from the backend, where none of them is.
                    *slot = None;
                    return Err(e.into());
                }
                let stored = self.persist(
                    id,
                    cached,
                    &before,
                    None,
                    false,
                    Extras {
                        origin: Origin::LOCAL,
                        meta,
                    },
                );
                match stored {
                    Ok(Some(n_chunks)) => return Ok(n_chunks),
                    Ok(None) => *slot = None,
                    Err(e) => {
                        *slot = None;
                        return Err(e);
                    }
                }
                contention_pause(attempt);
            }
            Err(StoreError::Contended { doc: key.clone() })
        })?;
        self.maybe_compact(id, n_chunks);
        Ok(())
    }

    pub(super) fn change_with<T>(
        &self,
        id: &DocId,
        origin: Origin<'_>,
        meta: &[(String, String)],
        mut f: impl FnMut(&mut AutoCommit) -> Result<T, SchemaError>,
    ) -> Result<T> {
        let key = id.to_string();
        let (value, n_chunks) = self.with_slot(&key, |slot| {
            for attempt in 0..MAX_ATTEMPTS {
                let cached = self.fresh(&key, slot)?;
                let before = cached.doc.get_heads();
                let value = match f(&mut cached.doc) {
                    Ok(v) => v,
                    Err(e) => {
                        cached.doc.rollback();
                        return Err(e.into());
                    }
                };
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                cached
                    .doc
                    .commit_with(CommitOptions::default().with_time(now));
                match self.persist(id, cached, &before, None, false, Extras { origin, meta })? {
                    Some(n_chunks) => return Ok((value, n_chunks)),
                    None => *slot = None,
                }
                contention_pause(attempt);
            }
            Err(StoreError::Contended { doc: key.clone() })
        })?;
        self.maybe_compact(id, n_chunks);
        Ok(value)
    }

    /// Appends everything after `before` as a chunk, with the materialized rows of the records
    /// it touched and the sync state, in one backend transaction. `Some(chunk count)` when
    /// stored (`None` inside when no chunk was needed), `None` on a version conflict.
    pub(super) fn persist(
        &self,
        id: &DocId,
        cached: &mut Cached,
        before: &[ChangeHash],
        sync_state: Option<(&str, &sync::State)>,
        received: bool,
        extras: Extras<'_>,
    ) -> Result<Option<Option<i64>>> {
        let Extras { origin, meta } = extras;
        let key = id.to_string();
        let after = cached.doc.get_heads();
        let encoded_state = sync_state.map(|(peer, s)| (peer, s.encode()));
        let sync_state = encoded_state
            .as_ref()
            .map(|(peer, bytes)| (*peer, bytes.as_slice()));
        if after.as_slice() == before {
            if sync_state.is_none() {
                return Ok(Some(None));
            }
            let write = DocWrite {
                doc: &key,
                base: cached.version,
                chunk: None,
                rows: &[],
                sync_state,
                log: None,
                meta: &[],
            };
            return match self.backend.commit(&write)? {
                Commit::Done { .. } => Ok(Some(None)),
                Commit::Conflict => Ok(None),
            };
        }
        // A document that was empty before (a UPT's bootstrap at the hub): the whole document,
        // written from its columns; `save_after` would encode every change of it one by one.
        let chunk = if before.is_empty() {
            cached.doc.save()
        } else {
            cached.doc.save_after(before)
        };
        // A document that was empty before: every record in it is new, and listing the root's
        // keys is much cheaper than a diff of the whole document.
        let touched: BTreeSet<RecordKey> = if before.is_empty() {
            crate::schema::record_keys(&cached.doc)
                .into_iter()
                .collect()
        } else {
            let mut keys = touched_records(&mut cached.doc, before, &after);
            keys.extend(written_records(&mut cached.doc, before));
            keys
        };
        cached.doc.update_diff_cursor();
        let rows = materialize::row_ops(id, &cached.doc, &touched);
        if received {
            let check = self
                .row_check
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if let Some(check) = check {
                for row in &rows {
                    check(row).map_err(|reason| StoreError::Invalid {
                        doc: key.clone(),
                        reason: format!("{}: {reason}", materialize::describe(row)),
                    })?;
                }
            }
        }
        let log = self.log_changes.load(Ordering::Relaxed).then(|| LogEntry {
            upt: id.upt().unwrap_or(""),
            // The changes' metadata only: building the changes themselves encoded every op
            // again (12 % of a bootstrap at the hub, beside `save_after`'s own encoding).
            hashes: cached
                .doc
                .get_changes_meta(before)
                .iter()
                .map(|c| c.hash.to_string())
                .collect(),
            origin,
        });
        let write = DocWrite {
            doc: &key,
            base: cached.version,
            chunk: Some(&chunk),
            rows: &rows,
            sync_state,
            log,
            meta,
        };
        match self.backend.commit(&write)? {
            Commit::Done { version, n_chunks } => {
                cached.version = version;
                Ok(Some(n_chunks))
            }
            Commit::Conflict => Ok(None),
        }
    }

    /// Compacts after a write once enough chunks piled up. A write that was stored is never
    /// reported as failed because the compaction after it failed: that is logged, and the
    /// next write tries again.
    pub(super) fn maybe_compact(&self, id: &DocId, n_chunks: Option<i64>) {
        if n_chunks.is_some_and(|n| n >= self.compact_after.load(Ordering::Relaxed))
            && let Err(e) = self.compact(id)
        {
            tracing::warn!(doc = %id, error = %e, "compaction failed; the write itself is stored, and compaction is retried after the next write");
        }
    }

    /// Folds the snapshot and every chunk of a document into a new snapshot, atomically.
    pub fn compact(&self, id: &DocId) -> Result<()> {
        let key = id.to_string();
        self.with_slot(&key, |slot| {
            let cached = self.fresh(&key, slot)?;
            let snapshot = cached.doc.save();
            match self.backend.compact(&key, cached.version, &snapshot)? {
                Some(version) => cached.version = version,
                // Someone wrote meanwhile: the next write compacts.
                None => *slot = None,
            }
            Ok(())
        })
    }

    /// Drops a document here (see [`Backend::forget`]) so the next sync brings it back whole
    /// from the hub: the repair of a copy the hub refuses (tampered with, or ahead of a hub
    /// restored from a backup). What only this copy held is gone.
    pub fn forget(&self, id: &DocId) -> Result<()> {
        let key = id.to_string();
        self.with_slot(&key, |slot| {
            *slot = None;
            self.backend.forget(id)
        })
    }

    /// Rows stored for a document (1 snapshot row, if any, plus its chunks).
    pub fn stored_rows(&self, id: &DocId) -> Result<i64> {
        self.backend.stored_rows(&id.to_string())
    }

    /// Re-reads a whole document into the materialized tables. The incremental path keeps them
    /// current; this repairs them (after a schema migration, say) and checks them in tests.
    pub fn rebuild_materialized(&self, id: &DocId) -> Result<()> {
        let key = id.to_string();
        self.with_slot(&key, |slot| {
            let cached = self.fresh(&key, slot)?;
            let keys = crate::schema::record_keys(&cached.doc);
            let rows = materialize::row_ops(id, &cached.doc, &keys);
            self.backend.replace_rows(id, &rows)
        })
    }
}
