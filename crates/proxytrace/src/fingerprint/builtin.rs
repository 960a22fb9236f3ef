//! The built-in database, used when no `--db` is given: p0f.fp-format text embedded at
//! compile time (src/fingerprint/builtin.fp). Each signature cites its source in a comment.

use super::db::{Database, DbError};
use std::sync::OnceLock;

/// The embedded p0f.fp-format text.
pub const BUILTIN_FP: &str = include_str!("builtin.fp");

/// Parse the embedded text (fallible only if the file in the source tree is broken;
/// a test guarantees it is not).
pub fn parse() -> Result<Database, DbError> {
    Database::parse(BUILTIN_FP)
}

/// The built-in database, parsed once.
pub fn database() -> &'static Database {
    static DB: OnceLock<Database> = OnceLock::new();
    // The text is a compile-time constant checked by `builtin_parses`; an empty database
    // (no matches) is the safe fallback rather than a panic.
    DB.get_or_init(|| parse().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode, Decoded};
    use crate::fingerprint::db::MatchQuality;
    use crate::fingerprint::tcp::{SynKind, SynObservation};
    use crate::fingerprint::tests::observe;

    #[test]
    fn builtin_parses() {
        let db = parse().unwrap();
        // Independent count: `sig` lines between the section headers.
        let text = BUILTIN_FP;
        let req = text.find("[tcp:request]").unwrap();
        let resp = text.find("[tcp:response]").unwrap();
        let sigs = |t: &str| t.lines().filter(|l| l.starts_with("sig")).count();
        assert_eq!(db.requests.len(), sigs(&text[req..resp]));
        assert_eq!(db.responses.len(), sigs(&text[resp..]));
        assert_eq!(db.mtu_name(1500), Some("Ethernet or modem"));
        // Every label has at least one signature.
        for (i, l) in db.labels.iter().enumerate() {
            let n = db
                .requests
                .iter()
                .chain(&db.responses)
                .filter(|s| s.label == i)
                .count();
            assert!(n > 0, "label {} has no sig", l.text);
        }
    }

    /// (capture, kind, client port, label, quality) for signatures cited from captures.
    #[test]
    fn cited_captures_match() {
        use MatchQuality::*;
        let cases: &[(&str, SynKind, &str, &str, MatchQuality)] = &[
            (
                "testmyids.pcap",
                SynKind::Syn,
                "/54162",
                "s:unix:Linux:4.19+ (5.x, 6.x)",
                Exact,
            ),
            (
                "openjdk-25.0.2-zeek.org.pcap",
                SynKind::Syn,
                "/55058",
                "s:unix:Linux:4.19+ (5.x, 6.x)",
                Exact,
            ),
            (
                "irc-starttls.pcap",
                SynKind::Syn,
                "/55123",
                "s:unix:Linux:3.x-4.18",
                Exact,
            ),
            (
                "tcp-fast-open.pcap",
                SynKind::Syn,
                "/55533",
                "s:unix:Linux:3.x-4.18",
                Exact,
            ),
            (
                "tcp-fast-open.pcap",
                SynKind::Syn,
                "/55534",
                "s:unix:Linux:3.x-4.18",
                Exact,
            ),
            (
                "tcp-fast-open.pcap",
                SynKind::SynAck,
                "/55533",
                "s:unix:Linux:3.x-4.18",
                Exact,
            ),
            (
                "psql-login-no-role.pcap",
                SynKind::SynAck,
                "/51625",
                "s:unix:Linux:3.x-4.18",
                Exact,
            ),
            (
                "fbzero-android.pcap",
                SynKind::Syn,
                "/39584",
                "s:unix:Android:10+",
                Exact,
            ),
            (
                "psql-login-no-role.pcap",
                SynKind::Syn,
                "/51625",
                "s:win:Windows:10 or 11",
                Exact,
            ),
            (
                "mmsX.pcap",
                SynKind::Syn,
                "/1089",
                "s:win:Windows:XP",
                Exact,
            ),
            (
                "socks5-http-302-frag.pcap",
                SynKind::Syn,
                "/1637",
                "s:win:Windows:XP",
                Exact,
            ),
            (
                "macos_tcp_flags.pcap",
                SynKind::Syn,
                "/61311",
                "s:unix:Apple:macOS 12+ or iOS/iPadOS 15+",
                Exact,
            ),
            (
                "tls-alpn-h2.pcap",
                SynKind::Syn,
                "/64034",
                "s:unix:Apple:macOS 12+ or iOS/iPadOS 15+",
                Exact,
            ),
            (
                "http-vlan-0.pcap",
                SynKind::Syn,
                "/59856",
                "s:unix:Apple:macOS 10.x-11 or older iOS",
                Exact,
            ),
            (
                "qi_internet_SYNACK_curl_jsonip.pcap",
                SynKind::Syn,
                "/39976",
                "s:unix:OpenBSD:",
                Exact,
            ),
        ];
        let db = database();
        for &(file, kind, port, label, quality) in cases {
            let seen = observe(file);
            let s = seen
                .iter()
                .find(|s| s.obs.kind == kind && s.client.ends_with(port))
                .unwrap_or_else(|| panic!("{file} {port}"));
            let m = db
                .match_syn(&s.obs)
                .unwrap_or_else(|| panic!("{file} {port}: {} unmatched", s.obs));
            assert_eq!(
                (m.label, m.quality),
                (label, quality),
                "{file} {port}: {}",
                s.obs
            );
        }
    }

    /// Ethernet + IPv4 + TCP SYN bytes.
    fn v4(ttl: u8, df: bool, id: u16, tos: u8, flags: u8, win: u16, opts: &[u8]) -> Vec<u8> {
        assert_eq!(opts.len() % 4, 0);
        let tcp_len = 20 + opts.len();
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0x45, tos]);
        f.extend_from_slice(&((20 + tcp_len) as u16).to_be_bytes());
        f.extend_from_slice(&id.to_be_bytes());
        f.extend_from_slice(if df { &[0x40, 0] } else { &[0, 0] });
        f.extend_from_slice(&[ttl, 6, 0, 0, 192, 0, 2, 1, 198, 51, 100, 7]);
        f.extend_from_slice(&[0xc3, 0x50, 0x01, 0xbb, 0, 0, 0x30, 0x39, 0, 0, 0, 0]);
        f.extend_from_slice(&[((tcp_len / 4) as u8) << 4, flags]);
        f.extend_from_slice(&win.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0]);
        f.extend_from_slice(opts);
        f
    }

    /// Ethernet + IPv6 + TCP SYN bytes.
    fn v6(hlim: u8, tc: u8, flow: u32, flags: u8, win: u16, opts: &[u8]) -> Vec<u8> {
        let tcp_len = 20 + opts.len();
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x86, 0xdd]);
        f.extend_from_slice(&((6u32 << 28) | (u32::from(tc) << 20) | flow).to_be_bytes());
        f.extend_from_slice(&(tcp_len as u16).to_be_bytes());
        f.extend_from_slice(&[6, hlim]);
        f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        f.extend_from_slice(&[0xc3, 0x50, 0x01, 0xbb, 0, 0, 0x30, 0x39, 0, 0, 0, 0]);
        f.extend_from_slice(&[((tcp_len / 4) as u8) << 4, flags]);
        f.extend_from_slice(&win.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0]);
        f.extend_from_slice(opts);
        f
    }

    fn obs(frame: &[u8]) -> SynObservation {
        let Ok(Decoded::Ip(p)) = decode(1, frame, frame.len() as u32, 0) else {
            panic!("undecodable")
        };
        SynObservation::from_packet(&p).unwrap()
    }

    const SYN: u8 = 0x02;
    const SYN_ECE_CWR: u8 = 0xc2;
    fn mss(v: u16) -> [u8; 4] {
        let b = v.to_be_bytes();
        [2, 4, b[0], b[1]]
    }
    const TS: [u8; 10] = [8, 10, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0];

    /// Linux option block `mss,sok,ts,nop,ws(S)`.
    fn linux_opts(m: u16, ws: u8) -> Vec<u8> {
        [&mss(m)[..], &[4, 2], &TS, &[1, 3, 3, ws]].concat()
    }
    /// XNU option block `mss,nop,ws(S),nop,nop,ts,sok,eol+1`.
    fn xnu_opts(m: u16, ws: u8) -> Vec<u8> {
        [&mss(m)[..], &[1, 3, 3, ws, 1, 1], &TS, &[4, 2, 0, 0]].concat()
    }
    /// Windows option block `mss,nop,ws(8),nop,nop,sok`.
    fn win_opts(m: u16) -> Vec<u8> {
        [&mss(m)[..], &[1, 3, 3, 8, 1, 1, 4, 2]].concat()
    }
    /// FreeBSD option block `mss,nop,ws(S),sok,ts`.
    fn freebsd_opts(m: u16, ws: u8) -> Vec<u8> {
        [&mss(m)[..], &[1, 3, 3, ws, 4, 2], &TS].concat()
    }

    fn label_of(o: &SynObservation) -> (&'static str, MatchQuality, u8) {
        let m = database()
            .match_syn(o)
            .unwrap_or_else(|| panic!("{o} unmatched"));
        (m.label, m.quality, m.distance)
    }

    #[test]
    fn hand_built_modern_stacks() {
        use MatchQuality::*;
        // Windows 11, 10 hops away: 64240 ws 8, TTL 118, DF, ID set.
        let o = obs(&v4(118, true, 0x1234, 0, SYN, 64240, &win_opts(1460)));
        assert_eq!(
            o.to_string(),
            "4:118+10:0:1460:mss*44,8:mss,nop,ws,nop,nop,sok:df,id+:0"
        );
        assert_eq!(label_of(&o), ("s:win:Windows:10 or 11", Exact, 10));
        // Windows 10 behind a VPN (MSS 1360): Windows keeps 64240, which p0f prints as
        // mss*44 through its fixed 1460 divisor (not a multiple of 1360).
        let o = obs(&v4(128, true, 7, 0, SYN, 64240, &win_opts(1360)));
        assert_eq!(
            o.to_string(),
            "4:128+0:0:1360:mss*44,8:mss,nop,ws,nop,nop,sok:df,id+:0"
        );
        assert_eq!(label_of(&o).0, "s:win:Windows:10 or 11");
        // macOS 13 / iOS 16 on Wi-Fi: no DF, ID 0, ECN (ECE+CWR) -> id-,ecn.
        let o = obs(&v4(64, false, 0, 0, SYN_ECE_CWR, 65535, &xnu_opts(1460, 6)));
        assert_eq!(
            o.to_string(),
            "4:64+0:0:1460:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:id-,ecn:0"
        );
        assert_eq!(
            label_of(&o),
            ("s:unix:Apple:macOS 12+ or iOS/iPadOS 15+", Exact, 0)
        );
        // iPhone on cellular (MSS 1380, IPv6 with flow label).
        let o = obs(&v6(64, 0, 0x5a5a5, SYN, 65535, &xnu_opts(1380, 6)));
        assert_eq!(
            o.to_string(),
            "6:64+0:0:1380:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0"
        );
        assert_eq!(label_of(&o).0, "s:unix:Apple:macOS 12+ or iOS/iPadOS 15+");
        // Android 12 on Wi-Fi: init_rwnd 60 * 1460 > 65535 -> 65535; rmem max 4 MB -> ws 7.
        let o = obs(&v4(63, true, 0x4321, 0, SYN, 65535, &linux_opts(1460, 7)));
        assert_eq!(
            o.to_string(),
            "4:63+1:0:1460:65535,7:mss,sok,ts,nop,ws:df,id+:0"
        );
        assert_eq!(label_of(&o), ("s:unix:Android:10+", Exact, 1));
        // Android over IPv6 (flow label, MSS 1440 -> window still 65535).
        let o = obs(&v6(64, 0, 0x12345, SYN, 65535, &linux_opts(1440, 8)));
        assert_eq!(label_of(&o).0, "s:unix:Android:10+");
        // Linux 6.x behind a tunnel, MSS 1360: 48 * 1360 = 65280.
        let o = obs(&v4(64, true, 99, 0, SYN, 65280, &linux_opts(1360, 7)));
        assert_eq!(
            o.to_string(),
            "4:64+0:0:1360:mss*48,7:mss,sok,ts,nop,ws:df,id+:0"
        );
        assert_eq!(label_of(&o), ("s:unix:Linux:4.19+ (5.x, 6.x)", Exact, 0));
        // Linux 5.x over IPv6, MSS 1440: 45 * 1440 = 64800, flow label.
        let o = obs(&v6(58, 0, 0xabcde, SYN, 64800, &linux_opts(1440, 7)));
        assert_eq!(
            o.to_string(),
            "6:58+6:0:1440:mss*45,7:mss,sok,ts,nop,ws:flow:0"
        );
        assert_eq!(label_of(&o), ("s:unix:Linux:4.19+ (5.x, 6.x)", Exact, 6));
        // Linux 6.x with tcp_timestamps=0: mss,nop,nop,sok,nop,ws.
        let no_ts = [&mss(1460)[..], &[1, 1, 4, 2, 1, 3, 3, 7]].concat();
        let o = obs(&v4(64, true, 5, 0, SYN, 64240, &no_ts));
        assert_eq!(
            o.to_string(),
            "4:64+0:0:1460:mss*44,7:mss,nop,nop,sok,nop,ws:df,id+:0"
        );
        assert_eq!(label_of(&o).0, "s:unix:Linux:4.19+ (5.x, 6.x)");
        // FreeBSD 13: 65535, ws 6, mss,nop,ws,sok,ts, DF with ID 0 (rfc6864).
        let o = obs(&v4(64, true, 0, 0, SYN, 65535, &freebsd_opts(1460, 6)));
        assert_eq!(
            o.to_string(),
            "4:64+0:0:1460:65535,6:mss,nop,ws,sok,ts:df:0"
        );
        assert_eq!(label_of(&o), ("s:unix:FreeBSD:13+", Exact, 0));
        let o = obs(&v6(64, 0, 0x11111, SYN, 65535, &freebsd_opts(1440, 6)));
        assert_eq!(label_of(&o).0, "s:unix:FreeBSD:13+");
        // A Mozi-like bot on a MIPS router, 12 hops: 2.6 kernel, 4 * 1460, ws 2.
        let o = obs(&v4(52, true, 0x0101, 0, SYN, 5840, &linux_opts(1460, 2)));
        assert_eq!(
            o.to_string(),
            "4:52+12:0:1460:mss*4,2:mss,sok,ts,nop,ws:df,id+:0"
        );
        assert_eq!(
            label_of(&o),
            (
                "g:unix:Linux:embedded 2.6-3.x (router/IoT, Mozi/Boaform-like bots)",
                Generic,
                12
            )
        );
        // Boaform-like: 3.x kernel, 10 * MSS 1440, ws 3.
        let o = obs(&v4(61, true, 0x0202, 0, SYN, 14400, &linux_opts(1440, 3)));
        assert_eq!(label_of(&o).1, Generic);
        // Same stack with a large ws is a desktop 3.x kernel, not the IoT entry.
        let o = obs(&v4(64, true, 1, 0, SYN, 14600, &linux_opts(1460, 7)));
        assert_eq!(label_of(&o).0, "s:unix:Linux:3.x-4.18");
        // Windows TTL seen through a Linux-like window: no Windows match (layout differs).
        let o = obs(&v4(128, true, 1, 0, SYN, 64240, &linux_opts(1460, 8)));
        assert_ne!(database().match_syn(&o).map(|m| m.name), Some("Windows"));
    }
}
