//! A seeded FRONT/BACK capture pair and its truth file.
//!
//! FRONT: clients -> load balancer (203.0.113.10 / 2001:db8:ffff::10, ports 80 and 443).
//! BACK: load balancer 10.0.0.2 -> backends 10.0.1.1-16:8080, carrying each front
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

const LB_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
const LB_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 0x10);
const LB_BACK: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const BACKEND_PORT: u16 = 8080;
const MSS: usize = 1448;

/// One client device: an address and the stack that sends its SYNs.
#[derive(Debug, Clone)]
struct Device {
    ip: IpAddr,
    preset: &'static SynPreset,
    hops: u8,
    /// Shares its IP with other devices (NAT).
    nat: bool,
    /// Never seen on the front capture.
    hidden: bool,
    ts_base: u32,
}

fn public_v4(r: &mut Rng) -> Ipv4Addr {
    const FIRST: [u8; 16] = [
        23, 24, 31, 45, 62, 66, 73, 77, 81, 91, 109, 151, 176, 185, 193, 212,
    ];
    Ipv4Addr::new(
        *r.pick(&FIRST),
        r.below(256) as u8,
        r.below(256) as u8,
        r.range(1, 254) as u8,
    )
}

fn public_v6(r: &mut Rng) -> Ipv6Addr {
    Ipv6Addr::new(
        0x2001,
        0xdb8,
        r.below(0x10000) as u16,
        r.below(0x10000) as u16,
        0,
        0,
        r.below(0x10000) as u16,
        r.range(1, 0xffff) as u16,
    )
}

fn make_devices(r: &mut Rng, n: usize) -> Vec<Device> {
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        let roll = r.below(100);
        let preset = *r.pick(&packet::PRESETS);
        let mk = |ip, preset, r: &mut Rng, nat, hidden| Device {
            ip,
            preset,
            hops: r.range(3, 20) as u8,
            nat,
            hidden,
            ts_base: r.next_u32(),
        };
        if roll < 12 {
            // A NAT address with 2-4 different stacks behind it.
            let ip = IpAddr::V4(public_v4(r));
            let k = r.range(2, 4) as usize;
            let start = r.below(packet::PRESETS.len() as u64) as usize;
            for i in 0..k {
                let p = packet::PRESETS[(start + i) % packet::PRESETS.len()];
                v.push(mk(ip, p, r, true, false));
            }
        } else if roll < 17 {
            let ip = IpAddr::V4(public_v4(r));
            v.push(mk(ip, preset, r, false, true));
        } else if roll < 32 {
            let ip = IpAddr::V6(public_v6(r));
            v.push(mk(ip, preset, r, false, false));
        } else {
            let ip = IpAddr::V4(public_v4(r));
            v.push(mk(ip, preset, r, false, false));
        }
    }
    v
}

/// Text for bodies: filler with header-like lines (which must not count as headers) but
/// no request lines, so counting `" HTTP/1.1\r\n"` in client streams counts requests.
fn make_filler(r: &mut Rng) -> Vec<u8> {
    const LINES: [&str; 9] = [
        "X-Forwarded-For: 6.6.6.6\r\n",
        "x-real-ip: 7.7.7.7\r\n",
        "Forwarded: for=\"[2001:db8::bad]:1\"\r\n",
        "PROXY TCP4 9.9.9.9 10.0.0.1 1111 80\r\n",
        "X-Client-IP: 8.8.4.4\r\n",
        "lorem ipsum dolor sit amet, consectetur adipiscing elit; ",
        "{\"user\":\"alice\",\"items\":[1,2,3],\"note\":\"x-forwarded-for in json\"}\n",
        "sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. ",
        "0123456789abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n",
    ];
    let mut f = Vec::with_capacity(300_000);
    while f.len() < 256 * 1024 {
        f.extend_from_slice(r.pick(&LINES).as_bytes());
    }
    f
}

/// The packet sink plus what a side of the scenario needs to write frames.
struct Side<W: Write> {
    w: AnyWriter<W>,
    frame: Vec<u8>,
    vlans: [VlanTag; 1],
    link: LinkKind,
    offset_ns: i64,
    last_ts: i64,
}

impl<W: Write> Side<W> {
    fn new(w: AnyWriter<W>, link: LinkKind, vid: u16, offset_ns: i64) -> Self {
        Side {
            w,
            frame: Vec::with_capacity(2048),
            vlans: [VlanTag::dot1q(vid)],
            link,
            offset_ns,
            last_ts: i64::MIN,
        }
    }

    fn link(&self) -> Link<'_> {
        match self.link {
            LinkKind::Ethernet => Link::default(),
            LinkKind::Vlan => Link::Ethernet {
                dst: packet::MAC_B,
                src: packet::MAC_A,
                vlans: &self.vlans,
            },
            LinkKind::Sll2 => Link::Sll2 {
                ifindex: 2,
                packet_type: 0,
                addr: packet::MAC_A,
            },
        }
    }

    /// Write one segment at scenario time `t` (the side's clock offset is added here).
    fn emit(&mut self, t: i64, p: &TcpPacket<'_>) -> io::Result<i64> {
        let ts = t + self.offset_ns;
        debug_assert!(ts >= self.last_ts, "time must not go back in a file");
        self.last_ts = ts;
        let mut frame = std::mem::take(&mut self.frame);
        frame.clear();
        let p = TcpPacket {
            link: self.link(),
            ..*p
        };
        p.build(&mut frame);
        let r = self.w.record(ts, &frame, frame.len() as u32);
        self.frame = frame;
        r.map(|_| ts)
    }
}

/// One TCP connection's state. "c" is the side that opened it.
struct Conn {
    c: IpAddr,
    cport: u16,
    s: IpAddr,
    sport: u16,
    cseq: u32,
    sseq: u32,
    c_ttl: u8,
    s_ttl: u8,
    c_id: u16,
    s_id: u16,
    c_df: bool,
    c_win: u16,
}

impl Conn {
    fn tuple(&self) -> FiveTuple {
        FiveTuple {
            src_ip: self.c,
            src_port: self.cport,
            dst_ip: self.s,
            dst_port: self.sport,
            proto: IpProto::TCP,
        }
    }

    /// A segment from the client (`from_c`) or server, at explicit seq.
    fn seg<'a>(&self, from_c: bool, seq: u32, fl: u16, payload: &'a [u8]) -> TcpPacket<'a> {
        let (src, dst, sp, dp, ack, ttl, id, df, win) = if from_c {
            (
                self.c, self.s, self.cport, self.sport, self.sseq, self.c_ttl, self.c_id,
                self.c_df, self.c_win,
            )
        } else {
            (
                self.s, self.c, self.sport, self.cport, self.cseq, self.s_ttl, self.s_id, true, 501,
            )
        };
        TcpPacket {
            link: Link::Raw,
            src,
            dst,
            ip: IpParams {
                ttl,
                df,
                ip_id: id,
                ..IpParams::default()
            },
            src_port: sp,
            dst_port: dp,
            seq,
            ack,
            flags: fl,
            window: win,
            urgent_ptr: 0,
            reserved: 0,
            options: &[],
            payload,
        }
    }
}

/// An HTTP request as the client sent it, plus the identity the LB adds on the back side.
struct Req {
    method: &'static str,
    target: String,
    host: &'static str,
    body_len: usize,
    body_off: usize,
    extra_cookie: usize,
    ua: &'static str,
}

/// Identity for one back-side request.
#[derive(Clone)]
struct Ident {
    source: IdentitySource,
    /// Header lines to add (whole lines, CRLF included).
    lines: String,
    header_name: Option<String>,
    client_ip: Option<IpAddr>,
    client_port: Option<u16>,
}

/// One front connection feeding the back connection of a unit.
struct FrontConn {
    dev: usize,
    port: u16,
    lb_port: u16,
    reqs: Vec<Req>,
    tuple: Option<FiveTuple>,
    syn_ts: Option<i64>,
}

enum BackMode {
    Headers,
    ProxyV1,
    ProxyV2,
    Transparent,
}

struct Gen<F: Write, B: Write, T: Write> {
    r: Rng,
    devices: Vec<Device>,
    filler: Vec<u8>,
    front: Side<F>,
    back: Side<B>,
    truth: T,
    now: i64,
    start: i64,
    lb_port: u16,
    stats: ScenarioStats,
    line: Vec<u8>,
    stream: Vec<u8>,
    segs: Vec<(usize, usize)>,
    order: Vec<usize>,
    written: Vec<(usize, usize, i64)>,
    opts: Vec<u8>,
}

fn sock(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v) => format!("{v}:{port}"),
        IpAddr::V6(v) => format!("[{v}]:{port}"),
    }
}

impl<F: Write, B: Write, T: Write> Gen<F, B, T> {
    fn ms(&mut self, lo: u64, hi: u64) -> i64 {
        (self.r.range(lo * 1000, hi * 1000) * 1000) as i64
    }
    fn us(&mut self, lo: u64, hi: u64) -> i64 {
        (self.r.range(lo, hi) * 1000) as i64
    }

    fn next_lb_port(&mut self) -> u16 {
        self.lb_port = if self.lb_port >= 60999 {
            32768
        } else {
            self.lb_port + 1
        };
        self.lb_port
    }

    fn make_req(&mut self) -> Req {
        const HOSTS: [&str; 4] = [
            "shop.example.com",
            "api.example.com",
            "www.example.org",
            "static.example.net",
        ];
        const PATHS: [&str; 5] = ["/", "/api/v1/items", "/search", "/login", "/static/app.js"];
        const UAS: [&str; 4] = [
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
            "curl/8.5.0",
            "okhttp/4.12.0",
        ];
        let roll = self.r.below(100);
        let (method, body_len) = if roll < 65 {
            ("GET", 0)
        } else if roll < 90 {
            ("POST", self.r.range(20, 12_000) as usize)
        } else if roll < 95 {
            ("PUT", self.r.range(1, 3000) as usize)
        } else {
            ("DELETE", 0)
        };
        let path = *self.r.pick(&PATHS);
        let rid = self.r.next_u64();
        Req {
            method,
            target: format!("{path}?rid={rid:016x}"),
            host: self.r.pick::<&str>(&HOSTS),
            body_len,
            body_off: self.r.below((self.filler.len() - 16_000) as u64) as usize,
            extra_cookie: if self.r.chance(10) {
                self.r.range(100, 3000) as usize
            } else {
                0
            },
            ua: self.r.pick::<&str>(&UAS),
        }
    }

    /// Append the request head (with identity lines inserted after `Host`) and body.
    /// Returns the head length.
    fn write_req(&self, out: &mut Vec<u8>, q: &Req, ident: Option<&Ident>) -> usize {
        let start = out.len();
        let _ = write!(
            out,
            "{} {} HTTP/1.1\r\nHost: {}\r\n",
            q.method, q.target, q.host
        );
        if let Some(i) = ident {
            out.extend_from_slice(i.lines.as_bytes());
        }
        let _ = write!(out, "User-Agent: {}\r\nAccept: */*\r\n", q.ua);
        if q.extra_cookie > 0 {
            out.extend_from_slice(b"Cookie: session=");
            for i in 0..q.extra_cookie {
                out.push(b'a' + (i % 26) as u8);
            }
            out.extend_from_slice(b"\r\n");
        }
        if q.body_len > 0 {
            let _ = write!(
                out,
                "Content-Type: text/plain\r\nContent-Length: {}\r\n",
                q.body_len
            );
        }
        out.extend_from_slice(b"\r\n");
        let head = out.len() - start;
        out.extend_from_slice(&self.filler[q.body_off..q.body_off + q.body_len]);
        head
    }

    fn header_ident(&mut self, dev: &Device, port: u16) -> Ident {
        let ip = dev.ip;
        let roll = self.r.below(100);
        const XFF: [&str; 4] = [
            "X-Forwarded-For",
            "x-forwarded-for",
            "X-FORWARDED-FOR",
            "X-Forwarded-for",
        ];
        let name = |s: &str| Some(s.to_string());
        let plain = match ip {
            IpAddr::V4(v) => v.to_string(),
            IpAddr::V6(v) => v.to_string(),
        };
        let (source, header_name, lines, cport) = if roll < 5 {
            (IdentitySource::None, None, String::new(), None)
        } else if roll < 45 {
            let n = *self.r.pick(&XFF);
            let sub = self.r.below(6);
            match sub {
                0 => (
                    IdentitySource::XForwardedFor,
                    name(n),
                    format!("{n}: {plain}\r\n"),
                    None,
                ),
                1 => {
                    let a = public_v4(&mut self.r);
                    (
                        IdentitySource::XForwardedFor,
                        name(n),
                        format!("{n}: {a}, 10.1.2.3, {plain}\r\n"),
                        None,
                    )
                }
                2 => (
                    IdentitySource::XForwardedFor,
                    name(n),
                    format!("{n}: {}\r\n", sock(ip, port)),
                    Some(port),
                ),
                3 => (
                    IdentitySource::XForwardedFor,
                    name(n),
                    format!("{n}: 6.6.6.6\r\nAccept-Language: en\r\n{n}: {plain}\r\n"),
                    None,
                ),
                4 => {
                    let a = public_v6(&mut self.r);
                    (
                        IdentitySource::XForwardedFor,
                        name(n),
                        format!("{n}: {a},{plain}\r\n"),
                        None,
                    )
                }
                _ => (
                    IdentitySource::XForwardedFor,
                    name(n),
                    format!("{n}:{plain}\r\n"),
                    None,
                ),
            }
        } else if roll < 60 {
            (
                IdentitySource::XRealIp,
                name("X-Real-IP"),
                format!("X-Real-IP: {plain}\r\n"),
                None,
            )
        } else if roll < 70 {
            (
                IdentitySource::XClientIp,
                name("x-client-ip"),
                format!("x-client-ip: {plain}\r\n"),
                None,
            )
        } else {
            let sub = self.r.below(3);
            let v = match (sub, ip) {
                (0, IpAddr::V4(_)) => (format!("for={plain};proto=http;by=10.0.0.2"), None),
                (0, IpAddr::V6(_)) => (format!("for=\"[{plain}]\";proto=https"), None),
                (1, _) => (format!("for=\"{}\"", sock(ip, port)), Some(port)),
                _ => (
                    format!("for=192.0.2.43, for=\"{}\";proto=https", sock(ip, port)),
                    Some(port),
                ),
            };
            let n = if self.r.chance(50) {
                "Forwarded"
            } else {
                "forwarded"
            };
            (
                IdentitySource::Forwarded,
                name(n),
                format!("{n}: {}\r\n", v.0),
                v.1,
            )
        };
        Ident {
            source,
            lines,
            header_name,
            client_ip: (source != IdentitySource::None).then_some(ip),
            client_port: cport,
        }
    }

    fn syn_options(&mut self, p: &SynPreset, ts: u32) {
        let mut o = std::mem::take(&mut self.opts);
        p.options(ts, &mut o);
        self.opts = o;
    }

    /// Three-way handshake. Client side uses `preset`; the server answers as Linux.
    /// Returns the timestamp of the first SYN as written.
    fn handshake(
        &mut self,
        front: bool,
        c: &Conn,
        p: &SynPreset,
        tsval: u32,
        t: &mut i64,
    ) -> io::Result<i64> {
        self.syn_options(p, tsval);
        let opts = std::mem::take(&mut self.opts);
        let mut syn = c.seg(
            true,
            c.cseq.wrapping_sub(1),
            TcpFlags::SYN | p.extra_flags,
            &[],
        );
        syn.ack = 0;
        syn.window = p.window_value();
        syn.options = &opts;
        let first = self.emit(front, *t, &syn)?;
        // Occasionally retransmitted SYNs (1 s, then 2 s later, as Linux/Windows back off).
        if front && self.r.chance(3) {
            let n = self.r.range(1, 2);
            for k in 0..n {
                *t += 1_000_000_000 << k;
                if p.ip_id == IpIdMode::Random {
                    syn.ip.ip_id = syn.ip.ip_id.wrapping_add(1);
                }
                self.emit(front, *t, &syn)?;
            }
        }
        *t += self.us(30, 3000);
        let mut sa_opts = Vec::new();
        packet::LINUX.options(self.r.next_u32(), &mut sa_opts);
        let mut sa = c.seg(
            false,
            c.sseq.wrapping_sub(1),
            TcpFlags::SYN | TcpFlags::ACK,
            &[],
        );
        sa.window = 65160;
        sa.options = &sa_opts;
        self.emit(front, *t, &sa)?;
        *t += self.us(30, 3000);
        self.emit(front, *t, &c.seg(true, c.cseq, TcpFlags::ACK, &[]))?;
        self.opts = opts;
        Ok(first)
    }

    fn emit(&mut self, front: bool, t: i64, p: &TcpPacket<'_>) -> io::Result<i64> {
        if front {
            self.stats.front_packets += 1;
            self.front.emit(t, p)
        } else {
            self.stats.back_packets += 1;
            self.back.emit(t, p)
        }
    }

    /// Send `self.stream` from one side: MSS segments plus cuts at `cuts` (stream offsets),
    /// with occasional reordering and retransmission when `perturb`. Records in
    /// `self.written` (start, end, ts) per written segment. Advances the sender's seq.
    fn send_stream(
        &mut self,
        front: bool,
        c: &mut Conn,
        from_c: bool,
        cuts: &[usize],
        perturb: bool,
        t: &mut i64,
    ) -> io::Result<()> {
        let len = self.stream.len();
        self.segs.clear();
        let mut pos = 0;
        let mut ci = 0;
        while pos < len {
            while ci < cuts.len() && cuts[ci] <= pos {
                ci += 1;
            }
            let mut end = (pos + MSS).min(len);
            if ci < cuts.len() && cuts[ci] < end {
                end = cuts[ci];
            }
            self.segs.push((pos, end));
            pos = end;
        }
        self.order.clear();
        self.order.extend(0..self.segs.len());
        if perturb {
            let mut i = 0;
            while i + 1 < self.order.len() {
                if self.r.chance(3) {
                    self.order.swap(i, i + 1);
                    i += 2;
                    continue;
                }
                if self.r.chance(2) {
                    // Retransmission: the same segment again right after.
                    let s = self.order[i];
                    self.order.insert(i + 1, s);
                    i += 2;
                    continue;
                }
                i += 1;
            }
        }
        self.written.clear();
        let base = if from_c { c.cseq } else { c.sseq };
        let stream = std::mem::take(&mut self.stream);
        let order = std::mem::take(&mut self.order);
        let mut since_ack = 0;
        for &i in &order {
            let (a, b) = self.segs[i];
            let fl = if b == len {
                TcpFlags::ACK | TcpFlags::PSH
            } else {
                TcpFlags::ACK
            };
            let p = c.seg(from_c, base.wrapping_add(a as u32), fl, &stream[a..b]);
            *t += self.us(5, 120);
            let ts = self.emit(front, *t, &p)?;
            self.written.push((a, b, ts));
            since_ack += 1;
            if since_ack == 2 && b < len {
                since_ack = 0;
                // The receiver acknowledges what it has in order so far.
                let acked = base.wrapping_add(self.contiguous() as u32);
                let mut ackp = c.seg(
                    !from_c,
                    if from_c { c.sseq } else { c.cseq },
                    TcpFlags::ACK,
                    &[],
                );
                ackp.ack = acked;
                *t += self.us(5, 60);
                self.emit(front, *t, &ackp)?;
            }
        }
        if from_c {
            c.cseq = base.wrapping_add(len as u32);
        } else {
            c.sseq = base.wrapping_add(len as u32);
        }
        *t += self.us(20, 400);
        self.emit(
            front,
            *t,
            &c.seg(
                !from_c,
                if from_c { c.sseq } else { c.cseq },
                TcpFlags::ACK,
                &[],
            ),
        )?;
        self.stream = stream;
        self.order = order;
        Ok(())
    }

    /// Highest stream offset received in order, from `self.written`.
    fn contiguous(&self) -> usize {
        let mut hw = 0;
        loop {
            let mut moved = false;
            for &(a, b, _) in &self.written {
                if a <= hw && b > hw {
                    hw = b;
                    moved = true;
                }
            }
            if !moved {
                return hw;
            }
        }
    }

    /// First written timestamp of a segment carrying stream offset `o`.
    fn first_ts(&self, o: usize) -> i64 {
        self.written
            .iter()
            .find(|&&(a, b, _)| a <= o && o < b)
            .map_or(0, |w| w.2)
    }

    fn close(&mut self, front: bool, c: &mut Conn, t: &mut i64) -> io::Result<()> {
        *t += self.us(50, 2000);
        self.emit(
            front,
            *t,
            &c.seg(true, c.cseq, TcpFlags::FIN | TcpFlags::ACK, &[]),
        )?;
        c.cseq = c.cseq.wrapping_add(1);
        *t += self.us(30, 500);
        self.emit(
            front,
            *t,
            &c.seg(false, c.sseq, TcpFlags::FIN | TcpFlags::ACK, &[]),
        )?;
        c.sseq = c.sseq.wrapping_add(1);
        *t += self.us(30, 500);
        self.emit(front, *t, &c.seg(true, c.cseq, TcpFlags::ACK, &[]))?;
        Ok(())
    }

    fn response(&mut self, out_len: usize) {
        let body = self.r.range(100, 40_000) as usize;
        let off = self.r.below((self.filler.len() - 40_000) as u64) as usize;
        self.stream.clear();
        let _ = write!(
            self.stream,
            "HTTP/1.1 200 OK\r\nServer: synth\r\nContent-Type: text/plain\r\nX-Request-Bytes: {out_len}\r\nContent-Length: {body}\r\n\r\n"
        );
        self.stream.extend_from_slice(&self.filler[off..off + body]);
    }

    fn front_conn(&mut self, dev: usize) -> FrontConn {
        let port = self.r.range(1024, 65535) as u16;
        let lb_port = if self.r.chance(40) { 80 } else { 443 };
        let n = if self.r.chance(40) {
            self.r.range(2, 4)
        } else {
            1
        } as usize;
        let reqs = (0..n).map(|_| self.make_req()).collect();
        FrontConn {
            dev,
            port,
            lb_port,
            reqs,
            tuple: None,
            syn_ts: None,
        }
    }

    fn new_conn(
        &mut self,
        c: IpAddr,
        cport: u16,
        s: IpAddr,
        sport: u16,
        p: &SynPreset,
        hops: u8,
    ) -> Conn {
        Conn {
            c,
            cport,
            s,
            sport,
            cseq: self.r.next_u32(),
            sseq: self.r.next_u32(),
            c_ttl: p.ttl.saturating_sub(hops),
            s_ttl: 64,
            c_id: if p.ip_id == IpIdMode::Random {
                self.r.range(1, 0xffff) as u16
            } else {
                0
            },
            s_id: 0,
            c_df: p.df,
            c_win: 502,
        }
    }

    /// Open the front connection (handshake; for port 80 the requests and responses are
    /// written later by `front_exchange`).
    fn front_open(&mut self, fc: &mut FrontConn, t: &mut i64) -> io::Result<Option<Conn>> {
        let d = self.devices[fc.dev].clone();
        if d.hidden {
            return Ok(None);
        }
        let lb = if d.ip.is_ipv6() {
            IpAddr::V6(LB_V6)
        } else {
            IpAddr::V4(LB_V4)
        };
        let c = self.new_conn(d.ip, fc.port, lb, fc.lb_port, d.preset, d.hops);
        let tsval = d
            .ts_base
            .wrapping_add(((*t - self.start) / 1_000_000) as u32);
        fc.syn_ts = Some(self.handshake(true, &c, d.preset, tsval, t)?);
        fc.tuple = Some(c.tuple());
        self.stats.front_connections += 1;
        Ok(Some(c))
    }

    fn unit(&mut self) -> io::Result<()> {
        let mut t = self.now;
        let roll = self.r.below(100);
        let mode = if roll < 8 {
            BackMode::ProxyV1
        } else if roll < 16 {
            BackMode::ProxyV2
        } else if roll < 23 {
            BackMode::Transparent
        } else {
            BackMode::Headers
        };
        // Headers mode: 15% of back connections carry several clients' requests.
        let nfront = if matches!(mode, BackMode::Headers) && self.r.chance(15) {
            self.r.range(2, 3)
        } else {
            1
        } as usize;
        let mut fronts: Vec<FrontConn> = Vec::with_capacity(nfront);
        for _ in 0..nfront {
            let mut dev = self.r.below(self.devices.len() as u64) as usize;
            if matches!(mode, BackMode::Transparent) {
                // Transparent mode needs the back network to route the client's family: v4.
                while self.devices[dev].ip.is_ipv6() {
                    dev = self.r.below(self.devices.len() as u64) as usize;
                }
            }
            let fc = self.front_conn(dev);
            fronts.push(fc);
        }

        let backend = IpAddr::V4(Ipv4Addr::new(10, 0, 1, self.r.range(1, 16) as u8));
        let pipelined = self.r.chance(15);
        let mut back: Option<Conn> = None;
        let mut truth_lines: Vec<TruthRecord> = Vec::new();
        for mut fc in fronts {
            let dev = self.devices[fc.dev].clone();
            let mut front_conn = self.front_open(&mut fc, &mut t)?;
            // Front: client sends its requests (plaintext on port 80; opaque TLS on 443).
            let mut front_req_stream = Vec::new();
            if let Some(c) = front_conn.as_mut() {
                self.stream.clear();
                if fc.lb_port == 80 {
                    for q in &fc.reqs {
                        let mut tmp = std::mem::take(&mut self.stream);
                        self.write_req(&mut tmp, q, None);
                        self.stream = tmp;
                    }
                } else {
                    // A TLS-record-shaped opaque blob: its length only.
                    let n: usize = fc.reqs.iter().map(|q| 300 + q.body_len).sum();
                    let off = self.r.below((self.filler.len() - 60_000) as u64) as usize;
                    self.stream.extend_from_slice(&[0x16, 0x03, 0x01]);
                    self.stream
                        .extend_from_slice(&self.filler[off..off + n.min(50_000)]);
                }
                t += self.ms(1, 20);
                self.send_stream(true, c, true, &[], false, &mut t)?;
                front_req_stream = std::mem::take(&mut self.stream);
            }
            // Back: open (or reuse) the back connection.
            let mut bc = match back.take() {
                Some(c) => c,
                None => {
                    t += self.us(100, 2000);
                    let (src, sport) = match mode {
                        BackMode::Transparent => (dev.ip, fc.port),
                        _ => (IpAddr::V4(LB_BACK), self.next_lb_port()),
                    };
                    let c = self.new_conn(src, sport, backend, BACKEND_PORT, &packet::LINUX, 0);
                    let tsval = self.r.next_u32();
                    self.handshake(false, &c, &packet::LINUX, tsval, &mut t)?;
                    self.stats.back_connections += 1;
                    c
                }
            };
            // The client-to-backend byte stream for this front connection.
            self.stream.clear();
            let mut starts: Vec<(usize, usize)> = Vec::new(); // (offset, head_len)
            let mut cuts: Vec<usize> = Vec::new();
            let mut idents: Vec<Ident> = Vec::new();
            match mode {
                BackMode::ProxyV1 => {
                    let fam = if dev.ip.is_ipv6() { "TCP6" } else { "TCP4" };
                    let lb = if dev.ip.is_ipv6() {
                        IpAddr::V6(LB_V6)
                    } else {
                        IpAddr::V4(LB_V4)
                    };
                    let _ = write!(
                        self.stream,
                        "PROXY {fam} {} {lb} {} {}\r\n",
                        dev.ip, fc.port, fc.lb_port
                    );
                    if self.r.chance(30) {
                        cuts.push(self.r.range(1, self.stream.len() as u64 - 1) as usize);
                    }
                }
                BackMode::ProxyV2 => {
                    self.stream.extend_from_slice(b"\r\n\r\n\0\r\nQUIT\n");
                    self.stream.push(0x21);
                    let lb = if dev.ip.is_ipv6() {
                        IpAddr::V6(LB_V6)
                    } else {
                        IpAddr::V4(LB_V4)
                    };
                    match (dev.ip, lb) {
                        (IpAddr::V4(a), IpAddr::V4(b)) => {
                            self.stream.push(0x11);
                            self.stream.extend_from_slice(&12u16.to_be_bytes());
                            self.stream.extend_from_slice(&a.octets());
                            self.stream.extend_from_slice(&b.octets());
                        }
                        (a, b) => {
                            self.stream.push(0x21);
                            self.stream.extend_from_slice(&36u16.to_be_bytes());
                            let o = |x: IpAddr| match x {
                                IpAddr::V6(v) => v.octets(),
                                IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
                            };
                            self.stream.extend_from_slice(&o(a));
                            self.stream.extend_from_slice(&o(b));
                        }
                    }
                    self.stream.extend_from_slice(&fc.port.to_be_bytes());
                    self.stream.extend_from_slice(&fc.lb_port.to_be_bytes());
                }
                _ => {}
            }
            for q in &fc.reqs {
                let ident = match mode {
                    BackMode::Headers => self.header_ident(&dev, fc.port),
                    BackMode::ProxyV1 | BackMode::ProxyV2 | BackMode::Transparent => Ident {
                        source: match mode {
                            BackMode::ProxyV1 => IdentitySource::ProxyV1,
                            BackMode::ProxyV2 => IdentitySource::ProxyV2,
                            _ => IdentitySource::Transparent,
                        },
                        lines: String::new(),
                        header_name: None,
                        client_ip: Some(dev.ip),
                        client_port: Some(fc.port),
                    },
                };
                let off = self.stream.len();
                let mut tmp = std::mem::take(&mut self.stream);
                let head = self.write_req(&mut tmp, q, Some(&ident));
                self.stream = tmp;
                starts.push((off, head));
                // Heads split at random points (inside names too) in a third of requests.
                if self.r.chance(33) {
                    for _ in 0..self.r.range(1, 3) {
                        cuts.push(off + self.r.range(1, head as u64 - 1) as usize);
                    }
                }
                idents.push(ident);
            }
            cuts.sort_unstable();
            // Pipelined: all requests in one flight; otherwise request, response, request...
            let full = std::mem::take(&mut self.stream);
            let mut flights: Vec<(usize, usize)> = Vec::new();
            if pipelined || starts.len() == 1 {
                flights.push((0, full.len()));
            } else {
                for (i, s) in starts.iter().enumerate() {
                    let a = if i == 0 { 0 } else { s.0 };
                    let b = starts.get(i + 1).map_or(full.len(), |n| n.0);
                    flights.push((a, b));
                }
            }
            let mut req_i = 0;
            for (fa, fb) in flights {
                t += self.us(50, 3000);
                self.stream.clear();
                self.stream.extend_from_slice(&full[fa..fb]);
                let local_cuts: Vec<usize> = cuts
                    .iter()
                    .filter(|&&x| x > fa && x < fb)
                    .map(|&x| x - fa)
                    .collect();
                self.send_stream(false, &mut bc, true, &local_cuts, true, &mut t)?;
                let mut served = 0;
                while req_i < starts.len() && starts[req_i].0 < fb {
                    let (off, _) = starts[req_i];
                    let q = &fc.reqs[req_i];
                    let id = &idents[req_i];
                    let ts = self.first_ts(off - fa);
                    let rule = if id.source == IdentitySource::None {
                        JoinRule::NoIdentity
                    } else if dev.hidden {
                        JoinRule::NoFront
                    } else if id.client_port.is_some() {
                        JoinRule::IpPort
                    } else if fc.lb_port == 80 {
                        JoinRule::RequestMatch
                    } else if dev.nat {
                        JoinRule::IpTimeAmbiguous
                    } else {
                        JoinRule::IpTime
                    };
                    truth_lines.push(TruthRecord {
                        back: bc.tuple(),
                        ts_ns: ts,
                        method: q.method.to_string(),
                        target: q.target.clone(),
                        host: q.host.to_string(),
                        identity: id.source,
                        header_name: id.header_name.clone(),
                        client_ip: id.client_ip,
                        client_port: id.client_port,
                        front: fc.tuple,
                        front_syn_ts_ns: fc.syn_ts,
                        os: dev.preset.name,
                        nat: dev.nat,
                        join_rule: rule,
                    });
                    req_i += 1;
                    served += 1;
                }
                for _ in 0..served {
                    t += self.us(200, 20_000);
                    self.response(fb - fa);
                    self.send_stream(false, &mut bc, false, &[], true, &mut t)?;
                }
            }
            // Front: the LB relays the responses (plaintext) or opaque records, then closes.
            if let Some(mut c) = front_conn.take() {
                t += self.us(50, 500);
                if fc.lb_port == 80 {
                    for _ in 0..fc.reqs.len() {
                        self.response(front_req_stream.len());
                        self.send_stream(true, &mut c, false, &[], false, &mut t)?;
                    }
                } else {
                    self.response(0);
                    self.send_stream(true, &mut c, false, &[], false, &mut t)?;
                }
                self.close(true, &mut c, &mut t)?;
            }
            back = Some(bc);
        }
        if let Some(mut bc) = back {
            self.close(false, &mut bc, &mut t)?;
        }
        for tr in &truth_lines {
            self.line.clear();
            serde_json::to_writer(&mut self.line, tr).map_err(io::Error::other)?;
            self.line.push(b'\n');
            self.truth.write_all(&self.line)?;
        }
        self.stats.requests += truth_lines.len() as u64;
        self.now = t + self.us(10, 500);
        Ok(())
    }
}

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

/// Generate a scenario into three sinks. Returns what was written. The sinks are flushed.
pub fn generate<F: Write, B: Write, T: Write>(
    cfg: &ScenarioConfig,
    front: F,
    back: B,
    truth: T,
) -> io::Result<(ScenarioStats, F, B, T)> {
    let mut r = Rng::new(cfg.seed);
    let mut dr = r.fork();
    let mut fr = r.fork();
    let devices = make_devices(&mut dr, 4000);
    let filler = make_filler(&mut fr);
    let mut g = Gen {
        r,
        devices,
        filler,
        front: Side::new(make_writer(front, cfg, "front")?, cfg.link, 100, 0),
        back: Side::new(
            make_writer(back, cfg, "back")?,
            cfg.link,
            200,
            cfg.clock_offset_ns,
        ),
        truth,
        now: cfg.start_ns,
        start: cfg.start_ns,
        lb_port: 32767,
        stats: ScenarioStats::default(),
        line: Vec::with_capacity(1024),
        stream: Vec::with_capacity(64 * 1024),
        segs: Vec::new(),
        order: Vec::new(),
        written: Vec::new(),
        opts: Vec::with_capacity(40),
    };
    while g.back.w.bytes_written() < cfg.back_bytes || g.front.w.bytes_written() < cfg.front_bytes {
        g.unit()?;
    }
    g.stats.front_bytes = g.front.w.bytes_written();
    g.stats.back_bytes = g.back.w.bytes_written();
    let stats = g.stats.clone();
    let f = g.front.w.finish()?;
    let b = g.back.w.finish()?;
    g.truth.flush()?;
    Ok((stats, f, b, g.truth))
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
