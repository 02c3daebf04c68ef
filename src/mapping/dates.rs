//! Dates and datetimes for the date transformations.
//!
//! Accepted input: `YYYY-MM-DD`; ISO 8601 / RFC 3339 datetimes (`T`, `t` or a space
//! between date and time, seconds and fraction optional, offset `Z`, `±HH:MM`, `±HHMM`,
//! `±HH` or none — none is read as UTC where an instant is needed); RFC 2822; and,
//! where the spec allows it, Unix seconds as a JSON number. A datetime keeps the offset
//! it was written in, so `to_date` gives the date as written.

use std::fmt::Write as _;

use chrono::format::{Fixed, Item, Numeric, Parsed, StrftimeItems};
use chrono::{
    DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Date(NaiveDate),
    DateTime {
        local: NaiveDateTime,
        offset: Option<FixedOffset>,
    },
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = b.get(at..at + n)?;
    let mut v = 0u32;
    for &c in part {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// `YYYY-MM-DD` at the start of `b`.
fn iso_date(b: &[u8]) -> Option<NaiveDate> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = digits(b, 0, 4)?;
    let m = digits(b, 5, 2)?;
    let d = digits(b, 8, 2)?;
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

fn iso(s: &str) -> Option<When> {
    let b = s.as_bytes();
    let date = iso_date(b)?;
    if b.len() == 10 {
        return Some(When::Date(date));
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let h = digits(b, 11, 2)?;
    if b.get(13) != Some(&b':') {
        return None;
    }
    let mi = digits(b, 14, 2)?;
    let mut i = 16;
    let mut sec = 0;
    let mut nano = 0u32;
    if b.get(i) == Some(&b':') {
        sec = digits(b, i + 1, 2)?;
        i += 3;
        if matches!(b.get(i), Some(b'.' | b',')) {
            i += 1;
            let start = i;
            let mut scale = 100_000_000u32;
            while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
                nano += u32::from(c - b'0') * scale;
                scale /= 10;
                i += 1;
            }
            if i == start {
                return None;
            }
        }
    }
    let offset = match b.get(i) {
        None => None,
        Some(b'Z' | b'z') => {
            i += 1;
            Some(FixedOffset::east_opt(0)?)
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, i + 1, 2)?;
            i += 3;
            let om = if b.get(i) == Some(&b':') {
                i += 3;
                digits(b, i - 2, 2)?
            } else if i < b.len() {
                i += 2;
                digits(b, i - 2, 2)?
            } else {
                0
            };
            let secs = i32::try_from(oh * 3600 + om * 60).ok()?;
            Some(FixedOffset::east_opt(if sign == b'-' {
                -secs
            } else {
                secs
            })?)
        }
        Some(_) => return None,
    };
    if i != b.len() {
        return None;
    }
    let time = NaiveTime::from_hms_nano_opt(h, mi, sec, nano)?;
    Some(When::DateTime {
        local: date.and_time(time),
        offset,
    })
}

impl When {
    pub fn parse(s: &str) -> Option<When> {
        iso(s).or_else(|| {
            DateTime::parse_from_rfc2822(s.trim())
                .ok()
                .map(|dt| When::DateTime {
                    local: dt.naive_local(),
                    offset: Some(*dt.offset()),
                })
        })
    }

    /// Unix seconds (fraction kept to the nanosecond) as a UTC datetime.
    pub fn from_unix(secs: f64) -> Option<When> {
        if !secs.is_finite() {
            return None;
        }
        let whole = secs.floor();
        #[allow(clippy::cast_possible_truncation)]
        let nanos = ((secs - whole) * 1e9).round().min(999_999_999.0) as u32;
        if whole.abs() > 1e14 {
            return None;
        }
        #[allow(clippy::cast_possible_truncation)]
        let dt = DateTime::from_timestamp(whole as i64, nanos)?;
        Some(When::DateTime {
            local: dt.naive_utc(),
            offset: FixedOffset::east_opt(0),
        })
    }

    /// The date as written (in the value's own offset).
    pub fn date(self) -> NaiveDate {
        match self {
            When::Date(d) => d,
            When::DateTime { local, .. } => local.date(),
        }
    }

    /// As an instant with its offset; dates are midnight UTC, no offset means UTC.
    pub fn fixed(self) -> Option<DateTime<FixedOffset>> {
        let utc = FixedOffset::east_opt(0)?;
        match self {
            When::Date(d) => d.and_time(NaiveTime::MIN).and_local_timezone(utc).single(),
            When::DateTime { local, offset } => {
                local.and_local_timezone(offset.unwrap_or(utc)).single()
            }
        }
    }

    pub fn utc(self) -> Option<DateTime<Utc>> {
        self.fixed().map(|d| d.with_timezone(&Utc))
    }

    pub fn add_days(self, days: i64) -> Option<When> {
        let delta = Duration::try_days(days)?;
        Some(match self {
            When::Date(d) => When::Date(d.checked_add_signed(delta)?),
            When::DateTime { local, offset } => When::DateTime {
                local: local.checked_add_signed(delta)?,
                offset,
            },
        })
    }

    /// ISO text: `YYYY-MM-DD`, RFC 3339 with the offset, or a local datetime without one.
    pub fn to_iso(self) -> String {
        match self {
            When::Date(d) => d.format("%Y-%m-%d").to_string(),
            When::DateTime {
                offset: Some(_), ..
            } => self
                .fixed()
                .map(|d| d.to_rfc3339_opts(SecondsFormat::AutoSi, true))
                .unwrap_or_default(),
            When::DateTime {
                local,
                offset: None,
            } => {
                let mut s = local.format("%Y-%m-%dT%H:%M:%S").to_string();
                let n = local.and_utc().timestamp_subsec_nanos();
                if n != 0 {
                    let frac = format!("{n:09}");
                    let _ = write!(s, ".{}", frac.trim_end_matches('0'));
                }
                s
            }
        }
    }
}

/// A strftime format parsed once.
#[derive(Debug, Clone)]
pub struct DateFormat {
    items: Vec<Item<'static>>,
    has_time: bool,
    has_offset: bool,
}

impl DateFormat {
    pub fn compile(format: &str) -> Result<Self, String> {
        if format.is_empty() {
            return Err("date format is empty".into());
        }
        let items = StrftimeItems::new(format)
            .parse_to_owned()
            .map_err(|_| format!("date format `{format}` is not a valid strftime format"))?;
        let has_time = items.iter().any(|i| {
            matches!(
                i,
                Item::Numeric(
                    Numeric::Hour
                        | Numeric::Hour12
                        | Numeric::Minute
                        | Numeric::Second
                        | Numeric::Nanosecond
                        | Numeric::Timestamp,
                    _
                ) | Item::Fixed(
                    Fixed::RFC2822
                        | Fixed::RFC3339
                        | Fixed::LowerAmPm
                        | Fixed::UpperAmPm
                        | Fixed::Nanosecond
                        | Fixed::Nanosecond3
                        | Fixed::Nanosecond6
                        | Fixed::Nanosecond9
                )
            )
        });
        let has_offset = items.iter().any(|i| {
            matches!(
                i,
                Item::Fixed(
                    Fixed::TimezoneOffset
                        | Fixed::TimezoneOffsetColon
                        | Fixed::TimezoneOffsetColonZ
                        | Fixed::TimezoneOffsetZ
                        | Fixed::TimezoneOffsetDoubleColon
                        | Fixed::TimezoneOffsetTripleColon
                        | Fixed::RFC2822
                        | Fixed::RFC3339
                ) | Item::Numeric(Numeric::Timestamp, _)
            )
        });
        Ok(DateFormat {
            items,
            has_time,
            has_offset,
        })
    }

    /// Text in this format → `YYYY-MM-DD`, or RFC 3339 when the format has a time (UTC
    /// when it has no offset).
    pub fn parse(&self, text: &str) -> Option<When> {
        let mut parsed = Parsed::new();
        chrono::format::parse(&mut parsed, text, self.items.iter()).ok()?;
        if !self.has_time {
            return parsed.to_naive_date().ok().map(When::Date);
        }
        if self.has_offset {
            let dt = parsed.to_datetime().ok()?;
            return Some(When::DateTime {
                local: dt.naive_local(),
                offset: Some(*dt.offset()),
            });
        }
        let local = parsed.to_naive_datetime_with_offset(0).ok()?;
        Some(When::DateTime {
            local,
            offset: FixedOffset::east_opt(0),
        })
    }

    pub fn format(&self, when: When) -> Option<String> {
        let dt = when.fixed()?;
        let mut out = String::new();
        write!(out, "{}", dt.format_with_items(self.items.iter())).ok()?;
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> String {
        When::parse(s).unwrap().date().to_string()
    }

    #[test]
    fn reads_the_date_as_written() {
        assert_eq!(date("2024-03-01"), "2024-03-01");
        assert_eq!(date("2024-03-01T23:30:00-05:00"), "2024-03-01");
        assert_eq!(date("2024-03-01T01:30:00+09:00"), "2024-03-01");
        assert_eq!(date("2024-03-01T10:00:00.000+0000"), "2024-03-01");
        assert_eq!(date("2024-03-01 10:00Z"), "2024-03-01");
        assert_eq!(date("2024-03-01T10:00:00"), "2024-03-01");
        assert_eq!(date("Fri, 01 Mar 2024 23:00:00 -0500"), "2024-03-01");
    }

    #[test]
    fn rejects_what_is_not_a_date() {
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "24-03-01",
            "2024-03-01T",
            "2024-03-01T25:00",
            "2024-03-01X",
            "yesterday",
            "",
        ] {
            assert!(When::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn unix_seconds_are_utc() {
        let w = When::from_unix(1_709_251_200.5).unwrap();
        assert_eq!(w.to_iso(), "2024-03-01T00:00:00.500Z");
        assert_eq!(
            When::from_unix(-86400.0).unwrap().date().to_string(),
            "1969-12-31"
        );
        assert!(When::from_unix(f64::NAN).is_none());
        assert!(When::from_unix(1e300).is_none());
    }

    #[test]
    fn formats_are_checked_once() {
        assert!(DateFormat::compile("%Y-%m-%d").is_ok());
        assert!(DateFormat::compile("%Q").unwrap_err().contains("%Q"));
        assert!(DateFormat::compile("").is_err());
        let f = DateFormat::compile("%d/%m/%Y %H:%M").unwrap();
        assert!(f.has_time && !f.has_offset);
        assert_eq!(
            f.parse("05/03/2024 14:30").unwrap().to_iso(),
            "2024-03-05T14:30:00Z"
        );
        let f = DateFormat::compile("%d/%m/%Y").unwrap();
        assert_eq!(f.parse("05/03/2024").unwrap().to_iso(), "2024-03-05");
        assert!(f.parse("31/02/2024").is_none());
    }

    #[test]
    fn add_days_keeps_the_form() {
        let w = When::parse("2024-02-28").unwrap().add_days(2).unwrap();
        assert_eq!(w.to_iso(), "2024-03-01");
        let w = When::parse("2024-03-01T10:00:00+02:00")
            .unwrap()
            .add_days(-1)
            .unwrap();
        assert_eq!(w.to_iso(), "2024-02-29T10:00:00+02:00");
        let w = When::parse("2024-03-01T10:00:00.25")
            .unwrap()
            .add_days(1)
            .unwrap();
        assert_eq!(w.to_iso(), "2024-03-02T10:00:00.25");
        assert!(
            When::parse("2024-03-01")
                .unwrap()
                .add_days(i64::MAX)
                .is_none()
        );
    }
}
