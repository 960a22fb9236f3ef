//! Unit tests of the join: record sizes, index lookups against naive filtering, the
//! offset estimate and duration parsing.

use super::clock::{estimate_from, parse_duration_ns, DurationError};
use super::index::{FrontReq, FrontSyn, IndexBuilder, SynVar};
use super::rules::{Confidence, JoinMethod};
use crate::extract::handshakes::{FileMeta, SynEntry};
use crate::fingerprint::{Database, SynKind, SynObservation};
use crate::timefmt::Precision;
use std::net::{IpAddr, SocketAddr};

#[test]
fn records_are_as_small_as_documented() {
    assert_eq!(std::mem::size_of::<FrontSyn>(), 32);
    assert_eq!(std::mem::size_of::<SynVar>(), 64);
    assert_eq!(std::mem::size_of::<FrontReq>(), 24);
}

#[test]
fn durations() {
    assert_eq!(parse_duration_ns("-1.5s"), Ok(-1_500_000_000));
    assert_eq!(parse_duration_ns("250ms"), Ok(250_000_000));
    assert_eq!(parse_duration_ns("30min"), Ok(1_800_000_000_000));
    assert_eq!(parse_duration_ns("2m"), Ok(120_000_000_000));
    assert_eq!(parse_duration_ns("1h"), Ok(3_600_000_000_000));
    assert_eq!(parse_duration_ns("+7us"), Ok(7_000));
    assert_eq!(parse_duration_ns("0.000000001s"), Ok(1));
    assert_eq!(parse_duration_ns(".5ms"), Ok(500_000));
    assert_eq!(parse_duration_ns("12ns"), Ok(12));
    assert_eq!(parse_duration_ns(" 3 ms "), Ok(3_000_000));
    assert!(matches!(
        parse_duration_ns("5"),
        Err(DurationError::NoUnit(_))
    ));
    assert!(matches!(
        parse_duration_ns("s"),
        Err(DurationError::NotANumber(_))
    ));
    assert!(matches!(
        parse_duration_ns("1.2.3s"),
        Err(DurationError::NotANumber(_))
    ));
    assert!(matches!(
        parse_duration_ns("--5s"),
        Err(DurationError::NotANumber(_))
    ));
    assert!(matches!(
        parse_duration_ns("5 parsecs"),
        Err(DurationError::UnknownUnit { .. })
    ));
    assert!(matches!(
        parse_duration_ns("99999999999999h"),
        Err(DurationError::OutOfRange(_))
    ));
}

/// `5µs` used to be cut at its first ASCII letter (`s`), leaving `5µ` as the number.
#[test]
fn microseconds_take_every_spelling_and_sign() {
    for unit in ["us", "\u{b5}s", "\u{3bc}s"] {
        assert_eq!(parse_duration_ns(&format!("5{unit}")), Ok(5_000), "{unit}");
        assert_eq!(
            parse_duration_ns(&format!("-5{unit}")),
            Ok(-5_000),
            "{unit}"
        );
        assert_eq!(
            parse_duration_ns(&format!("+2.5{unit}")),
            Ok(2_500),
            "{unit}"
        );
    }
    assert_eq!(parse_duration_ns("-0.5ns"), Ok(0));
    assert_eq!(parse_duration_ns("-1ms"), Ok(-1_000_000));
}

use crate::decode::TcpFlags;
use crate::fingerprint::{OptionLayout, Quirks};
use proptest::prelude::*;

fn entry<'db>(ip: u8, port: u16, ts_ns: i64, window: u16) -> SynEntry<'db> {
    let obs = SynObservation {
        kind: SynKind::Syn,
        ts_ns,
        p0f_ignores: None,
        ip_version: 4,
        ttl: 60,
        ip_options_len: 0,
        df: true,
        ip_id: Some(u32::from(port)),
        ip_ecn: 0,
        tcp_flags: TcpFlags(TcpFlags::SYN),
        seq: 1,
        ack: 0,
        window,
        mss: Some(1460),
        window_scale: None,
        timestamp: Some((ts_ns as u32, 0)),
        options: OptionLayout::default(),
        quirks: Quirks::default(),
        payload_len: 0,
        header_len: 40,
        peer_syn_mss: None,
    };
    SynEntry {
        file: 0,
        index: 1,
        src: SocketAddr::new(IpAddr::from([192, 0, 2, ip]), port),
        dst: SocketAddr::new(IpAddr::from([203, 0, 113, 10]), 443),
        obs,
        retransmits: 0,
        syn_to_synack_ns: None,
        synack_to_ack_ns: None,
        uptime: None,
        os: None,
    }
}

proptest! {
    /// The index's binary searches give what filtering the whole list gives: the
    /// latest SYN of an (ip, port) in a range (ties: the last added), an IP's SYNs in
    /// a range, front requests of a key and IP in a range, and the fingerprint count.
    #[test]
    fn lookups_match_naive_filtering(
        syns in prop::collection::vec((0u8..4, 1u16..4, 0i64..60, 0u16..3), 0..80),
        reqs in prop::collection::vec((0u64..3, 0u8..5, 1u16..4, 0i64..60), 0..40),
        queries in prop::collection::vec((0u8..5, 1u16..4, 0i64..70, 0i64..30), 1..30),
    ) {
        let db = Database::default();
        let mut b = IndexBuilder::new(&db);
        for &(ip, port, ts, w) in &syns {
            b.add(&entry(ip, port, ts, 1000 + w));
        }
        let mut index = b.finish(vec![FileMeta { name: "f".into(), precision: Precision::NANO }]);
        let ipaddr = |i: u8| IpAddr::from([192, 0, 2, i]);
        index.add_requests(
            reqs.iter().map(|&(k, ip, port, ts)| (k, ipaddr(ip), port, ts)).collect(),
        );
        for &(qip, qport, hi, len) in &queries {
            let lo = hi - len;
            let Some(id) = index.ip_id(ipaddr(qip)) else {
                prop_assert!(!syns.iter().any(|s| s.0 == qip));
                continue;
            };
            // (insertion order, ts) of SYNs of this ip in range.
            let naive: Vec<(usize, i64)> = syns
                .iter()
                .enumerate()
                .filter(|(_, s)| s.0 == qip && (lo..=hi).contains(&s.2))
                .map(|(i, s)| (i, s.2))
                .collect();
            let mut got: Vec<usize> =
                index.syns_between(id, lo, hi).iter().map(|s| s.detail as usize).collect();
            got.sort_unstable();
            prop_assert_eq!(&got, &naive.iter().map(|n| n.0).collect::<Vec<_>>());
            let of_port: Vec<(i64, usize)> = naive
                .iter()
                .filter(|n| syns[n.0].1 == qport)
                .map(|n| (n.1, n.0))
                .collect();
            let (latest, n) = index.latest_port(id, qport, lo, hi);
            prop_assert_eq!(n, of_port.len());
            prop_assert_eq!(
                latest.map(|s| (s.ts_ns, s.detail as usize)),
                of_port.iter().max().copied()
            );
            let mut sigs: Vec<u16> = naive.iter().map(|n| syns[n.0].3).collect();
            sigs.sort_unstable();
            sigs.dedup();
            let mut isigs: Vec<u32> =
                index.syns_between(id, lo, hi).iter().map(|s| s.sig).collect();
            isigs.sort_unstable();
            isigs.dedup();
            prop_assert_eq!(isigs.len(), sigs.len());
            for key in 0..3 {
                let mut want: Vec<(i64, u16)> = reqs
                    .iter()
                    .filter(|r| r.0 == key && r.1 == qip && (lo..=hi).contains(&r.3))
                    .map(|r| (r.3, r.2))
                    .collect();
                want.sort_unstable();
                let got: Vec<(i64, u16)> = index
                    .requests_between(key, id, lo, hi)
                    .iter()
                    .map(|r| (r.ts_ns, r.port))
                    .collect();
                prop_assert_eq!(got, want);
            }
        }
    }
}

#[test]
fn estimate_is_median_and_iqr() {
    let e = estimate_from(vec![5, 1, 3, 2, 4], JoinMethod::RequestMatch).unwrap();
    // Sorted 1..5: q1 = 2, median = 3, q3 = 4.
    assert_eq!((e.offset_ns, e.iqr_ns, e.pairs), (3, 2, 5));
    assert!(estimate_from(Vec::new(), JoinMethod::ExactPort).is_none());
}

/// The early spread is the median minus the 1st percentile: the fastest forwarded
/// requests, not the slow tail the interquartile range also holds.
#[test]
fn early_spread_is_median_minus_first_percentile() {
    // 201 pairs: 0, 1, ..., 199 µs, and one 50 ms outlier on the slow side.
    let mut d: Vec<i64> = (0..200).map(|i| i * 1_000).collect();
    d.push(50_000_000);
    let e = estimate_from(d, JoinMethod::RequestMatch).unwrap();
    // Sorted: index 100 is the median (100 µs), index 2 the 1st percentile (2 µs).
    assert_eq!((e.offset_ns, e.early_spread_ns), (100_000, 98_000));
    assert_eq!(e.iqr_ns, 150_000 - 50_000);
    use super::rules::{clock_slack_ns, CLOCK_SLACK_CEILING_NS, CLOCK_SLACK_FLOOR_NS};
    assert_eq!(
        clock_slack_ns(Some(e.early_spread_ns)),
        CLOCK_SLACK_FLOOR_NS
    );
    assert_eq!(clock_slack_ns(None), CLOCK_SLACK_FLOOR_NS);
    assert_eq!(clock_slack_ns(Some(7_000_000)), 7_000_000);
    assert_eq!(clock_slack_ns(Some(i64::MAX)), CLOCK_SLACK_CEILING_NS);
    assert_eq!(clock_slack_ns(Some(-5)), CLOCK_SLACK_FLOOR_NS);
}

#[test]
fn methods_and_confidences_keep_their_names() {
    let methods: Vec<&str> = JoinMethod::ALL.iter().map(|m| m.name()).collect();
    assert_eq!(
        methods,
        [
            "exact_port",
            "request_match",
            "transparent",
            "ip_time",
            "none",
            "no_identity"
        ]
    );
    let confidences: Vec<&str> = Confidence::ALL.iter().map(|c| c.name()).collect();
    assert_eq!(confidences, ["certain", "probable", "ambiguous", "none"]);
    assert_eq!(
        serde_json::to_string(&JoinMethod::IpTime).unwrap(),
        "\"ip_time\""
    );
}

/// Counts what a join's caller sees.
#[derive(Default)]
struct Seen {
    rows: Vec<super::JoinRow>,
    file_errors: Vec<String>,
}

impl crate::pipeline::Sink<super::JoinRow> for Seen {
    type Error = std::convert::Infallible;
    fn row(&mut self, row: super::JoinRow) -> Result<std::ops::ControlFlow<()>, Self::Error> {
        self.rows.push(row);
        Ok(std::ops::ControlFlow::Continue(()))
    }
    fn file_error(
        &mut self,
        error: &crate::capture::CaptureError,
    ) -> Result<std::ops::ControlFlow<()>, Self::Error> {
        self.file_errors.push(error.to_string());
        Ok(std::ops::ControlFlow::Continue(()))
    }
}

fn capture(name: &str) -> crate::capture::Input {
    crate::capture::Input::Path(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/captures")
            .join(name),
    )
}

fn inputs(files: &[&str]) -> crate::pipeline::Inputs {
    crate::pipeline::Inputs::from_files(
        files.iter().map(|f| capture(f)).collect(),
        crate::capture::OpenOptions { mmap: true },
    )
}

fn engine() -> crate::engine::Engine {
    crate::engine::Engine::new(crate::engine::EngineOptions::default()).unwrap()
}

/// Every read of the join meets the missing files (the front twice, the back twice with
/// the estimate, three times with `--two-pass`): each is in the report once and shown to
/// the sink once.
#[test]
fn an_unreadable_file_of_any_read_is_reported_once() {
    let join_inputs = super::JoinInputs {
        front: inputs(&["http-simple-get.pcap", "missing-front.pcap"]),
        back: inputs(&["http-simple-get.pcap", "missing-back.pcap"]),
    };
    for two_pass in [false, true] {
        let cfg = super::JoinConfig {
            two_pass,
            ..super::JoinConfig::default()
        };
        let mut seen = Seen::default();
        let db = Database::default();
        let report = super::run(&engine(), &join_inputs, &cfg, &db, &mut seen).unwrap();
        // In the order of the reads: with --two-pass the back side is read first.
        let mut failed: Vec<&str> = report
            .failed_files
            .iter()
            .filter_map(|f| f.file.rsplit('/').next())
            .collect();
        if two_pass {
            failed.reverse();
        }
        assert_eq!(failed, ["missing-front.pcap", "missing-back.pcap"]);
        assert_eq!(seen.file_errors.len(), 2, "{:?}", seen.file_errors);
        assert_eq!((seen.rows.len() as u64, report.rows), (1, 1));
        // One front file and one back file read.
        assert_eq!(report.files, 2);
        let sections: Vec<&str> = report.sections.iter().map(|s| s.name.as_str()).collect();
        for want in [
            "requests",
            "front handshakes",
            "front index",
            "join methods",
        ] {
            assert!(sections.contains(&want), "{sections:?}");
        }
        assert!(
            report.notes.iter().any(|n| n.starts_with("clock offset")),
            "{:?}",
            report.notes
        );
        assert_eq!(
            report.notes.iter().any(|n| n.starts_with("two-pass")),
            two_pass
        );
    }
}

#[test]
fn without_a_readable_front_file_the_join_fails_after_showing_why() {
    let join_inputs = super::JoinInputs {
        front: inputs(&["missing-front.pcap"]),
        back: inputs(&["http-simple-get.pcap"]),
    };
    let mut seen = Seen::default();
    let db = Database::default();
    let got = super::run(
        &engine(),
        &join_inputs,
        &super::JoinConfig::default(),
        &db,
        &mut seen,
    );
    assert!(
        matches!(got, Err(super::JoinError::NoFrontCapture { .. })),
        "{got:?}"
    );
    assert_eq!(seen.file_errors.len(), 1);
    assert!(seen.rows.is_empty());
}
