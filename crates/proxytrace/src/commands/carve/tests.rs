use super::*;
use std::net::SocketAddr;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn tuples_parse_in_both_families_and_match_either_direction() {
    let (a, b) = parse_tuple("10.0.0.2:32768-10.0.1.9:8080").unwrap();
    assert_eq!((a, b), (sa("10.0.0.2:32768"), sa("10.0.1.9:8080")));
    let (a, b) = parse_tuple("[2001:db8::1]:443-[2001:db8::2]:51000").unwrap();
    assert_eq!((a, b), (sa("[2001:db8::1]:443"), sa("[2001:db8::2]:51000")));
    for bad in [
        "10.0.0.2:1",
        "10.0.0.2-10.0.0.3:80",
        "2001:db8::1:443-[::1]:80",
        "",
    ] {
        assert!(
            matches!(parse_tuple(bad), Err(SelectionError::BadTuple { .. })),
            "{bad}"
        );
    }
    let mut s = Selection::default();
    assert!(s.add(sa("10.0.0.2:32768"), sa("10.0.1.9:8080")).unwrap());
    // The same connection named from the other side is not a second one.
    assert!(!s.add(sa("10.0.1.9:8080"), sa("10.0.0.2:32768")).unwrap());
    assert_eq!(s.len(), 1);
    let ip = |s: &str| s.parse().unwrap();
    assert_eq!(
        s.find((ip("10.0.1.9"), 8080), (ip("10.0.0.2"), 32768)),
        Some(0)
    );
    assert_eq!(
        s.find((ip("10.0.0.2"), 8080), (ip("10.0.1.9"), 32768)),
        None
    );
    assert!(s.joins_hosts(ip("10.0.1.9"), ip("10.0.0.2")));
    assert!(!s.joins_hosts(ip("10.0.1.9"), ip("10.0.0.3")));
}

#[test]
fn a_csv_names_its_back_and_front_connections() {
    let csv = "time,src_ip,src_port,dst_ip,dst_port,front_src_ip,front_src_port,front_dst_ip,front_dst_port\n\
               t,10.0.0.2,32768,10.0.1.9,8080,62.5.161.246,30457,203.0.113.10,443\n\
               t,10.0.0.2,32769,10.0.1.9,8080,,,,\n\
               t,10.0.0.2,32768,10.0.1.9,8080,62.5.161.246,30457,203.0.113.10,443\n";
    let mut s = Selection::default();
    let got = s.add_csv(csv.as_bytes()).unwrap();
    assert_eq!(
        got,
        CsvSelection {
            rows: 3,
            tuples: 5,
            rows_without_front: 1
        }
    );
    assert_eq!(s.len(), 3);

    let mut s = Selection::default();
    assert!(matches!(
        s.add_csv("a,b\n1,2\n".as_bytes()),
        Err(SelectionError::NoColumns)
    ));
    let bad = "src_ip,src_port,dst_ip,dst_port\n10.0.0.2,1,10.0.0.3,2\n10.0.0.2,99999,10.0.0.3,2\n";
    match s.add_csv(bad.as_bytes()) {
        Err(SelectionError::BadCell { line, column, .. }) => {
            assert_eq!((line, column), (3, "src_port"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn outputs_join_only_same_format_and_pcap_header() {
    let pcap = |name: &str, header: Vec<u8>| CarvedFile {
        input: name.into(),
        format: FileFormat::Pcap {
            order: crate::capture::ByteOrder::Little,
            resolution: crate::capture::TimeResolution::Micro,
            modified: false,
        },
        compression: Compression::None,
        header,
    };
    let h: Vec<u8> = (0u8..24).collect();
    let a = pcap("a", h.clone());
    assert_eq!(pcap("b", h.clone()).can_follow(&a), Ok(()));
    let mut other = h.clone();
    other[20] = 113;
    assert!(matches!(
        pcap("b", other).can_follow(&a),
        Err(Incompatible::PcapHeader {
            field: "link type",
            ..
        })
    ));
    let ng = |name: &str| CarvedFile {
        input: name.into(),
        format: FileFormat::PcapNg,
        compression: Compression::None,
        header: Vec::new(),
    };
    assert_eq!(ng("c").can_follow(&ng("d")), Ok(()));
    assert!(matches!(
        ng("c").can_follow(&a),
        Err(Incompatible::Format(..))
    ));
}

#[test]
fn counters_cover_the_stats() {
    crate::vocab::counters::assert_counters_cover(&CarveStats::default());
}
