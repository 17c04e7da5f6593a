//! The curators' dashboard in a real headless Chromium, against a real hub and real agents:
//! sign in as a curator, filter the catalogue to one Kanwil and category, open a product with
//! a photo, approve it with a note, and find the decision in the agent's replica after its
//! sync; a forged form changes nothing; a viewer cannot decide; logout ends the session; a
//! Kanwil's viewer sees, opens and exports only its Kanwil.
//! Screenshots of every page go to target/screenshots/dashboard/.

use fantoccini::{Client, Locator};
use karya_tests::browser::{self, Driver, body, browser, fill, submit, wait_for};
use karya_tests::procs::{AgentDir, HubProcess, free_addr, get_text};

async fn shot(c: &Client, name: &str) {
    browser::shot(c, "dashboard", name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_curator_decides_from_the_catalogue_in_a_real_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("hub.db");
    let pati = HubProcess::add_upt(&db, "LAPAS-PATI", "lapas", "Jawa Tengah");
    let kupang = HubProcess::add_upt(&db, "LAPAS-KUPANG", "lapas", "Nusa Tenggara Timur");
    let curator = HubProcess::issue(&db, "curator", "Kurator Pusat");
    let viewer = HubProcess::issue(&db, "viewer", "Analis");
    let hub = HubProcess::start(&db, free_addr());

    // Two UPTs in two Kanwils: a carved chair (with a photo) and a batik shirt in Pati, a
    // bamboo chair in Kupang.
    let a = AgentDir::init(&tmp.path().join("pati"), "LAPAS-PATI", &hub.url(), &pati);
    let chair = a.add_product("Kursi jati ukir", "1850000");
    a.ok(&[
        "product",
        "add",
        "--name",
        "Kemeja batik tulis",
        "--category",
        "fashion-batik",
        "--price",
        "275000",
    ]);
    let phone = tmp.path().join("IMG_2041.jpg");
    std::fs::write(&phone, karya_tests::phone_photo(1600, 1200)).unwrap();
    a.ok(&[
        "product",
        "photo",
        "add",
        &chair,
        phone.to_str().unwrap(),
        "--caption",
        "Tampak depan",
    ]);
    // Two of the five chairs on the shelf sold.
    a.ok(&["stock", "add", &chair, "5"]);
    a.ok(&[
        "sale",
        "add",
        &chair,
        "--qty",
        "2",
        "--revenue",
        "3.700.000",
    ]);
    a.ok(&["sync"]);
    let b = AgentDir::init(
        &tmp.path().join("kupang"),
        "LAPAS-KUPANG",
        &hub.url(),
        &kupang,
    );
    b.add_product("Kursi bambu", "450000");
    b.ok(&["sync"]);

    let driver = Driver::start();
    let c = browser(&driver, &tmp.path().join("chromium")).await;
    let base = hub.url();

    // No page without signing in; a wrong token is refused with the way out.
    c.goto(&format!("{base}/katalog")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/masuk"));
    fill(&c, "form", &[("token", "karya_salah.salah")]).await;
    submit(&c, "form").await;
    wait_for(&c, "Token tidak valid").await;
    shot(&c, "01-masuk").await;
    fill(&c, "form", &[("token", curator.trim())]).await;
    submit(&c, "form").await;
    let home = wait_for(&c, "Ringkasan nasional").await;
    assert!(
        home.contains("Kurator Pusat") && home.contains("Nusa Tenggara Timur"),
        "{home}"
    );
    // The charts are SVG drawn by the hub: a bar per Kanwil, and this month's sale.
    let bars = c
        .find_all(Locator::Css("#grafik-kanwil rect"))
        .await
        .unwrap()
        .len();
    assert_eq!(bars, 2, "a bar per Kanwil");
    assert!(home.contains("Rp3.700.000 (1 transaksi)"), "{home}");
    shot(&c, "02-ringkasan").await;

    // The catalogue, filtered to one Kanwil and one category.
    c.goto(&format!("{base}/katalog")).await.unwrap();
    let all = wait_for(&c, "dari 3 produk").await;
    assert!(all.contains("1–3 dari 3 produk"), "{all}");
    fill(
        &c,
        "#saring",
        &[("kanwil", "Jawa Tengah"), ("kategori", "kerajinan")],
    )
    .await;
    submit(&c, "#saring").await;
    let list = wait_for(&c, "1–1 dari 1 produk").await;
    assert!(
        list.contains("Kursi jati ukir")
            && !list.contains("Kursi bambu")
            && !list.contains("Kemeja batik"),
        "{list}"
    );
    let thumb = c
        .find(Locator::Css("#katalog img"))
        .await
        .unwrap()
        .attr("src")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(thumb.starts_with("/api/v1/blobs/"), "{thumb}");
    shot(&c, "03-katalog-jawa-tengah-kerajinan").await;

    // The product, with its photo, then the decision.
    c.find(Locator::LinkText("Kursi jati ukir"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let page = wait_for(&c, "Belum ada keputusan").await;
    assert!(
        page.contains("1 penjualan, 2 barang, Rp3.700.000"),
        "the product's sales: {page}"
    );
    assert!(
        page.contains("Rp1.850.000") && page.contains("Tampak depan"),
        "{page}"
    );
    let loaded: bool = c
        .execute(
            "const i = document.querySelector('#foto img'); return !!i && i.complete && i.naturalWidth > 0;",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap_or(false);
    assert!(loaded, "the photo shows in the browser");
    shot(&c, "04-produk").await;
    fill(
        &c,
        "#keputusan",
        &[("status", "approved"), ("catatan", "Lolos kurasi nasional")],
    )
    .await;
    submit(&c, "#keputusan").await;
    let decided = wait_for(&c, "Keputusan disimpan").await;
    assert!(
        decided.contains("disetujui") && decided.contains("Lolos kurasi nasional"),
        "{decided}"
    );
    shot(&c, "05-keputusan").await;

    // The decision reaches the UPT at its next sync.
    a.ok(&["sync"]);
    let shown = a.ok(&["product", "show", &chair]);
    assert!(
        shown.contains("Kurasi pusat: disetujui")
            && shown.contains("Kurator Pusat")
            && shown.contains("Lolos kurasi nasional"),
        "{shown}"
    );

    // A form posted without this session's CSRF token is refused and changes nothing.
    let cookie = c.get_named_cookie("karya_sesi").await.unwrap();
    let forged = reqwest::Client::new()
        .post(format!("{base}/produk/LAPAS-PATI/{chair}/keputusan"))
        .header("cookie", format!("karya_sesi={}", cookie.value()))
        .form(&[
            ("status", "rejected"),
            ("catatan", "palsu"),
            ("csrf", "bukan-token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let api = tokio::task::block_in_place(|| {
        get_text(&format!("{base}/api/v1/products/{chair}"), viewer.trim())
    });
    assert!(api.contains("approved") && !api.contains("palsu"), "{api}");

    // A second decision: the page keeps the history, newest first, with who and the note.
    c.goto(&format!("{base}/produk/LAPAS-PATI/{chair}"))
        .await
        .unwrap();
    let before = wait_for(&c, "Simpan keputusan").await;
    assert!(!before.contains("Keputusan disimpan"), "{before}");
    fill(
        &c,
        "#keputusan",
        &[
            ("status", "featured"),
            ("catatan", "Unggulan untuk pameran nasional"),
        ],
    )
    .await;
    submit(&c, "#keputusan").await;
    wait_for(&c, "Keputusan disimpan").await;
    let history = browser::text(&c, "#riwayat").await;
    let newest = history.find("Unggulan untuk pameran nasional");
    let older = history.find("Lolos kurasi nasional");
    assert!(
        newest.is_some() && older.is_some() && newest < older && history.contains("Kurator Pusat"),
        "{history}"
    );
    shot(&c, "06-riwayat").await;

    // A viewer reads, but has no decision form.
    let as_viewer = tokio::task::block_in_place(|| {
        get_text(&format!("{base}/produk/LAPAS-PATI/{chair}"), viewer.trim())
    });
    assert!(
        as_viewer.contains("Kursi jati ukir") && !as_viewer.contains("Simpan keputusan"),
        "{as_viewer}"
    );

    // The UPT pages and Pelatihan, for the record (and the screenshots).
    c.goto(&format!("{base}/upt")).await.unwrap();
    let upts = wait_for(&c, "LAPAS-KUPANG").await;
    assert!(
        upts.contains("LAPAS-PATI") && upts.contains("Jawa Tengah"),
        "{upts}"
    );
    shot(&c, "07-upt").await;
    c.find(Locator::LinkText("LAPAS-PATI"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let upt = wait_for(&c, "Kemeja batik tulis").await;
    assert!(
        upt.contains("Kursi jati ukir") && !upt.contains("Kursi bambu"),
        "{upt}"
    );
    shot(&c, "08-upt-lapas-pati").await;
    c.goto(&format!("{base}/pelatihan")).await.unwrap();
    wait_for(&c, "Pelatihan").await;
    shot(&c, "09-pelatihan").await;

    // Logout ends the session: the same cookie opens nothing any more.
    submit(&c, "header form").await;
    wait_for(&c, "Masukkan token").await;
    let after = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{base}/katalog"))
        .header("cookie", format!("karya_sesi={}", cookie.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 303);

    // A viewer of one Kanwil sees, opens and exports only its Kanwil's UPTs.
    let ntt = HubProcess::admin(
        &db,
        &[
            "token",
            "issue",
            "--role",
            "viewer",
            "--name",
            "Analis Kanwil NTT",
            "--kanwil",
            "Nusa Tenggara Timur",
        ],
    );
    fill(&c, "form", &[("token", ntt.trim())]).await;
    submit(&c, "form").await;
    let home = wait_for(
        &c,
        "Analis Kanwil NTT (viewer · Kanwil Nusa Tenggara Timur)",
    )
    .await;
    assert!(
        home.contains("Nusa Tenggara Timur") && !home.contains("Jawa Tengah"),
        "{home}"
    );
    c.goto(&format!("{base}/katalog")).await.unwrap();
    let list = wait_for(&c, "1–1 dari 1 produk").await;
    assert!(
        list.contains("Kursi bambu") && !list.contains("Kursi jati ukir"),
        "{list}"
    );
    shot(&c, "10-katalog-kanwil-ntt").await;
    // Another Kanwil's product and UPT are not there for it, even by address.
    c.goto(&format!("{base}/produk/LAPAS-PATI/{chair}"))
        .await
        .unwrap();
    let other = wait_for(&c, "Produk tidak ditemukan").await;
    assert!(
        !other.contains("Kursi jati ukir") && !other.contains("1.850.000"),
        "{other}"
    );
    c.goto(&format!("{base}/upt/LAPAS-PATI")).await.unwrap();
    let other = wait_for(&c, "UPT tidak ditemukan").await;
    assert!(!other.contains("Kemeja batik"), "{other}");
    shot(&c, "11-kanwil-ntt-upt-lain").await;
    c.goto(&format!("{base}/katalog?kanwil=Jawa+Tengah"))
        .await
        .unwrap();
    let asked = body(&c).await;
    assert!(!asked.contains("Kursi jati ukir"), "{asked}");
    // Its export, with its session, holds its Kanwil only, whatever the filter asks.
    let cookie = c.get_named_cookie("karya_sesi").await.unwrap();
    for query in ["format=csv", "format=csv&kanwil=Jawa+Tengah"] {
        let csv = reqwest::Client::new()
            .get(format!("{base}/katalog/ekspor?{query}"))
            .header("cookie", format!("karya_sesi={}", cookie.value()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !csv.contains("Kursi jati ukir") && !csv.contains("Kemeja batik"),
            "{query}: {csv}"
        );
        // Its own Kanwil stands in for any other the filter names.
        assert!(csv.contains("Kursi bambu"), "{query}: {csv}");
    }
    submit(&c, "header form").await;
    wait_for(&c, "Masukkan token").await;
    c.close().await.unwrap();

    // The public catalogue, exported for any web server: only what HQ approved or featured,
    // valid HTML5, schema.org JSON-LD, photos, a sitemap; no stock figures.
    let site = tmp.path().join("katalog-publik");
    let said = HubProcess::admin(
        &db,
        &[
            "catalogue",
            "export",
            site.to_str().unwrap(),
            "--base-url",
            "https://katalog.ditjenpas.example",
        ],
    );
    assert!(said.contains("1 products"), "{said}");
    check_public_site(&site, &chair);
}

fn check_public_site(site: &std::path::Path, chair: &str) {
    use scraper::{Html, Selector};
    let parse = |path: &std::path::Path| {
        let text = std::fs::read_to_string(path).unwrap();
        let doc = Html::parse_document(&text);
        assert!(
            doc.errors.is_empty(),
            "{}: {:?}",
            path.display(),
            doc.errors
        );
        (text, doc)
    };
    let (index, _) = parse(&site.join("index.html"));
    assert!(index.contains("Kursi jati ukir"), "{index}");
    assert!(
        !index.contains("Kursi bambu") && !index.contains("Kemeja batik"),
        "only approved and featured products: {index}"
    );
    let page = site.join(format!("produk/lapas-pati-{chair}.html"));
    let (text, doc) = parse(&page);
    assert!(
        !text.contains("Stok"),
        "no stock figures unless asked: {text}"
    );
    let ld = Selector::parse("script[type=\"application/ld+json\"]").unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&doc.select(&ld).next().expect("JSON-LD").inner_html()).unwrap();
    assert_eq!(json["@type"], "Product");
    assert_eq!(json["name"], "Kursi jati ukir");
    assert_eq!(json["offers"]["priceCurrency"], "IDR");
    assert_eq!(json["offers"]["price"], 1_850_000);
    assert!(json["offers"].get("inventoryLevel").is_none());
    let image = json["image"][0].as_str().unwrap();
    let file = image
        .strip_prefix("https://katalog.ditjenpas.example/")
        .expect("absolute image URL");
    assert!(site.join(file).exists(), "the photo is in the site: {file}");
    let sitemap = std::fs::read_to_string(site.join("sitemap.xml")).unwrap();
    assert!(
        sitemap.contains(&format!(
            "https://katalog.ditjenpas.example/produk/lapas-pati-{chair}.html"
        )),
        "{sitemap}"
    );
}
