//! The clock offset between the two captures: estimated from unambiguous pairs, or given
//! as a duration.

use super::index::{request_key, FrontIndex};
use super::rules::{clock_slack_ns, JoinMethod};
use super::stages::{self, RequestStage, Shown};
use super::JoinRow;
use crate::engine::Engine;
use crate::extract::requests::{RequestRow, RequestsConfig};
use crate::pipeline::{Inputs, Report, Sink};
use serde::Serialize;
use std::ops::ControlFlow;

/// The first pass pairs requests within this much of each other, whatever the offset.
pub const ESTIMATE_WINDOW_NS: i64 = 600_000_000_000;
/// The estimate stops reading the back side after this many unambiguous pairs.
pub const ESTIMATE_PAIRS: usize = 20_000;
/// ... or after this many back-side requests, whatever it has.
pub const ESTIMATE_MAX_REQUESTS: u64 = 2_000_000;

/// The clock offset between the captures, as measured.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OffsetEstimate {
    /// back time - front time, the median over the pairs.
    pub offset_ns: i64,
    /// Interquartile range of the pairs' differences.
    pub iqr_ns: i64,
    /// How far below the median the low end of the differences lies (median - 1st
    /// percentile): how much earlier than its front request a request forwarded faster
    /// than the median looks after correction. The join's `ip_time` slack
    /// ([`clock_slack_ns`](super::rules::clock_slack_ns)).
    pub early_spread_ns: i64,
    /// Unambiguous pairs measured.
    pub pairs: usize,
    /// `request_match` or `exact_port` (front SYN to back request: biased by the
    /// connection's age, used only without request pairs).
    pub source: JoinMethod,
}

pub(super) fn estimate_from(mut d: Vec<i64>, source: JoinMethod) -> Option<OffsetEstimate> {
    if d.is_empty() {
        return None;
    }
    d.sort_unstable();
    // The value at f/100 of the sorted differences (nearest rank below).
    let p = |f: usize| d.get((d.len() - 1) * f / 100).copied().unwrap_or(0);
    Some(OffsetEstimate {
        offset_ns: p(50),
        iqr_ns: p(75).saturating_sub(p(25)),
        early_spread_ns: p(50).saturating_sub(p(1)),
        pairs: d.len(),
        source,
    })
}

/// The report's sentence on an estimated offset.
pub(super) fn offset_note(estimate: Option<&OffsetEstimate>) -> String {
    match estimate {
        Some(e) => format!(
            "clock offset estimated {} ns (median of {} {} pairs, interquartile range {} ns, \
             early spread {} ns: ip_time slack {} ns)",
            e.offset_ns,
            e.pairs,
            e.source,
            e.iqr_ns,
            e.early_spread_ns,
            clock_slack_ns(Some(e.early_spread_ns))
        ),
        None => "clock offset: no unambiguous pairs to estimate it; assumed 0 (use --clock-offset)"
            .to_owned(),
    }
}

/// First pass: pair back requests with front requests (or, failing those, SYNs of the
/// named port) within ±[`ESTIMATE_WINDOW_NS`] when exactly one candidate exists, and take
/// the median difference. Reads the back side only until [`ESTIMATE_PAIRS`] pairs (or
/// [`ESTIMATE_MAX_REQUESTS`] requests with some pairs). Unreadable files go to `sink`
/// once and are in the returned report.
pub(super) fn estimate_offset<K: Sink<JoinRow>>(
    engine: &Engine,
    back: &Inputs,
    cfg: &RequestsConfig,
    index: &FrontIndex<'_>,
    sink: &mut K,
    shown: &mut Shown,
) -> Result<(Option<OffsetEstimate>, Report), K::Error> {
    let mut by_req = Vec::new();
    let mut by_port = Vec::new();
    let mut seen = 0u64;
    let w = ESTIMATE_WINDOW_NS;
    let read = stages::read(
        engine,
        back,
        &mut RequestStage::new(cfg),
        sink,
        shown,
        |r: RequestRow| {
            seen += 1;
            if let Some(ip) = r.client_ip.and_then(|c| index.ip_id(c)) {
                let t = r.ts_ns;
                let (lo, hi) = (t.saturating_sub(w), t.saturating_add(w));
                let c = index.requests_between(request_key(&r), ip, lo, hi);
                if let [one] = c {
                    by_req.push(t.saturating_sub(one.ts_ns));
                } else if let Some(port) = r.client_port {
                    if let (Some(s), 1) = index.latest_port(ip, port, lo, hi) {
                        by_port.push(t.saturating_sub(s.ts_ns));
                    }
                }
            }
            let enough = by_req.len() >= ESTIMATE_PAIRS
                || (seen >= ESTIMATE_MAX_REQUESTS && !(by_req.is_empty() && by_port.is_empty()));
            if enough {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )?;
    let estimate = estimate_from(by_req, JoinMethod::RequestMatch)
        .or_else(|| estimate_from(by_port, JoinMethod::ExactPort));
    Ok((estimate, read))
}

/// A duration that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// A number without a unit.
    #[error("{0:?}: a duration needs a unit (ns, us, ms, s, min, h)")]
    NoUnit(String),
    /// A unit not in the list.
    #[error("{input:?}: unknown unit {unit:?} (ns, us, ms, s, min, h)")]
    UnknownUnit {
        /// The duration as given.
        input: String,
        /// The unit part.
        unit: String,
    },
    /// The number part is not a signed decimal.
    #[error("{0:?} is not a duration")]
    NotANumber(String),
    /// More nanoseconds than an i64 holds (about 292 years).
    #[error("{0:?}: duration out of range")]
    OutOfRange(String),
}

/// Parse a duration: a signed decimal number and a unit, `ns`, `us` (or `µs`, `μs`), `ms`,
/// `s`, `m`/`min`, `h` (`-1.5s`, `250ms`, `5µs`, `30min`). Blanks around the parts are
/// allowed; digits beyond the nanosecond are dropped. Returns nanoseconds.
pub fn parse_duration_ns(s: &str) -> Result<i64, DurationError> {
    let t = s.trim();
    // The number is signs, digits and a point; the unit is the rest, whatever its script.
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+')))
        .ok_or_else(|| DurationError::NoUnit(s.to_owned()))?;
    let (num, unit) = t.split_at(split);
    let (num, unit) = (num.trim(), unit.trim());
    let mul: i64 = match unit {
        "ns" => 1,
        // The micro sign (U+00B5) and the Greek small mu (U+03BC) look the same.
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => {
            return Err(DurationError::UnknownUnit {
                input: s.to_owned(),
                unit: unit.to_owned(),
            })
        }
    };
    let (neg, digits) = match num.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, num.strip_prefix('+').unwrap_or(num)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !ok(int) || !ok(frac) {
        return Err(DurationError::NotANumber(s.to_owned()));
    }
    let too_big = || DurationError::OutOfRange(s.to_owned());
    let whole: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| too_big())?
    };
    let mut ns = whole.checked_mul(mul).ok_or_else(too_big)?;
    // Fraction digits, exactly, to the nanosecond (beyond it they are dropped).
    let mut scale = mul;
    for b in frac.bytes() {
        scale /= 10;
        ns = ns
            .checked_add(i64::from(b - b'0') * scale)
            .ok_or_else(too_big)?;
    }
    Ok(if neg { -ns } else { ns })
}
