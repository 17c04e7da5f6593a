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
    assert_eq!(v["pending_changes"], 2, "{v}");
    assert_eq!(v["last_success_at"], serde_json::Value::Null);
}
