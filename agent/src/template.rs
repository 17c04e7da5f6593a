//! XLSX templates for the import: one sheet with the headers an import reads, a dropdown
//! (data validation) on every column with a fixed set of values, and one example row that the
//! import refuses, so it can never be imported by mistake.

use crate::import::EXAMPLE_MARK;
use karya_shared::model::SaleChannel;
use rust_xlsxwriter::{DataValidation, Format, Formula, Workbook, XlsxError};
use std::path::Path;

/// Which template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TemplateKind {
    Produk,
    Penjualan,
    Pelatihan,
}

/// A column: its header, a note on how to fill it, the example's cell, and the values a
/// dropdown offers (a sheet "Pilihan" holds them).
struct Column {
    header: &'static str,
    note: &'static str,
    example: String,
    choices: Option<Vec<String>>,
}

fn col(header: &'static str, note: &'static str, example: &str) -> Column {
    Column {
        header,
        note,
        example: example.to_string(),
        choices: None,
    }
}

/// Rows a template offers dropdowns for.
const ROWS: u32 = 2_000;

/// Writes the template to `file`. `categories` are the names people read of the categories
/// in force (the `national` document's).
pub fn write(kind: TemplateKind, categories: &[String], file: &Path) -> Result<(), XlsxError> {
    let yes_no = vec!["ya".to_string(), "tidak".to_string()];
    let channels: Vec<String> = SaleChannel::NAMES.iter().map(|s| s.to_string()).collect();
    let mut cols = match kind {
        TemplateKind::Produk => vec![
            col("nama", "Nama produk", "Tas anyaman pandan"),
            Column {
                choices: Some(categories.to_vec()),
                ..col("kategori", "Pilih dari daftar", "Kerajinan")
            },
            col("harga", "Rupiah, mis. 150.000", "150.000"),
            col("satuan", "pcs, kg, bungkus ...", "pcs"),
            col("stok", "Jumlah barang ada", "12"),
            col("bengkel", "Bengkel kerja", "Bengkel anyaman"),
            col("deskripsi", "", "Tas tangan dari pandan"),
            Column {
                choices: Some(yes_no),
                ..col("diusulkan", "Usulkan ke katalog nasional", "ya")
            },
            col(
                "sertifikasi",
                "JENIS:NOMOR[:BERLAKU], dipisah ';'",
                "halal:ID31110000123:31/01/2028",
            ),
        ],
        TemplateKind::Penjualan => vec![
            col("produk", "Id produk (6+ karakter pertama)", "3f2a9c"),
            col("jumlah", "Banyaknya", "2"),
            col("pendapatan", "Rupiah, mis. 300.000", "300.000"),
            col("tanggal", "15/11/2026", "15/11/2026"),
            Column {
                choices: Some(channels),
                ..col("kanal", "Pilih dari daftar", "pameran")
            },
        ],
        TemplateKind::Pelatihan => vec![
            col("program", "Nama program", "Menjahit tingkat dasar"),
            Column {
                choices: Some(categories.to_vec()),
                ..col("kategori", "Pilih dari daftar", "menjahit")
            },
            col("mulai", "15/11/2026", "01/12/2026"),
            col("selesai", "15/11/2026", "20/12/2026"),
            col("jam", "Jumlah jam", "60"),
            col("mitra", "BLK/BPVP, LKP ...", "BLK Semarang"),
            col("instruktur", "", "Ibu Sari"),
            col("kapasitas", "Jumlah peserta", "20"),
            col("skema", "Skema sertifikasi", "BNSP"),
        ],
    };
    // The example row's first cell says it is an example; the import refuses it.
    cols[0].example = format!("{EXAMPLE_MARK} {}", cols[0].example);

    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let grey = Format::new().set_italic().set_font_color("#666666");
    let text = Format::new().set_num_format("@");
    let sheet = workbook.add_worksheet();
    sheet.set_name("Data")?;
    let mut lists = Vec::new();
    for (i, c) in cols.iter().enumerate() {
        let i = i as u16;
        sheet.write_string_with_format(0, i, c.header, &bold)?;
        sheet.write_string_with_format(1, i, &c.example, &grey)?;
        // Cells as text, so Excel keeps "150.000" and "15/11/2026" as the operator typed them.
        sheet.set_column_format(i, &text)?;
        sheet.set_column_width(i, 22)?;
        if !c.note.is_empty() {
            let note = rust_xlsxwriter::Note::new(c.note).set_author("karya");
            sheet.insert_note(0, i, &note)?;
        }
        if let Some(choices) = &c.choices {
            lists.push((i, choices.clone()));
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    if !lists.is_empty() {
        let pilihan = workbook.add_worksheet();
        pilihan.set_name("Pilihan")?;
        for (n, (column, choices)) in lists.iter().enumerate() {
            let n = n as u16;
            pilihan.write_string_with_format(0, n, cols[*column as usize].header, &bold)?;
            for (r, v) in choices.iter().enumerate() {
                pilihan.write_string(r as u32 + 1, n, v)?;
            }
            pilihan.set_column_width(n, 22)?;
        }
        let data = workbook.worksheet_from_name("Data")?;
        for (n, (column, choices)) in lists.iter().enumerate() {
            let letter = char::from(b'A' + n as u8);
            let range = format!("=Pilihan!${letter}$2:${letter}${}", choices.len() + 1);
            let validation = DataValidation::new()
                .allow_list_formula(Formula::new(range))
                .set_error_title("Pilih dari daftar")?
                .set_error_message("Pilih nilai dari daftar (lihat lembar Pilihan).")?;
            data.add_data_validation(1, *column, ROWS, *column, &validation)?;
        }
    }
    workbook.save(file)
}
