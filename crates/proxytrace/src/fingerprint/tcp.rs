//! SYN and SYN+ACK observations: everything p0f's signature needs, as plain data.
//!
//! Observation is kept apart from matching (as huginn-net does): [`SynObservation`]
//! holds what the packet says; [`super::db::Database::match_syn`] interprets it.

use super::options::{self, OptionLayout};
use crate::decode::{Fragment, Packet, TcpFlags};
use std::fmt;

/// p0f's MAX_DIST: a guessed distance above this prints `TTL+?`.
pub const MAX_DIST: u8 = 35;

/// p0f-sendsyn's probe MSS; a SYN+ACK echoing it prints `*` for the MSS.
pub const SPECIAL_MSS: u16 = 1331;
/// p0f-sendsyn's probe window.
pub const SPECIAL_WIN: u16 = 1337;

crate::named_enum! {
    /// Which handshake packet this is. The names are p0f's log names (the `direction`
    /// column).
    pub enum SynKind {
        /// SYN without ACK: the client's signature (p0f `mod=syn`).
        Syn => "syn",
        /// SYN+ACK: the server's signature (p0f `mod=syn+ack`).
        SynAck => "syn+ack",
    }
}

impl SynKind {
    /// The p0f log name (`syn`, `syn+ack`): the stable name.
    pub fn p0f_name(self) -> &'static str {
        self.name()
    }
}

crate::named_enum! {
    /// Why p0f would not fingerprint this packet although we do. We keep the observation
    /// (a forensics tool wants it) and say why p0f's output will lack it.
    pub enum P0fIgnores {
        /// SYN together with FIN or RST.
        SillyFlags => "silly_flags",
        /// First IPv4/IPv6 fragment (p0f drops anything with MF or an offset).
        Fragment => "fragment",
        /// IPv6 extension headers before TCP (p0f wants next header = TCP).
        Ipv6Extensions => "ipv6_extensions",
        /// Snap length shorter than the IP length, or an IPv4 length of 0 (TSO capture).
        Truncated => "truncated",
    }
}

/// p0f quirks as bits, declared in p0f's printing order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Quirks(pub u32);

impl Quirks {
    /// `df`: IPv4 don't-fragment set.
    pub const DF: u32 = 1 << 0;
    /// `id+`: DF set with a non-zero IPv4 ID.
    pub const NZ_ID: u32 = 1 << 1;
    /// `id-`: DF clear with a zero IPv4 ID.
    pub const ZERO_ID: u32 = 1 << 2;
    /// `ecn`: explicit congestion notification in use.
    pub const ECN: u32 = 1 << 3;
    /// `0+`: the IPv4 must-be-zero bit set.
    pub const NZ_MBZ: u32 = 1 << 4;
    /// `flow`: a non-zero IPv6 flow label.
    pub const FLOW: u32 = 1 << 5;
    /// `seq-`: sequence number zero.
    pub const ZERO_SEQ: u32 = 1 << 6;
    /// `ack+`: ACK number non-zero without the ACK flag.
    pub const NZ_ACK: u32 = 1 << 7;
    /// `ack-`: ACK number zero with the ACK flag.
    pub const ZERO_ACK: u32 = 1 << 8;
    /// `uptr+`: urgent pointer non-zero without the URG flag.
    pub const NZ_URG: u32 = 1 << 9;
    /// `urgf+`: the URG flag set.
    pub const URG: u32 = 1 << 10;
    /// `pushf+`: the PUSH flag set.
    pub const PUSH: u32 = 1 << 11;
    /// `ts1-`: own timestamp zero.
    pub const ZERO_TS1: u32 = 1 << 12;
    /// `ts2+`: peer timestamp non-zero on a SYN.
    pub const NZ_TS2: u32 = 1 << 13;
    /// `opt+`: non-zero bytes after the end-of-options marker.
    pub const OPT_EOL_NZ: u32 = 1 << 14;
    /// `exws`: window scale above 14.
    pub const EXWS: u32 = 1 << 15;
    /// `bad`: malformed options.
    pub const OPT_BAD: u32 = 1 << 16;

    /// Names in printing order.
    pub const NAMES: [(u32, &'static str); 17] = [
        (Self::DF, "df"),
        (Self::NZ_ID, "id+"),
        (Self::ZERO_ID, "id-"),
        (Self::ECN, "ecn"),
        (Self::NZ_MBZ, "0+"),
        (Self::FLOW, "flow"),
        (Self::ZERO_SEQ, "seq-"),
        (Self::NZ_ACK, "ack+"),
        (Self::ZERO_ACK, "ack-"),
        (Self::NZ_URG, "uptr+"),
        (Self::URG, "urgf+"),
        (Self::PUSH, "pushf+"),
        (Self::ZERO_TS1, "ts1-"),
        (Self::NZ_TS2, "ts2+"),
        (Self::OPT_EOL_NZ, "opt+"),
        (Self::EXWS, "exws"),
        (Self::OPT_BAD, "bad"),
    ];

    /// The bit for a p0f quirk name.
    pub fn from_name(name: &str) -> Option<u32> {
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(bit, _)| *bit)
    }
}

// p0f prints quirks comma-separated (`df,id+`).
crate::vocab::flags::impl_flag_set!(Quirks, u32, ",");

impl fmt::Debug for Quirks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Quirks({self})")
    }
}

/// How the window prints: a multiple of MSS, of MTU, or the raw number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowForm {
    /// `mss*N`.
    Mss(u16),
    /// `mtu*N`.
    Mtu(u16),
    /// A plain number.
    Raw(u16),
}

impl fmt::Display for WindowForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WindowForm::Mss(k) => write!(f, "mss*{k}"),
            WindowForm::Mtu(k) => write!(f, "mtu*{k}"),
            WindowForm::Raw(w) => write!(f, "{w}"),
        }
    }
}

/// One SYN or SYN+ACK, as data. `Display` prints p0f's `raw_sig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynObservation {
    /// SYN (client) or SYN+ACK (server).
    pub kind: SynKind,
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// Some(reason) when p0f would not report this packet.
    pub p0f_ignores: Option<P0fIgnores>,
    /// 4 or 6.
    pub ip_version: u8,
    /// Observed TTL / hop limit.
    pub ttl: u8,
    /// IPv4 option bytes (0 for IPv6).
    pub ip_options_len: u8,
    /// IPv4 don't-fragment flag (false for IPv6).
    pub df: bool,
    /// IPv4 identification or IPv6 flow label, when the header has one.
    pub ip_id: Option<u32>,
    /// The two ECN bits of the IP TOS / traffic class.
    pub ip_ecn: u8,
    /// All TCP flags (ECE, CWR and NS included).
    pub tcp_flags: TcpFlags,
    /// TCP sequence number.
    pub seq: u32,
    /// TCP acknowledgement number.
    pub ack: u32,
    /// TCP window as sent (unscaled).
    pub window: u16,
    /// MSS option value (the last one if repeated); p0f prints 0 when absent.
    pub mss: Option<u16>,
    /// Window scale option value.
    pub window_scale: Option<u8>,
    /// (TSval, TSecr) of the timestamp option.
    pub timestamp: Option<(u32, u32)>,
    /// TCP option layout.
    pub options: OptionLayout,
    /// p0f quirks.
    pub quirks: Quirks,
    /// Payload bytes announced by the IP length (p0f's payload class is `+` when nonzero).
    pub payload_len: u32,
    /// IP header (with options / extensions) + TCP header bytes (p0f `tot_hdr`, for `mtu*K`).
    pub header_len: u16,
    /// For a SYN+ACK: the MSS of the client's SYN, used by the last window divisors.
    /// Set it with [`SynObservation::with_peer_syn_mss`].
    pub peer_syn_mss: Option<u16>,
}

/// p0f's distance guess from an observed TTL.
pub fn guess_distance(ttl: u8) -> u8 {
    initial_ttl_guess(ttl) - ttl
}

/// The initial TTL p0f assumes: the next of 32, 64, 128, 255.
pub fn initial_ttl_guess(ttl: u8) -> u8 {
    match ttl {
        0..=32 => 32,
        33..=64 => 64,
        65..=128 => 128,
        _ => 255,
    }
}

impl SynObservation {
    /// Observe a SYN or SYN+ACK; None for any other packet or one without a readable
    /// TCP header. Packets p0f skips (SYN+FIN, SYN+RST, first fragments, IPv6 extension
    /// headers, cut by the snap length) are returned with `p0f_ignores` set.
    pub fn from_packet(p: &Packet<'_>) -> Option<SynObservation> {
        let t = p.tcp()?;
        let flags = t.flags;
        if !flags.syn() {
            return None;
        }
        let kind = if flags.ack() {
            SynKind::SynAck
        } else {
            SynKind::Syn
        };
        let ip = &p.ip;
        let p0f_ignores = if flags.fin() || flags.rst() {
            Some(P0fIgnores::SillyFlags)
        } else if ip.fragment != Fragment::None {
            Some(P0fIgnores::Fragment)
        } else if ip.version == 6 && ip.header_len > 40 {
            Some(P0fIgnores::Ipv6Extensions)
        } else if (t.payload.len() as u64) < u64::from(t.payload_len_on_wire)
            || (ip.version == 4 && ip.total_len == 0)
        {
            Some(P0fIgnores::Truncated)
        } else {
            None
        };

        let w = options::walk(t.options);
        let mut q = Quirks::default();
        let v4 = ip.version == 4;
        let id = ip.ip_id.unwrap_or(0);
        q.set_if(Quirks::DF, v4 && ip.df);
        q.set_if(Quirks::NZ_ID, v4 && ip.df && id != 0);
        q.set_if(Quirks::ZERO_ID, v4 && !ip.df && id == 0);
        q.set_if(
            Quirks::ECN,
            ip.ecn != 0 || flags.has(TcpFlags::ECE | TcpFlags::CWR | TcpFlags::NS),
        );
        q.set_if(Quirks::NZ_MBZ, v4 && ip.reserved_bit);
        q.set_if(Quirks::FLOW, !v4 && ip.flow_label != 0);
        q.set_if(Quirks::ZERO_SEQ, t.seq == 0);
        if flags.ack() {
            q.set_if(Quirks::ZERO_ACK, t.ack == 0);
        } else {
            // p0f 3.09b computes `RD32(tcp->ack) & !(flags & RST)`: a bitwise AND with 1 of
            // the ack field read in host order. On the little-endian hosts p0f runs on that
            // is bit 0 of the first wire byte, i.e. bit 24 of the ack number. Verified with
            // `p0f -r` (ack 0x00000001 -> no quirk, 0x01000000 -> ack+). Reproduced so the
            // strings agree; `ack` keeps the real number.
            q.set_if(Quirks::NZ_ACK, !flags.rst() && (t.ack >> 24) & 1 != 0);
        }
        if flags.has(TcpFlags::URG) {
            q.set_if(Quirks::URG, true);
        } else {
            q.set_if(Quirks::NZ_URG, t.urgent_ptr != 0);
        }
        q.set_if(Quirks::PUSH, flags.has(TcpFlags::PSH));
        // p0f's tcp_type keeps SYN/ACK/FIN/RST only: ts2+ applies to a "pure" SYN.
        let pure_syn = !flags.ack() && !flags.fin() && !flags.rst();
        q.set_if(Quirks::ZERO_TS1, w.ts1_zero);
        q.set_if(Quirks::NZ_TS2, pure_syn && w.ts2_nonzero);
        q.set_if(Quirks::OPT_EOL_NZ, w.nonzero_after_eol);
        q.set_if(Quirks::EXWS, w.ws_over_14);
        q.set_if(Quirks::OPT_BAD, w.bad);

        Some(SynObservation {
            kind,
            ts_ns: p.ts_ns,
            p0f_ignores,
            ip_version: ip.version,
            ttl: ip.ttl,
            ip_options_len: ip.options_len,
            df: ip.df,
            ip_id: ip.ip_id,
            ip_ecn: ip.ecn,
            tcp_flags: flags,
            seq: t.seq,
            ack: t.ack,
            window: t.window,
            mss: w.mss,
            window_scale: w.window_scale,
            timestamp: w.timestamp,
            options: w.layout,
            quirks: q,
            payload_len: t.payload_len_on_wire,
            header_len: ip.header_len.saturating_add(u16::from(t.header_len)),
            peer_syn_mss: None,
        })
    }

    /// Give a SYN+ACK the MSS of the SYN it answers (p0f's `syn_mss`; None or 0 = unknown).
    /// Ignored for SYNs, as in p0f.
    pub fn with_peer_syn_mss(mut self, mss: Option<u16>) -> SynObservation {
        if self.kind == SynKind::SynAck {
            self.peer_syn_mss = mss;
        }
        self
    }

    /// MSS as p0f counts it: 0 when absent.
    pub fn mss_or_zero(&self) -> u16 {
        self.mss.unwrap_or(0)
    }

    /// Window scale, 0 when the option is absent (as p0f prints it).
    pub fn window_scale_or_zero(&self) -> u8 {
        self.window_scale.unwrap_or(0)
    }

    /// The packet announces payload bytes (p0f's `+` payload class).
    pub fn has_payload(&self) -> bool {
        self.payload_len != 0
    }

    /// TCP ECN-related flags present (ECE, CWR, NS) as their bits of [`TcpFlags`].
    pub fn tcp_ecn_flags(&self) -> u16 {
        self.tcp_flags.0 & (TcpFlags::ECE | TcpFlags::CWR | TcpFlags::NS)
    }

    /// The TCP timestamp's own value.
    pub fn ts_val(&self) -> Option<u32> {
        self.timestamp.map(|t| t.0)
    }

    /// The TCP timestamp's echoed value.
    pub fn ts_ecr(&self) -> Option<u32> {
        self.timestamp.map(|t| t.1)
    }

    /// Initial TTL guessed from the observed one (32, 64, 128 or 255).
    pub fn initial_ttl_guess(&self) -> u8 {
        initial_ttl_guess(self.ttl)
    }

    /// Hops guessed from the TTL; `None` beyond p0f's limit of 35 (printed `+?`).
    pub fn distance_guess(&self) -> Option<u8> {
        let d = guess_distance(self.ttl);
        (d <= MAX_DIST).then_some(d)
    }

    /// Link MTU implied by the MSS (MSS + 40 for IPv4, + 60 for IPv6); None without MSS.
    pub fn link_mtu(&self) -> Option<u32> {
        let mss = self.mss?;
        let overhead = if self.ip_version == 6 { 60 } else { 40 };
        Some(u32::from(mss) + overhead)
    }

    /// The window as p0f prints it (p0f's `detect_win_multi`).
    pub fn window_form(&self) -> WindowForm {
        let win = u32::from(self.window);
        let mss = u32::from(self.mss_or_zero());
        if win == 0 || mss < 100 {
            return WindowForm::Raw(self.window);
        }
        let ts1 = self.ts_val().unwrap_or(0);
        let v6 = self.ip_version == 6;
        let syn_mss = self.peer_syn_mss.map(u32::from).unwrap_or(0);
        // (divisor, is_mtu, applies)
        let candidates: [(u32, bool, bool); 13] = [
            (mss, false, true),
            (mss - 12, false, ts1 != 0),
            (1460, false, true),
            (1448, false, true),
            (1440, false, v6),
            (1428, false, v6),
            (mss + 40, true, true),
            (mss + u32::from(self.header_len), true, true),
            (mss + 60, true, v6),
            (1500, true, true),
            (syn_mss, false, syn_mss != 0),
            (syn_mss.wrapping_sub(12), false, syn_mss != 0),
            (0, false, false),
        ];
        for (div, mtu, applies) in candidates {
            // A peer MSS below 12 wraps to a huge divisor that cannot divide: no match,
            // as with p0f's signed arithmetic.
            if applies && div != 0 && win % div == 0 {
                // win <= 65535 and div >= 1, so the quotient fits.
                let k = (win / div) as u16;
                return if mtu {
                    WindowForm::Mtu(k)
                } else {
                    WindowForm::Mss(k)
                };
            }
        }
        WindowForm::Raw(self.window)
    }

    /// p0f's signature: `ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass`.
    pub fn signature(&self) -> String {
        self.to_string()
    }
}

/// A p0f signature without what TCP Fast Open adds: option 34 (`?34`) and the NOPs that
/// pad it, and the payload class it brings (`+` becomes `0`). One Linux host sends Fast
/// Open SYNs (a cookie request, then data with the cookie) on some connections and plain
/// SYNs on others: three p0f signatures for one stack. Comparing these strings tells
/// several stacks behind one address (NAT) from one stack using Fast Open. A signature
/// without option 34 is returned as it is.
pub fn without_fast_open(signature: &str) -> String {
    let fields: Vec<&str> = signature.split(':').collect();
    // ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass
    let [ver, ittl, olen, mss, win, olayout, quirks, _pclass] = fields[..] else {
        return signature.to_owned();
    };
    let items: Vec<&str> = olayout.split(',').collect();
    let Some(at) = items.iter().position(|&i| i == "?34") else {
        return signature.to_owned();
    };
    let pad = items
        .get(at + 1..)
        .map_or(0, |rest| rest.iter().take_while(|&&i| i == "nop").count());
    let kept: Vec<&str> = items
        .iter()
        .enumerate()
        .filter(|&(i, _)| i < at || i > at + pad)
        .map(|(_, &item)| item)
        .collect();
    format!(
        "{ver}:{ittl}:{olen}:{mss}:{win}:{}:{quirks}:0",
        kept.join(",")
    )
}

impl fmt::Display for SynObservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}+", self.ip_version, self.ttl)?;
        match self.distance_guess() {
            Some(d) => write!(f, "{d}")?,
            None => f.write_str("?")?,
        }
        write!(f, ":{}:", self.ip_options_len)?;
        if self.kind == SynKind::SynAck && self.mss == Some(SPECIAL_MSS) {
            f.write_str("*")?;
        } else {
            write!(f, "{}", self.mss_or_zero())?;
        }
        write!(
            f,
            ":{},{}:{}:{}:{}",
            self.window_form(),
            self.window_scale_or_zero(),
            self.options,
            self.quirks,
            if self.has_payload() { "+" } else { "0" }
        )
    }
}
