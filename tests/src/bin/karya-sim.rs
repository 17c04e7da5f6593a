//! `karya-sim`: the simulation benchmark (see `docs/PERFORMANCE.md`).
//!
//! `cargo run --release -p karya-tests --bin karya-sim -- [--upts 627] [--records 1000] [--json]`
//!
//! The hub and the idle agent run as separate processes started from this same binary
//! (`--role hub`, `--role agent`), so their memory is measured on its own.

use clap::Parser;
use karya_tests::sim;

#[derive(Parser)]
#[command(about = "karya simulation benchmark: national scale, slow links, wire efficiency")]
struct Args {
    #[command(flatten)]
    opts: sim::Options,
    /// Print the figures as JSON too.
    #[arg(long)]
    json: bool,
    /// Only the dashboard scenario, against the hub database a run kept (KARYA_SIM_KEEP):
    /// `--dashboard-on /work/keep/karya-sim-XXXX/hub.db`.
    #[arg(long)]
    dashboard_on: Option<std::path::PathBuf>,
    /// Internal: run as the hub or an agent process.
    #[arg(long, hide = true)]
    role: Option<String>,
    #[arg(long, hide = true)]
    db: Option<std::path::PathBuf>,
    #[arg(long, hide = true, default_value = "127.0.0.1:0")]
    listen: String,
    #[arg(long, hide = true)]
    data_dir: Option<std::path::PathBuf>,
    #[arg(long, hide = true)]
    hub: Option<String>,
    #[arg(long, hide = true)]
    token: Option<String>,
    #[arg(long, hide = true)]
    upt: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    args.opts = args.opts.quickened();
    if args.role.as_deref() == Some("hub") {
        // As `karya-hub` itself does.
        karya_hub::limit_malloc_arenas();
    }
    let runtime = tokio::runtime::Runtime::new()?;
    match args.role.as_deref() {
        Some("hub") => runtime.block_on(async {
            let db = args.db.ok_or_else(|| anyhow::anyhow!("--db"))?;
            let config = karya_hub::Config {
                db,
                // A hub on PostgreSQL keeps its photos where it is told (--data-dir).
                blobs_dir: args.data_dir.clone(),
                ..Default::default()
            };
            let listener = tokio::net::TcpListener::bind(&args.listen).await?;
            println!("LISTEN {}", listener.local_addr()?);
            karya_hub::serve(config, listener, async {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .expect("signal");
                term.recv().await;
            })
            .await
        }),
        Some("agent-init") => runtime.block_on(async {
            let dir = args.data_dir.ok_or_else(|| anyhow::anyhow!("--data-dir"))?;
            let cli = karya_agent::cli::Cli::try_parse_from([
                "karya-agent",
                "--data-dir",
                dir.to_str().unwrap_or_default(),
                "init",
                "--upt",
                &args.upt.unwrap_or_default(),
                "--hub",
                &args.hub.unwrap_or_default(),
                "--token",
                &args.token.unwrap_or_default(),
            ])?;
            karya_agent::cli::run(cli).await?;
            Ok(())
        }),
        Some("agent") => runtime.block_on(async {
            let dir = args.data_dir.ok_or_else(|| anyhow::anyhow!("--data-dir"))?;
            karya_agent::service::run(karya_agent::config::Paths::new(dir), async {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .expect("signal");
                term.recv().await;
            })
            .await?;
            Ok(())
        }),
        Some(other) => anyhow::bail!("unknown role {other}"),
        None if args.dashboard_on.is_some() => {
            let db = args.dashboard_on.unwrap_or_default();
            let exe = std::env::current_exe()?;
            let run = runtime.block_on(karya_tests::dashboard_bench::on_kept_hub(
                &exe,
                &db,
                args.opts.dashboard_samples.max(1),
            ))?;
            karya_tests::dashboard_bench::print(&run);
            if args.json {
                println!("{}", serde_json::to_string_pretty(&run)?);
            }
            Ok(())
        }
        None => {
            let exe = std::env::current_exe()?;
            let (_guard, work) = sim::work_dir();
            let report = runtime.block_on(sim::run(&args.opts, &exe, &work));
            sim::print_table(&report, &args.opts);
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
            anyhow::ensure!(
                report.converged,
                "the replicas did not converge with the hub"
            );
            anyhow::ensure!(
                report.hub_products == report.expected_products,
                "the hub lost products"
            );
            Ok(())
        }
    }
}
