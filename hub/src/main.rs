use clap::Parser;
use karya_hub::cli::Cli;

fn main() {
    karya_hub::limit_malloc_arenas();
    karya_shared::logging::init("info");
    let cli = Cli::parse();
    if let Err(e) = karya_hub::cli::run(&cli) {
        eprintln!("karya-hub: {e:#}");
        std::process::exit(1);
    }
}
