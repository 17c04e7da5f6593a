//! The karya-agent binary as an operator runs it, offline (no hub anywhere).

use std::process::Command;

fn agent(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_karya-agent"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn records_work_offline_and_errors_name_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = agent(d, &["product", "list"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("karya-agent init"),
        "{out:?}"
    );

    let out = agent(
        d,
        &[
            "init",
            "--upt",
            "LAPAS-PATI",
            "--hub",
            "http://127.0.0.1:9",
            "--token",
            "karya_x_y",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let out = agent(
        d,
        &[
            "product",
            "add",
            "--name",
            "Kursi jati",
            "--category",
            "furnitur",
            "--price",
            "900000",
            "--stock",
            "3",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(id.len(), 32);

    let out = agent(
        d,
        &[
            "product",
            "add",
            "--name",
            "X",
            "--category",
            "mainan",
            "--price",
            "1",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("category") && err.contains("furnitur"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one-line reason: {err}");

    let out = agent(d, &["stock", "add", &id[..8], "-5"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only 3 in stock"));
    let out = agent(d, &["stock", "add", &id[..8], "-2"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("stock now 1"),
        "{out:?}"
    );

    let out = agent(d, &["--json", "product", "show", &id]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stock"], 1);
    assert_eq!(v["name"], "Kursi jati");

    let out = agent(
        d,
        &[
            "product",
            "edit",
            &id[..8],
            "--cert",
            "sni:SNI-7206:2029-06-30",
            "--cert",
            "haki:IDM000123",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let out = agent(d, &["product", "show", &id[..8]]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("certification: sni SNI-7206, valid until 2029-06-30"),
        "{shown}"
    );
    assert!(shown.contains("certification: haki IDM000123"), "{shown}");
    let out = agent(d, &["product", "edit", &id[..8], "--cert", "iso:9001"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("halal, pirt, bpom, haki, sni"));

    // The committed template imports as it is.
    let template = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/produk.csv");
    let out = agent(d, &["import", template]);
    assert!(out.status.success(), "{out:?}");
    let out = agent(d, &["--json", "product", "list"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keripik = v
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Keripik tempe")
        .unwrap();
    assert_eq!(keripik["certifications"].as_array().unwrap().len(), 2);
    assert_eq!(keripik["certifications"][0]["kind"], "pirt");

    let out = agent(
        d,
        &[
            "training",
            "add",
            "--program",
            "Las",
            "--category",
            "las",
            "--start",
            "2026-03-10",
            "--end",
            "2026-03-01",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("before start date"));

    let out = agent(d, &["--json", "status"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // add, stock -2, certifications, import: the refused commands left nothing.
    assert_eq!(v["pending_changes"], 4, "{v}");
    assert_eq!(v["last_success_at"], serde_json::Value::Null);
}
