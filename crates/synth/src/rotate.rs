//! Rotated captures, like `tcpdump -G SECONDS -w side-%Y%m%d%H%M%S.pcap`: one side's
//! capture (as written by this crate's writers) split into files by capture time, with
//! each boundary moved to land right after a packet that breaks a connection in a chosen
//! way ([`BoundaryKind`]), so readers of rotated files meet those cases on purpose.
//!
//! Records are copied byte for byte: the files' records, concatenated, are the input's.
//! Each file repeats the input's header (pcap global header, or pcapng section and
//! interface blocks), so each is a complete capture.

use proxytrace::decode::{self, Decoded, FiveTuple, TcpFlags};
use serde::Serialize;
use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::ops::Range;

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

fn u16_at(b: &[u8], at: usize) -> io::Result<u16> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| bad("truncated"))
}

fn u32_at(b: &[u8], at: usize) -> io::Result<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| bad("truncated"))
}

/// One packet record of a [`Capture`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub ts_ns: i64,
    /// The whole record (pcap record header or pcapng block included) in the input.
    pub raw: Range<usize>,
    /// The frame bytes in the input.
    pub data: Range<usize>,
}

/// A little-endian pcap or single-section pcapng capture, as this crate writes them.
#[derive(Debug, Clone)]
pub struct Capture {
    /// Bytes before the first record: repeated at the start of every file.
    pub header: Range<usize>,
    pub link_type: u16,
    pub records: Vec<Record>,
}

/// Read the records of `b` (pcap in either resolution, or pcapng with one section whose
/// non-packet blocks all come before the first packet: what [`crate::writer`] writes).
pub fn read(b: &[u8]) -> io::Result<Capture> {
    match u32_at(b, 0)? {
        m @ (0xa1b2_3c4d | 0xa1b2_c3d4) => read_pcap(b, m == 0xa1b2_3c4d),
        0x0a0d_0d0a => read_pcapng(b),
        _ => Err(bad("not a little-endian pcap or pcapng")),
    }
}

fn read_pcap(b: &[u8], nano: bool) -> io::Result<Capture> {
    let link_type = u32_at(b, 20)? as u16;
    let mut records = Vec::new();
    let mut at = 24;
    while at < b.len() {
        let (sec, frac, incl) = (u32_at(b, at)?, u32_at(b, at + 4)?, u32_at(b, at + 8)?);
        let end = at + 16 + incl as usize;
        if end > b.len() {
            return Err(bad("record runs past the end"));
        }
        let frac_ns = if nano { frac } else { frac * 1000 };
        records.push(Record {
            ts_ns: i64::from(sec) * 1_000_000_000 + i64::from(frac_ns),
            raw: at..end,
            data: at + 16..end,
        });
        at = end;
    }
    Ok(Capture {
        header: 0..24,
        link_type,
        records,
    })
}

fn read_pcapng(b: &[u8]) -> io::Result<Capture> {
    let mut at = 0;
    let mut header_end = None;
    let mut link_type = None;
    let mut units_per_sec = 1_000_000u64;
    let mut records = Vec::new();
    while at < b.len() {
        let (ty, len) = (u32_at(b, at)?, u32_at(b, at + 4)? as usize);
        let end = at + len;
        if len < 12 || end > b.len() {
            return Err(bad("bad block length"));
        }
        match ty {
            // Enhanced packet block: interface, ts high, ts low, caplen, orig len, data.
            6 => {
                header_end.get_or_insert(at);
                let ts = (u64::from(u32_at(b, at + 12)?) << 32) | u64::from(u32_at(b, at + 16)?);
                let cap = u32_at(b, at + 20)? as usize;
                if at + 28 + cap > end {
                    return Err(bad("packet runs past its block"));
                }
                let ns = u128::from(ts) * 1_000_000_000 / u128::from(units_per_sec);
                records.push(Record {
                    ts_ns: i64::try_from(ns).map_err(|_| bad("timestamp"))?,
                    raw: at..end,
                    data: at + 28..at + 28 + cap,
                });
            }
            _ if header_end.is_some() => return Err(bad("a non-packet block after packets")),
            // Interface description: link type, then options (if_tsresol = 9).
            1 => {
                if link_type.replace(u16_at(b, at + 8)?).is_some() {
                    return Err(bad("more than one interface"));
                }
                let mut o = at + 16;
                while o + 4 <= end - 4 {
                    let (code, olen) = (u16_at(b, o)?, usize::from(u16_at(b, o + 2)?));
                    if code == 0 {
                        break;
                    }
                    if code == 9 && olen == 1 {
                        let r = b[o + 4];
                        units_per_sec = if r & 0x80 == 0 {
                            10u64.pow(u32::from(r))
                        } else {
                            1u64 << (r & 0x7f)
                        };
                    }
                    o += 4 + olen.div_ceil(4) * 4;
                }
            }
            _ => {}
        }
        at = end;
    }
    Ok(Capture {
        header: 0..header_end.unwrap_or(b.len()),
        link_type: link_type.ok_or_else(|| bad("no interface"))?,
        records,
    })
}

/// How a rotation boundary breaks a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BoundaryKind {
    /// BACK: a PROXY preamble (v1 or v2) alone in a segment ends the file; the request
    /// head starts in the next one.
    PreambleEnd,
    /// FRONT: a client SYN ends the file; the SYN+ACK, ACK and request are in the next.
    Syn,
    /// BACK: the first segment of a request head (not its last) ends the file.
    SplitHead,
}

/// What one record is, as far as picking boundaries needs.
struct Seg {
    tuple: Option<FiveTuple>,
    flags: TcpFlags,
    seq: u32,
    payload: Range<usize>,
}

const METHODS: [&[u8]; 4] = [b"GET ", b"POST ", b"PUT ", b"DELETE "];

fn is_head_start(p: &[u8]) -> bool {
    METHODS.iter().any(|m| p.starts_with(m))
}

/// A whole PROXY v1 line or v2 header, and nothing else.
fn is_whole_preamble(p: &[u8]) -> bool {
    const V2: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";
    if p.starts_with(b"PROXY ") {
        return p.len() <= 107 && p.ends_with(b"\r\n") && memchr_crlf(p) == p.len() - 2;
    }
    p.len() >= 16
        && p.starts_with(V2)
        && usize::from(u16::from_be_bytes([p[14], p[15]])) + 16 == p.len()
}

fn memchr_crlf(p: &[u8]) -> usize {
    p.windows(2).position(|w| w == b"\r\n").unwrap_or(p.len())
}

fn unordered(t: &FiveTuple) -> FiveTuple {
    let r = t.reversed();
    if (t.src_ip, t.src_port) <= (r.src_ip, r.src_port) {
        *t
    } else {
        r
    }
}

/// The packets of one capture with the links needed to find boundary events.
pub struct Events {
    segs: Vec<Seg>,
    /// Next payload-carrying record of the same direction.
    next_payload: Vec<Option<usize>>,
    /// Next record of the same connection (either direction).
    next_conn: Vec<Option<usize>>,
    /// No earlier payload in this direction.
    first_payload: Vec<bool>,
}

impl Events {
    /// Decode `cap`'s records (frames in `bytes`).
    pub fn new(bytes: &[u8], cap: &Capture) -> Events {
        let segs: Vec<Seg> = cap
            .records
            .iter()
            .map(|r| {
                let d = &bytes[r.data.clone()];
                let none = Seg {
                    tuple: None,
                    flags: TcpFlags(0),
                    seq: 0,
                    payload: 0..0,
                };
                match decode::decode(cap.link_type, d, d.len() as u32, r.ts_ns) {
                    Ok(Decoded::Ip(p)) => match p.tcp() {
                        Some(t) => {
                            // The payload is a subslice of `d`: find where it starts.
                            let off = t.payload.as_ptr() as usize - d.as_ptr() as usize;
                            let start = r.data.start + off;
                            Seg {
                                tuple: p.five_tuple(),
                                flags: t.flags,
                                seq: t.seq,
                                payload: start..start + t.payload.len(),
                            }
                        }
                        None => none,
                    },
                    _ => none,
                }
            })
            .collect();
        let n = segs.len();
        let (mut next_payload, mut next_conn) = (vec![None; n], vec![None; n]);
        let mut first_payload = vec![false; n];
        let (mut dir, mut conn) = (HashMap::new(), HashMap::new());
        for i in (0..n).rev() {
            let Some(t) = segs[i].tuple else { continue };
            next_conn[i] = conn.insert(unordered(&t), i);
            if !segs[i].payload.is_empty() {
                next_payload[i] = dir.insert(t, i);
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, s) in segs.iter().enumerate() {
            if let (Some(t), false) = (s.tuple, s.payload.is_empty()) {
                first_payload[i] = seen.insert(t);
            }
        }
        Events {
            segs,
            next_payload,
            next_conn,
            first_payload,
        }
    }

    /// When record `i` is an event of `kind`, the record that continues it.
    pub fn fits(&self, bytes: &[u8], i: usize, kind: BoundaryKind) -> Option<usize> {
        let s = &self.segs[i];
        let p = &bytes[s.payload.clone()];
        // The next segment of the same direction continues this one's bytes.
        let continued = || {
            let j = self.next_payload[i]?;
            let follows = self.segs[j].seq == s.seq.wrapping_add(p.len() as u32);
            follows.then_some(j)
        };
        match kind {
            BoundaryKind::Syn => {
                if !s.flags.syn() || s.flags.ack() {
                    return None;
                }
                let j = self.next_conn[i]?;
                let n = &self.segs[j];
                (n.flags.syn() && n.flags.ack() && n.tuple == s.tuple.map(|t| t.reversed()))
                    .then_some(j)
            }
            BoundaryKind::PreambleEnd => {
                if !self.first_payload[i] || !is_whole_preamble(p) {
                    return None;
                }
                let j = continued()?;
                is_head_start(&bytes[self.segs[j].payload.clone()]).then_some(j)
            }
            BoundaryKind::SplitHead => {
                let whole = p.windows(4).any(|w| w == b"\r\n\r\n");
                if !is_head_start(p) || whole {
                    return None;
                }
                continued()
            }
        }
    }

    /// The directed 4-tuple (and protocol) of record `i`.
    pub fn tuple(&self, i: usize) -> Option<FiveTuple> {
        self.segs[i].tuple
    }
}

/// A boundary moved onto an event: the file starting at `cut` begins right after the
/// event's packet (`cut - 1`), and `continuation` (in that file) carries on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// Index of the first record of the next file.
    pub cut: usize,
    /// The event placed there, when one was found near the nominal time.
    pub event: Option<(BoundaryKind, FiveTuple, usize)>,
}

/// Where to start new files: one boundary per `rotate_ns` of capture time after
/// `base_ns`, each moved to right after the first event at or after the nominal time and
/// before the next nominal time. The kinds take turns: the one after the last placed kind
/// is looked for first, then the others (rare events would otherwise be skipped for
/// lack of one in their turn's window). A boundary with no event stays at the nominal
/// time. `nominal[k]` is file k's nominal start. The records must be in time order
/// (see [`in_time_order`]).
pub fn plan(
    bytes: &[u8],
    cap: &Capture,
    base_ns: i64,
    rotate_ns: i64,
    kinds: &[BoundaryKind],
) -> (Vec<Cut>, Vec<i64>) {
    let ev = Events::new(bytes, cap);
    let recs = &cap.records;
    let n = recs.len();
    let (mut cuts, mut nominal) = (Vec::new(), vec![base_ns]);
    let (mut min_next, mut next_kind) = (1, 0);
    for k in 1i64.. {
        let t = base_ns.saturating_add(k.saturating_mul(rotate_ns));
        let s = recs.partition_point(|r| r.ts_ns < t).max(min_next);
        if s >= n {
            break;
        }
        let end = recs.partition_point(|r| r.ts_ns < t.saturating_add(rotate_ns));
        let order = (0..kinds.len()).map(|x| kinds[(next_kind + x) % kinds.len()]);
        let found = order
            .flat_map(|kind| (s..end.min(n - 1)).map(move |i| (kind, i)))
            .find_map(|(kind, i)| Some((kind, i, ev.fits(bytes, i, kind)?, ev.tuple(i)?)));
        let c = match found {
            Some((kind, i, j, tuple)) => {
                min_next = j + 1;
                let placed = kinds.iter().position(|&x| x == kind).unwrap_or(0);
                next_kind = (placed + 1) % kinds.len();
                Cut {
                    cut: i + 1,
                    event: Some((kind, tuple, j)),
                }
            }
            None => {
                min_next = s + 1;
                Cut {
                    cut: s,
                    event: None,
                }
            }
        };
        cuts.push(c);
        nominal.push(t);
    }
    (cuts, nominal)
}

/// Whether no record's time is before the previous one's (what [`plan`] needs).
pub fn in_time_order(cap: &Capture) -> bool {
    cap.records.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns)
}

/// The bytes of each file: header + its records, for the cuts of [`plan`].
pub fn files(bytes: &[u8], cap: &Capture, cuts: &[Cut]) -> Vec<Vec<u8>> {
    let mut starts: Vec<usize> = vec![0];
    starts.extend(cuts.iter().map(|c| c.cut));
    starts.push(cap.records.len());
    starts
        .windows(2)
        .map(|w| {
            let mut f = bytes[cap.header.clone()].to_vec();
            if w[1] > w[0] {
                let r = cap.records[w[0]].raw.start..cap.records[w[1] - 1].raw.end;
                f.extend_from_slice(&bytes[r]);
            }
            f
        })
        .collect()
}

/// `YYYYmmddHHMMSS` (UTC) of a time in ns since the epoch, as tcpdump's `%Y%m%d%H%M%S`.
pub fn stamp(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// One line of `boundaries.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoundaryLine {
    pub sensor: u8,
    /// `front` or `back`.
    pub side: &'static str,
    pub kind: BoundaryKind,
    /// Paths relative to the output directory.
    pub file_before: String,
    pub file_after: String,
    /// The connection's client -> server addresses as they appear in that capture.
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub dst_ip: IpAddr,
    pub dst_port: u16,
}
