//! Hub configuration: defaults, then a TOML file, then `KARYA_*` environment variables, then
//! command-line flags.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the hub listens (KARYA_LISTEN).
    pub listen: SocketAddr,
    /// The SQLite database (KARYA_DB).
    pub db: PathBuf,
    /// Largest sync body accepted, in bytes (KARYA_MAX_BODY_BYTES).
    pub max_body_bytes: usize,
    /// Largest sync body once inflated, in bytes (KARYA_MAX_INFLATED_BYTES); a body that
    /// inflates past it, or more than 100-fold (bodies under 1 MiB inflated always pass), is refused with 413 while inflating.
    pub max_inflated_bytes: u64,
    /// Documents kept loaded in memory (KARYA_CACHE_DOCS).
    pub cache_docs: usize,
    /// A UPT not synced for this long is shown as stale (KARYA_STALE_AFTER_HOURS).
    pub stale_after_hours: i64,
    /// Read connections beside the writer: views, token checks and health never wait for a
    /// write (KARYA_READ_CONNECTIONS).
    pub read_connections: usize,
    /// Syncs merged at once (KARYA_MAX_CONCURRENT_SYNCS).
    pub max_concurrent_syncs: usize,
    /// Syncs that may wait for a turn; past them (or after `sync_wait_secs`) a sync is
    /// answered 503 with Retry-After at once, before its body is read (KARYA_MAX_QUEUED_SYNCS).
    pub max_queued_syncs: usize,
    /// How long an admitted sync waits for its turn (KARYA_SYNC_WAIT_SECS).
    pub sync_wait_secs: u64,
    /// What a 503 tells the agent to wait before it tries again (KARYA_RETRY_AFTER_SECS).
    pub retry_after_secs: u64,
    /// Open connections at most; past it new ones wait in the kernel's queue until one
    /// closes (KARYA_MAX_CONNECTIONS).
    pub max_connections: usize,
    /// A client must send a request's headers within this many seconds, also between
    /// requests on a kept-alive connection (KARYA_HEADER_TIMEOUT_SECS).
    pub header_timeout_secs: u64,
    /// A request body must arrive within this many seconds (sized for a large sync over a
    /// thin link) (KARYA_BODY_TIMEOUT_SECS).
    pub body_timeout_secs: u64,
    /// Below this much free disk the hub reports itself not ready (KARYA_MIN_FREE_BYTES).
    pub min_free_bytes: u64,
    /// The time zone people read times in: Asia/Jakarta (WIB), Asia/Makassar (WITA) or
    /// Asia/Jayapura (WIT) (KARYA_TIME_ZONE). The API keeps RFC 3339 UTC.
    pub time_zone: String,
    /// Where photo blobs are kept (KARYA_BLOBS_DIR); by default beside the database, in a
    /// folder named like it with `.blobs` (karya-hub.blobs/).
    pub blobs_dir: Option<PathBuf>,
    /// The largest photo accepted, in bytes (KARYA_MAX_PHOTO_BYTES).
    pub max_photo_bytes: u64,
    /// Photo bytes one UPT may keep at the hub (KARYA_PHOTO_QUOTA_BYTES).
    pub photo_quota_bytes: u64,
    /// Photos no product names any more are removed after this many hours
    /// (KARYA_BLOB_GRACE_HOURS).
    pub blob_grace_hours: u64,
    /// The dashboard's session cookie carries `Secure` (set it when the hub is reached over
    /// TLS, behind the reverse proxy) (KARYA_COOKIE_SECURE).
    pub cookie_secure: bool,
    /// After its first 10 seconds a request body (a sync, a photo part) must keep arriving at
    /// this many bytes a second on average, or it is cut with 408: a client trickling bytes
    /// holds nothing for long (KARYA_MIN_BODY_BYTES_PER_SEC).
    pub min_body_bytes_per_sec: u64,
    /// Photo uploads one UPT may have in flight at once; past it 429 (KARYA_MAX_UPLOADS_PER_UPT).
    pub max_uploads_per_upt: usize,
    /// Photo uploads in flight at once, all UPTs together; past it 503 with Retry-After
    /// (KARYA_MAX_CONCURRENT_UPLOADS).
    pub max_concurrent_uploads: usize,
    /// The reverse proxies in front of the hub (addresses or CIDRs, e.g. "127.0.0.1" or
    /// "10.0.0.0/8"): for a request from one of them the client's address is read from
    /// `Forwarded` / `X-Forwarded-For`; from any other address those headers are ignored
    /// (KARYA_TRUSTED_PROXIES, comma-separated).
    pub trusted_proxies: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            db: PathBuf::from("./karya-hub.db"),
            max_body_bytes: 32 * 1024 * 1024,
            max_inflated_bytes: 64 * 1024 * 1024,
            cache_docs: 128,
            stale_after_hours: 72,
            read_connections: 4,
            max_concurrent_syncs: 8,
            max_queued_syncs: 64,
            sync_wait_secs: 10,
            retry_after_secs: 30,
            max_connections: 2048,
            header_timeout_secs: 10,
            body_timeout_secs: 600,
            min_free_bytes: 256 * 1024 * 1024,
            time_zone: "Asia/Jakarta".into(),
            blobs_dir: None,
            max_photo_bytes: karya_shared::model::MAX_PHOTO_BYTES,
            photo_quota_bytes: 1024 * 1024 * 1024,
            blob_grace_hours: 7 * 24,
            cookie_secure: false,
            min_body_bytes_per_sec: 512,
            max_uploads_per_upt: 2,
            max_concurrent_uploads: 64,
            trusted_proxies: Vec::new(),
        }
    }
}

pub const EXAMPLE: &str = r#"# karya-hub configuration. Every key is optional; environment variables
# (KARYA_LISTEN, KARYA_DB, ...) override this file, and command-line flags override both.

# Address to listen on. Put a TLS-terminating reverse proxy in front for the internet.
listen = "127.0.0.1:8080"
# The hub's SQLite database (documents, tokens, materialized national tables).
db = "./karya-hub.db"
# Largest sync request body accepted, in bytes.
max_body_bytes = 33554432
# Largest sync body once inflated (a body inflating past it, or more than 100-fold (bodies under 1 MiB inflated always pass), is refused).
max_inflated_bytes = 67108864
# Documents kept loaded in memory; the rest load on demand.
cache_docs = 128
# Hours without a successful sync after which a UPT is shown as stale.
stale_after_hours = 72
# Read connections beside the writer, so views and health checks never wait for a sync.
read_connections = 4
# Syncs merged at once, and syncs that may wait for a turn (for up to sync_wait_secs).
# Past that the hub answers 503 with Retry-After: retry_after_secs, and agents back off.
max_concurrent_syncs = 8
max_queued_syncs = 64
sync_wait_secs = 10
retry_after_secs = 30
# Slow or idle clients: open connections at most, seconds to send a request's headers (also
# between requests on a kept-alive connection), seconds to send a request body.
max_connections = 2048
header_timeout_secs = 10
body_timeout_secs = 600
# /readyz reports not ready below this much free disk (bytes).
min_free_bytes = 268435456
# Times shown to people (dashboard, CLI): Asia/Jakarta (WIB), Asia/Makassar (WITA) or
# Asia/Jayapura (WIT). The API keeps RFC 3339 UTC.
time_zone = "Asia/Jakarta"
# Product photos: where they are kept (default: beside the database, karya-hub.blobs/),
# the largest photo accepted, the photo bytes one UPT may keep, and after how many hours a
# photo no product names any more is removed.
# blobs_dir = "/var/lib/karya/blobs"
max_photo_bytes = 2097152
photo_quota_bytes = 1073741824
blob_grace_hours = 168
# The dashboard's session cookie is sent only over HTTPS (set true behind the TLS proxy).
cookie_secure = false
# Slow clients cost only themselves: after 10 s a request body must keep arriving at this
# many bytes a second (or it is cut), one UPT has at most this many photo uploads in flight,
# and all UPTs together at most this many.
min_body_bytes_per_sec = 512
max_uploads_per_upt = 2
max_concurrent_uploads = 64
# The reverse proxies in front of the hub (addresses or CIDRs). Only for a request from one
# of them is the client's address read from Forwarded / X-Forwarded-For (failed sign-ins and
# tokens are counted per client address). Behind the TLS proxy of DEPLOYMENT.md:
# trusted_proxies = ["127.0.0.1", "::1"]
trusted_proxies = []
"#;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "KARYA_DB={0} is a relative path, which would depend on the folder the hub is started from; write it as an absolute path (or set db = in the configuration file)"
    )]
    RelativeDb(String),
    #[error("setting {name}={value} is not valid: {message}")]
    Env {
        name: String,
        value: String,
        message: String,
    },
}

impl Config {
    /// Whether `db` names a PostgreSQL database (`postgres://…`) rather than a SQLite file.
    pub fn is_postgres(&self) -> bool {
        karya_shared::store::is_postgres_url(&self.db.to_string_lossy())
    }

    /// Where photo blobs are kept (see [`Config::blobs_dir`]).
    pub fn blobs_path(&self) -> PathBuf {
        self.blobs_dir
            .clone()
            .unwrap_or_else(|| self.db.with_extension("blobs"))
    }

    /// The time zone times are shown in (checked when the configuration is loaded).
    pub fn zone(&self) -> karya_shared::localtime::Zone {
        karya_shared::localtime::Zone::parse(&self.time_zone)
            .unwrap_or(karya_shared::localtime::Zone::Wib)
    }

    /// [`Config::trusted_proxies`] as networks (a bare address is a network of one).
    pub fn proxy_nets(&self) -> Result<Vec<ipnet::IpNet>, String> {
        self.trusted_proxies
            .iter()
            .map(|t| {
                let t = t.trim();
                t.parse::<ipnet::IpNet>()
                    .or_else(|_| t.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        format!(
                            "'{t}' is not an address or a network (write 10.0.0.1 or 10.0.0.0/8)"
                        )
                    })
            })
            .collect()
    }

    /// Defaults, then `file` (if given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_with(file, std::env::vars())
    }

    /// The keys of the configuration file, which are also the settings the environment may
    /// override (`KARYA_` and the key in capitals).
    fn keys() -> Vec<String> {
        let defaults = toml::Table::try_from(Config::default()).expect("the defaults serialize");
        let mut keys: Vec<String> = defaults.keys().cloned().collect();
        // Settings that are unset by default are not in the serialized defaults.
        keys.push("blobs_dir".into());
        keys
    }

    /// [`Config::load`] with the environment given: each layer is a source of config-rs,
    /// merged key by key, and deserialized once.
    fn load_with(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let defaults =
            config::Config::try_from(&Config::default()).map_err(|e| ConfigError::Env {
                name: "defaults".into(),
                value: String::new(),
                message: e.to_string(),
            })?;
        let mut layers = config::Config::builder().add_source(defaults);
        if let Some(path) = file {
            layers = layers.add_source(Self::file_layer(path)?);
        }
        let keys = Self::keys();
        let mut env: HashMap<String, (String, String)> = HashMap::new();
        for (name, value) in vars {
            let Some(key) = name.strip_prefix("KARYA_").map(str::to_lowercase) else {
                continue;
            };
            if keys.contains(&key) {
                env.insert(key, (name, value));
            }
        }
        if let Some((_, v)) = env.get("db")
            && !karya_shared::store::is_postgres_url(v)
            && Path::new(v).is_relative()
        {
            return Err(ConfigError::RelativeDb(v.clone()));
        }
        if let Some((_, v)) = env.get_mut("blobs_dir") {
            *v = std::path::absolute(&*v)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| v.clone());
        }
        let source: config::Map<String, String> = env
            .iter()
            .map(|(k, (_, v))| (k.clone(), v.clone()))
            .collect();
        layers = layers.add_source(
            config::Environment::default()
                .source(Some(source))
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("trusted_proxies"),
        );
        let mut config: Config = layers
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|e| Self::named(e, &env, file))?;
        // `KARYA_TRUSTED_PROXIES=127.0.0.1, ::1` as people write lists.
        config.trusted_proxies = config
            .trusted_proxies
            .iter()
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        if let Err(message) = config.proxy_nets() {
            return Err(ConfigError::Env {
                name: "trusted_proxies".into(),
                value: config.trusted_proxies.join(","),
                message,
            });
        }
        if karya_shared::localtime::Zone::parse(&config.time_zone).is_none() {
            return Err(ConfigError::Env {
                name: "time_zone".into(),
                value: config.time_zone.clone(),
                message: "not an Indonesian time zone; use Asia/Jakarta (WIB), Asia/Makassar (WITA) or Asia/Jayapura (WIT)".into(),
            });
        }
        Ok(config)
    }

    /// The file's layer. It is read and checked here, so that a missing file, a typo in a
    /// key or a bad value is named with the file; paths in it are read from the file's
    /// folder, never from wherever a command happens to be started (the service and the
    /// admin's shell must agree).
    fn file_layer(path: &Path) -> Result<config::Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        let mut file: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.message().to_string(),
        })?;
        if let Some(folder) = std::path::absolute(path)
            .ok()
            .as_deref()
            .and_then(Path::parent)
        {
            if !file.is_postgres() && file.db.is_relative() {
                file.db = folder.join(&file.db);
            }
            if let Some(b) = file.blobs_dir.as_mut().filter(|b| b.is_relative()) {
                *b = folder.join(&*b);
            }
        }
        config::Config::try_from(&file).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.to_string(),
        })
    }

    /// A setting that cannot be used, named where it came from: its environment variable,
    /// or the file.
    fn named(
        e: config::ConfigError,
        env: &HashMap<String, (String, String)>,
        file: Option<&Path>,
    ) -> ConfigError {
        let message = e.to_string();
        let key = match &e {
            config::ConfigError::Type { key: Some(k), .. } => Some(k.clone()),
            _ => env
                .keys()
                .find(|k| message.contains(&format!("`{k}`")))
                .cloned(),
        };
        match key.as_ref().and_then(|k| env.get(k)) {
            Some((name, value)) => ConfigError::Env {
                name: name.clone(),
                value: value.clone(),
                message,
            },
            None => match file {
                Some(path) => ConfigError::Parse {
                    path: path.into(),
                    message,
                },
                None => ConfigError::Env {
                    name: "KARYA_*".into(),
                    value: String::new(),
                    message,
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_parses_to_the_defaults() {
        let parsed: Config = toml::from_str(EXAMPLE).unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn relative_paths_in_the_file_are_read_from_its_folder_and_a_relative_karya_db_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hub.toml");
        std::fs::write(&file, "db = \"data/hub.db\"\nblobs_dir = \"foto\"\n").unwrap();
        let c = Config::load_with(Some(&file), []).unwrap();
        assert_eq!(c.db, dir.path().join("data/hub.db"));
        assert_eq!(c.blobs_dir, Some(dir.path().join("foto")));
        let env = |name: &str, value: &str| [(name.to_string(), value.to_string())];
        let err = Config::load_with(None, env("KARYA_DB", "hub.db")).unwrap_err();
        assert!(err.to_string().contains("absolute path"), "{err}");
        let c = Config::load_with(Some(&file), env("KARYA_DB", "/srv/hub.db")).unwrap();
        assert_eq!(
            c.db,
            PathBuf::from("/srv/hub.db"),
            "the environment overrides the file"
        );
    }

    #[test]
    fn environment_overrides_and_bad_values_are_named() {
        let env = |vars: &[(&str, &str)]| {
            vars.iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        let c = Config::load_with(
            None,
            env(&[
                ("KARYA_CACHE_DOCS", "9"),
                ("KARYA_COOKIE_SECURE", "true"),
                ("KARYA_LISTEN", "0.0.0.0:9090"),
                ("KARYA_TIME_ZONE", "Asia/Makassar"),
                ("KARYA_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8"),
                // Not settings of the hub: left alone, never an error.
                ("KARYA_LANG", "en"),
                ("KARYA_HUB_STORE", "postgres"),
            ]),
        )
        .unwrap();
        assert_eq!(c.cache_docs, 9);
        assert!(c.cookie_secure);
        assert_eq!(c.listen.port(), 9090);
        assert_eq!(c.time_zone, "Asia/Makassar");
        assert_eq!(c.trusted_proxies, ["127.0.0.1", "10.0.0.0/8"]);
        let err = Config::load_with(None, env(&[("KARYA_LISTEN", "nowhere")])).unwrap_err();
        assert!(err.to_string().contains("KARYA_LISTEN=nowhere"), "{err}");
        let err = Config::load_with(None, env(&[("KARYA_CACHE_DOCS", "banyak")])).unwrap_err();
        assert!(err.to_string().contains("KARYA_CACHE_DOCS=banyak"), "{err}");
    }

    #[test]
    fn a_typo_or_a_bad_value_in_the_file_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hub.toml");
        std::fs::write(&file, "cache_dokumen = 9\n").unwrap();
        let err = Config::load_with(Some(&file), []).unwrap_err();
        assert!(
            err.to_string().contains("hub.toml") && err.to_string().contains("cache_dokumen"),
            "{err}"
        );
        let err = Config::load_with(Some(&dir.path().join("missing.toml")), []).unwrap_err();
        assert!(err.to_string().contains("missing.toml"), "{err}");
    }
}
