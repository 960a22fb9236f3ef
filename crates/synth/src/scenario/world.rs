//! The world a scenario plays in: the load balancer's addresses, client devices, body
//! filler, and the per-side and per-connection state that frames are written from.

use super::*;

/// The highest [`ScenarioConfig::sensor`]: the front IPv4 address is 203.0.113.(10 + sensor).
pub const MAX_SENSOR: u8 = 200;

/// The load balancer's and backends' addresses of one sensor (one LB with its FRONT and
/// BACK capture points). Sensors never share an address, so never a 5-tuple either:
///
/// | sensor `s` | front v4 | front v6 | back (LB side) | backends |
/// |---|---|---|---|---|
/// | any | 203.0.113.(10+s) | 2001:db8:ffff::(0x10+s) | 10.s.0.2 | 10.s.1.1-16:8080 |
///
/// Sensor 0 is the single-sensor scenario's world (203.0.113.10, 10.0.0.2, 10.0.1.x).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SensorAddrs {
    pub lb_v4: Ipv4Addr,
    pub lb_v6: Ipv6Addr,
    /// The LB's source address on the back side.
    pub lb_back: Ipv4Addr,
    /// The backends' /24: backend `k` (1..=16) is `backend_net.k`.
    pub backend_net: [u8; 3],
}

impl SensorAddrs {
    /// Addresses of sensor `s` (`s` <= [`MAX_SENSOR`]; larger values are clamped).
    pub fn new(s: u8) -> SensorAddrs {
        let s = s.min(MAX_SENSOR);
        SensorAddrs {
            lb_v4: Ipv4Addr::new(203, 0, 113, 10 + s),
            lb_v6: Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 0x10 + u16::from(s)),
            lb_back: Ipv4Addr::new(10, s, 0, 2),
            backend_net: [10, s, 1],
        }
    }

    /// The LB's front address for a client of this family.
    pub fn lb_for(&self, client: IpAddr) -> IpAddr {
        if client.is_ipv6() {
            IpAddr::V6(self.lb_v6)
        } else {
            IpAddr::V4(self.lb_v4)
        }
    }

    /// Backend `k` (1..=16).
    pub fn backend(&self, k: u8) -> IpAddr {
        let [a, b, c] = self.backend_net;
        IpAddr::V4(Ipv4Addr::new(a, b, c, k))
    }
}

pub(super) const BACKEND_PORT: u16 = 8080;
pub(super) const MSS: usize = 1448;

/// One client device: an address and the stack that sends its SYNs.
#[derive(Debug, Clone)]
pub(super) struct Device {
    pub(super) ip: IpAddr,
    pub(super) preset: &'static SynPreset,
    pub(super) hops: u8,
    /// Shares its IP with other devices (NAT).
    pub(super) nat: bool,
    /// Never seen on the front capture.
    pub(super) hidden: bool,
    pub(super) ts_base: u32,
}

pub(super) fn public_v4(r: &mut Rng) -> Ipv4Addr {
    pub(super) const FIRST: [u8; 16] = [
        23, 24, 31, 45, 62, 66, 73, 77, 81, 91, 109, 151, 176, 185, 193, 212,
    ];
    Ipv4Addr::new(
        *r.pick(&FIRST),
        r.below(256) as u8,
        r.below(256) as u8,
        r.range(1, 254) as u8,
    )
}

pub(super) fn public_v6(r: &mut Rng) -> Ipv6Addr {
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

pub(super) fn make_devices(r: &mut Rng, n: usize) -> Vec<Device> {
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
/// Size of the filler every body is a slice of (bodies take up to 60,000 bytes from it).
const FILLER_LEN: usize = 256 * 1024;

pub(super) fn make_filler(r: &mut Rng, bodies: Bodies) -> Vec<u8> {
    match bodies {
        Bodies::Decoy => decoy_filler(r),
        Bodies::Plain => plain_filler(r),
    }
}

/// Lines with identity-like headers among ordinary text (see [`Bodies::Decoy`]).
fn decoy_filler(r: &mut Rng) -> Vec<u8> {
    pub(super) const LINES: [&str; 9] = [
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
    while f.len() < FILLER_LEN {
        f.extend_from_slice(r.pick(&LINES).as_bytes());
    }
    f
}

/// Text, JSON and binary-looking runs with no header-like line (see [`Bodies::Plain`]):
/// no line starts with a name and a colon, no identity header's name or `PROXY` appears
/// in any case, and the random runs hold no CR or LF (so no line of their own).
fn plain_filler(r: &mut Rng) -> Vec<u8> {
    const TEXT: [&str; 4] = [
        "lorem ipsum dolor sit amet, consectetur adipiscing elit, ",
        "sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. ",
        "ut enim ad minim veniam, quis nostrud exercitation ullamco laboris.\n",
        "duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore. ",
    ];
    const NAMES: [&str; 6] = ["widget", "gadget", "sprocket", "gizmo", "doohickey", "bolt"];
    let mut f = Vec::with_capacity(FILLER_LEN + 8192);
    while f.len() < FILLER_LEN {
        match r.below(3) {
            0 => {
                for _ in 0..r.range(1, 6) {
                    f.extend_from_slice(r.pick(&TEXT).as_bytes());
                }
            }
            1 => {
                let (id, qty) = (r.below(1_000_000), r.below(100));
                let (name, tag) = (*r.pick(&NAMES), *r.pick(&NAMES));
                let cents = r.below(100_000);
                let _ = writeln!(
                    f,
                    "{{\"id\":{id},\"name\":\"{name}\",\"qty\":{qty},\"price\":{}.{:02},\"tags\":[\"{tag}\",\"new\"]}}",
                    cents / 100,
                    cents % 100
                );
            }
            _ => {
                for _ in 0..r.range(256, 4096) {
                    let b = r.next_u32() as u8;
                    f.push(if b == b'\r' || b == b'\n' { b' ' } else { b });
                }
            }
        }
    }
    f
}

/// The packet sink plus what a side of the scenario needs to write frames.
pub(super) struct Side<W: Write> {
    pub(super) w: AnyWriter<W>,
    pub(super) frame: Vec<u8>,
    pub(super) vlans: [VlanTag; 1],
    pub(super) link: LinkKind,
    pub(super) offset_ns: i64,
    pub(super) last_ts: i64,
}

impl<W: Write> Side<W> {
    pub(super) fn new(w: AnyWriter<W>, link: LinkKind, vid: u16, offset_ns: i64) -> Self {
        Side {
            w,
            frame: Vec::with_capacity(2048),
            vlans: [VlanTag::dot1q(vid)],
            link,
            offset_ns,
            last_ts: i64::MIN,
        }
    }

    pub(super) fn link(&self) -> Link<'_> {
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
    pub(super) fn emit(&mut self, t: i64, p: &TcpPacket<'_>) -> io::Result<i64> {
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
pub(super) struct Conn {
    pub(super) c: IpAddr,
    pub(super) cport: u16,
    pub(super) s: IpAddr,
    pub(super) sport: u16,
    pub(super) cseq: u32,
    pub(super) sseq: u32,
    pub(super) c_ttl: u8,
    pub(super) s_ttl: u8,
    pub(super) c_id: u16,
    pub(super) s_id: u16,
    pub(super) c_df: bool,
    pub(super) c_win: u16,
}

impl Conn {
    pub(super) fn tuple(&self) -> FiveTuple {
        FiveTuple {
            src_ip: self.c,
            src_port: self.cport,
            dst_ip: self.s,
            dst_port: self.sport,
            proto: IpProto::TCP,
        }
    }

    /// A segment from the client (`from_c`) or server, at explicit seq.
    pub(super) fn seg<'a>(
        &self,
        from_c: bool,
        seq: u32,
        fl: u16,
        payload: &'a [u8],
    ) -> TcpPacket<'a> {
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
pub(super) struct Req {
    pub(super) method: &'static str,
    pub(super) target: String,
    pub(super) host: &'static str,
    pub(super) body_len: usize,
    pub(super) body_off: usize,
    pub(super) extra_cookie: usize,
    pub(super) ua: &'static str,
}

/// Identity for one back-side request.
#[derive(Clone)]
pub(super) struct Ident {
    pub(super) source: IdentitySource,
    /// Header lines to add (whole lines, CRLF included).
    pub(super) lines: String,
    pub(super) header_name: Option<String>,
    pub(super) client_ip: Option<IpAddr>,
    pub(super) client_port: Option<u16>,
}

/// One front connection feeding the back connection of a unit.
pub(super) struct FrontConn {
    pub(super) dev: usize,
    pub(super) port: u16,
    pub(super) lb_port: u16,
    pub(super) reqs: Vec<Req>,
    pub(super) tuple: Option<FiveTuple>,
    pub(super) syn_ts: Option<i64>,
}

pub(super) enum BackMode {
    Headers,
    ProxyV1,
    ProxyV2,
    Transparent,
}
