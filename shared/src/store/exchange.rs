//! A replica's side of the sync protocol: its sync states per peer, the messages it sends
//! (bounded in size), what it receives, and the one-round-trip exchange and poll.

use super::replica::{Cached, FaultHook, MAX_ATTEMPTS, Replica, contention_pause};
use super::{Backend, Extras, Origin, Received, Result, StoreError, WritePolicy};
use crate::schema::DocId;
use automerge::sync::{self, SyncDoc};
use automerge::{ChangeHash, ReadDoc};
use std::collections::BTreeSet;

/// What a sync exchange on one document did (see [`Replica::exchange`]).
#[derive(Debug)]
pub struct Exchange {
    /// What receiving the peer's message did (`None` when it sent none).
    pub received: Option<Received>,
    /// The message to send back, if there is anything to say.
    pub reply: Option<sync::Message>,
}

/// Starts optimistic: assumes the peer still has what both sides agreed on at the last sync
/// (the persisted shared heads), so the first message already carries every change made
/// since. An incremental sync is then one round trip instead of two; on a satellite link that
/// is 600 ms saved each time. If the peer does not have those heads after all (restored from
/// a backup, say), it answers with what it needs and the next round sends it.
pub fn assume_shared(state: &mut sync::State) {
    if state.shared_heads.is_empty() {
        return;
    }
    state.their_heads = Some(state.shared_heads.clone());
    state.their_need = Some(Vec::new());
    state.their_have = Some(vec![sync::Have {
        last_sync: state.shared_heads.clone(),
        bloom: sync::BloomFilter::default(),
    }]);
}

impl<B: Backend> Replica<B> {
    /// The stored sync state with `peer` for a document, or a fresh one.
    pub fn sync_state(&self, peer: &str, id: &DocId) -> Result<sync::State> {
        Ok(self
            .backend
            .sync_state(peer, &id.to_string())?
            .and_then(|b| sync::State::decode(&b).ok())
            .unwrap_or_default())
    }

    pub fn save_sync_state(&self, peer: &str, id: &DocId, state: &sync::State) -> Result<()> {
        self.backend
            .save_sync_state(peer, &id.to_string(), &state.encode())
    }

    /// `peer` is known to have exactly `heads` of `id` (its poll's digest matched): its stored
    /// sync state says so from now on, so that an answer to a later poll starts from there.
    /// Written only when it changes.
    pub fn mark_shared(&self, peer: &str, id: &DocId, heads: &[ChangeHash]) -> Result<()> {
        self.mark_shared_from(peer, id, heads, self.sync_state(peer, id)?)
    }

    /// [`Replica::mark_shared`], with `state` the stored sync state, read already.
    pub fn mark_shared_from(
        &self,
        peer: &str,
        id: &DocId,
        heads: &[ChangeHash],
        mut state: sync::State,
    ) -> Result<()> {
        let mut known = state.shared_heads.clone();
        let mut now = heads.to_vec();
        known.sort();
        now.sort();
        if known == now {
            return Ok(());
        }
        state.shared_heads = now;
        self.save_sync_state(peer, id, &state)
    }

    pub fn generate_sync_message(
        &self,
        id: &DocId,
        state: &mut sync::State,
    ) -> Result<Option<sync::Message>> {
        let key = id.to_string();
        self.with_slot(&key, |slot| {
            Ok(self
                .fresh(&key, slot)?
                .doc
                .sync()
                .generate_sync_message(state))
        })
    }

    /// As [`Replica::generate_sync_message`], with at most `budget` bytes of changes in the
    /// message (always at least one change, so an upload progresses): when Automerge would
    /// send more, the message carries instead the oldest changes the peer has not been sent
    /// and is not known to have (causal order, so each part applies on its own), and the
    /// rest stay unsent in the state for the next message. `.1` is true when the message was
    /// cut. A long upload over a thin link then goes in requests that each finish within the
    /// request timeout, and each part the peer acknowledged is never sent again.
    ///
    /// `budget` counts changes as stored (the frame deflates them, often fivefold);
    /// `wire_budget` is what the request may carry on the wire, for Automerge's whole-document
    /// save, which deflates no further (see below).
    pub fn generate_bounded_sync_message(
        &self,
        id: &DocId,
        state: &mut sync::State,
        budget: usize,
        wire_budget: usize,
    ) -> Result<(Option<sync::Message>, bool)> {
        let key = id.to_string();
        self.with_slot(&key, |slot| {
            let doc = &mut self.fresh(&key, slot)?.doc;
            let sent_before = state.sent_hashes.clone();
            let Some(mut message) = doc.sync().generate_sync_message(state) else {
                return Ok((None, false));
            };
            // Every change the peer is not known to have and was not sent yet, oldest first:
            // its hash, its bytes as stored, and its length as Automerge packs a change on its
            // own (columns deflated past 256 bytes), which is about what it costs on the wire.
            let pending: Vec<(automerge::ChangeHash, Vec<u8>, usize)> = doc
                .get_changes(&state.shared_heads)
                .into_iter()
                .filter(|c| !sent_before.contains(&c.hash()))
                .map(|mut c| (c.hash(), c.raw_bytes().to_vec(), c.bytes().len()))
                .collect();
            let pending_bytes: usize = pending.iter().map(|(_, raw, _)| raw.len()).sum();
            let pending_packed: usize = pending.iter().map(|(_, _, packed)| packed).sum();
            let bytes: usize = message.changes.iter().map(<[u8]>::len).sum();
            // Automerge's own message goes when it costs no more than the changes it stands
            // for. Past a third of the history it sends the whole document as one columnar
            // save (an offline spell of 2,000 edits: 72 KB, against 150 KB as separate
            // changes); that goes whole while the link carries it within the request timeout
            // (the budget is half of that). After parts of an upload went, the save would
            // carry them again and costs more than the rest: the rest goes as changes (issue
            // 28's spell went up in 91 KB).
            // Before the peer's first answer Automerge sends no change; a long upload then
            // starts with its first part at once, unless Automerge is about to send the whole
            // document instead (it does when more than a third of the history is pending).
            let eager = bytes == 0
                && pending_bytes > budget
                && pending.len() * 3 <= doc.get_changes_meta(&[]).len();
            if bytes <= pending_packed && bytes <= wire_budget.saturating_mul(2) && !eager {
                return Ok((Some(message), false));
            }
            // The changes themselves, in causal order, as many as the budget takes (after a
            // part, Automerge asks only for the newest heads, whose history the peer still
            // lacks, and the upload would go a few changes per round trip).
            let mut chosen = Vec::new();
            let mut hashes = Vec::new();
            let mut size = 0;
            for (hash, raw, _) in pending {
                if !chosen.is_empty() && size + raw.len() > budget {
                    break;
                }
                size += raw.len();
                chosen.push(raw);
                hashes.push(hash);
            }
            let all = size == pending_bytes;
            state.sent_hashes = sent_before;
            state.sent_hashes.extend(hashes);
            message.changes = chosen.into();
            Ok((Some(message), !all))
        })
    }

    /// Applies a peer's sync message, storing the new changes, the materialized rows and the
    /// sync state with `peer` in one transaction. Under [`WritePolicy::ReadOnly`] a message
    /// that carries changes we do not have yet is refused whole: it is received into a fork,
    /// inspected, and dropped, and the sync state is left as it was.
    pub fn receive_sync_message(
        &self,
        id: &DocId,
        peer: &str,
        state: &mut sync::State,
        message: sync::Message,
        policy: WritePolicy,
    ) -> Result<Received> {
        let origin = Origin { peer, token: "" };
        Ok(self
            .exchange_with(id, origin, state, Some(message), policy, None, false)?
            .received
            .expect("a message was given"))
    }

    /// The hub's answer to a poll from `origin` whose digest differs: what `origin` lacks of
    /// `id`, assuming it still has what both agreed on at their last sync (see
    /// [`assume_shared`]); for a document the peer only reads, nothing agreed on means it
    /// has nothing (a UPT's first curation decision comes down in the same round trip).
    /// Nothing is received; the sync state is not changed.
    pub fn answer_poll(
        &self,
        id: &DocId,
        origin: Origin<'_>,
        policy: WritePolicy,
    ) -> Result<Option<sync::Message>> {
        let mut state = self.sync_state(origin.peer, id)?;
        if state.shared_heads.is_empty() && policy == WritePolicy::ReadOnly {
            state.their_heads = Some(Vec::new());
            state.their_need = Some(Vec::new());
            state.their_have = Some(vec![sync::Have {
                last_sync: Vec::new(),
                bloom: sync::BloomFilter::default(),
            }]);
        }
        assume_shared(&mut state);
        Ok(self
            .exchange_with(
                id,
                origin,
                &mut state,
                None,
                WritePolicy::ReadOnly,
                None,
                true,
            )?
            .reply)
    }

    /// One document's part of a sync round, under one lock: receive the peer's message (if
    /// any), then generate the reply, with the sync state with `peer` loaded and saved here.
    /// The sync state is the one with `origin.peer`; the changes received are logged under
    /// `origin` (see [`Replica::set_change_log`]).
    ///
    /// Under [`WritePolicy::ReadOnly`], changes new here are refused, unless `vouched` names
    /// heads this replica vouched for (see [`crate::vouch`]; the caller checked the MAC) and
    /// every new change lies in their history: then they are merged (a restored hub taking
    /// back its own changes).
    pub fn exchange(
        &self,
        id: &DocId,
        origin: Origin<'_>,
        message: Option<sync::Message>,
        policy: WritePolicy,
        vouched: Option<&[ChangeHash]>,
    ) -> Result<Exchange> {
        let mut state = self.sync_state(origin.peer, id)?;
        self.exchange_with(id, origin, &mut state, message, policy, vouched, true)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn exchange_with(
        &self,
        id: &DocId,
        origin: Origin<'_>,
        state: &mut sync::State,
        message: Option<sync::Message>,
        policy: WritePolicy,
        vouched: Option<&[ChangeHash]>,
        reply: bool,
    ) -> Result<Exchange> {
        let key = id.to_string();
        let fault = self.fault.read().unwrap_or_else(|p| p.into_inner()).clone();
        let (exchange, n_chunks) = self.with_slot(&key, |slot| {
            let mut n_chunks = None;
            let mut received = None;
            if let Some(message) = message {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let mut try_state = state.clone();
                    match self.receive_once(
                        id,
                        slot,
                        origin,
                        &mut try_state,
                        message.clone(),
                        policy,
                        vouched,
                        fault.as_ref(),
                    )? {
                        Some((r, n)) => {
                            *state = try_state;
                            received = Some(r);
                            n_chunks = n;
                            break;
                        }
                        None if attempt < MAX_ATTEMPTS => {
                            *slot = None;
                            contention_pause(attempt);
                        }
                        None => return Err(StoreError::Contended { doc: key.clone() }),
                    }
                }
            }
            let reply = if reply {
                // After a receive under this lock the copy equals the stored document: no
                // second look at the backend.
                let cached = match slot {
                    Some(cached) if received.is_some() => cached,
                    _ => self.fresh(&key, slot)?,
                };
                cached.doc.sync().generate_sync_message(state)
            } else {
                None
            };
            Ok((Exchange { received, reply }, n_chunks))
        })?;
        self.maybe_compact(id, n_chunks);
        Ok(exchange)
    }

    /// `None` on a version conflict (the caller reloads and tries again).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn receive_once(
        &self,
        id: &DocId,
        slot: &mut Option<Cached>,
        origin: Origin<'_>,
        state: &mut sync::State,
        message: sync::Message,
        policy: WritePolicy,
        vouched: Option<&[ChangeHash]>,
        fault: Option<&FaultHook>,
    ) -> Result<Option<(Received, Option<i64>)>> {
        let key = id.to_string();
        let sync_error = |source| StoreError::Sync {
            doc: key.clone(),
            source: Box::new(source),
        };
        let cached = self.fresh(&key, slot)?;
        let doc = &mut cached.doc;
        let before = doc.get_heads();
        if policy == WritePolicy::ReadOnly && !message.changes.is_empty() {
            let mut fork = doc.fork();
            let mut probe = state.clone();
            fork.sync()
                .receive_sync_message(&mut probe, message.clone())
                .map_err(sync_error)?;
            let known: BTreeSet<ChangeHash> =
                doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
            let new: BTreeSet<ChangeHash> = fork
                .get_changes(&[])
                .iter()
                .map(|c| c.hash())
                .filter(|h| !known.contains(h))
                .collect();
            // Taken back only when all of the vouched history is here and holds every new
            // change: whatever lies outside it (or a history cut short) is not the writer's.
            let taken_back = match vouched {
                Some(heads) if !new.is_empty() => {
                    heads.iter().all(|h| fork.get_change_by_hash(h).is_some())
                        && fork
                            .get_changes(heads)
                            .iter()
                            .all(|c| !new.contains(&c.hash()))
                }
                _ => false,
            };
            if !new.is_empty() && !taken_back {
                return Ok(Some((
                    Received::Refused {
                        new_changes: new.len(),
                    },
                    None,
                )));
            }
        }
        let changes_before = doc.stats().num_changes;
        let shared_before = state.shared_heads.clone();
        doc.sync()
            .receive_sync_message(state, message)
            .map_err(sync_error)?;
        let new_changes = (doc.stats().num_changes - changes_before) as usize;
        if new_changes > 0
            && let Some(hook) = fault
        {
            hook(id);
        }
        // Only what is stored of the state (the shared heads) decides whether to write it: a
        // no-op sync then writes nothing, and costs no fsync.
        let state_changed = state.shared_heads != shared_before;
        Ok(self
            .persist(
                id,
                cached,
                &before,
                state_changed.then_some((origin.peer, &*state)),
                true,
                Extras { origin, meta: &[] },
            )?
            .map(|n| (Received::Applied { new_changes }, n)))
    }

    /// Changes in a document that `peer` has not acknowledged yet (as of the last sync).
    pub fn unshared_changes(&self, peer: &str, id: &DocId) -> Result<usize> {
        let shared = self.sync_state(peer, id)?.shared_heads;
        self.with_doc(id, |doc| {
            if shared.iter().any(|h| doc.get_change_by_hash(h).is_none()) {
                return doc.get_changes(&[]).len();
            }
            doc.get_changes(&shared).len()
        })
    }
}
