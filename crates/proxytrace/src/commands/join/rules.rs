//! The join rules, strongest first, and how sure each makes the row.

use super::index::{request_key, FrontIndex, FrontSyn};
use crate::extract::requests::RequestRow;
use crate::identity::IdentitySource;

/// A SYN may look up to this much later than the request it carried after clock
/// correction: the median estimate includes the proxy's forwarding delay, so corrected
/// back times run early by milliseconds. The latest SYN up to this slack is taken (on a
/// 2 GB generated pair, preferring SYNs before the corrected time made 266 ip_time rows
/// wrong instead of 13).
pub const CLOCK_SLACK_NS: i64 = 100_000_000;
/// `ip_time` counts fingerprints over at most this many SYNs (the latest) of one IP, so a
/// busy NAT address costs bounded work per request.
pub const MAX_CANDIDATE_SCAN: usize = 10_000;

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
        /// `ip_time`, and every SYN of the address in the window has one fingerprint.
        Probable => "probable",
        /// `ip_time`, and the address's SYNs in the window carry several (NAT).
        Ambiguous => "ambiguous",
        /// No SYN joined.
        None => "none",
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
}

impl JoinOutcome {
    fn none(method: JoinMethod) -> Self {
        JoinOutcome {
            method,
            confidence: Confidence::None,
            syn: None,
            candidates: 0,
            delta_ns: None,
        }
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
        let (lo, hi) = (t.saturating_sub(self.window_ns), t + CLOCK_SLACK_NS);
        let transparent = r.identity_source == Some(IdentitySource::Transparent);
        let certain = |method, s: &FrontSyn| JoinOutcome {
            method,
            confidence: Confidence::Certain,
            syn: Some(*s),
            candidates: 1,
            delta_ns: Some(t - s.ts_ns),
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
                    return certain(JoinMethod::RequestMatch, s);
                }
            }
        }
        if transparent {
            if let (Some(s), _) = self.index.latest_port(ip, r.src_port, lo, hi) {
                return certain(JoinMethod::Transparent, s);
            }
        }
        let syns = self.index.syns_between(ip, lo, hi);
        let Some(latest) = syns.last() else {
            return JoinOutcome::none(JoinMethod::None);
        };
        let scan = syns.get(syns.len().saturating_sub(MAX_CANDIDATE_SCAN)..);
        let mut sigs: Vec<u32> = Vec::new();
        for s in scan.unwrap_or(&[]) {
            if !sigs.contains(&s.sig) {
                sigs.push(s.sig);
            }
        }
        let n = u32::try_from(sigs.len()).unwrap_or(u32::MAX);
        JoinOutcome {
            method: JoinMethod::IpTime,
            confidence: if n > 1 {
                Confidence::Ambiguous
            } else {
                Confidence::Probable
            },
            syn: Some(*latest),
            candidates: n,
            delta_ns: Some(t - latest.ts_ns),
        }
    }
}
