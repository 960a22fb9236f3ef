//! The identity vocabulary: where a client identity came from, why a request looks
//! spoofed, what was odd about a value, and the p0f SPOE header fields.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

use crate::vocab::bytes::ser_bytes;

/// Where a client identity came from, in precedence order (first wins).
///
/// PROXY protocol first: it is written by the proxy itself ahead of any client byte, so the
/// client cannot forge it. Forwarded next (standard, unambiguous syntax), then XFF (the
/// de-facto standard, appended by each proxy), then the single-value headers, which some
/// proxies set and others pass through from the client untouched, then custom names.
///
/// Its stable names come from [`IdentitySource::name`] alone: `Display` and `Serialize`
/// both write it. `Custom` carries data, so it is not a [`crate::named_enum!`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentitySource {
    /// The PROXY protocol (v1 or v2) source address.
    ProxyProtocol,
    /// RFC 7239 `Forwarded: for=`.
    Forwarded,
    /// `X-Forwarded-For`.
    XForwardedFor,
    /// `X-Real-IP`.
    XRealIp,
    /// `X-Client-IP`.
    XClientIp,
    /// `True-Client-IP`.
    TrueClientIp,
    /// `CF-Connecting-IP`.
    CfConnectingIp,
    /// Index into the extra header names (`--header`), named `custom_N`.
    Custom(u16),
    /// The back-side source address itself: a transparent proxy (HAProxy `usesrc
    /// clientip`, `--transparent`) connected from the client's own address.
    Transparent,
}

impl IdentitySource {
    /// The stable snake_case name users see (rows, JSON): one table for the built-in
    /// sources, `custom_N` for the N-th extra header name.
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            IdentitySource::ProxyProtocol => "proxy_protocol",
            IdentitySource::Forwarded => "forwarded",
            IdentitySource::XForwardedFor => "x_forwarded_for",
            IdentitySource::XRealIp => "x_real_ip",
            IdentitySource::XClientIp => "x_client_ip",
            IdentitySource::TrueClientIp => "true_client_ip",
            IdentitySource::CfConnectingIp => "cf_connecting_ip",
            IdentitySource::Transparent => "transparent",
            IdentitySource::Custom(i) => return Cow::Owned(format!("custom_{i}")),
        })
    }
}

impl IdentitySource {
    /// Serialize an optional source as its name, or an empty string (never `null`, so CSV
    /// and JSON agree and a JSON consumer needs no null check): the `identity_source`
    /// column of every row.
    pub fn serialize_or_empty<S: serde::Serializer>(
        source: &Option<IdentitySource>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match source {
            Some(src) => src.serialize(s),
            None => s.serialize_str(""),
        }
    }
}

impl fmt::Display for IdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for IdentitySource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

crate::named_enum! {
    /// The kinds of [`SpoofReason`].
    pub enum SpoofKind {
        /// The PROXY source (untrusted) differs from the client X-Forwarded-For names.
        ProxyVsXff => "proxy_vs_xff",
        /// The PROXY source (untrusted) differs from the client Forwarded names.
        ProxyVsForwarded => "proxy_vs_forwarded",
        /// X-Real-IP differs from the client X-Forwarded-For names.
        XffVsRealIp => "xff_vs_real_ip",
        /// A private/reserved address stands left of a public one in a source's chain.
        PrivateLeftOfPublic => "private_left_of_public",
        /// A source the proxy does not write (by its profile or the user's word) names
        /// another address than the chosen client: the client wrote it. Also entries left
        /// of the chosen one in the chosen chain, which the proxy only passed on.
        ClientSent => "client_sent",
    }
}

/// Why a request looks spoofed: a kind, and the source it was seen in when it concerns one.
///
/// Text form `kind` or `kind:source` (`private_left_of_public:x_forwarded_for`); JSON form
/// `{"reason": kind, "source": source}` (no `source` when there is none). Both take the
/// names from [`SpoofKind`] and [`IdentitySource`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SpoofReason {
    /// What disagrees.
    #[serde(rename = "reason")]
    pub kind: SpoofKind,
    /// The source the reason concerns, for reasons about one source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<IdentitySource>,
}

impl SpoofReason {
    /// A reason comparing sources (no single source to name).
    pub const fn of(kind: SpoofKind) -> SpoofReason {
        SpoofReason { kind, source: None }
    }

    /// A reason seen in one source's chain.
    pub const fn in_source(kind: SpoofKind, source: IdentitySource) -> SpoofReason {
        SpoofReason {
            kind,
            source: Some(source),
        }
    }
}

impl fmt::Display for SpoofReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        match self.source {
            Some(s) => write!(f, ":{s}"),
            None => Ok(()),
        }
    }
}

crate::named_enum! {
    /// The kinds of [`IdentityAnomaly`].
    pub enum AnomalyKind {
        /// An IPv4 entry with a leading-zero octet: read when its octal and decimal
        /// readings agree, kept raw when they differ (see [`super::leading_zero_ipv4`]).
        LeadingZeroIpv4 => "leading_zero_ipv4",
        /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), read as the IPv4 address.
        Ipv4MappedIpv6 => "ipv4_mapped_ipv6",
        /// nginx's unbracketed `v6:port` in Forwarded, read as address and port.
        UnbracketedIpv6Port => "unbracketed_ipv6_port",
        /// Unbracketed `v6:nnnn` that is also a whole IPv6 address: read as the address.
        AmbiguousIpv6Port => "ambiguous_ipv6_port",
        /// An entry that is not an address, `unknown` or an obfuscated identifier.
        InvalidEntry => "invalid_entry",
        /// A chain longer than [`super::MAX_CHAIN_ENTRIES`].
        ChainCapped => "chain_capped",
        /// With a trusted list, the first untrusted hop is not an address: no client.
        UntrustedHopNotAnAddress => "untrusted_hop_not_an_address",
        /// The source the proxy writes (profile) or the user named is missing from this
        /// request: no client is chosen from what the client could have written.
        IdentitySourceAbsent => "identity_source_absent",
        /// The chosen client is in a special range (private, loopback, documentation...)
        /// while the proxy's front side is public, or a public address stands left of it
        /// in its chain: an internal hop (pass `--trusted`) or a value the client wrote,
        /// not a client that connected from the Internet.
        SpecialRangeClient => "special_range_client",
    }
}

/// An oddity in one source's values (not spoofing evidence by itself).
///
/// Text form `kind:source` (`invalid_entry:x_forwarded_for`); JSON form
/// `{"anomaly": kind, "source": source}`. Both take the names from [`AnomalyKind`] and
/// [`IdentitySource`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct IdentityAnomaly {
    /// What was odd.
    #[serde(rename = "anomaly")]
    pub kind: AnomalyKind,
    /// The source whose value it was.
    pub source: IdentitySource,
}

impl IdentityAnomaly {
    /// An anomaly of `kind` in `source`.
    pub const fn new(kind: AnomalyKind, source: IdentitySource) -> IdentityAnomaly {
        IdentityAnomaly { kind, source }
    }
}

impl fmt::Display for IdentityAnomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.source)
    }
}

crate::named_enum! {
    /// Known fields of the p0f SPOE headers.
    pub enum P0fKey {
        /// Operating system (`os`, `osname`, `osflavor`).
        Os => "os",
        /// Link type (`link`, `linktype`).
        Link => "link",
        /// Network distance in hops (`dist`, `distance`).
        Dist => "dist",
        /// Uptime (`uptime`, `uptimemin`).
        Uptime => "uptime",
        /// NAT detection (`nat`).
        Nat => "nat",
        /// p0f's match quality (`matchq`, `match`, `matchquality`, `quality`).
        MatchQuality => "match_quality",
        /// Path MTU (`mtu`).
        Mtu => "mtu",
        /// Maximum segment size (`mss`).
        Mss => "mss",
        /// Any other suffix.
        Other => "other",
    }
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
    /// The field, from the name's suffix.
    pub key: P0fKey,
    /// Full header name as written.
    #[serde(serialize_with = "ser_bytes")]
    pub name: &'a [u8],
    /// The value as written.
    #[serde(serialize_with = "ser_bytes")]
    pub value: &'a [u8],
}
