use clap::Parser;
use karya_hub::cli::Cli;

fn main() {
    karya_hub::limit_malloc_arenas();
    karya_shared::logging::init("info");
    let cli = Cli::parse();
    if !matches!(cli.command, karya_hub::cli::Command::Serve { .. }) {
        karya_shared::signal::quiet_on_closed_pipe();
    }
    if let Err(e) = karya_hub::cli::run(&cli) {
        eprintln!("karya-hub: {e:#}");
        std::process::exit(1);
    }
}
