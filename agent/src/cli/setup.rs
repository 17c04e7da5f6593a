//! Setting a PC up for a UPT: `init`, `token set`, `secret export`, `migrate --check`.

use super::print_json;
use crate::config::{AgentConfig, Paths, Timing};
use crate::text::agent as text;
use crate::{AgentError, control};
use karya_shared::model::validate_upt_code;
use std::path::Path;

/// What `init` was given.
pub struct Init<'a> {
    pub upt: &'a str,
    /// One hub, or several processes of one national hub, tried in order.
    pub hub: &'a [String],
    pub token: &'a str,
    pub secret_file: Option<&'a Path>,
    pub ca_file: Option<&'a Path>,
    pub insecure_http: bool,
    /// Ask the hub whether it takes the token first.
    pub check: bool,
}

pub async fn init_command(paths: &Paths, init: Init<'_>, json: bool) -> Result<(), AgentError> {
    if init.check {
        check_hub(&init).await?;
    }
    set_up(paths, &init)?;
    if json {
        print_json(&serde_json::json!({ "upt": init.upt, "data_dir": paths.dir }));
    } else {
        println!(
            "{}",
            text::initialised(&paths.dir.display().to_string(), init.upt)
        );
    }
    Ok(())
}

fn set_up(paths: &Paths, init: &Init<'_>) -> Result<(), AgentError> {
    let Init { upt, hub, .. } = *init;
    validate_upt_code(upt).map_err(|e| AgentError::Usage(e.to_string()))?;
    if let Some(bad) = hub
        .iter()
        .find(|h| !(h.starts_with("http://") || h.starts_with("https://")))
    {
        return Err(AgentError::Usage(text::hub_url_shape(bad)));
    }
    let hub =
        crate::config::Hubs::new(hub).ok_or_else(|| AgentError::Usage(text::hub_url_shape("")))?;
    if let Ok(existing) = AgentConfig::load(paths) {
        return Err(crate::config::ConfigError::AlreadyInitialised {
            path: paths.config(),
            upt: existing.upt,
        }
        .into());
    }
    std::fs::create_dir_all(paths.inbox())
        .map_err(|e| AgentError::Io(format!("{}: {e}", paths.dir.display())))?;
    let ca_file = match init.ca_file {
        Some(file) => {
            crate::client::read_ca(file).map_err(AgentError::Usage)?;
            Some(std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf()))
        }
        None => None,
    };
    let config = AgentConfig {
        upt: upt.to_string(),
        hub,
        token: init.token.trim().to_string(),
        peer_id: karya_shared::model::new_id(),
        ca_file,
        insecure_http: init.insecure_http,
        timing: Timing::default(),
        photo_upload_kbps: None,
        console: Default::default(),
    };
    if let Some(warning) = config.plain_http_warning() {
        eprintln!("{warning}");
    }
    let secret = match init.secret_file {
        Some(file) => Some(std::fs::read_to_string(file).map_err(|e| {
            AgentError::Usage(text::cannot_read(
                &file.display().to_string(),
                &e.to_string(),
            ))
        })?),
        None => None,
    };
    let store = crate::store::open_store(paths)?;
    match secret {
        Some(hex) => crate::identity::set_secret(&store, hex.trim())?,
        None => {
            crate::identity::secret(&store)?;
        }
    }
    control::api_key(paths)?;
    config.save(paths)?;
    Ok(())
}

/// Asks the hub whether it takes the token, before `init` writes anything: a refused token
/// stops init with the fix; an unreachable hub is a warning (init goes on, offline).
async fn check_hub(init: &Init<'_>) -> Result<(), AgentError> {
    let Init { upt, hub, .. } = *init;
    if hub
        .iter()
        .any(|h| !(h.starts_with("http://") || h.starts_with("https://")))
    {
        return Ok(()); // init says what is wrong with the URL
    }
    let Some(hubs) = crate::config::Hubs::new(hub) else {
        return Ok(());
    };
    let ca = match init.ca_file {
        Some(file) => Some(crate::client::read_ca(file).map_err(AgentError::Usage)?),
        None => None,
    };
    let client = crate::client::HubClient::with_hubs(
        hubs.urls(),
        init.token.trim(),
        std::time::Duration::from_secs(10),
        ca,
    );
    match client.check_token().await {
        Ok(Some(other)) if other != upt => {
            Err(AgentError::Usage(text::token_of_another_upt(&other, upt)))
        }
        Ok(_) => {
            eprintln!("{}", text::hub_accepts_token(&client.current_hub()));
            Ok(())
        }
        Err(crate::client::SyncError::Unauthorized { detail }) => Err(AgentError::Usage(
            text::hub_refuses_token_at_init(&client.current_hub(), &detail, upt),
        )),
        Err(e) => {
            eprintln!("{}", text::token_not_checked(&e.to_string()));
            Ok(())
        }
    }
}

/// `token set` (and the console's token form): the service rereads its settings before
/// every sync, so no restart. When the hub can be asked, a token it refuses, or one of
/// another UPT, is not saved; an unreachable hub leaves the check to the next sync.
pub async fn token_set(paths: &Paths, token: &str) -> Result<(), AgentError> {
    replace_token(paths, token).await?;
    println!("{}", text::token_saved());
    Ok(())
}

/// Checks a new token with the hub (when it answers) and saves it: `token set`, and the
/// console's Pengaturan page. A check that could not be made is said on stderr.
pub async fn replace_token(paths: &Paths, token: &str) -> Result<(), AgentError> {
    let token = token.trim().to_string();
    if token.is_empty() || token.chars().any(char::is_whitespace) {
        return Err(AgentError::Usage(text::token_shape().into()));
    }
    let mut config = AgentConfig::load(paths)?;
    let ca = match &config.ca_file {
        Some(file) => Some(crate::client::read_ca(file).map_err(AgentError::Usage)?),
        None => None,
    };
    let client = crate::client::HubClient::with_hubs(
        config.hub.urls(),
        &token,
        std::time::Duration::from_secs(10),
        ca,
    );
    match client.check_token().await {
        Ok(Some(other)) if other != config.upt => {
            return Err(AgentError::Usage(text::token_of_another_upt(
                &other,
                &config.upt,
            )));
        }
        Ok(_) => {}
        Err(crate::client::SyncError::Unauthorized { detail }) => {
            return Err(AgentError::Usage(text::hub_refuses_new_token(
                &client.current_hub(),
                &detail,
                &config.upt,
            )));
        }
        Err(e) => eprintln!("{}", text::token_not_checked(&e.to_string())),
    }
    config.token = token;
    config.save(paths)?;
    // A new token is tried first again (the hub may take tokens now).
    if let Ok(store) = crate::store::open_store(paths) {
        let _ = store.set_meta(crate::sync::BY_KEY, "");
    }
    Ok(())
}

/// `secret import FILE`: the UPT's secret from another installation, on one that has none
/// yet (a reinstall whose participants came down from the hub).
pub fn secret_import(paths: &Paths, file: &Path) -> Result<(), AgentError> {
    let store = crate::store::open_store(paths)?;
    let meta = std::fs::metadata(file)
        .map_err(|e| AgentError::Usage(format!("{}: {e}", file.display())))?;
    if meta.len() > 1024 {
        return Err(AgentError::Usage(text::secret_file_shape().into()));
    }
    let hex = std::fs::read_to_string(file)
        .map_err(|e| AgentError::Usage(format!("{}: {e}", file.display())))?;
    crate::identity::set_secret(&store, hex.trim())?;
    println!("{}", text::secret_imported());
    Ok(())
}

/// `secret new`: a new secret, chosen knowingly where the old one is lost for good.
pub fn secret_new(paths: &Paths) -> Result<(), AgentError> {
    let store = crate::store::open_store(paths)?;
    crate::identity::new_secret_knowingly(&store)?;
    println!("{}", text::secret_made_new());
    Ok(())
}

pub fn secret_export(paths: &Paths, file: &Path) -> Result<(), AgentError> {
    let store = crate::store::open_store(paths)?;
    let secret = hex::encode(crate::identity::secret(&store)?);
    crate::config::write_private(file, &secret)?;
    println!("{}", text::secret_written(&file.display().to_string()));
    Ok(())
}

/// `migrate --check`: what starting this version would migrate in the agent's database,
/// without changing it.
pub fn migrate_check(paths: &Paths, json: bool) -> Result<(), AgentError> {
    let db = paths.db();
    if !db.exists() {
        return Err(AgentError::Usage(text::no_database(
            &db.display().to_string(),
        )));
    }
    let states = karya_shared::store::sqlite::inspect(&db, crate::identity::SCHEMA)?;
    if json {
        print_json(&states);
    } else {
        println!("{}:", db.display());
        for s in &states {
            if s.too_new() {
                println!("{}", text::schema_newer(s.name, s.found, s.known));
            } else if s.pending.is_empty() {
                println!("{}", text::schema_current(s.name, s.found));
            } else {
                println!("{}", text::schema_pending(s.name, s.found, s.known));
                for p in &s.pending {
                    println!("    {p}");
                }
            }
        }
    }
    match states.iter().find(|s| s.too_new()) {
        Some(s) => Err(AgentError::Usage(text::database_too_new(
            s.name, s.found, s.known,
        ))),
        None => Ok(()),
    }
}
