//! The agent's data directory and its configuration.
//!
//! ```text
//! <data-dir>/agent.toml    UPT, hub URL, token, peer id, timings (0600: holds the token)
//! <data-dir>/agent.db      the replica store and the local identity table
//! <data-dir>/control.key   API key of the loopback control API (0600)
//! <data-dir>/control.json  where the running service listens (removed when it stops)
//! <data-dir>/sync.lock     held by whoever syncs, so two syncs never overlap
//! <data-dir>/inbox/        spreadsheets dropped here are imported by the service
//! ```
//! Timings come from the file, then from `KARYA_*` environment variables.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Paths {
    pub dir: PathBuf,
}

impl Paths {
    pub fn new(dir: impl Into<PathBuf>) -> Paths {
        Paths { dir: dir.into() }
    }
    pub fn config(&self) -> PathBuf {
        self.dir.join("agent.toml")
    }
    pub fn db(&self) -> PathBuf {
        self.dir.join("agent.db")
    }
    pub fn control_key(&self) -> PathBuf {
        self.dir.join("control.key")
    }
    pub fn control_info(&self) -> PathBuf {
        self.dir.join("control.json")
    }
    pub fn sync_lock(&self) -> PathBuf {
        self.dir.join("sync.lock")
    }
    pub fn inbox(&self) -> PathBuf {
        self.dir.join("inbox")
    }
    /// Where the running service's console listens (removed when it stops).
    pub fn console_info(&self) -> PathBuf {
        self.dir.join("console.json")
    }
    /// Files uploaded to the console's import, kept between preview and import.
    pub fn uploads(&self) -> PathBuf {
        self.dir.join("console-uploads")
    }
}

#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub upt: String,
    /// `hub = "https://…"`, or several: `hub = ["https://a…", "https://b…"]`.
    pub hub: Hubs,
    pub token: String,
    /// This installation's id: the hub keeps sync state per peer.
    pub peer_id: String,
    /// A PEM file of the CA that signed the hub's certificate, when HQ uses a private CA
    /// (trusted beside the system's and the built-in roots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// The operator accepted plain HTTP to a hub outside this machine (tokens in clear).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_http: bool,
    #[serde(default)]
    pub timing: Timing,
    /// An upper bound on the photo upload rate, in kbit/s, for a UPT that shares a thin
    /// link (the records are never held back by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_upload_kbps: Option<u32>,
    /// Where the operator console listens (`console.listen` in the file, or
    /// KARYA_CONSOLE_LISTEN): 127.0.0.1:8470 by default; `0.0.0.0:8470` opens it to the
    /// UPT's LAN.
    #[serde(default, skip_serializing_if = "Console::is_default")]
    pub console: Console,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Console {
    pub listen: Option<String>,
}

impl Console {
    pub const DEFAULT_LISTEN: &str = "127.0.0.1:8470";

    fn is_default(&self) -> bool {
        *self == Console::default()
    }

    /// The address to listen on.
    pub fn listen(&self) -> String {
        std::env::var("KARYA_CONSOLE_LISTEN")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| self.listen.clone())
            .unwrap_or_else(|| Console::DEFAULT_LISTEN.to_string())
    }
}

/// The hubs an agent syncs with: one URL, or several processes of one national hub (on one
/// database) that the agent tries in order, from the last that worked (see
/// [`crate::client::HubClient`]). Written as a string when there is one, a list otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hubs(Vec<String>);

impl Hubs {
    /// The URLs as given, without a trailing `/`; `None` for an empty list.
    pub fn new<S: AsRef<str>>(urls: &[S]) -> Option<Hubs> {
        let urls: Vec<String> = urls
            .iter()
            .map(|u| u.as_ref().trim().trim_end_matches('/').to_string())
            .collect();
        (!urls.is_empty()).then_some(Hubs(urls))
    }

    pub fn urls(&self) -> &[String] {
        &self.0
    }
}

impl std::fmt::Display for Hubs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

impl Serialize for Hubs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Hubs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            One(String),
            Many(Vec<String>),
        }
        let urls = match Given::deserialize(d)? {
            Given::One(one) => vec![one],
            Given::Many(many) => many,
        };
        Hubs::new(&urls).ok_or_else(|| serde::de::Error::custom("hub: give at least one URL"))
    }
}

impl AgentConfig {
    /// A warning when a hub is plain HTTP on another machine: the token and every frame
    /// cross the network in clear. `None` for https, loopback, or when the operator said so.
    pub fn plain_http_warning(&self) -> Option<String> {
        self.hub
            .urls()
            .iter()
            .find_map(|hub| plain_http_warning(hub, self.insecure_http))
    }
}

pub fn plain_http_warning(hub: &str, accepted: bool) -> Option<String> {
    let rest = hub.strip_prefix("http://")?;
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host
        .rsplit_once(':')
        .filter(|(h, p)| !h.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        .map(|(h, _)| h)
        .unwrap_or(host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback || accepted {
        return None;
    }
    Some(text::plain_http(hub))
}

/// Never print the token.
impl std::fmt::Debug for AgentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentConfig")
            .field("upt", &self.upt)
            .field("hub", &self.hub)
            .field("token", &"<redacted>")
            .field("peer_id", &self.peer_id)
            .field("timing", &self.timing)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Timing {
    /// Sync at least this often (KARYA_SYNC_INTERVAL_SECS), default 5 minutes.
    pub sync_interval_secs: f64,
    /// Sync this long after the last local change (KARYA_DEBOUNCE_SECS).
    pub debounce_secs: f64,
    /// First retry delay while the hub is unreachable (KARYA_RETRY_INITIAL_SECS).
    pub retry_initial_secs: f64,
    /// Longest retry delay (KARYA_RETRY_MAX_SECS).
    pub retry_max_secs: f64,
    /// One HTTP request's timeout (KARYA_REQUEST_TIMEOUT_SECS); satellite links are slow.
    pub request_timeout_secs: f64,
    /// How long an inbox file must stay unchanged before it is read (KARYA_INBOX_SETTLE_SECS).
    pub inbox_settle_secs: f64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            sync_interval_secs: 300.0,
            debounce_secs: 5.0,
            retry_initial_secs: 5.0,
            retry_max_secs: 900.0,
            request_timeout_secs: 120.0,
            inbox_settle_secs: 2.0,
        }
    }
}

fn secs(v: f64) -> Duration {
    Duration::from_secs_f64(v.max(0.001))
}

impl Timing {
    pub fn sync_interval(&self) -> Duration {
        secs(self.sync_interval_secs)
    }
    pub fn debounce(&self) -> Duration {
        secs(self.debounce_secs)
    }
    pub fn retry_initial(&self) -> Duration {
        secs(self.retry_initial_secs)
    }
    pub fn retry_max(&self) -> Duration {
        secs(self.retry_max_secs)
    }
    pub fn request_timeout(&self) -> Duration {
        secs(self.request_timeout_secs)
    }
    pub fn inbox_settle(&self) -> Duration {
        secs(self.inbox_settle_secs)
    }

    fn apply_env(&mut self) -> Result<(), ConfigError> {
        for (name, field) in [
            ("KARYA_SYNC_INTERVAL_SECS", &mut self.sync_interval_secs),
            ("KARYA_DEBOUNCE_SECS", &mut self.debounce_secs),
            ("KARYA_RETRY_INITIAL_SECS", &mut self.retry_initial_secs),
            ("KARYA_RETRY_MAX_SECS", &mut self.retry_max_secs),
            ("KARYA_REQUEST_TIMEOUT_SECS", &mut self.request_timeout_secs),
            ("KARYA_INBOX_SETTLE_SECS", &mut self.inbox_settle_secs),
        ] {
            if let Ok(v) = std::env::var(name) {
                *field = v.parse().map_err(|_| ConfigError::Env {
                    name,
                    value: v.clone(),
                })?;
            }
        }
        Ok(())
    }
}

use crate::text::agent as text;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}", text::not_initialised(&dir.display().to_string()))]
    NotInitialised { dir: PathBuf },
    #[error("{}", text::already_initialised(&path.display().to_string(), upt))]
    AlreadyInitialised { path: PathBuf, upt: String },
    #[error("{}", text::config_io(&path.display().to_string(), &source.to_string()))]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", text::config_invalid(&path.display().to_string(), message))]
    Parse { path: PathBuf, message: String },
    #[error("{}", text::env_not_seconds(name, value))]
    Env { name: &'static str, value: String },
    #[error("{0}")]
    Invalid(String),
}

pub fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ConfigError + '_ {
    move |source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a file readable by its owner only (it holds a secret).
pub fn write_private(path: &Path, contents: &str) -> Result<(), ConfigError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    // Windows: the file inherits the data directory's ACL (the service account's profile).
    let mut f = options.open(&tmp).map_err(io_err(&tmp))?;
    f.write_all(contents.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

impl AgentConfig {
    pub fn load(paths: &Paths) -> Result<AgentConfig, ConfigError> {
        let path = paths.config();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ConfigError::NotInitialised {
                    dir: paths.dir.clone(),
                });
            }
            Err(source) => return Err(ConfigError::Io { path, source }),
        };
        let mut config: AgentConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.clone(),
            message: e.message().to_string(),
        })?;
        config.timing.apply_env()?;
        Ok(config)
    }

    pub fn save(&self, paths: &Paths) -> Result<(), ConfigError> {
        let text = toml::to_string_pretty(self).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        write_private(&paths.config(), &text)
    }
}
