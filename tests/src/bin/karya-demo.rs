//! The demo: a whole national round on this machine.
//!
//! A hub and three UPT agents (from the sample UPTs) run on loopback in a temporary
//! directory, each with its own SQLite file. The operators record products and trainings
//! while the hub is down; the hub starts; the agents' services sync on their own; HQ posts a
//! curation decision; a forced sync brings it down; the national table and where each
//! decision landed are printed.

use clap::Parser;
use karya_agent::config::{AgentConfig, Paths};
use karya_agent::records;
use karya_tests::sample_upts;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Run a whole karya national round on this machine")]
struct Args {
    /// Keep the demo's directory (hub database, agents' data) instead of deleting it.
    #[arg(long)]
    keep: bool,
}

fn step(text: &str) {
    println!("\n==> {text}");
}

async fn agent(data_dir: &std::path::Path, args: &[&str]) -> anyhow::Result<()> {
    let mut full = vec![
        "karya-agent",
        "--data-dir",
        data_dir.to_str().unwrap_or_default(),
    ];
    full.extend_from_slice(args);
    let cli = karya_agent::cli::Cli::try_parse_from(full)?;
    karya_agent::cli::run(cli).await?;
    Ok(())
}

fn status(data_dir: &std::path::Path) -> anyhow::Result<karya_agent::status::StatusReport> {
    Ok(karya_agent::status::status_report(
        &Paths::new(data_dir),
        true,
    )?)
}

/// The first product id of a UPT, read from its agent's local table.
fn first_nominated(data_dir: &std::path::Path) -> anyhow::Result<(String, String)> {
    let store = karya_agent::store::open_store(&Paths::new(data_dir))?;
    Ok(store.conn().query_row(
        "SELECT id, name FROM products WHERE nominated = 1 ORDER BY created_at LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tmp = tempfile::Builder::new().prefix("karya-demo-").tempdir()?;
    let root = tmp.path().to_path_buf();
    println!("karya demo in {}", root.display());

    // --- HQ: register three UPTs and a curator -------------------------------------------
    step("HQ registers three UPTs (from the sample list) and a curator");
    let hub_db = root.join("hub.db");
    let hub_config = karya_hub::Config {
        db: hub_db.clone(),
        ..Default::default()
    };
    let picks = ["LAPAS-CIPINANG", "LPKA-TANGERANG", "LAPAS-KEROBOKAN"];
    let mut tokens = Vec::new();
    {
        let db = karya_hub::db::HubDb::open(&hub_config, karya_hub::db::Create::IfMissing)?;
        for (code, name, kind, kanwil) in sample_upts()
            .into_iter()
            .filter(|u| picks.contains(&u.0.as_str()))
        {
            let upt = karya_shared::model::UptInfo::new(&code, &name, kind.parse()?, &kanwil);
            let token = db
                .register_upts(std::slice::from_ref(&upt), false)?
                .remove(0)
                .1
                .unwrap_or_default();
            println!("   {code:<16} {name}");
            tokens.push((code, token));
        }
        let (_, curator) =
            db.issue_token(&karya_hub::auth::Role::Curator, "Kurator Subdit Giatja")?;
        tokens.push(("curator".into(), curator));
    }
    let curator = tokens.pop().map(|(_, t)| t).unwrap_or_default();
    let hub_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let hub_addr = hub_listener.local_addr()?;
    drop(hub_listener);
    let hub_url = format!("http://{hub_addr}");

    // --- Agents: init, start their services (the hub is still down) ---------------------
    step(&format!(
        "Each UPT initialises its agent and starts the service (hub {hub_url}, not running yet)"
    ));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut services = Vec::new();
    let mut dirs = Vec::new();
    for (code, token) in &tokens {
        let dir = root.join(code.to_lowercase());
        agent(
            &dir,
            &["init", "--upt", code, "--hub", &hub_url, "--token", token],
        )
        .await?;
        // Demo timings: sync every 2 s, retry from 300 ms up to 2 s.
        let paths = Paths::new(&dir);
        let mut config = AgentConfig::load(&paths)?;
        config.timing.sync_interval_secs = 2.0;
        config.timing.debounce_secs = 0.3;
        config.timing.retry_initial_secs = 0.3;
        config.timing.retry_max_secs = 2.0;
        config.timing.inbox_settle_secs = 0.3;
        config.save(&paths)?;
        let mut rx = stop_rx.clone();
        services.push(tokio::spawn(karya_agent::service::run(paths, async move {
            let _ = rx.wait_for(|stop| *stop).await;
        })));
        dirs.push((code.clone(), dir));
    }

    // --- Offline work --------------------------------------------------------------------
    step("Operators record products, stock, sales and trainings while the hub is down");
    let catalogue: [&[(&str, &str, &str, &str)]; 3] = [
        &[
            ("Kemeja batik tulis", "fashion-batik", "275000", "8"),
            ("Meja jati minimalis", "furnitur", "1850000", "2"),
        ],
        &[
            ("Roti sobek cokelat", "makanan-minuman", "25000", "40"),
            ("Gantungan kunci rotan", "kerajinan", "15000", "120"),
        ],
        &[
            ("Lukisan kanvas Bali", "seni-lukis", "950000", "5"),
            ("Dupa aromaterapi", "kerajinan", "30000", "60"),
        ],
    ];
    for ((code, dir), products) in dirs.iter().zip(catalogue) {
        // The same library calls the CLI makes (karya-agent product add, sale add, ...).
        let mut store = karya_agent::store::open_store(&Paths::new(dir))?;
        let mut first = None;
        for (i, (name, cat, price, stock)) in products.iter().enumerate() {
            let p = records::add_product(
                &mut store,
                code,
                records::NewProduct {
                    fields: karya_shared::model::ProductPatch {
                        name: Some(name.to_string()),
                        category: Some(cat.to_string()),
                        price_idr: Some(price.parse()?),
                        nominated: Some(i == 0),
                        ..Default::default()
                    },
                    stock: stock.parse()?,
                },
            )?;
            first.get_or_insert(p);
        }
        let first = first.expect("two products");
        records::add_stock(&mut store, code, &first.id, 3)?;
        let sale = records::new_sale(
            first.id.to_string(),
            2,
            2 * first.price_idr,
            None,
            Some(karya_shared::model::SaleChannel::Pameran),
        );
        records::add_sales(&mut store, code, &[sale], &[], true)?;
        let training = records::NewTraining {
            program: "Pelatihan menjahit dasar".into(),
            category: "menjahit".into(),
            start: time::macros::date!(2026 - 11 - 02),
            end: time::macros::date!(2026 - 11 - 27),
            hours: 60,
            partner: "BLK setempat".into(),
            instructor: String::new(),
            capacity: 0,
            scheme: String::new(),
        }
        .into_training();
        records::add_trainings(&mut store, code, std::slice::from_ref(&training), &[])?;
        for n in 1..=3 {
            let reg = format!("{}-{n:03}/2026", &code[..4]);
            records::enroll(
                &mut store,
                code,
                &training.id,
                &reg,
                &format!("Warga Binaan {n}"),
            )?;
        }
        records::complete(
            &mut store,
            code,
            &training.id,
            &format!("{}-001/2026", &code[..4]),
            Some("BNSP-2026-001".into()),
        )?;
        println!(
            "   {code:<16} 2 products (+3 stock, 1 sale), 1 training with 3 participants (1 completed)"
        );
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for (code, dir) in &dirs {
        let s = status(dir)?;
        println!(
            "   {code:<16} state {:?} (attempt {}), {} local change(s) waiting; last error: {}",
            s.state,
            s.attempt,
            s.pending_changes,
            s.last_error.unwrap_or_default()
        );
    }

    // --- The hub comes up ----------------------------------------------------------------
    step("The link comes back: HQ starts the hub; the agents sync on their own");
    let (hub_stop, hub_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let listener = tokio::net::TcpListener::bind(hub_addr).await?;
    let hub_task = tokio::spawn(karya_hub::serve(hub_config, listener, async {
        let _ = hub_stop_rx.await;
    }));
    let started = Instant::now();
    loop {
        let mut done = true;
        for (_, dir) in &dirs {
            let s = status(dir)?;
            done &= s.pending_changes == 0 && s.last_success_at.is_some();
        }
        if done {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the agents did not sync within a minute"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "   every agent synced {:.1} s after the hub started, untouched",
        started.elapsed().as_secs_f64()
    );

    // --- HQ curates ----------------------------------------------------------------------
    step("HQ curates the nominated products");
    let http = reqwest::Client::new();
    let decisions = [
        ("featured", "Tampil di pameran nasional"),
        ("approved", "Lolos kurasi e-katalog"),
        ("in_review", "Perlu foto produk"),
    ];
    for ((code, dir), (status_name, note)) in dirs.iter().zip(decisions) {
        let (pid, name) = first_nominated(dir)?;
        let r = http
            .post(format!("{hub_url}/api/v1/curation/{pid}"))
            .bearer_auth(&curator)
            .json(&serde_json::json!({ "status": status_name, "note": note }))
            .send()
            .await?;
        anyhow::ensure!(
            r.status().is_success(),
            "curation failed: {}",
            r.text().await?
        );
        println!("   {code:<16} {name:<24} -> {status_name} ({note})");
    }

    step(
        "One operator forces a sync (karya-agent sync); the others pick it up at their next interval",
    );
    agent(&dirs[0].1, &["sync"]).await?;
    let started = Instant::now();
    loop {
        let mut landed = 0;
        for (_, dir) in &dirs {
            let store = karya_agent::store::open_store(&Paths::new(dir))?;
            landed += store
                .conn()
                .query_row("SELECT COUNT(*) FROM curation", [], |r| r.get::<_, i64>(0))?;
        }
        if landed == 3 {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "decisions did not reach every UPT"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // --- The national view ---------------------------------------------------------------
    step("The national table (GET /api/v1/products)");
    let page: serde_json::Value = http
        .get(format!("{hub_url}/api/v1/products"))
        .bearer_auth(&curator)
        .send()
        .await?
        .json()
        .await?;
    let products = page["items"].as_array().cloned().unwrap_or_default();
    println!(
        "   {:<16} {:<26} {:<16} {:>12} {:>6}  CURATION",
        "UPT", "PRODUCT", "CATEGORY", "PRICE (Rp)", "STOCK"
    );
    for p in &products {
        println!(
            "   {:<16} {:<26} {:<16} {:>12} {:>6}  {}",
            p["upt"].as_str().unwrap_or(""),
            p["name"].as_str().unwrap_or(""),
            p["category"].as_str().unwrap_or(""),
            p["price_idr"].as_i64().unwrap_or(0),
            p["stock"].as_i64().unwrap_or(0),
            p["curation"]["status"].as_str().unwrap_or("-")
        );
    }
    let stats: serde_json::Value = http
        .get(format!("{hub_url}/api/v1/stats"))
        .bearer_auth(&curator)
        .send()
        .await?
        .json()
        .await?;
    let n = &stats["national"];
    println!(
        "   national: {} products, stock {}, {} sales worth Rp{}, {} trainings, {} participants, {} completed",
        n["products"],
        n["stock"],
        n["sales"],
        n["revenue_idr"],
        n["trainings"],
        n["participants"],
        n["completions"]
    );

    step("Where each curation decision landed (each agent's own replica)");
    for (code, dir) in &dirs {
        let store = karya_agent::store::open_store(&Paths::new(dir))?;
        let (name, status_name, by): (String, String, String) = store.conn().query_row(
            "SELECT p.name, c.status, c.decided_by FROM curation c JOIN products p ON p.id = c.product_id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        println!("   {code:<16} {name:<24} {status_name:<10} decided by {by}");
    }

    step("Privacy: the hub's answers carry pseudonyms only");
    let trainings = http
        .get(format!("{hub_url}/api/v1/trainings"))
        .bearer_auth(&curator)
        .send()
        .await?
        .text()
        .await?;
    println!(
        "   'Warga Binaan' in the hub's API: {}; participants counted at HQ: {}",
        if trainings.contains("Warga Binaan") {
            "FOUND (bug!)"
        } else {
            "absent"
        },
        n["participants"]
    );

    // --- Stop ----------------------------------------------------------------------------
    let _ = stop_tx.send(true);
    for s in services {
        s.await??;
    }
    let _ = hub_stop.send(());
    hub_task.await??;
    if args.keep {
        let kept = tmp.keep();
        println!("\nkept {}", kept.display());
    }
    println!("\ndemo complete: 3 UPTs, offline edits, automatic sync, curation flowed back.");
    Ok(())
}
