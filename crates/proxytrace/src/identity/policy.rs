//! Client selection: which entry of which source names the client, and what makes a
//! request look spoofed. Everything user-tunable about the choice (trusted networks today,
//! per-proxy profiles later) lives beside this file; the chain model below it never knows.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use serde::Serialize;

use super::chain::{parse_chain, Chain, ChainEntry, EntryForm, EntryKind};
use super::forwarded::{parse_forwarded, Forwarded};
use super::ranges::special_range;
use super::source::{
    AnomalyKind, IdentityAnomaly, IdentitySource, P0fField, P0fKey, SpoofKind, SpoofReason,
};
use crate::http1::head::{HeaderKind, RequestHead};

/// One identity source and its chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceChain<'a> {
    /// Which source.
    pub source: IdentitySource,
    /// Its entries, in order.
    pub chain: Chain<'a>,
    /// Index in `chain.entries` of the client this source names, if any.
    pub selected: Option<usize>,
    /// Every address in the chain is a trusted proxy.
    pub all_trusted: bool,
}

impl<'a> SourceChain<'a> {
    /// The entry naming the client, if any.
    pub fn selected_entry(&self) -> Option<&ChainEntry<'a>> {
        self.selected.and_then(|i| self.chain.entries.get(i))
    }
}

/// Everything known about the client of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Identity<'a> {
    /// PROXY protocol source address, if any.
    pub proxy_src: Option<SocketAddr>,
    /// Header sources present, in precedence order.
    pub sources: Vec<SourceChain<'a>>,
    /// Parsed Forwarded headers (by=, proto=, host= live here).
    pub forwarded: Option<Forwarded<'a>>,
    /// The client chosen (IPv4-mapped addresses as IPv4).
    pub client_ip: Option<IpAddr>,
    /// The client's port, when its source gives one.
    pub client_port: Option<u16>,
    /// The source the client was chosen from.
    pub identity_source: Option<IdentitySource>,
    /// Whether any spoof reason was found.
    pub spoof_suspect: bool,
    /// Why the request looks spoofed, in a fixed order.
    pub spoof_reasons: Vec<SpoofReason>,
    /// Oddities in the identity values.
    pub anomalies: Vec<IdentityAnomaly>,
    /// The p0f SPOE header fields, in order.
    pub p0f: Vec<P0fField<'a>>,
    /// How the client was chosen.
    pub basis: IdentityBasis,
}

impl<'a> Identity<'a> {
    /// The chain of source `s`, if the request has it.
    pub fn source(&self, s: IdentitySource) -> Option<&SourceChain<'a>> {
        self.sources.iter().find(|c| c.source == s)
    }

    /// CSV form of the spoof reasons, joined with `|`.
    pub fn spoof_reasons_string(&self) -> String {
        join(self.spoof_reasons.iter())
    }

    /// CSV form of the anomalies, joined with `|`.
    pub fn anomalies_string(&self) -> String {
        join(self.anomalies.iter())
    }

    /// CSV form of the p0f fields: `name=value` joined with `|`, names as written.
    pub fn p0f_string(&self) -> String {
        join(self.p0f.iter().map(|f| {
            format!(
                "{}={}",
                String::from_utf8_lossy(f.name),
                String::from_utf8_lossy(f.value)
            )
        }))
    }
}

fn join<T: fmt::Display>(it: impl Iterator<Item = T>) -> String {
    let mut s = String::new();
    for (i, x) in it.enumerate() {
        if i > 0 {
            s.push('|');
        }
        s.push_str(&x.to_string());
    }
    s
}

crate::named_enum! {
    /// How a request's client was chosen (the `identity_basis` column).
    #[derive(Default)]
    pub enum IdentityBasis {
        /// From the sources the user named (`--identity-header`, `--transparent`).
        Configured => "configured",
        /// From the sources the proxy writes on this proxy/backend pair, learned from the
        /// capture ([`super::profile`]).
        Profile => "profile",
        /// No profile for the pair: the fixed precedence order of [`IdentitySource`].
        #[default]
        DefaultOrder => "default_order",
    }
}

/// How to choose the client of one request.
#[derive(Debug, Clone, Copy)]
pub struct ChoicePolicy<'a> {
    /// Trusted proxy networks, skipped when walking a chain from the right.
    pub trusted: &'a [IpNet],
    /// How the sources below were decided.
    pub basis: IdentityBasis,
    /// The sources the proxy writes (profile) or the user named (configured), in the
    /// order to try; empty for the default order. A PROXY preamble, written before any
    /// client byte, is always tried first.
    pub sources: &'a [IdentitySource],
    /// The proxy's front side is public: a client in a special range is flagged.
    pub front_public: bool,
}

impl<'a> ChoicePolicy<'a> {
    /// The fixed precedence order, no profile.
    pub fn default_order(trusted: &'a [IpNet]) -> ChoicePolicy<'a> {
        ChoicePolicy {
            trusted,
            basis: IdentityBasis::DefaultOrder,
            sources: &[],
            front_public: false,
        }
    }
}

/// IPv4-mapped IPv6 addresses compare and match as IPv4.
fn canon(a: IpAddr) -> IpAddr {
    a.to_canonical()
}

/// Whether `a` lies in one of the trusted networks.
pub fn is_trusted(a: IpAddr, trusted: &[IpNet]) -> bool {
    let c = canon(a);
    trusted.iter().any(|n| n.contains(&c) || n.contains(&a))
}

/// Publicly routable unicast, as far as the spoofing heuristic cares: private, loopback,
/// link-local, CGNAT, unspecified, multicast, broadcast, 0/8, 240/4, ULA and site-local are
/// not. Documentation ranges count as public: they are not internal networks.
pub fn is_public(a: IpAddr) -> bool {
    match canon(a) {
        IpAddr::V4(v) => {
            let o = v.octets();
            !(v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || v.is_unspecified()
                || v.is_multicast()
                || v.is_broadcast()
                || o[0] == 0
                || o[0] >= 240
                || (o[0] == 100 && (o[1] & 0xc0) == 64))
        }
        IpAddr::V6(v) => {
            let s = v.segments();
            !(v.is_loopback()
                || v.is_unspecified()
                || v.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0)
        }
    }
}

/// Client selection within one chain.
///
/// Without a trusted list: the rightmost address. The leftmost entries are written by the
/// client and can say anything; the rightmost entry is what the proxy nearest to us saw as
/// its peer, the only hop we can believe without knowing the proxies.
///
/// With a trusted list (nginx `real_ip_recursive`): walk from the right skipping trusted
/// proxies; the first untrusted hop is the client. If that hop is not an address
/// (`unknown`, obfuscated, garbage) there is no client: skipping it would hand the choice
/// to the client. If every address is trusted, the leftmost one is taken (as nginx does).
/// Returns (index, all_trusted).
pub fn select_client(chain: &Chain<'_>, trusted: &[IpNet]) -> (Option<usize>, bool) {
    if trusted.is_empty() {
        let i = chain.entries.iter().rposition(|e| e.addr.is_some());
        return (i, false);
    }
    let mut leftmost_trusted = None;
    for (i, e) in chain.entries.iter().enumerate().rev() {
        match e.addr {
            Some(a) if is_trusted(a, trusted) => leftmost_trusted = Some(i),
            Some(_) => return (Some(i), false),
            None => return (None, false),
        }
    }
    (leftmost_trusted, leftmost_trusted.is_some())
}

/// Build the identity of a request from its head (if any) and the PROXY protocol source
/// (if any) in the fixed precedence order. `trusted` lists the trusted proxy networks (may
/// be empty).
pub fn extract_identity<'a>(
    head: Option<&RequestHead<'a>>,
    proxy_src: Option<SocketAddr>,
    trusted: &[IpNet],
) -> Identity<'a> {
    extract_identity_with(head, proxy_src, &ChoicePolicy::default_order(trusted))
}

/// Build the identity of a request as `policy` says: from the sources the proxy writes or
/// the user named, else in the fixed precedence order.
pub fn extract_identity_with<'a>(
    head: Option<&RequestHead<'a>>,
    proxy_src: Option<SocketAddr>,
    policy: &ChoicePolicy<'_>,
) -> Identity<'a> {
    let trusted = policy.trusted;
    let mut id = Identity {
        proxy_src,
        basis: policy.basis,
        ..Identity::default()
    };
    if proxy_src.is_some_and(|p| canon(p.ip()) != p.ip()) {
        id.anomalies.push(IdentityAnomaly::new(
            AnomalyKind::Ipv4MappedIpv6,
            IdentitySource::ProxyProtocol,
        ));
    }
    if let Some(head) = head {
        read_sources(head, trusted, &mut id);
    }
    let proxy_trusted = proxy_src.is_some_and(|p| is_trusted(p.ip(), trusted));
    let mut reasons = if policy.basis == IdentityBasis::DefaultOrder {
        choose_client(&mut id, proxy_trusted, None);
        source_disagreements(&id, proxy_trusted)
    } else {
        choose_client(&mut id, proxy_trusted, Some(policy.sources));
        client_sent(&id, trusted)
    };
    reasons.append(&mut id.spoof_reasons);
    if let Some(a) = special_range_client(&id, policy.front_public) {
        id.anomalies.push(a);
    }
    id.spoof_reasons = reasons;
    id.spoof_suspect = !id.spoof_reasons.is_empty();
    id
}

/// With a known source (profile or configured): every other source naming another address
/// than the chosen client, and entries left of the chosen one in its chain naming another
/// untrusted address, were written by the client (the proxy only passed them on).
fn client_sent(id: &Identity<'_>, trusted: &[IpNet]) -> Vec<SpoofReason> {
    let mut reasons = Vec::new();
    let Some(client) = id.client_ip.map(canon) else {
        return reasons;
    };
    let differs = |a: IpAddr| canon(a) != client && !is_trusted(a, trusted);
    for s in &id.sources {
        let forged = if Some(s.source) == id.identity_source {
            let left = s.selected.unwrap_or(0);
            s.chain.entries[..left]
                .iter()
                .any(|e| e.addr.is_some_and(differs))
        } else {
            s.selected_entry().and_then(|e| e.addr).is_some_and(differs)
        };
        if forged {
            reasons.push(SpoofReason::in_source(SpoofKind::ClientSent, s.source));
        }
    }
    reasons
}

/// A chosen client in a special range behind a public front side, or with a public address
/// left of it in its own chain (`X-Forwarded-For: 6.6.6.6, 10.1.2.3`): an internal hop or
/// a value the client wrote, not a client that connected from the Internet.
fn special_range_client(id: &Identity<'_>, front_public: bool) -> Option<IdentityAnomaly> {
    let client = id.client_ip?;
    let source = id.identity_source?;
    special_range(client)?;
    let public_left = id.source(source).is_some_and(|c| {
        let left = c.selected.unwrap_or(0);
        c.chain.entries[..left]
            .iter()
            .any(|e| e.addr.is_some_and(|a| special_range(a).is_none()))
    });
    (front_public || public_left)
        .then(|| IdentityAnomaly::new(AnomalyKind::SpecialRangeClient, source))
}

/// Parse every identity source of `head` into `id.sources` (precedence order, each
/// gathering all its header lines in order), the p0f fields into `id.p0f`, and flag what
/// each chain holds that is odd.
fn read_sources<'a>(head: &RequestHead<'a>, trusted: &[IpNet], id: &mut Identity<'a>) {
    let mut kinds: Vec<HeaderKind> = Vec::new();
    for f in &head.identity {
        if f.kind == HeaderKind::P0f {
            let suffix = f.name.get(6..).unwrap_or_default();
            id.p0f.push(P0fField {
                key: P0fKey::from_suffix(suffix),
                name: f.name,
                value: f.value,
            });
        } else if !kinds.contains(&f.kind) {
            kinds.push(f.kind);
        }
    }
    let mut sources: Vec<IdentitySource> = kinds.iter().filter_map(|&k| source_of(k)).collect();
    sources.sort();
    for s in sources {
        let chain = if s == IdentitySource::Forwarded {
            let fw = parse_forwarded(head.fields(HeaderKind::Forwarded).map(|f| f.value));
            let c = fw.chain.clone();
            id.forwarded = Some(fw);
            c
        } else {
            parse_chain(
                head.identity
                    .iter()
                    .filter(|f| source_of(f.kind) == Some(s))
                    .map(|f| f.value),
            )
        };
        let (selected, all_trusted) = select_client(&chain, trusted);
        note_chain_oddities(s, &chain, selected, trusted, id);
        id.sources.push(SourceChain {
            source: s,
            chain,
            selected,
            all_trusted,
        });
    }
}

/// The anomalies and the private-left-of-public spoof reason of one source's chain.
fn note_chain_oddities(
    s: IdentitySource,
    chain: &Chain<'_>,
    selected: Option<usize>,
    trusted: &[IpNet],
    id: &mut Identity<'_>,
) {
    let mut nonpublic_seen = false;
    let mut private_left = false;
    for e in &chain.entries {
        for (bit, kind) in FORM_ANOMALIES {
            if e.form.contains(bit) {
                push_unique(&mut id.anomalies, IdentityAnomaly::new(kind, s));
            }
        }
        match e.addr {
            Some(a) if is_public(a) => private_left |= nonpublic_seen,
            Some(_) => nonpublic_seen = true,
            None => {
                if e.form.contains(EntryForm::LEADING_ZERO_IPV4) {
                    // Flagged above: readings differ, kept raw.
                } else if e.kind == EntryKind::Invalid {
                    push_unique(
                        &mut id.anomalies,
                        IdentityAnomaly::new(AnomalyKind::InvalidEntry, s),
                    );
                }
            }
        }
    }
    if private_left {
        id.spoof_reasons
            .push(SpoofReason::in_source(SpoofKind::PrivateLeftOfPublic, s));
    }
    if chain.dropped_left > 0 {
        id.anomalies
            .push(IdentityAnomaly::new(AnomalyKind::ChainCapped, s));
    }
    if selected.is_none() && !trusted.is_empty() {
        let first_untrusted_not_addr = chain
            .entries
            .iter()
            .rev()
            .find(|e| !e.addr.is_some_and(|a| is_trusted(a, trusted)))
            .is_some_and(|e| e.addr.is_none());
        if first_untrusted_not_addr {
            id.anomalies.push(IdentityAnomaly::new(
                AnomalyKind::UntrustedHopNotAnAddress,
                s,
            ));
        }
    }
}

/// The entry forms that raise an anomaly, with the anomaly (of the same name).
const FORM_ANOMALIES: [(u8, AnomalyKind); 4] = [
    (EntryForm::LEADING_ZERO_IPV4, AnomalyKind::LeadingZeroIpv4),
    (EntryForm::IPV4_MAPPED_IPV6, AnomalyKind::Ipv4MappedIpv6),
    (
        EntryForm::UNBRACKETED_IPV6_PORT,
        AnomalyKind::UnbracketedIpv6Port,
    ),
    (
        EntryForm::AMBIGUOUS_IPV6_PORT,
        AnomalyKind::AmbiguousIpv6Port,
    ),
];

/// Set the client: the first source in precedence order (PROXY, then the header sources
/// as sorted, or only `known` ones in their order when the proxy's sources are known)
/// naming an untrusted client; failing that, the first naming any address (all hops
/// trusted). With `known` sources none of which is on the request, there is no client:
/// the remaining sources are the client's own words.
fn choose_client(id: &mut Identity<'_>, proxy_trusted: bool, known: Option<&[IdentitySource]>) {
    let mut candidates: Vec<(IdentitySource, IpAddr, Option<u16>, bool)> = Vec::new();
    if let Some(p) = id.proxy_src {
        candidates.push((
            IdentitySource::ProxyProtocol,
            p.ip(),
            Some(p.port()),
            proxy_trusted,
        ));
    }
    let mut push = |s: &SourceChain<'_>| {
        if let Some(e) = s.selected_entry() {
            if let Some(a) = e.addr {
                candidates.push((s.source, a, e.port, s.all_trusted));
            }
        }
    };
    match known {
        None => id.sources.iter().for_each(&mut push),
        Some(known) => {
            for k in known {
                if let Some(s) = id.sources.iter().find(|s| s.source == *k) {
                    push(s);
                }
            }
            let present = |k: &IdentitySource| {
                *k == IdentitySource::ProxyProtocol && id.proxy_src.is_some()
                    || id.source(*k).is_some()
            };
            match known.first() {
                Some(&first) if !known.iter().any(present) => id.anomalies.push(
                    IdentityAnomaly::new(AnomalyKind::IdentitySourceAbsent, first),
                ),
                _ => {}
            }
        }
    }
    let pick = candidates
        .iter()
        .find(|c| !c.3)
        .or_else(|| candidates.first());
    if let Some(&(src, ip, port, _)) = pick {
        // A mapped PROXY v2 IPv6 source is the IPv4 client (header entries already are).
        id.client_ip = Some(canon(ip));
        id.client_port = port;
        id.identity_source = Some(src);
    }
}

/// Disagreements between sources: an untrusted PROXY source against the XFF and
/// Forwarded clients, and XFF against X-Real-IP.
fn source_disagreements(id: &Identity<'_>, proxy_trusted: bool) -> Vec<SpoofReason> {
    let selected_ip = |s: IdentitySource| {
        id.source(s)
            .and_then(|c| c.selected_entry())
            .and_then(|e| e.addr)
            .map(canon)
    };
    let xff = selected_ip(IdentitySource::XForwardedFor);
    let fwd = selected_ip(IdentitySource::Forwarded);
    let real = selected_ip(IdentitySource::XRealIp);
    let mut reasons = Vec::new();
    if let Some(p) = id
        .proxy_src
        .filter(|_| !proxy_trusted)
        .map(|p| canon(p.ip()))
    {
        if xff.is_some_and(|x| x != p) {
            reasons.push(SpoofReason::of(SpoofKind::ProxyVsXff));
        }
        if fwd.is_some_and(|x| x != p) {
            reasons.push(SpoofReason::of(SpoofKind::ProxyVsForwarded));
        }
    }
    if let (Some(x), Some(r)) = (xff, real) {
        if x != r {
            reasons.push(SpoofReason::of(SpoofKind::XffVsRealIp));
        }
    }
    reasons
}

/// The identity source a header kind feeds (none for the p0f headers).
pub fn source_of(k: HeaderKind) -> Option<IdentitySource> {
    Some(match k {
        HeaderKind::XForwardedFor => IdentitySource::XForwardedFor,
        HeaderKind::Forwarded => IdentitySource::Forwarded,
        HeaderKind::XRealIp => IdentitySource::XRealIp,
        HeaderKind::XClientIp => IdentitySource::XClientIp,
        HeaderKind::TrueClientIp => IdentitySource::TrueClientIp,
        HeaderKind::CfConnectingIp => IdentitySource::CfConnectingIp,
        HeaderKind::Custom(i) => IdentitySource::Custom(i),
        HeaderKind::P0f => return None,
    })
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}
