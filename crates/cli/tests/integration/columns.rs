//! `--columns/-f` in every format, checked before any input is read, and the CSV header
//! of an output without rows. The expected bytes were read off the whole rows' CSV of the
//! bundled sample (with Python's csv module) and written here by hand.

use crate::util::{run, TempFile};
use proxytrace_synth::scenario::{generate_to_dir, ScenarioConfig};
use serde_json::Value;
use std::path::PathBuf;

const BACK: &str = "testdata/sample/back.pcap";
const FRONT: &str = "testdata/sample/front.pcap";

/// stdout of a run that must succeed.
fn ok(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

const FIRST_THREE: &str = "\
62.5.161.246,POST,/search?rid=a83ba63aa1a7562d,2026-01-01T00:00:00.024011000Z
62.5.161.246,POST,/search?rid=4aeedf72eecb1326,2026-01-01T00:00:00.035282000Z
62.5.161.246,GET,/search?rid=de5867f41ca22712,2026-01-01T00:00:00.050736000Z
";

#[test]
fn columns_select_and_order_csv() {
    let out = ok(&[
        "requests",
        "--format",
        "csv",
        "-f",
        "client_ip,method",
        "--columns",
        "target, time",
        BACK,
    ]);
    let want = format!("client_ip,method,target,time\n{FIRST_THREE}");
    assert!(out.starts_with(&want), "{out}");
    assert_eq!(out.lines().count(), 12);
    // The same bytes from standard input (the one-row-at-a-time printer, not the batches).
    let bytes = std::fs::read(crate::util::repo_root().join(BACK)).unwrap();
    let f = TempFile::with_bytes(".pcap", &bytes);
    let via_stdin = std::process::Command::new(env!("CARGO_BIN_EXE_proxytrace"))
        .args([
            "requests",
            "--format",
            "csv",
            "-f",
            "client_ip,method,target,time",
            "-",
        ])
        .stdin(std::fs::File::open(&f.0).unwrap())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(via_stdin.stdout).unwrap(), out);
}

#[test]
fn columns_in_jsonl_json_and_table() {
    let args = |format| {
        ok(&[
            "requests",
            "--format",
            format,
            "-f",
            "client_ip,method,target,time",
            BACK,
        ])
    };
    let jsonl = args("jsonl");
    assert!(jsonl.starts_with(
        "{\"client_ip\":\"62.5.161.246\",\"method\":\"POST\",\
         \"target\":\"/search?rid=a83ba63aa1a7562d\",\"time\":\"2026-01-01T00:00:00.024011000Z\"}\n"
    ));
    assert_eq!(jsonl.lines().count(), 11);
    let json = args("json");
    assert!(json.starts_with(
        "[\n{\"client_ip\":\"62.5.161.246\",\"method\":\"POST\",\
         \"target\":\"/search?rid=a83ba63aa1a7562d\",\"time\":\"2026-01-01T00:00:00.024011000Z\"},\n"
    ));
    assert!(json.ends_with("}\n]\n"));
    // A table into a pipe: no width limit, whole cells, the header once. The widest
    // client is 151.170.235.58 (14), the widest target /static/app.js?rid=c5fd012cc81c73d0
    // (35).
    let table = args("table");
    let mut lines = table.lines();
    let line = |a: &str, b: &str, c: &str, d: &str| format!("{a:<14}  {b:<6}  {c:<35}  {d}");
    assert_eq!(
        lines.next(),
        Some(line("client_ip", "method", "target", "time").as_str())
    );
    assert_eq!(
        lines.next(),
        Some(
            line(
                "62.5.161.246",
                "POST",
                "/search?rid=a83ba63aa1a7562d",
                "2026-01-01T00:00:00.024011000Z"
            )
            .as_str()
        )
    );
    assert_eq!(table.lines().count(), 12);
}

/// `-f all` is every column: the same bytes as no `-f`, for every row command and
/// format (JSON's nested `proxy` included).
#[test]
fn all_columns_equal_the_whole_rows() {
    let commands: &[&[&str]] = &[
        &["requests", BACK],
        &["flows", BACK],
        &["connections", BACK],
        &["syns", FRONT],
        &["syns", "--summary", FRONT],
        &["join", "--front", FRONT, "--back", BACK],
        &["join", "--summary", "--front", FRONT, "--back", BACK],
        &["proxies", BACK],
    ];
    for cmd in commands {
        for format in ["csv", "jsonl", "json"] {
            let mut whole = cmd.to_vec();
            whole.extend(["--format", format]);
            let mut all = whole.clone();
            all.extend(["-f", "all"]);
            let (w, a) = (ok(&whole), ok(&all));
            assert!(!w.is_empty());
            assert!(w == a, "{cmd:?} {format}");
        }
    }
}

/// The parsed PROXY header (`proxy`, a nested object) is one name of the JSON forms, kept
/// whole; CSV and tables refuse it and say which flat columns they have.
#[test]
fn nested_proxy_object_in_json_only() {
    let dir = std::env::temp_dir().join(format!("proxytrace-cols-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = ScenarioConfig {
        seed: 3,
        back_bytes: 1 << 20,
        ..ScenarioConfig::default()
    };
    let (_, files) = generate_to_dir(&cfg, &dir).unwrap();
    let back = files.back.to_str().unwrap();
    let whole: Vec<Value> = ok(&["requests", "--format", "jsonl", back])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let picked: Vec<Value> = ok(&["requests", "--format", "jsonl", "-f", "proxy,packet", back])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(whole.len(), picked.len());
    let mut with_proxy = 0;
    for (w, p) in whole.iter().zip(&picked) {
        let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["proxy", "packet"]);
        assert_eq!(p["proxy"], w["proxy"]);
        assert_eq!(p["packet"], w["packet"]);
        with_proxy += usize::from(!w["proxy"].is_null());
    }
    assert!(with_proxy > 0, "the scenario has PROXY connections");
    for format in ["csv", "table"] {
        let (code, out, err) = run(&["requests", "--format", format, "-f", "time,proxy", back]);
        assert_eq!(code, 2);
        assert_eq!(out, "");
        assert!(
            err.contains("\"proxy\" is a nested object of the JSON forms")
                && err.contains("proxy_version, proxy_src, proxy_dst"),
            "{err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// An unknown name is an error listing the valid ones, before any input is read (the
/// input here does not exist, and the error is not about it).
#[test]
fn unknown_columns_are_refused_before_reading() {
    let missing: PathBuf = std::env::temp_dir().join("proxytrace-no-such-capture.pcap");
    let missing = missing.to_str().unwrap();
    for (cmd, valid) in [
        (&["requests"][..], "time, file, packet, src_ip"),
        (
            &["syns", "--summary"][..],
            "client_ip, syns, signatures, ttls",
        ),
        (&["connections"][..], "time, last_time, file"),
    ] {
        let mut args = cmd.to_vec();
        args.extend(["-f", "client_ip,clientip", missing]);
        let (code, out, err) = run(&args);
        assert_eq!(code, 2, "{err}");
        assert_eq!(out, "");
        assert!(err.contains("unknown column \"clientip\""), "{err}");
        assert!(err.contains(valid), "{err}");
        assert!(err.contains(", all"), "{err}");
        assert!(!err.contains("no-such-capture"), "{err}");
    }
    let (code, _, err) = run(&[
        "join",
        "-f",
        "time,time",
        "--front",
        missing,
        "--back",
        missing,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("column \"time\" is named twice"), "{err}");
}

/// No row: the CSV header line alone (from the column lists), the projection's names with
/// `-f`, nothing with --no-header; aggregates too.
#[test]
fn an_empty_csv_has_its_header() {
    let none = ["--client", "192.0.2.99"];
    let mut args = vec!["requests", "--format", "csv", BACK];
    args.extend(none);
    assert_eq!(
        ok(&args),
        "time,file,packet,src_ip,src_port,dst_ip,dst_port,method,host,target,http_version,\
         user_agent,client_ip,client_port,identity_source,identity_basis,chain,xff,x_real_ip,\
         forwarded,proxy_version,proxy_src,proxy_dst,spoof_suspect,spoof_reasons,p0f,\
         request_on_connection,flags,status,response_head_bytes,response_body_bytes,\
         response_body_framing,content_type,response_time_us,closed_after,response_missing\n"
    );
    args.extend(["-f", "host,time"]);
    assert_eq!(ok(&args), "host,time\n");
    args.push("--no-header");
    assert_eq!(ok(&args), "");
    let mut flows = vec!["flows", "--format", "csv", BACK];
    flows.extend(none);
    assert_eq!(
        ok(&flows),
        "client_ip,src_ip,src_port,dst_ip,dst_port,first_time,last_time,requests,\
         identity_sources,file\n"
    );
    let mut summary = vec![
        "syns",
        "--summary",
        "--format",
        "csv",
        "-f",
        "nat_hint,client_ip",
    ];
    summary.extend([FRONT, "--client", "192.0.2.99"]);
    assert_eq!(ok(&summary), "nat_hint,client_ip\n");
}

/// `-f` on an aggregate and on join's composed rows (its `syn_` columns).
#[test]
fn columns_of_summaries_and_join() {
    let out = ok(&[
        "syns",
        "--summary",
        "--format",
        "csv",
        "-f",
        "client_ip,nat_hint,syns",
        FRONT,
    ]);
    assert!(
        out.starts_with("client_ip,nat_hint,syns\n62.5.161.246,false,1\n73.165.22.82,false,1\n"),
        "{out}"
    );
    let out = ok(&[
        "join",
        "--format",
        "csv",
        "-f",
        "join_confidence,syn_os_label,client_ip",
        "--front",
        FRONT,
        "--back",
        BACK,
        "--trusted",
        "10.0.0.2",
        "--transparent",
    ]);
    assert!(
        out.starts_with(
            "join_confidence,syn_os_label,client_ip\n\
             certain,s:unix:Apple:macOS 12+ or iOS/iPadOS 15+,62.5.161.246\n"
        ),
        "{out}"
    );
}
