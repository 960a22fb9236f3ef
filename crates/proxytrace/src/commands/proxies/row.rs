//! The `proxies` row schema: one learned profile per proxy/backend pair, with the share of
//! every identity source and, with a front capture, how often each agrees with the address
//! that really opened the front connection.

use crate::identity::{IdentitySource, Profile, ProfileReason, ProxyPair};
use serde::Serialize;
use std::net::IpAddr;

/// The built-in sources with a share column, in column order.
pub(super) const SHARE_SOURCES: [IdentitySource; 6] = [
    IdentitySource::Forwarded,
    IdentitySource::XForwardedFor,
    IdentitySource::XRealIp,
    IdentitySource::XClientIp,
    IdentitySource::TrueClientIp,
    IdentitySource::CfConnectingIp,
];

/// One proxy/backend pair. Shares are percentages (0-100, one decimal) of the pair's
/// counted requests (of its connections for `proxy_protocol`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProxyRow {
    /// The proxy (back-side source address).
    pub proxy_ip: IpAddr,
    /// The backend address.
    pub backend_ip: IpAddr,
    /// The backend port.
    pub backend_port: u16,
    /// Requests counted for the shares.
    pub requests: u64,
    /// Requests with no identity header and no User-Agent (health checks), not counted.
    pub health_check_like: u64,
    /// Connections whose start was captured.
    pub connections: u64,
    /// Share of those connections that began with a PROXY preamble.
    pub proxy_protocol_share: f64,
    /// Share of requests with `Forwarded`.
    pub forwarded_share: f64,
    /// Share of requests with `X-Forwarded-For`.
    pub x_forwarded_for_share: f64,
    /// Share of requests with `X-Real-IP`.
    pub x_real_ip_share: f64,
    /// Share of requests with `X-Client-IP`.
    pub x_client_ip_share: f64,
    /// Share of requests with `True-Client-IP`.
    pub true_client_ip_share: f64,
    /// Share of requests with `CF-Connecting-IP`.
    pub cf_connecting_ip_share: f64,
    /// Shares of the `--header` sources, `custom_N=share` joined with `|`.
    pub custom_shares: String,
    /// The sources the proxy writes, joined with `|` (empty: no profile).
    pub written: String,
    /// The source rows of this pair take the client from (empty: the default order).
    pub chosen: String,
    /// Why: written, too_few_requests, no_source_on_every_request.
    pub reason: ProfileReason,
    /// The same in words, with the shares that decided.
    pub explanation: String,
    /// Most clients the chosen source names are public addresses (empty: not known).
    pub front_public: Option<bool>,
    /// With `--front`: requests of this pair joined `certain` (the front connection known).
    pub front_certain: Option<u64>,
    /// With `--front`: per source carried on those requests, `source=agree/carried` (its
    /// address equals the front connection's client), joined with `|`.
    pub front_agreement: String,
}

impl ProxyRow {
    /// The row of one decided profile.
    pub fn new(pair: ProxyPair, p: &Profile) -> ProxyRow {
        let t = &p.tally;
        let share = |n: u64, of: u64| {
            if of == 0 {
                0.0
            } else {
                (n as f64 * 1000.0 / of as f64).round() / 10.0
            }
        };
        let of = |s: IdentitySource| share(t.source(s).map_or(0, |x| x.present), t.requests);
        let custom: Vec<String> = t
            .sources
            .iter()
            .filter(|x| matches!(x.source, IdentitySource::Custom(_)))
            .map(|x| format!("{}={}", x.source, share(x.present, t.requests)))
            .collect();
        let written: Vec<String> = p.written.iter().map(|s| s.to_string()).collect();
        ProxyRow {
            proxy_ip: pair.proxy,
            backend_ip: pair.backend,
            backend_port: pair.backend_port,
            requests: t.requests,
            health_check_like: t.health_check_like,
            connections: t.connections,
            proxy_protocol_share: share(t.preambles, t.connections),
            forwarded_share: of(SHARE_SOURCES[0]),
            x_forwarded_for_share: of(SHARE_SOURCES[1]),
            x_real_ip_share: of(SHARE_SOURCES[2]),
            x_client_ip_share: of(SHARE_SOURCES[3]),
            true_client_ip_share: of(SHARE_SOURCES[4]),
            cf_connecting_ip_share: of(SHARE_SOURCES[5]),
            custom_shares: custom.join("|"),
            written: written.join("|"),
            chosen: p.chosen.map(|s| s.to_string()).unwrap_or_default(),
            reason: p.reason,
            explanation: p.explain(),
            front_public: p.front_public,
            front_certain: None,
            front_agreement: String::new(),
        }
    }
}

impl crate::vocab::schema::Columns for ProxyRow {
    fn columns() -> Vec<crate::vocab::schema::Column> {
        use crate::vocab::schema::{Column, ColumnType::*};
        vec![
            Column::req("proxy_ip", Ip, "The proxy (back-side source address)."),
            Column::req("backend_ip", Ip, "The backend address."),
            Column::req("backend_port", UInt16, "The backend port."),
            Column::req("requests", UInt64, "Requests counted for the shares."),
            Column::req("health_check_like", UInt64, "Requests with no identity header and no User-Agent (health checks), not counted."),
            Column::req("connections", UInt64, "Connections whose start was captured."),
            Column::req("proxy_protocol_share", Float64, "Share of those connections that began with a PROXY preamble (percent, one decimal)."),
            Column::req("forwarded_share", Float64, "Share of requests with `Forwarded` (percent, one decimal)."),
            Column::req("x_forwarded_for_share", Float64, "Share of requests with `X-Forwarded-For` (percent, one decimal)."),
            Column::req("x_real_ip_share", Float64, "Share of requests with `X-Real-IP` (percent, one decimal)."),
            Column::req("x_client_ip_share", Float64, "Share of requests with `X-Client-IP` (percent, one decimal)."),
            Column::req("true_client_ip_share", Float64, "Share of requests with `True-Client-IP` (percent, one decimal)."),
            Column::req("cf_connecting_ip_share", Float64, "Share of requests with `CF-Connecting-IP` (percent, one decimal)."),
            Column::req("custom_shares", TextList { sep: "|" }, "Shares of the `--header` sources, `custom_N=share` joined with `|`."),
            Column::req("written", TextList { sep: "|" }, "The sources the proxy writes, joined with `|` (empty: no profile)."),
            Column::req("chosen", Text, "The source rows of this pair take the client from (empty: the default order)."),
            Column::req("reason", Text, "Why: written, too_few_requests, no_source_on_every_request."),
            Column::req("explanation", Text, "The same in words, with the shares that decided."),
            Column::opt("front_public", Bool, "Most clients the chosen source names are public addresses (empty: not known)."),
            Column::opt("front_certain", UInt64, "With `--front`: requests of this pair joined `certain` (the front connection known)."),
            Column::req("front_agreement", TextList { sep: "|" }, "With `--front`: per source carried on those requests, `source=agree/carried` (its address equals the front connection's client), joined with `|`."),
        ]
    }
}
