//! What `carve` writes: a set of TCP connections, each a 4-tuple taken in either
//! direction, from `--tuple` arguments, a `requests`/`join` CSV, or the rows of a query.

use crate::collections::hashing::{HashMap, HashSet};
use std::io::Read;
use std::net::{IpAddr, SocketAddr};

/// Most connections one selection holds (4,194,304, about 250 MB of tables). A selection
/// that would grow past it is refused (narrow the query), never cut silently.
pub const MAX_SELECTED: usize = 1 << 22;

/// A TCP connection whatever the direction of its packets: its two endpoints, the
/// smaller first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnKey {
    lo: (IpAddr, u16),
    hi: (IpAddr, u16),
}

impl ConnKey {
    /// The connection between `a` and `b`, in either direction.
    pub fn new(a: (IpAddr, u16), b: (IpAddr, u16)) -> ConnKey {
        let a = (canonical(a.0), a.1);
        let b = (canonical(b.0), b.1);
        if a <= b {
            ConnKey { lo: a, hi: b }
        } else {
            ConnKey { lo: b, hi: a }
        }
    }

    /// Its two endpoints, the smaller first.
    pub fn endpoints(&self) -> (SocketAddr, SocketAddr) {
        (SocketAddr::from(self.lo), SocketAddr::from(self.hi))
    }

    fn hosts(&self) -> (IpAddr, IpAddr) {
        (self.lo.0, self.hi.0)
    }
}

/// IPv4-mapped IPv6 addresses as IPv4, as the decoder and the rows print them.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Why a selection could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SelectionError {
    /// More connections than [`MAX_SELECTED`].
    #[error("more than {MAX_SELECTED} connections selected; narrow the selection")]
    TooMany,
    /// A `--tuple` value that is not `SRC_IP:PORT-DST_IP:PORT`.
    #[error("{value:?} is not a connection: write SRC_IP:PORT-DST_IP:PORT (IPv6 in brackets, e.g. [2001:db8::1]:443-[2001:db8::2]:8080)")]
    BadTuple {
        /// The value given.
        value: String,
    },
    /// The CSV could not be read.
    #[error("cannot read the CSV")]
    Csv(#[source] csv::Error),
    /// The CSV header names neither set of connection columns.
    #[error("the CSV header has no src_ip,src_port,dst_ip,dst_port (nor front_src_ip,front_src_port,front_dst_ip,front_dst_port) columns: give a `requests`, `connections` or `join` CSV with its header")]
    NoColumns,
    /// A cell that should hold an address or a port does not.
    #[error("CSV line {line}: column {column}: {value:?} is not {what}")]
    BadCell {
        /// 1-based line of the CSV (the header is line 1).
        line: u64,
        /// The column's name.
        column: &'static str,
        /// The cell.
        value: String,
        /// What it should be.
        what: &'static str,
    },
}

/// How a CSV fed the selection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CsvSelection {
    /// Data rows read.
    pub rows: u64,
    /// Connections named (before de-duplication): one or two per row.
    pub tuples: u64,
    /// Rows whose front columns were empty (a `join` row without a front connection).
    pub rows_without_front: u64,
}

/// The connections `carve` writes, and the address pairs they join (to count the
/// packets between those hosts that are not written: later IP fragments, ICMP, UDP).
#[derive(Debug, Default)]
pub struct Selection {
    /// Connection -> its ordinal (the index into per-connection tallies).
    conns: HashMap<ConnKey, u32>,
    /// Each connection's key, by ordinal.
    order: Vec<ConnKey>,
    hosts: HashSet<(IpAddr, IpAddr)>,
}

impl Selection {
    /// Add the connection between `a` and `b` (either direction). `Ok(false)` when it was
    /// selected already.
    pub fn add(&mut self, a: SocketAddr, b: SocketAddr) -> Result<bool, SelectionError> {
        let key = ConnKey::new((a.ip(), a.port()), (b.ip(), b.port()));
        if self.conns.contains_key(&key) {
            return Ok(false);
        }
        if self.order.len() >= MAX_SELECTED {
            return Err(SelectionError::TooMany);
        }
        self.conns.insert(key, self.order.len() as u32);
        self.order.push(key);
        self.hosts.insert(key.hosts());
        Ok(true)
    }

    /// Connections selected.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Nothing is selected.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The selected connections, in the order they were added.
    pub fn connections(&self) -> &[ConnKey] {
        &self.order
    }

    /// The ordinal of the connection between `a` and `b`, if selected.
    pub fn find(&self, a: (IpAddr, u16), b: (IpAddr, u16)) -> Option<u32> {
        self.conns.get(&ConnKey::new(a, b)).copied()
    }

    /// Whether `a` and `b` are the two hosts of a selected connection.
    pub fn joins_hosts(&self, a: IpAddr, b: IpAddr) -> bool {
        let (a, b) = (canonical(a), canonical(b));
        let pair = if a <= b { (a, b) } else { (b, a) };
        self.hosts.contains(&pair)
    }

    /// Add every connection a CSV with a header names: its `src_ip,src_port,dst_ip,dst_port`
    /// columns (`requests`, `flows`, `connections`, `syns`, the back side of `join`) and its
    /// `front_src_ip,front_src_port,front_dst_ip,front_dst_port` columns (`join`'s front
    /// connection; rows without one leave them empty). A cell that is not an address or
    /// a port is an error with its line, not a row skipped.
    pub fn add_csv(&mut self, reader: impl Read) -> Result<CsvSelection, SelectionError> {
        const BACK: [&str; 4] = ["src_ip", "src_port", "dst_ip", "dst_port"];
        const FRONT: [&str; 4] = [
            "front_src_ip",
            "front_src_port",
            "front_dst_ip",
            "front_dst_port",
        ];
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(reader);
        let header = r.headers().map_err(SelectionError::Csv)?.clone();
        let columns = |names: [&'static str; 4]| -> Option<[(usize, &'static str); 4]> {
            let mut at = [(0, ""); 4];
            for (slot, name) in at.iter_mut().zip(names) {
                *slot = (header.iter().position(|h| h == name)?, name);
            }
            Some(at)
        };
        let sets: Vec<_> = [columns(BACK), columns(FRONT)]
            .into_iter()
            .flatten()
            .collect();
        if sets.is_empty() {
            return Err(SelectionError::NoColumns);
        }
        let mut out = CsvSelection::default();
        let mut rec = csv::StringRecord::new();
        while r.read_record(&mut rec).map_err(SelectionError::Csv)? {
            out.rows += 1;
            let line = rec.position().map_or(0, |p| p.line());
            for set in &sets {
                let cell = |i: usize| rec.get(set[i].0).unwrap_or("");
                let front = set[0].1 == FRONT[0];
                if front && (0..4).all(|i| cell(i).is_empty()) {
                    out.rows_without_front += 1;
                    continue;
                }
                let bad = |i: usize, what| SelectionError::BadCell {
                    line,
                    column: set[i].1,
                    value: cell(i).to_string(),
                    what,
                };
                let ip = |i: usize| {
                    cell(i)
                        .parse::<IpAddr>()
                        .map_err(|_| bad(i, "an IP address"))
                };
                let port = |i: usize| cell(i).parse::<u16>().map_err(|_| bad(i, "a port"));
                let a = SocketAddr::new(ip(0)?, port(1)?);
                let b = SocketAddr::new(ip(2)?, port(3)?);
                out.tuples += 1;
                self.add(a, b)?;
            }
        }
        Ok(out)
    }
}

/// Parse `SRC_IP:PORT-DST_IP:PORT` (IPv6 addresses in brackets).
pub fn parse_tuple(s: &str) -> Result<(SocketAddr, SocketAddr), SelectionError> {
    let bad = || SelectionError::BadTuple {
        value: s.to_string(),
    };
    // No socket address contains '-', so the first one separates the two.
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let a: SocketAddr = a.trim().parse().map_err(|_| bad())?;
    let b: SocketAddr = b.trim().parse().map_err(|_| bad())?;
    Ok((a, b))
}
