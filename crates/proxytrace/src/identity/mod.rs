//! Client identities from a request head (and the PROXY protocol source address).
//!
//! Every address-bearing value becomes a typed chain of [`ChainEntry`]s that keeps the raw
//! bytes: an entry is only given an address when it parses unambiguously, so garbage and
//! obfuscated values are kept for the analyst and never turned into a wrong address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;
use serde::Serialize;

pub mod forwarded;

use self::forwarded::{parse_forwarded, Forwarded};
use crate::http1::head::{ser_bytes, ser_opt_bytes, trim_ws, HeaderKind, RequestHead};

/// Chain entries kept per source. The rightmost entries are kept (they are the ones
/// written by the proxies nearest to us and decide the client); the dropped leftmost
/// entries are client-written and only counted.
pub const MAX_CHAIN_ENTRIES: usize = 256;

/// What a chain entry turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// An IPv4 or IPv6 address (optionally with port and zone id).
    Ip,
    /// The literal `unknown` (RFC 7239 section 6.2, also used in XFF).
    Unknown,
    /// An RFC 7239 obfuscated identifier (`_hidden`).
    Obfuscated,
    /// Anything else, kept raw.
    Invalid,
}

/// One hop of an address chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChainEntry<'a> {
    /// The entry as written, outer whitespace and Forwarded quotes removed.
    #[serde(serialize_with = "ser_bytes")]
    pub raw: &'a [u8],
    pub addr: Option<IpAddr>,
    pub port: Option<u16>,
    /// IPv6 zone id after `%` (`fe80::1%eth0`), raw. `IpAddr` has no zone.
    #[serde(serialize_with = "ser_opt_bytes")]
    pub zone: Option<&'a [u8]>,
    pub kind: EntryKind,
    /// How the address was written, when that is worth a flag (not serialized: the
    /// row's flags carry it).
    #[serde(skip)]
    pub form: EntryForm,
}

/// Address spellings that were read but deserve a flag (a small bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EntryForm(pub u8);

impl EntryForm {
    /// An IPv4 literal with a leading-zero octet (see [`leading_zero_ipv4`]).
    pub const LEADING_ZERO_IPV4: u8 = 1 << 0;
    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`); `addr` holds the IPv4 address.
    pub const IPV4_MAPPED_IPV6: u8 = 1 << 1;
    /// `v6:port` without brackets (nginx `for="$remote_addr:$remote_port"`), split.
    pub const UNBRACKETED_IPV6_PORT: u8 = 1 << 2;
    /// `v6:nnnn` that is both a whole address and address:port; read as the address.
    pub const AMBIGUOUS_IPV6_PORT: u8 = 1 << 3;

    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
}

impl fmt::Display for ChainEntry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.raw))
    }
}

/// True for an IPv4 literal with a leading-zero octet (`10.000.000.03`).
pub fn is_leading_zero_ipv4(raw: &[u8]) -> bool {
    leading_zero_ipv4(raw).is_some()
}

/// An IPv4 literal with a leading-zero octet: `Some(Some(addr))` when its octal and
/// decimal readings agree, `Some(None)` when they differ, `None` when it is not such a
/// literal.
///
/// inet_aton() and many proxies read `010` as octal (8), others as decimal (10). When the
/// two readings give the same address (`10.000.000.03`: 10.0.0.3 either way) there is
/// nothing to guess and the address is read; when they differ (`010.0.0.1`: 8.0.0.1 or
/// 10.0.0.1), either may be the one the writer meant, so the entry is kept raw
/// ([`EntryKind::Invalid`]). Both are reported as [`IdentityAnomaly::LeadingZeroIpv4`].
pub fn leading_zero_ipv4(raw: &[u8]) -> Option<Option<Ipv4Addr>> {
    let mut octets = [0u8; 4];
    let mut parts = 0usize;
    let mut leading_zero = false;
    let mut agree = true;
    for part in raw.split(|&b| b == b'.') {
        if parts == 4 || part.is_empty() || part.len() > 4 || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let decimal = part.iter().fold(0u32, |v, &d| v * 10 + u32::from(d - b'0'));
        if part.len() > 1 && part[0] == b'0' {
            leading_zero = true;
            // Octal: every digit below 8 and the same value as the decimal reading. Both
            // hold only when the digits after the zeros are a single 0-7.
            let octal = part.iter().try_fold(0u32, |v, &d| {
                (d < b'8').then(|| v * 8 + u32::from(d - b'0'))
            });
            agree &= octal == Some(decimal);
        }
        match u8::try_from(decimal) {
            Ok(o) => octets[parts] = o,
            Err(_) => agree = false,
        }
        parts += 1;
    }
    (parts == 4 && leading_zero).then(|| agree.then(|| Ipv4Addr::from(octets)))
}

fn parse_port(p: &[u8], allow_obfuscated: bool) -> Result<Option<u16>, ()> {
    if allow_obfuscated && p.first() == Some(&b'_') && p.len() > 1 && is_obf_chars(&p[1..]) {
        return Ok(None);
    }
    if p.is_empty() || p.len() > 5 || !p.iter().all(u8::is_ascii_digit) {
        return Err(());
    }
    std::str::from_utf8(p)
        .ok()
        .and_then(|s| s.parse::<u16>().ok())
        .map(Some)
        .ok_or(())
}

fn is_obf_chars(b: &[u8]) -> bool {
    b.iter()
        .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

fn parse_v6_with_zone(b: &[u8]) -> Option<(Ipv6Addr, Option<&[u8]>)> {
    let (addr, zone) = match memchr::memchr(b'%', b) {
        Some(i) => {
            let zone = b.get(i + 1..).unwrap_or_default();
            if zone.is_empty() {
                return None;
            }
            (b.get(..i).unwrap_or_default(), Some(zone))
        }
        None => (b, None),
    };
    let a = std::str::from_utf8(addr).ok()?.parse::<Ipv6Addr>().ok()?;
    Some((a, zone))
}

fn parse_v4(b: &[u8]) -> Option<Ipv4Addr> {
    std::str::from_utf8(b).ok()?.parse::<Ipv4Addr>().ok()
}

/// An IPv4 literal, or a leading-zero one whose readings agree (flagged in `form`).
fn parse_v4_form(b: &[u8], form: &mut EntryForm) -> Option<Ipv4Addr> {
    if let Some(a) = parse_v4(b) {
        return Some(a);
    }
    let lz = leading_zero_ipv4(b)?;
    form.0 |= EntryForm::LEADING_ZERO_IPV4;
    lz
}

/// Sets `e.addr` to `a`, an IPv4-mapped IPv6 address becoming its IPv4 address (flagged):
/// the mapped form is how a dual-stack socket names an IPv4 peer, and the client is that
/// IPv4 host everywhere it is compared (filters, join, spoofing checks). `raw` keeps the
/// form as written.
fn set_v6(e: &mut ChainEntry<'_>, a: Ipv6Addr) {
    match a.to_ipv4_mapped() {
        Some(v4) => {
            e.addr = Some(IpAddr::V4(v4));
            e.form.0 |= EntryForm::IPV4_MAPPED_IPV6;
        }
        None => e.addr = Some(IpAddr::V6(a)),
    }
}

/// Parse one node/entry. `forwarded` selects the RFC 7239 node syntax: obfuscated ports
/// (`:_p1`) and nginx's unbracketed `v6:port` are read there.
pub(crate) fn parse_node(raw: &[u8], forwarded: bool) -> ChainEntry<'_> {
    let allow_obf_port = forwarded;
    let raw = trim_ws(raw);
    let mut e = ChainEntry {
        raw,
        addr: None,
        port: None,
        zone: None,
        kind: EntryKind::Invalid,
        form: EntryForm::default(),
    };
    if raw.eq_ignore_ascii_case(b"unknown") {
        e.kind = EntryKind::Unknown;
        return e;
    }
    if let Some(rest) = raw.strip_prefix(b"_") {
        if !rest.is_empty() && is_obf_chars(rest) {
            e.kind = EntryKind::Obfuscated;
        }
        return e;
    }
    if let Some(rest) = raw.strip_prefix(b"[") {
        // [v6], [v6]:port, [v6%zone]:port
        let Some(close) = memchr::memchr(b']', rest) else {
            return e;
        };
        let inner = rest.get(..close).unwrap_or_default();
        let after = rest.get(close + 1..).unwrap_or_default();
        let port = match after {
            [] => None,
            [b':', p @ ..] => match parse_port(p, allow_obf_port) {
                Ok(p) => p,
                Err(()) => return e,
            },
            _ => return e,
        };
        if let Some((a, zone)) = parse_v6_with_zone(inner) {
            set_v6(&mut e, a);
            e.zone = zone;
            e.port = port;
            e.kind = EntryKind::Ip;
        }
        return e;
    }
    match memchr::memchr_iter(b':', raw).count() {
        0 => {
            if let Some(a) = parse_v4_form(raw, &mut e.form) {
                e.addr = Some(IpAddr::V4(a));
                e.kind = EntryKind::Ip;
            }
        }
        1 => {
            // a.b.c.d:port. (Never a bare IPv6: those have at least two colons.)
            let i = memchr::memchr(b':', raw).unwrap_or(0);
            let host = raw.get(..i).unwrap_or_default();
            let p = raw.get(i + 1..).unwrap_or_default();
            let a = parse_v4_form(host, &mut e.form);
            if let (Some(a), Ok(port)) = (a, parse_port(p, allow_obf_port)) {
                e.addr = Some(IpAddr::V4(a));
                e.port = port;
                e.kind = EntryKind::Ip;
            }
        }
        _ => {
            // A bare IPv6 address, or (Forwarded only) nginx's `v6:port`.
            let whole = parse_v6_with_zone(raw);
            let split = if forwarded {
                split_unbracketed_port(raw)
            } else {
                None
            };
            match (whole, split) {
                (Some((a, zone)), split) => {
                    // `2001:db8::5:8080` is a whole address and also address:port. The
                    // whole address is taken (it is what the bytes spell without inventing
                    // a port); the flag says the port may have been folded in.
                    if split.is_some() {
                        e.form.0 |= EntryForm::AMBIGUOUS_IPV6_PORT;
                    }
                    set_v6(&mut e, a);
                    e.zone = zone;
                    e.kind = EntryKind::Ip;
                }
                (None, Some((a, zone, port))) => {
                    e.form.0 |= EntryForm::UNBRACKETED_IPV6_PORT;
                    set_v6(&mut e, a);
                    e.zone = zone;
                    e.port = Some(port);
                    e.kind = EntryKind::Ip;
                }
                (None, None) => {}
            }
        }
    }
    e
}

/// `v6:port` without brackets: a decimal port after the last colon and a valid IPv6
/// address before it.
fn split_unbracketed_port(raw: &[u8]) -> Option<(Ipv6Addr, Option<&[u8]>, u16)> {
    let i = memchr::memrchr(b':', raw)?;
    let port = match parse_port(raw.get(i + 1..)?, false) {
        Ok(Some(p)) => p,
        _ => return None,
    };
    let (a, zone) = parse_v6_with_zone(raw.get(..i)?)?;
    Some((a, zone, port))
}

/// Parse one X-Forwarded-For style entry (no obfuscated ports).
pub fn parse_entry(raw: &[u8]) -> ChainEntry<'_> {
    parse_node(raw, false)
}

/// An ordered address chain with bounded memory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Chain<'a> {
    /// The rightmost [`MAX_CHAIN_ENTRIES`] entries, left to right.
    pub entries: Vec<ChainEntry<'a>>,
    /// Leftmost entries dropped by the cap.
    pub dropped_left: usize,
    /// Empty entries (`a,,b`, trailing commas) skipped.
    pub empty_entries: usize,
}

impl<'a> Chain<'a> {
    /// Append keeping only the rightmost entries; amortised O(1), memory <= 2x cap.
    pub fn push(&mut self, e: ChainEntry<'a>) {
        push_capped(&mut self.entries, e, &mut self.dropped_left);
    }

    /// Finish after the last push: trims to the cap.
    pub fn finish(&mut self) {
        finish_capped(&mut self.entries, &mut self.dropped_left);
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

pub(crate) fn push_capped<T>(v: &mut Vec<T>, item: T, dropped: &mut usize) {
    if v.len() >= 2 * MAX_CHAIN_ENTRIES {
        v.drain(..MAX_CHAIN_ENTRIES);
        *dropped = dropped.saturating_add(MAX_CHAIN_ENTRIES);
    }
    v.push(item);
}

pub(crate) fn finish_capped<T>(v: &mut Vec<T>, dropped: &mut usize) {
    if v.len() > MAX_CHAIN_ENTRIES {
        let extra = v.len() - MAX_CHAIN_ENTRIES;
        v.drain(..extra);
        *dropped = dropped.saturating_add(extra);
    }
}

/// CSV form: raw entries joined with `", "`, prefixed by `(+N dropped), ` when capped.
impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        if self.dropped_left > 0 {
            write!(f, "(+{} dropped)", self.dropped_left)?;
            first = false;
        }
        for e in &self.entries {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Parse comma-separated chains from several header values, joined in order
/// (several XFF headers are one list, RFC 7230 section 3.2.2).
pub fn parse_chain<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Chain<'a> {
    let mut c = Chain::default();
    for v in values {
        for part in v.split(|&b| b == b',') {
            if trim_ws(part).is_empty() {
                c.empty_entries = c.empty_entries.saturating_add(1);
                continue;
            }
            c.push(parse_entry(part));
        }
    }
    c.finish();
    c
}

/// Where a client identity came from, in precedence order (first wins).
///
/// PROXY protocol first: it is written by the proxy itself ahead of any client byte, so the
/// client cannot forge it. Forwarded next (standard, unambiguous syntax), then XFF (the
/// de-facto standard, appended by each proxy), then the single-value headers, which some
/// proxies set and others pass through from the client untouched, then custom names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentitySource {
    ProxyProtocol,
    Forwarded,
    XForwardedFor,
    XRealIp,
    XClientIp,
    TrueClientIp,
    CfConnectingIp,
    /// Index into the extra header names.
    Custom(u16),
}

impl IdentitySource {
    pub fn name(&self) -> String {
        match self {
            IdentitySource::ProxyProtocol => "proxy_protocol".into(),
            IdentitySource::Forwarded => "forwarded".into(),
            IdentitySource::XForwardedFor => "x_forwarded_for".into(),
            IdentitySource::XRealIp => "x_real_ip".into(),
            IdentitySource::XClientIp => "x_client_ip".into(),
            IdentitySource::TrueClientIp => "true_client_ip".into(),
            IdentitySource::CfConnectingIp => "cf_connecting_ip".into(),
            IdentitySource::Custom(i) => format!("custom_{i}"),
        }
    }

    fn from_header(k: HeaderKind) -> Option<IdentitySource> {
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
}

impl fmt::Display for IdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Why a request looks spoofed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "source")]
pub enum SpoofReason {
    /// The PROXY source (untrusted) differs from the client X-Forwarded-For names.
    ProxyVsXff,
    /// The PROXY source (untrusted) differs from the client Forwarded names.
    ProxyVsForwarded,
    /// X-Real-IP differs from the client X-Forwarded-For names.
    XffVsRealIp,
    /// A private/reserved address stands left of a public one in this source's chain.
    PrivateLeftOfPublic(IdentitySource),
}

impl fmt::Display for SpoofReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpoofReason::ProxyVsXff => f.write_str("proxy_vs_xff"),
            SpoofReason::ProxyVsForwarded => f.write_str("proxy_vs_forwarded"),
            SpoofReason::XffVsRealIp => f.write_str("xff_vs_real_ip"),
            SpoofReason::PrivateLeftOfPublic(s) => write!(f, "private_left_of_public:{s}"),
        }
    }
}

/// Oddities in identity values (not spoofing evidence by themselves).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "anomaly", content = "source")]
pub enum IdentityAnomaly {
    /// An IPv4 entry with a leading-zero octet: read when its octal and decimal readings
    /// agree, kept raw when they differ (see [`leading_zero_ipv4`]).
    LeadingZeroIpv4(IdentitySource),
    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), read as the IPv4 address.
    Ipv4MappedIpv6(IdentitySource),
    /// nginx's unbracketed `v6:port` in Forwarded, read as address and port.
    UnbracketedIpv6Port(IdentitySource),
    /// Unbracketed `v6:nnnn` that is also a whole IPv6 address: read as the address.
    AmbiguousIpv6Port(IdentitySource),
    /// An entry that is not an address, `unknown` or an obfuscated identifier.
    InvalidEntry(IdentitySource),
    /// A chain longer than [`MAX_CHAIN_ENTRIES`].
    ChainCapped(IdentitySource),
    /// With a trusted list, the first untrusted hop is not an address: no client.
    UntrustedHopNotAnAddress(IdentitySource),
}

impl fmt::Display for IdentityAnomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, s) = match self {
            IdentityAnomaly::LeadingZeroIpv4(s) => ("leading_zero_ipv4", s),
            IdentityAnomaly::Ipv4MappedIpv6(s) => ("ipv4_mapped_ipv6", s),
            IdentityAnomaly::UnbracketedIpv6Port(s) => ("unbracketed_ipv6_port", s),
            IdentityAnomaly::AmbiguousIpv6Port(s) => ("ambiguous_ipv6_port", s),
            IdentityAnomaly::InvalidEntry(s) => ("invalid_entry", s),
            IdentityAnomaly::ChainCapped(s) => ("chain_capped", s),
            IdentityAnomaly::UntrustedHopNotAnAddress(s) => ("untrusted_hop_not_an_address", s),
        };
        write!(f, "{n}:{s}")
    }
}

/// Known fields of the p0f SPOE headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum P0fKey {
    Os,
    Link,
    Dist,
    Uptime,
    Nat,
    MatchQuality,
    Mtu,
    Mss,
    Other,
}

impl P0fKey {
    /// From the name suffix after `X-P0f-` / `x-tcp-` / `x_tcp_` (case, `-`/`_` ignored).
    pub fn from_suffix(s: &[u8]) -> P0fKey {
        let mut buf = [0u8; 16];
        if s.len() > buf.len() {
            return P0fKey::Other;
        }
        let mut n = 0;
        for &b in s {
            if b != b'-' && b != b'_' {
                buf[n] = b.to_ascii_lowercase();
                n += 1;
            }
        }
        match &buf[..n] {
            b"os" | b"osname" | b"osflavor" => P0fKey::Os,
            b"link" | b"linktype" => P0fKey::Link,
            b"dist" | b"distance" => P0fKey::Dist,
            b"uptime" | b"uptimemin" => P0fKey::Uptime,
            b"nat" => P0fKey::Nat,
            b"matchq" | b"match" | b"matchquality" | b"quality" => P0fKey::MatchQuality,
            b"mtu" => P0fKey::Mtu,
            b"mss" => P0fKey::Mss,
            _ => P0fKey::Other,
        }
    }
}

/// One p0f SPOE header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct P0fField<'a> {
    pub key: P0fKey,
    /// Full header name as written.
    #[serde(serialize_with = "ser_bytes")]
    pub name: &'a [u8],
    #[serde(serialize_with = "ser_bytes")]
    pub value: &'a [u8],
}

/// One identity source and its chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceChain<'a> {
    pub source: IdentitySource,
    pub chain: Chain<'a>,
    /// Index in `chain.entries` of the client this source names, if any.
    pub selected: Option<usize>,
    /// Every address in the chain is a trusted proxy.
    pub all_trusted: bool,
}

impl<'a> SourceChain<'a> {
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
    pub client_ip: Option<IpAddr>,
    pub client_port: Option<u16>,
    pub identity_source: Option<IdentitySource>,
    pub spoof_suspect: bool,
    pub spoof_reasons: Vec<SpoofReason>,
    pub anomalies: Vec<IdentityAnomaly>,
    pub p0f: Vec<P0fField<'a>>,
}

impl<'a> Identity<'a> {
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
/// (if any). `trusted` lists the trusted proxy networks (may be empty).
pub fn extract_identity<'a>(
    head: Option<&RequestHead<'a>>,
    proxy_src: Option<SocketAddr>,
    trusted: &[IpNet],
) -> Identity<'a> {
    let mut id = Identity {
        proxy_src,
        ..Identity::default()
    };
    if proxy_src.is_some_and(|p| canon(p.ip()) != p.ip()) {
        id.anomalies.push(IdentityAnomaly::Ipv4MappedIpv6(
            IdentitySource::ProxyProtocol,
        ));
    }
    if let Some(head) = head {
        // Sources in precedence order; each gathers all its header lines in order.
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
        let mut sources: Vec<IdentitySource> = kinds
            .iter()
            .filter_map(|&k| IdentitySource::from_header(k))
            .collect();
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
                        .filter(|f| IdentitySource::from_header(f.kind) == Some(s))
                        .map(|f| f.value),
                )
            };
            let (selected, all_trusted) = select_client(&chain, trusted);
            let mut nonpublic_seen = false;
            let mut private_left = false;
            for e in &chain.entries {
                for (bit, anomaly) in [
                    (
                        EntryForm::LEADING_ZERO_IPV4,
                        IdentityAnomaly::LeadingZeroIpv4(s),
                    ),
                    (
                        EntryForm::IPV4_MAPPED_IPV6,
                        IdentityAnomaly::Ipv4MappedIpv6(s),
                    ),
                    (
                        EntryForm::UNBRACKETED_IPV6_PORT,
                        IdentityAnomaly::UnbracketedIpv6Port(s),
                    ),
                    (
                        EntryForm::AMBIGUOUS_IPV6_PORT,
                        IdentityAnomaly::AmbiguousIpv6Port(s),
                    ),
                ] {
                    if e.form.has(bit) {
                        push_unique(&mut id.anomalies, anomaly);
                    }
                }
                match e.addr {
                    Some(a) if is_public(a) => private_left |= nonpublic_seen,
                    Some(_) => nonpublic_seen = true,
                    None => {
                        if e.form.has(EntryForm::LEADING_ZERO_IPV4) {
                            // Flagged above: readings differ, kept raw.
                        } else if e.kind == EntryKind::Invalid {
                            push_unique(&mut id.anomalies, IdentityAnomaly::InvalidEntry(s));
                        }
                    }
                }
            }
            if private_left {
                id.spoof_reasons.push(SpoofReason::PrivateLeftOfPublic(s));
            }
            if chain.dropped_left > 0 {
                id.anomalies.push(IdentityAnomaly::ChainCapped(s));
            }
            if selected.is_none() && !trusted.is_empty() {
                let first_untrusted_not_addr = chain
                    .entries
                    .iter()
                    .rev()
                    .find(|e| !e.addr.is_some_and(|a| is_trusted(a, trusted)))
                    .is_some_and(|e| e.addr.is_none());
                if first_untrusted_not_addr {
                    id.anomalies
                        .push(IdentityAnomaly::UntrustedHopNotAnAddress(s));
                }
            }
            id.sources.push(SourceChain {
                source: s,
                chain,
                selected,
                all_trusted,
            });
        }
    }

    // Pick the first source (precedence order) naming an untrusted client; failing that,
    // the first naming any address (all hops trusted).
    let proxy_trusted = proxy_src.is_some_and(|p| is_trusted(p.ip(), trusted));
    let mut candidates: Vec<(IdentitySource, IpAddr, Option<u16>, bool)> = Vec::new();
    if let Some(p) = proxy_src {
        candidates.push((
            IdentitySource::ProxyProtocol,
            p.ip(),
            Some(p.port()),
            proxy_trusted,
        ));
    }
    for s in &id.sources {
        if let Some(e) = s.selected_entry() {
            if let Some(a) = e.addr {
                candidates.push((s.source, a, e.port, s.all_trusted));
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

    // Disagreements between sources.
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
    if let Some(p) = proxy_src.filter(|_| !proxy_trusted).map(|p| canon(p.ip())) {
        if xff.is_some_and(|x| x != p) {
            reasons.push(SpoofReason::ProxyVsXff);
        }
        if fwd.is_some_and(|x| x != p) {
            reasons.push(SpoofReason::ProxyVsForwarded);
        }
    }
    if let (Some(x), Some(r)) = (xff, real) {
        if x != r {
            reasons.push(SpoofReason::XffVsRealIp);
        }
    }
    reasons.append(&mut id.spoof_reasons);
    id.spoof_reasons = reasons;
    id.spoof_suspect = !id.spoof_reasons.is_empty();
    id
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::head::parse_request_head;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(s: &[&str]) -> Vec<IpNet> {
        s.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn entry_forms() {
        let e = parse_entry(b" 1.2.3.4:5678 ");
        assert_eq!(
            (e.addr, e.port, e.kind),
            (Some(ip("1.2.3.4")), Some(5678), EntryKind::Ip)
        );
        assert_eq!(e.raw, b"1.2.3.4:5678");
        let e = parse_entry(b"[2001:db8::1]:443");
        assert_eq!((e.addr, e.port), (Some(ip("2001:db8::1")), Some(443)));
        let e = parse_entry(b"[2001:db8::1]");
        assert_eq!((e.addr, e.port), (Some(ip("2001:db8::1")), None));
        let e = parse_entry(b"2001:db8::1");
        assert_eq!((e.addr, e.port), (Some(ip("2001:db8::1")), None));
        let e = parse_entry(b"fe80::1%eth0");
        assert_eq!((e.addr, e.zone), (Some(ip("fe80::1")), Some(&b"eth0"[..])));
        let e = parse_entry(b"[fe80::a%25en0]:80");
        assert_eq!(
            (e.addr, e.zone, e.port),
            (Some(ip("fe80::a")), Some(&b"25en0"[..]), Some(80))
        );
        let e = parse_entry(b"::ffff:192.0.2.1");
        assert_eq!(e.addr, Some(ip("192.0.2.1")));
        assert_eq!(e.raw, b"::ffff:192.0.2.1");
        assert_eq!(parse_entry(b"UNKNOWN").kind, EntryKind::Unknown);
        assert_eq!(parse_entry(b"_Hidden-1.x").kind, EntryKind::Obfuscated);
        for bad in [
            &b"_"[..],
            b"_a b",
            b"1.2.3",
            b"1.2.3.4.5",
            b"256.1.1.1",
            b"1.2.3.4:",
            b"1.2.3.4:65536",
            b"1.2.3.4:80:90",
            b"[2001:db8::1",
            b"[2001:db8::1]x",
            b"[1.2.3.4]",
            b"fe80::1%",
            b"0x7f.0.0.1",
            b"2130706433",
            b"1.2.3.4 5.6.7.8",
            b"\xff\xfe",
            b"1.2.3.4\x00",
            b"example.com",
            b"\"1.2.3.4\"",
            b"",
            b"1.2.3.4:+80",
        ] {
            let e = parse_entry(bad);
            assert_eq!(
                e.kind,
                EntryKind::Invalid,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
            assert_eq!(e.addr, None);
        }
    }

    fn anomalies_of(h: &[u8]) -> (Option<IpAddr>, Option<u16>, String) {
        let h = parse_request_head(h, &[]).unwrap();
        let id = extract_identity(Some(&h), None, &[]);
        (id.client_ip, id.client_port, id.anomalies_string())
    }

    #[test]
    fn leading_zero_ipv4_read_only_when_octal_and_decimal_agree() {
        // Arkime's test capture value: octal and decimal both give 10.0.0.3.
        let e = parse_entry(b"10.000.000.03");
        assert_eq!((e.addr, e.kind), (Some(ip("10.0.0.3")), EntryKind::Ip));
        assert_eq!(e.raw, b"10.000.000.03");
        // 04 is 4 both ways; with a port too.
        let e = parse_entry(b"1.2.3.04:8080");
        assert_eq!((e.addr, e.port), (Some(ip("1.2.3.4")), Some(8080)));
        // 010 is 8 in octal and 10 in decimal; 08 is no octal at all; 0377 is 255 in
        // octal and 377 (no octet) in decimal: never guess.
        for raw in [&b"010.0.0.1"[..], b"1.2.3.08", b"0377.0.0.1"] {
            let e = parse_entry(raw);
            assert_eq!((e.addr, e.kind), (None, EntryKind::Invalid), "{raw:?}");
            assert!(is_leading_zero_ipv4(raw));
        }
        assert!(!is_leading_zero_ipv4(b"10.0.0.3"));
        assert!(!is_leading_zero_ipv4(b"10.0.0"));
        assert!(!is_leading_zero_ipv4(b"01.0.0.0.1"));
        assert_eq!(
            anomalies_of(b"GET / HTTP/1.1\r\nX-Forwarded-For: 10.000.000.03\r\n\r\n"),
            (
                Some(ip("10.0.0.3")),
                None,
                "leading_zero_ipv4:x_forwarded_for".into()
            )
        );
        assert_eq!(
            anomalies_of(b"GET / HTTP/1.1\r\nX-Forwarded-For: 010.0.0.1\r\n\r\n"),
            (None, None, "leading_zero_ipv4:x_forwarded_for".into())
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_is_the_ipv4_client() {
        for h in [
            &b"GET / HTTP/1.1\r\nX-Forwarded-For: 10.9.9.9, ::ffff:77.148.90.167\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nX-Forwarded-For: [::FFFF:77.148.90.167]:40001\r\n\r\n",
        ] {
            let (client, _, flags) = anomalies_of(h);
            assert_eq!(client, Some(ip("77.148.90.167")));
            assert_eq!(flags, "ipv4_mapped_ipv6:x_forwarded_for");
        }
        assert_eq!(
            anomalies_of(
                b"GET / HTTP/1.1\r\nForwarded: for=\"[::ffff:77.148.90.167]:4711\"\r\n\r\n"
            ),
            (
                Some(ip("77.148.90.167")),
                Some(4711),
                "ipv4_mapped_ipv6:forwarded".into()
            )
        );
        // A PROXY v2 IPv6 source in mapped form.
        let id = extract_identity(
            None,
            Some("[::ffff:77.148.90.167]:5000".parse().unwrap()),
            &[],
        );
        assert_eq!(id.client_ip, Some(ip("77.148.90.167")));
        assert_eq!(id.client_port, Some(5000));
        assert_eq!(id.anomalies_string(), "ipv4_mapped_ipv6:proxy_protocol");
        // An IPv4-compatible (not mapped) address stays IPv6, unflagged.
        let (client, _, flags) =
            anomalies_of(b"GET / HTTP/1.1\r\nX-Forwarded-For: ::77.148.90.167\r\n\r\n");
        assert_eq!(client, Some(ip("::4d94:5aa7")));
        assert_eq!(flags, "");
    }

    #[test]
    fn nginx_unbracketed_ipv6_port_in_forwarded() {
        // 40000 has five digits: no hex group, so only address:port reads.
        assert_eq!(
            anomalies_of(b"GET / HTTP/1.1\r\nForwarded: for=\"2001:db8::5:40000\"\r\n\r\n"),
            (
                Some(ip("2001:db8::5")),
                Some(40000),
                "unbracketed_ipv6_port:forwarded".into()
            )
        );
        // 8080 is also a hex group: the whole address is taken and the row says so.
        assert_eq!(
            anomalies_of(b"GET / HTTP/1.1\r\nForwarded: for=\"2001:db8::5:8080\"\r\n\r\n"),
            (
                Some(ip("2001:db8:0:0:0:0:5:8080")),
                None,
                "ambiguous_ipv6_port:forwarded".into()
            )
        );
        // Eight groups and a port: the whole is no address, the part before the colon is.
        let e = parse_node(b"2001:db8:1:2:3:4:5:6:443", true);
        assert_eq!(
            (e.addr, e.port),
            (Some(ip("2001:db8:1:2:3:4:5:6")), Some(443))
        );
        // A plain IPv6 and a mapped one (the `:` before the dotted quad is no port).
        let e = parse_node(b"2001:db8::5", true);
        assert_eq!(
            (e.addr, e.port, e.form),
            (Some(ip("2001:db8::5")), None, EntryForm::default())
        );
        let e = parse_node(b"::ffff:1.2.3.4:40000", true);
        assert_eq!((e.addr, e.port), (Some(ip("1.2.3.4")), Some(40000)));
        // Port out of range, or XFF (not Forwarded syntax): not split.
        assert_eq!(parse_node(b"2001:db8::5:70000", true).addr, None);
        assert_eq!(parse_entry(b"2001:db8::5:40000").addr, None);
    }

    #[test]
    fn chain_junk_between_commas_and_several_headers() {
        let c = parse_chain([
            &b"1.1.1.1, ,,garbage ,  2.2.2.2:80"[..],
            &b"[2001:db8::2]:8443,"[..],
        ]);
        let raws: Vec<&[u8]> = c.entries.iter().map(|e| e.raw).collect();
        assert_eq!(
            raws,
            vec![
                &b"1.1.1.1"[..],
                b"garbage",
                b"2.2.2.2:80",
                b"[2001:db8::2]:8443"
            ]
        );
        assert_eq!(c.empty_entries, 3);
        assert_eq!(c.entries[1].kind, EntryKind::Invalid);
        assert_eq!(
            c.to_string(),
            "1.1.1.1, garbage, 2.2.2.2:80, [2001:db8::2]:8443"
        );
    }

    #[test]
    fn hundred_thousand_entry_chain_keeps_rightmost() {
        let mut v = Vec::new();
        for i in 0..100_000u32 {
            v.extend_from_slice(
                format!("10.{}.{}.{}, ", (i >> 16) & 255, (i >> 8) & 255, i & 255).as_bytes(),
            );
        }
        v.extend_from_slice(b"203.0.113.9");
        let c = parse_chain([&v[..]]);
        assert_eq!(c.entries.len(), MAX_CHAIN_ENTRIES);
        assert_eq!(c.dropped_left, 100_001 - MAX_CHAIN_ENTRIES);
        assert_eq!(c.entries.last().unwrap().addr, Some(ip("203.0.113.9")));
        assert!(c.to_string().starts_with("(+99745 dropped), 10."));
        let (sel, _) = select_client(&c, &[]);
        assert_eq!(sel, Some(MAX_CHAIN_ENTRIES - 1));
    }

    #[test]
    fn megabyte_entry_nul_and_non_utf8_kept_raw() {
        let mut v = b"GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1, ".to_vec();
        v.extend(std::iter::repeat_n(b'7', 1 << 20));
        v.extend_from_slice(b", 2.2.2.\x002, \xff1.2.3.4, 3.3.3.3\r\n\r\n");
        let head = parse_request_head(&v, &[]).unwrap();
        let id = extract_identity(Some(&head), None, &[]);
        let c = &id.sources[0].chain;
        let kinds: Vec<_> = c.entries.iter().map(|e| e.kind).collect();
        use EntryKind::*;
        assert_eq!(kinds, vec![Ip, Invalid, Invalid, Invalid, Ip]);
        assert_eq!(c.entries[1].raw.len(), 1 << 20);
        assert_eq!(c.entries[2].raw, b"2.2.2.\x002");
        assert_eq!(id.client_ip, Some(ip("3.3.3.3")));
    }

    #[test]
    fn select_rightmost_without_trust_and_walk_with_trust() {
        let c = parse_chain([&b"6.6.6.6, 198.51.100.7, 10.0.0.2, unknown"[..]]);
        // No trusted list: rightmost address.
        assert_eq!(select_client(&c, &[]), (Some(2), false));
        // Trusted: the first untrusted hop from the right is `unknown`: no client.
        assert_eq!(select_client(&c, &nets(&["10.0.0.0/8"])), (None, false));
        let c = parse_chain([&b"6.6.6.6, 198.51.100.7, 10.0.0.2, 10.0.0.3"[..]]);
        assert_eq!(select_client(&c, &nets(&["10.0.0.0/8"])), (Some(1), false));
        assert_eq!(
            select_client(&c, &nets(&["10.0.0.0/8", "198.51.100.0/24"])),
            (Some(0), false)
        );
        // All trusted: leftmost.
        assert_eq!(select_client(&c, &nets(&["0.0.0.0/0"])), (Some(0), true));
        // IPv4-mapped entries match IPv4 nets.
        let c = parse_chain([&b"1.1.1.1, ::ffff:10.0.0.9"[..]]);
        assert_eq!(select_client(&c, &nets(&["10.0.0.0/8"])), (Some(0), false));
    }

    fn ident<'a>(h: &'a [u8], proxy: Option<&str>, trusted: &[IpNet]) -> Identity<'a> {
        let head = parse_request_head(h, &[b"X-Custom-IP"]).unwrap();
        // The head borrows `h`; identity borrows the same bytes.
        let id = extract_identity(Some(&head), proxy.map(|p| p.parse().unwrap()), trusted);
        id
    }

    #[test]
    fn precedence_and_source_naming() {
        let h = b"GET / HTTP/1.1\r\nX-Custom-IP: 9.9.9.9\r\nCF-Connecting-IP: 8.8.8.8\r\nX-Real-IP: 198.51.100.1\r\nX-Forwarded-For: 198.51.100.1\r\n\r\n";
        let id = ident(h, None, &[]);
        assert_eq!(id.identity_source, Some(IdentitySource::XForwardedFor));
        assert_eq!(id.client_ip, Some(ip("198.51.100.1")));
        let order: Vec<_> = id.sources.iter().map(|s| s.source).collect();
        assert_eq!(
            order,
            vec![
                IdentitySource::XForwardedFor,
                IdentitySource::XRealIp,
                IdentitySource::CfConnectingIp,
                IdentitySource::Custom(0)
            ]
        );
        assert!(!id.spoof_suspect);
        // PROXY beats everything.
        let id = ident(h, Some("198.51.100.1:5555"), &[]);
        assert_eq!(id.identity_source, Some(IdentitySource::ProxyProtocol));
        assert_eq!(id.client_port, Some(5555));
        assert!(!id.spoof_suspect);
        // Custom alone.
        let id = ident(
            b"GET / HTTP/1.1\r\nx-custom-ip: [2001:db8::9]:1\r\n\r\n",
            None,
            &[],
        );
        assert_eq!(id.identity_source, Some(IdentitySource::Custom(0)));
        assert_eq!(id.client_ip, Some(ip("2001:db8::9")));
        assert_eq!(id.client_port, Some(1));
    }

    #[test]
    fn trusted_proxy_source_defers_to_headers() {
        // CDN (trusted) -> HAProxy sends PROXY with the CDN edge as source; XFF names the client.
        let h = b"GET / HTTP/1.1\r\nX-Forwarded-For: 203.0.113.50, 192.0.2.10\r\n\r\n";
        let t = nets(&["192.0.2.0/24"]);
        let id = ident(h, Some("192.0.2.10:40000"), &t);
        assert_eq!(id.identity_source, Some(IdentitySource::XForwardedFor));
        assert_eq!(id.client_ip, Some(ip("203.0.113.50")));
        assert!(!id.spoof_suspect);
        // Everything trusted: fall back to the first source that names an address.
        let id = ident(h, Some("192.0.2.10:40000"), &nets(&["0.0.0.0/0"]));
        assert_eq!(id.identity_source, Some(IdentitySource::ProxyProtocol));
    }

    #[test]
    fn spoof_reasons() {
        let h = b"GET / HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\nX-Real-IP: 5.6.7.8\r\nForwarded: for=1.2.3.4\r\n\r\n";
        let id = ident(h, Some("9.9.9.9:1"), &[]);
        assert!(id.spoof_suspect);
        assert_eq!(
            id.spoof_reasons,
            vec![
                SpoofReason::ProxyVsXff,
                SpoofReason::ProxyVsForwarded,
                SpoofReason::XffVsRealIp
            ]
        );
        assert_eq!(
            id.spoof_reasons_string(),
            "proxy_vs_xff|proxy_vs_forwarded|xff_vs_real_ip"
        );
        let h = b"GET / HTTP/1.1\r\nX-Forwarded-For: 192.168.1.5, 8.8.4.4, 10.0.0.1\r\n\r\n";
        let id = ident(h, None, &[]);
        assert_eq!(
            id.spoof_reasons,
            vec![SpoofReason::PrivateLeftOfPublic(
                IdentitySource::XForwardedFor
            )]
        );
        assert_eq!(
            id.spoof_reasons[0].to_string(),
            "private_left_of_public:x_forwarded_for"
        );
        // Public left of private is the normal shape (client, then internal hops).
        let h =
            b"GET / HTTP/1.1\r\nX-Forwarded-For: 8.8.4.4, 10.0.0.1, 100.64.0.1, fd00::1\r\n\r\n";
        assert!(!ident(h, None, &[]).spoof_suspect);
        // IPv4-mapped PROXY source equals the IPv4 XFF entry.
        let h = b"GET / HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n";
        assert!(!ident(h, Some("[::ffff:1.2.3.4]:80"), &[]).spoof_suspect);
    }

    #[test]
    fn untrusted_hop_not_an_address() {
        let h = b"GET / HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4, _hidden, 10.0.0.1\r\n\r\n";
        let id = ident(h, None, &nets(&["10.0.0.0/8"]));
        assert_eq!(id.client_ip, None);
        assert_eq!(id.identity_source, None);
        assert_eq!(
            id.anomalies,
            vec![IdentityAnomaly::UntrustedHopNotAnAddress(
                IdentitySource::XForwardedFor
            )]
        );
    }

    #[test]
    fn p0f_fields() {
        let h = b"GET / HTTP/1.1\r\nX-P0f-OS: Linux 3.11 and newer\r\nx-tcp-link: Ethernet or modem\r\nx_tcp_dist: 11\r\nX-P0F-Uptime: 42 hrs\r\nx-p0f-nat: 0\r\nx-tcp-match-q: 0\r\nX-P0f-MTU: 1500\r\nx_tcp_mss: 1460\r\nx-p0f-weird: z\r\n\r\n";
        let id = ident(h, None, &[]);
        let keys: Vec<_> = id.p0f.iter().map(|f| (f.key, f.value)).collect();
        assert_eq!(
            keys,
            vec![
                (P0fKey::Os, &b"Linux 3.11 and newer"[..]),
                (P0fKey::Link, b"Ethernet or modem"),
                (P0fKey::Dist, b"11"),
                (P0fKey::Uptime, b"42 hrs"),
                (P0fKey::Nat, b"0"),
                (P0fKey::MatchQuality, b"0"),
                (P0fKey::Mtu, b"1500"),
                (P0fKey::Mss, b"1460"),
                (P0fKey::Other, b"z"),
            ]
        );
        assert!(id.sources.is_empty());
        assert_eq!(id.client_ip, None);
        assert!(id
            .p0f_string()
            .starts_with("X-P0f-OS=Linux 3.11 and newer|x-tcp-link=Ethernet or modem|"));
    }

    #[test]
    fn proxy_only_no_head() {
        let id = extract_identity(None, Some("[2001:db8::1]:443".parse().unwrap()), &[]);
        assert_eq!(id.client_ip, Some(ip("2001:db8::1")));
        assert_eq!(id.identity_source, Some(IdentitySource::ProxyProtocol));
    }

    #[test]
    fn obs_folded_xff_is_joined() {
        let h = b"GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1,\r\n 2.2.2.2\r\n\r\n";
        let id = ident(h, None, &[]);
        let c = &id.sources[0].chain;
        assert_eq!(c.entries.len(), 2);
        assert_eq!(c.entries[1].addr, Some(ip("2.2.2.2")));
        assert_eq!(id.client_ip, Some(ip("2.2.2.2")));
    }

    #[test]
    fn serializes() {
        let h = b"GET / HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4:80, junk\r\n\r\n";
        let id = ident(h, None, &[]);
        let j = serde_json::to_value(&id).unwrap();
        assert_eq!(j["client_ip"], "1.2.3.4");
        assert_eq!(j["identity_source"], "x_forwarded_for");
        assert_eq!(j["sources"][0]["chain"]["entries"][1]["raw"], "junk");
        assert_eq!(j["sources"][0]["chain"]["entries"][1]["kind"], "invalid");
        assert_eq!(j["anomalies"][0]["anomaly"], "invalid_entry");
    }

    /// Deliberately simple reference: split on commas, trim spaces, parse with std only.
    fn naive_chain(s: &str) -> Vec<(Option<IpAddr>, Option<u16>)> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                if let Ok(sa) = p.parse::<SocketAddr>() {
                    (Some(sa.ip()), Some(sa.port()))
                } else if let Ok(a) = p
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<IpAddr>()
                {
                    (Some(a), None)
                } else {
                    (None, None)
                }
            })
            .collect()
    }

    fn arb_entry() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            any::<[u8; 4]>().prop_map(|o| std::net::Ipv4Addr::from(o).to_string()),
            (any::<[u8; 4]>(), any::<u16>())
                .prop_map(|(o, p)| format!("{}:{p}", std::net::Ipv4Addr::from(o))),
            any::<[u16; 8]>().prop_map(|s| std::net::Ipv6Addr::from(s).to_string()),
            (any::<[u16; 8]>(), any::<u16>())
                .prop_map(|(s, p)| format!("[{}]:{p}", std::net::Ipv6Addr::from(s))),
            any::<[u16; 8]>().prop_map(|s| format!("[{}]", std::net::Ipv6Addr::from(s))),
            Just("unknown".to_string()),
            "[a-z]{1,8}",
        ]
    }

    proptest::proptest! {
        #[test]
        fn chain_agrees_with_naive_reference(
            entries in proptest::collection::vec(arb_entry(), 0..20),
            sep in proptest::sample::select(vec![",", ", ", " ,  ", ",\t"]),
        ) {
            let s = entries.join(sep);
            let c = parse_chain([s.as_bytes()]);
            let got: Vec<_> = c.entries.iter().map(|e| (e.addr, e.port)).collect();
            proptest::prop_assert_eq!(got, naive_chain(&s));
        }

        #[test]
        fn entries_never_panic_and_addr_implies_ip(b in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let e = parse_entry(&b);
            proptest::prop_assert_eq!(e.addr.is_some(), e.kind == EntryKind::Ip);
            // An address is only given when the text is exactly an address form.
            match e.addr {
                // std rejects leading zeros, so IPv4 text is canonical: `a` or `a:port`.
                Some(IpAddr::V4(a)) => {
                    let t = std::str::from_utf8(e.raw).unwrap();
                    let rest = t.strip_prefix(a.to_string().as_str()).unwrap();
                    proptest::prop_assert!(rest.is_empty() || rest.strip_prefix(':').unwrap().parse::<u16>().is_ok());
                }
                Some(IpAddr::V6(_)) => {
                    proptest::prop_assert!(memchr::memchr_iter(b':', e.raw).count() >= 2);
                }
                None => {}
            }
        }

        #[test]
        fn identity_never_panics(tail in proptest::collection::vec(proptest::sample::select(b"X-Forwarded-For:Real-IP x_tcp_os Forwarded for=\"[]:1.2,;\r\n%_".to_vec()), 0..400)) {
            let mut b = b"GET / HTTP/1.1\r\n".to_vec();
            b.extend_from_slice(&tail);
            let head = parse_request_head(&b, &[]).unwrap();
            let _ = extract_identity(Some(&head), Some("1.2.3.4:1".parse().unwrap()), &nets(&["1.0.0.0/8"]));
        }
    }
}
