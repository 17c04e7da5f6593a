//! The replica on PostgreSQL, against a real server started by the test: it stores what the
//! SQLite backend stores, writers of one document in two processes lose nothing, a write
//! acknowledged before a SIGKILL survives, a restarted server is reconnected to, and a wrong
//! address says what to check.

use karya_shared::model::{Product, Training, new_id, now_rfc3339};
use karya_shared::store::{PgBackend, Replica, StoreError};
use karya_shared::{DocId, Store, schema};
use karya_tests::pg::PgServer;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

type PgStore = Replica<PgBackend>;

/// The tests' product (karya_tests::memagent's) at `price`.
fn product(name: &str, price: i64) -> Product {
    Product {
        price_idr: price,
        ..karya_tests::memagent::product(name)
    }
}

fn open(url: &str) -> PgStore {
    PgStore::open_postgres(url, None, 4).expect("open the PostgreSQL store")
}

/// Every row of `table`, each column as text, in key order.
fn pg_rows(server: &PgServer, db: &str, table: &str, columns: &[String]) -> Vec<Vec<String>> {
    let mut c = server.client(db);
    let select: Vec<String> = columns
        .iter()
        .map(|col| format!("COALESCE({col}::text, 'NULL')"))
        .collect();
    c.query(
        &format!(
            "SELECT {} FROM {table} ORDER BY {}",
            select.join(", "),
            (1..=columns.len())
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| (0..columns.len()).map(|i| r.get(i)).collect())
    .collect()
}

fn sqlite_rows(store: &Store, table: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let conn = store.conn();
    let columns: Vec<String> = conn
        .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut stmt = conn
        .prepare(&format!(
            "SELECT * FROM {table} ORDER BY {}",
            (1..=columns.len())
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            (0..columns.len())
                .map(|i| {
                    Ok(match r.get::<_, rusqlite::types::Value>(i)? {
                        rusqlite::types::Value::Null => "NULL".to_string(),
                        rusqlite::types::Value::Integer(n) => n.to_string(),
                        rusqlite::types::Value::Real(f) => f.to_string(),
                        rusqlite::types::Value::Text(t) => t,
                        rusqlite::types::Value::Blob(b) => format!("{b:?}"),
                    })
                })
                .collect::<rusqlite::Result<Vec<String>>>()
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    (columns, rows)
}

/// One agent sync of `upt`'s documents against a hub replica of either backend.
fn sync<B: karya_shared::store::Backend>(agent: &Store, hub: &Replica<B>, upt: &str) {
    use karya_shared::server::{self, AgentAuthority};
    use karya_shared::wire::{self, Incoming};
    let authority = AgentAuthority {
        upt: upt.into(),
        key: None,
    };
    let mut session =
        karya_shared::session::SyncSession::new(agent, "pc-1", DocId::for_agent(upt)).unwrap();
    let origin = karya_shared::store::Origin {
        peer: "pc-1",
        token: "t1",
    };
    while let Some(frame) = session.next_request(agent).unwrap() {
        let reply = match Incoming::decode_with(&frame, &wire::Limits::default()).unwrap() {
            Incoming::Request(r) => server::serve(hub, origin, r, &authority)
                .unwrap()
                .response
                .encode(),
            Incoming::Poll(_) => unreachable!("polls are off"),
        };
        session.handle_response(agent, &reply).unwrap();
    }
}

/// An agent's records synced into a hub replica on PostgreSQL and into one on SQLite give
/// the same materialized rows, column by column, and the same document heads; after a
/// compaction and a reopen, the PostgreSQL replica still has them.
#[test]
fn postgres_stores_what_sqlite_stores() {
    let server = PgServer::start();
    let url = server.create_database("hub");
    // Meta entries by prefix (a rebuild's offers, one per UPT), alike on both backends.
    {
        let pg = open(&url);
        let lite = Store::open_in_memory(None).unwrap();
        for (k, v) in [
            ("offer/B", "2"),
            ("offer/A", "1"),
            ("offers", "x"),
            ("other", "y"),
        ] {
            pg.set_meta(k, v).unwrap();
            lite.set_meta(k, v).unwrap();
        }
        let want = vec![
            ("offer/A".to_string(), "1".to_string()),
            ("offer/B".to_string(), "2".to_string()),
        ];
        assert_eq!(pg.meta_with_prefix("offer/").unwrap(), want);
        assert_eq!(lite.meta_with_prefix("offer/").unwrap(), want);
    }
    let agent = Store::open_in_memory(None).unwrap();
    let upt = "LPKA-BDG";
    let doc = DocId::Upt(upt.into());
    let mut kept = Vec::new();
    for i in 0..12 {
        let p = product(&format!("Kursi rotan {i}"), 150_000 + i);
        agent
            .change(&doc, |d| schema::insert_product(d, &p))
            .unwrap();
        kept.push(p);
    }
    // A product whose photos change in the same sync: its photos' rows are deleted and
    // written again in one commit, in that order.
    let photo = |n: u8| karya_shared::model::Photo {
        hash: format!("{n:02x}").repeat(32),
        size: 1000 + u64::from(n),
        width: 800,
        height: 600,
        thumb: format!("{:02x}", n + 100).repeat(32),
        thumb_size: 100,
        caption: format!("foto {n}"),
    };
    let framed = kept[0].id.clone();
    for photos in [vec![photo(1), photo(2)], vec![photo(2), photo(3)]] {
        let patch = karya_shared::model::ProductPatch {
            photos: Some(photos),
            ..Default::default()
        };
        agent
            .change(&doc, |d| {
                schema::edit_product(d, &framed, &patch, &now_rfc3339())
            })
            .unwrap();
    }
    let gone = kept.pop().unwrap();
    agent
        .change(&doc, |d| {
            schema::delete_product(d, &gone.id, &now_rfc3339())
        })
        .unwrap();
    let now = now_rfc3339();
    let t = Training {
        id: new_id().into(),
        program: "Menjahit".into(),
        category: "menjahit".into(),
        partner: "BLK Bandung".into(),
        start_date: time::macros::date!(2026 - 10 - 01),
        end_date: time::macros::date!(2026 - 10 - 30),
        hours: 64,
        instructor: "Ibu Sari".into(),
        capacity: 20,
        scheme: "mandiri".into(),
        created_at: now.clone(),
        updated_at: now.clone(),
        deleted: false,
    };
    agent
        .change(&doc, |d| schema::insert_training(d, &t))
        .unwrap();

    let pg = open(&url);
    let lite = Store::open_in_memory(None).unwrap();
    let same_tables = || {
        sync(&agent, &pg, upt);
        sync(&agent, &lite, upt);
        assert_eq!(pg.heads(&doc).unwrap(), agent.heads(&doc).unwrap());
        for table in [
            "products",
            "product_photos",
            "sales",
            "trainings",
            "participants",
            "curation",
            "upts",
            "categories",
        ] {
            let (columns, want) = sqlite_rows(&lite, table);
            let got = pg_rows(&server, "hub", table, &columns);
            assert_eq!(got, want, "table {table} differs between the two stores");
        }
    };
    same_tables();
    // A second sync whose rows replace stored ones (many per table, written together on
    // PostgreSQL), with new sales and participants beside them.
    agent
        .change(&doc, |d| {
            for p in &kept[1..7] {
                let patch = karya_shared::model::ProductPatch {
                    price_idr: Some(p.price_idr + 1_000),
                    ..Default::default()
                };
                schema::edit_product(d, &p.id, &patch, &now_rfc3339())?;
            }
            for (i, p) in kept[..5].iter().enumerate() {
                schema::insert_sale(
                    d,
                    &karya_shared::model::Sale {
                        id: new_id().into(),
                        product_id: p.id.clone(),
                        date: time::macros::date!(2026 - 11 - 20),
                        quantity: i as i64 + 1,
                        revenue_idr: 150_000 * (i as i64 + 1),
                        channel: karya_shared::model::SaleChannel::Pameran,
                        created_at: now_rfc3339(),
                        stock_taken: Default::default(),
                    },
                )?;
            }
            for n in 0..4 {
                schema::upsert_participant(
                    d,
                    &karya_shared::model::Participant {
                        training_id: t.id.clone(),
                        pseudonym: format!("{n:02x}").repeat(32),
                        enrolled_at: now_rfc3339(),
                        hours_attended: n * 8,
                        status: karya_shared::model::ParticipantStatus::Enrolled,
                        certificate: String::new(),
                    },
                )?;
            }
            Ok(())
        })
        .unwrap();
    same_tables();
    let names: Vec<Vec<String>> = pg_rows(
        &server,
        "hub",
        "products",
        &["name".into(), "deleted".into()],
    );
    assert_eq!(names.len(), 12);
    let sales = pg_rows(&server, "hub", "sales", &["quantity".into()]);
    assert_eq!(sales.len(), 5);
    let participants = pg_rows(&server, "hub", "participants", &["hours_attended".into()]);
    assert_eq!(participants.len(), 4);
    assert_eq!(names.iter().filter(|r| r[1] == "1").count(), 1);
    let photos = pg_rows(
        &server,
        "hub",
        "product_photos",
        &["hash".into(), "thumb".into()],
    );
    let row = |hash: &str, thumb: &str| vec![hash.repeat(32), thumb.to_string()];
    assert_eq!(
        photos,
        vec![
            row("02", "0"),
            row("03", "0"),
            row("66", "1"),
            row("67", "1")
        ],
        "the product's photos (and their thumbnails) are its last two"
    );

    pg.compact(&doc).unwrap();
    assert_eq!(pg.stored_rows(&doc).unwrap(), 1);
    drop(pg);
    let reopened = open(&url);
    assert_eq!(reopened.heads(&doc).unwrap(), agent.heads(&doc).unwrap());
    reopened
        .with_doc(&doc, |d| {
            for p in &kept {
                assert!(schema::read_product(d, &p.id).is_some(), "{} lost", p.name);
            }
        })
        .unwrap();
}

/// What a poll compares (every document's heads and the peer's sync state of it, read at
/// once) follows, in one process, what another process wrote since it last looked, and the
/// sync state the other process stored.
#[test]
fn a_poll_on_one_process_sees_what_another_process_wrote() {
    let server = PgServer::start();
    let url = server.create_database("hub");
    let (a, b) = (open(&url), open(&url));
    let docs = DocId::for_agent("LP-PATI");
    let peer = "LP-PATI/pc-1";
    let before = b.poll_view(peer, &docs).unwrap();
    assert!(before.iter().all(|(heads, _)| heads.is_empty()));
    let p = product("Tas anyaman", 85_000);
    a.change(&docs[0], |d| schema::insert_product(d, &p))
        .unwrap();
    let after = b.poll_view(peer, &docs).unwrap();
    assert_eq!(after.len(), 3);
    assert_eq!(after[0].0, a.heads(&docs[0]).unwrap(), "b sees a's write");
    assert!(!after[0].0.is_empty());
    assert!(after[1].0.is_empty() && after[2].0.is_empty());
    // b marks the peer as having the document; a reads that state.
    let (heads, state) = after.into_iter().next().unwrap();
    b.mark_shared_from(peer, &docs[0], &heads, state).unwrap();
    let seen = a.poll_view(peer, &docs).unwrap();
    assert_eq!(seen[0].1.shared_heads, heads);
    assert!(seen[1].1.shared_heads.is_empty());
    b.with_doc(&docs[0], |d| {
        assert!(schema::read_product(d, &p.id).is_some())
    })
    .unwrap();
}

/// Two processes' handles (each its own pool of connections) write one document at once,
/// one of them compacting as it goes: every write of both is in the document and its row.
#[test]
fn two_writers_of_one_document_on_postgres_lose_nothing() {
    let server = PgServer::start();
    let url = server.create_database("hub");
    drop(open(&url));
    let doc = DocId::Upt("LP-PATI".into());
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let url = url.clone();
            let doc = doc.clone();
            std::thread::spawn(move || {
                let store = open(&url);
                (0..40)
                    .map(|i| {
                        let p = product(&format!("Produk {w}-{i}"), 1000);
                        store
                            .change(&doc, |d| schema::insert_product(d, &p))
                            .unwrap();
                        if w == 1 && i % 10 == 9 {
                            store.compact(&doc).unwrap();
                        }
                        p.id
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let ids: Vec<_> = writers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let store = open(&url);
    let missing: Vec<_> = store
        .with_doc(&doc, |d| {
            ids.iter()
                .filter(|id| schema::read_product(d, id).is_none())
                .cloned()
                .collect::<Vec<_>>()
        })
        .unwrap();
    assert!(missing.is_empty(), "lost: {missing:?}");
    let rows: i64 = server
        .client("hub")
        .query_one("SELECT COUNT(*) FROM products", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 80);
}

/// The child side of the SIGKILL test: writes products to the PostgreSQL store in a loop and
/// prints `ACK <id>` after each write returned. Does nothing unless the parent set
/// KARYA_PG_CRASH_URL.
#[test]
#[ignore = "the child process of the SIGKILL test, which runs it with --ignored"]
fn pg_crash_child_writer() {
    let Ok(url) = std::env::var("KARYA_PG_CRASH_URL") else {
        return;
    };
    use std::io::Write;
    let store = open(&url);
    let doc = DocId::Upt("LP-PATI".into());
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY").unwrap();
    out.flush().unwrap();
    for i in 0u64.. {
        let p = product(&format!("Crash {i}"), 100);
        store
            .change(&doc, |d| schema::insert_product(d, &p))
            .unwrap();
        writeln!(out, "ACK {}", p.id).unwrap();
        out.flush().unwrap();
        if i % 7 == 6 {
            store.compact(&doc).unwrap();
        }
    }
}

/// The child side of the test of the test servers' watchdog: starts a server, says where it
/// is, and waits to be killed. Does nothing unless the parent set KARYA_PG_WATCHDOG_CHILD.
#[test]
#[ignore = "the child process of the watchdog test, which runs it with --ignored"]
fn pg_server_child() {
    if std::env::var_os("KARYA_PG_WATCHDOG_CHILD").is_none() {
        return;
    }
    let server = PgServer::start();
    println!("SERVER {} {}", server.port, server.dir().display());
    std::thread::sleep(Duration::from_secs(120));
}

/// A test process killed from outside (as a CI timeout kills it) does not leave its
/// PostgreSQL server running: the watchdog stops it and removes its folder.
#[test]
fn a_killed_test_process_leaves_no_server_behind() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "pg_store::pg_server_child",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("KARYA_PG_WATCHDOG_CHILD", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let line = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find(|l| l.contains("SERVER "))
        .expect("the child started a server");
    let mut words = line[line.find("SERVER ").unwrap()..]
        .split_whitespace()
        .skip(1);
    let port: u16 = words.next().unwrap().parse().unwrap();
    let dir = std::path::PathBuf::from(words.next().unwrap());
    let answers = || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
    assert!(answers() && dir.is_dir(), "the child's server runs");
    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while (answers() || dir.exists()) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(!answers(), "the server of a killed test process still runs");
    assert!(!dir.exists(), "{} was left behind", dir.display());
}

/// A writer process SIGKILLed 20 times at random points: every write it acknowledged is in
/// the stored document and its table, and the document loads every time.
#[test]
fn every_acknowledged_write_on_postgres_survives_sigkill() {
    let server = PgServer::start();
    let url = server.create_database("hub");
    let doc = DocId::Upt("LP-PATI".into());
    let mut acked = Vec::new();
    for round in 0..20u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "pg_store::pg_crash_child_writer",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("KARYA_PG_CRASH_URL", &url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut ids = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.ends_with("READY") {
                    let _ = tx.send(());
                }
                if let Some(id) = line.strip_prefix("ACK ") {
                    ids.push(id.to_string());
                }
            }
            ids
        });
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the writer started");
        std::thread::sleep(Duration::from_millis(
            30 + (round * 37) % 150 + rand::random::<u64>() % 40,
        ));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        acked.extend(reader.join().unwrap());

        let store = open(&url);
        let d = store
            .with_doc(&doc, |d| d.clone())
            .unwrap_or_else(|e| panic!("round {round}: the document does not load: {e}"));
        for id in &acked {
            assert!(
                schema::read_product(&d, id).is_some(),
                "round {round}: acknowledged product {id} lost"
            );
        }
        let rows: i64 = server
            .client("hub")
            .query_one("SELECT COUNT(*) FROM products", &[])
            .unwrap()
            .get(0);
        assert!(
            rows as usize >= acked.len(),
            "round {round}: the products table lost rows"
        );
    }
    assert!(acked.len() > 20, "too few writes to prove anything");
}

/// The server restarts under an open store (as after a crash of the database machine): the
/// next reads and writes work at once, on new connections.
#[test]
fn a_restarted_server_is_reconnected_to() {
    let server = PgServer::start();
    let url = server.create_database("hub");
    let store = open(&url);
    let doc = DocId::Upt("LP-PATI".into());
    let a = product("Sebelum", 1);
    store
        .change(&doc, |d| schema::insert_product(d, &a))
        .unwrap();
    server.restart();
    let b = product("Sesudah", 2);
    store
        .change(&doc, |d| schema::insert_product(d, &b))
        .expect("a write right after the server restarted");
    store
        .with_doc(&doc, |d| {
            assert!(schema::read_product(d, &a.id).is_some());
            assert!(schema::read_product(d, &b.id).is_some());
        })
        .unwrap();
}

/// A server that is not there, and an address that is not one, say what to check.
#[test]
fn a_wrong_address_says_what_to_check() {
    let port = karya_tests::procs::free_addr().port();
    let err = PgBackend::open(
        &format!("postgres://karya:rahasia@127.0.0.1:{port}/hub"),
        None,
        2,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Unreachable(_)), "{text}");
    assert!(
        text.contains(&format!("127.0.0.1:{port}/hub")) && text.contains("cannot be reached"),
        "{text}"
    );
    assert!(!text.contains("rahasia"), "the password shows: {text}");
    let err = PgBackend::open("postgres://karya@127.0.0.1:notaport/hub", None, 2).unwrap_err();
    assert!(
        err.to_string()
            .contains("postgres://USER:PASSWORD@HOST:PORT/DATABASE"),
        "{err}"
    );
}

/// A database migrated by a newer karya is refused with advice, and left as it is.
#[test]
fn a_newer_schema_on_postgres_is_refused_with_advice() {
    let server = PgServer::start();
    let url = server.create_database("hub");
    drop(open(&url));
    server
        .client("hub")
        .batch_execute("UPDATE karya_schema SET version = 99 WHERE name = 'store'")
        .unwrap();
    let err = PgStore::open_postgres(&url, None, 2).unwrap_err();
    assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
    assert!(err.to_string().contains("upgrade karya"), "{err}");
}

/// A PostgreSQL that takes only TLS and a password, as a managed service does: the store and
/// the hub's own programs reach it with `sslmode=verify-full` and HQ's CA named, every
/// connection encrypted (SCRAM with channel binding); a CA not named, another host name, no
/// TLS at all or a mode that may fall back to none are refused, each with what to do.
#[test]
fn a_tls_only_postgres_is_reached_with_its_certificate_checked() {
    let dir = tempfile::tempdir().unwrap();
    let Some(certs) = karya_tests::certs::make(dir.path()) else {
        return;
    };
    let server = PgServer::start_tls(&certs, "rahasia");
    server.create_database("hub");
    let at = |host: &str, query: &str| {
        format!("postgres://karya:rahasia@{host}:{}/hub{query}", server.port)
    };
    let ca = certs.ca.display();
    // channel_binding=require: the password exchange is bound to this TLS session (SCRAM-
    // SHA-256-PLUS), or the connection fails.
    let url = at(
        "127.0.0.1",
        &format!("?sslmode=verify-full&sslrootcert={ca}&channel_binding=require"),
    );

    let store = open(&url);
    let doc = DocId::Upt("LPKA-TLS".into());
    let p = product("Lewat TLS", 1);
    store
        .change(&doc, |d| schema::insert_product(d, &p))
        .unwrap();
    drop(store);
    let store = open(&url);
    store
        .with_doc(&doc, |d| assert!(schema::read_product(d, &p.id).is_some()))
        .unwrap();

    // The hub's programs with the same address: the admin CLI, and a process that serves
    // (started means its /healthz answered).
    let db = std::path::Path::new(&url);
    let token = karya_tests::procs::HubProcess::add_upt(db, "LPKA-TLS", "lpka", "Jawa Barat");
    assert!(token.starts_with("karya_"), "{token}");
    let blobs = dir.path().join("blobs").to_string_lossy().into_owned();
    let hub = karya_tests::procs::HubProcess::start_with_env(
        db,
        karya_tests::procs::free_addr(),
        &[("KARYA_BLOBS_DIR", blobs.as_str())],
    );
    let (plain, encrypted, bound): (i64, i64, i64) = {
        let row = server
            .client("hub")
            .query_one(
                "SELECT count(*) FILTER (WHERE NOT s.ssl), count(*) FILTER (WHERE s.ssl), \
                        count(*) FILTER (WHERE a.client_addr IS NOT NULL) \
                 FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
                 WHERE a.application_name = 'karya'",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    assert_eq!(plain, 0, "karya's connections without TLS");
    assert!(
        encrypted >= 2 && bound == encrypted,
        "{encrypted} encrypted of {bound}"
    );
    drop(hub);
    drop(store);

    let refused = |url: String| match PgBackend::open(&url, None, 2) {
        Ok(_) => panic!("{url} was accepted"),
        Err(e) => {
            let text = e.to_string();
            eprintln!("{text}");
            assert!(matches!(e, StoreError::Config(_)), "{text}");
            assert!(!text.contains("rahasia"), "the password shows: {text}");
            text
        }
    };
    // HQ's CA not named: the machine's roots do not vouch for the server.
    let text = refused(at("127.0.0.1", "?sslmode=verify-full"));
    assert!(
        text.contains("not trusted") && text.contains("sslrootcert=PATH"),
        "{text}"
    );
    // The certificate names 127.0.0.1, not localhost: verify-full refuses, verify-ca accepts.
    let text = refused(at(
        "localhost",
        &format!("?sslmode=verify-full&sslrootcert={ca}"),
    ));
    assert!(
        text.contains("another host name") && text.contains("verify-ca"),
        "{text}"
    );
    drop(open(&at(
        "localhost",
        &format!("?sslmode=verify-ca&sslrootcert={ca}"),
    )));
    // No TLS: the server's rule refuses it, and says so.
    let text = refused(at("127.0.0.1", ""));
    assert!(
        text.contains("only encrypted connections") && text.contains("sslmode=verify-full"),
        "{text}"
    );
    let text = refused(at("127.0.0.1", "?sslmode=prefer"));
    assert!(text.contains("sslmode=verify-full"), "{text}");
}
