//! Every page template of the hub's dashboard and of the operator console, looked at in a
//! real headless Chromium at 1,400 px and at 390 px (a phone): no page scrolls sideways, and
//! axe-core finds no critical violation. Screenshots of each page at both widths go to
//! target/screenshots/layar/ for a person to look at. (The public catalogue's pages are
//! looked at the same way, stricter, in `katalog_publik`.)

use fantoccini::{Client, Locator};
use karya_tests::browser::{self, Driver, browser, fill, submit, wait_for};
use karya_tests::procs::{AgentDir, HubProcess, decide, free_addr};

async fn look(c: &Client, url: &str, name: &str) {
    c.goto(url).await.unwrap();
    browser::look(c, "layar", name, &["critical"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_of_the_dashboard_and_the_console_reads_on_a_phone() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("hub.db");
    let token = HubProcess::add_upt(&db, "LAPAS-PATI", "lapas", "Jawa Tengah");
    HubProcess::add_upt(&db, "LPKA-KUTOARJO", "lpka", "Jawa Tengah");
    let admin = HubProcess::issue(&db, "admin", "Admin pusat");
    let curator = HubProcess::issue(&db, "curator", "Kurator");
    let hub = HubProcess::start(&db, free_addr());
    let mut agent = AgentDir::init(&tmp.path().join("agent"), "LAPAS-PATI", &hub.url(), &token);
    agent.add_user("budi", "rahasia-lapas");
    agent.ok(&["user", "admin", "budi"]);

    // A UPT's ordinary records: products (one with a long name), a sale, a training with a
    // participant who finished.
    let chair = agent.ok(&[
        "product",
        "add",
        "--name",
        "Kursi jati ukir Jepara dengan sandaran tinggi dan ukiran bunga",
        "--category",
        "furnitur",
        "--price",
        "1850000",
        "--stock",
        "4",
        "--nominate",
        "ya",
    ]);
    let chair = chair.trim().to_string();
    for (name, price) in [
        ("Tas anyaman pandan", "75000"),
        ("Keset sabut kelapa", "35000"),
    ] {
        agent.add_product(name, price);
    }
    agent.ok(&[
        "sale",
        "add",
        &chair,
        "--qty",
        "1",
        "--revenue",
        "1850000",
        "--date",
        "2026-11-20",
    ]);
    let t = agent.ok(&[
        "training",
        "add",
        "--program",
        "Menjahit dasar",
        "--category",
        "menjahit",
        "--start",
        "2026-11-01",
        "--end",
        "2026-11-20",
        "--hours",
        "60",
        "--capacity",
        "10",
    ]);
    agent.ok(&[
        "training",
        "enroll",
        t.trim(),
        "--reg-no",
        "B.I 123/2025",
        "--name",
        "Budi Santoso",
    ]);
    let out = agent.run(&["sync"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (url, id) = (hub.url(), chair.clone());
    tokio::task::spawn_blocking(move || {
        decide(&url, &curator, &id, "featured", "Pameran nasional")
    })
    .await
    .unwrap();
    agent.start_service();
    let console = agent.console_url();

    let driver = Driver::start();
    let c = browser(&driver, &tmp.path().join("chromium")).await;

    // The console, signed in as an operator.
    look(&c, &format!("{console}/masuk"), "konsol-01-masuk").await;
    fill(&c, "form", &[("nama", "budi"), ("sandi", "rahasia-lapas")]).await;
    submit(&c, "form").await;
    wait_for(&c, "Sinkronkan sekarang").await;
    look(&c, &format!("{console}/"), "konsol-02-beranda").await;
    look(&c, &format!("{console}/produk"), "konsol-03-produk").await;
    look(
        &c,
        &format!("{console}/produk/{chair}"),
        "konsol-04-produk-rinci",
    )
    .await;
    look(&c, &format!("{console}/penjualan"), "konsol-05-penjualan").await;
    // The page that asks before a sale is undone.
    c.find(Locator::Css("form[action$='/batal'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&c, "Batalkan penjualan").await;
    browser::look(&c, "layar", "konsol-06-batal-tanya", &["critical"]).await;
    look(&c, &format!("{console}/pelatihan"), "konsol-07-pelatihan").await;
    look(&c, &format!("{console}/impor"), "konsol-08-impor").await;
    look(&c, &format!("{console}/log"), "konsol-09-log").await;
    look(&c, &format!("{console}/pengaturan"), "konsol-11-pengaturan").await;

    // The dashboard, signed in as HQ's admin (who sees every page).
    let site = hub.url().replace("127.0.0.1", "localhost");
    look(&c, &format!("{site}/masuk"), "hub-01-masuk").await;
    fill(&c, "form", &[("token", &admin)]).await;
    submit(&c, "form").await;
    wait_for(&c, "Keluar").await;
    look(&c, &format!("{site}/"), "hub-02-ringkasan").await;
    look(&c, &format!("{site}/upt"), "hub-03-upt").await;
    look(&c, &format!("{site}/upt/LAPAS-PATI"), "hub-04-upt-rinci").await;
    look(&c, &format!("{site}/katalog"), "hub-05-katalog").await;
    look(
        &c,
        &format!("{site}/produk/LAPAS-PATI/{chair}"),
        "hub-06-produk",
    )
    .await;
    look(&c, &format!("{site}/antrean"), "hub-07-antrean").await;
    look(&c, &format!("{site}/rekap"), "hub-08-rekap").await;
    look(&c, &format!("{site}/pelatihan"), "hub-09-pelatihan").await;
    c.close().await.unwrap();
}
