//! Each request's response on the back side, against tshark.
//!
//! The expected values were read from `tshark -r F -o http.desegment_body:FALSE -Y
//! http.response -T fields -e tcp.stream -e http.response.code -e http.content_length
//! -e http.content_type -e http.connection -e http.time` (with body desegmentation off,
//! `http.time` runs to the frame holding the response's first byte, as
//! `response_time_us` does), and the head size as the server's payload bytes
//! (`tcp.len` summed) minus the Content-Length.

use crate::util::run;

/// The response columns of every row, as `name=value` pairs.
fn response_columns(capture: &str) -> Vec<Vec<(String, String)>> {
    let (code, out, err) = run(&["requests", capture, "--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    let wanted = [
        "packet",
        "status",
        "response_head_bytes",
        "response_body_bytes",
        "response_body_framing",
        "content_type",
        "response_time_us",
        "closed_after",
        "response_missing",
    ];
    out.lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            wanted
                .iter()
                .map(|w| {
                    let text = match &v[*w] {
                        serde_json::Value::Null => String::new(),
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (w.to_string(), text)
                })
                .collect()
        })
        .collect()
}

fn row(v: [&str; 9]) -> Vec<(String, String)> {
    [
        "packet",
        "status",
        "response_head_bytes",
        "response_body_bytes",
        "response_body_framing",
        "content_type",
        "response_time_us",
        "closed_after",
        "response_missing",
    ]
    .iter()
    .zip(v)
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect()
}

#[test]
fn responses_of_real_captures_match_tshark() {
    let cases = [
        // tshark: 403, Content-Length 5039 (5237 server bytes), "Connection: close",
        // http.time 0.002365.
        (
            "testdata/captures/http-simple-get.pcap",
            [
                "4",
                "403",
                "198",
                "5039",
                "content_length",
                "text/html; charset=UTF-8",
                "2365",
                "true",
                "",
            ],
        ),
        // 200, 39 (357 server bytes), keep-alive, 0.175004.
        (
            "testdata/captures/testmyids.pcap",
            [
                "4",
                "200",
                "318",
                "39",
                "content_length",
                "text/html",
                "175004",
                "false",
                "",
            ],
        ),
        // IPv6: 200, 2121 (2259 server bytes), close, 0.005085.
        (
            "testdata/captures/v6-http.pcap",
            [
                "49",
                "200",
                "138",
                "2121",
                "content_length",
                "text/html",
                "5085",
                "true",
                "",
            ],
        ),
        // VLAN: 200, 4705 (5007 server bytes), Keep-Alive, 0.069985.
        (
            "testdata/captures/http-vlan-0.pcap",
            [
                "4",
                "200",
                "302",
                "4705",
                "content_length",
                "text/plain; charset=UTF-8",
                "69985",
                "false",
                "",
            ],
        ),
    ];
    for (capture, want) in cases {
        assert_eq!(response_columns(capture), [row(want)], "{capture}");
    }
}

/// Every response tshark decodes in the bundled captures, compared row by row (code,
/// content length, content type) with the rows' columns. The time is left out: tshark
/// counts it from the request's last frame, the row from its first byte.
#[test]
#[ignore = "needs tshark"]
fn every_response_matches_tshark() {
    let dir = crate::util::testdata("captures");
    let mut compared = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let p = path.to_str().unwrap();
        if !(p.ends_with(".pcap") || p.ends_with(".pcapng") || p.ends_with(".cap")) {
            continue;
        }
        let out = std::process::Command::new("tshark")
            .args([
                "-r",
                p,
                "-o",
                "http.desegment_body:FALSE",
                "-Y",
                "http.response",
            ])
            .args(["-T", "fields", "-E", "separator=|"])
            .args(["-e", "http.response.code", "-e", "http.content_length"])
            .args(["-e", "http.content_type"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let theirs: Vec<Vec<&str>> = text.lines().map(|l| l.split('|').collect()).collect();
        let ours: Vec<_> = response_columns(p)
            .into_iter()
            .filter(|r| !r[1].1.is_empty())
            .collect();
        for (t, o) in theirs.iter().zip(&ours) {
            assert_eq!(t[0], o[1].1, "{p}: status");
            if !t[1].is_empty() {
                assert_eq!(t[1], o[3].1, "{p}: body bytes");
            }
            assert_eq!(t[2], o[5].1, "{p}: content type");
            compared += 1;
        }
    }
    assert!(compared >= 4);
}
