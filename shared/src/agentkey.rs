//! An agent's own key: who a UPT's agent is, to a hub that has lost every token.
//!
//! Each installation makes an Ed25519 key pair once and keeps the private half in its
//! database. The public half goes to the hub with a sync authenticated by the UPT's token,
//! and the hub writes it into the UPT's entry of the `national` registry, which every agent
//! holds whole. A hub rebuilt from nothing (its database and backups lost) gets the registry
//! back from the agents, vouched with the key HQ kept offline (see [`crate::vouch`]), and
//! from then on recognises each agent by a signature over its request (the `karya-key`
//! authorization), without a new token. Clearing a UPT's keys in the registry revokes them,
//! and the registry travels with every agent, so the revocation survives a rebuild too.
//!
//! A request signed this way: `Authorization: Karya-Key <UPT> <public key hex> <unix
//! seconds> <signature hex>`, with `karya-body-sha256: <hex>`, the signature over
//! [`message`]. The hub takes it within [`MAX_SKEW_SECS`] of its clock, and checks the body
//! against the hash when it reads it.

pub use ed25519_dalek::SigningKey;
use ed25519_dalek::{Signature, Signer, VerifyingKey};
use sha2::{Digest, Sha256};

/// The authorization scheme of a signed request.
pub const SCHEME: &str = "Karya-Key ";
/// The header naming the SHA-256 of the request's body (hex).
pub const BODY_HEADER: &str = "karya-body-sha256";
/// The header with which an agent authenticated by token offers its public key (hex), until
/// it finds the key in the registry.
pub const ANNOUNCE_HEADER: &str = "karya-agent-key";
/// How far a signed request's time may be from the hub's.
pub const MAX_SKEW_SECS: i64 = 600;
/// Keys a UPT's registry entry keeps (its installations: the office PC, a laptop …); a new
/// one beyond these replaces the oldest.
pub const MAX_KEYS: usize = 8;

/// An installation's key, from its 32 secret bytes.
pub fn from_seed(seed: &[u8; 32]) -> SigningKey {
    SigningKey::from_bytes(seed)
}

/// A new key's 32 secret bytes.
pub fn new_seed() -> [u8; 32] {
    rand::random()
}

/// The public half, as hex (what the registry keeps).
pub fn public_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().to_bytes())
}

/// Whether `text` is a public key as hex (64 hex digits).
pub fn is_public_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What a signature covers: the scheme's version, the UPT, the method, the path, the time
/// and the body's hash.
pub fn message(upt: &str, method: &str, path: &str, unix: i64, body_sha256: &str) -> Vec<u8> {
    format!("karya-key 1\n{upt}\n{method}\n{path}\n{unix}\n{body_sha256}").into_bytes()
}

/// The SHA-256 of a body, as hex.
pub fn body_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// The `Authorization` value and the body hash header of a request signed with `key`.
pub fn sign(
    key: &SigningKey,
    upt: &str,
    method: &str,
    path: &str,
    unix: i64,
    body: &[u8],
) -> (String, String) {
    let hash = body_hash(body);
    let sig = key.sign(&message(upt, method, path, unix, &hash));
    (
        format!(
            "{SCHEME}{upt} {} {unix} {}",
            public_hex(key),
            hex::encode(sig.to_bytes())
        ),
        hash,
    )
}

/// A signed request's claim, checked: the signature is the key's, over this request, made
/// within [`MAX_SKEW_SECS`] of `now`. Whether the key is the UPT's is the registry's to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub upt: String,
    pub key: String,
    /// The body's hash the signature covers: the body read must have it.
    pub body_sha256: String,
}

/// Checks the `Authorization` value `auth` (after [`SCHEME`]) of a request.
pub fn verify(
    auth: &str,
    method: &str,
    path: &str,
    body_sha256: &str,
    now: i64,
) -> Result<Claim, String> {
    let parts: Vec<&str> = auth.split_whitespace().collect();
    let [upt, key, unix, sig] = parts.as_slice() else {
        return Err("a Karya-Key authorization is: UPT KEY UNIX-SECONDS SIGNATURE".into());
    };
    let unix: i64 = unix
        .parse()
        .map_err(|_| "the signed time is not a number".to_string())?;
    if (now - unix).abs() > MAX_SKEW_SECS {
        return Err(format!(
            "the request was signed at {unix}, {} s from the hub's clock (at most {MAX_SKEW_SECS}); set the PC's clock",
            now - unix
        ));
    }
    if !is_public_hex(key) || !is_public_hex(body_sha256) {
        return Err("the key or the body's hash is not 64 hex digits".into());
    }
    let key_bytes: [u8; 32] = hex::decode(key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("the key is not 32 bytes")?;
    let sig_bytes: [u8; 64] = hex::decode(sig)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("the signature is not 64 bytes")?;
    let verifying = VerifyingKey::from_bytes(&key_bytes).map_err(|_| "not an Ed25519 key")?;
    verifying
        .verify_strict(
            &message(upt, method, path, unix, body_sha256),
            &Signature::from_bytes(&sig_bytes),
        )
        .map_err(|_| "the signature does not match this request".to_string())?;
    Ok(Claim {
        upt: upt.to_string(),
        key: key.to_lowercase(),
        body_sha256: body_sha256.to_lowercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_covers_the_upt_the_request_the_body_and_the_time() {
        let key = from_seed(&new_seed());
        let (auth, hash) = sign(&key, "LAPAS-PATI", "POST", "/api/v1/sync", 1_000, b"frame");
        let auth = auth.strip_prefix(SCHEME).unwrap();
        let claim = verify(auth, "POST", "/api/v1/sync", &hash, 1_100).unwrap();
        assert_eq!(claim.upt, "LAPAS-PATI");
        assert_eq!(claim.key, public_hex(&key));
        // Another path, another body, another UPT, too late: refused.
        assert!(verify(auth, "POST", "/api/v1/uploads/x", &hash, 1_100).is_err());
        assert!(verify(auth, "POST", "/api/v1/sync", &body_hash(b"other"), 1_100).is_err());
        let other_upt = auth.replacen("LAPAS-PATI", "LAPAS-KUDUS", 1);
        assert!(verify(&other_upt, "POST", "/api/v1/sync", &hash, 1_100).is_err());
        let late = verify(
            auth,
            "POST",
            "/api/v1/sync",
            &hash,
            1_000 + MAX_SKEW_SECS + 1,
        );
        assert!(late.unwrap_err().contains("clock"));
        // Another key's signature under this key's name: refused.
        let (forged, _) = sign(
            &from_seed(&new_seed()),
            "LAPAS-PATI",
            "POST",
            "/api/v1/sync",
            1_000,
            b"frame",
        );
        let forged_sig = forged.split_whitespace().last().unwrap();
        let mixed = format!("LAPAS-PATI {} 1000 {forged_sig}", public_hex(&key));
        assert!(verify(&mixed, "POST", "/api/v1/sync", &hash, 1_100).is_err());
    }
}
