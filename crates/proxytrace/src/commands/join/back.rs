//! Back connections that name their client but carry no HTTP request (TLS passthrough
//! behind HAProxy `mode tcp` + `send-proxy`, SSH, ...): they are joined like requests, so
//! their clients get their SYN too (`exact_port` on the PROXY source port). Read after the
//! requests, in the order `connections` gives them (first packet).

use super::row::JoinRow;
use crate::extract::connections::{ConnectionRow, ConnectionsConfig};
use crate::extract::requests::{RequestRow, RequestsConfig};
use crate::identity::IdentityBasis;

/// The `connections` settings of a join's back side: the same clients, trust and limits
/// as its requests.
pub(super) fn connections_config(r: &RequestsConfig) -> ConnectionsConfig {
    ConnectionsConfig {
        trusted: r.trusted.clone(),
        transparent: r.transparent,
        clients: r.clients.clone(),
        reassembly: r.reassembly.clone(),
    }
}

/// Does this connection get a join row of its own? It names a client and carried no
/// HTTP request (those have their request rows).
pub(super) fn joins_alone(c: &ConnectionRow) -> bool {
    c.client_ip.is_some() && c.http_requests == 0
}

/// The request-shaped back side of a connection row: its 5-tuple, first packet, client
/// and PROXY header; the HTTP columns empty, `request_on_connection` 0.
pub(super) fn as_request(c: ConnectionRow) -> RequestRow {
    let chain = match (c.identity_source, c.proxy_src) {
        (Some(crate::identity::IdentitySource::ProxyProtocol), Some(src)) => src.to_string(),
        (Some(_), _) => c.client_ip.map(|ip| ip.to_string()).unwrap_or_default(),
        (None, _) => String::new(),
    };
    RequestRow {
        time: c.time,
        file: c.file,
        packet: c.packet,
        src_ip: c.src_ip,
        src_port: c.src_port,
        dst_ip: c.dst_ip,
        dst_port: c.dst_port,
        method: String::new(),
        host: String::new(),
        target: String::new(),
        http_version: "",
        user_agent: String::new(),
        client_ip: c.client_ip,
        client_port: c.client_port,
        identity_source: c.identity_source,
        // A connection row's client is its PROXY source (always first) or, with
        // --transparent, its own source address (the user said so).
        identity_basis: match c.identity_source {
            Some(crate::identity::IdentitySource::Transparent) => IdentityBasis::Configured,
            _ => IdentityBasis::DefaultOrder,
        },
        chain,
        xff: String::new(),
        x_real_ip: String::new(),
        forwarded: String::new(),
        proxy_version: c.proxy_version,
        proxy_src: c.proxy_src,
        proxy_dst: c.proxy_dst,
        spoof_suspect: false,
        spoof_reasons: String::new(),
        p0f: String::new(),
        request_on_connection: 0,
        flags: c.flags,
        status: None,
        response_head_bytes: None,
        response_body_bytes: None,
        response_body_framing: None,
        content_type: String::new(),
        response_time_us: None,
        closed_after: None,
        response_missing: None,
        ts_ns: c.ts_ns,
        proxy: c.proxy,
        source_addrs: Vec::new(),
    }
}

/// Sets the row's back protocol from its connection.
pub(super) fn with_protocol(
    mut row: JoinRow,
    c: crate::extract::connections::FirstProtocol,
) -> JoinRow {
    row.join.back_protocol = c;
    row
}
