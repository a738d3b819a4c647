//! UTC calendar arithmetic for the timestamps DRS carries (no time crate needed): formats for
//! the emulator, parsing for the dashboard's ages and lags.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, negative before it.
pub fn unix_seconds(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

// Howard Hinnant's days_from_civil / civil_from_days.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: i64,
    minute: i64,
    second: i64,
    weekday: usize,
}

fn civil(secs: i64) -> Civil {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: rem / 3600,
        minute: rem % 3600 / 60,
        second: rem % 60,
        // 1970-01-01 was a Thursday.
        weekday: (days + 4).rem_euclid(7) as usize,
    }
}

/// `2026-11-23T07:32:00Z`, the API's ISO8601DatetimeString.
pub fn iso8601(secs: i64) -> String {
    let c = civil(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `20261123T073200Z`, as in `x-amz-date`.
pub fn amz_date(secs: i64) -> String {
    let c = civil(secs);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `Mon, 23 Nov 2026 07:32:00 GMT`, the HTTP `Date` header.
pub fn http_date(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let c = civil(secs);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[c.weekday],
        c.day,
        MONTHS[(c.month - 1) as usize],
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

/// ISO 8601 duration of whole seconds, e.g. `PT1H2M3S`.
pub fn iso_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::from("PT");
    if h > 0 {
        out.push_str(&format!("{h}H"));
    }
    if m > 0 {
        out.push_str(&format!("{m}M"));
    }
    if s > 0 || (h == 0 && m == 0) {
        out.push_str(&format!("{s}S"));
    }
    out
}

/// Seconds in an ISO 8601 duration as DRS reports lag (`PT20S`, `PT1H2M`, `P1DT2H`); None when
/// the value is not one (shown raw then). Years and months are refused: their length varies.
pub fn parse_iso_duration(s: &str) -> Option<u64> {
    let rest = s.trim().strip_prefix('P')?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut secs = 0.0;
    let mut add = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut number = String::new();
        for c in part.chars() {
            match units.iter().find(|(u, _)| *u == c) {
                Some((_, factor)) => {
                    secs += number.parse::<f64>().ok()? * factor;
                    number.clear();
                }
                None if c.is_ascii_digit() || c == '.' => number.push(c),
                None => return None,
            }
        }
        number.is_empty().then_some(())
    };
    add(date, &[('W', 604_800.0), ('D', 86_400.0)])?;
    add(time, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)])?;
    (!rest.is_empty() && rest != "T").then_some(secs.round() as u64)
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn compose(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    let valid = (1..=12).contains(&mo) && (1..=31).contains(&d) && h < 24 && mi < 60 && s < 61;
    valid.then(|| days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + s)
}

/// Parses `20261123T073200Z`.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    compose(
        digits(s.get(0..4)?)?,
        digits(s.get(4..6)?)?,
        digits(s.get(6..8)?)?,
        digits(s.get(9..11)?)?,
        digits(s.get(11..13)?)?,
        digits(s.get(13..15)?)?,
    )
}

/// Parses `2026-11-23T07:32:00Z`, with optional fractional seconds.
pub fn parse_iso8601(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z')?;
    let (main, _fraction) = match s.split_once('.') {
        Some((m, f)) if digits(f).is_some() => (m, f),
        Some(_) => return None,
        None => (s, ""),
    };
    let b = main.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    compose(
        digits(main.get(0..4)?)?,
        digits(main.get(5..7)?)?,
        digits(main.get(8..10)?)?,
        digits(main.get(11..13)?)?,
        digits(main.get(14..16)?)?,
        digits(main.get(17..19)?)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        // 2026-11-23T07:32:00Z
        let t = 1_795_419_120;
        assert_eq!(iso8601(t), "2026-11-23T07:32:00Z");
        assert_eq!(amz_date(t), "20261123T073200Z");
        assert_eq!(http_date(t), "Mon, 23 Nov 2026 07:32:00 GMT");
        assert_eq!(parse_amz_date("20261123T073200Z"), Some(t));
        assert_eq!(parse_iso8601("2026-11-23T07:32:00Z"), Some(t));
        assert_eq!(parse_iso8601("2026-11-23T07:32:00.250Z"), Some(t));
        assert_eq!(parse_iso8601("2026-13-23T07:32:00Z"), None);
        assert_eq!(parse_amz_date("2026112T073200Z"), None);
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn durations() {
        assert_eq!(iso_duration(0), "PT0S");
        assert_eq!(iso_duration(62), "PT1M2S");
        assert_eq!(iso_duration(3600), "PT1H");
        assert_eq!(iso_duration(3723), "PT1H2M3S");
    }

    #[test]
    fn iso_durations_as_drs_reports_lag() {
        assert_eq!(parse_iso_duration("PT20S"), Some(20));
        assert_eq!(parse_iso_duration("PT0S"), Some(0));
        assert_eq!(parse_iso_duration("PT1H2M3S"), Some(3723));
        assert_eq!(parse_iso_duration("P1DT2H"), Some(93_600));
        assert_eq!(parse_iso_duration("PT0.6S"), Some(1));
        assert_eq!(parse_iso_duration("P1Y"), None);
        assert_eq!(parse_iso_duration("P"), None);
        assert_eq!(parse_iso_duration("PT"), None);
        assert_eq!(parse_iso_duration("20 seconds"), None);
        assert_eq!(parse_iso_duration("PT5"), None);
    }
}
