//! Spreadsheet import (CSV or XLSX) of products, sales or trainings, all-or-nothing.
//!
//! Headers may be in Bahasa Indonesia or English (`nama`/`name`, `harga`/`price`, ...); the
//! kind of file is told by its headers. Every row is checked before anything is written: one
//! bad row rejects the whole file, and the report names every bad row, column and reason.
//! Templates live in `agent/templates/`.

use crate::records;
use crate::text::agent as text;
use calamine::{Data, Reader};
use karya_shared::input;
use karya_shared::model::{Product, ProductPatch, Sale, SaleChannel, Training, ValidationError};
use karya_shared::{Store, StoreError};
use std::collections::HashMap;
use std::path::Path;
use time::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Products,
    Sales,
    Trainings,
    /// Participants to enrol: a training (by name or id), a registration number and a name
    /// each (the name and number stay in this PC's identity table).
    Enrolments,
}

/// The headers an enrolment sheet's columns may have (lower case, letters and digits):
/// told from the other kinds by its registration-number column.
const ENROLMENT_IMPORT: &[(&str, &[&str])] = &[
    (
        "training_id",
        &[
            "pelatihan",
            "training",
            "trainingid",
            "idpelatihan",
            "namapelatihan",
            "program",
        ],
    ),
    (
        "reg_no",
        &[
            "nomorregistrasi",
            "noregistrasi",
            "noreg",
            "nomorreg",
            "regno",
            "registrasi",
            "nomorregister",
            "noregister",
        ],
    ),
    (
        "name",
        &["nama", "name", "namapeserta", "namawargabinaan", "peserta"],
    ),
];

/// One problem in one row. `row` is the spreadsheet's row number (the header is row 1).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&text::row_error(self.row, &self.column, &self.reason))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}", text::import_unreadable(file, reason))]
    Unreadable { file: String, reason: String },
    #[error("{}", text::import_unknown_kind(file, headers))]
    UnknownKind { file: String, headers: String },
    /// Columns no field takes: the file is refused rather than imported without them.
    #[error("{}", text::import_unknown_columns(file, &columns.iter().map(|(c, near)| text::unknown_column(c, near.as_deref())).collect::<Vec<_>>().join("; ")))]
    UnknownColumns {
        file: String,
        /// Each column as headed (or "kolom N" without a header), and the nearest field's
        /// header.
        columns: Vec<(String, Option<String>)>,
    },
    #[error("{}", text::import_rejected(file, errors.len(), &errors.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n")))]
    Rejected { file: String, errors: Vec<RowError> },
    #[error("{}", text::import_again(file, earlier))]
    AlreadyImported { file: String, earlier: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportReport {
    pub file: String,
    pub kind: Kind,
    pub rows: usize,
    pub ids: Vec<String>,
    /// Checked only: nothing was written.
    pub dry_run: bool,
    /// What the operator should know before (preview) or after importing: products a sales
    /// sheet takes below zero stock.
    pub warnings: Vec<String>,
}

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Check every row and report, but write nothing.
    pub dry_run: bool,
    /// Import a file whose content was imported before.
    pub again: bool,
}

/// What the first cell of a template's example row starts with: a row holding it is refused,
/// so the example is never imported.
pub const EXAMPLE_MARK: &str = "CONTOH:";

/// The record kinds a file may hold, each with the headers that mean its fields (from the
/// record's one definition, see `karya_shared::record`).
const KINDS: [&[(&str, &[&str])]; 3] = [Product::IMPORT, Sale::IMPORT, Training::IMPORT];

/// The field each header fills (none where no field takes it), for the preview.
pub fn fields_of(headers: &[String]) -> Vec<Option<&'static str>> {
    if is_enrolment_sheet(headers) {
        return headers
            .iter()
            .map(|h| karya_shared::input::header_field(ENROLMENT_IMPORT, h))
            .collect();
    }
    headers.iter().map(|h| canonical(h)).collect()
}

/// Whether the headers are an enrolment sheet's (one of them a registration number).
fn is_enrolment_sheet(headers: &[String]) -> bool {
    headers
        .iter()
        .any(|h| karya_shared::input::header_field(ENROLMENT_IMPORT, h) == Some("reg_no"))
}

fn canonical(header: &str) -> Option<&'static str> {
    KINDS
        .iter()
        .find_map(|k| karya_shared::input::header_field(k, header))
}

/// A table read from a file: headers as written, and rows of text cells, each with the row
/// number a person sees in Excel (blank rows are skipped but still counted).
#[derive(Debug)]
struct Table {
    headers: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

/// A CSV's text: UTF-8 (with or without its BOM), or else Windows-1252, which Excel on an
/// Indonesian Windows writes when it saves "CSV" (not "CSV UTF-8").
fn decode_csv(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// The separator of a CSV, told by its header line: `;` (Excel with Indonesian regional
/// settings, where the comma is the decimal mark), `,` or a tab; outside quotes.
fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    let mut counts = [(b';', 0usize), (b',', 0), (b'\t', 0)];
    let mut quoted = false;
    for c in header.bytes() {
        if c == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(n) = counts.iter_mut().find(|(d, _)| *d == c) {
            n.1 += 1;
        }
    }
    counts
        .iter()
        .max_by_key(|(_, n)| *n)
        .filter(|(_, n)| *n > 0)
        .map(|(d, _)| *d)
        .unwrap_or(b',')
}

fn excel_serial_to_date(serial: f64) -> String {
    // Day 0 of Excel's 1900 system (with its leap-year bug) is 1899-12-30.
    match time::Date::from_julian_day(2_415_019 + serial.floor() as i32) {
        Ok(d) => format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
        Err(_) => serial.to_string(),
    }
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Int(n) => n.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => excel_serial_to_date(dt.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.chars().take(10).collect(),
        Data::Error(e) => format!("#ERROR {e:?}"),
    }
}

/// Limits of one import file (documented in the README): larger files are refused before
/// anything is allocated for their contents, with the way to split them.
pub const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;
pub const MAX_ROWS: usize = 10_000;
pub const MAX_COLUMNS: usize = 60;

/// What an XLSX's parts may inflate to, in all (the sheet is read cell by cell).
const MAX_XLSX_INFLATED: u64 = 200 * 1024 * 1024;
/// What its shared strings may inflate to: they are read whole, each string kept apart, so
/// memory grows with their number (8 million one-letter strings took 438 MB). 24 MB holds
/// every string of a full 10,000-row, 60-column sheet and bounds them to about 80 MB.
const MAX_SHARED_STRINGS_INFLATED: u64 = 24 * 1024 * 1024;

fn too_many_rows() -> String {
    text::too_many_rows(MAX_ROWS)
}

fn too_many_columns(n: usize) -> String {
    text::too_many_columns(n, MAX_COLUMNS)
}

/// The first sheet of an XLSX, read cell by cell: the sheet's declared dimension (which a
/// crafted file sets to a million rows and thousands of columns) is never used to allocate,
/// and rows and columns are checked as they come.
fn read_xlsx(path: &Path) -> Result<Vec<(usize, Vec<String>)>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    {
        let mut zip = zip::ZipArchive::new(std::io::BufReader::new(&file))
            .map_err(|e| text::not_xlsx(&e.to_string()))?;
        let mut inflated = 0u64;
        for i in 0..zip.len() {
            let entry = zip.by_index_raw(i).map_err(|e| e.to_string())?;
            inflated = inflated.saturating_add(entry.size());
            if entry.name().eq_ignore_ascii_case("xl/sharedStrings.xml")
                && entry.size() > MAX_SHARED_STRINGS_INFLATED
            {
                return Err(text::xlsx_inflates(
                    entry.size(),
                    MAX_SHARED_STRINGS_INFLATED,
                ));
            }
        }
        if inflated > MAX_XLSX_INFLATED {
            return Err(text::xlsx_inflates(inflated, MAX_XLSX_INFLATED));
        }
    }
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook(path).map_err(|e: calamine::XlsxError| e.to_string())?;
    let sheet = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| text::no_sheet().to_string())?;
    let mut cells = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(|e| e.to_string())?;
    let mut rows: std::collections::BTreeMap<u32, Vec<String>> = Default::default();
    while let Some(cell) = cells.next_cell().map_err(|e| e.to_string())? {
        let (row, col) = cell.get_position();
        let value = Data::from(cell.get_value().clone());
        if value == Data::Empty {
            continue;
        }
        if col as usize >= MAX_COLUMNS {
            return Err(too_many_columns(col as usize + 1));
        }
        if !rows.contains_key(&row) && rows.len() > MAX_ROWS {
            return Err(too_many_rows());
        }
        let cells = rows.entry(row).or_default();
        if cells.len() <= col as usize {
            cells.resize(col as usize + 1, String::new());
        }
        cells[col as usize] = cell_text(&value);
    }
    Ok(rows
        .into_iter()
        .map(|(row, cells)| (row as usize + 1, cells))
        .collect())
}

/// A row's number as Excel shows it, and its cells.
pub type NumberedRow = (usize, Vec<String>);

/// A file's headers and rows (with the row numbers Excel shows), as the import reads them.
pub fn preview(path: &Path) -> Result<(Vec<String>, Vec<NumberedRow>), ImportError> {
    let t = read_table(path)?;
    Ok((t.headers, t.rows))
}

fn read_table(path: &Path) -> Result<Table, ImportError> {
    let file = path.display().to_string();
    let unreadable = |reason: String| ImportError::Unreadable {
        file: file.clone(),
        reason,
    };
    let size = std::fs::symlink_metadata(path)
        .map_err(|e| unreadable(e.to_string()))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(unreadable(text::file_too_big(
            size,
            MAX_FILE_BYTES,
            MAX_ROWS,
        )));
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_lowercase();
    let mut rows: Vec<(usize, Vec<String>)> = match ext.as_str() {
        "csv" | "txt" => {
            let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
            let text = decode_csv(&bytes);
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .trim(csv::Trim::All)
                .delimiter(sniff_delimiter(&text))
                .from_reader(text.as_bytes());
            let mut rows = Vec::new();
            for record in reader.records() {
                let record = record.map_err(|e| unreadable(e.to_string()))?;
                if rows.len() > MAX_ROWS {
                    return Err(unreadable(too_many_rows()));
                }
                if record.len() > MAX_COLUMNS {
                    return Err(unreadable(too_many_columns(record.len())));
                }
                rows.push((rows.len() + 1, record.iter().map(str::to_string).collect()));
            }
            rows
        }
        // calamine panics on some damaged workbooks (a shared-string index past the table,
        // found by the property test below): a damaged file is an error, never a crash.
        "xlsx" | "xlsm" => std::panic::catch_unwind(|| read_xlsx(path))
            .unwrap_or_else(|_| Err(text::workbook_damaged().to_string()))
            .map_err(unreadable)?,
        "xls" | "ods" => {
            let range = std::panic::catch_unwind(|| {
                let mut workbook = calamine::open_workbook_auto(path).map_err(|e| e.to_string())?;
                workbook
                    .worksheet_range_at(0)
                    .ok_or_else(|| text::no_sheet().to_string())?
                    .map_err(|e| e.to_string())
            })
            .unwrap_or_else(|_| Err(text::workbook_damaged().to_string()))
            .map_err(unreadable)?;
            if range.height() > MAX_ROWS + 1 {
                return Err(unreadable(too_many_rows()));
            }
            if range.width() > MAX_COLUMNS {
                return Err(unreadable(too_many_columns(range.width())));
            }
            range
                .rows()
                .enumerate()
                .map(|(i, r)| (i + 1, r.iter().map(cell_text).collect()))
                .collect()
        }
        other => {
            return Err(unreadable(text::wrong_extension(other)));
        }
    };
    rows.retain(|(_, r)| r.iter().any(|c| !c.trim().is_empty()));
    if rows.is_empty() {
        return Err(unreadable(text::file_empty().into()));
    }
    let headers = rows.remove(0).1;
    Ok(Table { headers, rows })
}

/// Reads the cells of one row by canonical column name, collecting errors.
struct RowReader<'a> {
    row: usize,
    cells: &'a [String],
    columns: &'a HashMap<&'static str, (usize, String)>,
    errors: &'a mut Vec<RowError>,
}

impl RowReader<'_> {
    fn header(&self, column: &str) -> String {
        self.columns
            .get(column)
            .map(|(_, h)| h.clone())
            .unwrap_or_else(|| column.to_string())
    }
    fn text(&self, column: &str) -> String {
        self.columns
            .get(column)
            .and_then(|(i, _)| self.cells.get(*i))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }
    fn error(&mut self, column: &str, reason: impl Into<String>) {
        let column = self.header(column);
        self.errors.push(RowError {
            row: self.row,
            column,
            reason: reason.into(),
        });
    }
    fn number(&mut self, column: &str, default: Option<i64>) -> i64 {
        let text = self.text(column);
        if text.is_empty() {
            if let Some(d) = default {
                return d;
            }
            self.error(column, text::empty_number());
            return 0;
        }
        match input::parse_whole(&text) {
            Ok(n) => n,
            Err(reason) => {
                self.error(column, reason);
                0
            }
        }
    }
    /// A cell read as a date; `None` (and an error) when it is not one.
    fn date(&mut self, column: &str) -> Option<Date> {
        let text = self.text(column);
        if text.is_empty() {
            self.error(column, text::empty_date());
            return None;
        }
        match input::parse_date(&text) {
            Ok(d) => Some(d),
            Err(reason) => {
                self.error(column, reason);
                None
            }
        }
    }
    /// A cell read as one of `choices` (see [`input::match_choice`]); `None` when empty, or
    /// (with an error) when it names none of them.
    fn choice(&mut self, column: &'static str, choices: &[(String, String)]) -> Option<String> {
        let text = self.text(column);
        if text.is_empty() {
            return None;
        }
        match input::match_choice(column, &text, choices) {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(column, e.reason);
                None
            }
        }
    }
    fn validation(&mut self, e: ValidationError) {
        // The model's fields are the file's columns (`certifications.kind` is in
        // `certifications`).
        let column = e.field.split('.').next().unwrap_or(e.field);
        self.error(column, e.reason);
    }
}

fn columns_of(headers: &[String]) -> HashMap<&'static str, (usize, String)> {
    let mut map = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        if let Some(c) = canonical(h) {
            map.entry(c).or_insert((i, h.clone()));
        }
    }
    map
}

/// The columns of `table` that no field of `kind` takes (a column with neither a header nor
/// anything in it is no column), each with the nearest field's header: importing without
/// them would drop what they hold without a word.
fn unknown_columns(table: &Table, kind: Kind) -> Vec<(String, Option<String>)> {
    let imports = match kind {
        Kind::Products => Product::IMPORT,
        Kind::Sales => Sale::IMPORT,
        Kind::Trainings => Training::IMPORT,
        Kind::Enrolments => ENROLMENT_IMPORT,
    };
    let mut out = Vec::new();
    for (i, header) in table.headers.iter().enumerate() {
        if karya_shared::input::header_field(imports, header).is_some() {
            continue;
        }
        if header.trim().is_empty() {
            let blank = table
                .rows
                .iter()
                .all(|(_, cells)| cells.get(i).is_none_or(|c| c.trim().is_empty()));
            if !blank {
                out.push((text::column_number(i + 1), None));
            }
            continue;
        }
        out.push((
            header.clone(),
            karya_shared::input::nearest_header(imports, header).map(str::to_string),
        ));
    }
    out
}

fn detect(columns: &HashMap<&'static str, (usize, String)>) -> Option<Kind> {
    let has = |c: &str| columns.contains_key(c);
    if has("program") {
        Some(Kind::Trainings)
    } else if has("product_id") && has("quantity") {
        Some(Kind::Sales)
    } else if has("name") && has("price_idr") {
        Some(Kind::Products)
    } else {
        None
    }
}

/// Reads every row with `build`, collecting each row's errors (every bad cell is reported,
/// not only the first).
fn read_rows<T>(
    table: &Table,
    columns: &HashMap<&'static str, (usize, String)>,
    mut build: impl FnMut(&mut RowReader<'_>) -> T,
) -> (Vec<T>, Vec<RowError>) {
    let mut errors = Vec::new();
    for (row, cells) in &table.rows {
        if let Some(i) = cells.iter().position(|c| {
            c.trim()
                .get(..EXAMPLE_MARK.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(EXAMPLE_MARK))
        }) {
            errors.push(RowError {
                row: *row,
                column: table.headers.get(i).cloned().unwrap_or_default(),
                reason: text::example_row().into(),
            });
        }
    }
    let items = table
        .rows
        .iter()
        .map(|(row, cells)| {
            build(&mut RowReader {
                row: *row,
                cells,
                columns,
                errors: &mut errors,
            })
        })
        .collect();
    (items, errors)
}

/// SHA-256 of a file's bytes, read in blocks (the file was size-checked by [`read_table`]).
fn content_hash(path: &Path) -> Result<String, String> {
    use sha2::Digest;
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Imports a file into the UPT's document: every row or none.
pub fn import_file(store: &mut Store, upt: &str, path: &Path) -> Result<ImportReport, ImportError> {
    import_file_with(store, upt, path, ImportOptions::default())
}

/// [`import_file`], checking only (`dry_run`) or importing a file imported before (`again`).
pub fn import_file_with(
    store: &mut Store,
    upt: &str,
    path: &Path,
    options: ImportOptions,
) -> Result<ImportReport, ImportError> {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let table = read_table(path)?;
    // A file is imported once: its content hash is stored in the import's own transaction,
    // so a crash between the import and moving the file cannot import it again.
    let hash = content_hash(path).map_err(|reason| ImportError::Unreadable {
        file: file.clone(),
        reason,
    })?;
    let key = format!("import:{hash}");
    if let Some(earlier) = store.meta(&key)?.filter(|_| !options.again) {
        let earlier = serde_json::from_str::<serde_json::Value>(&earlier)
            .ok()
            .map(|v| {
                text::imported_earlier(
                    v["file"].as_str().unwrap_or("?"),
                    &karya_shared::localtime::format(
                        v["at"].as_str().unwrap_or(""),
                        karya_shared::localtime::Zone::from_env(),
                    ),
                    &v["rows"].to_string(),
                )
            })
            .unwrap_or(earlier);
        return Err(ImportError::AlreadyImported { file, earlier });
    }
    let note = vec![(
        key,
        serde_json::json!({ "file": file, "at": karya_shared::model::now_rfc3339(), "rows": table.rows.len() })
            .to_string(),
    )];
    let (columns, kind) = if is_enrolment_sheet(&table.headers) {
        let mut map = HashMap::new();
        for (i, h) in table.headers.iter().enumerate() {
            if let Some(c) = karya_shared::input::header_field(ENROLMENT_IMPORT, h) {
                map.entry(c).or_insert((i, h.clone()));
            }
        }
        (map, Kind::Enrolments)
    } else {
        let columns = columns_of(&table.headers);
        let kind = detect(&columns).ok_or_else(|| ImportError::UnknownKind {
            file: file.clone(),
            headers: table.headers.join(", "),
        })?;
        (columns, kind)
    };
    let unknown = unknown_columns(&table, kind);
    if !unknown.is_empty() {
        return Err(ImportError::UnknownColumns {
            file,
            columns: unknown,
        });
    }
    let check = |errors: Vec<RowError>| {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ImportError::Rejected {
                file: file.clone(),
                errors,
            })
        }
    };
    let mut warnings = Vec::new();
    let ids: Vec<String> = match kind {
        Kind::Products => {
            let cats = records::category_choices(store, false)?;
            let slugs: Vec<&str> = cats.iter().map(|(s, _)| s.as_str()).collect();
            let (products, errors) = read_rows(&table, &columns, |r| {
                // Every field the declaration lets an import fill is read by its type's
                // rules (a new field needs no line here); the category is matched to the
                // catalogue's, and a price must be given.
                let mut fields = ProductPatch::default();
                for (field, _) in Product::IMPORT {
                    if matches!(*field, "category" | "price_idr" | "stock") {
                        continue;
                    }
                    if let Err(e) = fields.set(field, &r.text(field)) {
                        r.validation(e);
                    }
                }
                fields.category = r.choice("category", &cats);
                fields.price_idr = Some(r.number("price_idr", None));
                let p = records::NewProduct {
                    fields,
                    stock: r.number("stock", Some(0)),
                }
                .into_product();
                if !p.category.is_empty()
                    && let Err(e) = p.validate(&slugs)
                {
                    r.validation(e);
                }
                p
            });
            check(errors)?;
            if !options.dry_run {
                records::add_products(store, upt, &products, &note)?;
            }
            products.into_iter().map(|p| p.id.into()).collect()
        }
        Kind::Sales => {
            let (sales, errors) = read_rows(&table, &columns, |r| {
                let product_text = r.text("product_id");
                let product =
                    records::resolve_product(store, upt, &product_text).unwrap_or_else(|e| {
                        let reason = match e {
                            // Several products of that name: the message says so.
                            StoreError::Schema(karya_shared::schema::SchemaError::Invalid(v)) => {
                                v.reason
                            }
                            _ => text::no_product_here(&product_text),
                        };
                        r.error("product_id", reason);
                        String::new()
                    });
                let quantity = r.number("quantity", None);
                let revenue = r.number("revenue_idr", None);
                let date = if r.text("date").is_empty() {
                    None
                } else {
                    r.date("date")
                };
                let channel = r
                    .choice("channel", &input::choices_of(SaleChannel::NAMES))
                    .and_then(|c| c.parse().ok());
                let sale = records::new_sale(product, quantity, revenue, date, channel);
                if !sale.product_id.is_empty()
                    && let Err(e) = sale.validate()
                {
                    r.validation(e);
                }
                sale
            });
            check(errors)?;
            // The preview says which products the sheet takes below zero; importing after
            // it is the operator's confirmation.
            let short = records::stock_shortfalls(store, upt, &sales)?;
            if !short.is_empty() {
                warnings.push(records::Shortfall::describe(&short));
            }
            if !options.dry_run {
                records::add_sales(store, upt, &sales, &note, true)?;
            }
            sales.into_iter().map(|s| s.id.into()).collect()
        }
        Kind::Trainings => {
            let cats = records::category_choices(store, true)?;
            let slugs: Vec<&str> = cats.iter().map(|(s, _)| s.as_str()).collect();
            let (trainings, errors) = read_rows(&table, &columns, |r| {
                let start = r.date("start_date");
                let end = r.date("end_date");
                let category = r.choice("category", &cats).unwrap_or_default();
                let t = records::NewTraining {
                    program: r.text("program"),
                    category,
                    // A date already reported as an error: the row is refused.
                    start: start.unwrap_or(Date::MIN),
                    end: end.unwrap_or(Date::MIN),
                    hours: r.number("hours", Some(0)),
                    partner: r.text("partner"),
                    instructor: r.text("instructor"),
                    capacity: r.number("capacity", Some(0)),
                    scheme: r.text("scheme"),
                }
                .into_training();
                if start.is_some()
                    && end.is_some()
                    && !t.category.is_empty()
                    && let Err(e) = t.validate(&slugs)
                {
                    r.validation(e);
                }
                t
            });
            check(errors)?;
            if !options.dry_run {
                records::add_trainings(store, upt, &trainings, &note)?;
            }
            trainings.into_iter().map(|t| t.id.into()).collect()
        }
        Kind::Enrolments => {
            // Each row's training by its id or its name (unique within the UPT), as
            // operators know them; every row is checked before any is enrolled.
            let (rows, mut errors) = read_rows(&table, &columns, |r| {
                let training = r.text("training_id");
                let reg_no = r.text("reg_no");
                let name = r.text("name");
                let id = if training.is_empty() {
                    r.error("training_id", karya_shared::text::input::empty());
                    String::new()
                } else {
                    records::resolve_training(store, upt, &training).unwrap_or_else(|e| {
                        let reason = match e {
                            StoreError::Schema(karya_shared::schema::SchemaError::Invalid(v)) => {
                                v.reason
                            }
                            _ => text::no_training_here(&training),
                        };
                        r.error("training_id", reason);
                        String::new()
                    })
                };
                if reg_no.is_empty() {
                    r.error("reg_no", karya_shared::text::input::empty());
                }
                if name.is_empty() {
                    r.error("name", karya_shared::text::input::empty());
                }
                (r.row, id, reg_no, name)
            });
            // The same person twice in the sheet for one training is one enrolment.
            let mut seen = std::collections::HashSet::new();
            for (row, id, reg_no, _) in &rows {
                let key = (
                    id.clone(),
                    karya_shared::pseudonym::normalise_reg_no(reg_no),
                );
                if !id.is_empty() && !reg_no.is_empty() && !seen.insert(key) {
                    errors.push(RowError {
                        row: *row,
                        column: columns
                            .get("reg_no")
                            .map(|(_, h)| h.clone())
                            .unwrap_or_default(),
                        reason: text::enrolled_twice_in_sheet(reg_no),
                    });
                }
            }
            check(errors)?;
            if options.dry_run {
                rows.iter().map(|(_, id, _, _)| id.clone()).collect()
            } else {
                records::enroll_many(
                    store,
                    upt,
                    &rows
                        .iter()
                        .map(|(row, id, reg, name)| {
                            (*row, id.as_str(), reg.as_str(), name.as_str())
                        })
                        .collect::<Vec<_>>(),
                    &note,
                )
                .map_err(|(row, e)| ImportError::Rejected {
                    file: file.clone(),
                    errors: vec![RowError {
                        row,
                        column: String::new(),
                        reason: match e {
                            StoreError::Schema(karya_shared::schema::SchemaError::Invalid(v)) => {
                                v.reason
                            }
                            other => other.to_string(),
                        },
                    }],
                })?
            }
        }
    };
    Ok(ImportReport {
        file,
        kind,
        rows: ids.len(),
        ids,
        dry_run: options.dry_run,
        warnings,
    })
}

#[cfg(test)]
mod tests;
