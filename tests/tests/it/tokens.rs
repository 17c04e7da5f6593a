//! A refused token is its own state: `status` and the exit code of `sync` say so and name the
//! fix, the service keeps asking, and `karya-agent token set` makes it work again with no
//! re-init and no restart.

use karya_tests::procs::{AgentDir, HubProcess, free_addr};
use std::time::Duration;

#[test]
fn a_refused_token_is_named_and_a_new_one_takes_effect_without_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("hub.db");
    let good = HubProcess::add_upt(&db, "RUTAN-PATI", "rutan", "Jawa Tengah");
    let other = HubProcess::add_upt(&db, "LAPAS-KUDUS", "lapas", "Jawa Tengah");
    let hub = HubProcess::start(&db, free_addr());
    // init asks the hub, and refuses a token the hub refuses, writing nothing.
    let mut agent = AgentDir::new(&tmp.path().join("agent"));
    let url = hub.url();
    let init = |extra: &[&str]| {
        let mut args = vec![
            "init",
            "--upt",
            "RUTAN-PATI",
            "--hub",
            &url,
            "--token",
            "karya_salah_ketik",
        ];
        args.extend_from_slice(extra);
        agent.run(&args)
    };
    // Another UPT's token, valid at the hub: refused by name, nothing set up.
    let out = agent.run(&[
        "init",
        "--upt",
        "RUTAN-PATI",
        "--hub",
        &url,
        "--token",
        other.trim(),
    ]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("token ini milik LAPAS-KUDUS, bukan RUTAN-PATI"),
        "{said}"
    );
    assert!(!agent.dir.join("agent.toml").exists());
    let out = init(&[]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("menolak token") && said.contains("belum ada yang disiapkan"),
        "{said}"
    );
    assert!(!agent.dir.join("agent.toml").exists());
    // Set up anyway (a token mistyped; a revoked one is answered the same way: 401).
    assert!(init(&["--no-check"]).status.success());
    agent.add_product("Sandal hotel", "12.500");

    let out = agent.run(&["sync"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("menolak token") && said.contains("karya-agent token set"),
        "{said}"
    );
    let status = agent.status();
    assert_eq!(status["state"], "token_refused", "{status}");
    let shown = agent.ok(&["status"]);
    assert!(
        shown.contains("token ditolak") && shown.contains("token set"),
        "{shown}"
    );

    // The service keeps asking, and keeps saying why.
    agent.start_service();
    agent.wait_status(
        "the service's refused attempts",
        Duration::from_secs(20),
        |s| s["state"] == "token_refused" && s["attempt"].as_u64() >= Some(2),
    );

    // One service per data directory: a second one refuses and names the first.
    let second = agent.run(&["run"]);
    assert!(!second.status.success());
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains("sudah berjalan") && said.contains("(pid "),
        "{said}"
    );

    // Another UPT's token is not saved; the old one stays.
    let out = agent.run(&["token", "set", other.trim()]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("token ini milik LAPAS-KUDUS"), "{said}");
    let toml = std::fs::read_to_string(agent.dir.join("agent.toml")).unwrap();
    assert!(toml.contains("karya_salah_ketik") && !toml.contains(other.trim()));

    // A new token, set while the service runs: the next sync (asked for now) uses it.
    let out = agent.ok(&["token", "set", &good]);
    assert!(out.contains("token disimpan"), "{out}");
    let s = agent.wait_status("a sync with the new token", Duration::from_secs(20), |s| {
        s["state"] == "idle" && s["pending_changes"] == 0
    });
    assert!(s["last_success_at"].is_string(), "{s}");
    let toml = std::fs::read_to_string(agent.dir.join("agent.toml")).unwrap();
    assert!(toml.contains(good.trim()) && !toml.contains("karya_salah_ketik"));
    assert!(agent.stop_service());

    let refused = agent.run(&["token", "set", "dua kata"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("tanpa spasi"));
}

/// SIGTERM while a sync waits on a hub that never answers: the service stops within 10 s, and
/// the status says the sync was interrupted (not "syncing" forever).
#[test]
fn a_stop_during_a_sync_ends_it_within_ten_seconds_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    // A "hub" that takes connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for c in silent.incoming().take(8) {
            conns.push(c);
        }
        conns
    });
    let mut agent = AgentDir::new(&tmp.path().join("agent"));
    agent.ok(&[
        "init",
        "--upt",
        "LAPAS-SUNYI",
        "--hub",
        &url,
        "--token",
        "karya_x_y",
        "--no-check",
    ]);
    agent.add_product("Keset sabut", "25.000");
    agent.start_service_with_env(&[("KARYA_REQUEST_TIMEOUT_SECS", "120")]);
    agent.wait_status("a sync under way", Duration::from_secs(20), |s| {
        s["state"] == "syncing"
    });
    let started = std::time::Instant::now();
    assert!(agent.stop_service(), "the service stopped cleanly");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let s = agent.status();
    assert_eq!(s["state"], "interrupted", "{s}");
    assert!(s["pending_changes"].as_u64().unwrap() >= 1, "{s}");
    drop(held);
}
