//! `proxytrace flows`: request rows folded into one row per (client, back-side 5-tuple).

use crate::extract::requests::RequestRow;
use crate::identity::IdentitySource;
use crate::pipeline::Aggregate;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// One back-side conversation of one client (`proxytrace flows`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FlowRow {
    /// The client the requests name (empty: none named).
    pub client_ip: Option<IpAddr>,
    /// Back-side source address.
    pub src_ip: IpAddr,
    /// Back-side source port.
    pub src_port: u16,
    /// Back-side destination address.
    pub dst_ip: IpAddr,
    /// Back-side destination port.
    pub dst_port: u16,
    /// Time of the first request.
    pub first_time: String,
    /// Time of the last request.
    pub last_time: String,
    /// Requests of this client on this conversation.
    pub requests: u64,
    /// Identity sources seen on this conversation for this client, joined with `|`.
    pub identity_sources: String,
    /// The capture of the first request.
    pub file: String,
}

/// Group request rows into flows: one row per (client, back-side 5-tuple), ordered by
/// first request time, then client and 5-tuple.
#[derive(Default)]
pub struct FlowAggregator {
    flows: BTreeMap<(Option<IpAddr>, IpAddr, u16, IpAddr, u16), FlowAcc>,
}

struct FlowAcc {
    first_ns: i64,
    first: String,
    last_ns: i64,
    last: String,
    requests: u64,
    sources: Vec<IdentitySource>,
    file: String,
}

impl Aggregate<RequestRow> for FlowAggregator {
    type Out = FlowRow;

    fn add(&mut self, r: &RequestRow) {
        let key = (r.client_ip, r.src_ip, r.src_port, r.dst_ip, r.dst_port);
        let acc = self.flows.entry(key).or_insert_with(|| FlowAcc {
            first_ns: r.ts_ns,
            first: r.time.clone(),
            last_ns: r.ts_ns,
            last: r.time.clone(),
            requests: 0,
            sources: Vec::new(),
            file: r.file.clone(),
        });
        acc.requests += 1;
        if r.ts_ns < acc.first_ns {
            acc.first_ns = r.ts_ns;
            acc.first = r.time.clone();
        }
        if r.ts_ns >= acc.last_ns {
            acc.last_ns = r.ts_ns;
            acc.last = r.time.clone();
        }
        if let Some(source) = r.identity_source.filter(|s| !acc.sources.contains(s)) {
            acc.sources.push(source);
        }
    }

    fn rows(self) -> Vec<FlowRow> {
        let mut v: Vec<(i64, FlowRow)> = self
            .flows
            .into_iter()
            .map(|((client_ip, src_ip, src_port, dst_ip, dst_port), a)| {
                (
                    a.first_ns,
                    FlowRow {
                        client_ip,
                        src_ip,
                        src_port,
                        dst_ip,
                        dst_port,
                        first_time: a.first,
                        last_time: a.last,
                        requests: a.requests,
                        identity_sources: a
                            .sources
                            .iter()
                            .map(|s| s.name())
                            .collect::<Vec<_>>()
                            .join("|"),
                        file: a.file,
                    },
                )
            })
            .collect();
        // The BTreeMap order breaks ties; a stable sort keeps it.
        v.sort_by_key(|(t, _)| *t);
        v.into_iter().map(|(_, r)| r).collect()
    }
}

impl crate::vocab::schema::Columns for FlowRow {
    fn columns() -> Vec<crate::vocab::schema::Column> {
        use crate::vocab::schema::{Column, ColumnType::*};
        vec![
            Column::opt(
                "client_ip",
                Ip,
                "The client the requests name (empty: none named).",
            ),
            Column::req("src_ip", Ip, "Back-side source address."),
            Column::req("src_port", UInt16, "Back-side source port."),
            Column::req("dst_ip", Ip, "Back-side destination address."),
            Column::req("dst_port", UInt16, "Back-side destination port."),
            Column::req("first_time", Timestamp, "Time of the first request."),
            Column::req("last_time", Timestamp, "Time of the last request."),
            Column::req(
                "requests",
                UInt64,
                "Requests of this client on this conversation.",
            ),
            Column::req(
                "identity_sources",
                TextList { sep: "|" },
                "Identity sources seen on this conversation for this client, joined with `|`.",
            ),
            Column::req("file", Text, "The capture of the first request."),
        ]
    }
}
