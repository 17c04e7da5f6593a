//! End-to-end: the real karya-hub and karya-agent binaries as separate processes on
//! loopback, each with its own SQLite files, as an operator and the hub admin run them.

use karya_tests::procs::{
    AgentDir, HubProcess, decide, field_of_each, free_addr, get_json, get_text,
};
use std::time::{Duration, Instant};

fn setup_hub(
    dir: &std::path::Path,
    upts: &[(&str, &str, &str)],
) -> (std::path::PathBuf, Vec<String>, String) {
    let db = dir.join("hub.db");
    let tokens = upts
        .iter()
        .map(|(code, kind, kanwil)| {
            HubProcess::admin(
                &db,
                &[
                    "upt",
                    "add",
                    code,
                    "--name",
                    &format!("UPT {code}"),
                    "--type",
                    kind,
                    "--kanwil",
                    kanwil,
                ],
            )
        })
        .collect();
    let viewer = HubProcess::admin(
        &db,
        &[
            "token",
            "issue",
            "--role",
            "curator",
            "--name",
            "Kurator Pusat",
        ],
    );
    (db, tokens, viewer.trim().to_string())
}

#[test]
fn offline_round_converges_without_anyone_touching_the_agents() {
    let dir = tempfile::tempdir().unwrap();
    let (db, tokens, curator) = setup_hub(
        dir.path(),
        &[
            ("LAPAS-PATI", "lapas", "Jawa Tengah"),
            ("LPP-TANGERANG", "lpp", "Banten"),
        ],
    );
    let addr = free_addr();
    let url = format!("http://{addr}");
    let mut a = AgentDir::init(&dir.path().join("a"), "LAPAS-PATI", &url, &tokens[0]);
    let mut b = AgentDir::init(&dir.path().join("b"), "LPP-TANGERANG", &url, &tokens[1]);
    a.start_service();
    b.start_service();

    // The hub is down: operators keep working.
    a.ok(&[
        "product",
        "add",
        "--name",
        "Meja jati",
        "--category",
        "furnitur",
        "--price",
        "1500000",
        "--stock",
        "2",
    ]);
    let t = a.ok(&[
        "training",
        "add",
        "--program",
        "Las listrik",
        "--category",
        "las",
        "--start",
        "2026-11-01",
        "--end",
        "2026-11-30",
        "--hours",
        "80",
    ]);
    a.ok(&[
        "training",
        "enroll",
        t.trim(),
        "--reg-no",
        "B.I 123/2025",
        "--name",
        "Budi Santoso",
    ]);
    b.ok(&[
        "product",
        "add",
        "--name",
        "Mukena bordir",
        "--category",
        "fashion-batik",
        "--price",
        "350000",
        "--stock",
        "6",
    ]);

    let offline = a.wait_status("offline", Duration::from_secs(20), |s| {
        s["state"] == "offline" && s["attempt"].as_u64() >= Some(2)
    });
    assert!(
        offline["last_error"]
            .as_str()
            .unwrap()
            .contains("tidak terjangkau"),
        "{offline}"
    );
    assert!(
        offline["pending_changes"].as_u64().unwrap() >= 3,
        "{offline}"
    );
    assert!(offline["offline_since"].is_string() && offline["next_attempt_at"].is_string());
    assert!(offline["last_success_at"].is_null());

    // The hub comes up; nobody touches the agents.
    let hub = HubProcess::start(&db, addr);
    for agent in [&a, &b] {
        let s = agent.wait_status("a successful sync", Duration::from_secs(30), |s| {
            s["state"] == "idle" && s["pending_changes"] == 0 && s["last_success_at"].is_string()
        });
        assert!(
            s["last_error"].is_null() && s["offline_since"].is_null(),
            "{s}"
        );
    }
    let products = get_json(&format!("{}/api/v1/products", hub.url()), &curator);
    let names = field_of_each(&products, "name");
    assert_eq!(names.len(), 2, "{names:?}");
    let stats = get_json(&format!("{}/api/v1/stats", hub.url()), &curator);
    assert_eq!(stats["national"]["participants"], 1);
    assert_eq!(stats["national"]["trainings"], 1);

    // The hub restarts (an HQ maintenance window); the services ride it out.
    let mut hub = hub;
    hub.stop();
    a.ok(&[
        "product",
        "add",
        "--name",
        "Kursi rotan",
        "--category",
        "furnitur",
        "--price",
        "650000",
    ]);
    a.wait_status("offline again", Duration::from_secs(20), |s| {
        s["state"] == "offline"
    });
    let hub = HubProcess::start(&db, addr);
    a.wait_status("back in sync", Duration::from_secs(30), |s| {
        s["state"] == "idle" && s["pending_changes"] == 0
    });
    let products = get_json(
        &format!("{}/api/v1/products?upt=LAPAS-PATI", hub.url()),
        &curator,
    );
    assert_eq!(products["items"].as_array().unwrap().len(), 2);
    assert_eq!(products["total"], 2);

    // SIGTERM stops the services cleanly.
    assert!(a.stop_service(), "agent a exits cleanly on SIGTERM");
    assert!(b.stop_service());
    assert!(!dir.path().join("a/control.json").exists());
}

#[test]
fn forced_sync_reports_figures_or_fails_fast_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (db, tokens, curator) = setup_hub(dir.path(), &[("LAPAS-KENDAL", "lapas", "Jawa Tengah")]);
    let addr = free_addr();
    let mut hub = HubProcess::start(&db, addr);
    let mut a = AgentDir::init(
        &dir.path().join("a"),
        "LAPAS-KENDAL",
        &hub.url(),
        &tokens[0],
    );
    a.start_service();
    let id = a.ok(&[
        "product",
        "add",
        "--name",
        "Sandal kulit",
        "--category",
        "kerajinan",
        "--price",
        "85000",
    ]);

    let out = a.ok(&["sync"]);
    assert!(out.starts_with("sinkron berhasil: 3 dokumen"), "{out}");
    assert!(
        out.contains("putaran") && out.contains("terkirim ") && out.contains(" detik;"),
        "{out}"
    );
    let v = a.json(&["sync"]);
    assert_eq!(v["ok"], true);
    assert!(v["outcome"]["bytes_sent"].as_u64().unwrap() > 0);

    // HQ decides; a forced sync brings the decision down at once.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/api/v1/curation/{}", hub.url(), id.trim()))
            .bearer_auth(&curator)
            .json(&serde_json::json!({"status": "approved", "note": "Lolos kurasi"}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    a.ok(&["sync"]);
    let shown = a.ok(&["product", "show", &id.trim()[..10]]);
    assert!(
        shown.contains("Kurasi pusat: disetujui oleh Kurator Pusat"),
        "{shown}"
    );

    // Hub down: the forced sync fails within seconds, says why, exits non-zero.
    hub.stop();
    let started = Instant::now();
    let out = a.run(&["sync"]);
    assert!(!out.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sinkron gagal") && err.contains("tidak terjangkau"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // And with no service running, `sync` syncs directly.
    a.stop_service();
    let hub = HubProcess::start(&db, addr);
    a.ok(&[
        "product",
        "add",
        "--name",
        "Dompet kulit",
        "--category",
        "kerajinan",
        "--price",
        "60000",
    ]);
    let out = a.ok(&["sync"]);
    assert!(out.starts_with("sinkron berhasil"), "{out}");
    let products = get_json(
        &format!("{}/api/v1/products?upt=LAPAS-KENDAL", hub.url()),
        &curator,
    );
    assert_eq!(products["items"].as_array().unwrap().len(), 2);
    assert_eq!(products["total"], 2);
}

#[test]
fn kill_9_during_a_burst_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let (db, tokens, curator) = setup_hub(dir.path(), &[("RUTAN-SALEMBA", "rutan", "DKI Jakarta")]);
    let hub = HubProcess::start(&db, free_addr());
    let mut a = AgentDir::init(
        &dir.path().join("a"),
        "RUTAN-SALEMBA",
        &hub.url(),
        &tokens[0],
    );
    let mut acked = Vec::new();
    for round in 0..3 {
        a.start_service();
        let kill_at = Instant::now() + Duration::from_millis(700 + 300 * round);
        let mut i = 0;
        // Writes and forced syncs interleave; the service is killed in the middle of them.
        while Instant::now() < kill_at || i < 5 {
            let out = a.run(&[
                "product",
                "add",
                "--name",
                &format!("Produk {round}-{i}"),
                "--category",
                "kerajinan",
                "--price",
                "1000",
            ]);
            if out.status.success() {
                acked.push(String::from_utf8(out.stdout).unwrap().trim().to_string());
            }
            if i % 3 == 0 {
                let _ = a.run(&["sync"]);
            }
            i += 1;
        }
        a.kill_service();
    }
    assert!(acked.len() >= 15, "{}", acked.len());
    // Every acknowledged write is there locally after the crashes...
    let local = a.json(&["product", "list"]);
    let local_ids = field_of_each(&local, "id");
    for id in &acked {
        assert!(local_ids.contains(id), "acknowledged {id} lost locally");
    }
    // ...and at the hub after the next sync.
    a.start_service();
    a.ok(&["sync"]);
    let hub_products = get_json(
        &format!("{}/api/v1/products?upt=RUTAN-SALEMBA&limit=1000", hub.url()),
        &curator,
    );
    let hub_ids = field_of_each(&hub_products, "id");
    for id in &acked {
        assert!(
            hub_ids.contains(id),
            "acknowledged {id} never reached the hub"
        );
    }
    assert_eq!(a.status()["pending_changes"], 0);
}

#[test]
fn inbox_imports_csv_and_xlsx_and_rejects_bad_files_whole() {
    let dir = tempfile::tempdir().unwrap();
    let a_dir = dir.path().join("a");
    // No hub at all: the inbox works offline.
    let mut a = AgentDir::init(&a_dir, "LAPAS-MATARAM", "http://127.0.0.1:9", "karya_x_y");
    a.start_service();
    let inbox = a_dir.join("inbox");

    std::fs::write(
        inbox.join("produk.csv"),
        "nama,kategori,harga,satuan,stok,diusulkan\nTenun songket,fashion-batik,Rp 450.000,lembar,4,ya\nKopi Sasak,makanan-minuman,55000,bungkus,30,tidak\n",
    )
    .unwrap();

    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["program", "category", "start", "end", "hours", "partner"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "Tata rias pengantin").unwrap();
    ws.write_string(1, 1, "tata-rias").unwrap();
    ws.write_string(1, 2, "2026-12-01").unwrap();
    ws.write_string(1, 3, "2026-12-15").unwrap();
    ws.write_number(1, 4, 40.0).unwrap();
    ws.write_string(1, 5, "LKP Mataram").unwrap();
    let xlsx = dir.path().join("pelatihan.xlsx");
    wb.save(&xlsx).unwrap();
    std::fs::copy(&xlsx, inbox.join("pelatihan.xlsx")).unwrap();

    std::fs::write(
        inbox.join("buruk.csv"),
        "nama,kategori,harga,stok\nBaik,kerajinan,1000,1\n,kerajinan,1000,1\nMainan,mainan,abc,1\nKursi,furnitur,-5,2\n",
    )
    .unwrap();

    // A link to the agent's own configuration (its token): refused, never read.
    std::os::unix::fs::symlink(a_dir.join("agent.toml"), inbox.join("tautan.csv")).unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    while !(inbox.join("imported/produk.csv").exists()
        && inbox.join("imported/pelatihan.xlsx").exists()
        && inbox.join("rejected/buruk.csv.errors.txt").exists()
        && inbox.join("rejected/tautan.csv.errors.txt").exists())
    {
        assert!(
            Instant::now() < deadline,
            "inbox files were not processed: {:?}",
            std::fs::read_dir(&inbox).unwrap().collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let products = a.json(&["product", "list"]);
    let names = field_of_each(&products, "name");
    assert_eq!(
        names,
        ["Kopi Sasak", "Tenun songket"],
        "nothing of the bad file, all of the good one"
    );
    let songket = products
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Tenun songket")
        .unwrap();
    assert_eq!(songket["price_idr"], 450_000);
    assert_eq!(songket["nominated"], true);
    let trainings = a.json(&["training", "list"]);
    assert_eq!(trainings[0]["program"], "Tata rias pengantin");
    assert_eq!(trainings[0]["hours"], 40);

    let link = std::fs::read_to_string(inbox.join("rejected/tautan.csv.errors.txt")).unwrap();
    assert!(link.contains("ini tautan, bukan berkas"), "{link}");
    assert!(
        !link.contains("karya_x_y"),
        "the token never reaches an errors file"
    );
    let errors = std::fs::read_to_string(inbox.join("rejected/buruk.csv.errors.txt")).unwrap();
    assert!(
        errors.contains("baris 3") && errors.contains("'nama'"),
        "{errors}"
    );
    assert!(
        errors.contains("baris 4") && errors.contains("'harga'") && errors.contains("'kategori'"),
        "{errors}"
    );
    assert!(
        errors.contains("baris 5") && errors.contains("negatif"),
        "{errors}"
    );
    assert!(!errors.contains("baris 2"), "row 2 is fine: {errors}");
    assert!(inbox.join("rejected/buruk.csv").exists());

    // The same from the command line.
    let bad = dir.path().join("bad-sales.csv");
    std::fs::write(&bad, "produk,jumlah,pendapatan\nnotaproduct,1,100\n").unwrap();
    let out = a.run(&["import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("tidak ada produk 'notaproduct'"));
}

#[test]
fn no_name_or_registration_number_reaches_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let (db, tokens, curator) = setup_hub(dir.path(), &[("LPKA-TANGERANG", "lpka", "Banten")]);
    let hub = HubProcess::start(&db, free_addr());
    let a = AgentDir::init(
        &dir.path().join("a"),
        "LPKA-TANGERANG",
        &hub.url(),
        &tokens[0],
    );
    let t = a.ok(&[
        "training",
        "add",
        "--program",
        "Barista",
        "--category",
        "barista",
        "--start",
        "2026-10-01",
        "--end",
        "2026-10-20",
        "--hours",
        "48",
    ]);
    let people = [
        ("AN 0457/2025", "Rizky Pratama"),
        ("AN 0458/2025", "Dimas Saputra"),
    ];
    for (reg, name) in people {
        a.ok(&[
            "training",
            "enroll",
            t.trim(),
            "--reg-no",
            reg,
            "--name",
            name,
        ]);
    }
    a.ok(&[
        "training",
        "complete",
        t.trim(),
        "--reg-no",
        people[0].0,
        "--certificate",
        "BNSP-77",
    ]);
    a.ok(&["sync"]);
    // Locally the operator still sees who is who.
    let shown = a.ok(&["training", "show", t.trim()]);
    assert!(
        shown.contains("Rizky Pratama (AN 0457/2025): lulus"),
        "{shown}"
    );

    let mut hub = hub;
    let api: String = [
        "/api/v1/products",
        "/api/v1/trainings",
        "/api/v1/stats",
        "/api/v1/upts",
        "/",
    ]
    .iter()
    .map(|p| get_text(&format!("{}{p}", hub.url()), &curator))
    .collect();
    let stats = get_json(&format!("{}/api/v1/stats", hub.url()), &curator);
    assert_eq!(stats["national"]["participants"], 2);
    assert_eq!(stats["national"]["completions"], 1);
    hub.stop();

    let mut hub_bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("hub.db")
        {
            hub_bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(hub_bytes.len() > 10_000);
    for (reg, name) in people {
        for needle in [
            reg,
            name,
            &reg.to_uppercase(),
            "0457/2025",
            "Rizky",
            "Dimas",
        ] {
            assert!(!api.contains(needle), "API response contains {needle}");
            assert!(
                !hub_bytes
                    .windows(needle.len())
                    .any(|w| w == needle.as_bytes()),
                "the hub's database files contain {needle}"
            );
        }
    }
    // The agent's own database does hold them (locally, where they belong).
    let mut local = std::fs::read(dir.path().join("a/agent.db")).unwrap();
    local.extend(std::fs::read(dir.path().join("a/agent.db-wal")).unwrap_or_default());
    assert!(local.windows(13).any(|w| w == b"Rizky Pratama"));
}

#[test]
fn a_reinstalled_agent_gets_its_records_back_and_two_agents_of_one_upt_converge() {
    let dir = tempfile::tempdir().unwrap();
    let (db, tokens, _) = setup_hub(
        dir.path(),
        &[("LAPAS-MAKASSAR", "lapas", "Sulawesi Selatan")],
    );
    let hub = HubProcess::start(&db, free_addr());
    let office = AgentDir::init(
        &dir.path().join("office"),
        "LAPAS-MAKASSAR",
        &hub.url(),
        &tokens[0],
    );
    let id = office.ok(&[
        "product",
        "add",
        "--name",
        "Perahu miniatur",
        "--category",
        "kerajinan",
        "--price",
        "400000",
        "--stock",
        "5",
    ]);
    office.ok(&["sync"]);

    // The office PC's disk died: a new installation with a new token for the same UPT, and
    // the UPT's pseudonym secret from the offline export.
    let secret = dir.path().join("secret.hex");
    office.ok(&["secret", "export", secret.to_str().unwrap()]);
    let t = office.ok(&[
        "training",
        "add",
        "--program",
        "Ukir kayu",
        "--category",
        "lainnya",
        "--start",
        "2026-09-01",
        "--end",
        "2026-09-30",
    ]);
    office.ok(&[
        "training",
        "enroll",
        t.trim(),
        "--reg-no",
        "BI 77/2024",
        "--name",
        "Andi",
    ]);
    office.ok(&["sync"]);
    let token = HubProcess::admin(&db, &["upt", "token", "LAPAS-MAKASSAR"]);
    let laptop = AgentDir::new(&dir.path().join("laptop"));
    laptop.ok(&[
        "init",
        "--upt",
        "LAPAS-MAKASSAR",
        "--hub",
        &hub.url(),
        "--token",
        token.trim(),
        "--pseudonym-secret-file",
        secret.to_str().unwrap(),
    ]);
    assert_eq!(
        laptop.json(&["product", "list"]).as_array().unwrap().len(),
        0
    );
    let out = laptop.ok(&["sync"]);
    assert!(out.contains("perubahan diterima dari pusat"), "{out}");
    let products = laptop.json(&["product", "list"]);
    assert_eq!(products[0]["name"], "Perahu miniatur");
    // Same secret, same pseudonym: completing the course on the laptop updates the same
    // participant, not a second one.
    laptop.ok(&["training", "complete", t.trim(), "--reg-no", "bi 77/2024"]);
    laptop.ok(&["sync"]);
    let trainings = laptop.json(&["training", "list"]);
    assert_eq!(
        (
            trainings[0]["participants"].as_i64(),
            trainings[0]["completed"].as_i64()
        ),
        (Some(1), Some(1)),
        "{trainings}"
    );

    // A third installation set up without the secret: its first enrolment is refused, loudly
    // and with the fix, before it could give Andi a second pseudonym; with the secret put
    // back, Andi is recognised as enrolled already.
    let tablet = AgentDir::new(&dir.path().join("tablet"));
    tablet.ok(&[
        "init",
        "--upt",
        "LAPAS-MAKASSAR",
        "--hub",
        &hub.url(),
        "--token",
        token.trim(),
    ]);
    tablet.ok(&["sync"]);
    let refused = tablet.run(&[
        "training",
        "enroll",
        t.trim(),
        "--reg-no",
        "BI 77/2024",
        "--name",
        "Andi",
    ]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("sudah punya 1 peserta") && said.contains("karya-agent secret import"),
        "{said}"
    );
    tablet.ok(&["secret", "import", secret.to_str().unwrap()]);
    let again = tablet.run(&[
        "training",
        "enroll",
        t.trim(),
        "--reg-no",
        "BI 77/2024",
        "--name",
        "Andi",
    ]);
    assert!(!again.status.success());
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains("sudah terdaftar"),
        "the same pseudonym: {said}"
    );

    // Both now edit the same product while apart: stock changes add up, and the concurrent
    // price edits are both visible as a conflict, not silently lost.
    office.ok(&["stock", "add", id.trim(), "3"]);
    office.ok(&["product", "edit", id.trim(), "--price", "450000"]);
    laptop.ok(&["stock", "add", id.trim(), "-1"]);
    laptop.ok(&["product", "edit", id.trim(), "--price", "425000"]);
    for _ in 0..2 {
        office.ok(&["sync"]);
        laptop.ok(&["sync"]);
    }
    let a = office.json(&["product", "show", id.trim()]);
    let b = laptop.json(&["product", "show", id.trim()]);
    assert_eq!(a, b, "both installations show the same product");
    assert_eq!(a["stock"], 7);
    let prices = a["conflicts"]["price_idr"].as_array().unwrap();
    assert_eq!(prices.len(), 2, "{a}");
    assert!(prices.contains(&450_000.into()) && prices.contains(&425_000.into()));
    let shown = office.ok(&["product", "show", id.trim()]);
    assert!(shown.contains("KONFLIK pada price_idr"), "{shown}");
}

#[test]
fn a_service_killed_during_a_sync_shows_as_interrupted_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let (db, tokens, _) = setup_hub(dir.path(), &[("RUTAN-BOYOLALI", "rutan", "Jawa Tengah")]);
    let hub = HubProcess::start(&db, free_addr());
    // A link with a 3 s round trip: a sync is long enough to be killed in the middle of.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let link = karya_tests::proxy::Link {
        one_way_delay: Duration::from_millis(1500),
        bytes_per_sec: 0,
    };
    let proxy = rt
        .block_on(karya_tests::proxy::Proxy::start(hub.addr, link))
        .unwrap();
    let mut a = AgentDir::init(
        &dir.path().join("a"),
        "RUTAN-BOYOLALI",
        &proxy.url(),
        &tokens[0],
    );
    a.add_product("Keset sabut", "35000");
    a.start_service();
    a.wait_status("a sync under way", Duration::from_secs(20), |s| {
        s["state"] == "syncing"
    });
    a.kill_service();

    // What is true: no service, no sync; the change not yet acknowledged is still pending.
    let s = a.status();
    assert_eq!(s["state"], "interrupted", "{s}");
    assert_eq!(s["service_running"], false, "{s}");
    let text = a.ok(&["status"]);
    assert!(text.contains("terputus di tengah"), "{text}");
    assert!(text.contains("tidak berjalan"), "{text}");

    // Started again, it goes on and finishes.
    a.start_service();
    let s = a.wait_status("the sync to finish", Duration::from_secs(60), |s| {
        s["state"] == "idle" && s["pending_changes"] == 0
    });
    assert!(s["last_success_at"].is_string(), "{s}");
    drop(proxy);
    drop(hub);
}

#[test]
fn repair_fetches_a_refused_document_again_from_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let (db, tokens, _) = setup_hub(dir.path(), &[("LAPAS-PATI", "lapas", "Jawa Tengah")]);
    let hub = HubProcess::start(&db, free_addr());
    let a = AgentDir::init(&dir.path().join("a"), "LAPAS-PATI", &hub.url(), &tokens[0]);
    a.ok(&["sync"]);

    // Someone edited this PC's copy of the national registry (only HQ may write it).
    {
        let store = karya_shared::Store::open(
            &dir.path().join("a").join("agent.db"),
            Some(karya_agent::identity::SCHEMA),
        )
        .unwrap();
        store
            .change(&karya_shared::DocId::National, |d| {
                karya_shared::schema::put_upt(
                    d,
                    &karya_shared::model::UptInfo::new(
                        "LAPAS-PALSU",
                        "Lapas Palsu",
                        karya_shared::model::UptType::Lapas,
                        "Jawa Tengah",
                    ),
                )
            })
            .unwrap();
    }
    let out = a.run(&["sync"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("ditolak pusat: national"), "{said}");
    // In the operator's words, from the hub's code: no English reason inside the sentence.
    assert!(
        said.contains("hanya boleh ditulis pusat atau Kanwil") && !said.contains("not_writer"),
        "{said}"
    );

    // upt holds a change the hub does not have: not dropped without --force.
    a.add_product("Keset sabut", "35000");
    let out = a.run(&["repair", "upt"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--force"),
        "{out:?}"
    );

    // The repair drops the copy, fetches HQ's, and the sync goes through.
    let out = a.ok(&["repair", "national"]);
    assert!(out.starts_with("sinkron berhasil"), "{out}");
    let s = a.status();
    assert_eq!(s["refused"].as_array().unwrap().len(), 0, "{s}");
    assert_eq!(s["pending_changes"], 0, "{s}");
    let store = karya_shared::Store::open(
        &dir.path().join("a").join("agent.db"),
        Some(karya_agent::identity::SCHEMA),
    )
    .unwrap();
    let codes: Vec<String> = store
        .conn()
        .prepare("SELECT code FROM upts ORDER BY code")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(codes, ["LAPAS-PATI"]);
    drop(hub);
}

#[test]
fn a_hub_restored_from_a_backup_takes_back_what_it_lost_from_the_agents() {
    let dir = tempfile::tempdir().unwrap();
    let (db, tokens, curator) = setup_hub(
        dir.path(),
        &[
            ("LAPAS-PATI", "lapas", "Jawa Tengah"),
            ("RUTAN-KUDUS", "rutan", "Jawa Tengah"),
        ],
    );
    let addr = free_addr();
    let mut hub = HubProcess::start(&db, addr);
    let a = AgentDir::init(&dir.path().join("a"), "LAPAS-PATI", &hub.url(), &tokens[0]);
    let b = AgentDir::init(&dir.path().join("b"), "RUTAN-KUDUS", &hub.url(), &tokens[1]);
    let pa = a.add_product("Keset sabut", "35000");
    let pb = b.add_product("Meja jati", "1850000");
    a.ok(&["sync"]);
    b.ok(&["sync"]);

    // The nightly backup; then HQ decides on both products and registers a new UPT, and
    // both agents receive all of it.
    let backup = dir.path().join("backup.db");
    HubProcess::admin(&db, &["backup", backup.to_str().unwrap()]);
    decide(
        &hub.url(),
        &curator,
        &pa,
        "approved",
        "Dipercepat untuk pameran",
    );
    decide(
        &hub.url(),
        &curator,
        &pb,
        "featured",
        "Dipercepat untuk pameran",
    );
    HubProcess::add_upt(&db, "LPKA-KUTOARJO", "lpka", "Jawa Tengah");
    a.ok(&["sync"]);
    b.ok(&["sync"]);

    // The hub's disk dies; the admin restores last night's backup. HQ's later decisions and
    // the new UPT are gone from the hub, and live only at the UPTs.
    hub.stop();
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
    }
    std::fs::copy(&backup, &db).unwrap();
    let hub = HubProcess::start(&db, addr);
    let admin = HubProcess::issue(&db, "admin", "pusdatin");
    let product = |id: &str| get_json(&format!("{}/api/v1/products/{id}", hub.url()), &admin);
    assert!(product(&pa)["curation"].is_null(), "the restore lost it");

    // The agents sync as always (nobody re-initialises anything): the hub checks its own
    // vouches and takes its lost changes back.
    for agent in [&a, &b] {
        let out = agent.run(&["sync"]);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{said}");
        assert!(!said.contains("refused"), "{said}");
        assert!(!said.contains("duplicate seq"), "{said}");
        assert_eq!(agent.status()["refused"].as_array().unwrap().len(), 0);
    }
    assert_eq!(product(&pa)["curation"]["status"], "approved");
    assert_eq!(product(&pb)["curation"]["status"], "featured");
    let upts = get_json(&format!("{}/api/v1/upts", hub.url()), &admin);
    assert!(
        field_of_each(&upts, "code").contains(&"LPKA-KUTOARJO".to_string()),
        "{upts}"
    );

    // New work after the restore flows both ways, under the hub's new actor.
    decide(
        &hub.url(),
        &curator,
        &pa,
        "featured",
        "Dipercepat untuk pameran",
    );
    a.ok(&["sync"]);
    let shown = a.ok(&["product", "show", &pa]);
    assert!(shown.contains("Kurasi pusat: diunggulkan"), "{shown}");
    // The hub's copy and each agent's copy of `national` agree.
    b.ok(&["sync"]);
    let hub_store = karya_shared::Store::open(&db, None).unwrap();
    let national = hub_store.heads(&karya_shared::DocId::National).unwrap();
    drop(hub);
    for agent in ["a", "b"] {
        let store = karya_shared::Store::open(
            &dir.path().join(agent).join("agent.db"),
            Some(karya_agent::identity::SCHEMA),
        )
        .unwrap();
        let mut mine = store.heads(&karya_shared::DocId::National).unwrap();
        let mut theirs = national.clone();
        mine.sort();
        theirs.sort();
        assert_eq!(mine, theirs, "agent {agent}");
    }
}
