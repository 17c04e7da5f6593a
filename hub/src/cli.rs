//! The `karya-hub` command line: the server and the admin's commands. The admin commands
//! work directly on the database file, also while the server runs.

use crate::auth::Role;
use crate::config::{self, Config};
use crate::db::{Create, HubDb};
use clap::{Parser, Subcommand};
use karya_shared::model::UptInfo;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "karya-hub",
    version,
    about = "karya headquarters hub: merges every UPT's replica and serves the national view"
)]
pub struct Cli {
    /// TOML configuration file (see `karya-hub config example`).
    #[arg(long, global = true, env = "KARYA_CONFIG")]
    pub config: Option<PathBuf>,
    /// The hub database (default ./karya-hub.db).
    #[arg(long, global = true)]
    pub db: Option<PathBuf>,
    /// Print data as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Create the database if it is not there (a new hub). Without it, a missing
        /// database is an error: a hub started from the wrong folder must not silently
        /// serve an empty country.
        #[arg(long)]
        create: bool,
    },
    /// Register UPTs and their agent tokens.
    #[command(subcommand)]
    Upt(UptCommand),
    /// Issue, list and revoke curator, admin and viewer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The audit: every change the hub stored (from an agent or made at the hub), oldest
    /// first, with its document, UPT, hash, origin, token and time.
    Audit {
        /// Only the changes to this UPT's documents (its own, and curators' decisions on it).
        #[arg(long)]
        upt: Option<String>,
        /// From this date (2026-11-01: midnight in the hub's time zone) or time
        /// (2026-11-01T08:00:00+07:00).
        #[arg(long)]
        since: Option<String>,
        /// At most this many entries.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// A consistent copy of the hub's database while it runs (to restore: stop the hub, put
    /// the copy in the database's place, start it).
    Backup {
        /// The file to write; it must not exist yet.
        file: std::path::PathBuf,
    },
    /// Database schema upgrades. `--check` says what starting this version would migrate,
    /// without changing anything.
    ///
    /// `--from FILE --to postgres://…` moves a SQLite hub into an empty PostgreSQL database
    /// (stop the hub first; agents notice nothing).
    #[command(group(clap::ArgGroup::new("what").required(true).args(["check", "from"])))]
    Migrate {
        #[arg(long, conflicts_with_all = ["from", "to"])]
        check: bool,
        /// The SQLite hub database to move.
        #[arg(long, requires = "to")]
        from: Option<std::path::PathBuf>,
        /// The empty PostgreSQL database to move it into (postgres://USER:PASSWORD@HOST/DB).
        #[arg(long, requires = "from")]
        to: Option<String>,
    },
    /// Product photos kept by the hub.
    #[command(subcommand)]
    Photos(PhotosCommand),
    /// The public catalogue, as a static website for any web server.
    #[command(subcommand)]
    Catalogue(CatalogueCommand),
    /// The hub's own key, kept off the machine for a rebuild (docs/DEPLOYMENT.md, "HQ lost").
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Rebuild a lost hub from the UPTs' agents: a new, empty database takes back their
    /// registry, decisions and records as the agents sync.
    #[command(subcommand)]
    Rebuild(RebuildCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write what a rebuilt hub needs to trust its own past (the key it vouches for the
    /// registry and the decisions with) to FILE, readable by its owner only; keep it offline.
    Export { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum RebuildCommand {
    /// Make a new, empty hub database (--db) that takes the agents' registry and decisions
    /// back with the key exported from the lost hub; then start the hub (`serve`) where the
    /// agents reach it.
    Start {
        /// The file `karya-hub keys export` wrote on the lost hub. Without it the new hub
        /// takes the registry the agents agree on once HQ adopts it (`rebuild adopt`), each
        /// UPT's own records, and no decision.
        #[arg(long)]
        keys: Option<PathBuf>,
    },
    /// Without the lost hub's key: take the registry whose fingerprint the agents of most
    /// UPTs hold (see `rebuild status`), once HQ has confirmed it with a UPT by phone.
    Adopt {
        /// The fingerprint, as `rebuild status` and `karya-agent status` show it.
        fingerprint: String,
        /// Adopt it though half or fewer of the UPTs heard from hold it (UPTs you phoned
        /// read it out, and made-up installations keep it under half).
        #[arg(long)]
        few: bool,
    },
    /// What has come back (UPTs, records, decisions, photos) and what cannot.
    Status,
    /// Leave rebuild mode: from now on only agents the registry lists are taken.
    Finish,
}

#[derive(Debug, Subcommand)]
pub enum CatalogueCommand {
    /// Write the approved and featured products to DIR as a static website (HTML, photos,
    /// schema.org JSON-LD, a sitemap); DIR is replaced whole. No stock figures unless
    /// --with-stock, nothing of participants.
    Export {
        dir: std::path::PathBuf,
        /// Where the site will be served from, e.g. https://katalog.ditjenpas.go.id (the
        /// sitemap and JSON-LD need absolute addresses).
        #[arg(long)]
        base_url: String,
        /// Show each product's stock.
        #[arg(long)]
        with_stock: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PhotosCommand {
    /// Remove now the photos no product names any more and older than blob_grace_hours (the
    /// running hub does this every hour).
    Collect,
}

#[derive(Debug, Subcommand)]
pub enum UptCommand {
    /// Register a UPT and print its agent token.
    Add {
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long = "type")]
        kind: karya_shared::model::UptType,
        #[arg(long)]
        kanwil: String,
        #[command(flatten)]
        contact: ContactArgs,
    },
    /// Set a registered UPT's contact for buyers (the public catalogue's "Cara membeli"):
    /// only the details given change; an empty value ("") clears one.
    Contact {
        code: String,
        #[command(flatten)]
        contact: ContactArgs,
    },
    /// List registered UPTs with their last sync.
    List,
    /// Register every UPT of a CSV file (code,name,type,kanwil) and print their tokens, all
    /// or nothing.
    Import {
        file: PathBuf,
        /// Change the details of UPTs already registered (no new token for them) instead of
        /// refusing the file.
        #[arg(long)]
        update: bool,
    },
    /// Issue a new agent token for a registered UPT (after a revocation or a lost token).
    Token { code: String },
    /// The UPT's agents' public keys in the registry (a rebuilt hub knows them by these);
    /// --clear revokes them all (each installation offers its key again at its next sync
    /// with a valid token).
    Keys {
        code: String,
        #[arg(long)]
        clear: bool,
    },
}

/// A UPT's contact for buyers, as the public catalogue shows it.
#[derive(Debug, clap::Args)]
pub struct ContactArgs {
    /// Where buyers come: the UPT's showroom or office ("Jl. Raya Pati-Kudus Km 3, Pati").
    #[arg(long)]
    address: Option<String>,
    /// A telephone or WhatsApp number for buyers ("0295 381234").
    #[arg(long)]
    phone: Option<String>,
    #[arg(long)]
    email: Option<String>,
}

impl ContactArgs {
    fn apply(&self, upt: &mut UptInfo) {
        if let Some(a) = &self.address {
            upt.address = a.trim().into();
        }
        if let Some(p) = &self.phone {
            upt.phone = p.trim().into();
        }
        if let Some(e) = &self.email {
            upt.email = e.trim().into();
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token and print it (shown once).
    Issue {
        /// `verifier` is a curator token of one Kanwil (`--kanwil` needed): it verifies
        /// its UPTs' nominated products or sends them back with a note.
        #[arg(long, value_parser = ["curator", "admin", "viewer", "verifier"])]
        role: String,
        #[arg(long)]
        name: String,
        /// Limit a viewer or curator token to one Kanwil's UPTs (as registered with
        /// `upt add --kanwil`): it sees and exports only those, and a curator of a Kanwil
        /// is its verifier (HQ's curators have no Kanwil).
        #[arg(long)]
        kanwil: Option<String>,
    },
    List,
    /// Revoke a token by id; it stops working at its next request.
    Revoke {
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print an example configuration file.
    Example,
}

impl Cli {
    /// The settings: defaults, the file, `KARYA_*`, then the flags. The database must be
    /// named somewhere (`--db`, `db =` in the file, `KARYA_DB`): a hub database is never
    /// looked for in whatever folder a command happens to run in. A relative `--db` is the
    /// path as typed in this shell, made absolute at once.
    pub fn resolve_config(&self) -> anyhow::Result<Config> {
        let mut config = Config::load(self.config.as_deref())?;
        if let Some(db) = &self.db {
            config.db = if karya_shared::store::is_postgres_url(&db.to_string_lossy()) {
                db.clone()
            } else {
                std::path::absolute(db)?
            };
        } else if self.config.is_none() && std::env::var_os("KARYA_DB").is_none() {
            anyhow::bail!(
                "which hub database? Pass --db PATH, or --config FILE (KARYA_CONFIG) with db = \"/var/lib/karya-hub/karya-hub.db\", or set KARYA_DB to an absolute path"
            );
        }
        Ok(config)
    }
}

/// The serving hub's state. A database server that cannot be reached (PostgreSQL down or
/// restarting when the machine boots) is waited for, with a line in the log every try, rather
/// than ending the process: the hub starts serving once it answers. Anything else (a wrong
/// address or password, a missing file) ends the start at once, with its reason.
fn open_serving(config: &Config, create: Create) -> anyhow::Result<crate::AppState> {
    let mut wait = std::time::Duration::from_secs(1);
    loop {
        match crate::AppState::new(config.clone(), create) {
            Err(crate::db::OpenError::Store(karya_shared::StoreError::Unreachable(why))) => {
                tracing::error!(
                    problem = %why,
                    retry_in_secs = wait.as_secs(),
                    "the database cannot be reached; the hub starts once it answers"
                );
                std::thread::sleep(wait);
                wait = (wait * 2).min(std::time::Duration::from_secs(15));
            }
            other => return Ok(other?),
        }
    }
}

/// An existing hub database opened for a command that only reads it (read-only on SQLite).
fn open_to_read(config: &Config) -> anyhow::Result<HubDb> {
    Ok(HubDb::open_read_only(config)?)
}

/// An existing hub database opened for a command that writes it, with the same store code
/// as `serve` (WAL, busy timeout, migrations); a missing database is refused, naming the path.
fn open_to_write(config: &Config) -> anyhow::Result<HubDb> {
    Ok(HubDb::open(config, Create::No)?)
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// The largest UPT file `upt import` reads (627 UPTs take about 60 KB).
const MAX_IMPORT_BYTES: u64 = 4 * 1024 * 1024;

/// Which contact columns (address, phone, email) a UPT file has.
struct ContactColumns([bool; 3]);

impl ContactColumns {
    /// `upt` with the contact details its file has no column for taken from `before`.
    fn keep(&self, upt: &mut UptInfo, before: &UptInfo) {
        let [address, phone, email] = self.0;
        if !address {
            upt.address = before.address.clone();
        }
        if !phone {
            upt.phone = before.phone.clone();
        }
        if !email {
            upt.email = before.email.clone();
        }
    }
}

fn read_upts(file: &std::path::Path) -> anyhow::Result<(Vec<UptInfo>, ContactColumns)> {
    let size = std::fs::metadata(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?
        .len();
    anyhow::ensure!(
        size <= MAX_IMPORT_BYTES,
        "{} is {size} bytes; a UPT file may have at most {MAX_IMPORT_BYTES} bytes",
        file.display()
    );
    let mut reader = csv::Reader::from_path(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let headers = reader
        .headers()
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?
        .clone();
    let columns = ContactColumns(
        ["address", "phone", "email"].map(|col| headers.iter().any(|h| h.trim() == col)),
    );
    let mut upts = Vec::new();
    for (i, row) in reader.deserialize::<UptInfo>().enumerate() {
        let upt = row.map_err(|e| {
            anyhow::anyhow!(
                "{} row {}: {e}; columns are code,name,type,kanwil (and address,phone,email if you have them); nothing was registered",
                file.display(),
                i + 2
            )
        })?;
        upt.validate().map_err(|e| {
            anyhow::anyhow!(
                "{} row {} ({}): {e}; nothing was registered",
                file.display(),
                i + 2,
                upt.code
            )
        })?;
        upts.push(upt);
    }
    Ok((upts, columns))
}

/// Prints what an upgrade would do to each schema of a database; an error when the database
/// is newer than this build (the same check refuses to start on it).
pub fn print_schema_check(
    db: &std::path::Path,
    states: &[karya_shared::store::sqlite::SchemaState],
    json: bool,
) -> anyhow::Result<()> {
    if json {
        print_json(&states)?;
    } else {
        println!("{}:", db.display());
        for s in states {
            if s.too_new() {
                println!(
                    "  {} schema {}: NEWER than this build knows ({}); use the newer karya",
                    s.name, s.found, s.known
                );
            } else if s.pending.is_empty() {
                println!("  {} schema {}: current, nothing to do", s.name, s.found);
            } else {
                println!(
                    "  {} schema {} -> {}: starting this version applies, in one transaction each:",
                    s.name, s.found, s.known
                );
                for p in &s.pending {
                    println!("    {p}");
                }
            }
        }
    }
    if let Some(s) = states.iter().find(|s| s.too_new()) {
        anyhow::bail!(
            "the database's {} schema ({}) is newer than this build of karya knows ({}); upgrade karya instead",
            s.name,
            s.found,
            s.known
        );
    }
    Ok(())
}

use karya_shared::signal::shutdown_signal;

/// Runs a command; `serve` runs until SIGTERM or SIGINT.
pub fn run(cli: &Cli) -> anyhow::Result<()> {
    if let Command::Config(ConfigCommand::Example) = &cli.command {
        print!("{}", config::EXAMPLE);
        return Ok(());
    }
    let mut config = cli.resolve_config()?;
    match &cli.command {
        Command::Config(_) => return Ok(()),
        Command::Migrate {
            from: Some(from),
            to: Some(to),
            ..
        } => {
            let moved = crate::migrate::sqlite_to_postgres(from, to)?;
            if cli.json {
                print_json(&moved)?;
            } else {
                println!(
                    "{} -> PostgreSQL: copied, in one transaction:",
                    from.display()
                );
                for (table, n) in &moved.tables {
                    println!("  {table}: {n}");
                }
                // The photos are where the SQLite hub kept them: beside the file moved, unless
                // the settings name their folder.
                let blobs = match &config.blobs_dir {
                    Some(dir) => dir.clone(),
                    None => std::path::absolute(from.with_extension("blobs"))?,
                };
                println!(
                    "Start karya-hub with --db (or db = / KARYA_DB) set to the PostgreSQL address, and blobs_dir set to the photos' folder ({}).",
                    blobs.display()
                );
            }
            return Ok(());
        }
        Command::Migrate { .. } => {
            anyhow::ensure!(
                !config.is_postgres(),
                "migrate --check reads a SQLite hub database; a hub on PostgreSQL applies its schema upgrades when it starts, in one transaction"
            );
            anyhow::ensure!(
                config.db.exists(),
                "there is no hub database at {}; pass --db with the right path",
                config.db.display()
            );
            let states = karya_shared::store::sqlite::inspect(&config.db, crate::db::SCHEMA)?;
            return print_schema_check(&config.db, &states, cli.json);
        }
        Command::Catalogue(CatalogueCommand::Export {
            dir,
            base_url,
            with_stock,
        }) => {
            let db = open_to_read(&config)?;
            let blobs = crate::blobs::BlobStore::open(&config.blobs_path())?;
            let done = crate::catalogue::export(
                &db,
                &blobs,
                dir,
                &crate::catalogue::Options {
                    base_url: base_url.clone(),
                    with_stock: *with_stock,
                },
            )?;
            if cli.json {
                print_json(&done)?;
            } else {
                println!(
                    "{}: {} products, {} photos{}",
                    dir.display(),
                    done.products,
                    done.photos,
                    if done.photos_missing > 0 {
                        format!(
                            " ({} photos not at the hub yet, left out)",
                            done.photos_missing
                        )
                    } else {
                        String::new()
                    }
                );
            }
            return Ok(());
        }
        Command::Backup { file } => {
            anyhow::ensure!(
                !config.is_postgres(),
                "the hub's database is on PostgreSQL: back it up with pg_dump or the server's own backups (docs/DEPLOYMENT.md), not with karya-hub backup"
            );
            anyhow::ensure!(
                config.db.exists(),
                "there is no hub database at {}; pass --db with the right path",
                config.db.display()
            );
            anyhow::ensure!(
                !file.exists(),
                "{} exists already; give a new file name (a backup never overwrites)",
                file.display()
            );
            let folder = crate::storage::folder_of(file);
            if let Some(why) = crate::storage::others_may_write(folder) {
                anyhow::bail!(
                    "{why}; a backup holds the hub's vouch key, token hashes and sessions: write it to a folder only the hub's user may write (chmod o-w, or e.g. /var/backups/karya-hub made with mode 0700)"
                );
            }
            // VACUUM INTO needs a connection that may write (it never writes the hub's file):
            // the serving hub's own store code, beside it.
            let db = open_to_write(&config)?;
            db.backup(file).map_err(|e| {
                anyhow::anyhow!(
                    "the backup to {} failed ({e}); nothing of the hub changed. Check that the folder exists and has room",
                    file.display()
                )
            })?;
            let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
            if cli.json {
                print_json(&serde_json::json!({ "file": file, "bytes": size }))?;
            } else {
                println!(
                    "backup written to {} ({:.1} MB); to restore it: stop the hub, copy it over {}, start the hub",
                    file.display(),
                    size as f64 / 1e6,
                    config.db.display()
                );
            }
            return Ok(());
        }
        Command::Photos(PhotosCommand::Collect) => {
            let state = crate::AppState::new(config.clone(), Create::No)?;
            let (files, bytes) = state.collect_blobs()?;
            if cli.json {
                print_json(&serde_json::json!({ "files": files, "bytes": bytes }))?;
            } else {
                println!(
                    "{files} photo file(s) no product names, older than {} h, removed ({:.1} MB) from {}",
                    config.blob_grace_hours,
                    bytes as f64 / 1e6,
                    config.blobs_path().display()
                );
            }
            return Ok(());
        }
        Command::Serve { listen, create } => {
            if let Some(addr) = listen {
                config.listen = *addr;
            }
            let create = if *create {
                Create::IfMissing
            } else {
                Create::No
            };
            let state = std::sync::Arc::new(open_serving(&config, create)?);
            let runtime = tokio::runtime::Runtime::new()?;
            return runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(config.listen)
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "cannot listen on {}: {e}; is another hub running there?",
                            config.listen
                        )
                    })?;
                crate::serve_with(state, listener, shutdown_signal()).await
            });
        }
        _ => {}
    }
    match &cli.command {
        Command::Rebuild(RebuildCommand::Start { keys }) => {
            let key = keys.as_deref().map(crate::rebuild::read_keys).transpose()?;
            anyhow::ensure!(
                config.is_postgres() || !config.db.exists(),
                "{} exists: a rebuild starts on a new, empty database; pass another --db",
                config.db.display()
            );
            let db = HubDb::open_for_rebuild(&config, key.as_ref())?;
            drop(db);
            if key.is_some() {
                eprintln!(
                    "{}: a new hub, in rebuild mode, with the lost hub's key. Start it where the agents reach it (karya-hub --db {} serve), watch karya-hub rebuild status, and end with karya-hub rebuild finish",
                    config.db.display(),
                    config.db.display()
                );
            } else {
                eprintln!(
                    "{}: a new hub, in rebuild mode, WITHOUT the lost hub's key. Start it where the agents reach it (karya-hub --db {} serve). It takes nothing until you adopt the registry the agents agree on: karya-hub rebuild status lists what they hold; confirm its fingerprint by phone with a UPT (karya-agent status, 'Sidik registri'), then karya-hub rebuild adopt FINGERPRINT. Decisions do not come back without the key",
                    config.db.display(),
                    config.db.display()
                );
            }
            return Ok(());
        }
        Command::Rebuild(RebuildCommand::Status) => {
            let db = open_to_read(&config)?;
            let blobs = crate::blobs::BlobStore::open(&config.blobs_path())?;
            let report = crate::rebuild::report(&db, &blobs)?;
            if cli.json {
                print_json(&report)?;
            } else {
                print!("{}", report.in_words());
            }
            return Ok(());
        }
        Command::Keys(KeysCommand::Export { file }) => {
            let db = open_to_read(&config)?;
            crate::rebuild::write_keys(&db, file)?;
            eprintln!(
                "{}: the hub's key. Keep it offline, away from this machine and its backups; with it, a hub rebuilt after a total loss takes the UPTs' registry and decisions back (docs/DEPLOYMENT.md)",
                file.display()
            );
            return Ok(());
        }
        _ => {}
    }
    // Only `serve --create` makes a hub database; the commands that only look open it
    // read-only, those that write through the same store code as `serve`.
    let db = match &cli.command {
        Command::Audit { .. }
        | Command::Upt(UptCommand::List)
        | Command::Token(TokenCommand::List) => open_to_read(&config)?,
        _ => open_to_write(&config)?,
    };
    match &cli.command {
        Command::Serve { .. }
        | Command::Config(_)
        | Command::Migrate { .. }
        | Command::Photos(_)
        | Command::Catalogue(_)
        | Command::Keys(_)
        | Command::Rebuild(RebuildCommand::Start { .. } | RebuildCommand::Status)
        | Command::Backup { .. } => {}
        Command::Rebuild(RebuildCommand::Adopt { fingerprint, few }) => {
            let adopted = crate::rebuild::adopt(&db, fingerprint, *few)?;
            eprintln!("{adopted}");
        }
        Command::Rebuild(RebuildCommand::Finish) => {
            anyhow::ensure!(
                db.rebuilding_since()?.is_some(),
                "this hub is not being rebuilt"
            );
            db.finish_rebuild()?;
            eprintln!(
                "rebuild finished: agents are taken only with keys the registry lists (or with tokens)"
            );
        }
        Command::Upt(UptCommand::Keys { code, clear }) => {
            let keys = db
                .agent_keys(code)?
                .ok_or_else(|| anyhow::anyhow!("UPT {code} is not registered"))?;
            if *clear {
                db.clear_agent_keys(code)?;
                eprintln!(
                    "{code}: its agents' keys are revoked; each installation with a valid token offers its key again at its next sync"
                );
            } else if cli.json {
                print_json(&keys.split_whitespace().collect::<Vec<_>>())?;
            } else {
                for k in keys.split_whitespace() {
                    println!("{k}");
                }
            }
        }
        Command::Audit { upt, since, limit } => {
            let query = crate::db::AuditQuery {
                upt: upt.clone(),
                since: since
                    .as_deref()
                    .map(|s| crate::audit::parse_since(s, config.zone()))
                    .transpose()
                    .map_err(anyhow::Error::msg)?,
                after: 0,
                limit: (*limit).max(1),
            };
            let page = db.audit(&query)?;
            if cli.json {
                print_json(&page)?;
            } else {
                println!(
                    "{:<24} {:<22} {:<64} {:<30} TOKEN",
                    "STORED", "DOCUMENT", "CHANGE", "FROM"
                );
                for e in &page.items {
                    let token = match (&e.token_name, e.token.is_empty()) {
                        (_, true) => "(at the hub)".to_string(),
                        (Some(name), false) => format!("{} ({name})", e.token),
                        (None, false) => format!("{} (no longer known)", e.token),
                    };
                    println!(
                        "{:<24} {:<22} {:<64} {:<30} {token}",
                        karya_shared::localtime::format(&e.at, config.zone()),
                        karya_shared::text::printable(&e.doc),
                        e.hash,
                        karya_shared::text::printable(&e.peer)
                    );
                }
                if page.items.is_empty() {
                    eprintln!("no change stored matches");
                } else if page.next.is_some() {
                    eprintln!(
                        "the first {} shown; there are more: raise --limit or give a later --since",
                        page.items.len()
                    );
                }
            }
        }
        Command::Upt(UptCommand::Add {
            code,
            name,
            kind,
            kanwil,
            contact,
        }) => {
            let mut upt = UptInfo::new(code, name, *kind, kanwil);
            contact.apply(&mut upt);
            let token = db
                .register_upts(std::slice::from_ref(&upt), false)?
                .remove(0)
                .1
                .unwrap_or_default();
            if cli.json {
                print_json(&serde_json::json!({ "upt": upt, "token": token }))?;
            } else {
                println!("{token}");
                eprintln!(
                    "UPT {code} registered. Give this token to its operator for: karya-agent init --upt {code} --hub URL --token TOKEN"
                );
            }
        }
        Command::Upt(UptCommand::Import { file, update }) => {
            let (mut upts, columns) = read_upts(file)?;
            if *update {
                let before: HashMap<String, UptInfo> = db
                    .upt_registry()?
                    .into_iter()
                    .map(|u| (u.code.to_string(), u))
                    .collect();
                for u in &mut upts {
                    if let Some(b) = before.get(u.code.as_str()) {
                        columns.keep(u, b);
                    }
                }
            }
            let registered = db.register_upts(&upts, *update)?;
            if cli.json {
                let out: Vec<_> = registered
                    .iter()
                    .map(|(code, token)| serde_json::json!({ "code": code, "token": token }))
                    .collect();
                print_json(&out)?;
            } else {
                for (code, token) in &registered {
                    match token {
                        Some(token) => println!("{code},{token}"),
                        None => eprintln!("{code}: details updated (its token is unchanged)"),
                    }
                }
            }
        }
        Command::Upt(UptCommand::Contact { code, contact }) => {
            let Some(mut upt) = db.upt_registry()?.into_iter().find(|u| u.code == *code) else {
                anyhow::bail!(
                    "UPT {code} is not registered; register it with karya-hub upt add {code} ..."
                );
            };
            contact.apply(&mut upt);
            db.register_upts(std::slice::from_ref(&upt), true)?;
            if cli.json {
                print_json(&upt)?;
            } else {
                eprintln!(
                    "UPT {code}: contact saved (address '{}', phone '{}', email '{}'); the public catalogue shows it from its next export",
                    upt.address, upt.phone, upt.email
                );
            }
        }
        Command::Upt(UptCommand::Token { code }) => {
            if !db.is_registered(code)? {
                anyhow::bail!(
                    "UPT {code} is not registered; register it with karya-hub upt add {code} ..."
                );
            }
            let (_, token) =
                db.issue_token(&Role::Agent { upt: code.clone() }, &format!("agent {code}"))?;
            println!("{token}");
        }
        Command::Upt(UptCommand::List) => {
            let rows = db.upt_rows(config.stale_after_hours)?;
            if cli.json {
                print_json(&rows)?;
            } else {
                println!(
                    "{:<20} {:<8} {:<24} {:<26} {:>8} {:>13}",
                    "CODE", "TYPE", "KANWIL", "LAST SYNC", "PRODUCTS", "TOKEN REFUSED"
                );
                for u in rows {
                    let last = u
                        .last_sync_at
                        .map(|at| karya_shared::localtime::format(&at, config.zone()))
                        .unwrap_or_else(|| "never".into());
                    let refused = match &u.last_token_failure_at {
                        Some(at) => format!(
                            "{} (last {})",
                            u.token_failures,
                            karya_shared::localtime::format(at, config.zone())
                        ),
                        None => "0".into(),
                    };
                    println!(
                        "{:<20} {:<8} {:<24} {:<26} {:>8} {:>13}",
                        u.code, u.kind, u.kanwil, last, u.products, refused
                    );
                }
            }
        }
        Command::Token(TokenCommand::Issue { role, name, kanwil }) => {
            if role == "verifier" && kanwil.is_none() {
                anyhow::bail!(
                    "a verifier verifies one Kanwil's products: add --kanwil NAME (as in upt add --kanwil)"
                );
            }
            let role = match role.as_str() {
                "verifier" => Role::Curator,
                other => Role::parse(other, None).expect("clap checked the role"),
            };
            let (id, token) = match kanwil.as_deref().map(str::trim) {
                None => db.issue_token(&role, name)?,
                Some(_) if role == Role::Admin => anyhow::bail!(
                    "an admin token sees every Kanwil; --kanwil is for viewer and curator tokens"
                ),
                Some(k) => {
                    let known = db.kanwils()?;
                    if !known.iter().any(|x| x == k) {
                        anyhow::bail!(
                            "no UPT is registered in Kanwil '{k}'; the Kanwils are: {} (names as in upt add --kanwil)",
                            known.join(", ")
                        );
                    }
                    db.issue_kanwil_token(&role, name, k)?
                }
            };
            if cli.json {
                print_json(
                    &serde_json::json!({ "id": id, "role": role.name(), "name": name, "token": token }),
                )?;
            } else {
                println!("{token}");
                eprintln!(
                    "token {id} ({}) issued to {name}; it is shown only now",
                    role.name()
                );
            }
        }
        Command::Token(TokenCommand::List) => {
            let tokens = db.tokens()?;
            if cli.json {
                print_json(&tokens)?;
            } else {
                println!(
                    "{:<14} {:<8} {:<28} {:<20} STATUS",
                    "ID", "ROLE", "NAME", "UPT"
                );
                for t in tokens {
                    let status = t
                        .revoked_at
                        .map(|at| {
                            format!(
                                "revoked {}",
                                karya_shared::localtime::format(&at, config.zone())
                            )
                        })
                        .unwrap_or_else(|| "active".into());
                    println!(
                        "{:<14} {:<8} {:<28} {:<20} {status}",
                        t.id,
                        t.role,
                        t.name,
                        t.upt.unwrap_or_default()
                    );
                }
            }
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            if !db.revoke_token(id)? {
                anyhow::bail!("no active token with id {id}; see karya-hub token list");
            }
            println!("token {id} revoked");
        }
    }
    Ok(())
}
