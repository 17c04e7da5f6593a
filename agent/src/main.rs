use clap::Parser;
use karya_agent::cli::{Cli, Command};

fn main() {
    let cli = Cli::parse();
    // The service logs what it does; a command prints its result and a one-line reason on
    // failure, so it logs only errors unless KARYA_LOG says otherwise.
    let default_filter = if matches!(cli.command, Command::Run) {
        "warn,karya_agent=info"
    } else {
        "error"
    };
    karya_shared::logging::init(default_filter);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    if let Err(e) = runtime.block_on(karya_agent::cli::run(cli)) {
        eprintln!("karya-agent: {e}");
        std::process::exit(e.exit_code());
    }
}
