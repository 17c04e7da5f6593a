//! The `karya-agent` command line. Every record command works offline: it writes the local
//! database, and the service (if running) syncs it shortly after.
//!
//! The commands are declared here; what they do lives by area: [`setup`] (init, token,
//! secret, migrate), [`sync`] (sync, status, repair) and [`records`] (products, sales,
//! trainings, import, templates). What they print comes from `karya_shared::text`.

mod records;
mod setup;
mod sync;

use crate::AgentError;
use crate::config::{AgentConfig, Paths};
use clap::{Args, Parser, Subcommand};
use karya_shared::DocId;
use karya_shared::input;
use karya_shared::model::{Certification, SaleChannel};
use serde::Serialize;
use std::path::PathBuf;
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

use karya_shared::text::agent::kb;

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

/// Runs a command.
pub async fn run(cli: Cli) -> Result<(), AgentError> {
    let paths = Paths::new(&cli.data_dir);
    let json = cli.json;
    match cli.command {
        Command::Init {
            upt,
            hub,
            token,
            pseudonym_secret_file,
            ca_file,
            insecure_http,
            no_check,
        } => {
            setup::init_command(
                &paths,
                setup::Init {
                    upt: &upt,
                    hub: &hub,
                    token: &token,
                    secret_file: pseudonym_secret_file.as_deref(),
                    ca_file: ca_file.as_deref(),
                    insecure_http,
                    check: !no_check,
                },
                json,
            )
            .await
        }
        Command::Migrate { .. } => setup::migrate_check(&paths, json),
        command => with_config(&paths, command, json).await,
    }
}

/// Runs a command that needs an initialised data directory.
async fn with_config(paths: &Paths, command: Command, json: bool) -> Result<(), AgentError> {
    let config = AgentConfig::load(paths)?;
    let upt = config.upt.clone();
    match command {
        Command::Init { .. } | Command::Migrate { .. } => {}
        Command::User(cmd) => crate::console::users::command(paths, cmd)?,
        Command::Run => {
            crate::service::run(paths.clone(), crate::service::shutdown_signal()).await?
        }
        Command::Sync => sync::sync_command(paths, json).await?,
        Command::Status => sync::status_command(paths, json).await?,
        Command::Repair { doc, force } => sync::repair(paths, &upt, &doc, force, json).await?,
        Command::Token(TokenCommand::Set { token }) => {
            setup::token_set(paths, &token)?;
            sync::after_token_set(paths, json).await?;
        }
        Command::Secret(SecretCommand::Export { file }) => setup::secret_export(paths, &file)?,
        Command::Import {
            file,
            dry_run,
            again,
        } => records::import(paths, &upt, &file, dry_run, again, json)?,
        Command::Template { kind, file } => records::template(paths, kind, &file)?,
        Command::Product(cmd) => records::product(paths, &upt, cmd, json)?,
        Command::Stock(StockCommand::Add { id, n }) => records::stock(paths, &upt, &id, n, json)?,
        Command::Sale(cmd) => records::sale(paths, &upt, cmd, json)?,
        Command::Training(cmd) => {
            records::training(paths, &upt, &DocId::Upt(upt.clone()), cmd, json)?
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
