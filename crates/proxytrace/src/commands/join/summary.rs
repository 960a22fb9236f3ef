//! `join --summary`: what the join found, one row per client address, as a
//! [`pipeline::Aggregate`] of join rows.

use super::row::JoinRow;
use crate::collections::hashing::{HashMap, HashSet};
use crate::extract::connections::FirstProtocol;
use crate::pipeline::Aggregate;
use serde::Serialize;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// One `--summary` row: what the join found for one client address.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClientJoinRow {
    /// The client, as the back side named it.
    pub client_ip: IpAddr,
    /// Its back-side HTTP requests (a back connection without a request, e.g. TLS
    /// passthrough, counts in the flows and connections, not here).
    pub requests: u64,
    /// Distinct back-side 5-tuples that carried its requests.
    pub back_flows: u64,
    /// Distinct front connections its requests were joined to.
    pub front_connections: u64,
    /// Distinct p0f signatures of those connections' SYNs.
    pub fingerprints: u64,
    /// Distinct OS matches (`name flavor`, `???` none), sorted, `;`-separated.
    pub oses: String,
    /// Time of its first request (back clock).
    pub first_seen: String,
    /// Time of its last request (back clock).
    pub last_seen: String,
}

#[derive(Default)]
struct ClientAcc {
    requests: u64,
    back: HashSet<(IpAddr, u16, IpAddr, u16)>,
    front: HashSet<(IpAddr, u16, IpAddr, u16, String)>,
    sigs: HashSet<String>,
    oses: BTreeSet<String>,
    first: (i64, String),
    last: (i64, String),
}

/// Aggregates join rows per client, in order of first request. Rows without a client
/// (`no_identity`) are not counted.
#[derive(Default)]
pub struct ClientJoinSummary {
    order: Vec<IpAddr>,
    by_ip: HashMap<IpAddr, ClientAcc>,
}

impl Aggregate<JoinRow> for ClientJoinSummary {
    type Out = ClientJoinRow;

    fn add(&mut self, row: &JoinRow) {
        let r = &row.request;
        let Some(ip) = r.client_ip else {
            return;
        };
        let acc = self.by_ip.entry(ip).or_insert_with(|| {
            self.order.push(ip);
            ClientAcc {
                first: (r.ts_ns, r.time.clone()),
                last: (r.ts_ns, r.time.clone()),
                ..ClientAcc::default()
            }
        });
        if row.join.back_protocol == FirstProtocol::Http1 {
            acc.requests += 1;
        }
        acc.back
            .insert((r.src_ip, r.src_port, r.dst_ip, r.dst_port));
        let f = &row.front;
        if let (Some(a), Some(b), Some(c), Some(d), Some(t)) = (
            f.front_src_ip,
            f.front_src_port,
            f.front_dst_ip,
            f.front_dst_port,
            &f.front_syn_time,
        ) {
            acc.front.insert((a, b, c, d, t.clone()));
        }
        if let Some(syn) = &row.syn {
            acc.sigs.insert(syn.signature.clone());
            acc.oses.insert(match (&syn.os_name, &syn.os_flavor) {
                (Some(n), Some(f)) if !f.is_empty() => format!("{n} {f}"),
                (Some(n), _) => n.clone(),
                _ => "???".to_string(),
            });
        }
        if r.ts_ns < acc.first.0 {
            acc.first = (r.ts_ns, r.time.clone());
        }
        if r.ts_ns >= acc.last.0 {
            acc.last = (r.ts_ns, r.time.clone());
        }
    }

    fn rows(self) -> Vec<ClientJoinRow> {
        let mut by_ip = self.by_ip;
        self.order
            .into_iter()
            .filter_map(|ip| {
                let a = by_ip.remove(&ip)?;
                Some(ClientJoinRow {
                    client_ip: ip,
                    requests: a.requests,
                    back_flows: a.back.len() as u64,
                    front_connections: a.front.len() as u64,
                    fingerprints: a.sigs.len() as u64,
                    oses: a.oses.into_iter().collect::<Vec<_>>().join(";"),
                    first_seen: a.first.1,
                    last_seen: a.last.1,
                })
            })
            .collect()
    }
}

impl crate::vocab::schema::Columns for ClientJoinRow {
    fn columns() -> Vec<crate::vocab::schema::Column> {
        use crate::vocab::schema::{Column, ColumnType::*};
        vec![
            Column::req("client_ip", Ip, "The client, as the back side named it."),
            Column::req("requests", UInt64, "Its back-side HTTP requests (a back connection without a request, e.g. TLS passthrough, counts in the flows and connections, not here)."),
            Column::req("back_flows", UInt64, "Distinct back-side 5-tuples that carried its requests."),
            Column::req("front_connections", UInt64, "Distinct front connections its requests were joined to."),
            Column::req("fingerprints", UInt64, "Distinct p0f signatures of those connections' SYNs."),
            Column::req("oses", TextList { sep: ";" }, "Distinct OS matches (`name flavor`, `???` none), sorted, `;`-separated."),
            Column::req("first_seen", Timestamp, "Time of its first request (back clock)."),
            Column::req("last_seen", Timestamp, "Time of its last request (back clock)."),
        ]
    }
}
