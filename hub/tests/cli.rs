//! The karya-hub admin commands as the hub admin runs them.

use std::process::Command;

fn hub(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_karya-hub"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn register_upts_and_manage_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let out = hub(
        &db,
        &[
            "upt",
            "add",
            "LAPAS-CIPINANG",
            "--name",
            "Lapas Kelas I Cipinang",
            "--type",
            "lapas",
            "--kanwil",
            "DKI Jakarta",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8(out.stdout).unwrap();
    assert!(token.trim().starts_with("karya_"), "{token}");

    let out = hub(
        &db,
        &[
            "upt", "add", "bad code", "--name", "x", "--type", "lapas", "--kanwil", "x",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("upper-case"));

    let out = hub(
        &db,
        &[
            "--json", "token", "issue", "--role", "curator", "--name", "Kurator",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    let out = hub(&db, &["token", "revoke", &id]);
    assert!(out.status.success());
    let out = hub(&db, &["token", "revoke", &id]);
    assert!(!out.status.success(), "revoking twice is an error");

    let out = hub(&db, &["--json", "token", "list"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(token.trim()),
        "tokens are never shown again"
    );

    let out = hub(&db, &["--json", "upt", "list"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["code"], "LAPAS-CIPINANG");
    assert_eq!(v[0]["stale"], true, "never synced");

    let out = hub(&db, &["config", "example"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("listen = \"127.0.0.1:8080\""));
}
