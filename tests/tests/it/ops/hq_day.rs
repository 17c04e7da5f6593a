//! A day at HQ, as its admin runs it: one hub process under continuous syncs of several UPTs
//! and curators' decisions (from the API and from the dashboard's form), a load balancer
//! probing `/healthz` and `/readyz` every 50 ms, and an admin running every admin command
//! against the same database meanwhile; the hub is stopped with SIGTERM and SIGKILL a few
//! times and started again. Nothing the hub acknowledged may be missing afterwards.
//!
//! This is the test that would have caught the lost WAL: a readiness check that opened and
//! closed the database file dropped the serving hub's SQLite locks, the next admin command
//! deleted the write-ahead log under it, and every write acknowledged after that was gone at
//! the next restart.

use karya_shared::schema::DocId;
use karya_tests::memagent::Agent;
use karya_tests::procs::{HubProcess, free_addr};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the clients were told was stored.
#[derive(Default)]
struct Told {
    /// "UPT/product id" of every product a sync acknowledged.
    products: BTreeSet<String>,
    /// "UPT/product id" → the note of the decision the hub acknowledged (one per product).
    decisions: BTreeMap<String, String>,
}

/// A backup the admin took, with what had been acknowledged before it started.
struct Backup {
    file: PathBuf,
    products: BTreeSet<String>,
    decisions: BTreeMap<String, String>,
}

const UPTS: [&str; 3] = ["LAPAS-PATI", "RUTAN-KUDUS", "LPKA-BLITAR"];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// An admin command against the hub's database; its output, or what it said on failure.
fn admin(db: &str, env: &[(&str, &str)], args: &[&str]) -> Result<String, String> {
    let out = HubProcess::hub_cmd(Path::new(db))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "karya-hub {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Signs in to the dashboard with `token`: the session cookie.
async fn sign_in(c: &reqwest::Client, base: &str, token: &str) -> Option<String> {
    let r = karya_tests::post_sign_in(c, base, token).await.ok()?;
    let cookie = r.headers().get("set-cookie")?.to_str().ok()?;
    Some(cookie.split(';').next()?.to_string())
}

/// Decides on one product with the dashboard's form (the page's CSRF value, then the POST);
/// whether the hub said it stored the decision.
async fn decide_with_form(
    c: &reqwest::Client,
    base: &str,
    cookie: &str,
    key: &str,
    note: &str,
) -> Result<bool, ()> {
    let page = c
        .get(format!("{base}/produk/{key}"))
        .header("cookie", cookie)
        .send()
        .await
        .map_err(|_| ())?;
    if page.status() != 200 {
        if std::env::var_os("HQ_DEBUG").is_some() {
            eprintln!("page {key}: {}", page.status());
        }
        return Err(());
    }
    let html = page.text().await.map_err(|_| ())?;
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or(())?
        .to_string();
    let r = c
        .post(format!("{base}/produk/{key}/keputusan"))
        .header("cookie", cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("status", "in_review"),
            ("catatan", note),
        ])
        .send()
        .await
        .map_err(|_| ())?;
    let location = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default();
    if std::env::var_os("HQ_DEBUG").is_some() {
        eprintln!("form {key}: {} {location}", r.status());
    }
    Ok(r.status() == 303 && location.contains("pesan=disimpan"))
}

/// Every product the hub serves now: "UPT/id" → the note of its decision ("" for none).
fn products_at_hub(base: &str, token: &str) -> BTreeMap<String, String> {
    let rt = runtime();
    let mut all = BTreeMap::new();
    let mut after = String::new();
    loop {
        let url = format!("{base}/api/v1/products?limit=1000&after={after}");
        let page: serde_json::Value = rt.block_on(async {
            client()
                .get(&url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        for p in page["items"].as_array().unwrap() {
            let key = format!(
                "{}/{}",
                p["upt"].as_str().unwrap(),
                p["id"].as_str().unwrap()
            );
            let note = p["curation"]["note"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            all.insert(key, note);
        }
        match page["next"].as_str() {
            Some(next) => after = next.to_string(),
            None => return all,
        }
    }
}

/// The hub's open files that name the database but are no longer on disk (the deleted WAL).
fn deleted_database_files(pid: u32, db: &Path) -> Vec<String> {
    let name = db.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .map(|l| l.to_string_lossy().into_owned())
        .filter(|l| l.contains(&name) && l.ends_with("(deleted)"))
        .collect()
}

/// Runs the day against the database `db` (a file, or a PostgreSQL address with `env`
/// naming the photos' folder).
pub fn run(dir: &Path, db: &str, env: &[(&str, &str)]) {
    let postgres = karya_shared::store::is_postgres_url(db);
    let addr = free_addr();
    let mut hub = HubProcess::start_new(Path::new(db), addr, env);
    let base = hub.url();
    let mut tokens = Vec::new();
    for code in UPTS {
        let name = format!("UPT {code}");
        let token = admin(
            db,
            env,
            &[
                "upt",
                "add",
                code,
                "--name",
                &name,
                "--type",
                "lapas",
                "--kanwil",
                "Jawa Tengah",
            ],
        )
        .unwrap();
        tokens.push(token.trim().to_string());
    }
    let curator = admin(
        db,
        env,
        &["token", "issue", "--role", "curator", "--name", "Subdit"],
    )
    .unwrap()
    .trim()
    .to_string();
    let told = Arc::new(Mutex::new(Told::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();

    // The UPTs: a product, a sync, again; what a sync acknowledged is counted as told.
    for (code, token) in UPTS.iter().zip(&tokens) {
        let (code, token, base) = (code.to_string(), token.clone(), base.clone());
        let (told, stop) = (told.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let rt = runtime();
            let mut agent = Agent::new(&code, &base, &token);
            let mut pending = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let id = agent.add_product(&format!("Produk {code} {n}"));
                pending.push(format!("{code}/{id}"));
                let docs = DocId::for_agent(&code);
                let synced = rt.block_on(karya_agent::client::sync_once(
                    &agent.store,
                    &agent.client,
                    &agent.peer,
                    docs,
                ));
                if synced.is_ok() {
                    told.lock().unwrap().products.extend(pending.drain(..));
                }
                std::thread::sleep(Duration::from_millis(60));
            }
        }));
    }

    // Curators: decisions on acknowledged products, from the API and from the form.
    for form in [false, true] {
        let (base, curator) = (base.clone(), curator.clone());
        let (told, stop) = (told.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let rt = runtime();
            let c = client();
            let mut cookie = None;
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(80));
                // Products no decision was told about yet, split between the two curators.
                let key = {
                    let t = told.lock().unwrap();
                    t.products
                        .iter()
                        .filter(|k| !t.decisions.contains_key(*k))
                        .find(|k| (k.len() % 2 == 1) == form)
                        .cloned()
                };
                let Some(key) = key else { continue };
                n += 1;
                let note = format!("{} {n}", if form { "formulir" } else { "api" });
                let stored = if form {
                    if cookie.is_none() {
                        cookie = rt.block_on(sign_in(&c, &base, &curator));
                    }
                    let Some(ck) = &cookie else { continue };
                    match rt.block_on(decide_with_form(&c, &base, ck, &key, &note)) {
                        Ok(stored) => stored,
                        Err(()) => {
                            cookie = None;
                            false
                        }
                    }
                } else {
                    let (upt, id) = key.split_once('/').unwrap();
                    rt.block_on(async {
                        c.post(format!("{base}/api/v1/curation/{id}?upt={upt}"))
                            .bearer_auth(&curator)
                            .json(&serde_json::json!({ "status": "approved", "note": note }))
                            .send()
                            .await
                            .is_ok_and(|r| r.status() == 200)
                    })
                };
                if stored {
                    told.lock().unwrap().decisions.insert(key, note);
                }
            }
        }));
    }

    // The load balancer: /healthz and /readyz every 50 ms.
    let ready_seen = Arc::new(AtomicUsize::new(0));
    {
        let (base, stop, ready_seen) = (base.clone(), stop.clone(), ready_seen.clone());
        threads.push(std::thread::spawn(move || {
            let rt = runtime();
            let c = client();
            while !stop.load(Ordering::Relaxed) {
                for path in ["/healthz", "/readyz"] {
                    let ok = rt.block_on(async {
                        c.get(format!("{base}{path}"))
                            .send()
                            .await
                            .is_ok_and(|r| r.status() == 200)
                    });
                    if ok && path == "/readyz" {
                        ready_seen.fetch_add(1, Ordering::Relaxed);
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }));
    }

    // The admin: every admin command, round after round, on the same database.
    let backups = Arc::new(Mutex::new(Vec::<Backup>::new()));
    let admin_failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let rounds = Arc::new(AtomicUsize::new(0));
    {
        let db = db.to_string();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let dir = dir.to_path_buf();
        let (told, stop, backups, failures, rounds) = (
            told.clone(),
            stop.clone(),
            backups.clone(),
            admin_failures.clone(),
            rounds.clone(),
        );
        threads.push(std::thread::spawn(move || {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let code = format!("BAPAS-{n}");
                let name = format!("Bapas {n}");
                let backup = dir.join(format!("backup-{n}.db"));
                let site = dir.join("katalog");
                let backup_s = backup.to_string_lossy().into_owned();
                let site_s = site.to_string_lossy().into_owned();
                let mut commands: Vec<Vec<&str>> = vec![
                    vec!["upt", "list"],
                    vec![
                        "upt",
                        "add",
                        &code,
                        "--name",
                        &name,
                        "--type",
                        "bapas",
                        "--kanwil",
                        "Jawa Tengah",
                    ],
                    vec!["token", "issue", "--role", "viewer", "--name", &name],
                    vec!["token", "list"],
                    vec!["audit", "--limit", "5"],
                    vec![
                        "catalogue",
                        "export",
                        &site_s,
                        "--base-url",
                        "https://katalog.example",
                    ],
                ];
                if !postgres {
                    commands.push(vec!["backup", &backup_s]);
                    commands.push(vec!["migrate", "--check"]);
                }
                for args in commands {
                    let before = (args[0] == "backup").then(|| {
                        let t = told.lock().unwrap();
                        (t.products.clone(), t.decisions.clone())
                    });
                    match admin(&db, &env, &args) {
                        Ok(_) => {
                            if let Some((products, decisions)) = before {
                                backups.lock().unwrap().push(Backup {
                                    file: backup.clone(),
                                    products,
                                    decisions,
                                });
                            }
                        }
                        Err(e) => failures.lock().unwrap().push(e),
                    }
                }
                rounds.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    // The day: the hub serves a while, is stopped (SIGTERM, SIGKILL, ...) and started again.
    let db_path = Path::new(db);
    for (i, hard) in [false, true, true, false, true].into_iter().enumerate() {
        std::thread::sleep(Duration::from_secs(4));
        if !postgres {
            let pid = hub.pid().unwrap();
            assert_eq!(
                deleted_database_files(pid, db_path),
                Vec::<String>::new(),
                "round {i}: the hub writes into a database file that is gone from the disk"
            );
        }
        if hard {
            hub.kill_hard();
        } else {
            hub.stop();
        }
        std::thread::sleep(Duration::from_millis(300));
        hub = HubProcess::start_with_env(db_path, addr, env);
    }
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }

    let told = told.lock().unwrap();
    assert!(
        told.products.len() >= 60,
        "the UPTs got only {} products acknowledged",
        told.products.len()
    );
    assert!(
        told.decisions
            .values()
            .filter(|n| n.starts_with("api"))
            .count()
            >= 5
            && told
                .decisions
                .values()
                .filter(|n| n.starts_with("formulir"))
                .count()
                >= 5,
        "too few decisions were acknowledged to mean anything: {:?}",
        told.decisions.values().collect::<Vec<_>>()
    );
    assert!(
        rounds.load(Ordering::Relaxed) >= 2,
        "the admin loop ran too little"
    );
    assert!(
        ready_seen.load(Ordering::Relaxed) > 20,
        "/readyz was rarely ready"
    );
    assert_eq!(
        admin_failures.lock().unwrap().clone(),
        Vec::<String>::new(),
        "admin commands failed while the hub served"
    );

    // One more restart: what the hub has now is what it kept.
    if !postgres {
        assert_eq!(
            deleted_database_files(hub.pid().unwrap(), db_path),
            Vec::<String>::new()
        );
    }
    hub.stop();
    let hub = HubProcess::start_with_env(db_path, addr, env);
    let admin_token = admin(
        db,
        env,
        &["token", "issue", "--role", "admin", "--name", "pemeriksa"],
    )
    .unwrap();
    let kept = products_at_hub(&hub.url(), admin_token.trim());
    let lost: Vec<_> = told
        .products
        .iter()
        .filter(|k| !kept.contains_key(*k))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged products are not at the hub after the restarts: {:?}",
        lost.len(),
        told.products.len(),
        lost.iter().take(5).collect::<Vec<_>>()
    );
    let lost: Vec<_> = told
        .decisions
        .iter()
        .filter(|(k, note)| kept.get(*k) != Some(note))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged decisions are not at the hub after the restarts: {:?}",
        lost.len(),
        told.decisions.len(),
        lost.iter().take(5).collect::<Vec<_>>()
    );
    drop(hub);

    if !postgres {
        let ok: String = rusqlite::Connection::open(db)
            .unwrap()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        let backups = backups.lock().unwrap();
        assert!(backups.len() >= 2, "too few backups were taken");
        for b in backups.iter() {
            let conn = rusqlite::Connection::open_with_flags(
                &b.file,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .unwrap();
            let ok: String = conn
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(ok, "ok", "{}", b.file.display());
            let mut stmt = conn
                .prepare("SELECT upt || '/' || id FROM products")
                .unwrap();
            let held: BTreeSet<String> = stmt
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let missing = b.products.difference(&held).count();
            assert_eq!(
                missing,
                0,
                "{} lacks {missing} acknowledged products",
                b.file.display()
            );
            let mut stmt = conn
                .prepare("SELECT upt || '/' || product_id, note FROM curation")
                .unwrap();
            let decided: BTreeMap<String, String> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            for (k, note) in &b.decisions {
                assert_eq!(
                    decided.get(k),
                    Some(note),
                    "{} lacks the decision on {k}",
                    b.file.display()
                );
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&b.file).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{} is readable by others", b.file.display());
            }
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in [db_path.to_path_buf(), db_path.with_extension("blobs")] {
                let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
                assert_eq!(
                    mode & 0o077,
                    0,
                    "{} is open to others ({mode:o})",
                    f.display()
                );
            }
        }
    }
}
