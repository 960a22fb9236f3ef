//! `info` on every real capture in testdata/captures against golden JSON.
//!
//! The golden files were written by proxytrace and then checked field by field against
//! tshark and capinfos with scripts/info-oracle (see testdata/README.md for what agrees and
//! the two explained differences). Regenerate with `PROXYTRACE_BLESS=1 cargo test`, then
//! re-run the oracle before committing.

use crate::util::{run, testdata};

#[test]
fn info_matches_golden_files() {
    let bless = std::env::var_os("PROXYTRACE_BLESS").is_some();
    let mut names: Vec<String> = std::fs::read_dir(testdata("captures"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".md"))
        .collect();
    names.sort();
    let mut checked = 0;
    for name in names {
        let rel = format!("testdata/captures/{name}");
        let (code, out, err) = run(&["info", "--format", "json", &rel]);
        assert_eq!(code, 0, "{name}: {err}");
        let golden = testdata(&format!("golden/info/{name}.json"));
        if bless {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &out).unwrap();
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_else(|_| {
            panic!(
                "missing {}; bless with PROXYTRACE_BLESS=1",
                golden.display()
            )
        });
        assert_eq!(out, want, "{name}");
        checked += 1;
    }
    assert!(checked >= 25);
}

/// The streamed path (`--no-mmap`, and stdin) prints the same as the mapped one.
#[test]
fn no_mmap_and_stdin_match_mapped() {
    let rel = "testdata/captures/vlan-pcp-dei.pcapng";
    let (_, mapped, _) = run(&["info", "--format", "json", rel]);
    let (_, streamed, _) = run(&["info", "--format", "json", "--no-mmap", rel]);
    assert_eq!(mapped, streamed);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_proxytrace"))
        .args(["info", "--format", "json", "-"])
        .current_dir(crate::util::repo_root())
        .stdin(std::fs::File::open(testdata("captures/vlan-pcp-dei.pcapng")).unwrap())
        .output()
        .unwrap();
    let stdin_out = String::from_utf8(out.stdout).unwrap();
    // Only the file name and the on-disk size differ.
    let norm = |s: &str| {
        let mut v: serde_json::Value = serde_json::from_str(s).unwrap();
        v[0]["file"] = "x".into();
        v[0].as_object_mut().unwrap().remove("file_bytes");
        v
    };
    assert_eq!(norm(&stdin_out), norm(&mapped));
}

#[test]
fn table_output_names_the_essentials() {
    let (code, out, _) = run(&[
        "info",
        "--format",
        "table",
        "testdata/captures/get-to-ssh-server.pcap",
    ]);
    assert_eq!(code, 0);
    // Values checked against `capinfos`: nanosecond pcap, 9 packets, snaplen 2000,
    // first 2026-02-03 13:47:05.732560000 and last 13:47:06.041811000.
    for want in [
        "format:            pcap 2.4",
        "time resolution:   nanosecond",
        "interface 0:       EN10MB (1), snaplen 2000",
        "records:           9",
        "first time:        2026-02-03T13:47:05.732560000Z",
        "last time:         2026-02-03T13:47:06.041811000Z",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
}
