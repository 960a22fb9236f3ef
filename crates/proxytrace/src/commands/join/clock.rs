//! The clock offset between the two captures: estimated from unambiguous pairs, or given
//! as a duration.

use super::index::{request_key, FrontIndex};
use crate::capture::{CaptureError, Input, OpenOptions};
use crate::engine::Engine;
use crate::extract::requests::{self, RequestsConfig};
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
    pub pairs: usize,
    /// `request_match` or `exact_port` (front SYN to back request: biased by the
    /// connection's age, used only without request pairs).
    pub source: &'static str,
}

pub(super) fn estimate_from(mut d: Vec<i64>, source: &'static str) -> Option<OffsetEstimate> {
    if d.is_empty() {
        return None;
    }
    d.sort_unstable();
    let q = |f: usize| d.get((d.len() - 1) * f / 4).copied().unwrap_or(0);
    Some(OffsetEstimate {
        offset_ns: q(2),
        iqr_ns: q(3) - q(1),
        pairs: d.len(),
        source,
    })
}

/// First pass: pair back requests with front requests (or, failing those, SYNs of the
/// named port) within ±[`ESTIMATE_WINDOW_NS`] when exactly one candidate exists, and take
/// the median difference. Reads the back side only until [`ESTIMATE_PAIRS`] pairs.
pub fn estimate_offset(
    engine: &Engine,
    back: Vec<Input>,
    opts: OpenOptions,
    cfg: &RequestsConfig,
    index: &FrontIndex<'_>,
    on_error: &mut dyn FnMut(&CaptureError),
) -> Option<OffsetEstimate> {
    let mut by_req = Vec::new();
    let mut by_port = Vec::new();
    let mut seen = 0u64;
    let w = ESTIMATE_WINDOW_NS;
    let _ = requests::run(
        engine,
        back,
        opts,
        cfg,
        &mut |r| {
            seen += 1;
            if let Some(ip) = r.client_ip.and_then(|c| index.ip_id(c)) {
                let t = r.ts_ns;
                let c = index.requests_between(request_key(&r), ip, t - w, t + w);
                if let [one] = c {
                    by_req.push(t - one.ts_ns);
                } else if let Some(port) = r.client_port {
                    if let (Some(s), 1) = index.latest_port(ip, port, t - w, t + w) {
                        by_port.push(t - s.ts_ns);
                    }
                }
            }
            if by_req.len() >= ESTIMATE_PAIRS
                || (seen >= ESTIMATE_MAX_REQUESTS && !(by_req.is_empty() && by_port.is_empty()))
            {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
        on_error,
    );
    estimate_from(by_req, "request_match").or_else(|| estimate_from(by_port, "exact_port"))
}

/// Parse a duration: a signed decimal number and a unit, `ns`, `us`, `ms`, `s`, `m`/`min`,
/// `h` (`-1.5s`, `250ms`, `30min`). Returns nanoseconds.
pub fn parse_duration_ns(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| format!("{s:?}: a duration needs a unit (ns, us, ms, s, min, h)"))?;
    let (num, unit) = t.split_at(split);
    let mul: i64 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?} (ns, us, ms, s, min, h)"
            ))
        }
    };
    let (neg, digits) = match num.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, num.strip_prefix('+').unwrap_or(num)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !ok(int) || !ok(frac) {
        return Err(format!("{s:?} is not a duration"));
    }
    let too_big = || format!("{s:?}: duration out of range");
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
