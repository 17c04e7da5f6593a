//! The audit: every change the hub stored (received from an agent or made at the hub), with
//! its hash, document, UPT, the token it came with and the time. The log itself is written by
//! the replica in the transaction that stores each change (`change_log`); this module reads
//! the admin's `--since` and answers `karya-hub audit` and `GET /api/v1/audit`.

use karya_shared::localtime::Zone;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// `--since` / `since=`: a date (`2026-11-01`, from midnight in the hub's time zone) or an
/// RFC 3339 time (`2026-11-01T08:00:00+07:00`). Returns the UTC instant as the log stores
/// times without their zone (`YYYY-MM-DDTHH:MM:SS`), which orders correctly against them.
pub fn parse_since(text: &str, zone: Zone) -> Result<String, String> {
    let text = text.trim();
    let instant = if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        t
    } else if let Ok(date) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
        let offset = UtcOffset::from_hms(zone.offset_hours(), 0, 0).expect("a whole-hour offset");
        PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_offset(offset)
    } else {
        return Err(format!(
            "'{text}' is not a date; write it as 2026-11-01 (from midnight {}) or as 2026-11-01T08:00:00+07:00",
            zone.abbreviation()
        ));
    };
    instant
        .to_offset(UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_starts_at_local_midnight() {
        assert_eq!(
            parse_since("2026-11-01", Zone::Wib).unwrap(),
            "2026-10-31T17:00:00"
        );
        assert_eq!(
            parse_since("2026-11-01", Zone::Wit).unwrap(),
            "2026-10-31T15:00:00"
        );
        assert_eq!(
            parse_since("2026-11-01T08:00:00+07:00", Zone::Wita).unwrap(),
            "2026-11-01T01:00:00"
        );
        let e = parse_since("1/11/2026", Zone::Wib).unwrap_err();
        assert!(e.contains("2026-11-01"), "{e}");
    }

    #[test]
    fn the_bound_orders_against_stored_times() {
        let since = parse_since("2026-11-01T00:00:00Z", Zone::Wib).unwrap();
        // Stored times are RFC 3339 UTC, with or without fractions of a second.
        assert!("2026-11-01T00:00:00Z" >= since.as_str());
        assert!("2026-11-01T00:00:00.25Z" >= since.as_str());
        assert!("2026-10-31T23:59:59.999Z" < since.as_str());
    }
}
