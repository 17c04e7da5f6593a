//! Product photos over the link: after the records, resumable from the hub's acknowledged
//! byte (tus 1.0 core), checked (own UPT, size, quota, hash), whole or absent at the hub, and
//! never carrying the phone's metadata.

use karya_agent::{records, uploads};
use karya_hub::auth::Role;
use karya_shared::model::Photo;
use karya_tests::memagent::{Agent, get_json as get_json_async};
use karya_tests::procs::{AgentDir, HubProcess, SmallDisk, free_addr, get_json};
use karya_tests::{GPS_MARKER, TestHub, contains_bytes, phone_photo};
use std::io::{Read, Write};
use std::time::Duration;

async fn head(hub: &TestHub, token: &str, hash: &str) -> reqwest::Response {
    reqwest::Client::new()
        .head(format!("{}/api/v1/uploads/{hash}", hub.url()))
        .bearer_auth(token)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .unwrap()
}

async fn patch(
    hub: &TestHub,
    token: &str,
    hash: &str,
    offset: u64,
    bytes: &[u8],
) -> reqwest::Response {
    reqwest::Client::new()
        .patch(format!("{}/api/v1/uploads/{hash}", hub.url()))
        .bearer_auth(token)
        .header("tus-resumable", "1.0.0")
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", offset.to_string())
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap()
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// A product of `agent` with one photo made from a phone JPEG; (product id, photo).
fn product_with_photo(agent: &mut Agent, dir: &std::path::Path, name: &str) -> (String, Photo) {
    product_with_photo_of(agent, dir, name, (2000, 1500))
}

/// As [`product_with_photo`], with a photo of the given size (another size, other bytes).
fn product_with_photo_of(
    agent: &mut Agent,
    dir: &std::path::Path,
    name: &str,
    (w, h): (u32, u32),
) -> (String, Photo) {
    let id = agent.add_product(name);
    let file = dir.join(format!("{name}.jpg"));
    std::fs::write(&file, phone_photo(w, h)).unwrap();
    let added = records::add_photos(
        &mut agent.store,
        dir,
        &agent.upt.clone(),
        &id,
        &[file],
        "Tampak depan",
    )
    .unwrap();
    (id, added[0].clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn photos_go_after_the_records_resume_at_the_acknowledged_byte_and_are_checked() {
    let hub = TestHub::start().await;
    let ta = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    let tb = hub.add_upt("RUTAN-SOLO", "rutan", "Jawa Tengah");
    let (_, viewer) = hub.issue(Role::Viewer, "analis");
    let data = tempfile::tempdir().unwrap();
    let mut a = Agent::new("LAPAS-PATI", &hub.url(), &ta);
    let (id, photo) = product_with_photo(&mut a, data.path(), "Meja-jati");
    let full = std::fs::read(karya_agent::photos::blob_path(data.path(), &photo.hash)).unwrap();
    assert_eq!(full.len() as u64, photo.size);

    // Before its record reaches the hub, nobody names the photo: refused, with the reason.
    let r = head(&hub, &ta, &photo.hash).await;
    assert_eq!(r.status(), 404);
    assert!(header(&r, "upload-refused").contains("syncs the records first"));

    a.sync().await;
    let r = head(&hub, &ta, &photo.hash).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "tus-resumable"), "1.0.0");
    assert_eq!(header(&r, "upload-offset"), "0");
    assert_eq!(header(&r, "upload-length"), photo.size.to_string());

    // Another UPT's agent may not upload (or probe) it.
    let r = patch(&hub, &tb, &photo.hash, 0, &full[..1000]).await;
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("no product of RUTAN-SOLO"));

    // The first part is acknowledged.
    let r = patch(&hub, &ta, &photo.hash, 0, &full[..10_000]).await;
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "upload-offset"), "10000");
    // A part cut mid-way (the link drops): nothing of it is kept.
    let mut raw = std::net::TcpStream::connect(hub.addr).unwrap();
    write!(
        raw,
        "PATCH /api/v1/uploads/{} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ta}\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 10000\r\nContent-Length: 20000\r\n\r\n",
        photo.hash
    )
    .unwrap();
    raw.write_all(&full[10_000..15_000]).unwrap();
    raw.shutdown(std::net::Shutdown::Both).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = head(&hub, &ta, &photo.hash).await;
    assert_eq!(
        header(&r, "upload-offset"),
        "15000",
        "resume after what arrived"
    );
    // A part sent again from an acknowledged offset is refused with where to resume.
    let r = patch(&hub, &ta, &photo.hash, 0, &full[..10_000]).await;
    assert_eq!(r.status(), 409);
    assert_eq!(header(&r, "upload-offset"), "15000");

    // The agent's upload goes on from there: the acknowledged bytes are not sent again. (The
    // parts above stand for the agent's own upload, cut by the link: it remembers having
    // begun it, and asks the hub where it stands before sending. The thumbnail, never tried,
    // goes at once: one request, no HEAD before it.)
    a.store
        .conn()
        .execute(
            "INSERT INTO upload_tries (hash, at) VALUES (?1, '2026-12-05T00:00:00Z')",
            [&photo.hash],
        )
        .unwrap();
    a.client.set_rate(100_000_000.0); // a fast link: each photo in one part
    let requests = a.client.requests();
    let up = uploads::upload_photos(&a.store, data.path(), "LAPAS-PATI", &a.client, None)
        .await
        .unwrap();
    assert_eq!((up.sent, up.waiting, up.refused.len()), (2, 0, 0), "{up:?}");
    assert_eq!(up.bytes, photo.size - 15_000 + photo.thumb_size);
    assert_eq!(
        a.client.requests() - requests,
        3,
        "the thumbnail's PATCH, then the photo's HEAD and PATCH"
    );
    let again = uploads::upload_photos(&a.store, data.path(), "LAPAS-PATI", &a.client, None)
        .await
        .unwrap();
    assert_eq!(
        (again.sent, again.bytes, again.waiting),
        (0, 0, 0),
        "nothing twice"
    );

    // The national view serves it: the same bytes, immutable, revalidated by ETag.
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/api/v1/blobs/{}", hub.url(), photo.hash))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "image/jpeg");
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    assert!(header(&r, "cache-control").contains("immutable"));
    let etag = header(&r, "etag");
    assert_eq!(r.bytes().await.unwrap().as_ref(), full.as_slice());
    let r = http
        .get(format!("{}/api/v1/blobs/{}", hub.url(), photo.hash))
        .bearer_auth(&viewer)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let (_, p) = get_json_async(&format!("{}/api/v1/products/{id}", hub.url()), &viewer).await;
    assert_eq!(p["photos"][0]["hash"], photo.hash.as_str(), "{p}");
    assert_eq!(p["photos"][0]["thumb"], photo.thumb.as_str());
    assert_eq!(p["photos"][0]["caption"], "Tampak depan");
    // The catalogue shows the thumbnail; the product's page links the full photo.
    let page = karya_tests::memagent::get_body(&format!("{}/katalog", hub.url()), &viewer).await;
    assert!(
        page.contains(&format!("<img src=\"/api/v1/blobs/{}\"", photo.thumb)),
        "{page}"
    );
    let upt = p["upt"].as_str().unwrap();
    let page =
        karya_tests::memagent::get_body(&format!("{}/produk/{upt}/{id}", hub.url()), &viewer).await;
    assert!(
        page.contains(&format!(
            "<a href=\"/api/v1/blobs/{}\"><img src=\"/api/v1/blobs/{}\"",
            photo.hash, photo.thumb
        )),
        "{page}"
    );
    // No agent token reads photos; no viewer uploads them.
    let r = http
        .get(format!("{}/api/v1/blobs/{}", hub.url(), photo.hash))
        .bearer_auth(&ta)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        patch(&hub, &viewer, &photo.hash, 0, b"x").await.status(),
        403
    );

    // A hub whose photo folder was put back from an older copy lacks the photo: the agent's
    // daily check finds out, and sends it again.
    std::fs::remove_file(hub.state.blobs.path(&photo.hash)).unwrap();
    let up = uploads::upload_photos(&a.store, data.path(), "LAPAS-PATI", &a.client, None)
        .await
        .unwrap();
    assert_eq!(up.sent, 0, "checked once a day, not at every sync");
    a.store.set_meta(uploads::RECHECKED_KEY, "0").unwrap();
    let up = uploads::upload_photos(&a.store, data.path(), "LAPAS-PATI", &a.client, None)
        .await
        .unwrap();
    assert_eq!((up.sent, up.bytes), (1, photo.size), "{up:?}");
    assert!(hub.state.blobs.has(&photo.hash));

    // Where the phone put its location, the hub has nothing: every file it keeps is scanned.
    let mut scanned = 0;
    for entry in walk(&hub.state.config.blobs_path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(!contains_bytes(&bytes, GPS_MARKER), "{}", entry.display());
        assert!(!contains_bytes(&bytes, b"Exif"), "{}", entry.display());
        scanned += 1;
    }
    assert_eq!(scanned, 2, "the photo and its thumbnail");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_bytes_an_oversized_photo_and_a_full_quota_are_refused_with_the_reason() {
    let hub = TestHub::start_configured(karya_hub::Config {
        max_photo_bytes: 50_000,
        photo_quota_bytes: 80_000,
        ..Default::default()
    })
    .await;
    let ta = hub.add_upt("LPKA-BLITAR", "lpka", "Jawa Timur");
    let mut a = Agent::new("LPKA-BLITAR", &hub.url(), &ta);
    let id = a.add_product("Keset");
    // Records naming photos this test uploads by hand: two JPEGs that fit the size limit
    // but not the quota together, and bytes that are no photo at all.
    let bytes_a = karya_tests::noise_jpeg(195, 160, 1);
    let bytes_b = karya_tests::noise_jpeg(200, 165, 2);
    assert!(bytes_a.len() < 50_000 && bytes_b.len() < 50_000);
    assert!(
        bytes_a.len() + bytes_b.len() > 80_000,
        "{} {}",
        bytes_a.len(),
        bytes_b.len()
    );
    let junk: Vec<u8> = (0..40_000u32).map(|i| (i % 253) as u8).collect();
    let hash = |b: &[u8]| karya_agent::photos::hash_of(b);
    let photo = |h: String, size: u64| Photo {
        hash: h.clone(),
        size,
        width: 800,
        height: 600,
        thumb: h,
        thumb_size: size,
        caption: String::new(),
    };
    let big = "ab".repeat(32);
    let patch_photos = karya_shared::model::ProductPatch {
        photos: Some(vec![
            photo(hash(&bytes_a), bytes_a.len() as u64),
            photo(hash(&bytes_b), bytes_b.len() as u64),
            photo(big.clone(), 60_000),
            photo(hash(&junk), junk.len() as u64),
        ]),
        ..Default::default()
    };
    a.store
        .change(&karya_shared::DocId::Upt(a.upt.clone()), |d| {
            karya_shared::schema::edit_product(d, &id, &patch_photos, "2026-12-02T00:00:00Z")
        })
        .unwrap();
    a.sync().await;

    // Bytes that do not hash to the name: discarded whole, with the reason.
    let mut wrong = bytes_a.clone();
    let last = wrong.len() - 1;
    wrong[last] ^= 1;
    let r = patch(&hub, &ta, &hash(&bytes_a), 0, &wrong).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("do not hash to"));
    assert_eq!(
        header(&head(&hub, &ta, &hash(&bytes_a)).await, "upload-offset"),
        "0"
    );
    // Bytes that hash to their name but are not a photo (a page, a script): not kept.
    let r = patch(&hub, &ta, &hash(&junk), 0, &junk).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("not a photo"));
    assert_eq!(
        header(&head(&hub, &ta, &hash(&junk)).await, "upload-offset"),
        "0"
    );
    // Larger than the hub takes: the limit is named.
    let r = head(&hub, &ta, &big).await;
    assert_eq!(r.status(), 413);
    assert!(
        header(&r, "upload-refused").contains("at most 50000 bytes"),
        "{:?}",
        r.headers()
    );
    // An upload begun and left counts at its full size from its first byte: with part of b
    // at the hub, a would pass the quota.
    assert_eq!(
        patch(&hub, &ta, &hash(&bytes_b), 0, &bytes_b[..10_000])
            .await
            .status(),
        204
    );
    let r = patch(&hub, &ta, &hash(&bytes_a), 0, &bytes_a).await;
    assert_eq!(r.status(), 413);
    assert!(r.text().await.unwrap().contains("quota of 80000 bytes"));
    // b finished is within the quota; a is still past it.
    assert_eq!(
        patch(&hub, &ta, &hash(&bytes_b), 10_000, &bytes_b[10_000..])
            .await
            .status(),
        204
    );
    let r = patch(&hub, &ta, &hash(&bytes_a), 0, &bytes_a).await;
    assert_eq!(r.status(), 413);
    // A tus client that does not say its version is told which one.
    let r = reqwest::Client::new()
        .patch(format!("{}/api/v1/uploads/{}", hub.url(), hash(&bytes_b)))
        .bearer_auth(&ta)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", "0")
        .body(bytes_b.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_at_the_hub_leaves_no_photo_half_written() {
    let root = tempfile::tempdir().unwrap();
    let blobs = root.path().join("blobs");
    std::fs::create_dir(&blobs).unwrap();
    let Some(disk) = SmallDisk::mount(&blobs, "1m") else {
        return;
    };
    let hub = TestHub::start_configured(karya_hub::Config {
        blobs_dir: Some(blobs.clone()),
        ..Default::default()
    })
    .await;
    let ta = hub.add_upt("LAPAS-PATI", "lapas", "Jawa Tengah");
    let data = tempfile::tempdir().unwrap();
    let mut a = Agent::new("LAPAS-PATI", &hub.url(), &ta);
    let (_, photo) = product_with_photo(&mut a, data.path(), "Batik");
    a.sync().await;
    let full = std::fs::read(karya_agent::photos::blob_path(data.path(), &photo.hash)).unwrap();
    let r = patch(&hub, &ta, &photo.hash, 0, &full[..4096]).await;
    assert_eq!(r.status(), 204);

    let filler = disk.fill("filler.bin");
    let r = patch(&hub, &ta, &photo.hash, 4096, &full[4096..]).await;
    assert_eq!(r.status(), 507);
    assert!(r.text().await.unwrap().contains("disk is full"));
    let r = head(&hub, &ta, &photo.hash).await;
    assert_eq!(
        header(&r, "upload-offset"),
        "4096",
        "only acknowledged bytes are kept"
    );
    assert!(!hub.state.blobs.has(&photo.hash));

    // Space again: the agent resumes and the photo is whole.
    std::fs::remove_file(filler).unwrap();
    let up = uploads::upload_photos(&a.store, data.path(), "LAPAS-PATI", &a.client, None)
        .await
        .unwrap();
    assert_eq!((up.sent, up.waiting), (2, 0), "{up:?}");
    let mut kept = Vec::new();
    std::fs::File::open(hub.state.blobs.path(&photo.hash))
        .unwrap()
        .read_to_end(&mut kept)
        .unwrap();
    assert_eq!(kept, full);
}

#[test]
fn a_photo_added_offline_reaches_the_hub_and_the_api_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let token = HubProcess::add_upt(&db, "LAPAS-KEROBOKAN", "lapas", "Bali");
    let viewer = HubProcess::issue(&db, "viewer", "analis");
    let addr = free_addr();
    let a = AgentDir::init(
        &dir.path().join("a"),
        "LAPAS-KEROBOKAN",
        &format!("http://{addr}"),
        &token,
    );
    // Offline: the hub is not up.
    let id = a.add_product("Lukisan kanvas", "850000");
    let file = dir.path().join("IMG_2041.jpg");
    std::fs::write(&file, phone_photo(3000, 2000)).unwrap();
    let added = a.ok(&[
        "product",
        "photo",
        "add",
        &id,
        file.to_str().unwrap(),
        "--caption",
        "Di galeri",
    ]);
    assert!(
        added.contains("x1600 px") || added.contains("1600x"),
        "{added}"
    );
    let listed = a.ok(&["product", "photo", "list", &id]);
    assert!(listed.contains("Di galeri"), "{listed}");
    assert!(!a.run(&["sync"]).status.success());

    let hub = HubProcess::start(&db, addr);
    let out = a.ok(&["sync"]);
    assert!(out.contains("foto: 2 terkirim"), "{out}");
    let p = get_json(&format!("{}/api/v1/products/{id}", hub.url()), &viewer);
    let hash = p["photos"][0]["hash"].as_str().unwrap().to_string();
    let width = p["photos"][0]["width"].as_u64().unwrap();
    assert!((1066..=1067).contains(&width), "{p}");
    assert_eq!(p["photos"][0]["height"], 1600, "upright: {p}");
    let bytes =
        karya_tests::procs::get_bytes(&format!("{}/api/v1/blobs/{hash}", hub.url()), &viewer);
    assert!(bytes.starts_with(&[0xFF, 0xD8]), "a JPEG");
    assert!(!contains_bytes(&bytes, GPS_MARKER));
    let status = a.status();
    assert_eq!(status["photos_waiting"], 0, "{status}");
    drop(hub);
}

/// A hub put back with an older photo folder (or moved to a machine without it) names the
/// photos it lacks in its sync reply, and the agent sends them at that sync, not at its daily
/// check a day later.
#[tokio::test(flavor = "multi_thread")]
async fn a_hub_that_lost_photos_names_them_and_gets_them_at_the_next_sync() {
    let hub = TestHub::start().await;
    let token = hub.add_upt("LPKA-KUTOARJO", "lpka", "Jawa Tengah");
    let data = tempfile::tempdir().unwrap();
    let mut a = Agent::new("LPKA-KUTOARJO", &hub.url(), &token);
    let (_, one) = product_with_photo(&mut a, data.path(), "Kursi-rotan");
    let (_, two) = product_with_photo_of(&mut a, data.path(), "Tas-pandan", (1600, 1200));
    a.sync().await;
    let up = uploads::upload_photos(&a.store, data.path(), "LPKA-KUTOARJO", &a.client, None)
        .await
        .unwrap();
    assert_eq!((up.sent, up.waiting), (4, 0), "{up:?}");
    // (The daily check ran with that round: it is not what brings the photos back below.)
    let checked = a.store.meta(uploads::RECHECKED_KEY).unwrap();
    assert!(checked.is_some());

    // A second hub process on the same database, as after a restart. On SQLite it shares the
    // photo folder, which was put back from a copy that lacks one photo and one thumbnail; on
    // PostgreSQL it has a new, empty folder (a hub moved to another machine).
    let all = [&one.hash, &one.thumb, &two.hash, &two.thumb];
    let restarted = TestHub::start_on(&hub.db).await;
    for h in [&one.hash, &two.thumb] {
        let _ = std::fs::remove_file(restarted.state.blobs.path(h));
    }
    let lacking = all.iter().filter(|h| !restarted.state.blobs.has(h)).count();
    assert!(lacking >= 2);
    a.client =
        karya_agent::client::HubClient::new(&restarted.url(), &token, Duration::from_secs(10));
    let o = a.sync().await;
    assert_eq!(o.round_trips, 1, "still one round trip: {o:?}");
    let up = uploads::upload_photos(&a.store, data.path(), "LPKA-KUTOARJO", &a.client, None)
        .await
        .unwrap();
    assert_eq!((up.sent, up.waiting), (lacking, 0), "{up:?}");
    for h in all {
        assert!(restarted.state.blobs.has(h), "{h} is back at the hub");
    }
    assert_eq!(a.store.meta(uploads::RECHECKED_KEY).unwrap(), checked);

    // Told once: the next idle poll is a 204 again, and nothing is sent twice.
    let idle = a.sync().await;
    assert_eq!((idle.round_trips, idle.bytes_received), (1, 0), "{idle:?}");
    let again = uploads::upload_photos(&a.store, data.path(), "LPKA-KUTOARJO", &a.client, None)
        .await
        .unwrap();
    assert_eq!((again.sent, again.bytes), (0, 0), "{again:?}");
}

/// A photo upload cut by the link is tried again on the backoff (seconds), not at the next
/// scheduled sync (here five minutes away): a real agent service and hub, a thin link that
/// drops every 3 seconds.
#[tokio::test(flavor = "multi_thread")]
async fn a_photo_upload_cut_by_the_link_resumes_on_the_backoff_not_the_interval() {
    use karya_tests::proxy::{Faults, Link, Proxy};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let token = HubProcess::add_upt(&db, "LAPAS-AMBARAWA", "lapas", "Jawa Tengah");
    let viewer = HubProcess::issue(&db, "viewer", "analis");
    let hub = HubProcess::start(&db, free_addr());
    let proxy = Proxy::start_faulty(
        hub.addr,
        Link {
            one_way_delay: Duration::from_millis(20),
            bytes_per_sec: 40_000,
        },
        Faults {
            cut_every: Some(Duration::from_secs(3)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut a = AgentDir::init(
        &dir.path().join("a"),
        "LAPAS-AMBARAWA",
        &proxy.url(),
        &token,
    );
    let id = a.add_product("Lukisan pasir", "450000");
    let file = dir.path().join("IMG_3310.jpg");
    std::fs::write(&file, phone_photo(3000, 2000)).unwrap();
    a.ok(&["product", "photo", "add", &id, file.to_str().unwrap()]);
    let started = std::time::Instant::now();
    a.start_service_with_env(&[
        ("KARYA_SYNC_INTERVAL_SECS", "300"),
        ("KARYA_RETRY_INITIAL_SECS", "1"),
        ("KARYA_RETRY_MAX_SECS", "4"),
        ("KARYA_REQUEST_TIMEOUT_SECS", "20"),
    ]);
    let http = reqwest::Client::new();
    let blob = |hash: String| {
        let (http, url, viewer) = (http.clone(), hub.url(), viewer.clone());
        async move {
            http.get(format!("{url}/api/v1/blobs/{hash}"))
                .bearer_auth(viewer)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        }
    };
    let mut arrived = false;
    while started.elapsed() < Duration::from_secs(120) {
        let (_, p) = get_json_async(&format!("{}/api/v1/products/{id}", hub.url()), &viewer).await;
        if let Some(hash) = p["photos"][0]["hash"].as_str()
            && blob(hash.to_string()).await
        {
            arrived = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let took = started.elapsed();
    let cuts = proxy
        .counters
        .drops
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        arrived,
        "the photo did not arrive in {took:?} ({cuts} cuts): waiting for the 5-minute sync?"
    );
    assert!(cuts >= 2, "the link was cut during the upload ({cuts})");
    eprintln!("photo over a link cut every 3 s: {took:?}, {cuts} cuts");
    a.stop_service();
}
