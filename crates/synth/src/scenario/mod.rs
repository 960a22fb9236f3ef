//! A seeded FRONT/BACK capture pair and its truth file.
//!
//! FRONT: clients -> load balancer (sensor 0: 203.0.113.10 / 2001:db8:ffff::10, ports 80
//! and 443; other sensors: [`SensorAddrs`]).
//! BACK: load balancer 10.0.0.2 -> backends 10.0.1.1-16:8080 (sensor 0), carrying each front
//! connection's HTTP requests with the client's identity (headers, PROXY preamble, or
//! transparent source address). Every back-side request gets one [`TruthRecord`] line.
//!
//! Connections are generated one "unit" at a time (one back connection and the front
//! connections it serves); a unit's packets never overlap in time with the next unit's, so
//! both files are in time order. Everything derives from the seed through [`Rng`].

use super::packet::{self, IpIdMode, IpParams, Link, SynPreset, TcpPacket, VlanTag};
use super::rng::Rng;
use super::writer::{AnyWriter, NgInterface, NgWriter, PacketSink, PcapConfig, PcapWriter};
use proxytrace::capture::ByteOrder;
use proxytrace::decode::{FiveTuple, IpProto, TcpFlags};
use serde::Serialize;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    Pcap,
    PcapNg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    Ethernet,
    /// Ethernet with one 802.1Q tag (VLAN 100 front, 200 back).
    Vlan,
    Sll2,
}

/// What request and response bodies (and the front side's opaque TLS blobs) are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Bodies {
    /// Adversarial filler: 5 of its 9 kinds of line look like identity headers or PROXY
    /// preambles (`X-Forwarded-For: 6.6.6.6`, ...), so a parser that reads bodies as heads
    /// is caught, and a text search for the headers finds far more lines than requests.
    #[default]
    Decoy,
    /// Realistic filler with no header-like line: lorem text, JSON objects without header
    /// names, and random bytes without CR or LF. A text search for the identity headers
    /// finds only the request heads', so it runs at its real speed (benchmarks).
    Plain,
}

#[derive(Debug, Clone)]
pub struct ScenarioConfig {
    pub seed: u64,
    /// Stop once the back capture holds at least this many bytes...
    pub back_bytes: u64,
    /// ...and the front capture at least this many.
    pub front_bytes: u64,
    pub format: OutFormat,
    pub link: LinkKind,
    /// Added to every back-capture timestamp (the back sensor's clock error).
    pub clock_offset_ns: i64,
    /// Time of the first packet.
    pub start_ns: i64,
    /// Body filler. Only body bytes differ between the kinds: the same seed gives the same
    /// packets' sizes and times, requests and truth file.
    pub bodies: Bodies,
    /// Which load balancer this pair is captured at: its addresses ([`SensorAddrs`]), so
    /// several sensors' captures never share a 5-tuple. 0 (default): the historic ones.
    pub sensor: u8,
    /// Send a third of PROXY preambles as their own TCP segment (so a rotated capture can
    /// end right after one). Off by default; off, the output is unchanged.
    pub preamble_alone: bool,
}

impl Default for ScenarioConfig {
    fn default() -> Self {
        ScenarioConfig {
            seed: 7,
            back_bytes: 1 << 20,
            front_bytes: 0,
            format: OutFormat::Pcap,
            link: LinkKind::Ethernet,
            clock_offset_ns: 0,
            // 2026-01-01T00:00:00Z
            start_ns: 1_767_225_600_000_000_000,
            bodies: Bodies::Decoy,
            sensor: 0,
            preamble_alone: false,
        }
    }
}

/// Where a back-side request's client identity came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentitySource {
    XForwardedFor,
    XRealIp,
    XClientIp,
    Forwarded,
    ProxyV1,
    ProxyV2,
    /// The back connection's source address is the client's (HAProxy `usesrc client`).
    Transparent,
    None,
}

/// The join rule a correct joiner is expected to apply to this request, in priority order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinRule {
    /// No identity on the back side: nothing to join.
    NoIdentity,
    /// The identity names a client that never appears in the front capture.
    NoFront,
    /// Identity carries IP and port: the front 5-tuple is determined exactly.
    IpPort,
    /// The front connection was plaintext HTTP carrying the same request (method, target,
    /// host; the target holds a unique `rid`), which identifies it.
    RequestMatch,
    /// IP only, and only one client stack uses that IP: nearest front SYN in time.
    IpTime,
    /// IP only, and several client stacks (NAT) share that IP: the join is ambiguous.
    IpTimeAmbiguous,
}

/// One line of the truth file (JSON Lines), one per back-side request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TruthRecord {
    /// Back connection 5-tuple, client (load balancer or transparent client) first.
    pub back: FiveTuple,
    /// Back-capture timestamp (ns, clock offset included) of the first packet in the file
    /// that carries the request's first byte.
    pub ts_ns: i64,
    pub method: String,
    pub target: String,
    pub host: String,
    /// The identity source used for this request (one per request).
    pub identity: IdentitySource,
    /// Header name exactly as written (case kept), when the identity is a header.
    pub header_name: Option<String>,
    /// Expected client address: the rightmost entry of an XFF/Forwarded chain (the one
    /// the load balancer appended), or the PROXY/transparent source. None without identity.
    pub client_ip: Option<IpAddr>,
    /// Expected client port, when the identity carries one.
    pub client_port: Option<u16>,
    /// The front connection (client -> LB) this request came in on; None when the client
    /// never appears on the front side.
    pub front: Option<FiveTuple>,
    /// Front timestamp (ns) of the client's first SYN of that connection.
    pub front_syn_ts_ns: Option<i64>,
    /// Name of the client's SYN preset (`packet::PRESETS`).
    pub os: &'static str,
    /// Whether other client stacks share this client IP (NAT).
    pub nat: bool,
    pub join_rule: JoinRule,
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScenarioStats {
    pub front_packets: u64,
    pub front_bytes: u64,
    pub back_packets: u64,
    pub back_bytes: u64,
    pub front_connections: u64,
    pub back_connections: u64,
    pub requests: u64,
}

mod unit;
mod world;

pub use unit::generate;
pub use world::{SensorAddrs, MAX_SENSOR};

fn make_writer<W: Write>(out: W, cfg: &ScenarioConfig, name: &str) -> io::Result<AnyWriter<W>> {
    let lt = match cfg.link {
        LinkKind::Ethernet | LinkKind::Vlan => packet::linktype::ETHERNET,
        LinkKind::Sll2 => packet::linktype::LINUX_SLL2,
    };
    Ok(match cfg.format {
        OutFormat::Pcap => AnyWriter::Pcap(PcapWriter::new(
            out,
            PcapConfig {
                order: ByteOrder::Little,
                flavor: super::writer::PcapFlavor::Nano,
                link_type: u32::from(lt),
                ..PcapConfig::default()
            },
        )?),
        OutFormat::PcapNg => {
            let mut w = NgWriter::new(out, ByteOrder::Little)?;
            let mut i = NgInterface::new(lt);
            i.tsresol = Some(9);
            i.name = Some(name.to_string());
            w.interface(i)?;
            AnyWriter::Ng(w)
        }
    })
}

/// Paths written by [`generate_to_dir`].
#[derive(Debug, Clone)]
pub struct ScenarioFiles {
    pub front: PathBuf,
    pub back: PathBuf,
    pub truth: PathBuf,
}

/// Write `front.pcap[ng]`, `back.pcap[ng]` and `truth.jsonl` into `dir` (created if needed).
pub fn generate_to_dir(
    cfg: &ScenarioConfig,
    dir: &Path,
) -> io::Result<(ScenarioStats, ScenarioFiles)> {
    std::fs::create_dir_all(dir)?;
    let ext = match cfg.format {
        OutFormat::Pcap => "pcap",
        OutFormat::PcapNg => "pcapng",
    };
    let files = ScenarioFiles {
        front: dir.join(format!("front.{ext}")),
        back: dir.join(format!("back.{ext}")),
        truth: dir.join("truth.jsonl"),
    };
    const BUF: usize = 8 << 20;
    let open = |p: &Path| -> io::Result<io::BufWriter<std::fs::File>> {
        Ok(io::BufWriter::with_capacity(BUF, std::fs::File::create(p)?))
    };
    let (stats, ..) = generate(
        cfg,
        open(&files.front)?,
        open(&files.back)?,
        open(&files.truth)?,
    )?;
    Ok((stats, files))
}

/// Parse a size like `2G`, `500M`, `64K`, `1000` (binary multiples).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mul) = match s.as_bytes().last()? {
        b'G' | b'g' => (&s[..s.len() - 1], 1u64 << 30),
        b'M' | b'm' => (&s[..s.len() - 1], 1 << 20),
        b'K' | b'k' => (&s[..s.len() - 1], 1 << 10),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}
