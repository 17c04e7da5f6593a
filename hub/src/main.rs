use clap::Parser;
use karya_hub::cli::Cli;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KARYA_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Err(e) = karya_hub::cli::run(&cli) {
        eprintln!("karya-hub: {e:#}");
        std::process::exit(1);
    }
}
