//! The `karya-agent` command line. Every record command works offline: it writes the local
//! database, and the service (if running) syncs it shortly after.
//!
//! The commands are declared here; what they do lives by area: [`setup`] (init, token,
//! secret, migrate), [`sync`] (sync, status, repair) and [`records`] (products, sales,
//! trainings, import, templates). What they print comes from `karya_shared::text`.

mod fields;
mod records;
pub mod setup;
mod sync;
mod users;

use crate::AgentError;
use crate::config::{AgentConfig, Paths};
use crate::text::help as h;
use clap::{Args, Parser, Subcommand};
use karya_shared::DocId;
use karya_shared::input;
use karya_shared::model::SaleChannel;
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

fn channel_arg(s: &str) -> Result<SaleChannel, String> {
    input::match_choice("channel", s, &input::choices_of(SaleChannel::NAMES))
        .and_then(|c| c.parse())
        .map_err(|e| e.reason)
}

#[derive(Debug, Parser)]
#[command(name = "karya-agent", version, about = h::about())]
pub struct Cli {
    #[arg(
        long,
        global = true,
        env = "KARYA_DATA_DIR",
        default_value = "./karya-agent-data",
        help = h::data_dir()
    )]
    pub data_dir: PathBuf,
    #[arg(long, global = true, help = h::json())]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

// The help texts come from the catalogue (`crate::text::help`), in the operator's
// language; each says what the command or option is for.
#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(about = h::init())]
    Init {
        #[arg(long, help = h::init_upt())]
        upt: String,
        #[arg(long, required = true, help = h::init_hub())]
        hub: Vec<String>,
        #[arg(long, env = "KARYA_TOKEN", hide_env_values = true, help = h::init_token())]
        token: String,
        #[arg(long, help = h::init_secret())]
        pseudonym_secret_file: Option<PathBuf>,
        #[arg(long, help = h::init_ca())]
        ca_file: Option<PathBuf>,
        #[arg(long, help = h::init_insecure())]
        insecure_http: bool,
        #[arg(long, help = h::init_no_check())]
        no_check: bool,
    },
    #[command(subcommand, about = h::secret())]
    Secret(SecretCommand),
    #[command(subcommand, about = h::token())]
    Token(TokenCommand),
    #[command(subcommand, about = h::user())]
    User(UserCommand),
    #[command(about = h::run())]
    Run,
    #[command(about = h::sync())]
    Sync,
    #[command(about = h::status())]
    Status,
    #[command(about = h::repair(), long_about = h::repair_long())]
    Repair {
        #[arg(help = h::repair_doc())]
        doc: String,
        #[arg(long, help = h::repair_force())]
        force: bool,
    },
    #[command(subcommand, about = h::product())]
    Product(ProductCommand),
    #[command(subcommand, about = h::stock())]
    Stock(StockCommand),
    #[command(subcommand, about = h::sale())]
    Sale(SaleCommand),
    #[command(subcommand, about = h::training())]
    Training(TrainingCommand),
    #[command(about = h::import())]
    Import {
        #[arg(help = h::import_file())]
        file: PathBuf,
        #[arg(long, help = h::import_dry_run())]
        dry_run: bool,
        #[arg(long, help = h::import_again())]
        again: bool,
    },
    #[command(about = h::template(), long_about = h::template_long())]
    Template {
        #[arg(help = h::template_kind())]
        kind: crate::template::TemplateKind,
        #[arg(help = h::template_file())]
        file: PathBuf,
    },
    #[command(about = h::migrate(), long_about = h::migrate_long())]
    Migrate {
        #[arg(long, required = true, help = h::migrate_check())]
        check: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    #[command(about = h::token_set())]
    Set {
        #[arg(env = "KARYA_TOKEN", hide_env_values = true, help = h::init_token())]
        token: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    #[command(about = h::user_add())]
    Add {
        name: String,
        #[arg(long, help = h::user_admin_flag())]
        admin: bool,
    },
    #[command(about = h::user_admin())]
    Admin {
        name: String,
        #[arg(long, help = h::user_admin_off())]
        off: bool,
    },
    #[command(about = h::user_list())]
    List,
    #[command(about = h::user_rm())]
    Rm { name: String },
    #[command(about = h::user_passwd())]
    Passwd { name: String },
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    #[command(about = h::secret_export())]
    Export { file: PathBuf },
    #[command(about = h::secret_import())]
    Import { file: PathBuf },
    #[command(about = h::secret_new())]
    New,
}

#[derive(Debug, Subcommand)]
pub enum ProductCommand {
    #[command(about = h::product_add())]
    Add(ProductAdd),
    #[command(about = h::product_edit())]
    Edit(ProductEdit),
    #[command(about = h::product_rm())]
    Rm {
        #[arg(help = h::id())]
        id: String,
    },
    #[command(about = h::product_list())]
    List,
    #[command(about = h::product_show())]
    Show {
        #[arg(help = h::id())]
        id: String,
    },
    #[command(subcommand, about = h::product_photo())]
    Photo(PhotoCommand),
}

#[derive(Debug, Subcommand)]
pub enum PhotoCommand {
    #[command(about = h::photo_add())]
    Add {
        #[arg(help = h::id())]
        id: String,
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, default_value = "", help = h::photo_caption())]
        caption: String,
    },
    #[command(about = h::photo_rm())]
    Rm {
        #[arg(help = h::id())]
        id: String,
        hash: String,
    },
    #[command(about = h::photo_list())]
    List {
        #[arg(help = h::id())]
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct ProductAdd {
    #[command(flatten)]
    fields: fields::NewFields,
    #[arg(long, default_value = "0", value_parser = whole_arg, help = h::stock_start())]
    stock: i64,
}

#[derive(Debug, Args)]
pub struct ProductEdit {
    #[arg(help = h::id())]
    id: String,
    #[command(flatten)]
    fields: fields::EditFields,
}

#[derive(Debug, Subcommand)]
pub enum StockCommand {
    #[command(about = h::stock_add())]
    Add {
        #[arg(help = h::id())]
        id: String,
        #[arg(allow_hyphen_values = true, value_parser = whole_arg, help = h::stock_n())]
        n: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum SaleCommand {
    #[command(about = h::sale_add())]
    Add {
        #[arg(help = h::id())]
        id: String,
        #[arg(long, value_parser = whole_arg, help = h::sale_qty())]
        qty: i64,
        #[arg(long, value_parser = whole_arg, help = h::sale_revenue())]
        revenue: i64,
        #[arg(long, value_parser = date_arg, help = h::sale_date())]
        date: Option<Date>,
        #[arg(long, value_parser = channel_arg, help = h::sale_channel())]
        channel: Option<SaleChannel>,
        #[arg(long, help = h::sale_below_zero())]
        below_zero: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrainingCommand {
    #[command(about = h::training_add())]
    Add {
        #[arg(long, help = h::program())]
        program: String,
        #[arg(long, help = h::category())]
        category: String,
        #[arg(long, value_parser = date_arg, help = h::start())]
        start: Date,
        #[arg(long, value_parser = date_arg, help = h::end())]
        end: Date,
        #[arg(long, default_value = "0", value_parser = whole_arg, help = h::hours())]
        hours: i64,
        #[arg(long, default_value = "", help = h::partner())]
        partner: String,
        #[arg(long, default_value = "", help = h::instructor())]
        instructor: String,
        #[arg(long, default_value = "0", value_parser = whole_arg, help = h::capacity())]
        capacity: i64,
        #[arg(long, default_value = "", help = h::scheme())]
        scheme: String,
    },
    #[command(about = h::training_enroll())]
    Enroll {
        #[arg(help = h::id())]
        id: String,
        #[arg(long, help = h::reg_no())]
        reg_no: String,
        #[arg(long, help = h::person_name())]
        name: String,
    },
    #[command(about = h::training_complete())]
    Complete {
        #[arg(help = h::id())]
        id: String,
        #[arg(long, help = h::reg_no())]
        reg_no: String,
        #[arg(long, help = h::certificate())]
        certificate: Option<String>,
    },
    #[command(about = h::training_list())]
    List,
    #[command(about = h::training_show())]
    Show {
        #[arg(help = h::id())]
        id: String,
    },
}

fn print_json(v: &impl Serialize) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

use crate::text::agent::kb;

pub use karya_shared::text::printable;

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
        Command::User(cmd) => users::command(paths, cmd)?,
        Command::Run => {
            crate::service::run(paths.clone(), crate::service::shutdown_signal()).await?
        }
        Command::Sync => sync::sync_command(paths, json).await?,
        Command::Status => sync::status_command(paths, json).await?,
        Command::Repair { doc, force } => sync::repair(paths, &upt, &doc, force, json).await?,
        Command::Token(TokenCommand::Set { token }) => {
            setup::token_set(paths, &token).await?;
            sync::after_token_set(paths, json).await?;
        }
        Command::Secret(SecretCommand::Export { file }) => setup::secret_export(paths, &file)?,
        Command::Secret(SecretCommand::Import { file }) => setup::secret_import(paths, &file)?,
        Command::Secret(SecretCommand::New) => setup::secret_new(paths)?,
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
