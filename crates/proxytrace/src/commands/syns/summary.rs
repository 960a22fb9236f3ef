//! `proxytrace syns --summary`: SYN rows folded into one row per client address.

use crate::collections::hashing::HashMap;
use crate::extract::handshakes::SynRow;
use crate::fingerprint::without_fast_open;
use crate::pipeline::Aggregate;
use serde::Serialize;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// One `--summary` row: what one client address showed in its SYNs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientSummaryRow {
    /// The client address.
    pub client_ip: IpAddr,
    /// SYN rows (retransmissions not counted).
    pub syns: u64,
    /// Distinct p0f signatures.
    pub signatures: usize,
    /// Distinct TTLs, ascending, a bracketed list (`[59,123]`).
    pub ttls: String,
    /// Distinct MSS values, ascending, a bracketed list (`null` for none: `[null,1460]`).
    pub mss_values: String,
    /// Distinct OS matches (`name flavor`, `???` for none), sorted, `;`-separated.
    pub oses: String,
    /// Time of the first SYN.
    pub first_seen: String,
    /// Time of the last SYN.
    pub last_seen: String,
    /// More than one stack behind the address (NAT, shared proxy): signatures that
    /// differ other than by TCP Fast Open, which one host uses on some connections only
    /// ([`without_fast_open`]).
    pub nat_hint: bool,
}

#[derive(Debug, Clone)]
struct ClientAgg {
    syns: u64,
    signatures: BTreeSet<String>,
    /// The signatures without Fast Open's marks: one per stack.
    stacks: BTreeSet<String>,
    ttls: BTreeSet<u8>,
    mss: BTreeSet<Option<u16>>,
    oses: BTreeSet<String>,
    first: String,
    last: String,
}

/// Aggregates SYN rows per client IP, in order of first appearance.
#[derive(Debug, Clone, Default)]
pub struct ClientSummary {
    order: Vec<IpAddr>,
    by_ip: HashMap<IpAddr, ClientAgg>,
}

/// The OS column of a match as p0f names it: `name flavor`, `???` for none.
fn os_text(r: &SynRow) -> String {
    match (&r.os_name, r.os_flavor.as_deref()) {
        (None, _) => "???".to_string(),
        (Some(name), None | Some("")) => name.clone(),
        (Some(name), Some(flavor)) => format!("{name} {flavor}"),
    }
}

impl Aggregate<SynRow> for ClientSummary {
    type Out = ClientSummaryRow;

    /// Count a SYN (SYN+ACKs are the server's and are ignored).
    fn add(&mut self, r: &SynRow) {
        if r.direction != "syn" {
            return;
        }
        let ip = r.src_ip;
        let agg = self.by_ip.entry(ip).or_insert_with(|| {
            self.order.push(ip);
            ClientAgg {
                syns: 0,
                signatures: BTreeSet::new(),
                stacks: BTreeSet::new(),
                ttls: BTreeSet::new(),
                mss: BTreeSet::new(),
                oses: BTreeSet::new(),
                first: r.time.clone(),
                last: String::new(),
            }
        });
        agg.syns += 1;
        if agg.signatures.insert(r.signature.clone()) {
            agg.stacks.insert(without_fast_open(&r.signature));
        }
        agg.ttls.insert(r.ttl);
        agg.mss.insert(r.mss);
        agg.oses.insert(os_text(r));
        agg.last = r.time.clone();
    }

    /// Rows in order of each client's first SYN.
    fn rows(self) -> Vec<ClientSummaryRow> {
        let join = |it: &mut dyn Iterator<Item = String>| it.collect::<Vec<_>>().join(";");
        // Numbers as a bracketed list: never one bare number, which a reader guessing
        // types would take for an integer column and then fail on the first list.
        let list =
            |it: &mut dyn Iterator<Item = String>| format!("[{}]", join(it).replace(';', ","));
        self.order
            .iter()
            .filter_map(|ip| {
                let a = self.by_ip.get(ip)?;
                Some(ClientSummaryRow {
                    client_ip: *ip,
                    syns: a.syns,
                    signatures: a.signatures.len(),
                    ttls: list(&mut a.ttls.iter().map(u8::to_string)),
                    mss_values: list(
                        &mut a
                            .mss
                            .iter()
                            .map(|m| m.map_or_else(|| "null".to_string(), |m| m.to_string())),
                    ),
                    oses: join(&mut a.oses.iter().cloned()),
                    first_seen: a.first.clone(),
                    last_seen: a.last.clone(),
                    nat_hint: a.stacks.len() > 1,
                })
            })
            .collect()
    }
}

impl crate::vocab::schema::Columns for ClientSummaryRow {
    fn columns() -> Vec<crate::vocab::schema::Column> {
        use crate::vocab::schema::{Column, ColumnType::*};
        vec![
            Column::req("client_ip", Ip, "The client address."),
            Column::req("syns", UInt64, "SYN rows (retransmissions not counted)."),
            Column::req("signatures", UInt64, "Distinct p0f signatures."),
            Column::req("ttls", UIntList, "Distinct TTLs, ascending, a bracketed list (`[59,123]`)."),
            Column::req("mss_values", UIntList, "Distinct MSS values, ascending, a bracketed list (`null` for none: `[null,1460]`)."),
            Column::req("oses", TextList { sep: ";" }, "Distinct OS matches (`name flavor`, `???` for none), sorted, `;`-separated."),
            Column::req("first_seen", Timestamp, "Time of the first SYN."),
            Column::req("last_seen", Timestamp, "Time of the last SYN."),
            Column::req("nat_hint", Bool, "More than one stack behind the address (NAT, shared proxy): signatures that differ other than by TCP Fast Open, which one host uses on some connections only."),
        ]
    }
}
