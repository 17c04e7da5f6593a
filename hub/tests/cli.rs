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

/// A new hub's database at `dir/hub.db`, made as `serve --create` makes it (the library's
/// own open, so that no server has to run for the admin commands' tests).
fn new_hub(dir: &std::path::Path) -> std::path::PathBuf {
    let db = dir.join("hub.db");
    let config = karya_hub::Config {
        db: db.clone(),
        ..Default::default()
    };
    karya_hub::db::HubDb::open(&config, karya_hub::db::Create::IfMissing).unwrap();
    db
}

#[test]
fn register_upts_and_manage_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let db = new_hub(dir.path());
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
    let db = new_hub(dir.path());
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

#[test]
fn only_serve_create_makes_a_hub_database_and_every_other_command_names_the_path_it_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("typo.db");
    for args in [
        &["upt", "list"][..],
        &["token", "list"],
        &["token", "issue", "--role", "viewer", "--name", "v"],
        &[
            "upt",
            "add",
            "LAPAS-PATI",
            "--name",
            "x",
            "--type",
            "lapas",
            "--kanwil",
            "x",
        ],
        &["audit"],
        &["backup", "copy.db"],
        &["migrate", "--check"],
    ] {
        let out = hub(&db, args);
        assert!(
            !out.status.success(),
            "{args:?} succeeded on a missing database"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&*db.to_string_lossy()), "{args:?}: {err}");
        assert!(!db.exists(), "{args:?} created a database");
    }
    // Nothing names a database: refused, never ./karya-hub.db of wherever it runs.
    let out = Command::new(env!("CARGO_BIN_EXE_karya-hub"))
        .args(["upt", "list"])
        .current_dir(dir.path())
        .env_remove("KARYA_DB")
        .env_remove("KARYA_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("which hub database"),
        "{out:?}"
    );
    assert!(!dir.path().join("karya-hub.db").exists());
    // A relative db in the settings file is the file's folder's, from any folder.
    let etc = dir.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    std::fs::write(etc.join("hub.toml"), "db = \"hub.db\"\n").unwrap();
    new_hub(&etc);
    let out = Command::new(env!("CARGO_BIN_EXE_karya-hub"))
        .args([
            "--config",
            &etc.join("hub.toml").to_string_lossy(),
            "upt",
            "list",
        ])
        .current_dir(dir.path())
        .env_remove("KARYA_DB")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

#[cfg(unix)]
#[test]
fn the_database_and_its_backups_are_the_hub_users_alone_and_backup_refuses_a_folder_others_may_write()
 {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = new_hub(dir.path());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&db), 0o600);
    let copy = dir.path().join("copy.db");
    let out = hub(&db, &["backup", &copy.to_string_lossy()]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(mode(&copy), 0o600);
    let open = dir.path().join("terbuka");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = hub(&db, &["backup", &open.join("copy.db").to_string_lossy()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("every user") && err.contains("0700"), "{err}");
    assert!(!open.join("copy.db").exists());
    // A database an older version made 0644 is tightened when a command opens it to write.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = hub(&db, &["token", "issue", "--role", "viewer", "--name", "v"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(mode(&db), 0o600);
}

/// `karya-hub config example | head`: the reader goes away first; the command ends quietly
/// (by SIGPIPE, as `ls` does), not with a panic on stderr.
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_karya-hub"))
        .args(["config", "example"])
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "{:?} {stderr}",
        out.status
    );
}
