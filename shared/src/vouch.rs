//! The hub's word for its own documents, so that it can take back what a restore lost.
//!
//! Only the hub writes `national` and `curation/*`. When its database is put back from a
//! backup, the agents still hold the hub's later changes to those documents, and the hub
//! must not take them on an agent's word: actor ids are whatever a change says they are.
//! So with every reply that carries changes of such a document, the hub sends a *vouch*: its
//! heads of the document and an HMAC-SHA256 over the document's name and those heads, under
//! a key only the hub holds (kept in its database, so a restored hub still has it). Heads
//! name their whole history, so one vouch covers every change the agent received up to
//! then. The agent keeps the newest vouch whose heads it holds, and sends it back with any
//! changes of the document the hub turns out to lack; the hub checks its MAC and merges
//! those changes only if every one of them lies in the history of the vouched heads. A
//! change an agent made up itself lies outside any vouched history and is refused as before.

use automerge::ChangeHash;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of a vouch's MAC.
pub const MAC_LEN: usize = 32;
/// Most heads a vouch names (a document's heads are one or a few).
pub const MAX_HEADS: usize = 64;
/// Largest encoded vouch.
pub const MAX_VOUCH_BYTES: usize = MAX_HEADS * 32 + MAC_LEN;

/// The hub's key for vouches (32 random bytes, in the hub's database).
#[derive(Clone)]
pub struct HeadsKey([u8; 32]);

impl std::fmt::Debug for HeadsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeadsKey(..)")
    }
}

/// Heads of a document, and the hub's MAC over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vouch {
    pub heads: Vec<ChangeHash>,
    pub mac: [u8; MAC_LEN],
}

impl HeadsKey {
    pub fn generate() -> HeadsKey {
        HeadsKey(rand::random())
    }

    pub fn from_hex(text: &str) -> Option<HeadsKey> {
        let bytes = hex::decode(text.trim()).ok()?;
        Some(HeadsKey(bytes.try_into().ok()?))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    fn mac(&self, doc: &str, heads: &[ChangeHash]) -> Hmac<Sha256> {
        let mut heads = heads.to_vec();
        heads.sort();
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(b"karya vouch 1\0");
        mac.update(doc.as_bytes());
        mac.update(b"\0");
        for h in &heads {
            mac.update(&h.0);
        }
        mac
    }

    /// The hub vouches for `heads` of `doc`.
    pub fn vouch(&self, doc: &str, heads: &[ChangeHash]) -> Vouch {
        let mut sorted = heads.to_vec();
        sorted.sort();
        Vouch {
            mac: self.mac(doc, &sorted).finalize().into_bytes().into(),
            heads: sorted,
        }
    }

    /// Whether `vouch` is this hub's, for `doc` (compared in constant time).
    pub fn verify(&self, doc: &str, vouch: &Vouch) -> bool {
        self.mac(doc, &vouch.heads).verify_slice(&vouch.mac).is_ok()
    }
}

/// A document's heads as a person reads them over the phone: 80 bits of the SHA-256 of the
/// sorted heads, as five groups of four hex digits (`4F2A-91C3-7D10-22BE-0A5C`). A hub rebuilt
/// without the lost hub's key adopts the registry whose fingerprint HQ has confirmed with a
/// UPT (`karya-agent status` shows it; see `karya-hub rebuild adopt`).
pub fn fingerprint(heads: &[ChangeHash]) -> String {
    use sha2::Digest;
    let mut sorted = heads.to_vec();
    sorted.sort();
    let mut hasher = Sha256::new();
    hasher.update(b"karya heads 1\0");
    for h in &sorted {
        hasher.update(h.0);
    }
    let hex = hex::encode_upper(&hasher.finalize()[..10]);
    hex.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).expect("hex"))
        .collect::<Vec<_>>()
        .join("-")
}

impl Vouch {
    /// heads (32 bytes each) followed by the MAC.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.heads.len() * 32 + MAC_LEN);
        for h in &self.heads {
            out.extend_from_slice(&h.0);
        }
        out.extend_from_slice(&self.mac);
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Vouch> {
        if bytes.len() < MAC_LEN + 32
            || bytes.len() > MAX_VOUCH_BYTES
            || !(bytes.len() - MAC_LEN).is_multiple_of(32)
        {
            return None;
        }
        let (heads, mac) = bytes.split_at(bytes.len() - MAC_LEN);
        Some(Vouch {
            heads: heads
                .chunks_exact(32)
                .map(|c| ChangeHash(c.try_into().expect("32 bytes")))
                .collect(),
            mac: mac.try_into().expect("MAC_LEN bytes"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vouch_verifies_only_under_its_key_for_its_document_and_heads() {
        let key = HeadsKey::generate();
        let a = ChangeHash([1; 32]);
        let b = ChangeHash([2; 32]);
        let v = key.vouch("national", &[b, a]);
        assert!(key.verify("national", &v));
        let back = Vouch::decode(&v.encode()).unwrap();
        assert_eq!(back, v);
        assert!(key.verify("national", &back));
        assert!(!key.verify("curation/X", &v), "another document");
        assert!(!HeadsKey::generate().verify("national", &v), "another key");
        let mut more = v.clone();
        more.heads.push(ChangeHash([3; 32]));
        assert!(!key.verify("national", &more), "heads added");
        let mut flipped = v.clone();
        flipped.mac[0] ^= 1;
        assert!(!key.verify("national", &flipped));
        assert!(Vouch::decode(&v.encode()[1..]).is_none());
        assert!(Vouch::decode(&[0; MAC_LEN]).is_none(), "no heads");
        let key2 = HeadsKey::from_hex(&key.to_hex()).unwrap();
        assert!(key2.verify("national", &v));
    }

    #[test]
    fn a_fingerprint_names_the_heads_in_any_order() {
        let a = ChangeHash([1; 32]);
        let b = ChangeHash([2; 32]);
        let f = fingerprint(&[a, b]);
        assert_eq!(f, fingerprint(&[b, a]));
        assert_eq!(f.len(), 24, "{f}");
        assert!(f.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{f}");
        assert_ne!(f, fingerprint(&[a]));
        assert_ne!(fingerprint(&[a]), fingerprint(&[b]));
    }
}
