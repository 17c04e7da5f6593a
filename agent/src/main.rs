use clap::Parser;
use karya_agent::cli::{Cli, Command};
use karya_agent::config::Paths;

fn main() {
    let cli = Cli::parse();
    // The service logs what it does; a command prints its result and a one-line reason on
    // failure, so it logs only errors unless KARYA_LOG says otherwise.
    let default_filter = if matches!(cli.command, Command::Run) {
        "warn,karya_agent=info"
    } else {
        "error"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KARYA_LOG")
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = runtime.block_on(async move {
        if let Command::Run = cli.command {
            karya_agent::service::run(Paths::new(&cli.data_dir), shutdown_signal()).await
        } else {
            karya_agent::cli::run(cli).await
        }
    });
    if let Err(e) = result {
        eprintln!("karya-agent: {e}");
        std::process::exit(1);
    }
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
