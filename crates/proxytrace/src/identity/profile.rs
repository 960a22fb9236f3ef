//! Per-proxy identity profiles: which identity sources one proxy writes on the requests it
//! forwards to one backend, learned from the capture itself.
//!
//! A header the proxy writes (HAProxy `option forwardfor`, `set-header X-Client-IP`, nginx
//! `proxy_set_header X-Real-IP`) is on every request the proxy forwards on that pair; a
//! header a client sent is on that client's requests only. So a source present on at least
//! [`WRITTEN_PERCENT`] of a pair's counted requests (at least [`MIN_PROFILE_REQUESTS`] of
//! them) is taken as written by the proxy, and the client is chosen from the first such
//! source in precedence order. Requests that look like the proxy's own health checks (no
//! identity header and no User-Agent, as HAProxy's `option httpchk` sends) are counted
//! apart and do not dilute the shares. A PROXY preamble is written before any client byte:
//! it is taken as written when at least [`WRITTEN_PERCENT`] of the pair's connections
//! (SYNs seen) begin with one.
//!
//! The choice can be fooled only by a client that sends the same forged header on nearly
//! every request of the pair, that is, one that is nearly all of the pair's traffic; the
//! `proxies` report shows every share so an investigator can see it.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use super::source::IdentitySource;
use crate::collections::hashing::HashMap;

/// Fewest counted requests from which a pair's profile is decided.
pub const MIN_PROFILE_REQUESTS: u64 = 20;
/// Share (percent) of a pair's counted requests, or of its connections for the PROXY
/// preamble, a source must reach to count as written by the proxy.
pub const WRITTEN_PERCENT: u64 = 95;
/// Most proxy/backend pairs a profile table holds; requests of further pairs are counted
/// (`pairs_over_cap`) and their rows fall back to the default order.
pub const MAX_PAIRS: usize = 65_536;

/// One proxy talking to one backend service: the key of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ProxyPair {
    /// The back-side source address (the proxy).
    pub proxy: IpAddr,
    /// The backend address.
    pub backend: IpAddr,
    /// The backend port.
    pub backend_port: u16,
}

impl fmt::Display for ProxyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.backend {
            IpAddr::V4(b) => write!(f, "{} -> {}:{}", self.proxy, b, self.backend_port),
            IpAddr::V6(b) => write!(f, "{} -> [{}]:{}", self.proxy, b, self.backend_port),
        }
    }
}

/// How often one identity source was seen on a pair's counted requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SourceTally {
    /// The source.
    pub source: IdentitySource,
    /// Counted requests carrying it.
    pub present: u64,
    /// ... of which its chosen entry is an address in a special range.
    pub special: u64,
}

/// What one pair's requests and connections carried.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PairTally {
    /// Requests counted for the shares (health-check-like ones left out).
    pub requests: u64,
    /// Requests with no identity header and no User-Agent (proxy health checks).
    pub health_check_like: u64,
    /// Connections opened (SYNs from the proxy to the backend seen).
    pub connections: u64,
    /// Client streams that began with a PROXY preamble.
    pub preambles: u64,
    /// Per header source, in precedence order.
    pub sources: Vec<SourceTally>,
}

impl PairTally {
    /// Count one request carrying `sources` (each with whether the entry it names is in a
    /// special range). `user_agent`: whether the request has a User-Agent header.
    pub fn add_request(&mut self, sources: &[(IdentitySource, bool)], user_agent: bool) {
        if sources.is_empty() && !user_agent {
            self.health_check_like += 1;
            return;
        }
        self.requests += 1;
        for &(source, special) in sources {
            let t = match self.sources.binary_search_by(|t| t.source.cmp(&source)) {
                Ok(i) => &mut self.sources[i],
                Err(i) => {
                    self.sources.insert(
                        i,
                        SourceTally {
                            source,
                            present: 0,
                            special: 0,
                        },
                    );
                    &mut self.sources[i]
                }
            };
            t.present += 1;
            t.special += u64::from(special);
        }
    }

    /// Add another tally of the same pair.
    pub fn merge(&mut self, o: &PairTally) {
        self.requests += o.requests;
        self.health_check_like += o.health_check_like;
        self.connections += o.connections;
        self.preambles += o.preambles;
        for t in &o.sources {
            match self.sources.binary_search_by(|x| x.source.cmp(&t.source)) {
                Ok(i) => {
                    self.sources[i].present += t.present;
                    self.sources[i].special += t.special;
                }
                Err(i) => self.sources.insert(i, *t),
            }
        }
    }

    /// The tally of `source`, if it was seen.
    pub fn source(&self, source: IdentitySource) -> Option<&SourceTally> {
        self.sources.iter().find(|t| t.source == source)
    }
}

crate::named_enum! {
    /// Why a pair's profile is what it is.
    pub enum ProfileReason {
        /// The proxy writes the chosen source (and any other listed as written).
        Written => "written",
        /// Fewer than MIN_PROFILE_REQUESTS counted requests: no profile.
        TooFewRequests => "too_few_requests",
        /// No source on WRITTEN_PERCENT of the requests (and no PROXY preamble): no profile.
        NoSourceOnEveryRequest => "no_source_on_every_request",
    }
}

/// A pair's learned profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// What was counted.
    pub tally: PairTally,
    /// The sources the proxy writes, most present first, then in precedence order
    /// (empty: no profile).
    pub written: Vec<IdentitySource>,
    /// The source the client is chosen from (the first written one).
    pub chosen: Option<IdentitySource>,
    /// Why.
    pub reason: ProfileReason,
    /// Whether the proxy's front side faces the public Internet: most clients the chosen
    /// source names are outside the special ranges. `None` without a chosen header
    /// source (the PROXY preamble's addresses are not tallied here).
    pub front_public: Option<bool>,
}

impl Profile {
    /// Decide a pair's profile from its tally.
    pub fn decide(tally: PairTally) -> Profile {
        let written_share =
            |n: u64, of: u64| of > 0 && n.saturating_mul(100) >= of.saturating_mul(WRITTEN_PERCENT);
        let mut written = Vec::new();
        if tally.connections > 0 && written_share(tally.preambles, tally.connections) {
            written.push(IdentitySource::ProxyProtocol);
        }
        let enough = tally.requests >= MIN_PROFILE_REQUESTS;
        if enough {
            let mut headers: Vec<&SourceTally> = tally
                .sources
                .iter()
                .filter(|t| written_share(t.present, tally.requests))
                .collect();
            // The most present first (a proxy's own header is on every request; a forged
            // one reaches the threshold only if its sender is nearly all the traffic),
            // then precedence (the sort is stable).
            headers.sort_by_key(|t| std::cmp::Reverse(t.present));
            written.extend(headers.iter().map(|t| t.source));
        }
        let reason = if !written.is_empty() {
            ProfileReason::Written
        } else if !enough {
            ProfileReason::TooFewRequests
        } else {
            ProfileReason::NoSourceOnEveryRequest
        };
        let chosen = written.first().copied();
        let front_public = written
            .iter()
            .find_map(|&s| tally.source(s))
            .map(|t| t.special.saturating_mul(2) < t.present);
        Profile {
            tally,
            written,
            chosen,
            reason,
            front_public,
        }
    }

    /// One line saying why, for the report and the `proxies` rows: the shares of the
    /// written sources, or what was missing.
    pub fn explain(&self) -> String {
        let pct = |n: u64, of: u64| {
            if of == 0 {
                0.0
            } else {
                n as f64 * 100.0 / of as f64
            }
        };
        let t = &self.tally;
        match self.reason {
            ProfileReason::Written => {
                let mut parts = Vec::new();
                for s in &self.written {
                    if *s == IdentitySource::ProxyProtocol {
                        parts.push(format!(
                            "proxy_protocol on {:.1}% of {} connections",
                            pct(t.preambles, t.connections),
                            t.connections
                        ));
                    } else if let Some(x) = t.source(*s) {
                        parts.push(format!(
                            "{} on {:.1}% of {} requests",
                            s,
                            pct(x.present, t.requests),
                            t.requests
                        ));
                    }
                }
                format!("written by the proxy: {}", parts.join(", "))
            }
            ProfileReason::TooFewRequests => {
                let plural = if t.requests == 1 { "" } else { "s" };
                format!(
                    "{} request{plural}, fewer than {MIN_PROFILE_REQUESTS}",
                    t.requests
                )
            }
            ProfileReason::NoSourceOnEveryRequest => {
                match t.sources.iter().max_by_key(|x| x.present) {
                    Some(best) => format!(
                        "no source on {WRITTEN_PERCENT}% of {} requests (most: {} on {:.1}%)",
                        t.requests,
                        best.source,
                        pct(best.present, t.requests)
                    ),
                    None => format!("no identity source on {} requests", t.requests),
                }
            }
        }
    }
}

/// Tallies per pair while learning; profiles once decided.
#[derive(Debug, Clone, Default)]
pub struct ProfileTable {
    tallies: HashMap<ProxyPair, PairTally>,
    profiles: HashMap<ProxyPair, Profile>,
    /// Observations of pairs beyond [`MAX_PAIRS`], not tallied.
    pub pairs_over_cap: u64,
}

impl ProfileTable {
    /// The tally of `pair`, created if the table has room.
    pub fn tally_mut(&mut self, pair: ProxyPair) -> Option<&mut PairTally> {
        if !self.tallies.contains_key(&pair) && self.tallies.len() >= MAX_PAIRS {
            self.pairs_over_cap += 1;
            return None;
        }
        Some(self.tallies.entry(pair).or_default())
    }

    /// Add the tallies of another table (a chunk's), pair by pair.
    pub fn merge(&mut self, o: &ProfileTable) {
        self.pairs_over_cap += o.pairs_over_cap;
        let mut pairs: Vec<_> = o.tallies.iter().collect();
        // Sorted, so which pairs a full table keeps does not depend on the map's seed.
        pairs.sort_unstable_by_key(|(k, _)| **k);
        for (k, t) in pairs {
            if let Some(mine) = self.tally_mut(*k) {
                mine.merge(t);
            }
        }
    }

    /// Decide every pair's profile from its tally (tallies then move into the profiles).
    pub fn decide(&mut self) {
        for (k, t) in self.tallies.drain() {
            self.profiles.insert(k, Profile::decide(t));
        }
    }

    /// The decided profile of `pair`.
    pub fn profile(&self, pair: &ProxyPair) -> Option<&Profile> {
        self.profiles.get(pair)
    }

    /// Every decided profile, by pair.
    pub fn profiles(&self) -> Vec<(ProxyPair, &Profile)> {
        let mut v: Vec<_> = self.profiles.iter().map(|(k, p)| (*k, p)).collect();
        v.sort_unstable_by_key(|(k, _)| *k);
        v
    }

    /// Pairs decided so far.
    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    /// No pair decided.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IdentitySource::*;

    fn tally(requests: &[(&[IdentitySource], u64)]) -> PairTally {
        let mut t = PairTally::default();
        for (sources, n) in requests {
            let with: Vec<_> = sources.iter().map(|&s| (s, false)).collect();
            for _ in 0..*n {
                t.add_request(&with, true);
            }
        }
        t
    }

    #[test]
    fn the_header_on_every_request_is_written_a_forged_one_is_not() {
        // HAProxy `option forwardfor`; 6 of 100 clients add a Forwarded of their own.
        let p = Profile::decide(tally(&[
            (&[XForwardedFor], 94),
            (&[Forwarded, XForwardedFor], 6),
        ]));
        assert_eq!(p.written, vec![XForwardedFor]);
        assert_eq!(p.chosen, Some(XForwardedFor));
        assert_eq!(p.reason, ProfileReason::Written);
        assert_eq!(p.front_public, Some(true));
    }

    #[test]
    fn several_written_sources_choose_by_precedence() {
        // nginx: X-Real-IP, XFF and Forwarded on every request.
        let p = Profile::decide(tally(&[(&[Forwarded, XForwardedFor, XRealIp], 30)]));
        assert_eq!(p.written, vec![Forwarded, XForwardedFor, XRealIp]);
        assert_eq!(p.chosen, Some(Forwarded));
    }

    #[test]
    fn a_forged_header_on_nearly_every_request_does_not_outrank_the_proxys() {
        // One client is 96 % of the pair's traffic and always sends Forwarded; HAProxy
        // appends XFF to all of it.
        let p = Profile::decide(tally(&[
            (&[Forwarded, XForwardedFor], 96),
            (&[XForwardedFor], 4),
        ]));
        assert_eq!(p.written, vec![XForwardedFor, Forwarded]);
        assert_eq!(p.chosen, Some(XForwardedFor));
    }

    #[test]
    fn health_checks_do_not_dilute_and_few_requests_decide_nothing() {
        let mut t = tally(&[(&[XClientIp], 20)]);
        for _ in 0..500 {
            t.add_request(&[], false);
        }
        let p = Profile::decide(t);
        assert_eq!(p.tally.health_check_like, 500);
        assert_eq!(p.chosen, Some(XClientIp));
        let p = Profile::decide(tally(&[(&[XClientIp], 19)]));
        assert_eq!((p.chosen, p.reason), (None, ProfileReason::TooFewRequests));
        // Requests with a User-Agent and no identity header do count: a header on 90 %
        // of them is not written by the proxy.
        let p = Profile::decide(tally(&[(&[XRealIp], 90), (&[], 10)]));
        assert_eq!(
            (p.chosen, p.reason),
            (None, ProfileReason::NoSourceOnEveryRequest)
        );
        assert!(
            p.explain().contains("x_real_ip on 90.0%"),
            "{}",
            p.explain()
        );
    }

    #[test]
    fn preamble_on_every_connection_is_written_whatever_the_request_count() {
        let mut t = tally(&[(&[XForwardedFor], 3)]);
        t.connections = 4;
        t.preambles = 4;
        let p = Profile::decide(t);
        assert_eq!(p.written, vec![ProxyProtocol]);
        assert_eq!(p.chosen, Some(ProxyProtocol));
        assert!(p
            .explain()
            .contains("proxy_protocol on 100.0% of 4 connections"));
    }

    #[test]
    fn the_share_threshold_is_inclusive() {
        let p = Profile::decide(tally(&[(&[XRealIp], 95), (&[XForwardedFor], 5)]));
        assert_eq!(p.chosen, Some(XRealIp));
        let p = Profile::decide(tally(&[(&[XRealIp], 94), (&[XForwardedFor], 6)]));
        assert_eq!(p.chosen, None);
    }

    #[test]
    fn front_side_is_public_when_most_chosen_clients_are() {
        let mut t = PairTally::default();
        for i in 0..30 {
            t.add_request(&[(XForwardedFor, i % 3 == 0)], true);
        }
        assert_eq!(Profile::decide(t.clone()).front_public, Some(true));
        for _ in 0..30 {
            t.add_request(&[(XForwardedFor, true)], true);
        }
        assert_eq!(Profile::decide(t).front_public, Some(false));
    }

    #[test]
    fn the_table_is_capped_and_merges_in_pair_order() {
        let pair = |i: u32| ProxyPair {
            proxy: IpAddr::from(std::net::Ipv4Addr::from(i)),
            backend: IpAddr::from([10, 0, 0, 1]),
            backend_port: 80,
        };
        let mut a = ProfileTable::default();
        for i in 0..MAX_PAIRS as u32 {
            a.tally_mut(pair(i)).unwrap().requests += 1;
        }
        assert!(a.tally_mut(pair(u32::MAX)).is_none());
        assert_eq!(a.pairs_over_cap, 1);
        let mut b = ProfileTable::default();
        b.tally_mut(pair(0)).unwrap().requests += 2;
        a.merge(&b);
        a.decide();
        assert_eq!(a.profile(&pair(0)).unwrap().tally.requests, 3);
        assert_eq!(a.len(), MAX_PAIRS);
    }
}
