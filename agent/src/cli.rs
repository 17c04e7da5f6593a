//! The `karya-agent` command line. Every record command works offline: it writes the local
//! database, and the service (if running) syncs it shortly after.

use crate::config::{AgentConfig, Paths, Timing};
use crate::status::{self, StatusReport, status_report};
use crate::{AgentError, control, import, records, service};
use clap::{Args, Parser, Subcommand};
use karya_shared::input;
use karya_shared::model::{Certification, ProductPatch, SaleChannel, iso, validate_upt_code};
use time::Date;

/// A date on the command line, as people write it (see `karya_shared::input`).
fn date_arg(s: &str) -> Result<Date, String> {
    input::parse_date(s)
}

/// A whole number (rupiah, a count) as people write it: 275000, 275.000, Rp 275.000.
fn whole_arg(s: &str) -> Result<i64, String> {
    input::parse_whole(s)
}

fn yes_no_arg(s: &str) -> Result<bool, String> {
    input::parse_yes_no(s)
}

fn channel_arg(s: &str) -> Result<SaleChannel, String> {
    input::match_choice("channel", s, &input::choices_of(SaleChannel::NAMES))
        .and_then(|c| c.parse())
        .map_err(|e| e.reason)
}
use karya_shared::session::Outcome;
use karya_shared::{DocId, schema, views};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "karya-agent",
    version,
    about = "karya agent: the UPT's offline-first replica and sync service"
)]
pub struct Cli {
    /// The agent's data directory.
    #[arg(
        long,
        global = true,
        env = "KARYA_DATA_DIR",
        default_value = "./karya-agent-data"
    )]
    pub data_dir: PathBuf,
    /// Print data as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up this data directory for a UPT.
    Init {
        #[arg(long)]
        upt: String,
        /// The hub's URL, e.g. https://karya.ditjenpas.go.id
        #[arg(long)]
        hub: String,
        /// The UPT's agent token (from karya-hub upt add).
        #[arg(long, env = "KARYA_TOKEN", hide_env_values = true)]
        token: String,
        /// The UPT's pseudonym secret, exported from its first agent (`secret export`), so a
        /// second PC or a reinstall gives every inmate the same pseudonym. Default: a new one.
        #[arg(long)]
        pseudonym_secret_file: Option<PathBuf>,
        /// PEM file of the CA that signed the hub's certificate (HQ's private CA); the
        /// system's roots are trusted too.
        #[arg(long)]
        ca_file: Option<PathBuf>,
        /// Accept a plain http:// hub outside this machine (tokens travel in clear).
        #[arg(long)]
        insecure_http: bool,
        /// Do not ask the hub whether it takes the token (by default init asks when the hub
        /// is reachable, and refuses a token it refuses).
        #[arg(long)]
        no_check: bool,
    },
    /// The UPT's pseudonym secret: it never leaves the UPT; keep the export offline.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// The UPT's token for the hub.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Operator accounts of the web console.
    #[command(subcommand)]
    User(UserCommand),
    /// Run the background service (sync, inbox, control API).
    Run,
    /// Sync now, through the running service or directly when none runs.
    Sync,
    /// Show the sync state.
    Status,
    /// Fetch one document again, whole, from the hub, dropping this PC's copy: for a document
    /// the hub keeps refusing (`national`, `curation`; `upt` with --force, which loses local
    /// changes not yet on the hub). Then syncs.
    Repair {
        /// `national`, `curation` or `upt`.
        doc: String,
        /// Allow repairing `upt` although it holds changes the hub does not have yet.
        #[arg(long)]
        force: bool,
    },
    #[command(subcommand)]
    Product(ProductCommand),
    #[command(subcommand)]
    Stock(StockCommand),
    #[command(subcommand)]
    Sale(SaleCommand),
    #[command(subcommand)]
    Training(TrainingCommand),
    /// Import a CSV or XLSX file of products, sales or trainings (all rows or none).
    Import {
        file: PathBuf,
        /// Check every row and show what would be imported; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Import a file whose content was imported before (its rows are added again).
        #[arg(long)]
        again: bool,
    },
    /// Write an XLSX template to fill in and import: produk, penjualan or pelatihan. Its
    /// columns with fixed values have dropdowns; its example row is never imported.
    Template {
        kind: crate::template::TemplateKind,
        file: PathBuf,
    },
    /// Database schema upgrades. `--check` says what starting this version would migrate,
    /// without changing anything.
    Migrate {
        #[arg(long, required = true)]
        check: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Replace the token (after HQ revoked the old one or issued a new one). The running
    /// service uses it at its next sync, which this command asks for; no restart needed.
    Set {
        #[arg(env = "KARYA_TOKEN", hide_env_values = true)]
        token: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a console account; the password is asked for (or read from stdin).
    Add { name: String },
    /// List the console accounts.
    List,
    /// Remove a console account.
    Rm { name: String },
    /// Set an account's password (and unlock it).
    Passwd { name: String },
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Write the secret to FILE (readable by its owner only), for `init --pseudonym-secret-file`.
    Export { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum ProductCommand {
    /// Add a product; prints its id.
    Add(ProductAdd),
    /// Change some fields of a product.
    Edit(ProductEdit),
    /// Remove a product (kept in history as a tombstone).
    Rm {
        id: String,
    },
    List,
    /// A product with HQ's curation decision and any conflicting values.
    Show {
        id: String,
    },
    /// The product's photos (JPEG, PNG or WebP in; stored cleaned and small, sent to HQ after
    /// the records).
    #[command(subcommand)]
    Photo(PhotoCommand),
}

#[derive(Debug, Subcommand)]
pub enum PhotoCommand {
    /// Add photos to a product, in order (the first photo of a product is its cover).
    Add {
        id: String,
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// A caption for the photos added.
        #[arg(long, default_value = "")]
        caption: String,
    },
    /// Remove a photo from a product (by its hash, or the start of it).
    Rm { id: String, hash: String },
    /// List a product's photos.
    List { id: String },
}

#[derive(Debug, Args)]
pub struct ProductAdd {
    #[arg(long)]
    name: String,
    #[arg(long)]
    category: String,
    /// Price in whole rupiah: 275000, 275.000 or "Rp 275.000".
    #[arg(long, value_parser = whole_arg)]
    price: i64,
    #[arg(long)]
    unit: Option<String>,
    #[arg(long, default_value = "0", value_parser = whole_arg)]
    stock: i64,
    #[arg(long, default_value = "")]
    workshop: String,
    #[arg(long, default_value = "")]
    description: String,
    /// Propose it for the national catalogue.
    #[arg(long)]
    nominate: bool,
    /// A certification, KIND:NUMBER[:VALID-UNTIL] (halal, pirt, bpom, haki, sni); repeatable.
    #[arg(long = "cert", value_parser = parse_cert)]
    certs: Vec<Certification>,
}

fn parse_cert(s: &str) -> Result<Certification, String> {
    Certification::parse(s).map_err(|e| e.reason)
}

#[derive(Debug, Args)]
pub struct ProductEdit {
    id: String,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    category: Option<String>,
    /// Price in whole rupiah: 275000, 275.000 or "Rp 275.000".
    #[arg(long, value_parser = whole_arg)]
    price: Option<i64>,
    #[arg(long)]
    unit: Option<String>,
    #[arg(long)]
    workshop: Option<String>,
    #[arg(long)]
    description: Option<String>,
    /// ya or tidak (yes or no)
    #[arg(long, value_parser = yes_no_arg)]
    nominate: Option<bool>,
    /// Replaces the certifications: KIND:NUMBER[:VALID-UNTIL]; repeatable.
    #[arg(long = "cert", value_parser = parse_cert)]
    certs: Vec<Certification>,
}

#[derive(Debug, Subcommand)]
pub enum StockCommand {
    /// Add N to a product's stock (N may be negative).
    Add {
        id: String,
        #[arg(allow_hyphen_values = true, value_parser = whole_arg)]
        n: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum SaleCommand {
    Add {
        id: String,
        #[arg(long, value_parser = whole_arg)]
        qty: i64,
        /// Revenue in whole rupiah: 550000, 550.000 or "Rp 550.000".
        #[arg(long, value_parser = whole_arg)]
        revenue: i64,
        /// 15/11/2026 or 2026-11-15 (default today)
        #[arg(long, value_parser = date_arg)]
        date: Option<Date>,
        /// Where it was sold: pameran, e-katalog, toko, online, lainnya (default toko)
        #[arg(long, value_parser = channel_arg)]
        channel: Option<SaleChannel>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrainingCommand {
    /// Add a training; prints its id.
    Add {
        #[arg(long)]
        program: String,
        #[arg(long)]
        category: String,
        /// 15/11/2026 or 2026-11-15
        #[arg(long, value_parser = date_arg)]
        start: Date,
        /// 15/11/2026 or 2026-11-15
        #[arg(long, value_parser = date_arg)]
        end: Date,
        #[arg(long, default_value = "0", value_parser = whole_arg)]
        hours: i64,
        #[arg(long, default_value = "")]
        partner: String,
        #[arg(long, default_value = "")]
        instructor: String,
        #[arg(long, default_value = "0", value_parser = whole_arg)]
        capacity: i64,
        #[arg(long, default_value = "")]
        scheme: String,
    },
    /// Enrol an inmate; the name and registration number stay in this UPT.
    Enroll {
        id: String,
        #[arg(long)]
        reg_no: String,
        #[arg(long)]
        name: String,
    },
    Complete {
        id: String,
        #[arg(long)]
        reg_no: String,
        #[arg(long)]
        certificate: Option<String>,
    },
    List,
    Show {
        id: String,
    },
}

fn print_json(v: &impl Serialize) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

fn kb(n: u64) -> String {
    format!("{:.1} KB", n as f64 / 1024.0)
}

fn print_outcome(outcome: &Outcome, elapsed: std::time::Duration, json: bool) {
    if json {
        print_json(
            &serde_json::json!({ "ok": outcome.refused.is_empty(), "outcome": outcome, "seconds": elapsed.as_secs_f64() }),
        );
        return;
    }
    println!(
        "sync ok: {} documents, {} round trip(s), {} sent, {} received, {:.2} s; {} change(s) received from the hub",
        outcome.documents,
        outcome.round_trips,
        kb(outcome.bytes_sent),
        kb(outcome.bytes_received),
        elapsed.as_secs_f64(),
        outcome.changes_received
    );
    for r in &outcome.refused {
        println!("refused by the hub: {}: {}", r.doc, r.reason);
    }
    if outcome.photos_sent > 0 || outcome.photos_waiting > 0 {
        println!(
            "photos: {} sent ({}), {} still to send",
            outcome.photos_sent,
            kb(outcome.photo_bytes),
            outcome.photos_waiting
        );
    }
    for r in &outcome.photos_refused {
        println!("refused by the hub: {}: {}", r.doc, r.reason);
    }
}

/// The running service's own status report, if a service answers.
async fn service_status(paths: &Paths) -> Option<StatusReport> {
    let info = control::running(paths)?;
    let key = control::api_key(paths).ok()?;
    let http = reqwest::Client::builder()
        .tls_built_in_native_certs(false)
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .ok()?;
    let resp = http
        .get(format!("http://{}/v1/status", info.addr))
        .header(control::KEY_HEADER, key)
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json().await.ok()
}

async fn sync_command(paths: &Paths, json: bool) -> Result<(), AgentError> {
    let config = AgentConfig::load(paths)?;
    let started = std::time::Instant::now();
    if let Some(info) = control::running(paths) {
        let key = control::api_key(paths)?;
        let http = reqwest::Client::builder()
            // The running service's control endpoint, on loopback over plain HTTP.
            .tls_built_in_native_certs(false)
            .timeout(config.timing.request_timeout() * karya_shared::session::MAX_ROUNDS)
            .build()
            .map_err(|e| AgentError::Io(e.to_string()))?;
        match http
            .post(format!("http://{}/v1/sync", info.addr))
            .header(control::KEY_HEADER, key)
            .send()
            .await
        {
            Ok(resp) => {
                let ok = resp.status().is_success();
                let body: serde_json::Value = resp.json().await.unwrap_or_default();
                if !ok {
                    let detail = body["detail"]
                        .as_str()
                        .unwrap_or("the service gave no reason")
                        .to_string();
                    return Err(service::SyncFailure {
                        message: detail,
                        token_refused: body["error"] == "token_refused",
                    }
                    .into());
                }
                let outcome: Outcome =
                    serde_json::from_value(body["outcome"].clone()).unwrap_or_default();
                print_outcome(&outcome, started.elapsed(), json);
                return refused_is_failure(&outcome);
            }
            Err(e) if e.is_connect() => {
                // A control.json left by a service that was killed: sync directly.
                tracing::debug!("service not reachable at {}; syncing directly", info.addr);
            }
            Err(e) => {
                return Err(AgentError::SyncFailed(format!(
                    "the running service did not answer: {e}"
                )));
            }
        }
    }
    let mut store = service::open_store(paths)?;
    let timing: Timing = config.timing.clone();
    let outcome = service::sync_and_record(paths, &config, &mut store, |attempt| {
        status::backoff(attempt, timing.retry_initial(), timing.retry_max(), 1.0)
    })
    .await
    .map_err(|e| AgentError::from(service::SyncFailure::from(&e)))?;
    print_outcome(&outcome, started.elapsed(), json);
    refused_is_failure(&outcome)
}

fn refused_is_failure(outcome: &Outcome) -> Result<(), AgentError> {
    if outcome.refused.is_empty() {
        return Ok(());
    }
    let docs: Vec<&str> = outcome.refused.iter().map(|r| r.doc.as_str()).collect();
    Err(AgentError::SyncFailed(format!(
        "the hub refused {}; the other documents synced. Ask the hub admin to check the refusals log",
        docs.join(", ")
    )))
}

fn print_status(report: &StatusReport, json: bool) {
    if json {
        print_json(report);
        return;
    }
    let state = match report.state {
        status::State::Offline => format!("offline (attempt {})", report.attempt),
        status::State::TokenRefused => "token refused: the hub does not accept this UPT's token (revoked or mistyped); ask HQ for a new one and run: karya-agent token set NEW-TOKEN".into(),
        status::State::Interrupted => "interrupted: the last sync stopped part-way (the service or the command ended during it); nothing the hub acknowledged is lost, and the next sync goes on from there".into(),
        status::State::DiskFull => "disk full: the service cannot write its data; free space on this disk, and it recovers by itself".into(),
        status::State::ReadOnly => "read-only: the data directory cannot be written; showing what is stored".into(),
        other => format!("{other:?}").to_lowercase(),
    };
    println!("UPT:             {}", report.upt);
    println!("Hub:             {}", report.hub);
    println!(
        "Service:         {}",
        if report.service_running {
            "running"
        } else {
            "not running"
        }
    );
    println!("State:           {state}");
    if let Some(problem) = &report.storage_problem {
        println!("Storage:         {problem}");
    }
    let zone = karya_shared::localtime::Zone::from_env();
    let local = |at: &str| karya_shared::localtime::format(at, zone);
    println!(
        "Last success:    {}",
        report
            .last_success_at
            .as_deref()
            .map(local)
            .unwrap_or_else(|| "never".into())
    );
    if let Some(since) = &report.offline_since {
        println!("Offline since:   {}", local(since));
    }
    if let Some(skew) = report
        .clock_skew_secs
        .filter(|s| s.abs() > crate::client::MAX_CLOCK_SKEW_SECS)
    {
        let minutes = skew.abs() / 60;
        let way = if skew > 0 { "ahead of" } else { "behind" };
        println!(
            "Clock:           WARNING: this PC's clock is {minutes} minutes {way} the hub's; set the date and time (Windows: Settings > Time & language), or new records get the wrong dates"
        );
    }
    println!(
        "Last error:      {}",
        report.last_error.as_deref().unwrap_or("-")
    );
    println!(
        "Pending changes: {} local change(s) not yet on the hub",
        report.pending_changes
    );
    println!(
        "Next attempt:    {}",
        report
            .next_attempt_at
            .as_deref()
            .map(local)
            .unwrap_or_else(|| "- (service not running; run karya-agent sync)".into())
    );
    for r in &report.refused {
        println!("Refused:         {}: {}", r.doc, r.reason);
    }
    if report.photos_waiting > 0 {
        println!(
            "Photos:          {} still to send (after the records, at the next syncs)",
            report.photos_waiting
        );
    }
    for r in &report.photos_refused {
        println!("Refused:         {}: {}", r.doc, r.reason);
    }
}

fn init(
    paths: &Paths,
    upt: &str,
    hub: &str,
    token: &str,
    secret_file: Option<&std::path::Path>,
    ca_file: Option<&std::path::Path>,
    insecure_http: bool,
) -> Result<(), AgentError> {
    validate_upt_code(upt).map_err(|e| AgentError::Usage(e.to_string()))?;
    if !(hub.starts_with("http://") || hub.starts_with("https://")) {
        return Err(AgentError::Usage(format!(
            "--hub '{hub}' must be a URL starting with https:// (or http:// on a private network)"
        )));
    }
    if let Ok(existing) = AgentConfig::load(paths) {
        return Err(crate::config::ConfigError::AlreadyInitialised {
            path: paths.config(),
            upt: existing.upt,
        }
        .into());
    }
    std::fs::create_dir_all(paths.inbox())
        .map_err(|e| AgentError::Io(format!("{}: {e}", paths.dir.display())))?;
    let ca_file = match ca_file {
        Some(file) => {
            crate::client::read_ca(file).map_err(AgentError::Usage)?;
            Some(std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf()))
        }
        None => None,
    };
    let config = AgentConfig {
        upt: upt.to_string(),
        hub: hub.trim_end_matches('/').to_string(),
        token: token.trim().to_string(),
        peer_id: karya_shared::model::new_id(),
        ca_file,
        insecure_http,
        timing: Timing::default(),
        photo_upload_kbps: None,
        console: Default::default(),
    };
    if let Some(warning) = config.plain_http_warning() {
        eprintln!("{warning}");
    }
    let secret = match secret_file {
        Some(file) => Some(
            std::fs::read_to_string(file)
                .map_err(|e| AgentError::Usage(format!("cannot read {}: {e}", file.display())))?,
        ),
        None => None,
    };
    let store = service::open_store(paths)?;
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

/// Runs a command.
/// Text from the hub as a terminal may show it: control characters (escape sequences that
/// could recolour, retitle or rewrite the operator's terminal) are shown escaped.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `migrate --check`: what starting this version would migrate in the agent's database,
/// without changing it.
fn migrate_check(paths: &Paths, json: bool) -> Result<(), AgentError> {
    let db = paths.db();
    if !db.exists() {
        return Err(AgentError::Usage(format!(
            "there is no agent database at {}; check --data-dir (or KARYA_DATA_DIR)",
            db.display()
        )));
    }
    let states = karya_shared::store::sqlite::inspect(&db, crate::identity::SCHEMA)?;
    if json {
        print_json(&states);
    } else {
        println!("{}:", db.display());
        for s in &states {
            if s.too_new() {
                println!(
                    "  {} schema {}: NEWER than this build knows ({}); use the newer karya-agent",
                    s.name, s.found, s.known
                );
            } else if s.pending.is_empty() {
                println!("  {} schema {}: current, nothing to do", s.name, s.found);
            } else {
                println!(
                    "  {} schema {} -> {}: the next start applies:",
                    s.name, s.found, s.known
                );
                for p in &s.pending {
                    println!("    {p}");
                }
            }
        }
    }
    match states.iter().find(|s| s.too_new()) {
        Some(s) => Err(AgentError::Usage(format!(
            "the database's {} schema ({}) is newer than this karya-agent knows ({}); install the newer karya-agent",
            s.name, s.found, s.known
        ))),
        None => Ok(()),
    }
}

/// Asks the hub whether it takes the token, before `init` writes anything: a refused token
/// stops init with the fix; an unreachable hub is a warning (init goes on, offline).
async fn check_hub(
    upt: &str,
    hub: &str,
    token: &str,
    ca_file: Option<&std::path::Path>,
) -> Result<(), AgentError> {
    if !(hub.starts_with("http://") || hub.starts_with("https://")) {
        return Ok(()); // init says what is wrong with the URL
    }
    let ca = match ca_file {
        Some(file) => Some(crate::client::read_ca(file).map_err(AgentError::Usage)?),
        None => None,
    };
    let client = crate::client::HubClient::with_ca(
        hub.trim_end_matches('/'),
        token.trim(),
        std::time::Duration::from_secs(10),
        ca,
    );
    match client.check_token().await {
        Ok(()) => {
            eprintln!("the hub at {hub} accepts this token");
            Ok(())
        }
        Err(crate::client::SyncError::Unauthorized { detail }) => Err(AgentError::Usage(format!(
            "the hub at {hub} refused the token ({detail}); nothing was set up. Check the token HQ gave for {upt} (HQ can issue a new one: karya-hub upt token {upt}), or run init with --no-check to set up anyway"
        ))),
        Err(e) => {
            eprintln!(
                "PERINGATAN / WARNING: the token could not be checked now ({e}); init goes on, and the service syncs when the hub is reachable"
            );
            Ok(())
        }
    }
}

pub async fn run(cli: Cli) -> Result<(), AgentError> {
    let paths = Paths::new(&cli.data_dir);
    let json = cli.json;
    if let Command::Init {
        upt,
        hub,
        token,
        pseudonym_secret_file,
        ca_file,
        insecure_http,
        no_check,
    } = &cli.command
    {
        if !*no_check {
            check_hub(upt, hub, token, ca_file.as_deref()).await?;
        }
        init(
            &paths,
            upt,
            hub,
            token,
            pseudonym_secret_file.as_deref(),
            ca_file.as_deref(),
            *insecure_http,
        )?;
        if json {
            print_json(&serde_json::json!({ "upt": upt, "data_dir": paths.dir }));
        } else {
            println!(
                "initialised {} for UPT {upt}; start the service with: karya-agent run",
                paths.dir.display()
            );
        }
        return Ok(());
    }
    if let Command::Migrate { .. } = &cli.command {
        return migrate_check(&paths, json);
    }
    let config = AgentConfig::load(&paths)?;
    let upt = config.upt.clone();
    let doc = DocId::Upt(upt.clone());
    match cli.command {
        Command::Init { .. } | Command::Migrate { .. } => {}
        Command::Run => service::run(paths.clone(), service::shutdown_signal()).await?,
        Command::Sync => sync_command(&paths, json).await?,
        Command::Repair { doc, force } => {
            let id = match doc.as_str() {
                "national" => DocId::National,
                "curation" => DocId::Curation(upt.clone()),
                "upt" => DocId::Upt(upt.clone()),
                other => {
                    return Err(AgentError::Usage(format!(
                        "'{other}' is not a document of this UPT; repair national, curation or upt"
                    )));
                }
            };
            {
                // Not while a sync runs: the service's sync would write the copy back.
                let _lock = service::SyncLock::acquire(&paths).await?;
                let store = service::open_store(&paths)?;
                if matches!(id, DocId::Upt(_)) {
                    let pending = status::pending_changes(&store, &upt)?;
                    if pending > 0 && !force {
                        return Err(AgentError::Usage(format!(
                            "{id} holds {pending} change(s) the hub does not have yet; repairing it loses them. Sync first, or repair with --force"
                        )));
                    }
                }
                store.forget(&id)?;
                eprintln!("{id}: this PC's copy dropped; fetching it again from the hub");
            }
            sync_command(&paths, json).await?;
        }
        Command::Token(TokenCommand::Set { token }) => {
            let token = token.trim().to_string();
            if token.is_empty() || token.chars().any(char::is_whitespace) {
                return Err(AgentError::Usage(
                    "a token is one word without spaces, as HQ gave it (karya_...)".into(),
                ));
            }
            let mut config = AgentConfig::load(&paths)?;
            config.token = token;
            config.save(&paths)?;
            println!("token saved");
            if control::running(&paths).is_some() {
                eprintln!("asking the running service to sync with it now ...");
                sync_command(&paths, json).await?;
            } else {
                println!("the next sync uses it; to try now: karya-agent sync");
            }
        }
        Command::User(cmd) => crate::console::users::command(&paths, cmd)?,
        Command::Secret(SecretCommand::Export { file }) => {
            let store = service::open_store(&paths)?;
            let secret = hex::encode(crate::identity::secret(&store)?);
            crate::config::write_private(&file, &secret)?;
            println!(
                "pseudonym secret written to {} (owner-only); never send it to the hub",
                file.display()
            );
        }
        Command::Status => {
            // The running service knows what its database may not hold (a full disk):
            // ask it first, and read the database when no service answers.
            let report = match service_status(&paths).await {
                Some(report) => report,
                None => status_report(&paths, false)?,
            };
            print_status(&report, json);
        }
        Command::Import {
            file,
            dry_run,
            again,
        } => {
            let mut store = if dry_run {
                service::open_store_to_read(&paths)?
            } else {
                service::open_store(&paths)?
            };
            let report = import::import_file_with(
                &mut store,
                &upt,
                &file,
                import::ImportOptions { dry_run, again },
            )?;
            if json {
                print_json(&report);
            } else if dry_run {
                println!(
                    "{}: all {} {:?} row(s) are fine; nothing was written (run again without --dry-run to import)",
                    report.file, report.rows, report.kind
                );
            } else {
                println!(
                    "imported {} {:?} row(s) from {}",
                    report.rows, report.kind, report.file
                );
            }
        }
        Command::Template { kind, file } => {
            let mut store = service::open_store_to_read(&paths)?;
            let training = kind == crate::template::TemplateKind::Pelatihan;
            let names: Vec<String> = records::category_choices(&mut store, training)?
                .into_iter()
                .map(|(slug, name)| if training { slug } else { name })
                .collect();
            crate::template::write(kind, &names, &file)
                .map_err(|e| AgentError::Usage(format!("cannot write {}: {e}", file.display())))?;
            println!(
                "wrote {}; fill in the Data sheet (delete the example row), then: karya-agent import {}",
                file.display(),
                file.display()
            );
        }
        Command::Product(cmd) => {
            let mut store = if matches!(
                cmd,
                ProductCommand::List
                    | ProductCommand::Show { .. }
                    | ProductCommand::Photo(PhotoCommand::List { .. })
            ) {
                service::open_store_to_read(&paths)?
            } else {
                service::open_store(&paths)?
            };
            match cmd {
                ProductCommand::Add(a) => {
                    let p = records::add_product(
                        &mut store,
                        &upt,
                        records::NewProduct {
                            name: a.name,
                            category: a.category,
                            price_idr: a.price,
                            unit: a.unit,
                            stock: a.stock,
                            workshop: a.workshop,
                            description: a.description,
                            nominated: a.nominate,
                            certifications: a.certs,
                        },
                    )?;
                    if json {
                        print_json(&p)
                    } else {
                        println!("{}", p.id)
                    }
                }
                ProductCommand::Edit(e) => {
                    let patch = ProductPatch {
                        name: e.name,
                        category: e.category,
                        description: e.description,
                        price_idr: e.price,
                        unit: e.unit,
                        workshop: e.workshop,
                        certifications: (!e.certs.is_empty()).then_some(e.certs),
                        photos: None,
                        nominated: e.nominate,
                    };
                    let id = records::edit_product(&mut store, &upt, &e.id, &patch)?;
                    if json {
                        print_json(&serde_json::json!({ "id": id }))
                    } else {
                        println!("{id}")
                    }
                }
                ProductCommand::Rm { id } => {
                    let id = records::remove_product(&mut store, &upt, &id)?;
                    if json {
                        print_json(&serde_json::json!({ "id": id, "deleted": true }))
                    } else {
                        println!("{id} removed")
                    }
                }
                ProductCommand::List => {
                    let rows = views::products(
                        &store.conn(),
                        &views::ProductFilter {
                            upt: Some(upt.clone()),
                            ..Default::default()
                        },
                    )?;
                    if json {
                        print_json(&rows);
                    } else {
                        println!(
                            "{:<12} {:<32} {:<16} {:>12} {:>7} {:<10}",
                            "ID", "NAME", "CATEGORY", "PRICE (Rp)", "STOCK", "CURATION"
                        );
                        for p in rows {
                            let cur = p
                                .curation
                                .as_ref()
                                .map(|c| c.status.as_str())
                                .unwrap_or("-");
                            let flag = if p.conflicts.is_empty() {
                                ""
                            } else {
                                " (conflict)"
                            };
                            println!(
                                "{:<12} {:<32} {:<16} {:>12} {:>7} {cur}{flag}",
                                &p.id[..12.min(p.id.len())],
                                p.name,
                                p.category,
                                p.price_idr,
                                p.stock
                            );
                        }
                    }
                }
                ProductCommand::Photo(PhotoCommand::Add { id, files, caption }) => {
                    let photos =
                        records::add_photos(&mut store, &paths.dir, &upt, &id, &files, &caption)?;
                    if json {
                        print_json(&photos);
                    } else {
                        for p in &photos {
                            println!(
                                "{}  {}x{} px, {}  (thumbnail {})",
                                p.hash,
                                p.width,
                                p.height,
                                kb(p.size),
                                kb(p.thumb_size)
                            );
                        }
                    }
                }
                ProductCommand::Photo(PhotoCommand::Rm { id, hash }) => {
                    let gone = records::remove_photo(&mut store, &upt, &id, &hash)?;
                    if json {
                        print_json(&gone);
                    } else {
                        println!("{} removed", gone.hash);
                    }
                }
                ProductCommand::Photo(PhotoCommand::List { id }) => {
                    let id = records::resolve_product(&store, &upt, &id)?;
                    let row = views::product(&store.conn(), &id)?
                        .ok_or_else(|| AgentError::Usage(format!("product {id} not found")))?;
                    if json {
                        print_json(&row.photos);
                    } else {
                        for (i, p) in row.photos.iter().enumerate() {
                            println!(
                                "{}. {}  {}x{} px, {}{}",
                                i + 1,
                                p.hash,
                                p.width,
                                p.height,
                                kb(p.size),
                                if p.caption.is_empty() {
                                    String::new()
                                } else {
                                    format!("  \"{}\"", printable(&p.caption))
                                }
                            );
                        }
                        if row.photos.is_empty() {
                            println!(
                                "no photos; add one with: karya-agent product photo add {id} FILE"
                            );
                        }
                    }
                }
                ProductCommand::Show { id } => {
                    let id = records::resolve_product(&store, &upt, &id)?;
                    let row = views::product(&store.conn(), &id)?
                        .ok_or_else(|| AgentError::Usage(format!("product {id} not found")))?;
                    if json {
                        print_json(&row);
                    } else {
                        println!("{}  {}", row.id, row.name);
                        println!(
                            "  category {}, price Rp{}, unit {}, stock {}, workshop {}",
                            row.category, row.price_idr, row.unit, row.stock, row.workshop
                        );
                        println!(
                            "  nominated: {}{}",
                            if row.nominated { "yes" } else { "no" },
                            if row.deleted { ", REMOVED" } else { "" }
                        );
                        if !row.photos.is_empty() {
                            println!("  photos: {}", row.photos.len());
                        }
                        for c in &row.certifications {
                            println!(
                                "  certification: {} {}{}",
                                c.kind,
                                c.number,
                                c.valid_until
                                    .map(|d| format!(", valid until {}", iso(d)))
                                    .unwrap_or_default()
                            );
                        }
                        match &row.curation {
                            Some(c) => println!(
                                "  HQ curation: {} by {} at {}{}",
                                c.status,
                                printable(&c.decided_by),
                                karya_shared::localtime::format(
                                    &c.decided_at,
                                    karya_shared::localtime::Zone::from_env()
                                ),
                                if c.note.is_empty() {
                                    String::new()
                                } else {
                                    format!(" — {}", printable(&c.note))
                                }
                            ),
                            None => println!("  HQ curation: none yet"),
                        }
                        for (field, values) in &row.conflicts {
                            let vals: Vec<String> = values.iter().map(|v| v.to_string()).collect();
                            println!(
                                "  CONFLICT on {field}: kept {}, also set concurrently: {}",
                                vals[0],
                                vals[1..].join(", ")
                            );
                        }
                    }
                }
            }
        }
        Command::Stock(StockCommand::Add { id, n }) => {
            let mut store = service::open_store(&paths)?;
            let (id, stock) = records::add_stock(&mut store, &upt, &id, n)?;
            if json {
                print_json(&serde_json::json!({ "id": id, "stock": stock }))
            } else {
                println!("{id}: stock now {stock}")
            }
        }
        Command::Sale(SaleCommand::Add {
            id,
            qty,
            revenue,
            date,
            channel,
        }) => {
            let mut store = service::open_store(&paths)?;
            let product = records::resolve_product(&store, &upt, &id)?;
            let sale = records::new_sale(product, qty, revenue, date, channel);
            records::add_sales(&mut store, &upt, std::slice::from_ref(&sale), &[])?;
            if json {
                print_json(&sale)
            } else {
                println!("{}", sale.id)
            }
        }
        Command::Training(cmd) => {
            let mut store = if matches!(cmd, TrainingCommand::List | TrainingCommand::Show { .. }) {
                service::open_store_to_read(&paths)?
            } else {
                service::open_store(&paths)?
            };
            match cmd {
                TrainingCommand::Add {
                    program,
                    category,
                    start,
                    end,
                    hours,
                    partner,
                    instructor,
                    capacity,
                    scheme,
                } => {
                    let t = records::NewTraining {
                        program,
                        category,
                        start,
                        end,
                        hours,
                        partner,
                        instructor,
                        capacity,
                        scheme,
                    }
                    .into_training();
                    records::add_trainings(&mut store, &upt, std::slice::from_ref(&t), &[])?;
                    if json {
                        print_json(&t)
                    } else {
                        println!("{}", t.id)
                    }
                }
                TrainingCommand::Enroll { id, reg_no, name } => {
                    let pseudonym = records::enroll(&mut store, &upt, &id, &reg_no, &name)?;
                    if json {
                        print_json(&serde_json::json!({ "pseudonym": pseudonym }))
                    } else {
                        println!("enrolled (pseudonym {})", &pseudonym[..16])
                    }
                }
                TrainingCommand::Complete {
                    id,
                    reg_no,
                    certificate,
                } => {
                    let pseudonym = records::complete(&mut store, &upt, &id, &reg_no, certificate)?;
                    if json {
                        print_json(
                            &serde_json::json!({ "pseudonym": pseudonym, "status": "completed" }),
                        )
                    } else {
                        println!("completed (pseudonym {})", &pseudonym[..16])
                    }
                }
                TrainingCommand::List => {
                    let rows = views::trainings(&store.conn(), Some(&upt), None)?;
                    if json {
                        print_json(&rows);
                    } else {
                        println!(
                            "{:<12} {:<30} {:<12} {:<10} {:<10} {:>6} {:>6}",
                            "ID", "PROGRAM", "CATEGORY", "START", "END", "PEOPLE", "DONE"
                        );
                        for t in rows {
                            println!(
                                "{:<12} {:<30} {:<12} {:<10} {:<10} {:>6} {:>6}",
                                &t.id[..12.min(t.id.len())],
                                t.program,
                                t.category,
                                t.start_date,
                                t.end_date,
                                t.participants,
                                t.completed
                            );
                        }
                    }
                }
                TrainingCommand::Show { id } => {
                    let id = records::resolve_training(&store, &upt, &id)?;
                    let training = store
                        .with_doc(&doc, |d| schema::read_training(d, &id))?
                        .map(|(t, _)| t);
                    let participants = views::participants(&store.conn(), &id)?;
                    if json {
                        // Local view: names come from the local identity table and are shown
                        // on this machine only.
                        let people: Vec<serde_json::Value> = participants
                            .iter()
                            .map(|p| {
                                let who = crate::identity::lookup(&store, &p.pseudonym).ok().flatten();
                                serde_json::json!({ "participant": p, "reg_no": who.as_ref().map(|w| &w.0), "name": who.as_ref().map(|w| &w.1) })
                            })
                            .collect();
                        print_json(
                            &serde_json::json!({ "training": training, "participants": people }),
                        );
                    } else if let Some(t) = training {
                        println!(
                            "{}  {} ({}), {} to {}, {} h, partner {}",
                            t.id,
                            t.program,
                            t.category,
                            t.start_date,
                            t.end_date,
                            t.hours,
                            t.partner
                        );
                        for p in participants {
                            let who = crate::identity::lookup(&store, &p.pseudonym)?
                                .map(|(reg, name)| format!("{name} ({reg})"))
                                .unwrap_or_else(|| format!("pseudonym {}", &p.pseudonym[..16]));
                            println!(
                                "  {who}: {} — {} h{}",
                                p.status,
                                p.hours_attended,
                                if p.certificate.is_empty() {
                                    String::new()
                                } else {
                                    format!(", certificate {}", p.certificate)
                                }
                            );
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_from_the_hub_cannot_drive_the_terminal() {
        let note = "Bagus\u{1b}]0;pwned\u{7}\u{1b}[2J lanjut";
        let shown = super::printable(note);
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
            "{shown}"
        );
        assert!(
            shown.starts_with("Bagus\\u{1b}]0;pwned") && shown.ends_with(" lanjut"),
            "{shown}"
        );
        assert_eq!(
            super::printable("Layak pameran — Rp275.000"),
            "Layak pameran — Rp275.000"
        );
    }
}
