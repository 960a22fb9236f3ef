//! [`ClientView`]: what the page shows about one client, collected from the rows of a
//! run (requests or join rows, the client's SYNs, other addresses' SYNs with its
//! signatures), every list capped and every cap counted.

use super::{MAX_CLIENT_SIGNATURES, MAX_SHARED_ADDRESSES, MAX_TALLY_VALUES};
use crate::commands::join::{Confidence, JoinMethod, JoinRow};
use crate::extract::connections::FirstProtocol;
use crate::extract::handshakes::SynRow;
use crate::extract::requests::RequestRow;
use crate::fingerprint::without_fast_open;
use crate::timefmt::parse_rfc3339;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// One back-side request of the client, with its join when a front side was given.
#[derive(Debug, Clone)]
pub(super) struct RequestEntry {
    /// The `requests` row.
    pub request: RequestRow,
    /// How it joined (with a front side).
    pub join: Option<JoinPart>,
}

/// The join columns the page shows for a request.
#[derive(Debug, Clone)]
pub(super) struct JoinPart {
    pub method: JoinMethod,
    pub confidence: Confidence,
    pub candidates: u32,
    /// The joined front connection: client port, SYN time (front clock) as written and
    /// as nanoseconds.
    pub front: Option<(u16, String, Option<i64>)>,
    /// The joined SYN's OS (`name flavor`, `???`) and signature.
    pub os: Option<String>,
    pub signature: Option<String>,
    /// `http1`, or what a back connection without a request carried (TLS passthrough).
    pub back_protocol: FirstProtocol,
}

/// One front connection of the client: its SYN.
#[derive(Debug, Clone)]
pub(super) struct Connection {
    pub syn: SynRow,
    /// `syn.time` in nanoseconds (front clock); `None` if it could not be read back.
    pub ts_ns: Option<i64>,
}

/// One stack (p0f signature) seen from the client's address.
#[derive(Debug, Clone)]
pub(super) struct Stack {
    pub os: String,
    pub syns: u64,
    pub first: String,
    pub last: String,
    pub ttls: BTreeSet<u8>,
}

/// Another address that sent a SYN with one of the client's signatures.
#[derive(Debug, Clone)]
pub(super) struct SharedAddress {
    pub syns: u64,
    pub first: String,
    pub last: String,
}

/// The other addresses seen with one of the client's signatures.
#[derive(Debug, Clone, Default)]
pub(super) struct Shared {
    /// Up to [`MAX_SHARED_ADDRESSES`] addresses.
    pub addresses: BTreeMap<IpAddr, SharedAddress>,
    /// SYNs from addresses beyond the cap (not listed).
    pub unlisted_syns: u64,
}

/// Counts of distinct text values, at most [`MAX_TALLY_VALUES`] of them; later new
/// values are counted together.
#[derive(Debug, Clone, Default)]
pub(super) struct Tally {
    pub counts: BTreeMap<String, u64>,
    /// Occurrences of values that found the table full.
    pub other: u64,
}

impl Tally {
    pub fn add(&mut self, value: &str) {
        if let Some(n) = self.counts.get_mut(value) {
            *n += 1;
        } else if self.counts.len() < MAX_TALLY_VALUES {
            self.counts.insert(value.to_owned(), 1);
        } else {
            self.other += 1;
        }
    }

    /// The values, most frequent first (ties by value).
    pub fn by_count(&self) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self.counts.iter().map(|(k, &n)| (k.as_str(), n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v
    }
}

/// How the front side's times were put on the back side's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Offset {
    /// `--clock-offset`.
    Given(i64),
    /// The offset the join used, read off a joined row (request time - delta - SYN time).
    Joined(i64),
    /// No joined row and none given: front times are plotted as captured.
    Unknown,
}

impl Offset {
    /// The offset to add to a front time (0 when unknown).
    pub fn ns(self) -> i64 {
        match self {
            Offset::Given(o) | Offset::Joined(o) => o,
            Offset::Unknown => 0,
        }
    }
}

/// Everything the page shows about one client.
#[derive(Debug, Clone)]
pub struct ClientView {
    pub(super) client: IpAddr,
    pub(super) max_rows: usize,
    pub(super) back_files: Vec<String>,
    pub(super) front_files: Option<Vec<String>>,
    pub(super) requests: Vec<RequestEntry>,
    pub(super) requests_total: u64,
    pub(super) first_request: Option<String>,
    pub(super) last_request: Option<String>,
    pub(super) identity_sources: Tally,
    pub(super) spoof_suspects: u64,
    pub(super) spoof_reasons: Tally,
    pub(super) flags: Tally,
    pub(super) hosts: Tally,
    pub(super) user_agents: Tally,
    pub(super) join_methods: BTreeMap<JoinMethod, u64>,
    pub(super) join_confidence: BTreeMap<Confidence, u64>,
    /// Requests joined to each front connection, by (client port, SYN time as written);
    /// at most `max_rows` connections, the rest counted in `joined_elsewhere`.
    pub(super) joined_to: BTreeMap<(u16, String), u64>,
    pub(super) joined_elsewhere: u64,
    pub(super) offset: Offset,
    pub(super) connections: Vec<Connection>,
    pub(super) syns_total: u64,
    pub(super) stacks: BTreeMap<String, Stack>,
    /// SYNs whose signature found [`ClientView::stacks`] full.
    pub(super) unlisted_stack_syns: u64,
    pub(super) shared: BTreeMap<String, Shared>,
    pub(super) notes: Vec<String>,
    /// The run's losses and caps that are not zero, one line each.
    pub(super) losses: Vec<String>,
    pub(super) failed_files: Vec<(String, String)>,
    pub(super) interrupted: bool,
}

impl ClientView {
    /// An empty view of `client`, drawing at most `max_rows` rows per table.
    pub(super) fn new(client: IpAddr, max_rows: usize) -> ClientView {
        ClientView {
            client: client.to_canonical(),
            max_rows,
            back_files: Vec::new(),
            front_files: None,
            requests: Vec::new(),
            requests_total: 0,
            first_request: None,
            last_request: None,
            identity_sources: Tally::default(),
            spoof_suspects: 0,
            spoof_reasons: Tally::default(),
            flags: Tally::default(),
            hosts: Tally::default(),
            user_agents: Tally::default(),
            join_methods: BTreeMap::new(),
            join_confidence: BTreeMap::new(),
            joined_to: BTreeMap::new(),
            joined_elsewhere: 0,
            offset: Offset::Unknown,
            connections: Vec::new(),
            syns_total: 0,
            stacks: BTreeMap::new(),
            unlisted_stack_syns: 0,
            shared: BTreeMap::new(),
            notes: Vec::new(),
            losses: Vec::new(),
            failed_files: Vec::new(),
            interrupted: false,
        }
    }

    /// The client the page is about.
    pub fn client(&self) -> IpAddr {
        self.client
    }

    /// The client's back-side requests (all of them, drawn or not).
    pub fn requests_total(&self) -> u64 {
        self.requests_total
    }

    /// The client's front-side SYNs (all of them, drawn or not).
    pub fn syns_total(&self) -> u64 {
        self.syns_total
    }

    /// Count a back-side request (back side only).
    pub(super) fn add_request(&mut self, request: RequestRow) {
        self.add_entry(RequestEntry {
            request,
            join: None,
        });
    }

    /// Count a joined request.
    pub(super) fn add_join_row(&mut self, row: JoinRow) {
        let JoinRow {
            request,
            front,
            syn,
            join,
        } = row;
        *self.join_methods.entry(join.join_method).or_default() += 1;
        *self
            .join_confidence
            .entry(join.join_confidence)
            .or_default() += 1;
        let syn_ns = front.front_syn_time.as_deref().and_then(parse_rfc3339);
        if self.offset == Offset::Unknown {
            if let (Some(syn_ns), Some(delta)) = (syn_ns, join.join_delta_ns) {
                // delta = (request - offset) - SYN, so the offset the join used is:
                self.offset = Offset::Joined(request.ts_ns - delta - syn_ns);
            }
        }
        let front = match (front.front_src_port, front.front_syn_time) {
            (Some(port), Some(time)) => {
                let key = (port, time.clone());
                if let Some(n) = self.joined_to.get_mut(&key) {
                    *n += 1;
                } else if self.joined_to.len() < self.max_rows {
                    self.joined_to.insert(key, 1);
                } else {
                    self.joined_elsewhere += 1;
                }
                Some((port, time, syn_ns))
            }
            _ => None,
        };
        let join = JoinPart {
            method: join.join_method,
            confidence: join.join_confidence,
            candidates: join.join_candidates,
            front,
            os: syn.as_ref().map(os_text),
            signature: syn.map(|s| s.signature),
            back_protocol: join.back_protocol,
        };
        self.add_entry(RequestEntry {
            request,
            join: Some(join),
        });
    }

    fn add_entry(&mut self, e: RequestEntry) {
        let r = &e.request;
        self.requests_total += 1;
        if self.first_request.is_none() {
            self.first_request = Some(r.time.clone());
        }
        self.last_request = Some(r.time.clone());
        match r.identity_source {
            Some(s) => self.identity_sources.add(&s.name()),
            None => self.identity_sources.add("(none)"),
        }
        if r.spoof_suspect {
            self.spoof_suspects += 1;
        }
        for reason in r.spoof_reasons.split('|').filter(|s| !s.is_empty()) {
            self.spoof_reasons.add(reason);
        }
        for flag in r.flags.split('|').filter(|s| !s.is_empty()) {
            self.flags.add(flag);
        }
        self.hosts.add(&r.host);
        self.user_agents.add(&r.user_agent);
        if self.requests.len() < self.max_rows {
            self.requests.push(e);
        }
    }

    /// Count one of the client's SYN rows (SYN+ACKs and other senders are skipped).
    pub(super) fn add_client_syn(&mut self, syn: SynRow) {
        if syn.direction != "syn" || syn.src_ip.to_canonical() != self.client {
            return;
        }
        self.syns_total += 1;
        if let Some(s) = self.stacks.get_mut(&syn.signature) {
            s.syns += 1;
            s.last.clone_from(&syn.time);
            s.ttls.insert(syn.ttl);
        } else if self.stacks.len() < MAX_CLIENT_SIGNATURES {
            self.stacks.insert(
                syn.signature.clone(),
                Stack {
                    os: os_text(&syn),
                    syns: 1,
                    first: syn.time.clone(),
                    last: syn.time.clone(),
                    ttls: BTreeSet::from([syn.ttl]),
                },
            );
        } else {
            self.unlisted_stack_syns += 1;
        }
        if self.connections.len() < self.max_rows {
            let ts_ns = parse_rfc3339(&syn.time);
            self.connections.push(Connection { syn, ts_ns });
        }
    }

    /// Count another address's SYN when it carries one of the client's signatures.
    pub(super) fn add_other_syn(&mut self, syn: &SynRow) {
        let ip = syn.src_ip.to_canonical();
        if syn.direction != "syn" || ip == self.client || !self.stacks.contains_key(&syn.signature)
        {
            return;
        }
        let shared = self.shared.entry(syn.signature.clone()).or_default();
        if let Some(a) = shared.addresses.get_mut(&ip) {
            a.syns += 1;
            a.last.clone_from(&syn.time);
        } else if shared.addresses.len() < MAX_SHARED_ADDRESSES {
            shared.addresses.insert(
                ip,
                SharedAddress {
                    syns: 1,
                    first: syn.time.clone(),
                    last: syn.time.clone(),
                },
            );
        } else {
            shared.unlisted_syns += 1;
        }
    }

    /// Several stacks behind the client's address (NAT, a shared proxy): signatures that
    /// differ other than by TCP Fast Open (as `syns --summary`'s `nat_hint`).
    pub(super) fn nat_hint(&self) -> bool {
        let stacks: BTreeSet<String> = self.stacks.keys().map(|s| without_fast_open(s)).collect();
        stacks.len() > 1
    }
}

/// The OS of a SYN as p0f names it: `name flavor`, `???` for none.
fn os_text(r: &SynRow) -> String {
    match (&r.os_name, r.os_flavor.as_deref()) {
        (None, _) => "???".to_string(),
        (Some(name), None | Some("")) => name.clone(),
        (Some(name), Some(flavor)) => format!("{name} {flavor}"),
    }
}
