//! The operator's words: every message the agent shows a person — its command line, `status`,
//! the web console, import reports, the reasons a value is refused — in one catalogue, each in
//! Bahasa Indonesia (the default) and English (`KARYA_LANG=en`), side by side.
//!
//! A message is a function of this module tree: code never writes operator-facing text
//! inline, it calls `text::…`. Both languages of a message sit in one place, and the compiler
//! checks that each has its arguments. Messages meant for engineers (sync-protocol internals,
//! the hub's admin commands) stay English.
//!
//! ```
//! use karya_shared::text::{self, Lang};
//! assert_eq!(Lang::from_tag(Some("en")), Lang::En);
//! assert_eq!(Lang::from_tag(Some("id-ID")), Lang::Id);
//! assert_eq!(Lang::from_tag(None), Lang::Id);
//! // What the operator reads depends on KARYA_LANG; both exist for every message.
//! assert!(!text::input::not_a_date("kemarin").is_empty());
//! ```

use std::sync::OnceLock;

pub mod input;
pub mod store;

/// The language messages are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Bahasa Indonesia: the default.
    Id,
    /// English, with `KARYA_LANG=en`.
    En,
}

impl Lang {
    /// The language a `KARYA_LANG` value asks for: `en`, `en_US`, `en-GB`… is English;
    /// anything else, or nothing, is Bahasa Indonesia.
    pub fn from_tag(tag: Option<&str>) -> Lang {
        match tag.map(|t| t.trim().to_ascii_lowercase()) {
            Some(t) if t == "en" || t.starts_with("en_") || t.starts_with("en-") => Lang::En,
            _ => Lang::Id,
        }
    }

    /// The HTML `lang` attribute for pages in this language.
    pub fn html_tag(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }
}

/// The process's language, read from `KARYA_LANG` once.
/// `text` safe to print on a terminal or in a log line: control characters (an escape
/// sequence that clears the screen or rewrites a line, a carriage return) are written as
/// escapes; everything else, Indonesian and all, as it is. For every string that came from
/// another machine (names, notes, reasons, peer ids).
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

pub fn lang() -> Lang {
    static LANG: OnceLock<Lang> = OnceLock::new();
    *LANG.get_or_init(|| Lang::from_tag(std::env::var("KARYA_LANG").ok().as_deref()))
}

/// A number with `places` decimals, with the decimal comma in Bahasa Indonesia (`1,5`) and
/// the point in English (`1.5`).
pub fn decimal(x: f64, places: usize) -> String {
    let s = format!("{x:.places$}");
    match lang() {
        Lang::Id => s.replace('.', ","),
        Lang::En => s,
    }
}

/// A month's short name (1 = January): `Mei`, `Agu`, `Des` in Bahasa Indonesia.
pub fn month_abbrev(month: u8) -> &'static str {
    const ID: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des",
    ];
    const EN: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let i = usize::from(month.clamp(1, 12)) - 1;
    match lang() {
        Lang::Id => ID[i],
        Lang::En => EN[i],
    }
}

/// One message in both languages; only the one shown is formatted. The format strings capture
/// the function's arguments by name. Exported for the agent's own catalogue.
#[doc(hidden)]
#[macro_export]
macro_rules! say {
    ($id:literal, $en:literal $(,)?) => {
        match $crate::text::lang() {
            $crate::text::Lang::Id => format!($id),
            $crate::text::Lang::En => format!($en),
        }
    };
}

/// Fixed words (labels, headings): one function per word, returning it in the process's
/// language. Exported for the agent's own catalogue.
#[doc(hidden)]
#[macro_export]
macro_rules! words {
    ($($(#[$doc:meta])* $name:ident: $id:literal, $en:literal;)*) => {
        $(
            $(#[$doc])*
            pub fn $name() -> &'static str {
                match $crate::text::lang() {
                    $crate::text::Lang::Id => $id,
                    $crate::text::Lang::En => $en,
                }
            }
        )*
    };
}

pub(crate) use crate::say;

#[cfg(test)]
mod tests {
    #[test]
    fn what_another_machine_wrote_cannot_drive_the_terminal() {
        assert_eq!(
            super::printable("Kursi\u{1b}[2J jati\r"),
            "Kursi\\u{1b}[2J jati\\r"
        );
        assert_eq!(
            super::printable("Tenun ikat Sumba — Rp"),
            "Tenun ikat Sumba — Rp"
        );
    }

    use super::Lang;

    #[test]
    fn karya_lang_picks_english_only_when_asked() {
        for tag in ["en", "EN", "en_US.UTF-8", "en-GB", " en "] {
            assert_eq!(Lang::from_tag(Some(tag)), Lang::En, "{tag}");
        }
        for tag in ["id", "id_ID.UTF-8", "", "fr", "english?"] {
            assert_eq!(Lang::from_tag(Some(tag)), Lang::Id, "{tag}");
        }
        assert_eq!(Lang::from_tag(None), Lang::Id);
    }
}
