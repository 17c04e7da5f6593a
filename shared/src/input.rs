//! Forgiving input: numbers, rupiah, dates and names as operators type them, with Indonesian
//! regional settings in Excel and on Windows. The same rules serve the command line, the
//! import, the inbox and the console, so "275.000" means the same everywhere.
//!
//! Anything still ambiguous is an error that says what is accepted.

use crate::record::{ValidationError, parse_iso_date};
use crate::text;
use time::Date;

/// A field's value from what a person typed (a spreadsheet cell, a command-line flag, a form
/// field), read by the same rules everywhere. The text is not empty: an empty text is the
/// field not given, and the caller keeps what it has.
pub trait FromInput: Sized {
    fn from_input(text: &str) -> Result<Self, String>;
    /// The value as a person would type it back (a form showing it), read again as itself.
    fn to_input(&self) -> String;
    /// What an emptied form field sets, where emptying means something (no text, no items,
    /// no); `None`: an empty field leaves the value as it is.
    fn cleared() -> Option<Self> {
        None
    }
}

impl FromInput for String {
    fn from_input(text: &str) -> Result<Self, String> {
        Ok(text.trim().to_string())
    }
    fn to_input(&self) -> String {
        self.clone()
    }
    fn cleared() -> Option<Self> {
        Some(String::new())
    }
}

impl FromInput for i64 {
    fn from_input(text: &str) -> Result<Self, String> {
        parse_whole(text)
    }
    fn to_input(&self) -> String {
        crate::localtime::thousands(*self)
    }
}

impl FromInput for bool {
    fn from_input(text: &str) -> Result<Self, String> {
        parse_yes_no(text)
    }
    fn to_input(&self) -> String {
        if *self { "ya" } else { "tidak" }.into()
    }
    fn cleared() -> Option<Self> {
        Some(false)
    }
}

impl FromInput for Date {
    fn from_input(text: &str) -> Result<Self, String> {
        parse_date(text)
    }
    fn to_input(&self) -> String {
        format!(
            "{:02}/{:02}/{:04}",
            self.day(),
            u8::from(self.month()),
            self.year()
        )
    }
}

impl<T: FromInput> FromInput for Option<T> {
    fn from_input(text: &str) -> Result<Self, String> {
        T::from_input(text).map(Some)
    }
    fn to_input(&self) -> String {
        self.as_ref().map(T::to_input).unwrap_or_default()
    }
    fn cleared() -> Option<Self> {
        Some(None)
    }
}

/// A list written in one cell, its items separated by `;`.
impl<T: FromInput> FromInput for Vec<T> {
    fn from_input(text: &str) -> Result<Self, String> {
        text.split(';')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(T::from_input)
            .collect()
    }
    fn to_input(&self) -> String {
        self.iter().map(T::to_input).collect::<Vec<_>>().join("; ")
    }
    fn cleared() -> Option<Self> {
        Some(Vec::new())
    }
}

/// A whole number as people write it: `275000`, `275.000`, `275,000`, `Rp 275.000`,
/// `Rp275.000,00`. A comma before one or two digits is a decimal comma (Indonesian); the
/// decimals must be zero, since rupiah and counts are whole.
pub fn parse_whole(s: &str) -> Result<i64, String> {
    let shown = s.trim();
    let mut t: String = shown.chars().filter(|c| !c.is_whitespace()).collect();
    for prefix in ["Rp.", "rp.", "RP.", "Rp", "rp", "RP", "IDR", "idr"] {
        if let Some(rest) = t.strip_prefix(prefix) {
            t = rest.to_string();
            break;
        }
    }
    let not = || text::input::not_a_whole_number(shown);
    if t.is_empty() {
        return Err(not());
    }
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.as_str()),
    };
    // A decimal part: ",00" (Indonesian) or ".00" after a grouped number.
    let (int_part, decimals) = match digits.rsplit_once([',', '.']) {
        Some((head, tail)) if (1..=2).contains(&tail.len()) => (head, Some(tail)),
        _ => (digits, None),
    };
    if let Some(dec) = decimals {
        if !dec.chars().all(|c| c.is_ascii_digit()) {
            return Err(not());
        }
        if dec.chars().any(|c| c != '0') {
            return Err(text::input::has_a_fraction(shown));
        }
    }
    let n: i64 = if int_part.chars().all(|c| c.is_ascii_digit()) && !int_part.is_empty() {
        int_part.parse().map_err(|_| not())?
    } else {
        // Grouped in thousands by '.' or ',' (one kind only): 1.250.000, 1,250,000.
        let sep = if int_part.contains('.') { '.' } else { ',' };
        let groups: Vec<&str> = int_part.split(sep).collect();
        let grouped = groups.len() > 1
            && (1..=3).contains(&groups[0].len())
            && groups[1..].iter().all(|g| g.len() == 3)
            && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_digit()));
        if !grouped {
            return Err(not());
        }
        groups.concat().parse().map_err(|_| not())?
    };
    Ok(if negative { -n } else { n })
}

/// A calendar date as people write it: `2026-11-15`, `15/11/2026`, `15-11-2026` (day first,
/// as in Indonesia), or `15/11/26`.
pub fn parse_date(s: &str) -> Result<Date, String> {
    let t = s.trim();
    let not = || text::input::not_a_date(t);
    if let Ok(d) = parse_iso_date(t) {
        return Ok(d);
    }
    let parts: Vec<&str> = t.split(['/', '-', '.']).collect();
    let [day, month, year] = parts.as_slice() else {
        return Err(not());
    };
    let num = |p: &str| -> Result<u32, String> {
        if p.is_empty() || p.len() > 4 || !p.chars().all(|c| c.is_ascii_digit()) {
            return Err(not());
        }
        p.parse().map_err(|_| not())
    };
    let (day, month, mut year) = (num(day)?, num(month)?, num(year)?);
    if year < 100 {
        year += 2000;
    }
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .ok_or_else(not)?;
    let year = i32::try_from(year).map_err(|_| not())?;
    let day = u8::try_from(day).map_err(|_| not())?;
    Date::from_calendar_date(year, month, day).map_err(|_| not())
}

/// Yes or no: `ya`, `tidak`, `yes`, `no`, `1`, `0`, `y`, `t`, `n`, or empty (no).
pub fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s.trim().to_lowercase().as_str() {
        "" | "tidak" | "no" | "false" | "0" | "n" | "t" => Ok(false),
        "ya" | "yes" | "true" | "1" | "y" => Ok(true),
        other => Err(text::input::not_yes_no(other)),
    }
}

/// A name reduced to what matters for matching: lower-case letters and digits.
fn squash(s: &str) -> String {
    squashed(s).collect()
}

/// [`squash`]'s characters, for comparing without building the string.
fn squashed(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
}

/// The field a spreadsheet column fills, by its header: the declaration's list of headers
/// per field (a kind's `IMPORT`), matched without case, spaces or punctuation ("Harga (Rp)"
/// is `hargarp`, the price).
pub fn header_field(
    imports: &[(&'static str, &'static [&'static str])],
    header: &str,
) -> Option<&'static str> {
    let key: String = header
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    imports
        .iter()
        .find(|(_, names)| names.contains(&key.as_str()))
        .map(|(field, _)| *field)
}

/// The header nearest to `header` among a kind's (`imports`): one that the written header
/// holds or that holds it ("Jumlah Stok" holds `stok`), or one a typo or two away; `None`
/// when none is near. For the message that refuses a column no field takes.
pub fn nearest_header(
    imports: &[(&'static str, &'static [&'static str])],
    header: &str,
) -> Option<&'static str> {
    let key = squash(header);
    if key.is_empty() {
        return None;
    }
    let mut best: Option<(usize, &'static str)> = None;
    for name in imports.iter().flat_map(|(_, names)| names.iter().copied()) {
        let distance = if name.len() >= 3 && (key.contains(name) || name.contains(key.as_str())) {
            // Held: nearer the more of it the name covers.
            key.len().abs_diff(name.len()) / 4
        } else {
            edit_distance(&key, name)
        };
        let near_enough = distance <= 2.max(key.len() / 4);
        if near_enough && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, name));
        }
    }
    best.map(|(_, name)| name)
}

/// Levenshtein distance between two short strings (headers), by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Words people use for the built-in categories and sale channels: (what they write, the
/// slug it means). Matched like names, without case, spaces or punctuation.
pub const SYNONYMS: &[(&str, &str)] = &[
    // product categories
    ("mebel", "furnitur"),
    ("meubel", "furnitur"),
    ("furniture", "furnitur"),
    ("perabot", "furnitur"),
    ("kayu", "furnitur"),
    ("batik", "fashion-batik"),
    ("fashion", "fashion-batik"),
    ("pakaian", "fashion-batik"),
    ("busana", "fashion-batik"),
    ("konveksi", "fashion-batik"),
    ("makanan", "makanan-minuman"),
    ("minuman", "makanan-minuman"),
    ("kuliner", "makanan-minuman"),
    ("pangan", "makanan-minuman"),
    ("kue", "makanan-minuman"),
    ("kriya", "kerajinan"),
    ("handicraft", "kerajinan"),
    ("anyaman", "kerajinan"),
    ("lukisan", "seni-lukis"),
    ("seni", "seni-lukis"),
    ("tani", "pertanian"),
    ("ternak", "peternakan"),
    ("ikan", "perikanan"),
    ("laundry", "jasa"),
    ("lain", "lainnya"),
    ("lainlain", "lainnya"),
    // training categories
    ("jahit", "menjahit"),
    ("pengelasan", "las"),
    ("kopi", "barista"),
    ("masak", "tata-boga"),
    ("memasak", "tata-boga"),
    ("boga", "tata-boga"),
    ("salon", "tata-rias"),
    ("rias", "tata-rias"),
    ("bengkel", "otomotif"),
    ("montir", "otomotif"),
    ("elektro", "elektronik"),
    ("bangunan", "konstruksi"),
    // sale channels
    ("ekatalog", "e-katalog"),
    ("katalogelektronik", "e-katalog"),
    ("expo", "pameran"),
    ("bazar", "pameran"),
    ("bazaar", "pameran"),
    ("daring", "online"),
    ("marketplace", "online"),
    ("offline", "toko"),
    ("gerai", "toko"),
    ("koperasi", "toko"),
];

/// Finds the value an operator meant among `choices` (value, the name people read): by value
/// or name without case, spaces or punctuation (`Seni Lukis` is `seni-lukis`), or by a word of
/// [`SYNONYMS`] that names one of them. Otherwise an error that lists the accepted values.
pub fn match_choice(
    field: &'static str,
    input: &str,
    choices: &[(String, String)],
) -> Result<String, ValidationError> {
    let key = squash(input);
    if key.is_empty() {
        return Err(ValidationError::new(field, text::input::empty()));
    }
    // Compared character by character: one import row used to build two strings per choice.
    let is_key = |s: &str| squashed(s).eq(key.chars());
    if let Some((value, _)) = choices
        .iter()
        .find(|(value, name)| is_key(value) || is_key(name))
    {
        return Ok(value.clone());
    }
    let by_synonym: Vec<&str> = SYNONYMS
        .iter()
        .filter(|(word, _)| is_key(word))
        .map(|(_, slug)| *slug)
        .filter(|slug| choices.iter().any(|(v, _)| v == slug))
        .collect();
    if let [one] = by_synonym.as_slice() {
        return Ok(one.to_string());
    }
    let accepted: Vec<String> = choices
        .iter()
        .map(|(v, name)| {
            if squash(v) == squash(name) {
                v.clone()
            } else {
                format!("{v} ({name})")
            }
        })
        .collect();
    Err(ValidationError::new(
        field,
        text::input::unknown_choice(input.trim(), &accepted.join(", ")),
    ))
}

/// The values of a fixed set as choices for [`match_choice`].
pub fn choices_of(names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|n| (n.to_string(), n.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn rupiah_as_people_write_it() {
        for s in [
            "275000",
            "275.000",
            "275,000",
            "Rp 275.000",
            "Rp275.000,00",
            "Rp. 275.000",
            " 275 000 ",
            "275000,00",
            "275.000,-".trim_end_matches(",-"),
        ] {
            assert_eq!(parse_whole(s), Ok(275_000), "{s}");
        }
        assert_eq!(parse_whole("1.250.000"), Ok(1_250_000));
        assert_eq!(parse_whole("-5"), Ok(-5));
        assert_eq!(parse_whole("12"), Ok(12));
        let err = parse_whole("275.000,50").unwrap_err();
        assert!(err.contains("bilangan bulat"), "{err}");
        for bad in ["", "abc", "27.50.00", "1.2345", "Rp", "12,5x"] {
            let err = parse_whole(bad).unwrap_err();
            assert!(err.contains("275.000"), "{bad}: {err}");
        }
    }

    #[test]
    fn dates_as_people_write_them() {
        for s in [
            "2026-11-15",
            "15/11/2026",
            "15-11-2026",
            "15.11.2026",
            "15/11/26",
        ] {
            assert_eq!(parse_date(s), Ok(date!(2026 - 11 - 15)), "{s}");
        }
        assert_eq!(parse_date("5/1/2026"), Ok(date!(2026 - 01 - 05)));
        for bad in ["31/02/2026", "15/13/2026", "kemarin", "2026/11", ""] {
            let err = parse_date(bad).unwrap_err();
            assert!(err.contains("15/11/2026"), "{bad}: {err}");
        }
    }

    #[test]
    fn names_match_without_case_spaces_or_punctuation_and_by_synonym() {
        let cats: Vec<(String, String)> = crate::model::PRODUCT_CATEGORIES
            .iter()
            .map(|(s, n)| (s.to_string(), n.to_string()))
            .collect();
        let m = |s: &str| match_choice("category", s, &cats);
        assert_eq!(m("Seni Lukis").unwrap(), "seni-lukis");
        assert_eq!(m("seni & lukis").unwrap(), "seni-lukis");
        assert_eq!(m("FURNITUR").unwrap(), "furnitur");
        assert_eq!(m("Mebel").unwrap(), "furnitur");
        assert_eq!(m("batik").unwrap(), "fashion-batik");
        assert_eq!(m("Makanan & Minuman").unwrap(), "makanan-minuman");
        let err = m("mainan").unwrap_err();
        assert_eq!(err.field, "category");
        assert!(
            err.reason.contains("seni-lukis") && err.reason.contains("kerajinan"),
            "{err}"
        );
        // A synonym names only what the list holds: "jahit" is a training category.
        assert!(m("jahit").is_err());
        let channels = choices_of(crate::model::SaleChannel::NAMES);
        assert_eq!(
            match_choice("channel", "E Katalog", &channels).unwrap(),
            "e-katalog"
        );
        assert_eq!(
            match_choice("channel", "bazar", &channels).unwrap(),
            "pameran"
        );
    }
}
