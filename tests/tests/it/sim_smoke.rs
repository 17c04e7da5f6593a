//! The simulation in a small configuration, as CI's smoke test: it must complete and
//! converge. Timing is not asserted here (see docs/PERFORMANCE.md for the figures).

use std::process::Command;

#[test]
fn small_simulation_completes_and_converges() {
    let out = Command::new(env!("CARGO_BIN_EXE_karya-sim"))
        .args([
            "--upts",
            "20",
            "--records",
            "100",
            "--concurrency",
            "4",
            "--slow-rtt-ms",
            "50",
            "--slow-kbps",
            "4000",
            "--idle-secs",
            "1",
            "--agent-idle-secs",
            "0.5",
            "--backlog-kb",
            "12",
            "--thin-bytes-per-sec",
            "8192",
            "--thin-timeout-secs",
            "2",
            "--hub-kills",
            "5",
            "--offline-edits",
            "80",
            "--json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "karya-sim failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("bootstrap: time to get every doc on the hub"),
        "{stdout}"
    );
    let json_start = stdout.find("\n{").expect("JSON after the table");
    let report: serde_json::Value = serde_json::from_str(&stdout[json_start..]).unwrap();
    assert_eq!(report["converged"], true, "{report}");
    assert_eq!(report["upts"], 20);
    // 30 % of 100 records are products, for 20 UPTs plus the slow-link UPT (its bootstrap
    // follows --records too), plus the backlog's.
    assert!(
        report["expected_products"].as_i64().unwrap() > 21 * 30,
        "{report}"
    );
    // One token's trickles took nothing from the other UPTs: every sync of theirs went
    // through, and every request of the attacker was refused at once or cut.
    let abuse = &report["abuse"];
    assert_eq!(abuse["abused"]["success_pct"], 100.0, "{abuse}");
    assert_eq!(abuse["other"], serde_json::json!([]), "{abuse}");
    assert!(abuse["cut_slow"].as_u64().unwrap() >= 1, "{abuse}");
    let backlog = &report["backlogs"][0];
    assert_eq!(backlog["converged"], true, "{report}");
    assert!(
        backlog["round_trips"].as_u64().unwrap() >= 2,
        "in parts: {report}"
    );
    // An offline spell's edits go up in one sync of a round trip or two, in fewer bytes than
    // the same edits synced one by one.
    let offline = &report["offline"];
    assert_eq!(offline["imported"], 60, "{report}");
    assert!(offline["round_trips"].as_u64().unwrap() <= 2, "{report}");
    assert!(
        offline["sent_bytes"].as_u64().unwrap()
            < offline["one_by_one_sent_bytes"].as_u64().unwrap(),
        "{report}"
    );
    assert!(
        offline["probed_sent_bytes"].as_u64().unwrap()
            <= offline["sent_bytes"].as_u64().unwrap() + 512,
        "{report}"
    );
    assert_eq!(report["hub_products"], report["expected_products"]);
    assert!(
        report["steady_round_trips_per_upt"].as_f64().unwrap() <= 2.0,
        "{report}"
    );
    assert!(report["idle_syncs_per_sec"].as_f64().unwrap() > 0.0);
    // A photo over the (fast, in this smoke run) link: complete, little overhead.
    let photo = &report["photo"];
    assert_eq!(photo["completed"], true, "{report}");
    assert!(photo["bytes_ratio"].as_f64().unwrap() <= 1.1, "{report}");
    // The hub killed during syncs: nothing it acknowledged is lost.
    let kills = &report["kills"];
    assert_eq!(kills["kills"], 5, "{report}");
    assert_eq!(kills["lost"], 0, "{report}");
    assert!(kills["acknowledged"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(kills["integrity_ok"], true, "{report}");
    assert_eq!(kills["converged"], true, "{report}");
    // An idle poll is one round trip of at most 400 bytes, headers included.
    assert_eq!(report["idle_poll_round_trips_per_upt"], 1.0, "{report}");
    assert!(
        report["idle_poll_bytes_per_upt"].as_f64().unwrap() <= 400.0,
        "{report}"
    );
    assert!(
        report["agent_idle_rss_mib"].as_f64().unwrap() > 1.0,
        "the agent service ran: {report}"
    );
}

/// The same on PostgreSQL with three hub processes on the one database: the UPTs spread over
/// them, everything converges, steady state and idle polls stay at one round trip.
#[test]
fn small_simulation_on_postgres_with_three_hub_processes_converges() {
    let out = Command::new(env!("CARGO_BIN_EXE_karya-sim"))
        .args([
            "--store",
            "postgres",
            "--hub-processes",
            "3",
            "--upts",
            "12",
            // Enough for the database server's CPU during the bootstrap to be more than one
            // clock tick (10 ms): at 60 records it read 0.0 once on a loaded machine.
            "--records",
            "200",
            "--concurrency",
            "6",
            "--slow-rtt-ms",
            "50",
            "--slow-kbps",
            "4000",
            "--idle-secs",
            "1",
            "--agent-idle-secs",
            "0.5",
            "--backlog-kb",
            "4",
            "--thin-bytes-per-sec",
            "16384",
            "--thin-timeout-secs",
            "2",
            "--hub-kills",
            "3",
            "--photo-kb",
            "0",
            "--dashboard-samples",
            "2",
            "--offline-edits",
            "0",
            "--json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "karya-sim failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json_start = stdout.find("\n{").expect("JSON after the table");
    let report: serde_json::Value = serde_json::from_str(&stdout[json_start..]).unwrap();
    assert_eq!(report["converged"], true, "{report}");
    assert_eq!(report["store"], "postgres");
    assert_eq!(report["hub_processes"], 3);
    assert_eq!(
        report["hub_products"], report["expected_products"],
        "{report}"
    );
    assert!(
        report["steady_round_trips_per_upt"].as_f64().unwrap() <= 2.0,
        "{report}"
    );
    assert_eq!(report["idle_poll_round_trips_per_upt"], 1.0, "{report}");
    assert!(
        report["bootstrap_db_cpu_secs"].as_f64().unwrap() > 0.0,
        "{report}"
    );
    // The kills too ran on PostgreSQL (a second database of the run's server).
    assert_eq!(report["kills"]["lost"], 0, "{report}");
    assert_eq!(report["kills"]["integrity_ok"], true, "{report}");
    assert_eq!(report["kills"]["converged"], true, "{report}");
}
