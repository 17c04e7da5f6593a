//! The karya-agent binary as an operator runs it, offline (no hub anywhere).

use std::process::Command;

fn agent_with(env: &[(&str, &str)], dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_karya-agent"))
        .envs(env.iter().copied())
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

fn agent(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    agent_with(&[], dir, args)
}

#[test]
fn records_work_offline_and_errors_name_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = agent(d, &["product", "list"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("karya-agent init"),
        "{out:?}"
    );

    let out = agent(
        d,
        &[
            "init",
            "--upt",
            "LAPAS-PATI",
            "--hub",
            "http://127.0.0.1:9",
            "--token",
            "karya_x_y",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let out = agent(
        d,
        &[
            "product",
            "add",
            "--name",
            "Kursi jati",
            "--category",
            "furnitur",
            "--price",
            "900000",
            "--stock",
            "3",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(id.len(), 32);

    let out = agent(
        d,
        &[
            "product",
            "add",
            "--name",
            "X",
            "--category",
            "mainan",
            "--price",
            "1",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("category") && err.contains("furnitur"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one-line reason: {err}");

    let out = agent(d, &["stock", "add", &id[..8], "-5"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stok hanya 3"));
    let out = agent(d, &["stock", "add", &id[..8], "-2"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("stok sekarang 1"),
        "{out:?}"
    );

    let out = agent(d, &["--json", "product", "show", &id]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stock"], 1);
    assert_eq!(v["name"], "Kursi jati");

    let out = agent(
        d,
        &[
            "product",
            "edit",
            &id[..8],
            "--cert",
            "sni:SNI-7206:2029-06-30",
            "--cert",
            "haki:IDM000123",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let out = agent(d, &["product", "show", &id[..8]]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("sertifikasi: sni SNI-7206, berlaku sampai 30 Jun 2029"),
        "{shown}"
    );
    assert!(shown.contains("sertifikasi: haki IDM000123"), "{shown}");
    let out = agent(d, &["product", "edit", &id[..8], "--cert", "iso:9001"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("halal, pirt, bpom, haki, sni"));

    // The committed template imports as it is.
    let template = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/produk.csv");
    let out = agent(d, &["import", template]);
    assert!(out.status.success(), "{out:?}");
    let out = agent(d, &["--json", "product", "list"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keripik = v
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Keripik tempe")
        .unwrap();
    assert_eq!(keripik["certifications"].as_array().unwrap().len(), 2);
    assert_eq!(keripik["certifications"][0]["kind"], "pirt");

    let out = agent(
        d,
        &[
            "training",
            "add",
            "--program",
            "Las",
            "--category",
            "las",
            "--start",
            "2026-03-10",
            "--end",
            "2026-03-01",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sebelum tanggal mulai"));

    let out = agent(d, &["--json", "status"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // add, stock -2, certifications, import: the refused commands left nothing.
    assert_eq!(v["pending_changes"], 4, "{v}");
    assert_eq!(v["last_success_at"], serde_json::Value::Null);
}

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refused(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn init_offline(d: &std::path::Path) {
    ok(&agent(
        d,
        &[
            "init",
            "--upt",
            "LAPAS-PATI",
            "--hub",
            "http://127.0.0.1:9",
            "--token",
            "karya_x_y",
        ],
    ));
}

/// Prices, dates, categories and channels as operators type them with Indonesian settings,
/// and what is refused names what is accepted.
#[test]
fn input_is_read_as_operators_write_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init_offline(d);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(d), 0o700, "the data directory is its owner's");
        assert_eq!(
            mode(&d.join("agent.db")),
            0o600,
            "the database is its owner's"
        );
    }
    let id = ok(&agent(
        d,
        &[
            "--json",
            "product",
            "add",
            "--name",
            "Lukisan pantai",
            "--category",
            "Seni Lukis",
            "--price",
            "Rp275.000,00",
            "--stock",
            "1.200",
        ],
    ));
    let p: serde_json::Value = serde_json::from_str(&id).unwrap();
    assert_eq!(p["category"], "seni-lukis");
    assert_eq!(p["price_idr"], 275_000);
    assert_eq!(p["stock"], 1_200);
    let id = p["id"].as_str().unwrap().to_string();

    ok(&agent(
        d,
        &[
            "product",
            "edit",
            &id,
            "--category",
            "mebel",
            "--price",
            "275.000",
            "--nominate",
            "ya",
        ],
    ));
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&agent(d, &["--json", "product", "show", &id]))).unwrap();
    assert_eq!(shown["category"], "furnitur");
    assert_eq!(shown["nominated"], true);

    let sale: serde_json::Value = serde_json::from_str(&ok(&agent(
        d,
        &[
            "--json",
            "sale",
            "add",
            &id,
            "--qty",
            "2",
            "--revenue",
            "Rp 550.000",
            "--date",
            "15/11/2026",
            "--channel",
            "E-Katalog",
        ],
    )))
    .unwrap();
    assert_eq!(sale["date"], "2026-11-15");
    assert_eq!(sale["channel"], "e-katalog");
    assert_eq!(sale["revenue_idr"], 550_000);

    let err = refused(&agent(
        d,
        &[
            "product",
            "add",
            "--name",
            "X",
            "--category",
            "mainan",
            "--price",
            "1",
        ],
    ));
    assert!(
        err.contains("mainan") && err.contains("seni-lukis, lainnya"),
        "{err}"
    );
    let err = refused(&agent(
        d,
        &[
            "sale",
            "add",
            &id,
            "--qty",
            "1",
            "--revenue",
            "1",
            "--date",
            "31/02/2026",
        ],
    ));
    assert!(err.contains("15/11/2026"), "{err}");
    let err = refused(&agent(
        d,
        &[
            "product",
            "add",
            "--name",
            "X",
            "--category",
            "jasa",
            "--price",
            "12,5",
        ],
    ));
    assert!(err.contains("bilangan bulat"), "{err}");
    let err = refused(&agent(
        d,
        &[
            "sale",
            "add",
            &id,
            "--qty",
            "1",
            "--revenue",
            "1",
            "--channel",
            "pasar",
        ],
    ));
    assert!(err.contains("e-katalog"), "{err}");
    ok(&agent(
        d,
        &[
            "training",
            "add",
            "--program",
            "Menjahit",
            "--category",
            "Jahit",
            "--start",
            "01/12/2026",
            "--end",
            "20-12-2026",
        ],
    ));
}

/// A template made by `karya-agent template`, filled in as an operator does: its example row
/// is refused, a dry run writes nothing, the import takes every row, and the same file again
/// only with --again.
#[test]
fn a_template_is_filled_checked_and_imported() {
    use calamine::Reader;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init_offline(d);
    let file = d.join("produk.xlsx");
    let out = ok(&agent(d, &["template", "produk", file.to_str().unwrap()]));
    assert!(out.contains("karya-agent import"), "{out}");

    // The template as written: headers, the example row, and a dropdown sheet of categories.
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&file).unwrap();
    assert_eq!(wb.sheet_names(), ["Data", "Pilihan"]);
    let pilihan = wb.worksheet_range("Pilihan").unwrap();
    let cats: Vec<String> = pilihan.rows().skip(1).map(|r| r[0].to_string()).collect();
    assert!(cats.contains(&"Seni & Lukis".to_string()), "{cats:?}");
    let data = wb.worksheet_range("Data").unwrap();
    let rows: Vec<Vec<String>> = data
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows[0][..4], ["nama", "kategori", "harga", "satuan"]);
    assert!(rows[1][0].starts_with("CONTOH:"), "{:?}", rows[1]);
    // The sheet's XML carries the dropdowns.
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&file).unwrap()).unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
        &mut xml,
    )
    .unwrap();
    assert!(
        xml.contains("<dataValidation") && xml.contains("Pilihan!$A$2"),
        "{xml}"
    );

    // Imported as it is, the example row is refused and nothing is written.
    let err = refused(&agent(d, &["import", file.to_str().unwrap()]));
    assert!(
        err.contains("baris 2") && err.contains("baris contoh"),
        "{err}"
    );

    // Filled in: the example row replaced by two products, with a blank row between.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in rows[0].iter().enumerate() {
        sheet.write_string(0, c as u16, h).unwrap();
    }
    // Filled by header, as a person fills it (a column added to the template changes nothing
    // here): the cells not named stay empty.
    let products: [&[(&str, &str)]; 2] = [
        &[
            ("nama", "Kursi jati"),
            ("kategori", "Furnitur"),
            ("harga", "1.850.000"),
            ("satuan", "pcs"),
            ("stok", "2"),
            ("diusulkan", "ya"),
        ],
        &[
            ("nama", "Batik tulis"),
            ("kategori", "Fashion & Batik"),
            ("harga", "Rp 450.000"),
            ("satuan", "lembar"),
            ("stok", "5"),
            ("diusulkan", "tidak"),
            ("sertifikasi", "halal:ID1:31/01/2028"),
        ],
    ];
    for (r, cells) in products.iter().enumerate() {
        for (header, v) in cells.iter() {
            let c = rows[0].iter().position(|h| h == header).expect(header);
            sheet.write_string(1 + r as u32 * 2, c as u16, *v).unwrap();
        }
    }
    let filled = d.join("produk-isi.xlsx");
    book.save(&filled).unwrap();

    let out = ok(&agent(
        d,
        &["import", "--dry-run", filled.to_str().unwrap()],
    ));
    assert!(
        out.contains("2") && out.contains("belum ada yang ditulis"),
        "{out}"
    );
    let listed = ok(&agent(d, &["--json", "product", "list"]));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&listed).unwrap(),
        serde_json::json!([])
    );

    ok(&agent(d, &["import", filled.to_str().unwrap()]));
    let listed: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&agent(d, &["--json", "product", "list"]))).unwrap();
    let mut got: Vec<(String, String, i64)> = listed
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["category"].as_str().unwrap().to_string(),
                p["price_idr"].as_i64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "Batik tulis".to_string(),
                "fashion-batik".to_string(),
                450_000
            ),
            ("Kursi jati".to_string(), "furnitur".to_string(), 1_850_000)
        ]
    );
    let batik = listed.iter().find(|p| p["name"] == "Batik tulis").unwrap();
    assert_eq!(batik["certifications"][0]["valid_until"], "2028-01-31");

    let err = refused(&agent(d, &["import", filled.to_str().unwrap()]));
    assert!(err.contains("sudah pernah diimpor"), "{err}");
    ok(&agent(d, &["import", "--again", filled.to_str().unwrap()]));
    let listed: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&agent(d, &["--json", "product", "list"]))).unwrap();
    assert_eq!(listed.len(), 4);

    // An error names the row Excel shows, blank rows counted.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["nama", "kategori", "harga"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (c, v) in ["Meja", "furnitur", "100"].iter().enumerate() {
        sheet.write_string(1, c as u16, *v).unwrap();
    }
    for (c, v) in ["Kursi", "furnitur", "seratus"].iter().enumerate() {
        sheet.write_string(4, c as u16, *v).unwrap();
    }
    let bad = d.join("bad.xlsx");
    book.save(&bad).unwrap();
    let err = refused(&agent(d, &["import", bad.to_str().unwrap()]));
    assert!(err.contains("baris 5") && err.contains("harga"), "{err}");
}

/// The agent as a person who set `KARYA_LANG=lang` runs it.
fn agent_in(lang: &str, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    agent_with(&[("KARYA_LANG", lang)], dir, args)
}

#[test]
fn messages_are_in_bahasa_indonesia_unless_karya_lang_is_en() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = agent_in("en", d, &["status"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not an initialised"), "{err}");
    let out = agent(d, &["status"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("belum disiapkan"), "{err}");

    let init = [
        "init",
        "--upt",
        "LAPAS-PATI",
        "--hub",
        "http://127.0.0.1:9",
        "--token",
        "karya_x_y",
    ];
    let out = agent(d, &init);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("siap untuk UPT LAPAS-PATI"),
        "{out:?}"
    );
    // The hub is not there: init warns, in the operator's language, and goes on.
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("PERINGATAN: token belum bisa diperiksa"),
        "{out:?}"
    );

    let id_status = String::from_utf8_lossy(&agent(d, &["status"]).stdout).to_string();
    for words in [
        "Keadaan:",
        "Terakhir berhasil: belum pernah",
        "Perubahan antre:",
        "tidak berjalan",
    ] {
        assert!(id_status.contains(words), "{words}: {id_status}");
    }
    let en_status = String::from_utf8_lossy(&agent_in("en", d, &["status"]).stdout).to_string();
    for words in [
        "State:",
        "Last success:",
        "never",
        "Pending changes:",
        "not running",
    ] {
        assert!(en_status.contains(words), "{words}: {en_status}");
    }

    // The help says what each command is for, in the same language.
    let help = String::from_utf8_lossy(&agent(d, &["--help"]).stdout).to_string();
    assert!(help.contains("Sinkronkan sekarang"), "{help}");
    let help =
        String::from_utf8_lossy(&agent_in("en", d, &["sale", "add", "--help"]).stdout).to_string();
    assert!(help.contains("Where it was sold"), "{help}");

    // Refusals of what was typed, and of what is not there.
    let add = [
        "product",
        "add",
        "--name",
        "Kursi",
        "--category",
        "mebel",
        "--price",
        "12,5",
    ];
    let err = String::from_utf8_lossy(&agent(d, &add).stderr).to_string();
    assert!(err.contains("bilangan bulat"), "{err}");
    let err = String::from_utf8_lossy(&agent_in("en_US.UTF-8", d, &add).stderr).to_string();
    assert!(err.contains("whole numbers"), "{err}");
    let show = ["product", "show", "abcdef12"];
    let err = String::from_utf8_lossy(&agent(d, &show).stderr).to_string();
    assert!(err.contains("produk abcdef12 tidak ditemukan"), "{err}");
    let err = String::from_utf8_lossy(&agent_in("en", d, &show).stderr).to_string();
    assert!(err.contains("product abcdef12 not found"), "{err}");
}

/// `karya-agent product list | head`: the reader goes away before the list is written; the
/// command ends quietly (as `ls` does, by SIGPIPE), not with a panic on stderr.
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    let d = tempfile::tempdir().unwrap();
    init_offline(d.path());
    for i in 0..50 {
        ok(&agent(
            d.path(),
            &[
                "product",
                "add",
                "--name",
                &format!("Kursi jati {i}"),
                "--category",
                "furnitur",
                "--price",
                "1850000",
            ],
        ));
    }
    let (reader, writer) = std::io::pipe().unwrap();
    // The reader closes before the command writes anything.
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_karya-agent"))
        .arg("--data-dir")
        .arg(d.path())
        .args(["product", "list"])
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

/// A training takes no more participants than its capacity, and the same person is enrolled
/// once: both refused with what to do, nothing written.
#[test]
fn a_full_training_and_a_second_enrolment_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    init_offline(d);
    let id = ok(&agent(
        d,
        &[
            "training",
            "add",
            "--program",
            "Menjahit",
            "--category",
            "menjahit",
            "--start",
            "01/12/2026",
            "--end",
            "20/12/2026",
            "--capacity",
            "2",
        ],
    ));
    let id = id.trim();
    let enroll = |reg: &str, name: &str| {
        agent(
            d,
            &["training", "enroll", id, "--reg-no", reg, "--name", name],
        )
    };
    ok(&enroll("B.123/2026", "Budi"));
    let again = refused(&enroll("B.123/2026", "Budi"));
    assert!(again.contains("sudah terdaftar"), "{again}");
    ok(&enroll("B.124/2026", "Adi"));
    let full = refused(&enroll("B.125/2026", "Cahyo"));
    assert!(
        full.contains("sudah penuh (2 peserta, kapasitas 2)")
            && full.contains("naikkan kapasitasnya"),
        "{full}"
    );
    let shown: serde_json::Value =
        serde_json::from_slice(&agent(d, &["--json", "training", "show", id]).stdout).unwrap();
    assert_eq!(
        shown["participants"].as_array().map(Vec::len),
        Some(2),
        "{shown}"
    );
}

#[test]
fn a_sale_lowers_the_stock_and_below_zero_only_when_the_operator_says_so() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    init_offline(d);
    let id = ok(&agent(
        d,
        &[
            "product",
            "add",
            "--name",
            "Kemeja batik",
            "--category",
            "fashion-batik",
            "--price",
            "150000",
            "--stock",
            "8",
        ],
    ))
    .trim()
    .to_string();
    let stock = |d: &std::path::Path| {
        let v: serde_json::Value =
            serde_json::from_str(&ok(&agent(d, &["--json", "product", "show", &id]))).unwrap();
        v["stock"].as_i64().unwrap()
    };
    ok(&agent(
        d,
        &["sale", "add", &id, "--qty", "3", "--revenue", "450000"],
    ));
    assert_eq!(stock(d), 5, "a sale takes its quantity from the stock");
    // 22 from 5: refused, naming the product, the stock and the way out; nothing written.
    let err = refused(&agent(
        d,
        &["sale", "add", &id, "--qty", "22", "--revenue", "3300000"],
    ));
    assert!(
        err.contains("stok 'Kemeja batik' tercatat 5; terjual 22 membuatnya -17")
            && err.contains("--below-zero"),
        "{err}"
    );
    assert_eq!(stock(d), 5);

    let out = agent(
        d,
        &[
            "sale",
            "add",
            &id,
            "--qty",
            "22",
            "--revenue",
            "3300000",
            "--below-zero",
        ],
    );
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("membuatnya -17"),
        "{out:?}"
    );
    assert_eq!(stock(d), -17);
    // A sales sheet naming the product: the preview (--dry-run) warns before anything is
    // written; the import records it.
    let sheet = d.join("penjualan.csv");
    std::fs::write(
        &sheet,
        "produk,jumlah,pendapatan,tanggal,kanal\nKemeja batik,4,600000,01/12/2026,pameran\n",
    )
    .unwrap();
    let out = agent(d, &["import", "--dry-run", sheet.to_str().unwrap()]);
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("tercatat -17; terjual 4 membuatnya -21"),
        "{out:?}"
    );
    assert_eq!(stock(d), -17);
    ok(&agent(d, &["import", sheet.to_str().unwrap()]));
    assert_eq!(stock(d), -21);
}

#[test]
fn lists_speak_indonesian_words_and_formats() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    init_offline(d);
    ok(&agent(
        d,
        &[
            "product",
            "add",
            "--name",
            "Kursi jati",
            "--category",
            "furnitur",
            "--price",
            "1850000",
            "--stock",
            "1200",
        ],
    ));
    let listed = ok(&agent(d, &["product", "list"]));
    assert!(
        listed.contains("Furnitur") && listed.contains("Rp1.850.000") && listed.contains("1.200"),
        "{listed}"
    );
    let id = ok(&agent(
        d,
        &[
            "training",
            "add",
            "--program",
            "Rias pengantin",
            "--category",
            "tata-rias",
            "--start",
            "01/12/2026",
            "--end",
            "20/12/2026",
        ],
    ))
    .trim()
    .to_string();
    ok(&agent(
        d,
        &[
            "training",
            "enroll",
            &id,
            "--reg-no",
            "B.I 1/2026",
            "--name",
            "Siti",
        ],
    ));
    let listed = ok(&agent(d, &["training", "list"]));
    assert!(
        listed.contains("Tata rias")
            && listed.contains("1 Des 2026")
            && !listed.contains("2026-12-01"),
        "{listed}"
    );
    let shown = ok(&agent(d, &["training", "show", &id]));
    assert!(
        shown.contains("terdaftar") && !shown.contains("enrolled") && shown.contains("20 Des 2026"),
        "{shown}"
    );
}

#[test]
fn an_enrolment_sheet_names_trainings_by_name_and_enrols_all_or_none() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    init_offline(d);
    let id = ok(&agent(
        d,
        &[
            "training",
            "add",
            "--program",
            "Menjahit dasar",
            "--category",
            "menjahit",
            "--start",
            "01/12/2026",
            "--end",
            "20/12/2026",
            "--capacity",
            "3",
        ],
    ))
    .trim()
    .to_string();
    let sheet = d.join("peserta.csv");
    let write = |rows: &str| {
        std::fs::write(&sheet, format!("Pelatihan;Nomor Registrasi;Nama\n{rows}")).unwrap();
    };
    // A training nobody has, a person twice, more than the capacity: each refused by row,
    // nobody enrolled.
    write("Menjahit lanjut;B.I 1/2026;Siti\n");
    let err = refused(&agent(d, &["import", sheet.to_str().unwrap()]));
    assert!(
        err.contains("baris 2") && err.contains("tidak ada pelatihan 'Menjahit lanjut'"),
        "{err}"
    );
    write("menjahit dasar;B.I 1/2026;Siti\nMenjahit dasar;b.i 1/2026;Siti A.\n");
    let err = refused(&agent(d, &["import", sheet.to_str().unwrap()]));
    assert!(err.contains("baris 3") && err.contains("dua kali"), "{err}");
    write(
        "Menjahit dasar;B.I 1/2026;Siti\nMenjahit dasar;B.I 2/2026;Rina\nMenjahit dasar;B.I 3/2026;Ani\nMenjahit dasar;B.I 4/2026;Dewi\n",
    );
    let err = refused(&agent(d, &["import", sheet.to_str().unwrap()]));
    assert!(err.contains("baris 5") && err.contains("penuh"), "{err}");
    let shown = ok(&agent(d, &["training", "show", &id]));
    assert!(!shown.contains("Siti"), "nothing enrolled: {shown}");
    // By name, in any case: all enrolled, names on this PC only.
    write("menjahit dasar;B.I 1/2026;Siti\nMenjahit Dasar;B.I 2/2026;Rina\n");
    let out = ok(&agent(d, &["import", sheet.to_str().unwrap()]));
    assert!(out.contains("2") && out.contains("peserta"), "{out}");
    let shown = ok(&agent(d, &["training", "show", &id]));
    assert!(shown.contains("Siti") && shown.contains("Rina"), "{shown}");
}
