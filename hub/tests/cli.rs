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
    assert!(String::from_utf8_lossy(&out.stderr).contains("huruf besar"));

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

    // A token limited to a Kanwil: only one that UPTs are registered in, never an admin's.
    let out = hub(
        &db,
        &[
            "token", "issue", "--role", "viewer", "--name", "V", "--kanwil", "Atlantis",
        ],
    );
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("no UPT is registered in Kanwil 'Atlantis'"),
        "{said}"
    );
    let out = hub(
        &db,
        &[
            "token", "issue", "--role", "admin", "--name", "A", "--kanwil", "Atlantis",
        ],
    );
    assert!(!out.status.success());

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

#[test]
fn upt_import_is_all_or_nothing_and_update_issues_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "code,name,type,kanwil\nLAPAS-PATI,Lapas Pati,lapas,Jawa Tengah\nbad code,x,lapas,x\nRUTAN-KUDUS,Rutan Kudus,rutan,Jawa Tengah\n",
    )
    .unwrap();
    let out = hub(&db, &["upt", "import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("row 3") && err.contains("nothing was registered"),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "no token is printed for a refused file"
    );
    let out = hub(&db, &["--json", "upt", "list"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 0, "nothing registered: {v}");

    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        "code,name,type,kanwil\nLAPAS-PATI,Lapas Pati,lapas,Jawa Tengah\nRUTAN-KUDUS,Rutan Kudus,rutan,Jawa Tengah\n",
    )
    .unwrap();
    let out = hub(&db, &["upt", "import", good.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let lines = String::from_utf8(out.stdout).unwrap();
    assert_eq!(lines.lines().count(), 2);
    assert!(lines.lines().all(|l| l.contains(",karya_")), "{lines}");

    // The same file again names registered UPTs: an error, unless --update.
    let out = hub(&db, &["upt", "import", good.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already registered") && err.contains("--update"),
        "{err}"
    );
    std::fs::write(
        &good,
        "code,name,type,kanwil\nLAPAS-PATI,Lapas Kelas IIB Pati,lapas,Jawa Tengah\n",
    )
    .unwrap();
    let out = hub(&db, &["upt", "import", "--update", good.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "no new token on --update");
    let out = hub(&db, &["--json", "upt", "list"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pati = v
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["code"] == "LAPAS-PATI")
        .unwrap();
    assert_eq!(pati["name"], "Lapas Kelas IIB Pati");
    let out = hub(&db, &["--json", "token", "list"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2, "one token per UPT: {v}");
}

#[test]
fn serve_on_a_missing_database_says_so_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("typo.db");
    let out = hub(&db, &["serve", "--listen", "127.0.0.1:0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no hub database") && err.contains("--create"),
        "{err}"
    );
    assert!(!db.exists(), "no empty national hub was created");
}
