//! Times for people: Indonesia's three time zones (WIB, WITA, WIT; none has daylight saving,
//! so a fixed offset is exact) and the way Indonesians write a date and time:
//! `28 Nov 2026 09.15 WIB`. Stored and API times stay RFC 3339 UTC.

use time::{OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339};

/// One of Indonesia's time zones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// Waktu Indonesia Barat, UTC+7 (Sumatra, Java, West and Central Kalimantan).
    Wib,
    /// Waktu Indonesia Tengah, UTC+8 (Bali, Nusa Tenggara, Sulawesi, East Kalimantan).
    Wita,
    /// Waktu Indonesia Timur, UTC+9 (Maluku, Papua).
    Wit,
}

impl Zone {
    /// `Asia/Jakarta`, `Asia/Pontianak` or `WIB`; `Asia/Makassar` or `WITA`;
    /// `Asia/Jayapura` or `WIT` (any case).
    pub fn parse(name: &str) -> Option<Zone> {
        match name.trim().to_ascii_lowercase().as_str() {
            "asia/jakarta" | "asia/pontianak" | "wib" => Some(Zone::Wib),
            "asia/makassar" | "wita" => Some(Zone::Wita),
            "asia/jayapura" | "wit" => Some(Zone::Wit),
            _ => None,
        }
    }

    /// The zone named by `KARYA_TIME_ZONE`, else WIB.
    pub fn from_env() -> Zone {
        std::env::var("KARYA_TIME_ZONE")
            .ok()
            .and_then(|v| Zone::parse(&v))
            .unwrap_or(Zone::Wib)
    }

    pub fn offset_hours(self) -> i8 {
        match self {
            Zone::Wib => 7,
            Zone::Wita => 8,
            Zone::Wit => 9,
        }
    }

    pub fn abbreviation(self) -> &'static str {
        match self {
            Zone::Wib => "WIB",
            Zone::Wita => "WITA",
            Zone::Wit => "WIT",
        }
    }
}

/// An RFC 3339 time as people read it in `zone`: `28 Nov 2026 09.15 WIB`. Text that is not
/// an RFC 3339 time comes back as it is.
pub fn format(rfc3339: &str, zone: Zone) -> String {
    let Ok(t) = OffsetDateTime::parse(rfc3339, &Rfc3339) else {
        return rfc3339.to_string();
    };
    let offset = UtcOffset::from_hms(zone.offset_hours(), 0, 0).unwrap_or(UtcOffset::UTC);
    let t = t.to_offset(offset);
    format!(
        "{} {} {} {:02}.{:02} {}",
        t.day(),
        crate::text::month_abbrev(u8::from(t.month())),
        t.year(),
        t.hour(),
        t.minute(),
        zone.abbreviation()
    )
}

/// A count as Indonesians write it: 188400 as `188.400`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    format!("{}{out}", if n < 0 { "-" } else { "" })
}

/// An amount of rupiah: 1850000 as `Rp1.850.000`.
pub fn rupiah(n: i64) -> String {
    let t = thousands(n);
    match t.strip_prefix('-') {
        Some(abs) => format!("-Rp{abs}"),
        None => format!("Rp{t}"),
    }
}

/// A calendar date as people read it: `15 Nov 2026`.
pub fn date(d: time::Date) -> String {
    format!(
        "{} {} {}",
        d.day(),
        crate::text::month_abbrev(u8::from(d.month())),
        d.year()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indonesian_dates_in_each_zone() {
        let at = "2026-11-28T02:15:42.123456789Z";
        assert_eq!(format(at, Zone::Wib), "28 Nov 2026 09.15 WIB");
        assert_eq!(format(at, Zone::Wita), "28 Nov 2026 10.15 WITA");
        assert_eq!(
            format("2026-08-31T20:05:00Z", Zone::Wit),
            "1 Sep 2026 05.05 WIT"
        );
        assert_eq!(
            format("2026-05-01T00:00:00Z", Zone::Wib),
            "1 Mei 2026 07.00 WIB"
        );
        assert_eq!(format("never", Zone::Wib), "never");
        assert_eq!(Zone::parse("Asia/Jakarta"), Some(Zone::Wib));
        assert_eq!(Zone::parse("WITA"), Some(Zone::Wita));
        assert_eq!(Zone::parse("Asia/Jayapura"), Some(Zone::Wit));
        assert_eq!(Zone::parse("Europe/Berlin"), None);
    }
}
