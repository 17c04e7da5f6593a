//! The sync client: drives a [`SyncSession`] over HTTP against the hub.
//!
//! Errors know whether they are worth retrying (network, 5xx, a busy hub) or permanent
//! (unauthorized, protocol mismatch, a document refused): the service backs off and retries
//! the first kind forever, and shows the second kind to the operator with what to do.

use crate::text::agent as text;
use karya_shared::schema::DocId;
use karya_shared::session::{Outcome, SessionError, SyncSession};
use karya_shared::wire;
use karya_shared::{Store, StoreError};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{}", text::hub_unreachable(url, reason))]
    Network { url: String, reason: String },
    #[error("{}", text::hub_answered(*status, detail))]
    Server {
        status: u16,
        detail: String,
        /// The hub's Retry-After (a busy hub's 503): the earliest the next attempt may be.
        retry_after: Option<Duration>,
    },
    #[error("{}", text::hub_refused_token(detail))]
    Unauthorized { detail: String },
    #[error("{}", text::hub_protocol(detail))]
    Protocol { detail: String },
    /// The hub refused a poll and asks for the documents in full (it is being rebuilt).
    #[error("{}", text::hub_answered(400, detail))]
    PollNotTaken { detail: String },
    #[error("cannot take the sync lock: {0}")]
    Lock(String),
    #[error("the agent's settings are not usable: {0}")]
    Config(String),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    /// How long the hub asked us to wait before trying again, if it did.
    /// The wait before the next attempt after this failure: `backoff`, but never less than
    /// what the hub asked for with Retry-After.
    pub fn retry_delay(&self, backoff: Duration) -> Duration {
        backoff.max(self.retry_after().unwrap_or_default())
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SyncError::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Retrying will not help until someone acts (a new token, an upgrade).
    pub fn is_permanent(&self) -> bool {
        match self {
            SyncError::Network { .. } | SyncError::Lock(_) | SyncError::PollNotTaken { .. } => {
                false
            }
            SyncError::Server { status, .. } => {
                (400..500).contains(status) && *status != 408 && *status != 429
            }
            SyncError::Unauthorized { .. } | SyncError::Protocol { .. } | SyncError::Config(_) => {
                true
            }
            SyncError::Session(SessionError::TooManyRounds) => false,
            SyncError::Session(_) => true,
            SyncError::Store(StoreError::DiskFull(_)) => false,
            SyncError::Store(_) => true,
        }
    }
}

/// The largest hub reply the agent reads (a first sync of a large UPT is a few MB).
pub const MAX_REPLY_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct HubClient {
    http: reqwest::Client,
    /// The hubs' URLs, tried in order (several processes of one national hub).
    hubs: std::sync::Arc<Vec<String>>,
    /// The hub requests go to: the last that answered, shared by the clones of this client.
    current: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    token: String,
    timeout: Duration,
    /// The upload rate measured on this link, shared by the clones of this client.
    link: std::sync::Arc<std::sync::Mutex<LinkEstimate>>,
    /// This PC's clock minus the hub's (its `Date` header), in seconds, at the last reply.
    skew: std::sync::Arc<std::sync::Mutex<Option<i64>>>,
    /// HTTP requests sent (syncs, photo uploads), for the figures.
    requests: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// This installation's own key and its UPT: requests are signed with it once the hub
    /// refuses the token (a hub rebuilt from nothing knows no tokens; see
    /// `karya_shared::agentkey`).
    signer: Option<std::sync::Arc<(String, karya_shared::agentkey::SigningKey)>>,
    /// Sign instead of sending the token (the token was refused and the key taken),
    /// shared by the clones of this client.
    by_key: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The key's public half, offered to the hub with the token while the registry does not
    /// list it.
    announce: Option<String>,
}

/// A clock further than this from the hub's is worth telling the operator about.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

/// An HTTP date (`Tue, 01 Dec 2026 23:20:16 GMT`) as Unix seconds.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(text.trim(), &format)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

/// The upload rate assumed before one was measured: the thinnest link karya plans for.
pub const ASSUMED_RATE: f64 = 2048.0;
/// The smallest and the largest part of an upload (bytes of changes in one request).
pub const MIN_PART: usize = 4 * 1024;
pub const MAX_PART: usize = 8 * 1024 * 1024;
/// How many bytes of changes a request may carry at upload `rate` (bytes per second) with
/// requests timing out after `timeout`: what the link sends in half of it (see
/// [`HubClient::upload_budget`]).
pub fn upload_budget(rate: f64, timeout: Duration) -> usize {
    let bytes = rate * timeout.as_secs_f64() / 2.0;
    (bytes as usize).clamp(MIN_PART, MAX_PART)
}

/// Requests smaller than this say more about the round trip than about the bandwidth, and
/// are not used to measure it.
const MEASURE_FROM: usize = 8 * 1024;

/// What the agent knows of its link's upload rate, in bytes per second.
#[derive(Debug, Default)]
struct LinkEstimate {
    rate: Option<f64>,
}

/// Reads a PEM CA certificate (bounded: a CA file is a few KB).
pub fn read_ca(file: &std::path::Path) -> Result<Vec<reqwest::Certificate>, String> {
    let shown = file.display().to_string();
    let unreadable = |e: std::io::Error| text::cannot_read(&shown, &e.to_string());
    let meta = std::fs::metadata(file).map_err(unreadable)?;
    if meta.len() > 1024 * 1024 {
        return Err(text::ca_too_big(&shown));
    }
    let pem = std::fs::read(file).map_err(unreadable)?;
    let not_pem = |why: String| text::ca_not_pem(&shown, &why);
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| not_pem(e.to_string()))?;
    if certs.is_empty() {
        return Err(not_pem(text::no_certificate().into()));
    }
    Ok(certs)
}

impl HubClient {
    /// `base` is the hub's URL (http://hub.example:8080); the token is the UPT's agent token.
    pub fn new(base: &str, token: &str, timeout: Duration) -> HubClient {
        Self::with_ca(base, token, timeout, None)
    }

    /// As [`HubClient::new`], also trusting `ca` (HQ's private CA).
    pub fn with_ca(
        base: &str,
        token: &str,
        timeout: Duration,
        ca: Option<Vec<reqwest::Certificate>>,
    ) -> HubClient {
        Self::with_hubs(&[base.to_string()], token, timeout, ca)
    }

    /// A client of several processes of one national hub (`hub = [...]`): requests go to the
    /// last that answered; on a network error or a 5xx the same request goes to the next
    /// (a refused token is the same at every hub, and is not a reason to move on).
    pub fn with_hubs(
        bases: &[String],
        token: &str,
        timeout: Duration,
        ca: Option<Vec<reqwest::Certificate>>,
    ) -> HubClient {
        let bases: Vec<String> = bases
            .iter()
            .map(|b| b.trim().trim_end_matches('/').to_string())
            .collect();
        let any_https = bases.iter().any(|b| b.starts_with("https://"));
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // No User-Agent: the agent's version is in every frame, and an idle poll over a
            // satellite link is a few hundred bytes, headers included.
            // The system's roots are read (and kept in memory) only for a hub on HTTPS.
            .tls_built_in_native_certs(any_https);
        for cert in ca.into_iter().flatten() {
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
            .build()
            .expect("an HTTP client with default TLS settings builds");
        HubClient {
            http,
            hubs: std::sync::Arc::new(bases),
            current: Default::default(),
            token: token.to_string(),
            timeout,
            link: Default::default(),
            signer: None,
            by_key: Default::default(),
            announce: None,
            skew: Default::default(),
            requests: Default::default(),
        }
    }

    /// Asks the hub whether it takes this token, with a HEAD on an upload no product names:
    /// 401 or 403 say no (403: a curator's or viewer's token, not the UPT's); any other answer
    /// says yes, with the UPT the token belongs to (`None` from a hub that does not say).
    pub async fn check_token(&self) -> Result<Option<String>, SyncError> {
        self.failing_over(|| self.check_token_once()).await
    }

    async fn check_token_once(&self) -> Result<Option<String>, SyncError> {
        let resp = self
            .http
            .head(format!("{}{}", self.uploads_url(), "0".repeat(64)))
            .bearer_auth(&self.token)
            .header("tus-resumable", "1.0.0")
            .send()
            .await
            .map_err(|e| SyncError::Network {
                url: self.sync_url(),
                reason: e.to_string(),
            })?;
        let status = resp.status().as_u16();
        let detail = resp
            .headers()
            .get("upload-refused")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        match status {
            401 | 403 => Err(SyncError::Unauthorized {
                detail: if detail.is_empty() {
                    format!("HTTP {status}")
                } else {
                    detail
                },
            }),
            s if s >= 500 => Err(SyncError::Server {
                status: s,
                detail,
                retry_after: None,
            }),
            _ => Ok(resp
                .headers()
                .get("karya-upt")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)),
        }
    }

    /// Signs with `key` (of UPT `upt`) where the token is refused; `by_key`: sign from the
    /// first request (the token was refused before and the key taken).
    pub fn with_key(
        mut self,
        upt: &str,
        key: karya_shared::agentkey::SigningKey,
        by_key: bool,
        announce: bool,
    ) -> HubClient {
        if announce {
            self.announce = Some(karya_shared::agentkey::public_hex(&key));
        }
        self.signer = Some(std::sync::Arc::new((upt.to_string(), key)));
        self.by_key
            .store(by_key, std::sync::atomic::Ordering::Relaxed);
        self
    }

    /// Whether requests went by the installation's key (the hub no longer takes the token).
    pub fn went_by_key(&self) -> bool {
        self.by_key.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The request with this installation's authorization: its key's signature over it
    /// (when the token was refused), or the token (with the key offered, while the
    /// registry lacks it).
    fn authorized(
        &self,
        request: reqwest::RequestBuilder,
        method: &str,
        url: &str,
        body: &[u8],
    ) -> reqwest::RequestBuilder {
        if let Some(signer) = self.signer.as_ref().filter(|_| self.went_by_key()) {
            let path = reqwest::Url::parse(url)
                .map(|u| u.path().to_string())
                .unwrap_or_default();
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let (auth, hash) =
                karya_shared::agentkey::sign(&signer.1, &signer.0, method, &path, now, body);
            return request
                .header(reqwest::header::AUTHORIZATION, auth)
                .header(karya_shared::agentkey::BODY_HEADER, hash);
        }
        let request = request.bearer_auth(&self.token);
        match &self.announce {
            Some(key) => request.header(karya_shared::agentkey::ANNOUNCE_HEADER, key),
            None => request,
        }
    }

    /// After a refusal of the token: sign from now on, if there is a key and it was not
    /// used already; `true` when the request is worth sending again.
    fn fall_back_to_key(&self) -> bool {
        self.signer.is_some() && !self.by_key.swap(true, std::sync::atomic::Ordering::Relaxed)
    }

    /// The hub requests go to now (the last that answered).
    pub fn current_hub(&self) -> String {
        let i = self.current.load(std::sync::atomic::Ordering::Relaxed);
        self.hubs[i % self.hubs.len()].clone()
    }

    /// Starts from `hub` (the last that worked, as remembered), if it is one of this
    /// client's.
    pub fn prefer(&self, hub: &str) {
        if let Some(i) = self.hubs.iter().position(|h| h == hub) {
            self.current.store(i, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn sync_url(&self) -> String {
        format!("{}/api/v1/sync", self.current_hub())
    }

    /// `<hub>/api/v1/uploads/` (photo uploads).
    fn uploads_url(&self) -> String {
        format!("{}/api/v1/uploads/", self.current_hub())
    }

    /// Runs a request against the current hub and, when it fails for a reason another hub
    /// may not have (a network error, a 5xx), against the next ones in turn; the first that
    /// answers becomes the current hub. With one hub, the request runs once.
    async fn failing_over<T, F, Fut>(&self, request: F) -> Result<T, SyncError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, SyncError>>,
    {
        use std::sync::atomic::Ordering::Relaxed;
        let n = self.hubs.len();
        let mut result = request().await;
        for _ in 1..n {
            let moves_on = match &result {
                Err(SyncError::Network { .. }) => true,
                Err(SyncError::Server { status, .. }) => *status >= 500,
                _ => false,
            };
            if !moves_on {
                break;
            }
            let failed = self.current_hub();
            let i = self.current.load(Relaxed);
            self.current.store((i + 1) % n, Relaxed);
            tracing::warn!(
                hub = %failed,
                next = %self.current_hub(),
                error = %result.as_ref().err().map(ToString::to_string).unwrap_or_default(),
                "hub failed; trying the next"
            );
            result = request().await;
        }
        result
    }

    /// HTTP requests this client (and its clones) sent.
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count(&self) {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// This PC's clock minus the hub's, in seconds, as of the last reply (`None` before one).
    pub fn clock_skew(&self) -> Option<i64> {
        *self.skew.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many bytes of changes the next request may carry: what the measured (or assumed)
    /// upload rate sends in half the request timeout, so that each part of a long upload
    /// finishes in time and is acknowledged before the next.
    pub fn upload_budget(&self) -> usize {
        upload_budget(self.link_rate(), self.timeout)
    }

    /// The upload rate measured so far (bytes per second), to keep for the next session.
    pub fn measured_rate(&self) -> Option<f64> {
        self.link.lock().unwrap_or_else(|p| p.into_inner()).rate
    }

    /// Starts from a rate measured in an earlier session.
    pub fn set_rate(&self, rate: f64) {
        if rate.is_finite() && rate > 0.0 {
            self.link.lock().unwrap_or_else(|p| p.into_inner()).rate = Some(rate);
        }
    }

    fn link_rate(&self) -> f64 {
        self.link
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .rate
            .unwrap_or(ASSUMED_RATE)
    }

    /// A request of `bytes` took `elapsed` (the reply read): a sample of the upload rate.
    fn measured(&self, bytes: usize, elapsed: Duration) {
        if bytes < MEASURE_FROM {
            return;
        }
        let sample = bytes as f64 / elapsed.as_secs_f64().max(0.001);
        let mut link = self.link.lock().unwrap_or_else(|p| p.into_inner());
        // Half old, half new: one odd request moves the estimate, but does not decide it.
        link.rate = Some(match link.rate {
            Some(old) => (old + sample) / 2.0,
            None => sample,
        });
    }

    /// A request timed out: the link is slower than thought; halve what the next part sends.
    fn timed_out(&self) {
        let mut link = self.link.lock().unwrap_or_else(|p| p.into_inner());
        link.rate = Some(link.rate.unwrap_or(ASSUMED_RATE) / 2.0);
    }

    /// One HTTP round trip: posts a frame, returns the reply frame.
    pub async fn exchange(&self, frame: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        let started = std::time::Instant::now();
        let sent = frame.len();
        let result = if self.hubs.len() == 1 {
            self.exchange_inner(frame).await
        } else {
            self.failing_over(|| self.exchange_inner(frame.clone()))
                .await
        };
        match &result {
            Ok(_) => self.measured(sent, started.elapsed()),
            Err(SyncError::Network { reason, .. }) if reason == text::timed_out() => {
                self.timed_out()
            }
            Err(_) => {}
        }
        result
    }

    async fn exchange_inner(&self, mut frame: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        self.count();
        let url = self.sync_url();
        let network = |e: reqwest::Error| SyncError::Network {
            url: url.clone(),
            reason: if e.is_timeout() {
                text::timed_out().into()
            } else if let Some(cert) = certificate_problem(&e) {
                text::certificate_untrusted(&cert)
            } else if e.is_connect() {
                text::connection_failed().into()
            } else {
                e.to_string()
            },
        };
        let send = |frame: Vec<u8>| {
            let request = self
                .http
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, wire::CONTENT_TYPE);
            self.authorized(request, "POST", &url, &frame)
                .body(frame)
                .send()
        };
        // A refused token with a key at hand: the same frame again, signed.
        let may_retry = self.signer.is_some() && !self.went_by_key();
        let first = if may_retry {
            frame.clone()
        } else {
            std::mem::take(&mut frame)
        };
        let mut response = send(first).await.map_err(network)?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED
            && may_retry
            && self.fall_back_to_key()
        {
            self.count();
            response = send(frame).await.map_err(network)?;
        }
        let status = response.status();
        if let Some(hub_now) = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date)
        {
            let here = time::OffsetDateTime::now_utc().unix_timestamp();
            *self.skew.lock().unwrap_or_else(|p| p.into_inner()) = Some(here - hub_now);
        }
        // Seconds only (the form karya-hub sends); an HTTP date is ignored.
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(24 * 3600)));
        // Read the reply a chunk at a time, up to a bound: a hub (or anything pretending to
        // be one) cannot make the agent hold more than this in memory.
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if body.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(SyncError::Server {
                    status: status.as_u16(),
                    detail: format!(
                        "the hub's reply is larger than {MAX_REPLY_BYTES} bytes; not read"
                    ),
                    retry_after: None,
                });
            }
            body.extend_from_slice(&chunk);
        }
        if status.is_success() {
            return Ok(body);
        }
        let detail = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(300).collect());
        let error = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|d| d.as_str()).map(str::to_string))
            .unwrap_or_default();
        Err(match status.as_u16() {
            401 | 403 => SyncError::Unauthorized { detail },
            400 if error == "protocol_version" => SyncError::Protocol { detail },
            400 if error == "poll_not_taken" => SyncError::PollNotTaken { detail },
            s => SyncError::Server {
                status: s,
                detail,
                retry_after,
            },
        })
    }
}

/// What the hub holds of a photo upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadState {
    pub offset: u64,
    pub length: u64,
}

impl HubClient {
    fn upload_url(&self, hash: &str) -> String {
        format!("{}{hash}", self.uploads_url())
    }

    fn network(&self, e: reqwest::Error) -> SyncError {
        SyncError::Network {
            url: self.uploads_url(),
            reason: if e.is_timeout() {
                text::timed_out().into()
            } else {
                e.to_string()
            },
        }
    }

    /// `HEAD` of a photo upload (tus): how many bytes of it the hub holds.
    pub async fn upload_state(&self, hash: &str) -> Result<UploadState, SyncError> {
        self.count();
        let url = self.upload_url(hash);
        let r = self
            .authorized(self.http.head(&url), "HEAD", &url, b"")
            .header("tus-resumable", "1.0.0")
            .send()
            .await
            .map_err(|e| self.network(e))?;
        let num = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        if r.status().is_success() {
            return Ok(UploadState {
                offset: num("upload-offset").unwrap_or(0),
                length: num("upload-length").unwrap_or(0),
            });
        }
        let detail = r
            .headers()
            .get("upload-refused")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("no reason given")
            .to_string();
        Err(match r.status().as_u16() {
            401 | 403 => SyncError::Unauthorized { detail },
            s => SyncError::Server {
                status: s,
                detail,
                retry_after: None,
            },
        })
    }

    /// `PATCH` of a photo upload (tus): appends `part` at `offset`; the hub's new offset.
    pub async fn upload_part(
        &self,
        hash: &str,
        offset: u64,
        part: Vec<u8>,
    ) -> Result<u64, SyncError> {
        self.count();
        let started = std::time::Instant::now();
        let sent = part.len();
        let url = self.upload_url(hash);
        let result = self
            .authorized(self.http.patch(&url), "PATCH", &url, &part)
            .header("tus-resumable", "1.0.0")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/offset+octet-stream",
            )
            .header("upload-offset", offset.to_string())
            .body(part)
            .send()
            .await;
        let r = match result {
            Ok(r) => r,
            Err(e) => {
                if e.is_timeout() {
                    self.timed_out();
                }
                return Err(self.network(e));
            }
        };
        let status = r.status();
        let new_offset = r
            .headers()
            .get("upload-offset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if status.is_success() {
            self.measured(sent, started.elapsed());
            return Ok(new_offset.unwrap_or(offset + sent as u64));
        }
        if status.as_u16() == 409
            && let Some(at) = new_offset
        {
            // The hub holds another amount (a part acknowledged but its reply lost): go on
            // from there.
            return Ok(at);
        }
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        let detail = body["detail"]
            .as_str()
            .unwrap_or("the hub gave no reason")
            .to_string();
        Err(match status.as_u16() {
            401 | 403 => SyncError::Unauthorized { detail },
            s => SyncError::Server {
                status: s,
                detail,
                retry_after: None,
            },
        })
    }
}

/// The certificate error inside a request error, if that is what failed.
fn certificate_problem(e: &reqwest::Error) -> Option<String> {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        let text = s.to_string();
        if text.to_lowercase().contains("certificate") {
            return Some(text);
        }
        source = s.source();
    }
    None
}

/// Syncs `docs` with the hub until neither side has anything to send.
pub async fn sync_once(
    store: &Store,
    client: &HubClient,
    peer_id: &str,
    docs: Vec<DocId>,
) -> Result<Outcome, SyncError> {
    // Several hubs: start from the one that answered last time, and remember the one that
    // answers now.
    let last = store.meta(LAST_HUB_KEY)?;
    if let Some(hub) = &last {
        client.prefer(hub);
    }
    let result = sync_polling_if_taken(store, client, peer_id, docs).await;
    if result.is_ok() && last.as_deref() != Some(client.current_hub().as_str()) {
        store.set_meta(LAST_HUB_KEY, &client.current_hub())?;
    }
    result
}

/// The agent's meta key that remembers the hub that answered the last sync.
pub const LAST_HUB_KEY: &str = "hub_last_answered";

async fn sync_polling_if_taken(
    store: &Store,
    client: &HubClient,
    peer_id: &str,
    docs: Vec<DocId>,
) -> Result<Outcome, SyncError> {
    let polls = store.meta(HUB_POLLS_KEY)?.as_deref() == Some("1");
    match sync_session(store, client, peer_id, docs.clone(), polls, false).await {
        // A hub being rebuilt takes no poll (it has no sync state to answer one from): the
        // documents in full, with the vouches it takes the registry and decisions back by.
        Err(SyncError::PollNotTaken { .. }) => {
            sync_session(store, client, peer_id, docs, polls, true).await
        }
        // A hub that said it takes polls and now refuses one as malformed was replaced by an
        // older release: stop polling it, and sync in full.
        Err(SyncError::Server { status: 400, .. }) if polls => {
            store.set_meta(HUB_POLLS_KEY, "0")?;
            sync_session(store, client, peer_id, docs, false, false).await
        }
        other => other,
    }
}

/// The agent's meta key that remembers whether the hub accepts polls ("1" or "0").
pub const HUB_POLLS_KEY: &str = "hub_accepts_polls";

async fn sync_session(
    store: &Store,
    client: &HubClient,
    peer_id: &str,
    docs: Vec<DocId>,
    mut polls: bool,
    in_full: bool,
) -> Result<Outcome, SyncError> {
    let mut session = SyncSession::new(store, peer_id, docs)?;
    session.allow_poll(polls);
    if in_full {
        session.in_full();
    }
    session.take_photo_gaps();
    let unanswered = store.meta(UNANSWERED_KEY)?.as_deref() == Some("1");
    if unanswered {
        session.probe_first();
    }
    loop {
        // Sized from the link as measured so far (it may change within the session).
        session.set_budget(client.upload_budget());
        let Some(frame) = session.next_request(store)? else {
            break;
        };
        let reply = match client.exchange(frame).await {
            Ok(reply) => reply,
            Err(e) => {
                // A request that may have reached the hub and whose reply did not reach us:
                // the next session asks first what the hub has, instead of sending it again.
                if matches!(e, SyncError::Network { .. }) && !session.polled() && !unanswered {
                    store.set_meta(UNANSWERED_KEY, "1")?;
                }
                return Err(e);
            }
        };
        session.handle_response(store, &reply)?;
        if let Some(accepts) = session.hub_accepts_polls()
            && accepts != polls
        {
            store.set_meta(HUB_POLLS_KEY, if accepts { "1" } else { "0" })?;
            polls = accepts;
        }
    }
    if unanswered {
        store.set_meta(UNANSWERED_KEY, "0")?;
    }
    Ok(session.into_outcome())
}

/// The agent's meta key, "1" while a sync request's reply is outstanding after a network
/// failure: the next session starts with a probe poll ([`SyncSession::probe_first`]).
pub const UNANSWERED_KEY: &str = "sync_request_unanswered";
