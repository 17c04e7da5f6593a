//! The sync wire format: one versioned binary frame per HTTP request and response, carrying
//! one Automerge sync message per document.
//!
//! ```text
//! frame   = "KRYA" version:u8 flags:u8 body            (flags bit 0: body is deflated)
//! request = peer:str agent_version:str count:u32 (doc:str message:bytes)*
//! reply   = count:u32 (doc:str status:u8 payload:bytes)*
//! str, bytes = length:u32-le followed by that many bytes
//! ```
//! An empty `message` in a request means "I replicate this document and have nothing to say
//! yet". Reply status 0 carries a sync message, 1 means nothing to send, 2 means the
//! document was refused and the payload is the reason (UTF-8).
//!
//! A poll (flags bit 1) is what an agent with nothing new sends instead of a request:
//!
//! ```text
//! poll    = peer:str agent_version:str digest:16 bytes
//! ```
//! The digest ([`heads_digest`]) covers the heads of every document the agent syncs. A hub
//! whose heads give the same digest answers `204 No Content` (nothing on either side); any
//! other hub answers with a reply frame, as for a request that offered the heads both sides
//! agreed on at the last sync. A reply's flags bit 1 says the hub accepts polls: an agent
//! polls only a hub that said so.
//!
//! Flags bit 2 on a request or a reply: after the documents comes a list of vouches
//! (see [`crate::vouch`]), `count:u32 (doc:str vouch:bytes)*`. An agent adds it only for a hub
//! that accepts polls; the hub adds it to its reply only when the request (or poll) had it.
//!
//! Flags bit 3 on a request or a poll: the agent takes a list of the photos the hub lacks. On a
//! reply (only to such a request): after the vouches (if any) comes that list,
//! `count:u32 (hash:str)*`, at most [`MAX_PHOTO_GAPS`] SHA-256 names of photos this UPT's
//! products name and the hub does not hold whole (its photo folder was put back older, or
//! moved); the agent sends them again. A poll whose digest matched but that has such a list is
//! answered with a reply of no documents and the list instead of `204`.

use flate2::{Compression, read::DeflateDecoder, write::DeflateEncoder};
use std::io::{Read, Write};

pub const MAGIC: &[u8; 4] = b"KRYA";
pub const PROTOCOL_VERSION: u8 = 1;
pub const CONTENT_TYPE: &str = "application/x-karya-sync";
const FLAG_DEFLATE: u8 = 1;
/// On a request: the body is a [`Poll`]. On a reply: the hub accepts polls.
const FLAG_POLL: u8 = 2;
/// A list of vouches follows the documents.
const FLAG_VOUCHES: u8 = 4;
/// On a request or poll: the agent takes a list of photos the hub lacks. On a reply: one follows.
const FLAG_PHOTO_GAPS: u8 = 8;
/// The most photo names one reply lists (the rest come in later replies).
pub const MAX_PHOTO_GAPS: usize = 1_000;
/// Bytes of a photo's name (SHA-256, hex).
const PHOTO_NAME_LEN: usize = 64;
/// Bytes of a poll's digest.
pub const DIGEST_LEN: usize = 16;
/// Bodies smaller than this are sent as they are: deflate would not pay for its header.
const COMPRESS_ABOVE: usize = 256;
/// Refuse to inflate a body past this, whatever its compressed size.
pub const MAX_INFLATED: u64 = 256 * 1024 * 1024;

/// What a decoder accepts from the other side. Every length on the wire is checked against
/// these while decoding, before anything is allocated for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest inflated body.
    pub max_inflated: u64,
    /// Largest inflated / compressed ratio (deflate bombs inflate a thousandfold and more;
    /// sync frames about fivefold at most).
    pub max_ratio: u64,
    /// Documents in one frame (an agent syncs three).
    pub max_docs: usize,
    /// Bytes of the peer id.
    pub max_peer: usize,
    /// Bytes of the agent version string.
    pub max_version: usize,
    /// Bytes of a document name.
    pub max_doc_name: usize,
    /// Bytes of a refusal reason (in a reply).
    pub max_reason: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_inflated: 64 * 1024 * 1024,
            max_ratio: 100,
            max_docs: 16,
            max_peer: 128,
            max_version: 64,
            max_doc_name: 64,
            max_reason: 4096,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("not a karya sync frame (bad magic bytes)")]
    BadMagic,
    #[error(
        "sync protocol version {got} is not supported (this side speaks version {PROTOCOL_VERSION}); upgrade karya-agent and karya-hub to the same release"
    )]
    Version { got: u8 },
    #[error("sync frame is truncated or malformed: {0}")]
    Malformed(&'static str),
    #[error("sync frame could not be decompressed: {0}")]
    Compression(String),
    #[error("sync frame too large: {what} is over the limit of {limit}")]
    TooLarge { what: &'static str, limit: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The agent installation (an id made at `init`): the hub keeps sync state per peer.
    pub peer: String,
    pub agent_version: String,
    pub docs: Vec<(String, Vec<u8>)>,
    /// `Some` (maybe empty) when the frame has a vouch list: (document, encoded vouch).
    pub vouches: Option<Vec<(String, Vec<u8>)>>,
    /// The agent takes a list of the photos the hub lacks ([`Response::photo_gaps`]).
    pub takes_photo_gaps: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Message(Vec<u8>),
    Nothing,
    Refused(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    pub docs: Vec<(String, Reply)>,
    /// The answering hub accepts [`Poll`]s.
    pub accepts_polls: bool,
    /// As in [`Request::vouches`].
    pub vouches: Option<Vec<(String, Vec<u8>)>>,
    /// Photos this UPT's products name that the hub does not hold whole (only to an agent
    /// that takes the list; `None`: no list).
    pub photo_gaps: Option<Vec<String>>,
}

/// "I have nothing new; do you?": an agent's request when its documents hold nothing the hub
/// has not acknowledged. A few dozen bytes instead of a message per document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poll {
    pub peer: String,
    pub agent_version: String,
    pub digest: [u8; DIGEST_LEN],
    /// As in [`Request::takes_photo_gaps`].
    pub takes_photo_gaps: bool,
}

fn put_vouches(body: &mut Vec<u8>, vouches: &[(String, Vec<u8>)]) {
    body.extend_from_slice(&(vouches.len() as u32).to_le_bytes());
    for (doc, v) in vouches {
        put_bytes(body, doc.as_bytes());
        put_bytes(body, v);
    }
}

fn read_vouches(r: &mut Reader<'_>, limits: &Limits) -> Result<Vec<(String, Vec<u8>)>, WireError> {
    let n = r.count(limits.max_docs)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let doc = r.str("a document name", limits.max_doc_name)?;
        let v = r.bytes()?;
        if v.len() > crate::vouch::MAX_VOUCH_BYTES {
            return Err(WireError::TooLarge {
                what: "a vouch",
                limit: crate::vouch::MAX_VOUCH_BYTES as u64,
            });
        }
        out.push((doc, v.to_vec()));
    }
    Ok(out)
}

/// What an agent sent: a request, or a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Request(Request),
    Poll(Poll),
}

/// The digest of a set of documents' heads, as a poll carries it: SHA-256 over each
/// document's name and its heads, documents and heads in sorted order, cut to
/// [`DIGEST_LEN`] bytes (a chance collision would cost one missed poll, never data: the next
/// change on either side changes the digest).
pub fn heads_digest<'a>(
    docs: impl IntoIterator<Item = (String, &'a [automerge::ChangeHash])>,
) -> [u8; DIGEST_LEN] {
    use sha2::{Digest, Sha256};
    let mut docs: Vec<_> = docs.into_iter().collect();
    docs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut h = Sha256::new();
    for (name, heads) in docs {
        let mut heads = heads.to_vec();
        heads.sort();
        h.update((name.len() as u32).to_le_bytes());
        h.update(name.as_bytes());
        h.update((heads.len() as u32).to_le_bytes());
        for head in heads {
            h.update(head.0);
        }
    }
    let full = h.finalize();
    let mut out = [0u8; DIGEST_LEN];
    out.copy_from_slice(&full[..DIGEST_LEN]);
    out
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, WireError> {
        let (&b, rest) = self
            .0
            .split_first()
            .ok_or(WireError::Malformed("unexpected end"))?;
        self.0 = rest;
        Ok(b)
    }
    fn u32(&mut self) -> Result<u32, WireError> {
        if self.0.len() < 4 {
            return Err(WireError::Malformed("unexpected end"));
        }
        let (n, rest) = self.0.split_at(4);
        self.0 = rest;
        Ok(u32::from_le_bytes(n.try_into().expect("4 bytes")))
    }
    fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let n = self.u32()? as usize;
        if self.0.len() < n {
            return Err(WireError::Malformed("length past the end"));
        }
        let (b, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(b)
    }
    /// A string of at most `max` bytes; `what` names it in the error.
    fn str(&mut self, what: &'static str, max: usize) -> Result<String, WireError> {
        let b = self.bytes()?;
        if b.len() > max {
            return Err(WireError::TooLarge {
                what,
                limit: max as u64,
            });
        }
        String::from_utf8(b.to_vec()).map_err(|_| WireError::Malformed("text is not UTF-8"))
    }
    fn count(&mut self, max: usize) -> Result<usize, WireError> {
        let n = self.u32()? as usize;
        // Each entry takes at least 8 bytes: a count larger than that is a lie.
        if n > self.0.len() / 8 + 1 {
            return Err(WireError::Malformed("entry count past the end"));
        }
        if n > max {
            return Err(WireError::TooLarge {
                what: "the number of documents",
                limit: max as u64,
            });
        }
        Ok(n)
    }
    fn finish(&self) -> Result<(), WireError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(WireError::Malformed("trailing bytes"))
        }
    }
}

/// How hard a sync request is deflated: a large one (an offline spell's edits, an import)
/// at zlib's best level, since it goes up a UPT's slow link and the agent's CPU is
/// otherwise idle (2,000 offline edits: 73.8 KB at the fastest level, 72.9 KB at the best);
/// a small one (an edit or two) at the fastest, where the best level would save a few bytes
/// for three times the work.
fn request_level(body: usize) -> Compression {
    level(body > LARGE_REQUEST)
}

/// The smallest request deflated at the best level.
const LARGE_REQUEST: usize = 1024;

/// How hard the hub's answers are deflated: a small one (a decision coming down, a
/// kilobyte) at the best level, 16 µs more per answer with a body (idle polls have none)
/// and 5 % fewer bytes on the UPTs' links; a large one (a UPT's first sync) at the fastest,
/// for the hub's CPU.
fn answer_level(body: usize) -> Compression {
    level(body <= SMALL_ANSWER)
}

/// zlib's best level, or its fastest.
fn level(best: bool) -> Compression {
    if best {
        Compression::best()
    } else {
        Compression::fast()
    }
}

/// The largest answer deflated at the best level.
const SMALL_ANSWER: usize = 16 * 1024;

/// Frames `body` with the given flags (and [`FLAG_DEFLATE`] when deflating pays).
fn seal(body: Vec<u8>, flags: u8, level: Compression) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() / 2 + 6);
    out.extend_from_slice(MAGIC);
    out.push(PROTOCOL_VERSION);
    if body.len() > COMPRESS_ABOVE {
        let mut enc = DeflateEncoder::new(Vec::new(), level);
        let compressed = enc.write_all(&body).and_then(|()| enc.finish());
        if let Ok(c) = compressed
            && c.len() < body.len()
        {
            out.push(flags | FLAG_DEFLATE);
            out.extend_from_slice(&c);
            return out;
        }
    }
    out.push(flags);
    out.extend_from_slice(&body);
    out
}

/// The flags of a frame and its (inflated) body.
fn open(frame: &[u8], limits: &Limits) -> Result<(u8, Vec<u8>), WireError> {
    if frame.len() < 6 || &frame[..4] != MAGIC {
        return Err(WireError::BadMagic);
    }
    if frame[4] != PROTOCOL_VERSION {
        return Err(WireError::Version { got: frame[4] });
    }
    let flags = frame[5];
    let body = &frame[6..];
    if flags & FLAG_DEFLATE == 0 {
        return Ok((flags, body.to_vec()));
    }
    // Inflate as a stream and stop at the cap: a bomb is refused after reading at most the
    // cap, not after filling memory with it.
    let cap = limits
        .max_inflated
        .min(
            (body.len() as u64)
                .saturating_mul(limits.max_ratio)
                .max(1024 * 1024),
        )
        .min(MAX_INFLATED);
    let mut out = Vec::new();
    DeflateDecoder::new(body)
        .take(cap + 1)
        .read_to_end(&mut out)
        .map_err(|e| WireError::Compression(e.to_string()))?;
    if out.len() as u64 > cap {
        return Err(WireError::TooLarge {
            what: "the inflated body (a compressed body inflating this far is refused)",
            limit: cap,
        });
    }
    Ok((flags, out))
}

impl Request {
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        put_bytes(&mut body, self.peer.as_bytes());
        put_bytes(&mut body, self.agent_version.as_bytes());
        body.extend_from_slice(&(self.docs.len() as u32).to_le_bytes());
        for (doc, msg) in &self.docs {
            put_bytes(&mut body, doc.as_bytes());
            put_bytes(&mut body, msg);
        }
        let mut flags = if self.takes_photo_gaps {
            FLAG_PHOTO_GAPS
        } else {
            0
        };
        if let Some(v) = &self.vouches {
            put_vouches(&mut body, v);
            flags |= FLAG_VOUCHES;
        }
        let level = request_level(body.len());
        seal(body, flags, level)
    }

    pub fn decode(frame: &[u8]) -> Result<Request, WireError> {
        Self::decode_with(frame, &Limits::default())
    }

    /// A request frame (a poll is an error here: see [`Incoming::decode_with`]).
    pub fn decode_with(frame: &[u8], limits: &Limits) -> Result<Request, WireError> {
        match Incoming::decode_with(frame, limits)? {
            Incoming::Request(r) => Ok(r),
            Incoming::Poll(_) => Err(WireError::Malformed("a poll where a request was expected")),
        }
    }

    fn decode_body(body: &[u8], flags: u8, limits: &Limits) -> Result<Request, WireError> {
        let mut r = Reader(body);
        let peer = r.str("the peer id", limits.max_peer)?;
        let agent_version = r.str("the agent version", limits.max_version)?;
        let n = r.count(limits.max_docs)?;
        let mut docs = Vec::with_capacity(n);
        for _ in 0..n {
            let doc = r.str("a document name", limits.max_doc_name)?;
            let msg = r.bytes()?.to_vec();
            docs.push((doc, msg));
        }
        let vouches = if flags & FLAG_VOUCHES != 0 {
            Some(read_vouches(&mut r, limits)?)
        } else {
            None
        };
        r.finish()?;
        Ok(Request {
            peer,
            agent_version,
            docs,
            vouches,
            takes_photo_gaps: flags & FLAG_PHOTO_GAPS != 0,
        })
    }
}

impl Poll {
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.peer.len() + self.agent_version.len() + 24);
        put_bytes(&mut body, self.peer.as_bytes());
        put_bytes(&mut body, self.agent_version.as_bytes());
        body.extend_from_slice(&self.digest);
        let gaps = if self.takes_photo_gaps {
            FLAG_PHOTO_GAPS
        } else {
            0
        };
        seal(body, FLAG_POLL | gaps, Compression::new(1))
    }

    fn decode_body(body: &[u8], flags: u8, limits: &Limits) -> Result<Poll, WireError> {
        let mut r = Reader(body);
        let peer = r.str("the peer id", limits.max_peer)?;
        let agent_version = r.str("the agent version", limits.max_version)?;
        let digest =
            r.0.try_into()
                .map_err(|_| WireError::Malformed("a poll's digest is 16 bytes"))?;
        Ok(Poll {
            peer,
            agent_version,
            digest,
            takes_photo_gaps: flags & FLAG_PHOTO_GAPS != 0,
        })
    }
}

impl Incoming {
    pub fn decode_with(frame: &[u8], limits: &Limits) -> Result<Incoming, WireError> {
        let (flags, body) = open(frame, limits)?;
        if flags & FLAG_POLL != 0 {
            Poll::decode_body(&body, flags, limits).map(Incoming::Poll)
        } else {
            Request::decode_body(&body, flags, limits).map(Incoming::Request)
        }
    }
}

impl Response {
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&(self.docs.len() as u32).to_le_bytes());
        for (doc, reply) in &self.docs {
            put_bytes(&mut body, doc.as_bytes());
            match reply {
                Reply::Message(m) => {
                    body.push(0);
                    put_bytes(&mut body, m);
                }
                Reply::Nothing => {
                    body.push(1);
                    put_bytes(&mut body, &[]);
                }
                Reply::Refused(reason) => {
                    body.push(2);
                    put_bytes(&mut body, reason.as_bytes());
                }
            }
        }
        let mut flags = if self.accepts_polls { FLAG_POLL } else { 0 };
        if let Some(v) = &self.vouches {
            put_vouches(&mut body, v);
            flags |= FLAG_VOUCHES;
        }
        if let Some(gaps) = &self.photo_gaps {
            let gaps = &gaps[..gaps.len().min(MAX_PHOTO_GAPS)];
            body.extend_from_slice(&(gaps.len() as u32).to_le_bytes());
            for hash in gaps {
                put_bytes(&mut body, hash.as_bytes());
            }
            flags |= FLAG_PHOTO_GAPS;
        }
        let level = answer_level(body.len());
        seal(body, flags, level)
    }

    pub fn decode(frame: &[u8]) -> Result<Response, WireError> {
        Self::decode_with(frame, &Limits::default())
    }

    pub fn decode_with(frame: &[u8], limits: &Limits) -> Result<Response, WireError> {
        let (flags, body) = open(frame, limits)?;
        let mut r = Reader(&body);
        let n = r.count(limits.max_docs)?;
        let mut docs = Vec::with_capacity(n);
        for _ in 0..n {
            let doc = r.str("a document name", limits.max_doc_name)?;
            let status = r.u8()?;
            let payload = r.bytes()?;
            let reply = match status {
                0 => Reply::Message(payload.to_vec()),
                1 => Reply::Nothing,
                2 => {
                    let end = payload.len().min(limits.max_reason);
                    Reply::Refused(String::from_utf8_lossy(&payload[..end]).into_owned())
                }
                _ => return Err(WireError::Malformed("unknown reply status")),
            };
            docs.push((doc, reply));
        }
        let vouches = if flags & FLAG_VOUCHES != 0 {
            Some(read_vouches(&mut r, limits)?)
        } else {
            None
        };
        let photo_gaps = if flags & FLAG_PHOTO_GAPS != 0 {
            let n = r.count(MAX_PHOTO_GAPS)?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let hash = r.str("a photo's name", PHOTO_NAME_LEN)?;
                if !crate::model::is_blob_hash(&hash) {
                    return Err(WireError::Malformed("a photo's name is not a SHA-256"));
                }
                out.push(hash);
            }
            Some(out)
        } else {
            None
        };
        r.finish()?;
        Ok(Response {
            docs,
            accepts_polls: flags & FLAG_POLL != 0,
            vouches,
            photo_gaps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_small_and_large() {
        for size in [0usize, 10, 100_000] {
            let req = Request {
                peer: "peer-1".into(),
                agent_version: "0.1.0".into(),
                docs: vec![
                    ("upt/LAPAS-PATI".into(), vec![7u8; size]),
                    ("national".into(), vec![]),
                ],
                vouches: (size > 0).then(|| vec![("national".into(), vec![9u8; 64])]),
                takes_photo_gaps: size > 0,
            };
            assert_eq!(Request::decode(&req.encode()).unwrap(), req);
        }
        let resp = Response {
            docs: vec![
                ("upt/A".into(), Reply::Message(vec![1, 2, 3])),
                ("national".into(), Reply::Nothing),
                ("curation/A".into(), Reply::Refused("no".into())),
            ],
            accepts_polls: true,
            vouches: Some(vec![("curation/A".into(), vec![1u8; 96])]),
            photo_gaps: Some(vec!["ab".repeat(32)]),
        };
        assert_eq!(Response::decode(&resp.encode()).unwrap(), resp);
        // A photo's name that is not a SHA-256 is malformed, not a path at the agent.
        let bad = Response {
            photo_gaps: Some(vec!["../../etc/passwd".into()]),
            ..resp.clone()
        };
        assert!(Response::decode(&bad.encode()).is_err());
    }

    #[test]
    fn a_poll_is_small_and_told_apart_from_a_request() {
        let poll = Poll {
            peer: "0123456789abcdef0123456789abcdef".into(),
            agent_version: "0.6.0".into(),
            digest: [7; DIGEST_LEN],
            takes_photo_gaps: true,
        };
        let frame = poll.encode();
        assert!(frame.len() <= 70, "{}", frame.len());
        assert_eq!(
            Incoming::decode_with(&frame, &Limits::default()).unwrap(),
            Incoming::Poll(poll)
        );
        assert!(Request::decode(&frame).is_err());
        // A digest of the wrong length is malformed.
        let mut short = frame.clone();
        short.pop();
        assert!(Incoming::decode_with(&short, &Limits::default()).is_err());
    }

    #[test]
    fn the_digest_covers_names_and_heads_in_any_order() {
        let a = automerge::ChangeHash([1; 32]);
        let b = automerge::ChangeHash([2; 32]);
        let d1 = heads_digest([("upt/A".to_string(), &[a, b][..])]);
        let d2 = heads_digest([("upt/A".to_string(), &[b, a][..])]);
        let d3 = heads_digest([("upt/B".to_string(), &[a, b][..])]);
        let d4 = heads_digest([("upt/A".to_string(), &[a][..])]);
        assert_eq!(d1, d2);
        assert_ne!(d1, d3);
        assert_ne!(d1, d4);
        let both = heads_digest([
            ("upt/A".to_string(), &[a][..]),
            ("national".into(), &[b][..]),
        ]);
        let swapped = heads_digest([
            ("national".to_string(), &[b][..]),
            ("upt/A".into(), &[a][..]),
        ]);
        assert_eq!(both, swapped);
    }

    #[test]
    fn unknown_version_is_named() {
        let mut frame = Request {
            peer: "p".into(),
            agent_version: "v".into(),
            docs: vec![],
            vouches: None,
            takes_photo_gaps: false,
        }
        .encode();
        frame[4] = 9;
        let err = Request::decode(&frame).unwrap_err();
        assert_eq!(err, WireError::Version { got: 9 });
        assert!(err.to_string().contains("upgrade"));
    }

    #[test]
    fn a_deflate_bomb_is_refused_while_inflating() {
        // 64 MB of zeros deflate to about 64 KB: a ratio no sync frame has.
        let mut enc = DeflateEncoder::new(Vec::new(), Compression::best());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..64 {
            enc.write_all(&zeros).unwrap();
        }
        let mut frame = b"KRYA\x01\x01".to_vec();
        frame.extend_from_slice(&enc.finish().unwrap());
        assert!(frame.len() < 200_000, "{}", frame.len());
        let err = Request::decode(&frame).unwrap_err();
        assert!(matches!(err, WireError::TooLarge { .. }), "{err}");
        assert!(err.to_string().contains("inflated body"), "{err}");
    }

    #[test]
    fn strings_and_counts_from_the_wire_have_limits() {
        let long_version = Request {
            peer: "p".into(),
            agent_version: "x".repeat(200_000),
            docs: vec![],
            vouches: None,
            takes_photo_gaps: false,
        }
        .encode();
        let err = Request::decode(&long_version).unwrap_err();
        assert_eq!(
            err,
            WireError::TooLarge {
                what: "the agent version",
                limit: 64
            }
        );
        let many = Request {
            peer: "p".into(),
            agent_version: "v".into(),
            docs: (0..100).map(|i| (format!("upt/X{i}"), vec![])).collect(),
            vouches: None,
            takes_photo_gaps: false,
        }
        .encode();
        assert!(matches!(
            Request::decode(&many).unwrap_err(),
            WireError::TooLarge {
                what: "the number of documents",
                ..
            }
        ));
        let long_peer = Request {
            peer: "p".repeat(129),
            agent_version: "v".into(),
            docs: vec![],
            vouches: None,
            takes_photo_gaps: false,
        }
        .encode();
        assert!(Request::decode(&long_peer).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
        ))]
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Request::decode(&bytes);
            let _ = Response::decode(&bytes);
            let mut framed = b"KRYA\x01\x00".to_vec();
            framed.extend_from_slice(&bytes);
            let _ = Request::decode(&framed);
        }

        /// Mutations of valid frames (a byte changed, inserted or removed; plain and deflated)
        /// never panic and never decode past the limits. More cases: PROPTEST_CASES=100000.
        #[test]
        fn mutated_frames_never_panic(
            size in 0usize..2000,
            edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..8),
        ) {
            let frame = Request {
                peer: "peer-1".into(),
                agent_version: "0.1.0".into(),
                docs: vec![("upt/LAPAS-PATI".into(), (0..size).map(|i| (i % 251) as u8).collect()),
                           ("national".into(), vec![])],
                vouches: None,
                takes_photo_gaps: false,
            }
            .encode();
            let mut bytes = frame.clone();
            for (at, byte, op) in edits {
                let i = at % (bytes.len() + 1);
                match op {
                    0 if i < bytes.len() => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ if i < bytes.len() => { bytes.remove(i); }
                    _ => {}
                }
            }
            if let Ok(r) = Request::decode(&bytes) {
                prop_assert!(r.docs.len() <= Limits::default().max_docs);
                prop_assert!(r.agent_version.len() <= 64 && r.peer.len() <= 128);
            }
            let _ = Response::decode(&bytes);
        }

        #[test]
        fn truncation_is_an_error(cut in 0usize..1000) {
            let frame = Request { peer: "peer".into(), agent_version: "0.1".into(),
                docs: vec![("upt/X".into(), vec![1,2,3,4,5])], vouches: None, takes_photo_gaps: false }.encode();
            let cut = cut % frame.len();
            prop_assert!(Request::decode(&frame[..cut]).is_err());
        }
    }
}
