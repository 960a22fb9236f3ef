//! RFC 3339 UTC timestamps from nanoseconds since the epoch.
//!
//! Hand-written because it runs once per output row: this writes into a stack buffer with
//! no allocation or time-zone machinery. Tests check it against jiff.

/// Digits of fractional seconds to print: 0 (seconds), 3, 6 (microseconds) or 9 (nanoseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Precision(pub u8);

impl Precision {
    /// Microseconds: pcap files with microsecond timestamps.
    pub const MICRO: Precision = Precision(6);
    /// Nanoseconds: nanosecond pcap and pcapng.
    pub const NANO: Precision = Precision(9);
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Append `ts_ns` as `YYYY-MM-DDTHH:MM:SS[.fff...]Z` to `out`.
pub fn write_rfc3339(out: &mut String, ts_ns: i64, precision: Precision) {
    let secs = ts_ns.div_euclid(1_000_000_000);
    let nanos = ts_ns.rem_euclid(1_000_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        // Outside RFC 3339's range; still print something unambiguous.
        out.push_str(&y.to_string());
    }
    let mut buf = [0u8; 32];
    let mut n = 0;
    let mut put = |v: u32, width: usize, then: u8| {
        let mut v = v;
        for i in (0..width).rev() {
            buf[n + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        n += width;
        if then != 0 {
            buf[n] = then;
            n += 1;
        }
    };
    if (0..=9999).contains(&y) {
        put(y as u32, 4, b'-');
    } else {
        put(0, 0, b'-');
    }
    put(m, 2, b'-');
    put(d, 2, b'T');
    put(sod / 3600, 2, b':');
    put(sod / 60 % 60, 2, b':');
    let digits = usize::from(precision.0.min(9));
    if digits > 0 {
        put(sod % 60, 2, b'.');
        put(nanos / 10u32.pow(9 - digits as u32), digits, b'Z');
    } else {
        put(sod % 60, 2, b'Z');
    }
    // Only ASCII digits and separators were written.
    out.push_str(std::str::from_utf8(&buf[..n]).unwrap_or_default());
}

/// `ts_ns` as an RFC 3339 string.
pub fn rfc3339(ts_ns: i64, precision: Precision) -> String {
    let mut s = String::with_capacity(32);
    write_rfc3339(&mut s, ts_ns, precision);
    s
}

/// (year, month, day) to days since 1970-01-01, proleptic Gregorian (Howard Hinnant's
/// `days_from_civil`, the inverse of [`civil_from_days`]).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Nanoseconds since the epoch of a timestamp as [`write_rfc3339`] writes it for years
/// 0 to 9999 (`YYYY-MM-DDTHH:MM:SS[.f...]Z`, 0 to 9 fraction digits); `None` for any
/// other text. Rows carry their times as text; this reads them back (`report` plots them).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0u32, |v, &c| {
            c.is_ascii_digit().then(|| v * 10 + u32::from(c - b'0'))
        })
    };
    let sep = |at: usize, c: u8| b.get(at) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let nanos = match b.get(19..)? {
        [b'Z'] => 0,
        [b'.', frac @ .., b'Z'] if (1..=9).contains(&frac.len()) => {
            let v = num(20, frac.len())?;
            v * 10u32.pow(9 - frac.len() as u32)
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + sec);
    secs.checked_mul(1_000_000_000)?
        .checked_add(i64::from(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn oracle(ts_ns: i64, digits: u8) -> String {
        // Floor to the second (jiff's as_second truncates toward zero), print the
        // date and time with jiff, and the fixed-width fraction by hand.
        let secs = ts_ns.div_euclid(1_000_000_000);
        let base = jiff::Timestamp::from_second(secs).unwrap();
        let mut s = base.strftime("%Y-%m-%dT%H:%M:%S").to_string();
        if digits > 0 {
            let nanos = ts_ns.rem_euclid(1_000_000_000);
            let frac = format!("{nanos:09}");
            s.push('.');
            s.push_str(&frac[..usize::from(digits)]);
        }
        s.push('Z');
        s
    }

    #[test]
    fn known_values() {
        assert_eq!(rfc3339(0, Precision(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(1_700_000_000_123_456_789, Precision::NANO),
            "2023-11-14T22:13:20.123456789Z"
        );
        assert_eq!(
            rfc3339(951_782_400_000_000_000, Precision::MICRO),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(
            rfc3339(-1, Precision::NANO),
            "1969-12-31T23:59:59.999999999Z"
        );
    }

    #[test]
    fn parses_what_it_writes() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2023-11-14T22:13:20.123456789Z"),
            Some(1_700_000_000_123_456_789)
        );
        assert_eq!(
            parse_rfc3339("2000-02-29T00:00:00.000001Z"),
            Some(951_782_400_000_001_000)
        );
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59.999999999Z"), Some(-1));
        for bad in [
            "",
            "2023-11-14 22:13:20Z",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20.1234567890Z",
            "2023-13-14T22:13:20Z",
            "2023-11-14T24:13:20Z",
            "2023-11-14T22:13:20+01:00",
            "+023-11-14T22:13:20Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn parse_inverts_write(ts in -9_000_000_000_000_000_000i64..9_000_000_000_000_000_000i64,
                               digits in prop::sample::select(vec![0u8, 3, 6, 9])) {
            let text = rfc3339(ts, Precision(digits));
            let unit = 10i64.pow(9 - u32::from(digits));
            prop_assert_eq!(parse_rfc3339(&text), Some(ts.div_euclid(unit) * unit));
        }

        #[test]
        fn agrees_with_jiff(ts in -9_000_000_000_000_000_000i64..9_000_000_000_000_000_000i64,
                            digits in prop::sample::select(vec![0u8, 3, 6, 9])) {
            prop_assert_eq!(rfc3339(ts, Precision(digits)), oracle(ts, digits));
        }
    }
}
