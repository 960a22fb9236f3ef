//! SYN presets: how real stacks lay out their SYN options, for the generator's devices.

use super::*;

/// One TCP option as a SYN preset lays them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOpt {
    Mss,
    Nop,
    Ws,
    Sok,
    Ts,
    /// End of option list followed by this many zero padding bytes (p0f `eol+N`).
    Eol(u8),
}

/// How a preset picks its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Fixed(u16),
    /// A multiple of the MSS (p0f `mss*K`).
    MssTimes(u16),
}

/// How a preset fills the IPv4 identification of its SYN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpIdMode {
    Zero,
    /// A random nonzero id (p0f quirk `id+` together with DF).
    Random,
}

/// A client stack's SYN, as its option bytes, TTL, DF, window and scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynPreset {
    pub name: &'static str,
    pub ttl: u8,
    pub df: bool,
    pub ip_id: IpIdMode,
    pub window: Window,
    pub mss: u16,
    pub wscale: u8,
    pub layout: &'static [TcpOpt],
    /// Extra TCP flags on the SYN (macOS sets ECE|CWR).
    pub extra_flags: u16,
}

impl SynPreset {
    pub fn window_value(&self) -> u16 {
        match self.window {
            Window::Fixed(w) => w,
            Window::MssTimes(k) => self.mss.saturating_mul(k),
        }
    }

    /// Write the option bytes into `out` (cleared first); `tsval` is the own timestamp.
    pub fn options(&self, tsval: u32, out: &mut Vec<u8>) {
        out.clear();
        for o in self.layout {
            match o {
                TcpOpt::Mss => {
                    out.extend_from_slice(&[2, 4]);
                    out.extend_from_slice(&self.mss.to_be_bytes());
                }
                TcpOpt::Nop => out.push(1),
                TcpOpt::Ws => out.extend_from_slice(&[3, 3, self.wscale]),
                TcpOpt::Sok => out.extend_from_slice(&[4, 2]),
                TcpOpt::Ts => {
                    out.extend_from_slice(&[8, 10]);
                    out.extend_from_slice(&tsval.to_be_bytes());
                    out.extend_from_slice(&[0, 0, 0, 0]);
                }
                TcpOpt::Eol(n) => {
                    out.push(0);
                    out.extend(std::iter::repeat_n(0u8, usize::from(*n)));
                }
            }
        }
    }

    /// The p0f `olayout` string of this preset.
    pub fn olayout(&self) -> String {
        let v: Vec<String> = self
            .layout
            .iter()
            .map(|o| match o {
                TcpOpt::Mss => "mss".to_string(),
                TcpOpt::Nop => "nop".into(),
                TcpOpt::Ws => "ws".into(),
                TcpOpt::Sok => "sok".into(),
                TcpOpt::Ts => "ts".into(),
                TcpOpt::Eol(n) => format!("eol+{n}"),
            })
            .collect();
        v.join(",")
    }
}

use TcpOpt::*;

/// Linux 5.x/6.x: window 64240 (= 44 * 1460), `mss,sok,ts,nop,ws`, ws 7, TTL 64, DF,
/// random IP ID. Source: PROVENANCE.md rows 11 (SLL2 openjdk), 12 and 17 (testmyids),
/// all `v4 ttl64 win64240 mss1460 ws7 [mss,sok,ts,nop,ws] DF`; p0f.fp "Linux 3.11 and
/// newer" `mss*20,7:mss,sok,ts,nop,ws:df,id+`; tshark shows a nonzero IP ID.
pub const LINUX: SynPreset = SynPreset {
    name: "linux",
    ttl: 64,
    df: true,
    ip_id: IpIdMode::Random,
    window: Window::Fixed(64240),
    mss: 1460,
    wscale: 7,
    layout: &[Mss, Sok, Ts, Nop, Ws],
    extra_flags: 0,
};

/// Windows 10/11: window 64240, `mss,nop,ws,nop,nop,sok`, ws 8, TTL 128, DF, nonzero IP
/// ID, no timestamps. Source: PROVENANCE.md row 20 (psql-login-no-role,
/// `v4 ttl128 win64240 mss1460 ws8 [mss,nop,ws,nop,nop,sok] DF`, tshark IP ID 0x722f).
pub const WINDOWS: SynPreset = SynPreset {
    name: "windows",
    ttl: 128,
    df: true,
    ip_id: IpIdMode::Random,
    window: Window::Fixed(64240),
    mss: 1460,
    wscale: 8,
    layout: &[Mss, Nop, Ws, Nop, Nop, Sok],
    extra_flags: 0,
};

/// macOS/iOS: window 65535, `mss,nop,ws,nop,nop,ts,sok,eol+1`, ws 6, TTL 64, DF, IP ID 0,
/// ECE|CWR on the SYN. Source: PROVENANCE.md row 45 (huginn-net macos_tcp_flags:
/// `4:64+0:0:1460:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df,ecn:0`; tshark: IP ID 0,
/// TCP flags 0x0c2); rows 1-3 show the same layout with ws 4 (older macOS).
pub const MACOS: SynPreset = SynPreset {
    name: "macos",
    ttl: 64,
    df: true,
    ip_id: IpIdMode::Zero,
    window: Window::Fixed(65535),
    mss: 1460,
    wscale: 6,
    layout: &[Mss, Nop, Ws, Nop, Nop, Ts, Sok, Eol(1)],
    extra_flags: TcpFlags::ECE | TcpFlags::CWR,
};

/// Android: window 65535, `mss,sok,ts,nop,ws`, ws 9, TTL 64, DF, nonzero IP ID. The layout,
/// window, TTL and DF come from PROVENANCE.md row 39 (fbzero-android: win 65535 mss 1360
/// ws 6, IP ID 0x7139); ws 9 and MSS 1460 are the task brief's values for current Android
/// (the shared capture dates from 2015 and cannot confirm them).
pub const ANDROID: SynPreset = SynPreset {
    name: "android",
    ttl: 64,
    df: true,
    ip_id: IpIdMode::Random,
    window: Window::Fixed(65535),
    mss: 1460,
    wscale: 9,
    layout: &[Mss, Sok, Ts, Nop, Ws],
    extra_flags: 0,
};

/// FreeBSD 9+: window 65535, `mss,nop,ws,sok,ts`, ws 6, TTL 64, DF, nonzero IP ID. Source:
/// p0f.fp `s:unix:FreeBSD:9.x or newer` = `*:64:0:*:65535,6:mss,nop,ws,sok,ts:df,id+:0`
/// (no shared capture has a FreeBSD SYN).
pub const FREEBSD: SynPreset = SynPreset {
    name: "freebsd",
    ttl: 64,
    df: true,
    ip_id: IpIdMode::Random,
    window: Window::Fixed(65535),
    mss: 1460,
    wscale: 6,
    layout: &[Mss, Nop, Ws, Sok, Ts],
    extra_flags: 0,
};

/// Embedded Linux 2.6 (IoT, routers, Mozi-infected devices run such kernels): window
/// 5840 = mss*4, `mss,sok,ts,nop,ws`, ws 2, TTL 64, DF. Source: PROVENANCE.md row 25
/// (mixed-vlan-mpls: `ttl58 win5840 mss1460 ws2 [mss,sok,ts,nop,ws] DF`), row 18 (same
/// window, ws 6), p0f.fp Linux 2.6 `mss*4`.
pub const IOT: SynPreset = SynPreset {
    name: "iot",
    ttl: 64,
    df: true,
    ip_id: IpIdMode::Random,
    window: Window::MssTimes(4),
    mss: 1460,
    wscale: 2,
    layout: &[Mss, Sok, Ts, Nop, Ws],
    extra_flags: 0,
};

/// A raw-socket scanner/bot SYN (Mozi-like): no options at all, window 8192, TTL 64, no DF,
/// IP ID random. Source: PROVENANCE.md rows 4, 14 and 43 (`v4 ttl64 win8192 mss- ws-
/// [no-opts]`, DF clear on 5 of the synthetic ones).
pub const BARE: SynPreset = SynPreset {
    name: "bare",
    ttl: 64,
    df: false,
    ip_id: IpIdMode::Random,
    window: Window::Fixed(8192),
    mss: 0,
    wscale: 0,
    layout: &[],
    extra_flags: 0,
};

/// Every preset, in a fixed order.
pub const PRESETS: [&SynPreset; 7] = [&LINUX, &WINDOWS, &MACOS, &ANDROID, &FREEBSD, &IOT, &BARE];

/// Look a preset up by name.
pub fn preset(name: &str) -> Option<&'static SynPreset> {
    PRESETS.iter().copied().find(|p| p.name == name)
}
