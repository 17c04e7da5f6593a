//! Upgrades as the hub admin and the UPT operator run them: databases written by every earlier
//! release (kept under `tests/data/fixtures/`) are checked with `migrate --check`, then opened
//! by the current binaries, and keep working; a database newer than the binary is refused.

use karya_tests::procs::{HubProcess, field_of_each, free_addr, get_json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const RELEASES: &[&str] = &["release-1"];

fn fixture(release: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/fixtures")
        .join(release)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(karya_tests::bin(bin))
        .args(args)
        .env("KARYA_LOG", "error")
        .output()
        .unwrap()
}

fn user_version(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn every_earlier_release_upgrades_and_keeps_working() {
    for release in RELEASES {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&fixture(release), dir.path());
        let db = dir.path().join("hub.db");
        let db_arg = db.to_str().unwrap();
        let product = std::fs::read_to_string(dir.path().join("product-id")).unwrap();
        let product = product.trim();
        let before = user_version(&db);

        // The hub admin checks first: nothing changes.
        let out = run("karya-hub", &["--db", db_arg, "migrate", "--check"]);
        assert!(out.status.success(), "{release}: {out:?}");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            said.contains(&format!("store schema {before} ->")) && said.contains("keyset pages"),
            "{release}: {said}"
        );
        assert!(
            said.contains(&format!(
                "hub schema 1 -> {}",
                karya_hub::db::SCHEMA.migrations.len()
            )) && said.contains("refusals counted once")
                && said.contains("change log"),
            "{release}: {said}"
        );
        assert_eq!(user_version(&db), before, "--check changed nothing");

        // Start the new hub on it: everything that was there is served.
        let viewer = HubProcess::admin(&db, &["token", "issue", "--role", "viewer", "--name", "v"]);
        let hub = HubProcess::start(&db, free_addr());
        let products = get_json(&format!("{}/api/v1/products", hub.url()), &viewer);
        let mut names = field_of_each(&products, "name");
        names.sort();
        assert_eq!(names, ["Kemeja batik tulis", "Kursi jati"], "{release}");
        let p = get_json(&format!("{}/api/v1/products/{product}", hub.url()), &viewer);
        assert_eq!(p["curation"]["status"], "approved", "{release}: {p}");
        let upts = get_json(&format!("{}/api/v1/upts", hub.url()), &viewer);
        assert_eq!(upts.as_array().unwrap().len(), 2, "{release}: {upts}");
        let out = run("karya-hub", &["--db", db_arg, "migrate", "--check"]);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("current, nothing to do"),
            "{out:?}"
        );

        // The UPT's agent, upgraded too, syncs with it and keeps its local names.
        let agent = dir.path().join("agent-pati");
        let agent_arg = agent.to_str().unwrap();
        let toml = agent.join("agent.toml");
        let text = std::fs::read_to_string(&toml).unwrap();
        let old_url = text
            .lines()
            .find_map(|l| l.strip_prefix("hub = "))
            .unwrap()
            .trim_matches('"')
            .to_string();
        std::fs::write(&toml, text.replace(&old_url, &hub.url())).unwrap();
        let out = run(
            "karya-agent",
            &["--data-dir", agent_arg, "migrate", "--check"],
        );
        assert!(out.status.success(), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("store skema 1 ->"),
            "{out:?}"
        );
        let out = run(
            "karya-agent",
            &["--data-dir", agent_arg, "--json", "product", "list"],
        );
        assert!(out.status.success(), "{out:?}");
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(field_of_each(&list, "name").len(), 2);
        let out = run("karya-agent", &["--data-dir", agent_arg, "sync"]);
        assert!(
            out.status.success()
                && String::from_utf8_lossy(&out.stdout).starts_with("sinkron berhasil"),
            "{out:?}"
        );
        // The audit reads an upgraded database (it holds what was stored since the upgrade).
        let out = run("karya-hub", &["--db", db_arg, "--json", "audit"]);
        assert!(out.status.success(), "{out:?}");
        let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(log["items"].is_array(), "{log}");
        let out = run(
            "karya-agent",
            &["--data-dir", agent_arg, "--json", "training", "list"],
        );
        let trainings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let training = trainings[0]["id"].as_str().unwrap().to_string();
        let out = run(
            "karya-agent",
            &["--data-dir", agent_arg, "training", "show", &training],
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Budi Santoso"),
            "the local identity survived: {out:?}"
        );
        drop(hub);
    }
}

#[test]
fn a_database_newer_than_the_binary_is_refused_with_a_message_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(RELEASES[0]), dir.path());
    let db = dir.path().join("hub.db");
    let agent_db = dir.path().join("agent-pati/agent.db");
    for file in [&db, &agent_db] {
        rusqlite::Connection::open(file)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
    }
    let db_arg = db.to_str().unwrap();
    let out = run(
        "karya-hub",
        &["--db", db_arg, "serve", "--listen", "127.0.0.1:0"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("newer than this build"), "{err}");
    let out = run("karya-hub", &["--db", db_arg, "migrate", "--check"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("NEWER"),
        "{out:?}"
    );

    let agent = dir.path().join("agent-pati");
    let out = run(
        "karya-agent",
        &["--data-dir", agent.to_str().unwrap(), "product", "list"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("newer than this build"),
        "{out:?}"
    );
    let out = run(
        "karya-agent",
        &["--data-dir", agent.to_str().unwrap(), "migrate", "--check"],
    );
    assert!(!out.status.success());
    assert_eq!(user_version(&db), 99, "nothing was migrated down or over");
}
