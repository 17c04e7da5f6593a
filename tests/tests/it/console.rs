//! The operator console in a real headless Chromium (Debian's chromium and chromium-driver),
//! against a real agent service and a real hub: sign in, add a product typed as an operator
//! types it, import an XLSX made from the template after its preview, force a sync, and see
//! HQ's curation decision appear. Screenshots of every page go to target/screenshots/console/.

use fantoccini::{Client, Locator};
use karya_tests::browser::{self, Driver, body, browser, fill, submit, text, wait_for, wait_until};
use karya_tests::procs::{AgentDir, HubProcess, decide, free_addr, get_json};

async fn shot(c: &Client, name: &str) {
    browser::shot(c, "console", name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_works_in_the_console_in_a_real_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("hub.db");
    let token = HubProcess::add_upt(&db, "LAPAS-PATI", "lapas", "Jawa Tengah");
    let curator = HubProcess::issue(&db, "curator", "kurator");
    let hub = HubProcess::start(&db, free_addr());
    let mut agent = AgentDir::init(&tmp.path().join("agent"), "LAPAS-PATI", &hub.url(), &token);
    agent.add_user("budi", "rahasia-lapas");
    agent.start_service();
    let base = agent.console_url();

    let driver = Driver::start();
    let c = browser(&driver, &tmp.path().join("chromium")).await;

    // No page without a login.
    c.goto(&format!("{base}/produk")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/masuk"));
    shot(&c, "01-masuk").await;
    fill(&c, "form", &[("nama", "budi"), ("sandi", "salah-sekali")]).await;
    submit(&c, "form").await;
    wait_for(&c, "Nama atau kata sandi salah").await;
    fill(&c, "form", &[("nama", "budi"), ("sandi", "rahasia-lapas")]).await;
    submit(&c, "form").await;
    wait_for(&c, "Sinkronkan sekarang").await;
    shot(&c, "02-beranda").await;

    // A product typed as an operator types it.
    c.goto(&format!("{base}/produk")).await.unwrap();
    fill(
        &c,
        "form[action='/produk'][method='post']",
        &[
            ("name", "Kursi jati ukir"),
            ("category", "furnitur"),
            ("price_idr", "275.000"),
            ("stok", "3"),
            ("workshop", "Bengkel kayu"),
        ],
    )
    .await;
    submit(&c, "form[action='/produk'][method='post']").await;
    wait_for(&c, "ditambahkan").await;
    let row = text(&c, "#produk").await;
    assert!(
        row.contains("Kursi jati ukir") && row.contains("Rp275.000") && row.contains("Furnitur"),
        "{row}"
    );
    shot(&c, "03-produk").await;

    // An XLSX from the template: the preview shows every row before anything is written.
    let template = tmp.path().join("produk.xlsx");
    agent.ok(&["template", "produk", template.to_str().unwrap()]);
    let filled = tmp.path().join("produk-isi.xlsx");
    {
        use calamine::Reader;
        let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&template).unwrap();
        let data = wb.worksheet_range("Data").unwrap();
        let headers: Vec<String> = data
            .rows()
            .next()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (i, h) in headers.iter().enumerate() {
            sheet.write_string(0, i as u16, h).unwrap();
        }
        for (i, v) in [
            "Batik tulis Pati",
            "Fashion & Batik",
            "Rp 450.000",
            "lembar",
            "4",
        ]
        .iter()
        .enumerate()
        {
            sheet.write_string(1, i as u16, *v).unwrap();
        }
        book.save(&filled).unwrap();
    }
    c.goto(&format!("{base}/impor")).await.unwrap();
    c.find(Locator::Css("input[name=berkas]"))
        .await
        .unwrap()
        .send_keys(filled.to_str().unwrap())
        .await
        .unwrap();
    c.find(Locator::Id("unggah"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&c, "Pratinjau").await;
    let preview = text(&c, "#pratinjau").await;
    // Which field each column fills, before anything is written.
    let fills = text(&c, "#kolom-isi").await;
    assert!(
        fills.starts_with("Mengisi Nama Kategori Harga Satuan Stok"),
        "{fills}"
    );
    assert!(
        preview.contains("Batik tulis Pati") && preview.contains("Rp 450.000"),
        "{preview}"
    );
    assert!(body(&c).await.contains("Belum ada yang ditulis"));
    shot(&c, "04-impor-pratinjau").await;
    // The preview, too, reads on a phone (the other console pages: `layar`).
    browser::look(&c, "layar", "konsol-10-impor-pratinjau", &["critical"]).await;
    let before: serde_json::Value = agent.json(&["product", "list"]);
    assert_eq!(
        before.as_array().unwrap().len(),
        1,
        "the preview wrote nothing"
    );
    c.find(Locator::Id("impor"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&c, "1 baris diimpor").await;
    shot(&c, "05-impor-selesai").await;

    // Force a sync; HQ decides; the next sync brings the decision to the product's page.
    c.goto(&format!("{base}/")).await.unwrap();
    c.find(Locator::Id("sinkron"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&c, "Sinkronisasi berhasil").await;
    assert_eq!(text(&c, "#status").await, "Tersinkron");
    shot(&c, "06-sinkron").await;
    let national = tokio::task::block_in_place(|| {
        get_json(&format!("{}/api/v1/products", hub.url()), &curator)
    });
    let kursi = national["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Kursi jati ukir")
        .expect("the product at HQ")
        .clone();
    let id = kursi["id"].as_str().unwrap().to_string();
    tokio::task::block_in_place(|| {
        decide(
            &hub.url(),
            &curator,
            &id,
            "approved",
            "Bagus, masuk katalog",
        )
    });
    c.find(Locator::Id("sinkron"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&c, "Sinkronisasi berhasil").await;
    let said = body(&c).await;
    // The decision comes with this sync, or with the scheduled one just before it (every
    // second in tests; seen once on a loaded machine): either way the product shows it.
    assert!(
        said.contains("1 perubahan dari pusat") || said.contains("0 perubahan dari pusat"),
        "{said}"
    );
    c.goto(&format!("{base}/produk/{id}")).await.unwrap();
    let kurasi = text(&c, "#kurasi").await;
    assert!(
        kurasi.contains("disetujui") && kurasi.contains("Bagus, masuk katalog"),
        "{kurasi}"
    );
    shot(&c, "07-produk-kurasi").await;

    // A phone photo from the product page: shown as a thumbnail, sent after the records,
    // without the phone's location.
    let phone = tmp.path().join("IMG_2041.jpg");
    std::fs::write(&phone, karya_tests::phone_photo(2400, 1800)).unwrap();
    c.find(Locator::Css("input[name=foto]"))
        .await
        .unwrap()
        .send_keys(phone.to_str().unwrap())
        .await
        .unwrap();
    fill(
        &c,
        &format!("form[action='/produk/{id}/foto']"),
        &[("keterangan", "Tampak depan")],
    )
    .await;
    submit(&c, &format!("form[action='/produk/{id}/foto']")).await;
    wait_for(&c, "1 foto ditambahkan").await;
    let shown = c
        .execute(
            "const i = document.querySelector('#foto img'); return i && i.complete ? i.naturalWidth : 0;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        shown.as_u64().unwrap_or(0) > 0,
        "the thumbnail shows: {shown}"
    );
    assert!(text(&c, "#foto").await.contains("Tampak depan"));
    shot(&c, "07b-produk-foto").await;
    // The service sends it on its own shortly after (or "Sinkronkan sekarang" would).
    let mut photo = serde_json::Value::Null;
    wait_until("the photo at HQ", || {
        let at_hub = tokio::task::block_in_place(|| {
            get_json(
                &format!("{}/api/v1/products?upt=LAPAS-PATI", hub.url()),
                &curator,
            )
        });
        photo = at_hub["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id.as_str())
            .map(|p| p["photos"][0].clone())
            .unwrap_or_default();
        photo.is_object()
            && tokio::task::block_in_place(|| {
                karya_tests::procs::get_status(
                    &format!(
                        "{}/api/v1/blobs/{}",
                        hub.url(),
                        photo["hash"].as_str().unwrap()
                    ),
                    &curator,
                )
            }) == Ok(200)
    });
    assert_eq!(photo["caption"], "Tampak depan");
    let blob = tokio::task::block_in_place(|| {
        karya_tests::procs::get_bytes(
            &format!(
                "{}/api/v1/blobs/{}",
                hub.url(),
                photo["hash"].as_str().unwrap()
            ),
            &curator,
        )
    });
    assert!(blob.starts_with(&[0xff, 0xd8]), "a JPEG");
    assert_eq!(blob.len() as u64, photo["size"].as_u64().unwrap());
    assert!(
        photo["width"]
            .as_u64()
            .unwrap()
            .max(photo["height"].as_u64().unwrap())
            <= 1600
    );
    assert!(!karya_tests::contains_bytes(&blob, karya_tests::GPS_MARKER));
    c.goto(&format!("{base}/produk/{id}")).await.unwrap();

    // Stock +, a sale and its undo, a training and a participant.
    fill(
        &c,
        &format!("form[action='/produk/{id}/stok']"),
        &[("jumlah", "2")],
    )
    .await;
    submit(&c, &format!("form[action='/produk/{id}/stok']")).await;
    wait_for(&c, "Stok sekarang 5").await;
    assert_eq!(text(&c, "#stok").await, "5");
    // Certifications as fields: a kind, a number, a date; then one removed and one added.
    let edit = format!("form[action='/produk/{id}'][method='post']");
    fill(
        &c,
        &edit,
        &[
            ("sert_jenis_0", "halal"),
            ("sert_nomor_0", "ID31110000123"),
            ("sert_berlaku_0", "31/01/2028"),
        ],
    )
    .await;
    submit(&c, &edit).await;
    wait_for(&c, "disimpan").await;
    let certs = agent.json(&["product", "show", &id])["certifications"].clone();
    assert_eq!(certs[0]["kind"], "halal", "{certs}");
    assert_eq!(certs[0]["number"], "ID31110000123");
    assert_eq!(certs[0]["valid_until"], "2028-01-31");
    c.find(Locator::Css(&format!("{edit} input[name=sert_hapus_0]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill(
        &c,
        &edit,
        &[("sert_jenis_1", "pirt"), ("sert_nomor_1", "2063507010123")],
    )
    .await;
    submit(&c, &edit).await;
    wait_for(&c, "disimpan").await;
    let certs = agent.json(&["product", "show", &id])["certifications"].clone();
    assert_eq!(certs.as_array().unwrap().len(), 1, "{certs}");
    assert_eq!(certs[0]["kind"], "pirt", "{certs}");
    c.goto(&format!("{base}/penjualan")).await.unwrap();
    // A mistyped date: refused, and the form keeps everything typed for the fix.
    fill(
        &c,
        "form[action='/penjualan'][method='post']",
        &[
            ("produk", &id),
            ("jumlah", "2"),
            ("pendapatan", "Rp 550.000"),
            ("tanggal", "31/02/2026"),
            ("kanal", "pameran"),
        ],
    )
    .await;
    submit(&c, "form[action='/penjualan'][method='post']").await;
    let refused = text(&c, ".flash.bad").await;
    assert!(refused.contains("Tanggal"), "{refused}");
    let kept = |name: &'static str| {
        let c = c.clone();
        async move {
            c.find(Locator::Css(&format!(
                "form[action='/penjualan'][method='post'] [name={name}]"
            )))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
        }
    };
    assert_eq!(kept("produk").await, id);
    assert_eq!(kept("jumlah").await, "2");
    assert_eq!(kept("pendapatan").await, "Rp 550.000");
    assert_eq!(kept("tanggal").await, "31/02/2026");
    assert_eq!(kept("kanal").await, "pameran");
    fill(
        &c,
        "form[action='/penjualan'][method='post']",
        &[("tanggal", "15/11/2026")],
    )
    .await;
    submit(&c, "form[action='/penjualan'][method='post']").await;
    let said = wait_for(&c, "dicatat").await;
    // The sale took its quantity from the stock.
    assert!(said.contains("Stok sekarang 3."), "{said}");
    let sales = text(&c, "#penjualan").await;
    assert!(
        sales.contains("15 Nov 2026") && sales.contains("Rp550.000"),
        "{sales}"
    );
    shot(&c, "08-penjualan").await;
    // "Batalkan" asks first, naming the sale; nothing goes until the operator says yes.
    submit(&c, "#penjualan form").await;
    wait_for(&c, "Ya, batalkan").await;
    let asked = text(&c, "#yakin").await;
    assert!(
        asked.contains("2 × Kursi jati ukir") && asked.contains("Rp550.000"),
        "{asked}"
    );
    shot(&c, "08b-batalkan-yakin").await;
    c.goto(&format!("{base}/penjualan")).await.unwrap();
    assert!(text(&c, "#penjualan").await.contains("Rp550.000"));
    submit(&c, "#penjualan form").await;
    wait_for(&c, "Ya, batalkan").await;
    submit(&c, "#ya").await;
    wait_for(&c, "dibatalkan").await;
    let said = body(&c).await;
    assert!(said.contains("Penjualan 2 × Kursi jati ukir"), "{said}");
    assert!(
        said.contains("Stok kembali menjadi 5."),
        "undo gives the stock back: {said}"
    );
    assert!(!text(&c, "#penjualan").await.contains("Rp550.000"));

    // 22 sold from a stock of 5: the operator is warned and asked; going back writes
    // nothing, confirming records it with the stock below zero for all to see.
    let big_sale = [
        ("produk", id.as_str()),
        ("jumlah", "22"),
        ("pendapatan", "2.200.000"),
        ("tanggal", "16/11/2026"),
        ("kanal", "toko"),
    ];
    fill(&c, "form[action='/penjualan'][method='post']", &big_sale).await;
    submit(&c, "form[action='/penjualan'][method='post']").await;
    wait_for(&c, "Ya, tetap simpan").await;
    let warned = text(&c, "#yakin").await;
    assert!(
        warned.contains("stok 'Kursi jati ukir' tercatat 5; terjual 22 membuatnya -17"),
        "{warned}"
    );
    shot(&c, "08c-stok-minus-yakin").await;
    c.find(Locator::LinkText("Kembali"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&c, "Catat penjualan").await;
    assert!(!text(&c, "#penjualan").await.contains("Rp2.200.000"));
    assert_eq!(agent.json(&["product", "show", &id])["stock"], 5);
    fill(&c, "form[action='/penjualan'][method='post']", &big_sale).await;
    submit(&c, "form[action='/penjualan'][method='post']").await;
    wait_for(&c, "Ya, tetap simpan").await;
    submit(&c, "#tetap-simpan").await;
    let said = wait_for(&c, "Penjualan 16 Nov 2026 dicatat").await;
    assert!(said.contains("Stok sekarang -17."), "{said}");
    assert_eq!(agent.json(&["product", "show", &id])["stock"], -17);
    submit(&c, "#penjualan form").await;
    wait_for(&c, "Ya, batalkan").await;
    submit(&c, "#ya").await;
    wait_for(&c, "Stok kembali menjadi 5.").await;

    c.goto(&format!("{base}/pelatihan")).await.unwrap();
    fill(
        &c,
        "form[action='/pelatihan'][method='post']",
        &[
            ("program", "Menjahit dasar"),
            ("kategori", "menjahit"),
            ("mulai", "01/12/2026"),
            ("selesai", "20/12/2026"),
            ("jam", "60"),
        ],
    )
    .await;
    submit(&c, "form[action='/pelatihan'][method='post']").await;
    wait_for(&c, "ditambahkan").await;
    fill(
        &c,
        "form[action$='/peserta']",
        &[("nama", "Agus Salim"), ("nomor", "B.123/2026")],
    )
    .await;
    submit(&c, "form[action$='/peserta']").await;
    let page = wait_for(&c, "didaftarkan").await;
    assert!(
        page.contains("Agus Salim") && page.contains("1 peserta"),
        "{page}"
    );
    shot(&c, "09-pelatihan").await;
    // One press on the participant's row marks them passed, with the certificate number.
    fill(&c, "form.lulus", &[("sertifikat", "BNSP-2026-001")]).await;
    submit(&c, "form.lulus").await;
    let page = wait_for(&c, "BNSP-2026-001").await;
    assert!(page.contains("lulus"), "{page}");
    let shown = agent.ok(&["training", "show", "Menjahit dasar"]);
    assert!(
        shown.contains("Agus Salim") && shown.contains("lulus") && shown.contains("BNSP-2026-001"),
        "{shown}"
    );

    c.goto(&format!("{base}/log")).await.unwrap();
    let log = text(&c, "#log").await;
    assert!(
        log.contains("sinkron berhasil") && log.contains("diimpor dari"),
        "{log}"
    );
    shot(&c, "10-log").await;

    // The name stays on this machine: HQ's view of the training has a pseudonym only.
    let sync = agent.run(&["sync"]);
    assert!(sync.status.success());
    let trainings = tokio::task::block_in_place(|| {
        get_json(&format!("{}/api/v1/trainings", hub.url()), &curator).to_string()
    });
    assert!(trainings.contains("Menjahit dasar"));
    assert!(!trainings.contains("Agus Salim") && !trainings.contains("B.123/2026"));

    // Removing a photo and a product: each asks first, naming it; "Kembali" keeps it.
    c.goto(&format!("{base}/produk/{id}")).await.unwrap();
    submit(&c, "form[action$='/hapus'][action*='/foto/']").await;
    wait_for(&c, "Ya, hapus").await;
    let asked = text(&c, "#yakin").await;
    assert!(
        asked.contains("Foto ke-1 produk 'Kursi jati ukir' (“Tampak depan”)"),
        "{asked}"
    );
    c.find(Locator::LinkText("Kembali"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&c, "Hapus foto").await;
    assert_eq!(
        agent.json(&["product", "show", &id])["photos"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    submit(&c, "form[action$='/hapus'][action*='/foto/']").await;
    wait_for(&c, "Ya, hapus").await;
    submit(&c, "#ya").await;
    wait_for(&c, "Foto dihapus").await;
    assert!(
        agent.json(&["product", "show", &id])["photos"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let batik = agent
        .json(&["product", "list"])
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Batik tulis Pati")
        .expect("the imported batik")["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.goto(&format!("{base}/produk/{batik}")).await.unwrap();
    submit(&c, &format!("form[action='/produk/{batik}/hapus']")).await;
    wait_for(&c, "Ya, hapus").await;
    let asked = text(&c, "#yakin").await;
    assert!(
        asked.contains("Produk 'Batik tulis Pati' akan dihapus"),
        "{asked}"
    );
    shot(&c, "10b-hapus-produk-yakin").await;
    submit(&c, "#ya").await;
    wait_for(&c, "Produk 'Batik tulis Pati' dihapus").await;
    assert!(!text(&c, "#produk").await.contains("Batik tulis Pati"));

    // The import templates, for every operator, from the Impor page.
    c.goto(&format!("{base}/impor")).await.unwrap();
    let link = c
        .find(Locator::Css("a[href='/templat/penjualan.xlsx']"))
        .await
        .unwrap();
    assert_eq!(link.text().await.unwrap(), "penjualan.xlsx");
    let cookie = c.get_named_cookie("karya_sesi").await.unwrap();
    let xlsx = reqwest::Client::new()
        .get(format!("{base}/templat/penjualan.xlsx"))
        .header("cookie", format!("karya_sesi={}", cookie.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), 200);
    let bytes = xlsx.bytes().await.unwrap();
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = calamine::Reader::worksheet_range_at(&mut book, 0)
        .unwrap()
        .unwrap();
    assert_eq!(
        sheet.get((0, 0)),
        Some(&calamine::Data::String("produk".into()))
    );

    // Pengaturan is an admin's: an operator gets told how one is made; made an admin (on
    // the server), budi signs in again and replaces the token, checked with the hub first.
    c.goto(&format!("{base}/pengaturan")).await.unwrap();
    wait_for(&c, "hanya untuk akun admin").await;
    assert!(!body(&c).await.contains("Pengaturan\n"));
    agent.ok(&["user", "admin", "budi"]);
    // The session of an account whose role changed ends (checked every 2 seconds).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        c.goto(&format!("{base}/")).await.unwrap();
        if body(&c).await.contains("Kata sandi") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the session did not end"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    fill(&c, "form", &[("nama", "budi"), ("sandi", "rahasia-lapas")]).await;
    submit(&c, "form").await;
    wait_for(&c, "Sinkronkan sekarang").await;
    c.find(Locator::LinkText("Pengaturan"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&c, "Token baru dari pusat").await;
    shot(&c, "10c-pengaturan").await;
    let kudus = HubProcess::add_upt(&db, "LAPAS-KUDUS", "lapas", "Jawa Tengah");
    fill(&c, "#token-baru", &[("token", kudus.trim())]).await;
    submit(&c, "#token-baru").await;
    wait_for(&c, "token ini milik LAPAS-KUDUS, bukan LAPAS-PATI").await;
    let toml = std::fs::read_to_string(agent.dir.join("agent.toml")).unwrap();
    assert!(toml.contains(token.trim()) && !toml.contains(kudus.trim()));
    let fresh = HubProcess::admin(&db, &["upt", "token", "LAPAS-PATI"]);
    fill(&c, "#token-baru", &[("token", fresh.trim())]).await;
    submit(&c, "#token-baru").await;
    let said = wait_for(&c, "Token disimpan.").await;
    assert!(said.contains("Sinkronisasi berhasil"), "{said}");
    let toml = std::fs::read_to_string(agent.dir.join("agent.toml")).unwrap();
    assert!(toml.contains(fresh.trim()));

    // A form posted with a wrong CSRF token is refused and changes nothing.
    let cookie = c.get_named_cookie("karya_sesi").await.unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{base}/produk"))
        .header("cookie", format!("karya_sesi={}", cookie.value()))
        .form(&[
            ("csrf", "palsu"),
            ("name", "Palsu"),
            ("category", "jasa"),
            ("price_idr", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(!agent.ok(&["product", "list"]).contains("Palsu"));

    // Logout ends the session.
    submit(&c, "header form").await;
    wait_for(&c, "Kata sandi").await;
    assert!(c.current_url().await.unwrap().path().ends_with("/masuk"));
    c.goto(&format!("{base}/produk")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/masuk"));
    c.close().await.unwrap();

    // The same console in English, for a service started with KARYA_LANG=en.
    assert!(agent.stop_service());
    let _ = std::fs::remove_file(agent.dir.join("console.json"));
    agent.start_service_with_env(&[("KARYA_LANG", "en")]);
    let base = agent.console_url();
    let c = browser(&driver, &tmp.path().join("chromium-en")).await;
    c.goto(&format!("{base}/")).await.unwrap();
    wait_for(&c, "Password").await;
    fill(&c, "form", &[("nama", "budi"), ("sandi", "rahasia-lapas")]).await;
    submit(&c, "form").await;
    wait_for(&c, "Sync now").await;
    let home = body(&c).await;
    for words in [
        "Products",
        "Last success",
        "Changes waiting to be sent",
        "Log out",
    ] {
        assert!(home.contains(words), "{words}: {home}");
    }
    assert!(!home.contains("Sinkronkan"), "{home}");
    shot(&c, "13-home-english").await;
    c.goto(&format!("{base}/produk")).await.unwrap();
    wait_for(&c, "Add a product").await;
    assert!(body(&c).await.contains("Kursi jati ukir"));
    c.close().await.unwrap();
    agent.stop_service();
}

/// The peak resident memory of a process (VmHWM), in MiB.
fn peak_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb / 1024.0
}

/// Loads the sign-in page and posts it with its form token, as the browser does.
async fn console_sign_in(
    http: &reqwest::Client,
    base: &str,
    name: &str,
    password: &str,
) -> reqwest::Response {
    let (cookie, token) = karya_tests::sign_in_form(http, base).await.unwrap();
    http.post(format!("{base}/masuk"))
        .header("cookie", cookie)
        .form(&[("nama", name), ("sandi", password), ("masuk", &token)])
        .send()
        .await
        .unwrap()
}

/// The console's sign-in is cheap to refuse: a flood of logins with made-up names keeps the
/// agent (the UPT's sync service) small, parallel guesses at one account pass no more than
/// the allowed count, a form posted from another site is refused, and removing an account or
/// changing its password ends its sessions. A real agent service, plain HTTP.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_sign_in_is_cheap_to_refuse_and_ends_with_the_account() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("hub.db");
    let token = HubProcess::add_upt(&db, "LPKA-BLITAR", "lpka", "Jawa Timur");
    let mut agent = AgentDir::init(
        &tmp.path().join("agent"),
        "LPKA-BLITAR",
        "http://127.0.0.1:9",
        &token,
    );
    agent.add_user("sari", "rahasia-lpka");
    agent.add_user("joko", "rahasia-joko");
    agent.start_service();
    let base = agent.console_url();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Another site's page posting the form: refused before any password is checked.
    let r = http
        .post(format!("{base}/masuk"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("nama", "sari"), ("sandi", "rahasia-lpka")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(format!("{base}/masuk"))
        .header("origin", "http://evil.example")
        .form(&[("nama", "sari"), ("sandi", "rahasia-lpka")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Without the form's token (a script posting blind): refused as well.
    let r = http
        .post(format!("{base}/masuk"))
        .form(&[("nama", "sari"), ("sandi", "rahasia-lpka")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Signed in, then the account is removed from the command line: the session ends.
    let r = console_sign_in(&http, &base, "sari", "rahasia-lpka").await;
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let home = |cookie: String| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            http.get(format!("{base}/"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(home(cookie.clone()).await, 200);
    agent.ok(&["user", "rm", "sari"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while home(cookie.clone()).await == 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "the session outlived its account"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(home(cookie).await, 303, "back to the sign-in page");
    // 300 logins with made-up names, 64 at a time from 64 addresses (each under the
    // per-address limit): memory stays bounded (each check takes 19 MiB; two run at once).
    let pid = agent.service_pid().unwrap();
    let before = peak_mib(pid);
    let clients: Vec<reqwest::Client> = (0..64u8)
        .map(|i| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .local_address(std::net::IpAddr::from([127, 0, 1, i + 1]))
                .build()
                .unwrap()
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let names: Vec<String> = (0..300).map(|i| format!("tamu{i}")).collect();
    for chunk in names.chunks(64) {
        let tries = chunk
            .iter()
            .zip(&clients)
            .map(|(n, http)| console_sign_in(http, &base, n, "tebak-tebak"));
        for r in futures_util::future::join_all(tries).await {
            *statuses.entry(r.status().as_u16()).or_default() += 1;
        }
    }
    let after = peak_mib(pid);
    assert_eq!(
        statuses.values().sum::<usize>(),
        300,
        "every login answered: {statuses:?}"
    );
    assert!(
        statuses.keys().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert!(
        after < 120.0,
        "the agent's peak memory went from {before:.0} MiB to {after:.0} MiB under the flood"
    );
    eprintln!("login flood: {statuses:?}, agent peak {before:.0} -> {after:.0} MiB");

    // 40 guesses at one account in parallel: at most 5 are checked as "wrong" before the
    // account is slowed down; the right password then waits too.
    let guesses = (0..40).map(|i| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let r = console_sign_in(&http, &base, "joko", &format!("salah-{i}")).await;
            (r.status().as_u16(), r.text().await.unwrap())
        }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let wrong = answers
        .iter()
        .filter(|(_, page)| page.contains("Nama atau kata sandi salah"))
        .count();
    assert!(wrong <= 5, "{wrong} guesses were checked as wrong");
    let r = console_sign_in(&http, &base, "joko", "rahasia-joko").await;
    assert_ne!(r.status(), 303, "the account waits after the guesses");
    // And that address is over its limit: more names from it are refused unchecked.
    let r = console_sign_in(&http, &base, "siapa-saja", "tebak").await;
    assert_eq!(r.status(), 429);
    assert!(r.text().await.unwrap().contains("dari komputer ini"));

    agent.stop_service();
}

/// The bytes of the page the browser shows.
async fn page_bytes(c: &Client) -> u64 {
    c.execute(
        "return new TextEncoder().encode(document.documentElement.outerHTML).length",
        vec![],
    )
    .await
    .unwrap()
    .as_u64()
    .unwrap()
}

/// A big UPT (10,000 products, imported from a sheet as operators do) in the console: the
/// product list comes in pages of 100 under 100 KB, pages on and searches by words; the
/// sale form offers products as one types instead of a list of 10,000, and takes a product
/// by its name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_upt_pages_and_searches_its_products_and_picks_one_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let mut agent = AgentDir::init(
        &tmp.path().join("agent"),
        "LAPAS-CIPINANG",
        "http://127.0.0.1:9",
        "karya_x_y",
    );
    agent.add_user("budi", "rahasia-lapas");
    let sheet = tmp.path().join("produk.csv");
    let mut csv = String::from("nama,kategori,harga,jumlah stok\n");
    for i in 0..10_000 {
        csv.push_str(&format!("Tas anyaman nomor {i:04},kerajinan,75000,5\n"));
    }
    std::fs::write(&sheet, csv).unwrap();
    agent.ok(&["import", sheet.to_str().unwrap()]);
    agent.start_service();
    let base = agent.console_url();
    let driver = Driver::start();
    let c = browser(&driver, &tmp.path().join("chromium")).await;
    c.goto(&format!("{base}/masuk")).await.unwrap();
    fill(&c, "form", &[("nama", "budi"), ("sandi", "rahasia-lapas")]).await;
    submit(&c, "form").await;
    wait_for(&c, "Sinkronkan sekarang").await;

    c.goto(&format!("{base}/produk")).await.unwrap();
    let counted = text(&c, "#jumlah").await;
    assert!(
        counted.contains("10.000 produk") && counted.contains("100 di halaman ini"),
        "{counted}"
    );
    let bytes = page_bytes(&c).await;
    eprintln!("the first page of 10,000 products: {bytes} bytes");
    assert!(bytes <= 100_000, "the first page is {bytes} bytes");
    let first = text(&c, "#produk").await;
    assert!(first.contains("Tas anyaman nomor 0000") && !first.contains("nomor 0100"));
    c.find(Locator::Id("berikutnya"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&c, "Halaman pertama").await;
    let second = text(&c, "#produk").await;
    assert!(
        second.contains("Tas anyaman nomor 0100") && !second.contains("nomor 0099"),
        "{second}"
    );
    shot(&c, "11-produk-halaman-2").await;
    c.goto(&format!("{base}/produk?q=0421")).await.unwrap();
    let found = text(&c, "#produk").await;
    assert!(found.contains("Tas anyaman nomor 0421"), "{found}");
    assert!(text(&c, "#jumlah").await.contains("1 produk"));

    // The sale form: no list of 10,000; the product typed by its name.
    c.goto(&format!("{base}/penjualan")).await.unwrap();
    let options = c
        .find_all(Locator::Css("#produk-pilihan option"))
        .await
        .unwrap()
        .len();
    assert!((1..=300).contains(&options), "{options} suggestions");
    assert!(page_bytes(&c).await <= 100_000);
    let form = "form[action='/penjualan'][method='post']";
    fill(
        &c,
        form,
        &[
            ("produk", "tas anyaman nomor 0421"),
            ("jumlah", "2"),
            ("pendapatan", "150.000"),
        ],
    )
    .await;
    submit(&c, form).await;
    let said = wait_for(&c, "dicatat").await;
    assert!(said.contains("Stok sekarang 3."), "{said}");
    let sales = text(&c, "#penjualan").await;
    assert!(sales.contains("Tas anyaman nomor 0421"), "{sales}");
    c.close().await.unwrap();
}
