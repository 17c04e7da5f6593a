//! Participant pseudonyms: HMAC-SHA256 under a secret that never leaves the agent.
//!
//! The registration number is the only input, normalised (trimmed, upper-case) so that
//! "ab 123/2024 " and "AB 123/2024" are the same person. Without the UPT's secret the hub
//! cannot invert or even confirm a guess, which is the point: names and registration numbers
//! never leave the UPT (UU 27/2022).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A fresh 32-byte secret, hex-encoded, made once per agent at `init`.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

pub fn normalise_reg_no(reg_no: &str) -> String {
    reg_no
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// The pseudonym of a registration number under `secret`: 64 hex digits.
pub fn pseudonym(secret: &[u8], reg_no: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(normalise_reg_no(reg_no).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_normalised_and_secret_dependent() {
        let a = pseudonym(b"secret-a", "AB 123/2024");
        assert_eq!(a.len(), 64);
        assert_eq!(a, pseudonym(b"secret-a", "  ab   123/2024 "));
        assert_ne!(a, pseudonym(b"secret-b", "AB 123/2024"));
        assert!(!a.contains("123"));
    }
}
