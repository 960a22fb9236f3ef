//! The time axis: an inline SVG with the client's front connections (SYNs, shifted to the
//! back clock by the join's offset) on one lane, its back-side requests on another, a line
//! from each joined request to its connection, and ticks labelled in UTC at a round step.

use super::html::Esc;
use super::view::{ClientView, Offset};
use crate::commands::join::Confidence;
use crate::timefmt::{rfc3339, Precision};
use std::io::{self, Write};

const WIDTH: f64 = 1100.0;
const LEFT: f64 = 130.0;
const RIGHT: f64 = 30.0;
const FRONT_Y: f64 = 40.0;
const BACK_Y: f64 = 100.0;
const AXIS_Y: f64 = 135.0;
const HEIGHT: f64 = 185.0;
/// At most this many ticks: the step is the first round one that keeps to it.
const MAX_TICKS: i64 = 8;

const NS: i64 = 1;
const US: i64 = 1_000;
const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;
const MIN: i64 = 60 * S;
const H: i64 = 60 * MIN;
const DAY: i64 = 24 * H;

/// Round tick steps, shortest first.
const STEPS: &[i64] = &[
    NS,
    2 * NS,
    5 * NS,
    10 * NS,
    20 * NS,
    50 * NS,
    100 * NS,
    200 * NS,
    500 * NS,
    US,
    2 * US,
    5 * US,
    10 * US,
    20 * US,
    50 * US,
    100 * US,
    200 * US,
    500 * US,
    MS,
    2 * MS,
    5 * MS,
    10 * MS,
    20 * MS,
    50 * MS,
    100 * MS,
    200 * MS,
    500 * MS,
    S,
    2 * S,
    5 * S,
    10 * S,
    15 * S,
    30 * S,
    MIN,
    2 * MIN,
    5 * MIN,
    10 * MIN,
    15 * MIN,
    30 * MIN,
    H,
    2 * H,
    3 * H,
    6 * H,
    12 * H,
    DAY,
    2 * DAY,
    7 * DAY,
    14 * DAY,
    30 * DAY,
    91 * DAY,
    365 * DAY,
];

/// The tick step for a span: the first round step giving at most [`MAX_TICKS`] ticks;
/// beyond a year's steps, the span divided evenly.
pub(super) fn tick_step(span: i64) -> i64 {
    STEPS
        .iter()
        .copied()
        .find(|&s| span / s < MAX_TICKS)
        .unwrap_or_else(|| (span / MAX_TICKS).max(1))
}

/// Ticks (time, label) at multiples of `step` within `[t0, t1]`. A label shows the time of
/// day as precisely as the step needs; the date goes on a second line of the first tick
/// and of every tick whose date differs from the one before.
pub(super) fn ticks(t0: i64, t1: i64, step: i64) -> Vec<(i64, String, Option<String>)> {
    let mut out = Vec::new();
    let mut t = t0.div_euclid(step).saturating_mul(step);
    if t < t0 {
        t = t.saturating_add(step);
    }
    let mut last_date = String::new();
    // Bounded however the span and step relate.
    for _ in 0..=MAX_TICKS + 2 {
        if t > t1 {
            break;
        }
        let full = rfc3339(t, Precision::NANO);
        let date = full.get(..10).unwrap_or(&full).to_owned();
        let (from, to) = match step {
            s if s >= DAY => (0, 10),
            s if s >= S => (11, 19),
            s if s >= MS => (11, 23),
            s if s >= US => (11, 26),
            _ => (11, 29),
        };
        let label = full.get(from..to).unwrap_or(&full).to_owned();
        let second = (step < DAY && date != last_date).then(|| date.clone());
        last_date = date;
        out.push((t, label, second));
        match t.checked_add(step) {
            Some(n) => t = n,
            None => break,
        }
    }
    out
}

/// The SVG (or a sentence when there is nothing to plot).
pub(super) fn write_timeline(v: &ClientView, w: &mut dyn Write) -> io::Result<()> {
    let offset = v.offset.ns();
    let fronts: Vec<i64> = v
        .connections
        .iter()
        .filter_map(|c| c.ts_ns.map(|t| t.saturating_add(offset)))
        .collect();
    let backs: Vec<i64> = v.requests.iter().map(|e| e.request.ts_ns).collect();
    let (Some(lo), Some(hi)) = (
        fronts.iter().chain(&backs).min().copied(),
        fronts.iter().chain(&backs).max().copied(),
    ) else {
        return writeln!(
            w,
            "<p>Nothing to plot: no request or SYN of this client.</p>"
        );
    };
    // A margin either side, so the first and last points sit inside the frame.
    let pad = if hi > lo {
        ((hi - lo) / 40).max(1)
    } else {
        500 * MS
    };
    let (t0, t1) = (lo.saturating_sub(pad), hi.saturating_add(pad));
    let span = t1.saturating_sub(t0).max(1);
    let x = |t: i64| LEFT + (t.saturating_sub(t0)) as f64 / span as f64 * (WIDTH - LEFT - RIGHT);
    let front = v.front_files.is_some();
    writeln!(
        w,
        "<p>Time runs left to right, in UTC{}. Requests are coloured by join confidence \
         (<span class=\"c-certain\">certain</span>, <span class=\"c-probable\">probable</span>, \
         <span class=\"c-ambiguous\">ambiguous</span>, <span class=\"c-none\">none</span>); \
         a red ring marks a spoof flag. Hover a point for its details.</p>",
        match (front, v.offset) {
            (false, _) => "",
            (true, Offset::Unknown) => "; front times as captured (offset unknown)",
            (true, _) => "; front times shifted to the back clock by the offset above",
        }
    )?;
    writeln!(
        w,
        "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" aria-label=\"time axis\">"
    )?;
    if front {
        writeln!(
            w,
            "<text x=\"8\" y=\"{}\">front SYNs</text>\
             <line x1=\"{LEFT}\" y1=\"{FRONT_Y}\" x2=\"{}\" y2=\"{FRONT_Y}\" stroke=\"#ddd\"/>",
            FRONT_Y + 4.0,
            WIDTH - RIGHT
        )?;
    }
    writeln!(
        w,
        "<text x=\"8\" y=\"{}\">back requests</text>\
         <line x1=\"{LEFT}\" y1=\"{BACK_Y}\" x2=\"{}\" y2=\"{BACK_Y}\" stroke=\"#ddd\"/>",
        BACK_Y + 4.0,
        WIDTH - RIGHT
    )?;
    // The links first, so the points are drawn over them.
    for e in &v.requests {
        let Some(syn) = e
            .join
            .as_ref()
            .and_then(|j| j.front.as_ref())
            .and_then(|f| f.2)
        else {
            continue;
        };
        writeln!(
            w,
            "<line class=\"link\" x1=\"{:.1}\" y1=\"{FRONT_Y}\" x2=\"{:.1}\" y2=\"{BACK_Y}\" \
             stroke=\"#bbb\" stroke-width=\"0.6\"/>",
            x(syn.saturating_add(offset)),
            x(e.request.ts_ns)
        )?;
    }
    for c in &v.connections {
        let Some(t) = c.ts_ns else { continue };
        let s = &c.syn;
        let title = format!(
            "SYN {} from port {} to {}:{} ({})",
            s.time,
            s.src_port,
            s.dst_ip,
            s.dst_port,
            s.os_name.as_deref().unwrap_or("???")
        );
        writeln!(
            w,
            "<circle class=\"syn\" cx=\"{:.1}\" cy=\"{FRONT_Y}\" r=\"4\" fill=\"#6a1b9a\">\
             <title>{}</title></circle>",
            x(t.saturating_add(offset)),
            Esc(&title)
        )?;
    }
    for e in &v.requests {
        let r = &e.request;
        let confidence = e.join.as_ref().map(|j| j.confidence);
        let fill = match confidence {
            Some(Confidence::Certain) => "#2e7d32",
            Some(Confidence::Probable) | None => "#1565c0",
            Some(Confidence::Ambiguous) => "#ef6c00",
            Some(Confidence::None) => "#9e9e9e",
        };
        let ring = if r.spoof_suspect {
            " stroke=\"#d00\" stroke-width=\"2\""
        } else {
            ""
        };
        let mut title = format!("{} {} {}{}", r.time, r.method, r.host, r.target);
        if let Some(c) = confidence {
            title.push_str(&format!(" (join {c})"));
        }
        if r.spoof_suspect {
            title.push_str(&format!(" spoof: {}", r.spoof_reasons));
        }
        writeln!(
            w,
            "<circle class=\"request\" cx=\"{:.1}\" cy=\"{BACK_Y}\" r=\"4\" fill=\"{fill}\"{ring}>\
             <title>{}</title></circle>",
            x(r.ts_ns),
            Esc(&title)
        )?;
    }
    writeln!(
        w,
        "<line x1=\"{LEFT}\" y1=\"{AXIS_Y}\" x2=\"{}\" y2=\"{AXIS_Y}\" stroke=\"#333\"/>",
        WIDTH - RIGHT
    )?;
    for (t, label, date) in ticks(t0, t1, tick_step(span)) {
        let tx = x(t);
        writeln!(
            w,
            "<line x1=\"{tx:.1}\" y1=\"{AXIS_Y}\" x2=\"{tx:.1}\" y2=\"{}\" stroke=\"#333\"/>\
             <text class=\"tick\" x=\"{tx:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            AXIS_Y + 5.0,
            AXIS_Y + 18.0,
            Esc(&label)
        )?;
        if let Some(d) = date {
            writeln!(
                w,
                "<text class=\"date\" x=\"{tx:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                AXIS_Y + 32.0,
                Esc(&d)
            )?;
        }
    }
    writeln!(w, "</svg>")
}
