//! Why a value typed or imported is refused: forgiving input and the records' validation. The
//! hub refuses with the same reasons, and they reach the operator's `status`.

use super::say;

pub fn not_a_whole_number(shown: &str) -> String {
    say!(
        "'{shown}' bukan bilangan bulat; tulis seperti 275000, 275.000 atau Rp 275.000",
        "'{shown}' is not a whole number; write it as 275000, 275.000 or Rp 275.000",
    )
}

pub fn has_a_fraction(shown: &str) -> String {
    say!(
        "'{shown}' memiliki pecahan; rupiah dan jumlah selalu bilangan bulat",
        "'{shown}' has a fraction; rupiah and counts are whole numbers",
    )
}

pub fn not_a_date(shown: &str) -> String {
    say!(
        "'{shown}' bukan tanggal; tulis seperti 15/11/2026 atau 2026-11-15",
        "'{shown}' is not a date; write 15/11/2026 or 2026-11-15",
    )
}

pub fn not_yes_no(shown: &str) -> String {
    say!(
        "'{shown}' bukan ya/tidak",
        "'{shown}' is not ya/tidak (yes/no)",
    )
}

pub fn empty() -> String {
    say!("tidak boleh kosong", "must not be empty")
}

pub fn unknown_choice(shown: &str, accepted: &str) -> String {
    say!(
        "nilai '{shown}' tidak dikenal; pakai salah satu dari: {accepted}",
        "unknown value '{shown}'; use one of: {accepted}",
    )
}

pub fn too_large(value: i64, max: i64) -> String {
    say!(
        "{value} melebihi batas ({max})",
        "{value} is more than the most allowed ({max})",
    )
}

pub fn too_long(chars: usize, max: usize) -> String {
    say!(
        "panjangnya {chars} karakter; paling banyak {max}",
        "is {chars} characters long; at most {max}",
    )
}

pub fn not_a_phone(shown: &str) -> String {
    say!(
        "'{shown}' bukan nomor telepon (angka, spasi, + - ( ) /)",
        "'{shown}' is not a telephone number (digits, spaces, + - ( ) /)",
    )
}

pub fn not_an_email(shown: &str) -> String {
    say!(
        "'{shown}' bukan alamat email (nama@domain.go.id)",
        "'{shown}' is not an e-mail address (name@domain.go.id)",
    )
}

pub fn negative(value: i64) -> String {
    say!(
        "tidak boleh negatif (tertulis {value})",
        "must not be negative (got {value})",
    )
}

pub fn at_least_one(value: i64) -> String {
    say!(
        "paling sedikit 1 (tertulis {value})",
        "must be at least 1 (got {value})",
    )
}

pub fn end_before_start(end: &str, start: &str) -> String {
    say!(
        "tanggal selesai {end} sebelum tanggal mulai {start}",
        "end date {end} is before start date {start}",
    )
}

pub fn certification_how(reason: &str) -> String {
    say!(
        "{reason}; tulis JENIS:NOMOR[:BERLAKU-SAMPAI], misalnya halal:ID31110000123:31/01/2028",
        "{reason}; write KIND:NUMBER[:VALID-UNTIL], e.g. halal:ID31110000123:31/01/2028",
    )
}

pub fn at_most_items(count: usize, max: usize) -> String {
    say!(
        "{count} isian; paling banyak {max}",
        "{count} items; at most {max}",
    )
}

pub fn photo_not_typed() -> String {
    say!(
        "foto ditambahkan sebagai berkas (product photo add, atau halaman produk di konsol), tidak diketik",
        "photos are added as files (product photo add, or the product's page in the console), not typed",
    )
}

pub fn photo_hash() -> String {
    say!(
        "foto dinamai dengan SHA-256 isinya (64 digit heksadesimal)",
        "a photo is named by the SHA-256 of its bytes (64 hex digits)",
    )
}

pub fn photo_size(size: u64, max: u64) -> String {
    say!(
        "foto atau gambar kecil berukuran {size} byte; paling besar {max}",
        "a photo or thumbnail of {size} bytes; at most {max}",
    )
}

pub fn photo_edge(width: u32, height: u32, max: u32) -> String {
    say!(
        "foto berukuran {width}x{height} px; sisi terpanjang paling banyak {max} px",
        "a photo of {width}x{height} px; at most {max} px on its long edge",
    )
}

pub fn pseudonym_shape() -> String {
    say!(
        "harus 64 digit heksadesimal (HMAC-SHA256)",
        "must be 64 hex digits (HMAC-SHA256)",
    )
}

pub fn not_a_upt_code(code: &str) -> String {
    say!(
        "'{code}' bukan kode UPT; pakai huruf besar, angka dan tanda hubung (LAPAS-CIPINANG)",
        "'{code}' is not a UPT code; use upper-case letters, digits and dashes (LAPAS-CIPINANG)",
    )
}

pub fn not_enough_stock(current: i64, taken: i64) -> String {
    say!(
        "stok hanya {current}; tidak bisa dikurangi {taken}",
        "only {current} in stock; cannot take away {taken}",
    )
}
