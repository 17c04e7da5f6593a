//! The server half of a sync: answers one request frame against a replica, document by
//! document, under a [`WriteAuthority`] that says what the peer may see and write.
//!
//! The hub's `POST /api/v1/sync` is glue around [`serve`] (authentication, admission, the
//! refusal log); the property tests drive the very same function, authority included.
//!
//! A document the peer may not write, or may not even see, is refused with a reason while
//! the others sync normally. A refusal is whole: the message is received into a fork,
//! inspected, and dropped. A panic while one document is merged refuses that document with
//! "internal error"; the others are served.

use crate::schema::DocId;
use crate::store::{Backend, Exchange, Origin, Received, Replica, StoreError, WritePolicy};
use crate::vouch::{HeadsKey, Vouch};
use crate::wire::{Poll, Reply, Request, Response, heads_digest};
use automerge::sync::Message;
use std::collections::HashSet;

/// Who may do what, for one authenticated peer.
pub trait WriteAuthority {
    /// What the peer may do with `doc`: `None` means it may not even see it.
    fn policy(&self, doc: &DocId) -> Option<WritePolicy>;
    /// Who may write `doc`, for a refusal's reason.
    fn writers_of(&self, doc: &DocId) -> String;
    /// The documents the peer may sync, for a refusal's reason.
    fn allowed(&self) -> String;
    /// The documents the peer syncs (its polls digest their heads).
    fn docs(&self) -> Vec<DocId>;
    /// The key this hub vouches for its own documents with (see [`crate::vouch`]); `None`:
    /// no vouches are given, none taken.
    fn key(&self) -> Option<&HeadsKey>;
}

/// The hub's rule for an agent of one UPT: it writes `upt/<CODE>`, reads `curation/<CODE>`
/// and `national`, and sees nothing else.
#[derive(Debug, Clone)]
pub struct AgentAuthority {
    pub upt: String,
    pub key: Option<HeadsKey>,
}

impl Served {
    /// Adds what serving more of the same request did (a hub serves a request in parts when
    /// the first part decides who may write the rest).
    pub fn extend(&mut self, more: Served) {
        self.response.docs.extend(more.response.docs);
        if let Some(v) = more.response.vouches {
            self.response.vouches.get_or_insert_with(Vec::new).extend(v);
        }
        self.response.accepts_polls |= more.response.accepts_polls;
        self.merged += more.merged;
        self.refused.extend(more.refused);
        self.panicked.extend(more.panicked);
    }
}

/// A hub being rebuilt, to an agent whose key the registry does not list yet: only the
/// registry (`national`), and only as the lost hub wrote it (vouched).
#[derive(Debug, Clone)]
pub struct RegistryOnly {
    pub key: Option<HeadsKey>,
}

impl WriteAuthority for RegistryOnly {
    fn policy(&self, doc: &DocId) -> Option<WritePolicy> {
        matches!(doc, DocId::National).then_some(WritePolicy::ReadOnly)
    }
    fn writers_of(&self, _: &DocId) -> String {
        "the hub admin".into()
    }
    fn allowed(&self) -> String {
        "national (until the registry lists this agent's key)".into()
    }
    fn docs(&self) -> Vec<DocId> {
        vec![DocId::National]
    }
    fn key(&self) -> Option<&HeadsKey> {
        self.key.as_ref()
    }
}

impl WriteAuthority for AgentAuthority {
    fn policy(&self, doc: &DocId) -> Option<WritePolicy> {
        match doc {
            DocId::Upt(c) if *c == self.upt => Some(WritePolicy::MayWrite),
            DocId::Curation(c) if *c == self.upt => Some(WritePolicy::ReadOnly),
            DocId::National => Some(WritePolicy::ReadOnly),
            _ => None,
        }
    }

    fn writers_of(&self, doc: &DocId) -> String {
        match doc {
            DocId::Upt(c) => format!("the agents of {c}"),
            DocId::Curation(_) => "HQ curators (through the hub)".into(),
            DocId::National => "the hub admin".into(),
        }
    }

    fn allowed(&self) -> String {
        let c = &self.upt;
        format!("UPT {c} may sync upt/{c}, curation/{c} and national only")
    }

    fn docs(&self) -> Vec<DocId> {
        DocId::for_agent(&self.upt)
    }

    fn key(&self) -> Option<&HeadsKey> {
        self.key.as_ref()
    }
}

/// Why a whole frame was refused (nothing of it was looked at).
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("the frame names document '{0}' twice; a frame names each document once")]
    Duplicate(String),
    #[error(
        "the frame names '{0}', which is not a karya document (upt/CODE, curation/CODE or national)"
    )]
    UnknownDocument(String),
}

/// What serving one request did.
#[derive(Debug, Default)]
pub struct Served {
    pub response: Response,
    /// Changes merged, over every document.
    pub merged: usize,
    /// Each document refused.
    pub refused: Vec<Refused>,
    /// (document, panic message) of each document whose merge panicked (also in `refused`).
    pub panicked: Vec<(String, String)>,
}

/// Every kind of refusal reason (see [`Refused::kind`]).
pub const REFUSAL_KINDS: [&str; 9] = [
    "not_visible",
    "malformed",
    "not_applicable",
    "not_writer",
    "invalid_record",
    "internal_error",
    "unknown_key",
    "awaiting_adoption",
    "hub_copy_stands",
];

/// A document refused, why (for the peer) and the kind of reason (for metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub doc: String,
    pub reason: String,
    /// `unknown_document`, `not_visible`, `malformed`, `not_applicable`, `not_writer`,
    /// `internal_error` or `unknown_key` (a hub being rebuilt does not know the agent's key
    /// yet).
    pub kind: &'static str,
}

impl Refused {
    /// The refusal as the agent reads it: the code first (it words it for its operator).
    pub fn reply(&self) -> Reply {
        Reply::Refused(format!("{}: {}", self.kind, self.reason))
    }
}

impl Served {
    /// Refuses document `doc` for `reason` (of kind `kind`): in the refusals and the reply.
    pub fn refuse(&mut self, doc: String, kind: &'static str, reason: String) {
        let refused = Refused {
            doc: doc.clone(),
            reason,
            kind,
        };
        self.response.docs.push((doc, refused.reply()));
        self.refused.push(refused);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Answers `request` from `origin` (the peer, and the token it sent) against `replica`. Errors of the backend itself (a full
/// disk) fail the request; the documents answered before it stay stored, and the peer's next
/// sync goes on from there.
pub fn serve<B: Backend>(
    replica: &Replica<B>,
    origin: Origin<'_>,
    request: Request,
    authority: &dyn WriteAuthority,
) -> Result<Served, ServeError> {
    // A frame that repeats a document or names one that cannot exist is refused whole and
    // at once: answering each entry would let one small frame cost a write, a log line and
    // a reply entry per repetition.
    let mut seen = HashSet::with_capacity(request.docs.len());
    for (name, _) in &request.docs {
        if DocId::parse(name).is_none() {
            return Err(FrameError::UnknownDocument(name.clone()).into());
        }
        if !seen.insert(name.as_str()) {
            return Err(FrameError::Duplicate(name.clone()).into());
        }
    }
    let mut served = Served::default();
    let mut replies = Vec::with_capacity(request.docs.len());
    let give_vouches = request.vouches.is_some();
    let taken = taken_vouches(request.vouches.unwrap_or_default(), authority);
    let mut vouches = Vec::new();
    for (name, bytes) in request.docs {
        let vouched = taken
            .iter()
            .find(|(d, _)| *d == name)
            .map(|(_, h)| h.as_slice());
        let outcome = serve_doc(replica, origin, &name, &bytes, authority, vouched);
        let reply = match outcome {
            Ok(DocOutcome::Reply(message, merged)) => {
                served.merged += merged;
                if give_vouches
                    && let Some(v) = message
                        .as_ref()
                        .and_then(|m| vouch_for(&name, m, authority))
                {
                    vouches.push((name.clone(), v));
                }
                message.map_or(Reply::Nothing, |m| Reply::Message(m.encode()))
            }
            Ok(DocOutcome::Refused(kind, reason)) => {
                let refused = Refused {
                    doc: name.clone(),
                    reason,
                    kind,
                };
                let reply = refused.reply();
                served.refused.push(refused);
                reply
            }
            Err(StoreError::Panicked { doc, message }) => {
                served.panicked.push((doc, message));
                let reason = format!(
                    "internal error while merging {name}; nothing of it was merged, the hub logged it, and the next sync tries again"
                );
                let refused = Refused {
                    doc: name.clone(),
                    reason,
                    kind: "internal_error",
                };
                let reply = refused.reply();
                served.refused.push(refused);
                reply
            }
            Err(e) => return Err(e.into()),
        };
        replies.push((name, reply));
    }
    served.response = Response {
        docs: replies,
        accepts_polls: true,
        vouches: give_vouches.then_some(vouches),
        photo_gaps: None,
    };
    Ok(served)
}

/// The heads of each vouch in a request that this hub gave (a forged or foreign vouch is
/// dropped, and the changes it came with are refused as any other agent's write).
fn taken_vouches(
    vouches: Vec<(String, Vec<u8>)>,
    authority: &dyn WriteAuthority,
) -> Vec<(String, Vec<automerge::ChangeHash>)> {
    let Some(key) = authority.key() else {
        return Vec::new();
    };
    vouches
        .into_iter()
        .filter_map(|(doc, bytes)| {
            let v = Vouch::decode(&bytes)?;
            key.verify(&doc, &v).then_some((doc, v.heads))
        })
        .collect()
}

/// A vouch for the heads a reply message carries, when it carries changes of a document the
/// peer only reads (those the hub wrote).
fn vouch_for(doc: &str, m: &Message, authority: &dyn WriteAuthority) -> Option<Vec<u8>> {
    let key = authority.key()?;
    let id = DocId::parse(doc)?;
    if authority.policy(&id) != Some(WritePolicy::ReadOnly) {
        return None;
    }
    if m.changes.is_empty() || m.heads.is_empty() {
        return None;
    }
    Some(key.vouch(doc, &m.heads).encode())
}

/// Answers a poll: `None` when this replica's heads give the poll's digest (nothing to do on
/// either side; the hub answers 204), else a reply with what the peer lacks of each of its
/// documents, as if it had offered the heads both sides agreed on at their last sync. A
/// peer that has moved on since (restored from a backup, say) answers with what it needs,
/// and the session goes on as usual.
pub fn serve_poll<B: Backend>(
    replica: &Replica<B>,
    origin: Origin<'_>,
    poll: &Poll,
    authority: &dyn WriteAuthority,
) -> Result<Option<Response>, StoreError> {
    let docs = authority.docs();
    let view = replica.poll_view(origin.peer, &docs)?;
    let digest = heads_digest(
        docs.iter()
            .zip(&view)
            .map(|(doc, (h, _))| (doc.to_string(), h.as_slice())),
    );
    if digest == poll.digest {
        for (doc, (h, state)) in docs.iter().zip(view) {
            replica.mark_shared_from(origin.peer, doc, &h, state)?;
        }
        return Ok(None);
    }
    let mut replies = Vec::with_capacity(docs.len());
    let mut vouches = Vec::new();
    for doc in &docs {
        let name = doc.to_string();
        let policy = authority.policy(doc).unwrap_or(WritePolicy::ReadOnly);
        let reply = match replica.answer_poll(doc, origin, policy)? {
            Some(m) => {
                if let Some(v) = vouch_for(&name, &m, authority) {
                    vouches.push((name.clone(), v));
                }
                Reply::Message(m.encode())
            }
            None => Reply::Nothing,
        };
        replies.push((name, reply));
    }
    Ok(Some(Response {
        docs: replies,
        accepts_polls: true,
        vouches: Some(vouches),
        photo_gaps: None,
    }))
}

enum DocOutcome {
    /// The reply message (none: nothing to say), and the changes merged.
    Reply(Option<Message>, usize),
    /// The kind of reason, and the reason.
    Refused(&'static str, String),
}

fn serve_doc<B: Backend>(
    replica: &Replica<B>,
    origin: Origin<'_>,
    name: &str,
    bytes: &[u8],
    authority: &dyn WriteAuthority,
    vouched: Option<&[automerge::ChangeHash]>,
) -> Result<DocOutcome, StoreError> {
    let Some(doc) = DocId::parse(name) else {
        // `serve` refused such a frame whole already; kept for callers of this function.
        return Ok(DocOutcome::Refused(
            "not_visible",
            format!("'{name}' is not a karya document; nothing of it was merged"),
        ));
    };
    let Some(policy) = authority.policy(&doc) else {
        return Ok(DocOutcome::Refused(
            "not_visible",
            format!(
                "{} may not sync {doc}: {}; nothing of it was merged",
                origin.peer,
                authority.allowed()
            ),
        ));
    };
    let message = if bytes.is_empty() {
        None
    } else {
        match Message::decode(bytes) {
            Ok(m) => Some(m),
            Err(e) => {
                return Ok(DocOutcome::Refused(
                    "malformed",
                    format!(
                        "the sync message for {doc} is malformed ({e}); nothing of it was merged"
                    ),
                ));
            }
        }
    };
    let Exchange { received, reply } = match replica
        .exchange(&doc, origin, message, policy, vouched)
    {
        Ok(x) => x,
        Err(StoreError::Invalid { reason, .. }) => {
            return Ok(DocOutcome::Refused(
                "invalid_record",
                format!(
                    "{doc} refused: {reason}; nothing of it was merged. Correct the record at the UPT (karya-agent product edit ...) and sync again"
                ),
            ));
        }
        Err(StoreError::Sync { source, .. }) => {
            return Ok(DocOutcome::Refused(
                "not_applicable",
                format!(
                    "the sync message for {doc} could not be applied ({source}); nothing of it was merged"
                ),
            ));
        }
        Err(e) => return Err(e),
    };
    let merged = match received {
        Some(Received::Refused { new_changes }) => {
            return Ok(DocOutcome::Refused(
                "not_writer",
                format!(
                    "{new_changes} change(s) to {doc} refused: only {} may write it; nothing of it was merged",
                    authority.writers_of(&doc)
                ),
            ));
        }
        Some(Received::Applied { new_changes }) => new_changes,
        None => 0,
    };
    Ok(DocOutcome::Reply(reply, merged))
}
