//! The join rules, strongest first, and how sure each makes the row.

use super::index::{request_key, FrontIndex, FrontSyn};
use crate::extract::requests::RequestRow;
use crate::identity::IdentitySource;

/// The least slack ([`Joiner::slack_ns`]): a SYN up to this much after the corrected
/// request time may still be its own. Covers timestamp precision (microseconds in pcap)
/// and clock drift over a capture after the offset was measured on its prefix.
pub const CLOCK_SLACK_FLOOR_NS: i64 = 1_000_000;
/// The most slack: an estimate whose early spread is wider than this (pairs from
/// reused or slow back connections) is not allowed to let `ip_time` reach further past
/// the request than this.
pub const CLOCK_SLACK_CEILING_NS: i64 = 100_000_000;
/// `ip_time` counts fingerprints over at most this many SYNs (the latest) of one IP, so a
/// busy NAT address costs bounded work per request.
pub const MAX_CANDIDATE_SCAN: usize = 10_000;

/// How far after the corrected request time a SYN may be and still be taken by `ip_time`
/// (the latest SYN up to it): the clock estimate's early spread
/// ([`OffsetEstimate::early_spread_ns`]), within [[`CLOCK_SLACK_FLOOR_NS`],
/// [`CLOCK_SLACK_CEILING_NS`]]. The fixed 100 ms it replaces let a SYN opened after the
/// request win; taking only SYNs before the corrected time is worse where forwarding
/// delays spread widely (on a generated pair with a 6.6 ms early spread: 36 wrong
/// `ip_time` rows of 5,396 against none with this slack).
///
/// The estimated offset is the median of (back request - front request), so it includes
/// the proxy's median forwarding delay: a request forwarded faster than the median gets a
/// corrected time that early, up to the spread below the median, and its SYN may look
/// later than it. A given offset (`--clock-offset`) is the clocks' difference only, the
/// corrected time is never before the request's own SYN: `None` gives the floor.
///
/// [`OffsetEstimate::early_spread_ns`]: super::OffsetEstimate::early_spread_ns
pub fn clock_slack_ns(early_spread_ns: Option<i64>) -> i64 {
    early_spread_ns
        .unwrap_or(0)
        .clamp(CLOCK_SLACK_FLOOR_NS, CLOCK_SLACK_CEILING_NS)
}

crate::named_enum! {
    /// Which rule joined a request to a front SYN (the row's `join_method`).
    pub enum JoinMethod {
        /// The back side names the client's port: the latest SYN from that (ip, port).
        ExactPort => "exact_port",
        /// One front connection carried the same request shortly before: its SYN.
        RequestMatch => "request_match",
        /// The back-side source is the client (`--transparent`): its (ip, port)'s SYN.
        Transparent => "transparent",
        /// The latest SYN from the client's address within the window.
        IpTime => "ip_time",
        /// The client sent no SYN within the window.
        None => "none",
        /// The request names no client.
        NoIdentity => "no_identity",
    }
}

crate::named_enum! {
    /// How sure a join is (the row's `join_confidence`).
    pub enum Confidence {
        /// The rule pins one connection.
        Certain => "certain",
        /// `ip_time`, and every SYN of the address in the window has one fingerprint; or
        /// `request_match` while other connections of the client whose requests the front
        /// side cannot see (TLS) were open, all with the matched SYN's fingerprint.
        Probable => "probable",
        /// As `probable`, but the candidate SYNs carry several fingerprints (NAT).
        Ambiguous => "ambiguous",
        /// No SYN joined.
        None => "none",
    }
}

crate::named_enum! {
    /// Why a join is less sure than its rule alone would make it (counted in the
    /// report's `join notes` section).
    pub enum JoinNote {
        /// `request_match` found the request on one front connection, but the client had
        /// other front connections whose requests are invisible (TLS, or bytes that did
        /// not parse as HTTP): any of them could have carried it, so the row is not
        /// `certain`.
        InvisibleAlternatives => "invisible_alternatives",
        /// `ip_time` took a SYN after the clock-corrected request time (within the
        /// slack, [`clock_slack_ns`]).
        SynAfterRequest => "syn_after_request",
    }
}

/// The outcome of joining one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinOutcome {
    /// The rule that decided.
    pub method: JoinMethod,
    /// How sure it is.
    pub confidence: Confidence,
    /// The joined SYN, if any.
    pub syn: Option<FrontSyn>,
    /// Distinct fingerprints that could match (1 for a certain match, 0 for none).
    pub candidates: u32,
    /// Back request time (clock-corrected) - front SYN time.
    pub delta_ns: Option<i64>,
    /// Why the row is less sure than its rule alone would make it.
    pub note: Option<JoinNote>,
}

impl JoinOutcome {
    fn none(method: JoinMethod) -> Self {
        JoinOutcome {
            method,
            confidence: Confidence::None,
            syn: None,
            candidates: 0,
            delta_ns: None,
            note: None,
        }
    }
}

/// Distinct signatures of `syns` (the last [`MAX_CANDIDATE_SCAN`]) and `first`.
fn distinct_sigs<'a>(first: Option<u32>, syns: impl Iterator<Item = &'a FrontSyn>) -> u32 {
    let mut sigs: Vec<u32> = first.into_iter().collect();
    for s in syns.take(MAX_CANDIDATE_SCAN) {
        if !sigs.contains(&s.sig) {
            sigs.push(s.sig);
        }
    }
    u32::try_from(sigs.len()).unwrap_or(u32::MAX)
}

fn by_sigs(n: u32) -> Confidence {
    if n > 1 {
        Confidence::Ambiguous
    } else {
        Confidence::Probable
    }
}

/// Joins back-side rows against a [`FrontIndex`] with a known clock offset.
pub struct Joiner<'i, 'db> {
    /// The front side.
    pub index: &'i FrontIndex<'db>,
    /// back time = front time + offset.
    pub offset_ns: i64,
    /// How far back a SYN may be (`--window`).
    pub window_ns: i64,
    /// How far back a matching front request may be (`--match-window`).
    pub match_window_ns: i64,
    /// How far after the corrected request time an `ip_time` SYN (or another connection
    /// that could have carried a `request_match`) may be ([`clock_slack_ns`]).
    pub slack_ns: i64,
}

impl Joiner<'_, '_> {
    /// Apply the rules to one back-side request.
    pub fn join(&self, r: &RequestRow) -> JoinOutcome {
        let Some(client) = r.client_ip else {
            return JoinOutcome::none(JoinMethod::NoIdentity);
        };
        let Some(ip) = self.index.ip_id(client) else {
            return JoinOutcome::none(JoinMethod::None);
        };
        let t = r.ts_ns.saturating_sub(self.offset_ns);
        // The rules that name one connection look up to the ceiling past the corrected
        // time (a port or a request seen twice that close is the same); `ip_time` and
        // the alternatives of a `request_match` only up to the slack.
        let lo = t.saturating_sub(self.window_ns);
        let hi = t.saturating_add(CLOCK_SLACK_CEILING_NS);
        let near = t.saturating_add(self.slack_ns);
        let transparent = r.identity_source == Some(IdentitySource::Transparent);
        let certain = |method, s: &FrontSyn| JoinOutcome {
            method,
            confidence: Confidence::Certain,
            syn: Some(*s),
            candidates: 1,
            delta_ns: Some(t - s.ts_ns),
            note: None,
        };
        if let (Some(port), false) = (r.client_port, transparent) {
            if let (Some(s), _) = self.index.latest_port(ip, port, lo, hi) {
                return certain(JoinMethod::ExactPort, s);
            }
        }
        let reqs = self.index.requests_between(
            request_key(r),
            ip,
            t.saturating_sub(self.match_window_ns),
            hi,
        );
        if let Some(last) = reqs.last() {
            // Identical requests on several connections in the window: not certain.
            if reqs.iter().all(|q| q.port == last.port) {
                let lo = last.ts_ns.saturating_sub(self.window_ns);
                if let (Some(s), _) = self.index.latest_port(ip, last.port, lo, last.ts_ns) {
                    return self.request_match(s, ip, t, near);
                }
            }
        }
        if transparent {
            if let (Some(s), _) = self.index.latest_port(ip, r.src_port, lo, hi) {
                return certain(JoinMethod::Transparent, s);
            }
        }
        let syns = self.index.syns_between(ip, lo, near);
        let Some(pick) = syns.last() else {
            return JoinOutcome::none(JoinMethod::None);
        };
        let note = (pick.ts_ns > t).then_some(JoinNote::SynAfterRequest);
        let n = distinct_sigs(None, syns.iter().rev());
        JoinOutcome {
            method: JoinMethod::IpTime,
            confidence: by_sigs(n),
            syn: Some(*pick),
            candidates: n,
            delta_ns: Some(t - pick.ts_ns),
            note,
        }
    }

    /// `request_match` found SYN `s`: certain unless another front connection of the
    /// client whose requests are invisible was opened in the window (up to `hi`) and not
    /// over before the match window: the front side cannot tell that it did not carry
    /// the same request.
    fn request_match(&self, s: &FrontSyn, ip: u32, t: i64, hi: i64) -> JoinOutcome {
        let lo = t.saturating_sub(self.window_ns);
        let others = self
            .index
            .syns_between(ip, lo, hi)
            .iter()
            .rev()
            // A connection over before the front request can have come (the match
            // window) carried none of it.
            .filter(|o| {
                !o.requests_seen
                    && o.detail != s.detail
                    && self
                        .index
                        .open_at(o, t.saturating_sub(self.match_window_ns))
            });
        let n = distinct_sigs(Some(s.sig), others.clone());
        let alternatives = others.clone().next().is_some();
        JoinOutcome {
            method: JoinMethod::RequestMatch,
            confidence: if alternatives {
                by_sigs(n)
            } else {
                Confidence::Certain
            },
            syn: Some(*s),
            candidates: n,
            delta_ns: Some(t - s.ts_ns),
            note: alternatives.then_some(JoinNote::InvisibleAlternatives),
        }
    }
}
