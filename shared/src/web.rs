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
}
