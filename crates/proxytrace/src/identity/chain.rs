//! The chain model: one address-bearing header value as a typed list of entries.
//!
//! A leaf of identity/: it knows how entries are written (IPv4, IPv6 with zone and port,
//! IPv4-mapped IPv6, leading-zero IPv4, `unknown`, obfuscated identifiers) but nothing of
//! which header they came from or which entry is the client. Every entry keeps its raw
//! bytes: it is only given an address when it parses unambiguously, so garbage and
//! obfuscated values are kept for the analyst and never turned into a wrong address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::vocab::bytes::{ser_bytes, ser_opt_bytes, trim_ws};

/// Chain entries kept per source. The rightmost entries are kept (they are the ones
/// written by the proxies nearest to us and decide the client); the dropped leftmost
/// entries are client-written and only counted.
pub const MAX_CHAIN_ENTRIES: usize = 256;

crate::named_enum! {
    /// What a chain entry turned out to be.
    pub enum EntryKind {
        /// An IPv4 or IPv6 address (optionally with port and zone id).
        Ip => "ip",
        /// The literal `unknown` (RFC 7239 section 6.2, also used in XFF).
        Unknown => "unknown",
        /// An RFC 7239 obfuscated identifier (`_hidden`).
        Obfuscated => "obfuscated",
        /// Anything else, kept raw.
        Invalid => "invalid",
    }
}

/// One hop of an address chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChainEntry<'a> {
    /// The entry as written, outer whitespace and Forwarded quotes removed.
    #[serde(serialize_with = "ser_bytes")]
    pub raw: &'a [u8],
    /// The address, when the entry is exactly an address form (IPv4-mapped read as IPv4).
    pub addr: Option<IpAddr>,
    /// The port, when one was written.
    pub port: Option<u16>,
    /// IPv6 zone id after `%` (`fe80::1%eth0`), raw. `IpAddr` has no zone.
    #[serde(serialize_with = "ser_opt_bytes")]
    pub zone: Option<&'a [u8]>,
    /// What the entry is.
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

    /// The flags' names, which are also the names of the identity anomalies they raise.
    const NAMES: [(u8, &'static str); 4] = [
        (Self::LEADING_ZERO_IPV4, "leading_zero_ipv4"),
        (Self::IPV4_MAPPED_IPV6, "ipv4_mapped_ipv6"),
        (Self::UNBRACKETED_IPV6_PORT, "unbracketed_ipv6_port"),
        (Self::AMBIGUOUS_IPV6_PORT, "ambiguous_ipv6_port"),
    ];
}

crate::vocab::flags::impl_flag_set!(EntryForm, u8);

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
/// ([`EntryKind::Invalid`]). Both are reported as [`crate::identity::AnomalyKind::LeadingZeroIpv4`].
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
    form.set(EntryForm::LEADING_ZERO_IPV4);
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
            e.form.set(EntryForm::IPV4_MAPPED_IPV6);
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
                        e.form.set(EntryForm::AMBIGUOUS_IPV6_PORT);
                    }
                    set_v6(&mut e, a);
                    e.zone = zone;
                    e.kind = EntryKind::Ip;
                }
                (None, Some((a, zone, port))) => {
                    e.form.set(EntryForm::UNBRACKETED_IPV6_PORT);
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

    /// True when no entry was kept.
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
