//! The agent's disk: full (the service says so, logs it, and recovers by itself when space is
//! freed) and read-only (it says so, and still shows what it holds).

use karya_tests::procs::{AgentDir, HubProcess, SmallDisk, decide, free_addr};
use std::time::Duration;

#[test]
fn a_full_disk_is_shown_and_logged_and_the_service_recovers_when_space_is_freed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let token = HubProcess::add_upt(&db, "LAPAS-PATI", "lapas", "Jawa Tengah");
    let curator = HubProcess::issue(&db, "curator", "Kurator Pusat");
    let hub = HubProcess::start(&db, free_addr());

    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let Some(disk) = SmallDisk::mount(&small, "4m") else {
        return;
    };
    let mut a = AgentDir::init(&small.join("a"), "LAPAS-PATI", &hub.url(), &token);
    let product = a.add_product("Keset sabut", "35000");
    let log = dir.path().join("agent.log");
    a.start_service_logging_to(&log);
    a.wait_status("the first sync", Duration::from_secs(20), |s| {
        s["state"] == "idle" && s["last_success_at"].is_string()
    });

    // The disk fills up (a log gone wild, a copied video), and HQ decides meanwhile: the
    // agent must write to receive it, and cannot.
    let filler = disk.fill("filler.bin");
    // Decisions with long notes: the agent must write a few KB to take them.
    let note = "x".repeat(2000);
    for i in 0..20 {
        decide(
            &hub.url(),
            &curator,
            &product,
            ["approved", "featured"][i % 2],
            &note,
        );
    }
    let out = a.run(&["sync"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("disk penuh"), "{said}");
    let s = a.wait_status("disk full in the status", Duration::from_secs(20), |s| {
        s["state"] == "disk_full"
    });
    assert!(
        s["last_error"]
            .as_str()
            .unwrap()
            .contains("kosongkan ruang"),
        "{s}"
    );
    assert!(s["storage_problem"].is_string(), "{s}");
    let shown = a.ok(&["status"]);
    assert!(shown.contains("disk penuh"), "{shown}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("disk is full") && logged.contains("ERROR"),
        "the service logs it: {logged}"
    );

    // Space comes back: the service recovers by itself, and the decision arrives.
    std::fs::remove_file(&filler).unwrap();
    a.wait_status("recovery", Duration::from_secs(30), |s| {
        s["state"] == "idle" && s["storage_problem"].is_null()
    });
    let shown = a.ok(&["product", "show", &product]);
    assert!(
        shown.contains("Kurasi pusat: disetujui") || shown.contains("Kurasi pusat: diunggulkan"),
        "{shown}"
    );
    assert!(a.stop_service());
    drop(hub);
}

#[test]
fn a_read_only_data_directory_is_named_and_what_it_holds_can_still_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let token = HubProcess::add_upt(&db, "RUTAN-SOLO", "rutan", "Jawa Tengah");
    let hub = HubProcess::start(&db, free_addr());
    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let Some(disk) = SmallDisk::mount(&small, "8m") else {
        return;
    };
    let a = AgentDir::init(&small.join("a"), "RUTAN-SOLO", &hub.url(), &token);
    let product = a.add_product("Sandal kulit", "85000");
    a.ok(&["sync"]);
    a.add_product("Tas anyaman", "120000");

    disk.set_writable(false);
    // Reading works, and says why nothing can be recorded.
    let s = a.status();
    assert_eq!(s["state"], "read_only", "{s}");
    assert!(
        s["storage_problem"]
            .as_str()
            .unwrap()
            .contains("hanya-baca"),
        "{s}"
    );
    assert_eq!(s["pending_changes"], 1, "{s}");
    let out = a.run(&["product", "list"]);
    assert!(out.status.success());
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.contains("Sandal kulit") && list.contains("Tas anyaman"),
        "{list}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("hanya-baca"));
    let shown = a.ok(&["product", "show", &product]);
    assert!(shown.contains("Sandal kulit"), "{shown}");
    // Writing, syncing and the service are refused with the reason and the fix.
    for args in [
        &[
            "product",
            "add",
            "--name",
            "X",
            "--category",
            "kerajinan",
            "--price",
            "1",
        ][..],
        &["sync"][..],
        &["run"][..],
    ] {
        let out = a.run(args);
        assert!(!out.status.success(), "{args:?}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains("hanya-baca") && said.contains("bisa ditulis lagi"),
            "{args:?}: {said}"
        );
    }

    // Writable again: everything works, and nothing was lost.
    disk.set_writable(true);
    a.ok(&["sync"]);
    assert_eq!(a.status()["pending_changes"], 0);
    drop(hub);
}
