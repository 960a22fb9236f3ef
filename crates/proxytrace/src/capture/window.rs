//! Time windows (`--since`/`--until`): which records a walk hands on, and when a walk may
//! stop before the end of its file.
//!
//! The walker judges every record by its own timestamp: a record outside the window is
//! counted as read and skipped (`outside_time_window`) and never decoded, so `records =
//! decoded + skipped` still holds and packet numbers stay those of the whole file (which
//! is why the part before `since` is still walked, record header by record header: a
//! packet number needs every record before it counted).
//!
//! Past `until` the walk may stop reading: at the first record at or after
//! `until + STOP_MARGIN_NS`, provided no earlier record of the file went back in time by
//! more than [`STOP_MARGIN_NS`] from the latest time before it. A capture whose records
//! come slightly out of order (pcapng with several interfaces, a busy capture host) still
//! stops; one that ever went back further is read to its end. What is guaranteed: every
//! record in the window is read, unless a record after the stop point goes back more than
//! the margin below the stop record's time without any earlier record having done so.

use std::str::FromStr;

/// How far back in time a record may be from the latest time before it and the walk still
/// believe the capture in time order: 5 s, far more than interfaces or capture threads of
/// one host disagree by, and little capture time to read past `until`.
pub const STOP_MARGIN_NS: i64 = 5_000_000_000;

/// A half-open window of capture time, ns since the Unix epoch: `since` inclusive,
/// `until` exclusive. `None` is unbounded on that side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindow {
    /// Earliest time kept (inclusive).
    pub since: Option<i64>,
    /// First time no longer kept (exclusive).
    pub until: Option<i64>,
}

impl TimeWindow {
    /// Whether the window leaves anything out.
    pub fn is_bounded(&self) -> bool {
        self.since.is_some() || self.until.is_some()
    }

    /// Whether a record at `ts_ns` is in the window.
    #[inline]
    pub fn contains(&self, ts_ns: i64) -> bool {
        self.since.is_none_or(|s| ts_ns >= s) && self.until.is_none_or(|u| ts_ns < u)
    }

    /// The window widened by `before` ns before `since` and `after` ns after `until`
    /// (saturating): what a side must read to pair with rows of this window.
    pub fn widened(&self, before: i64, after: i64) -> TimeWindow {
        TimeWindow {
            since: self.since.map(|s| s.saturating_sub(before.max(0))),
            until: self.until.map(|u| u.saturating_add(after.max(0))),
        }
    }

    /// The window moved by `by` ns (a clock offset between two captures).
    pub fn shifted(&self, by: i64) -> TimeWindow {
        TimeWindow {
            since: self.since.map(|s| s.saturating_add(by)),
            until: self.until.map(|u| u.saturating_add(by)),
        }
    }
}

/// What the walker decides about one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// In the window: hand it on.
    Keep,
    /// Outside: count it read and skipped.
    Outside,
    /// Past `until` in a capture in time order so far: stop reading before it.
    Stop,
}

/// A walk's view of the clock: the window, and what it has seen so far to judge whether
/// it may stop early. One per sequential walk of a file; the engine gives each mapped
/// chunk a fresh one and checks the chunk's claims at the merge (`WindowClock::follows`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowClock {
    /// The window.
    pub window: TimeWindow,
    /// The walk may stop past `until` (off when the file is known out of order).
    pub may_stop: bool,
    /// Latest record time seen.
    pub max_seen: Option<i64>,
    /// Earliest record time seen.
    pub min_seen: Option<i64>,
    /// Some record went back more than [`STOP_MARGIN_NS`] from the latest time before it.
    pub stepped_back: bool,
}

impl WindowClock {
    /// A clock for a walk from the start of a file.
    pub fn new(window: TimeWindow) -> WindowClock {
        WindowClock {
            window,
            may_stop: window.until.is_some(),
            ..WindowClock::default()
        }
    }

    /// Whether the walker has anything to check.
    #[inline]
    pub(crate) fn active(&self) -> bool {
        self.window.is_bounded()
    }

    /// Judge the record at `ts_ns` and note its time.
    #[inline]
    pub(crate) fn judge(&mut self, ts_ns: i64) -> Verdict {
        if self.may_stop && !self.stepped_back {
            if let Some(u) = self.window.until {
                if ts_ns >= u.saturating_add(STOP_MARGIN_NS) {
                    return Verdict::Stop;
                }
            }
        }
        if let Some(m) = self.max_seen {
            if ts_ns < m.saturating_sub(STOP_MARGIN_NS) {
                self.stepped_back = true;
            }
        }
        self.max_seen = Some(self.max_seen.map_or(ts_ns, |m| m.max(ts_ns)));
        self.min_seen = Some(self.min_seen.map_or(ts_ns, |m| m.min(ts_ns)));
        if self.window.contains(ts_ns) {
            Verdict::Keep
        } else {
            Verdict::Outside
        }
    }

    /// The clock after a walk that went on from `self` over a stretch `next` saw with a
    /// fresh clock: exactly the sequential walk's, since a record of `next` stepped back
    /// either within `next` or below the latest time before it.
    pub fn then(&self, next: &WindowClock) -> WindowClock {
        let crossed = matches!((self.max_seen, next.min_seen),
            (Some(m), Some(n)) if n < m.saturating_sub(STOP_MARGIN_NS));
        WindowClock {
            window: self.window,
            may_stop: self.may_stop,
            max_seen: match (self.max_seen, next.max_seen) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
            min_seen: match (self.min_seen, next.min_seen) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            stepped_back: self.stepped_back || next.stepped_back || crossed,
        }
    }
}

/// A point in time as the user gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSpec {
    /// An absolute time, ns since the Unix epoch (RFC 3339, or a bare date: its UTC
    /// midnight).
    At(i64),
    /// `+DURATION`: this many ns after the first packet of the earliest input.
    AfterFirst(i64),
    /// `now`, `now-DURATION`, `now+DURATION`: the wall clock when the run starts, moved by
    /// this many ns.
    FromNow(i64),
}

/// Why a time could not be read or resolved.
#[derive(Debug, thiserror::Error)]
pub enum TimeSpecError {
    /// Not one of the accepted forms.
    #[error("{input:?} is not a time: give RFC 3339 (2026-12-01T10:00:00Z, 2026-12-01T11:00:00+01:00), a date (2026-12-01, its UTC midnight), +DURATION after the first packet (+15m, +1h30m) or now-DURATION ({reason})")]
    Unreadable {
        /// As given.
        input: String,
        /// What the parser said.
        reason: String,
    },
    /// Outside what nanoseconds since the epoch hold in an i64 (1677..2262).
    #[error("{0:?} is out of range (1677-09-21 to 2262-04-11 UTC)")]
    OutOfRange(String),
    /// A time relative to the first packet, but no input's first packet can be read
    /// beforehand (standard input or a FIFO is read only once, or no input has a packet).
    #[error("a time relative to the first packet (+DURATION) needs the first packet of a capture file read beforehand, and there is none (standard input and FIFOs are read only once): give an absolute time")]
    NoFirstPacket,
}

fn unreadable(input: &str, reason: impl std::fmt::Display) -> TimeSpecError {
    TimeSpecError::Unreadable {
        input: input.to_owned(),
        reason: reason.to_string(),
    }
}

fn duration_ns(input: &str, s: &str) -> Result<i64, TimeSpecError> {
    let d: jiff::SignedDuration = s.trim().parse().map_err(|e| unreadable(input, e))?;
    i64::try_from(d.as_nanos()).map_err(|_| TimeSpecError::OutOfRange(input.to_owned()))
}

impl FromStr for TimeSpec {
    type Err = TimeSpecError;

    fn from_str(input: &str) -> Result<TimeSpec, TimeSpecError> {
        let s = input.trim();
        if let Some(rest) = s.strip_prefix('+') {
            return duration_ns(input, rest).map(TimeSpec::AfterFirst);
        }
        if let Some(rest) = s.strip_prefix("now") {
            let rest = rest.trim();
            if rest.is_empty() {
                return Ok(TimeSpec::FromNow(0));
            }
            let (neg, d) = match (rest.strip_prefix('-'), rest.strip_prefix('+')) {
                (Some(d), _) => (true, d),
                (_, Some(d)) => (false, d),
                _ => return Err(unreadable(input, "after now comes -DURATION or +DURATION")),
            };
            let ns = duration_ns(input, d)?;
            return Ok(TimeSpec::FromNow(if neg { -ns } else { ns }));
        }
        let ts: jiff::Timestamp = match s.parse::<jiff::Timestamp>() {
            Ok(ts) => ts,
            Err(e) => {
                // A bare date is its UTC midnight; anything else with a date and a time
                // but no offset is ambiguous and refused.
                if s.len() != 10 {
                    return Err(unreadable(input, e));
                }
                let date: jiff::civil::Date = s.parse().map_err(|e| unreadable(input, e))?;
                date.to_zoned(jiff::tz::TimeZone::UTC)
                    .map_err(|e| unreadable(input, e))?
                    .timestamp()
            }
        };
        i64::try_from(ts.as_nanosecond())
            .map(TimeSpec::At)
            .map_err(|_| TimeSpecError::OutOfRange(input.to_owned()))
    }
}

impl TimeSpec {
    /// The time in ns since the epoch, given the first packet of the earliest input
    /// (`None`: not known beforehand) and the wall clock.
    pub fn resolve(self, first_ns: Option<i64>, now_ns: i64) -> Result<i64, TimeSpecError> {
        match self {
            TimeSpec::At(t) => Ok(t),
            TimeSpec::AfterFirst(d) => first_ns
                .map(|f| f.saturating_add(d))
                .ok_or(TimeSpecError::NoFirstPacket),
            TimeSpec::FromNow(d) => Ok(now_ns.saturating_add(d)),
        }
    }

    /// Whether resolving it needs the first packet of the inputs.
    pub fn needs_first_packet(&self) -> bool {
        matches!(self, TimeSpec::AfterFirst(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        match s.parse::<TimeSpec>().unwrap() {
            TimeSpec::At(t) => t,
            other => panic!("{s}: {other:?}"),
        }
    }

    /// Epoch values worked out by hand: 2026-12-01 is day 20,788 since 1970-01-01
    /// (56 years with 14 leap days = 20,454 days to 2026-01-01, plus 334 days of
    /// January..November 2026), so its midnight is 20,788 x 86,400 = 1,796,083,200 s.
    #[test]
    fn absolute_forms() {
        let midnight = 1_796_083_200_000_000_000i64;
        let ten = midnight + 10 * 3_600_000_000_000;
        assert_eq!(at("2026-12-01"), midnight);
        assert_eq!(at("2026-12-01T00:00:00Z"), midnight);
        assert_eq!(at("2026-12-01T10:00:00Z"), ten);
        assert_eq!(at("2026-12-01t10:00:00z"), ten);
        assert_eq!(at("2026-12-01T11:00:00+01:00"), ten);
        assert_eq!(at("2026-12-01T05:30:00-04:30"), ten);
        assert_eq!(at("2026-12-01 10:00:00Z"), ten);
        assert_eq!(at("2026-12-01T10:00:00.000000123Z"), ten + 123);
        assert_eq!(at("2026-12-01T10:00:00.5Z"), ten + 500_000_000);
        assert_eq!(at("1970-01-01T00:00:00Z"), 0);
    }

    #[test]
    fn relative_forms() {
        let p = |s: &str| s.parse::<TimeSpec>().unwrap();
        assert_eq!(p("+15m"), TimeSpec::AfterFirst(900_000_000_000));
        assert_eq!(p("+1h30m"), TimeSpec::AfterFirst(5_400_000_000_000));
        assert_eq!(p("+1h 30m"), TimeSpec::AfterFirst(5_400_000_000_000));
        assert_eq!(p("+2s"), TimeSpec::AfterFirst(2_000_000_000));
        assert_eq!(p("+250ms"), TimeSpec::AfterFirst(250_000_000));
        assert_eq!(p("now"), TimeSpec::FromNow(0));
        assert_eq!(p("now-2h"), TimeSpec::FromNow(-7_200_000_000_000));
        assert_eq!(p("now+1m"), TimeSpec::FromNow(60_000_000_000));
        assert_eq!(p("+15m").resolve(Some(1_000), 0).unwrap(), 900_000_001_000);
        assert_eq!(
            p("now-2h").resolve(None, 8_000_000_000_000).unwrap(),
            800_000_000_000
        );
        assert!(matches!(
            p("+15m").resolve(None, 0),
            Err(TimeSpecError::NoFirstPacket)
        ));
    }

    #[test]
    fn refused_forms() {
        for bad in [
            "",
            "yesterday",
            "2026-12-01T10:00:00", // no offset: ambiguous
            "2026-13-01",
            "2026-12-01T25:00:00Z",
            "+",
            "+15",
            "+fifteen minutes",
            "now*2",
            "12:00",
        ] {
            assert!(bad.parse::<TimeSpec>().is_err(), "{bad:?} was accepted");
        }
        assert!(matches!(
            "2300-01-01T00:00:00Z".parse::<TimeSpec>(),
            Err(TimeSpecError::OutOfRange(_))
        ));
    }

    #[test]
    fn window_is_half_open() {
        let w = TimeWindow {
            since: Some(10),
            until: Some(20),
        };
        assert!(!w.contains(9));
        assert!(w.contains(10));
        assert!(w.contains(19));
        assert!(!w.contains(20));
        assert!(TimeWindow::default().contains(i64::MIN));
        assert!(!TimeWindow::default().is_bounded());
    }

    /// The clock of two stretches walked apart and combined equals the clock of one walk.
    #[test]
    fn clock_combines_like_one_walk() {
        let w = TimeWindow {
            since: None,
            until: Some(i64::MAX - STOP_MARGIN_NS),
        };
        let times = [
            100,
            50,
            7_000_000_000,
            6_000_000_000,
            1_000,
            20_000_000_000,
            9,
        ];
        for split in 0..=times.len() {
            let mut whole = WindowClock::new(w);
            times.iter().for_each(|&t| {
                whole.judge(t);
            });
            let (mut a, mut b) = (WindowClock::new(w), WindowClock::new(w));
            times[..split].iter().for_each(|&t| {
                a.judge(t);
            });
            times[split..].iter().for_each(|&t| {
                b.judge(t);
            });
            assert_eq!(a.then(&b), whole, "split at {split}");
        }
    }

    #[test]
    fn stops_only_in_time_order() {
        let w = TimeWindow {
            since: None,
            until: Some(10 * STOP_MARGIN_NS),
        };
        let mut c = WindowClock::new(w);
        assert_eq!(c.judge(9 * STOP_MARGIN_NS), Verdict::Keep);
        assert_eq!(c.judge(10 * STOP_MARGIN_NS), Verdict::Outside);
        assert_eq!(c.judge(11 * STOP_MARGIN_NS), Verdict::Stop);
        let mut c = WindowClock::new(w);
        c.judge(5 * STOP_MARGIN_NS);
        // Back by more than the margin: the capture is not in time order, never stop.
        c.judge(3 * STOP_MARGIN_NS);
        assert_eq!(c.judge(20 * STOP_MARGIN_NS), Verdict::Outside);
    }
}
