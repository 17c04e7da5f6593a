//! The Kanwil tier end to end, with real processes and a real headless Chromium: a UPT
//! nominates a product in its console, its Kanwil's verifier sends it back with a note, the
//! console shows the note and the operator edits and nominates it again in one action, the
//! Kanwil verifies, HQ approves, the UPT raises the price while the hub is down, and after
//! the sync HQ sees the product flagged as changed after approval while the public catalogue
//! keeps the approved price. Another Kanwil's verifier sees none of it. Screenshots go to
//! target/screenshots/kanwil/.
//!
//! The hub is opened as `localhost` and the console as `127.0.0.1`: two sites to the browser,
//! so the two sessions' cookies do not meet.

use fantoccini::{Client, Locator};
use karya_tests::browser::{self, Driver, body, browser, fill, submit, text, wait_for};
use karya_tests::procs::{AgentDir, HubProcess, free_addr, get_status, get_text};

async fn shot(c: &Client, name: &str) {
    browser::shot(c, "kanwil", name).await
}

/// Signs in at the hub (as `localhost`) with `token`.
async fn hub_sign_in(c: &Client, hub: &str, token: &str) {
    c.goto(&format!("{hub}/masuk")).await.unwrap();
    fill(c, "form", &[("token", token)]).await;
    submit(c, "form").await;
    wait_for(c, "Keluar").await;
}

async fn hub_sign_out(c: &Client) {
    submit(c, "form[action='/keluar']").await;
    wait_for(c, "Masukkan token").await;
}

/// Decides on the product page open in `c`.
async fn decide_here(c: &Client, status: &str, note: &str) {
    fill(c, "#keputusan", &[("status", status), ("catatan", note)]).await;
    submit(c, "#keputusan").await;
    wait_for(c, "Keputusan disimpan").await;
}

async fn sync_console(c: &Client, console: &str, expect: &str) {
    c.goto(&format!("{console}/")).await.unwrap();
    c.find(Locator::Id("sinkron"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, expect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_goes_up_through_the_kanwil_and_hq_and_a_later_edit_is_flagged() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("hub.db");
    let pati = HubProcess::add_upt(&db, "LAPAS-PATI", "lapas", "Jawa Tengah");
    HubProcess::add_upt(&db, "LAPAS-KUPANG", "lapas", "Nusa Tenggara Timur");
    let curator = HubProcess::issue(&db, "curator", "Kurator Pusat");
    let verifier = |kanwil: &str, name: &str| {
        HubProcess::admin(
            &db,
            &[
                "token", "issue", "--role", "verifier", "--kanwil", kanwil, "--name", name,
            ],
        )
        .trim()
        .to_string()
    };
    let jateng = verifier("Jawa Tengah", "Verifikator Jateng");
    let ntt = verifier("Nusa Tenggara Timur", "Verifikator NTT");
    let addr = free_addr();
    let mut hub = HubProcess::start(&db, addr);
    let hub_site = format!("http://localhost:{}", addr.port());

    let mut agent = AgentDir::init(&tmp.path().join("agent"), "LAPAS-PATI", &hub.url(), &pati);
    agent.add_user("budi", "rahasia-lapas");
    agent.start_service();
    let console = agent.console_url();

    let driver = Driver::start();
    let c = browser(&driver, &tmp.path().join("chromium")).await;

    // The operator adds a product and nominates it.
    c.goto(&format!("{console}/masuk")).await.unwrap();
    fill(&c, "form", &[("nama", "budi"), ("sandi", "rahasia-lapas")]).await;
    submit(&c, "form").await;
    wait_for(&c, "Sinkronkan sekarang").await;
    c.goto(&format!("{console}/produk")).await.unwrap();
    let form = "form[action='/produk'][method='post']";
    fill(
        &c,
        form,
        &[
            ("name", "Kursi jati ukir"),
            ("category", "furnitur"),
            ("price_idr", "1.850.000"),
            ("stok", "3"),
            ("workshop", "Bengkel kayu"),
        ],
    )
    .await;
    c.find(Locator::Css(&format!("{form} input[name=nominated]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    submit(&c, form).await;
    wait_for(&c, "ditambahkan").await;
    sync_console(&c, &console, "Sinkronisasi berhasil").await;
    let id = agent.json(&["product", "list"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let product_at_hub = format!("{hub_site}/produk/LAPAS-PATI/{id}");

    // The Kanwil's verifier finds it in its queue and sends it back with a note; a note is
    // needed.
    hub_sign_in(&c, &hub_site, &jateng).await;
    c.goto(&format!("{hub_site}/antrean")).await.unwrap();
    let queue = text(&c, "#antrean").await;
    assert!(queue.contains("Kursi jati ukir"), "{queue}");
    // The category by its name, not its slug.
    assert!(queue.contains("Furnitur"), "{queue}");
    assert!(
        text(&c, "#hitungan")
            .await
            .contains("1\nMenunggu verifikasi Kanwil"),
        "{}",
        text(&c, "#hitungan").await
    );
    shot(&c, "01-antrean-kanwil").await;
    c.goto(&product_at_hub).await.unwrap();
    fill(
        &c,
        "#keputusan",
        &[("status", "sent_back"), ("catatan", "")],
    )
    .await;
    submit(&c, "#keputusan").await;
    wait_for(&c, "perlu catatan").await;
    decide_here(
        &c,
        "sent_back",
        "Deskripsi belum menyebut bahan; lengkapi deskripsinya",
    )
    .await;
    assert!(text(&c, "#verifikasi").await.contains("perlu perbaikan"));
    shot(&c, "02-dikembalikan").await;
    hub_sign_out(&c).await;

    // Another Kanwil's verifier: the product is not there for it, on any path.
    let not_there = tokio::task::block_in_place(|| {
        (
            get_status(&format!("{}/produk/LAPAS-PATI/{id}", hub.url()), &ntt),
            get_text(&format!("{}/antrean", hub.url()), &ntt),
            get_text(&format!("{}/katalog/ekspor?format=csv", hub.url()), &ntt),
        )
    });
    assert_eq!(not_there.0, Ok(404));
    assert!(!not_there.1.contains("Kursi jati ukir"), "{}", not_there.1);
    assert!(!not_there.2.contains("Kursi jati ukir"), "{}", not_there.2);
    let refused = reqwest::Client::new()
        .post(format!("{}/api/v1/curation/{id}", hub.url()))
        .bearer_auth(&ntt)
        .json(&serde_json::json!({"status": "verified"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);

    // The console shows the note; the operator fixes the product and nominates it again.
    sync_console(&c, &console, "Sinkronisasi berhasil").await;
    let waiting = text(&c, "#menunggu").await;
    assert!(
        waiting.contains("Kursi jati ukir") && waiting.contains("lengkapi deskripsinya"),
        "{waiting}"
    );
    shot(&c, "03-beranda-menunggu").await;
    c.goto(&format!("{console}/produk/{id}")).await.unwrap();
    assert!(
        text(&c, "#dikembalikan")
            .await
            .contains("lengkapi deskripsinya")
    );
    shot(&c, "04-konsol-dikembalikan").await;
    fill(
        &c,
        &format!("form[action='/produk/{id}']"),
        &[("description", "Kayu jati Jepara, ukiran tangan")],
    )
    .await;
    c.find(Locator::Id("usulkan-lagi"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&c, "diusulkan lagi").await;
    assert!(c.find(Locator::Id("dikembalikan")).await.is_err());
    sync_console(&c, &console, "Sinkronisasi berhasil").await;
    assert!(c.find(Locator::Id("menunggu")).await.is_err());

    // Back in the Kanwil's queue; verified, it goes to HQ's.
    hub_sign_in(&c, &hub_site, &jateng).await;
    c.goto(&format!("{hub_site}/antrean")).await.unwrap();
    assert!(text(&c, "#antrean").await.contains("diusulkan lagi"));
    c.goto(&product_at_hub).await.unwrap();
    decide_here(&c, "verified", "Lengkap, layak ke pusat").await;
    hub_sign_out(&c).await;

    // HQ approves from its queue.
    hub_sign_in(&c, &hub_site, &curator).await;
    c.goto(&format!("{hub_site}/antrean")).await.unwrap();
    let queue = text(&c, "#antrean").await;
    assert!(
        queue.contains("Kursi jati ukir") && queue.contains("terverifikasi"),
        "{queue}"
    );
    shot(&c, "05-antrean-pusat").await;
    c.goto(&product_at_hub).await.unwrap();
    decide_here(&c, "approved", "Masuk katalog nasional").await;
    let history = text(&c, "#riwayat").await;
    for step in [
        "Kanwil perlu perbaikan Verifikator Jateng",
        "Kanwil terverifikasi Verifikator Jateng",
        "Pusat disetujui Kurator Pusat",
        "Rp1.850.000",
    ] {
        assert!(history.contains(step), "{step}: {history}");
    }
    shot(&c, "06-riwayat-pusat").await;

    // The console has both levels' words and the same history.
    sync_console(&c, &console, "Sinkronisasi berhasil").await;
    c.goto(&format!("{console}/produk/{id}")).await.unwrap();
    assert!(text(&c, "#verifikasi").await.contains("terverifikasi"));
    assert!(text(&c, "#kurasi").await.contains("disetujui"));
    let history = text(&c, "#riwayat").await;
    assert!(
        history.contains("Masuk katalog nasional") && history.contains("lengkapi deskripsinya"),
        "{history}"
    );
    shot(&c, "07-konsol-disetujui").await;

    // The hub goes down; the operator raises the price; the sync fails and says so.
    hub.stop();
    c.goto(&format!("{console}/produk/{id}")).await.unwrap();
    fill(
        &c,
        &format!("form[action='/produk/{id}']"),
        &[("price_idr", "2.100.000")],
    )
    .await;
    submit(&c, &format!("form[action='/produk/{id}']")).await;
    wait_for(&c, "disimpan").await;
    assert!(
        text(&c, "#kurasi")
            .await
            .contains("berubah setelah disetujui")
    );
    sync_console(&c, &console, "Sinkronisasi gagal").await;

    // Back up: the edit arrives; HQ sees the flag; the catalogue keeps the approved price.
    let hub = HubProcess::start(&db, addr);
    sync_console(&c, &console, "Sinkronisasi berhasil").await;
    c.goto(&product_at_hub).await.unwrap();
    let flag = text(&c, "#berubah").await;
    assert!(
        flag.contains("Rp1.850.000") && flag.contains("Rp2.100.000"),
        "{flag}"
    );
    c.goto(&format!("{hub_site}/antrean?antrean=berubah"))
        .await
        .unwrap();
    assert!(text(&c, "#antrean").await.contains("Kursi jati ukir"));
    shot(&c, "08-berubah-setelah-disetujui").await;
    c.goto(&format!("{hub_site}/rekap")).await.unwrap();
    let recap = text(&c, "#rekap").await;
    assert!(recap.contains("LAPAS-PATI"), "{recap}");
    shot(&c, "09-rekap").await;
    assert!(body(&c).await.contains("UPT yang belum sinkron"));
    // The daily list of UPTs late for 14:00 as files: Kupang never synced; a Kanwil's
    // verifier gets its own Kanwil's only.
    let (hq_csv, jateng_csv) = tokio::task::block_in_place(|| {
        (
            get_text(&format!("{}/rekap?format=csv", hub.url()), &curator),
            get_text(&format!("{}/rekap?format=csv", hub.url()), &jateng),
        )
    });
    assert!(
        hq_csv.starts_with("\u{feff}Kanwil;UPT;Nama;Sinkron terakhir")
            && hq_csv.contains("Nusa Tenggara Timur;LAPAS-KUPANG;UPT LAPAS-KUPANG;belum pernah"),
        "{hq_csv}"
    );
    assert!(!jateng_csv.contains("LAPAS-KUPANG"), "{jateng_csv}");
    let xlsx = tokio::task::block_in_place(|| {
        karya_tests::procs::get_bytes(&format!("{}/rekap?format=xlsx", hub.url()), &curator)
    });
    {
        use calamine::Reader;
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
        let sheet = book.worksheet_range("UPT terlambat").unwrap();
        assert_eq!(
            sheet.get((0, 1)),
            Some(&calamine::Data::String("UPT".into()))
        );
        assert!(
            sheet
                .rows()
                .any(|r| r.get(1) == Some(&calamine::Data::String("LAPAS-KUPANG".into())))
        );
    }

    let site = tmp.path().join("katalog");
    HubProcess::admin(
        &db,
        &[
            "catalogue",
            "export",
            site.to_str().unwrap(),
            "--base-url",
            "https://katalog.example.go.id",
        ],
    );
    let page = std::fs::read_to_string(site.join("produk").join(format!("LAPAS-PATI-{id}.html")))
        .or_else(|_| {
            // Whatever the page's file is named: the one product page there is.
            let dir = std::fs::read_dir(site.join("produk")).unwrap();
            let file = dir.flatten().next().unwrap().path();
            std::fs::read_to_string(file)
        })
        .unwrap();
    assert!(
        page.contains("Rp1.850.000") && !page.contains("Rp2.100.000"),
        "the catalogue keeps the approved price: {page}"
    );
}
