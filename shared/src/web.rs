//! What the hub's dashboard and the agent's console share about browsers.

/// Whether a state-changing request (a form's POST) came from a page of another site: the
/// browser says so in `Sec-Fetch-Site` (anything but `same-origin`, or `none` for what the
/// user typed); a browser too old for that sends `Origin`, which must then name this host.
/// A request with neither is not a browser's (a script, `curl`) and is left to the other
/// checks (session, CSRF token).
pub fn cross_site(sec_fetch_site: Option<&str>, origin: Option<&str>, host: Option<&str>) -> bool {
    if let Some(site) = sec_fetch_site {
        return !matches!(site.trim(), "same-origin" | "none");
    }
    match (origin, host) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => {
            let authority = origin
                .trim()
                .strip_prefix("http://")
                .or_else(|| origin.trim().strip_prefix("https://"));
            authority != Some(host.trim())
        }
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// Equal secrets (a form token, a CSRF token), compared in time that does not depend on
/// where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Attempts counted per key (a token id, a client address) in a fixed window: at most
/// `allowed` in each, then refused until the window ends. Counting and checking are one step
/// under one lock, so attempts made in parallel cannot pass the limit between them.
pub struct Throttle<K> {
    allowed: u32,
    window: std::time::Duration,
    counts: std::sync::Mutex<std::collections::HashMap<K, (std::time::Instant, u32)>>,
}

impl<K: std::hash::Hash + Eq + Clone> Throttle<K> {
    pub fn new(allowed: u32, window: std::time::Duration) -> Self {
        Throttle {
            allowed,
            window,
            counts: Default::default(),
        }
    }

    /// Counts one attempt of `key`; `Err((attempts, seconds to wait))` when the key is over
    /// the limit (and the attempt is not counted).
    pub fn take(&self, key: &K) -> Result<(), (u32, u64)> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() > 10_000 {
            counts.retain(|_, (since, _)| since.elapsed() < self.window);
        }
        let entry = counts
            .entry(key.clone())
            .or_insert((std::time::Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (std::time::Instant::now(), 0);
        }
        if entry.1 >= self.allowed {
            let wait = self.window.saturating_sub(entry.0.elapsed()).as_secs() + 1;
            return Err((entry.1, wait));
        }
        entry.1 += 1;
        Ok(())
    }

    /// Gives back an attempt of `key` that turned out well.
    pub fn give_back(&self, key: &K) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = counts.get_mut(key) {
            entry.1 = entry.1.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_sites_form_is_told_apart_from_ours() {
        let host = Some("127.0.0.1:8470");
        assert!(!cross_site(Some("same-origin"), None, host));
        assert!(!cross_site(Some("none"), None, host));
        assert!(cross_site(Some("cross-site"), None, host));
        assert!(cross_site(Some("same-site"), None, host), "another port");
        assert!(!cross_site(None, Some("http://127.0.0.1:8470"), host));
        assert!(cross_site(None, Some("http://evil.example"), host));
        assert!(
            cross_site(None, Some("null"), host),
            "a sandboxed or file page"
        );
        assert!(!cross_site(None, None, host), "not a browser");
    }

    #[test]
    fn a_throttle_counts_per_key_and_takes_back_what_went_well() {
        let t = Throttle::new(2, std::time::Duration::from_secs(60));
        assert!(t.take(&"a").is_ok() && t.take(&"a").is_ok());
        assert_eq!(t.take(&"a").map_err(|(n, _)| n), Err(2));
        assert!(t.take(&"b").is_ok(), "another key is not held up");
        t.give_back(&"a");
        assert!(t.take(&"a").is_ok());
        assert!(
            same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("ab", "abc")
        );
    }
}
