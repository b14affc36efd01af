//! [`Timestamp`]: a point in time with one-second resolution, as X.509 uses.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// Seconds since the Unix epoch (UTC), the resolution X.509 validity and CRLs use.
///
/// certauth never reads the clock behind your back: verification takes a `Timestamp`
/// argument, and [`Timestamp::now`] is the one place that reads the system clock.
///
/// ```
/// use certauth::Timestamp;
/// let t = Timestamp::parse_rfc3339("2026-11-22T13:30:00Z").unwrap();
/// assert_eq!(t.to_rfc3339(), "2026-11-22T13:30:00Z");
/// assert_eq!(t.as_unix_secs(), 1795354200);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The time `secs` seconds after 1970-01-01T00:00:00Z (negative: before).
    pub const fn from_unix_secs(secs: i64) -> Self {
        Self(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn as_unix_secs(self) -> i64 {
        self.0
    }

    /// The current system time.
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    /// This time moved by `secs` seconds (saturating).
    #[must_use]
    pub const fn plus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// Builds a timestamp from a UTC calendar date and time. Returns `None` when a field
    /// is out of range.
    pub fn from_utc(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        min: u32,
        sec: u32,
    ) -> Option<Self> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        if hour > 23 || min > 59 || sec > 60 {
            return None;
        }
        let days = days_from_civil(year, month, day);
        Some(Self(days * 86_400 + i64::from(hour) * 3600 + i64::from(min) * 60 + i64::from(sec)))
    }

    /// Parses an RFC 3339 date-time such as `2026-11-22T13:30:00Z` or
    /// `2026-11-22T14:30:00.5+01:00` (fractions are truncated).
    pub fn parse_rfc3339(s: &str) -> Result<Self> {
        let bad =
            || Error::malformed("time is not an RFC 3339 date-time (e.g. 2026-11-22T13:30:00Z)");
        let b = s.as_bytes();
        if b.len() < 20 || b.len() > 40 {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32> {
            let part = b.get(r).ok_or_else(bad)?;
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
                return Err(bad());
            }
            Ok(part.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
        };
        let sep = |i: usize, set: &[u8]| b.get(i).is_some_and(|c| set.contains(c));
        if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
            return Err(bad());
        }
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        let mut i = 19;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start {
                return Err(bad());
            }
        }
        let offset = match b.get(i..) {
            Some(b"Z" | b"z") => 0,
            Some(&[sign @ (b'+' | b'-'), _, _, b':', _, _]) => {
                let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
                if oh > 23 || om > 59 {
                    return Err(bad());
                }
                let off = i64::from(oh * 3600 + om * 60);
                if sign == b'+' { off } else { -off }
            }
            _ => return Err(bad()),
        };
        let t = Self::from_utc(i64::from(year), month, day, hour, min, sec).ok_or_else(bad)?;
        Ok(Self(t.0 - offset))
    }

    /// Formats as RFC 3339 in UTC with second resolution, e.g. `2026-11-22T13:30:00Z`.
    pub fn to_rfc3339(self) -> String {
        self.to_string()
    }

    /// The `rustls-pki-types` view of this time (clamped at the epoch, which webpki needs).
    pub fn to_unix_time(self) -> rustls_pki_types::UnixTime {
        rustls_pki_types::UnixTime::since_unix_epoch(Duration::from_secs(self.0.max(0) as u64))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Self(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            Err(e) => Self(-i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX)),
        }
    }
}

impl From<rustls_pki_types::UnixTime> for Timestamp {
    fn from(t: rustls_pki_types::UnixTime) -> Self {
        Self(i64::try_from(t.as_secs()).unwrap_or(i64::MAX))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        )
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days (public domain algorithms).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_and_offsets() {
        for (input, unix, out) in [
            ("1970-01-01T00:00:00Z", 0, "1970-01-01T00:00:00Z"),
            ("2000-02-29T23:59:59Z", 951_868_799, "2000-02-29T23:59:59Z"),
            ("2026-11-22T14:30:00.123+01:00", 1_795_354_200, "2026-11-22T13:30:00Z"),
            ("2026-11-22t08:30:00-05:00", 1_795_354_200, "2026-11-22T13:30:00Z"),
            ("1950-01-01T00:00:00Z", -631_152_000, "1950-01-01T00:00:00Z"),
            ("9999-12-31T23:59:59Z", 253_402_300_799, "9999-12-31T23:59:59Z"),
        ] {
            let t = Timestamp::parse_rfc3339(input).unwrap();
            assert_eq!(t.as_unix_secs(), unix, "{input}");
            assert_eq!(t.to_rfc3339(), out);
        }
    }

    #[test]
    fn rfc3339_rejects_garbage() {
        for bad in [
            "",
            "2026-11-22",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T13:30:00",
            "2026-11-22T13:30:00.Z",
            "2026-11-22T13:30:00+0100",
            "２０２６-11-22T13:30:00Z",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad}");
        }
    }
}
