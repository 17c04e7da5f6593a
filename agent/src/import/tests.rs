//! The import's unit tests: reading files as Excel writes them, and refusing what is too big
//! or broken without a crash.

use super::*;

/// Excel with Indonesian settings saves "CSV" separated by ';' in Windows-1252, with
/// decimal commas and day-first dates; a blank row in the middle does not shift the row
/// numbers an error names.
#[test]
fn an_indonesian_excel_csv_is_read_as_excel_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("produk.csv");
    let mut bytes = b"nama;kategori;harga;stok\r\n".to_vec();
    bytes.extend(b"Kursi \xe9bony;Mebel;Rp 1.850.000,00;2\r\n;;;\r\n");
    bytes.extend(b"\"Meja; bundar\";furnitur;275.000;1\r\n");
    std::fs::write(&path, &bytes).unwrap();
    let table = read_table(&path).unwrap();
    assert_eq!(table.headers, ["nama", "kategori", "harga", "stok"]);
    assert_eq!(
        table.rows,
        [
            (
                2,
                vec![
                    "Kursi ébony".to_string(),
                    "Mebel".into(),
                    "Rp 1.850.000,00".into(),
                    "2".into()
                ]
            ),
            (
                4,
                vec![
                    "Meja; bundar".to_string(),
                    "furnitur".into(),
                    "275.000".into(),
                    "1".into()
                ]
            ),
        ]
    );
    // UTF-8 with its BOM, separated by commas.
    std::fs::write(&path, "\u{feff}nama,harga\nKursi,100\n").unwrap();
    let table = read_table(&path).unwrap();
    assert_eq!(table.headers, ["nama", "harga"]);
    assert_eq!(sniff_delimiter("a\tb\tc"), b'\t');
}

#[test]
fn headers_in_either_language() {
    assert_eq!(canonical("Nama Produk"), Some("name"));
    assert_eq!(canonical("harga (Rp)"), Some("price_idr"));
    assert_eq!(canonical("Tanggal Mulai"), Some("start_date"));
    assert_eq!(canonical("qty"), Some("quantity"));
}

#[test]
fn excel_dates() {
    assert_eq!(excel_serial_to_date(45658.0), "2025-01-01");
}

mod limits {
    use super::super::*;
    use std::io::{Read, Write};

    /// A small XLSX of products, then rewritten so its sheet declares `dimension`.
    fn xlsx_declaring(dir: &Path, dimension: &str) -> std::path::PathBuf {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["nama", "kategori", "harga", "stok"].iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "Kursi jati").unwrap();
        ws.write_string(1, 1, "furnitur").unwrap();
        ws.write_number(1, 2, 1_850_000.0).unwrap();
        ws.write_number(1, 3, 2.0).unwrap();
        let plain = dir.join("plain.xlsx");
        wb.save(&plain).unwrap();
        let out = dir.join("produk.xlsx");
        rewrite_sheet(&plain, &out, |mut sheet| {
            let start = sheet.find("<dimension ref=\"").unwrap() + 16;
            let end = start + sheet[start..].find('"').unwrap();
            sheet.replace_range(start..end, dimension);
            sheet
        });
        out
    }

    /// Copies an XLSX with its first sheet's XML passed through `edit`.
    fn rewrite_sheet(from: &Path, to: &Path, edit: impl Fn(String) -> String) {
        let mut zin = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
        let mut zout = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
        for i in 0..zin.len() {
            let mut entry = zin.by_index(i).unwrap();
            let name = entry.name().to_string();
            let mut body = String::new();
            entry.read_to_string(&mut body).unwrap();
            if name.ends_with("sheet1.xml") {
                body = edit(body);
            }
            zout.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zout.write_all(body.as_bytes()).unwrap();
        }
        zout.finish().unwrap();
    }

    /// Millions of tiny shared strings (a few MB on disk) are refused before they are read.
    #[test]
    fn a_workbook_of_millions_of_shared_strings_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let plain = xlsx_declaring(dir.path(), "A1:D2");
        let out = dir.path().join("banyak.xlsx");
        let mut zin = zip::ZipArchive::new(std::fs::File::open(&plain).unwrap()).unwrap();
        let mut zout = zip::ZipWriter::new(std::fs::File::create(&out).unwrap());
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for i in 0..zin.len() {
            let mut entry = zin.by_index(i).unwrap();
            let name = entry.name().to_string();
            let mut body = Vec::new();
            entry.read_to_end(&mut body).unwrap();
            if name == "xl/sharedStrings.xml" {
                continue;
            }
            zout.start_file(name, opts).unwrap();
            zout.write_all(&body).unwrap();
        }
        zout.start_file("xl/sharedStrings.xml", opts).unwrap();
        zout.write_all(
            b"<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">",
        )
        .unwrap();
        for _ in 0..2_000_000 {
            zout.write_all(b"<si><t>x</t></si>").unwrap();
        }
        zout.write_all(b"</sst>").unwrap();
        zout.finish().unwrap();
        assert!(std::fs::metadata(&out).unwrap().len() < MAX_FILE_BYTES);
        let err = read_table(&out).unwrap_err().to_string();
        assert!(
            err.contains(&MAX_SHARED_STRINGS_INFLATED.to_string()),
            "{err}"
        );
    }

    #[test]
    fn a_sheet_declaring_a_huge_dimension_is_read_by_its_cells() {
        let dir = tempfile::tempdir().unwrap();
        let path = xlsx_declaring(dir.path(), "A1:XFD1048576");
        assert!(std::fs::metadata(&path).unwrap().len() < 10_000);
        // The old reader allocated the declared 17 billion cells and aborted the process.
        let table = read_table(&path).unwrap();
        assert_eq!(table.headers, ["nama", "kategori", "harga", "stok"]);
        assert_eq!(
            table.rows,
            [(
                2,
                vec![
                    "Kursi jati".to_string(),
                    "furnitur".into(),
                    "1850000".into(),
                    "2".into()
                ]
            )]
        );
    }

    fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
        for &(at, byte, op) in edits {
            let i = at % (bytes.len() + 1);
            match op {
                0 if i < bytes.len() => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ if i < bytes.len() => {
                    bytes.remove(i);
                }
                _ => {}
            }
        }
        bytes
    }

    fn cases(default: u32) -> proptest::test_runner::Config {
        proptest::test_runner::Config::with_cases(
            std::env::var("PROPTEST_CASES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default),
        )
    }

    proptest::proptest! {
        #![proptest_config(cases(1000))]
        /// Mutated CSV files: an error or a table, never a panic. More cases:
        /// PROPTEST_CASES=100000.
        #[test]
        fn mutated_csv_never_panics(
            edits in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>(), 0u8..3), 1..12),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("produk.csv");
            let good = "nama;kategori;harga;stok\nKursi jati;furnitur;Rp 1.850.000;2\n\u{feff}Batik;fashion-batik;275000;8\n";
            std::fs::write(&path, mutate(good.as_bytes().to_vec(), &edits)).unwrap();
            let _ = read_table(&path);
        }
    }

    proptest::proptest! {
        #![proptest_config(cases(200))]
        /// Mutated XLSX files (inside the zip's compressed bytes too): an error or a table,
        /// never a panic.
        #[test]
        fn mutated_xlsx_never_panics(
            edits in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>(), 0u8..3), 1..6),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let good = std::fs::read(xlsx_declaring(dir.path(), "A1:D2")).unwrap();
            let path = dir.path().join("mutasi.xlsx");
            std::fs::write(&path, mutate(good, &edits)).unwrap();
            let _ = read_table(&path);
        }
    }

    /// The crasher the property test found, kept: a cell naming a shared string that does not
    /// exist made calamine panic.
    #[test]
    fn a_cell_naming_a_missing_shared_string_is_an_error_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let good = xlsx_declaring(dir.path(), "A1:D2");
        let bad = dir.path().join("rusak.xlsx");
        rewrite_sheet(&good, &bad, |sheet| sheet.replace("<v>0</v>", "<v>999</v>"));
        let err = read_table(&bad).unwrap_err().to_string();
        assert!(err.contains("rusak") && err.contains("Excel"), "{err}");
    }

    #[test]
    fn too_many_rows_columns_or_bytes_are_refused_with_the_way_to_split() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("produk.csv");
        let mut f = std::fs::File::create(&csv).unwrap();
        writeln!(f, "nama,kategori,harga,stok").unwrap();
        for i in 0..(MAX_ROWS + 5) {
            writeln!(f, "Produk {i},kerajinan,1000,1").unwrap();
        }
        drop(f);
        let err = read_table(&csv).unwrap_err().to_string();
        assert!(
            err.contains("pecah menjadi berkas berisi paling banyak 10000 baris"),
            "{err}"
        );

        let wide = dir.path().join("lebar.csv");
        std::fs::write(&wide, format!("{}\n", vec!["x"; MAX_COLUMNS + 1].join(","))).unwrap();
        let err = read_table(&wide).unwrap_err().to_string();
        assert!(err.contains("kolom"), "{err}");

        let big = dir.path().join("besar.csv");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap();
        let err = read_table(&big).unwrap_err().to_string();
        assert!(err.contains("paling besar 20971520"), "{err}");
    }
}

/// A workbook whose columns an operator named in their own words: "Jumlah Stok" and
/// "Diusulkan ke Pusat" fill the stock and the nomination (they were dropped without a word,
/// the products arriving with stock 0 and not nominated); a column no field takes refuses
/// the file, naming the column and the nearest field, and writes nothing.
#[test]
fn every_column_is_taken_or_the_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("agent.db"), None).unwrap();
    let path = dir.path().join("produk.csv");
    std::fs::write(
        &path,
        "Nama Produk;Kategori;Harga;Jumlah Stok;Diusulkan ke Pusat\nKursi jati;furnitur;1.850.000;7;ya\n",
    )
    .unwrap();
    import_file(&mut store, "LAPAS-PATI", &path).unwrap();
    let rows = records::products(&store, "LAPAS-PATI").unwrap();
    assert_eq!((rows[0].stock, rows[0].nominated), (7, true));

    for (header, says) in [
        (
            "Harga Grosir",
            "kolom 'Harga Grosir' tidak dikenal; maksudnya 'harga'?",
        ),
        (
            "Stock Akhr",
            "kolom 'Stock Akhr' tidak dikenal; maksudnya 'stock'?",
        ),
        ("Warna", "kolom 'Warna' tidak dikenal"),
    ] {
        let path = dir.path().join(format!("{header}.csv"));
        std::fs::write(
            &path,
            format!("nama;kategori;harga;{header}\nMeja rotan;furnitur;950.000;x\n"),
        )
        .unwrap();
        let e = import_file(&mut store, "LAPAS-PATI", &path).unwrap_err();
        assert!(matches!(e, ImportError::UnknownColumns { .. }), "{e}");
        let said = e.to_string();
        assert!(
            said.contains(says) && said.contains("Tidak ada yang diimpor"),
            "{said}"
        );
    }
    // A column without a header but with something in it is a column too; an empty one is
    // not.
    std::fs::write(
        &path,
        "nama;kategori;harga;\nMeja rotan;furnitur;950.000;merah\n",
    )
    .unwrap();
    let e = import_file(&mut store, "LAPAS-PATI", &path).unwrap_err();
    assert!(e.to_string().contains("kolom 4 tanpa judul"), "{e}");
    std::fs::write(
        &path,
        "nama;kategori;harga;\nMeja rotan;furnitur;950.000;\n",
    )
    .unwrap();
    import_file(&mut store, "LAPAS-PATI", &path).unwrap();
    assert_eq!(records::products(&store, "LAPAS-PATI").unwrap().len(), 2);
}

/// A sales sheet names its products by name (an operator has no ids in Excel); a name two
/// products share is refused with the way out.
#[test]
fn a_sales_sheet_names_products_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("agent.db"), None).unwrap();
    let products = dir.path().join("produk.csv");
    std::fs::write(
        &products,
        "nama;kategori;harga\nKursi jati;furnitur;1.850.000\nTikar pandan;kerajinan;75.000\nTikar pandan;kerajinan;80.000\n",
    )
    .unwrap();
    import_file(&mut store, "LAPAS-PATI", &products).unwrap();
    let sales = dir.path().join("penjualan.csv");
    std::fs::write(
        &sales,
        "produk;jumlah;pendapatan;tanggal\n  kursi JATI ;2;3.700.000;01/12/2026\n",
    )
    .unwrap();
    let report = import_file(&mut store, "LAPAS-PATI", &sales).unwrap();
    assert_eq!(report.rows, 1);
    let chair = records::resolve_product(&store, "LAPAS-PATI", "Kursi jati").unwrap();
    let sold = records::recent_sales(&store, "LAPAS-PATI", 10).unwrap();
    assert_eq!(sold[0].sale.product_id.as_str(), chair);
    std::fs::write(&sales, "produk;jumlah;pendapatan\nTikar pandan;1;75.000\n").unwrap();
    let e = import_file(&mut store, "LAPAS-PATI", &sales).unwrap_err();
    assert!(
        e.to_string()
            .contains("lebih dari satu produk bernama 'Tikar pandan'; tulis id-nya"),
        "{e}"
    );
}
