//! The client side of a sync: which documents to offer, and what to do with the hub's reply.
//!
//! A session is transport-free: [`SyncSession::next_request`] gives the frame to POST and
//! [`SyncSession::handle_response`] takes the reply, until `next_request` has nothing left to
//! say. The agent drives it over HTTP; the simulation drives it the same way. Every received
//! change and every sync state is persisted as it arrives, so an interrupted sync resumes
//! where it stopped.
//!
//! A two-peer round without any HTTP, the hub's side played by the same server half the hub
//! runs ([`crate::server::serve`]):
//!
//! ```
//! use karya_shared::{DocId, Store, model, schema, wire};
//! use karya_shared::server::{self, AgentAuthority};
//! use karya_shared::session::SyncSession;
//! use karya_shared::store::Origin;
//! let agent = Store::open_in_memory(None).unwrap();
//! let hub = Store::open_in_memory(None).unwrap();
//! let doc = DocId::Upt("LAPAS-PATI".into());
//! agent.change(&doc, |d| schema::put_upt(d, &model::UptInfo::new("X", "n", model::UptType::Lapas, "k"))).unwrap();
//! let authority = AgentAuthority { upt: "LAPAS-PATI".into(), key: None };
//! let mut session = SyncSession::new(&agent, "agent-1", vec![doc.clone()]).unwrap();
//! while let Some(frame) = session.next_request(&agent).unwrap() {
//!     let request = wire::Request::decode(&frame).unwrap();
//!     let served = server::serve(&hub, Origin { peer: "LAPAS-PATI/agent-1", token: "t1" }, request, &authority).unwrap();
//!     session.handle_response(&agent, &served.response.encode()).unwrap();
//! }
//! assert_eq!(agent.heads(&doc).unwrap(), hub.heads(&doc).unwrap());
//! assert!(session.outcome().round_trips <= 2);
//! ```

use crate::schema::DocId;
use crate::store::{Backend, Received, Replica, StoreError, WritePolicy};
use crate::vouch::Vouch;
use crate::wire::{Reply, Request, Response, WireError};
use automerge::ChangeHash;
use automerge::sync::{Message, State};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The meta key of the hub's newest usable vouch for a document.
pub fn vouch_key(doc: &str) -> String {
    format!("vouch/{doc}")
}

/// The name under which an agent keeps its sync state with the hub.
pub const HUB_PEER: &str = "hub";
/// A session that has not settled after this many round trips is stopped: something is wrong
/// and repeating will not fix it.
pub const MAX_ROUNDS: u32 = 12;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the hub's reply is not a valid sync frame: {0}")]
    Wire(#[from] WireError),
    #[error("the hub sent a sync message for {doc} that could not be decoded: {reason}")]
    BadMessage { doc: String, reason: String },
    #[error(
        "the sync did not settle after {MAX_ROUNDS} round trips; try again, and report it if it persists"
    )]
    TooManyRounds,
}

/// A document the hub refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub doc: String,
    /// The hub's words, after its code for why (`not_writer: …`) from hubs that send one.
    pub reason: String,
}

impl Refusal {
    /// The hub's code for why (`unknown_document`, `not_visible`, `malformed`,
    /// `not_applicable`, `not_writer`, `internal_error`, or an upload's `photo_quota` …):
    /// what the agent tells its operator in their own words.
    pub fn code(&self) -> Option<&str> {
        let (code, _) = self.reason.split_once(": ")?;
        (!code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .then_some(code)
    }

    /// The hub's own words, without the code.
    pub fn detail(&self) -> &str {
        match self.code() {
            Some(code) => &self.reason[code.len() + 2..],
            None => &self.reason,
        }
    }
}

/// What a finished session did, for `karya-agent sync` and the status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub documents: usize,
    pub round_trips: u32,
    /// Sync frame bytes sent and received (HTTP headers not included).
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Changes the hub sent that were new here.
    pub changes_received: usize,
    pub refused: Vec<Refusal>,
    /// Photos sent whole after the records, their bytes, photos still to send, and photos
    /// the hub refused (with why).
    #[serde(default)]
    pub photos_sent: usize,
    #[serde(default)]
    pub photo_bytes: u64,
    #[serde(default)]
    pub photos_waiting: usize,
    #[serde(default)]
    pub photos_refused: Vec<Refusal>,
    /// Photos the hub said it lacks (see [`SyncSession::take_photo_gaps`]): the agent sends
    /// them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photo_gaps: Vec<String>,
    /// Why the photo round after the records stopped early (a cut link, a busy hub), if it
    /// did: the agent tries again on the records' backoff, not at the next scheduled sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photos_interrupted: Option<String>,
}

/// The heads of each document a poll offered.
type Offered = Vec<(DocId, Vec<ChangeHash>)>;

pub struct SyncSession {
    peer_id: String,
    states: BTreeMap<DocId, State>,
    outcome: Outcome,
    /// Most bytes of changes one request carries (`None`: no bound).
    budget: Option<usize>,
    /// Round trips whose request was cut to the budget: an upload in parts, making progress,
    /// so they do not count towards [`MAX_ROUNDS`].
    cut_rounds: u32,
    /// Bytes of changes per byte of frame, as the last part compressed (frames are deflated):
    /// the budget is on the wire, the cut is made in changes.
    compression: f64,
    /// The hub accepts polls: when nothing here is new, the first request is a poll.
    may_poll: bool,
    /// The last request was a poll.
    polled: bool,
    /// A poll was answered "in sync": nothing more to say.
    settled: bool,
    /// Whether the hub's last reply said it accepts polls.
    hub_polls: Option<bool>,
    /// Start with a poll even with changes here that the hub did not acknowledge: a request
    /// went unanswered, and the hub may have merged it (see [`SyncSession::probe_first`]).
    probe: bool,
    /// No poll this session: the hub refused one (it is being rebuilt) and wants the
    /// documents in full (see [`SyncSession::in_full`]).
    in_full: bool,
    /// The heads a probe offered, to keep as shared when the hub answers "in sync".
    probed: Offered,
    /// Ask the hub for the photos it lacks ([`SyncSession::take_photo_gaps`]).
    takes_photo_gaps: bool,
}

/// A session in parts never runs longer than this many round trips (a 600 KB backlog in
/// 20 KB parts is 30).
pub const MAX_PARTS: u32 = 2_000;

impl SyncSession {
    /// Starts from the persisted sync state of every document.
    pub fn new<B: Backend>(
        store: &Replica<B>,
        peer_id: &str,
        docs: Vec<DocId>,
    ) -> Result<Self, StoreError> {
        let mut states = BTreeMap::new();
        for doc in docs {
            let mut state = store.sync_state(HUB_PEER, &doc)?;
            crate::store::assume_shared(&mut state);
            states.insert(doc, state);
        }
        let outcome = Outcome {
            documents: states.len(),
            ..Outcome::default()
        };
        Ok(SyncSession {
            peer_id: peer_id.to_string(),
            states,
            outcome,
            budget: None,
            cut_rounds: 0,
            compression: 1.0,
            may_poll: false,
            polled: false,
            settled: false,
            hub_polls: None,
            probe: false,
            in_full: false,
            probed: Vec::new(),
            takes_photo_gaps: false,
        })
    }

    /// The last session's request went unanswered (a timeout, a cut link): the hub may have
    /// merged it without the reply reaching us. This session starts with a poll of the heads
    /// here, as an idle agent's: a hub that has them all answers 204 and they are marked
    /// shared, without sending anything again; any other hub answers with its heads, and the
    /// requests that follow carry only what it lacks. Takes effect only where polls are
    /// allowed ([`SyncSession::allow_poll`]).
    pub fn probe_first(&mut self) {
        self.probe = true;
    }

    /// Asks the hub to name the photos of this UPT's products that it does not hold whole
    /// (a hub put back with an older photo folder): see [`SyncSession::photo_gaps`].
    pub fn take_photo_gaps(&mut self) {
        self.takes_photo_gaps = true;
    }

    /// The photos the hub said it lacks, in this session: the agent sends them again.
    pub fn photo_gaps(&self) -> &[String] {
        &self.outcome.photo_gaps
    }

    /// The hub accepts polls (its replies said so): a session with nothing new to send
    /// starts with a poll, a few dozen bytes, instead of a message per document; and
    /// requests carry vouches (see [`crate::vouch`]), so a hub put back from a backup takes
    /// back its own changes that it lost.
    pub fn allow_poll(&mut self, yes: bool) {
        self.may_poll = yes;
    }

    /// Sends the documents in full, without a poll first, to a hub that takes polls (and
    /// vouches) but refused a poll this time: a hub being rebuilt from the agents. Requests
    /// still carry the vouches, which is how such a hub takes back the registry and the
    /// decisions (without them every UPT's decisions were refused once, `not_writer`).
    pub fn in_full(&mut self) {
        self.in_full = true;
    }

    /// Whether the hub's last reply said it accepts polls (`None` before a reply).
    pub fn hub_accepts_polls(&self) -> Option<bool> {
        self.hub_polls
    }

    /// Whether the last request sent was a poll.
    pub fn polled(&self) -> bool {
        self.polled
    }

    /// A poll, if one says all there is to say: nothing here that the hub has not
    /// acknowledged (every document's heads are the heads shared at the last sync), after a
    /// sync that agreed on something; or a probe ([`SyncSession::probe_first`]). With the
    /// heads offered.
    fn poll<B: Backend>(
        &self,
        store: &Replica<B>,
    ) -> Result<Option<(Vec<u8>, Offered)>, StoreError> {
        if !self.may_poll || self.in_full || self.outcome.round_trips > 0 {
            return Ok(None);
        }
        if self.states.values().all(|s| s.shared_heads.is_empty()) {
            return Ok(None);
        }
        let mut heads = Vec::with_capacity(self.states.len());
        for (doc, state) in &self.states {
            let mut mine = store.heads(doc)?;
            let mut shared = state.shared_heads.clone();
            mine.sort();
            shared.sort();
            if mine != shared && !self.probe {
                return Ok(None);
            }
            heads.push((doc.clone(), mine));
        }
        let digest =
            crate::wire::heads_digest(heads.iter().map(|(n, h)| (n.to_string(), h.as_slice())));
        let frame = crate::wire::Poll {
            peer: self.peer_id.clone(),
            agent_version: crate::VERSION.into(),
            digest,
            takes_photo_gaps: self.takes_photo_gaps,
        }
        .encode();
        Ok(Some((frame, heads)))
    }

    /// Bounds the changes one request carries to `bytes` (at least one change each): the rest
    /// goes in the next requests of the session, each part acknowledged before the next.
    pub fn with_budget(mut self, bytes: usize) -> Self {
        self.budget = Some(bytes.max(1));
        self
    }

    /// As [`SyncSession::with_budget`], between requests.
    pub fn set_budget(&mut self, bytes: usize) {
        self.budget = Some(bytes.max(1));
    }

    /// The next frame to send, or `None` when the documents are in sync.
    pub fn next_request<B: Backend>(
        &mut self,
        store: &Replica<B>,
    ) -> Result<Option<Vec<u8>>, SessionError> {
        if self.settled {
            return Ok(None);
        }
        if let Some((frame, heads)) = self.poll(store)? {
            self.polled = true;
            self.probed = heads;
            self.outcome.round_trips += 1;
            self.outcome.bytes_sent += frame.len() as u64;
            return Ok(Some(frame));
        }
        self.polled = false;
        let mut docs = Vec::new();
        let mut used = 0usize;
        let mut cut = false;
        for (doc, state) in self.states.iter_mut() {
            let msg = match self.budget {
                None => store.generate_sync_message(doc, state)?,
                Some(wire) => {
                    let budget = (wire as f64 * self.compression) as usize;
                    let wire_used = (used as f64 / self.compression) as usize;
                    let (msg, was_cut) = store.generate_bounded_sync_message(
                        doc,
                        state,
                        budget.saturating_sub(used).max(1),
                        wire.saturating_sub(wire_used).max(1),
                    )?;
                    cut |= was_cut;
                    used += msg
                        .as_ref()
                        .map_or(0, |m| m.changes.iter().map(<[u8]>::len).sum());
                    msg
                }
            };
            if let Some(msg) = msg {
                // After the first round, a message that asks for nothing, to a hub that
                // already has exactly our heads (so has every change we could send: heads
                // name the whole history; an empty document's save is one such "change"),
                // would only acknowledge what the hub just sent: not worth a satellite round
                // trip. The next session's first message tells the hub anyway.
                let ack_only = self.outcome.round_trips > 0
                    && msg.need.is_empty()
                    && state.their_heads.as_deref() == Some(msg.heads.as_slice());
                if !ack_only {
                    docs.push((doc.to_string(), msg.encode()));
                }
            }
        }
        if docs.is_empty() {
            return Ok(None);
        }
        if self.outcome.round_trips - self.cut_rounds >= MAX_ROUNDS
            || self.outcome.round_trips >= MAX_PARTS
        {
            return Err(SessionError::TooManyRounds);
        }
        self.outcome.round_trips += 1;
        let vouches = if self.may_poll {
            Some(self.vouches_for(store, &docs)?)
        } else {
            None
        };
        let frame = Request {
            peer: self.peer_id.clone(),
            agent_version: crate::VERSION.into(),
            docs,
            vouches,
            takes_photo_gaps: self.takes_photo_gaps,
        }
        .encode();
        if cut {
            self.cut_rounds += 1;
            // Learn how well the changes compress, so the next part fills its budget on the
            // wire (changes of one import deflate to a fifth).
            self.compression = (used as f64 / frame.len().max(1) as f64).clamp(1.0, 20.0);
        }
        self.outcome.bytes_sent += frame.len() as u64;
        Ok(Some(frame))
    }

    /// The hub's vouches kept here for the documents of `docs` that the hub writes and whose
    /// message carries changes (the hub lacks some of its own: it was put back from a backup).
    fn vouches_for<B: Backend>(
        &self,
        store: &Replica<B>,
        docs: &[(String, Vec<u8>)],
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for (name, bytes) in docs {
            if name.starts_with("upt/") {
                continue;
            }
            let carries_changes = Message::decode(bytes).is_ok_and(|m| !m.changes.is_empty());
            if !carries_changes {
                continue;
            }
            if let Some(v) = store
                .meta(&vouch_key(name))?
                .and_then(|h| hex::decode(h).ok())
            {
                out.push((name.clone(), v));
            }
        }
        Ok(out)
    }

    /// Keeps each vouch of a reply whose heads are all here now and whose history holds the
    /// heads of the vouch kept so far (a hub put back from a backup vouches for less than
    /// the agent holds: the vouch that covers more is the one that lets it take its changes
    /// back).
    fn keep_vouches<B: Backend>(
        &self,
        store: &Replica<B>,
        vouches: Vec<(String, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        for (name, bytes) in vouches {
            let Some(doc) = DocId::parse(&name).filter(|d| self.states.contains_key(d)) else {
                continue;
            };
            let Some(v) = Vouch::decode(&bytes) else {
                continue;
            };
            let text = hex::encode(&bytes);
            let kept = store.meta(&vouch_key(&name))?;
            if kept.as_deref() == Some(text.as_str()) {
                continue;
            }
            let kept = kept
                .and_then(|h| hex::decode(h).ok())
                .and_then(|b| Vouch::decode(&b));
            let better = store.with_doc(&doc, |d| {
                if !v.heads.iter().all(|h| d.get_change_by_hash(h).is_some()) {
                    return false;
                }
                let Some(kept) = &kept else {
                    return true;
                };
                let outside: std::collections::HashSet<_> =
                    d.get_changes(&v.heads).iter().map(|c| c.hash()).collect();
                kept.heads.iter().all(|h| !outside.contains(h))
            })?;
            if better {
                store.set_meta(&vouch_key(&name), &text)?;
            }
        }
        Ok(())
    }

    pub fn handle_response<B: Backend>(
        &mut self,
        store: &Replica<B>,
        frame: &[u8],
    ) -> Result<(), SessionError> {
        self.outcome.bytes_received += frame.len() as u64;
        if self.polled && frame.is_empty() {
            // 204: the hub has exactly our heads.
            return self.settle(store);
        }
        let response = Response::decode(frame)?;
        self.hub_polls = Some(response.accepts_polls);
        if let Some(gaps) = response.photo_gaps {
            self.outcome.photo_gaps.extend(gaps);
        }
        if self.polled && response.docs.is_empty() {
            // The hub has exactly our heads and had something else to say (the photos it
            // lacks): as a 204. (A poll the hub is not in sync with is answered per document.)
            return self.settle(store);
        }
        for (name, reply) in response.docs {
            let Some(doc) = DocId::parse(&name).filter(|d| self.states.contains_key(d)) else {
                // Not one of ours: ignore rather than store what we did not ask for.
                continue;
            };
            match reply {
                Reply::Nothing => {}
                Reply::Refused(reason) => {
                    // Leave it out of the rest of this session; the other documents go on.
                    self.states.remove(&doc);
                    self.outcome.refused.push(Refusal { doc: name, reason });
                }
                Reply::Message(bytes) => {
                    let msg = Message::decode(&bytes).map_err(|e| SessionError::BadMessage {
                        doc: name.clone(),
                        reason: e.to_string(),
                    })?;
                    let state = self.states.get_mut(&doc).expect("checked above");
                    if let Received::Applied { new_changes } = store.receive_sync_message(
                        &doc,
                        HUB_PEER,
                        state,
                        msg,
                        WritePolicy::MayWrite,
                    )? {
                        self.outcome.changes_received += new_changes;
                    }
                }
            }
        }
        if let Some(vouches) = response.vouches {
            self.keep_vouches(store, vouches)?;
        }
        Ok(())
    }

    /// A poll answered "in sync". After a probe the heads offered may be more than the heads
    /// shared so far (the unanswered request was merged): they are kept as shared.
    fn settle<B: Backend>(&mut self, store: &Replica<B>) -> Result<(), SessionError> {
        self.settled = true;
        if self.probe {
            for (doc, heads) in std::mem::take(&mut self.probed) {
                if let Some(state) = self.states.get(&doc) {
                    store.mark_shared_from(HUB_PEER, &doc, &heads, state.clone())?;
                }
            }
        }
        Ok(())
    }

    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    pub fn into_outcome(self) -> Outcome {
        self.outcome
    }
}
