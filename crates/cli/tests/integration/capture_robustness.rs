//! Bad input never panics, nothing is lost silently, and mapped and streamed reading agree.

use crate::util::{run, testdata, TempFile};
use proxytrace::capture::{self, Capture, CaptureError, Input, OpenOptions, SkipReason, WalkStats};
use std::io::{Read, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;

/// (index, offset, ts_ns, interface, link_type, caplen, orig_len, data)
type RecordFields = (u64, u64, i64, u32, u16, u32, u32, Vec<u8>);

/// What a walk produced, in comparable form.
#[derive(Debug, PartialEq, Eq, Clone)]
struct Walked {
    stats: WalkStats,
    records: Vec<RecordFields>,
}

fn walk(cap: Result<Capture, CaptureError>) -> Result<Walked, String> {
    let mut cap = cap.map_err(|e| e.to_string())?;
    let mut stats = WalkStats::default();
    let mut records = Vec::new();
    cap.walk(&mut stats, |r| {
        records.push((
            r.index,
            r.offset,
            r.ts_ns,
            r.interface,
            r.link_type,
            r.caplen,
            r.orig_len,
            r.data.to_vec(),
        ));
        ControlFlow::Continue(())
    })
    .map_err(|e| e.to_string())?;
    Ok(Walked { stats, records })
}

/// A reader that hands out at most `step` bytes per call, to exercise every refill boundary.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

const NAME: &str = "capture-under-test";

fn mapped(bytes: &[u8]) -> Result<Walked, String> {
    let tmp = TempFile::with_bytes(".pcap", bytes);
    // Messages name the file; give both sources the same name to compare them.
    walk(capture::open(
        &Input::Path(tmp.0.clone()),
        OpenOptions { mmap: true },
    ))
    .map_err(|e| e.replace(&tmp.0.display().to_string(), NAME))
}

fn streamed(bytes: &[u8], step: usize) -> Result<Walked, String> {
    let reader = Trickle {
        data: bytes.to_vec(),
        at: 0,
        step,
    };
    walk(capture::from_reader(PathBuf::from(NAME), Box::new(reader)))
}

fn check_invariants(w: &Walked) {
    let s = &w.stats;
    assert_eq!(
        s.records,
        s.emitted + s.skipped_records(),
        "records = emitted + skipped"
    );
    assert_eq!(s.emitted, w.records.len() as u64);
    // Indexes are 1-based and consecutive, skipped records included.
    let mut expected_index = 0;
    for r in &w.records {
        assert!(r.0 > expected_index);
        expected_index = r.0;
    }
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(testdata(rel)).unwrap()
}

/// Every prefix of a capture: an error (for prefixes shorter than the file header) or a
/// walk whose records are a prefix of the full file's, with the cut counted; the same
/// from the map and from a stream delivered a few bytes at a time.
#[test]
fn every_prefix_is_an_error_or_counted_skips() {
    for file in [
        "captures/http-vlan-0.pcap",
        "captures/bigendian.pcap",
        "captures/get-to-ssh-server.pcap",
        "captures/vlan-pcp-dei.pcapng",
        "captures/pcapng-multi-interface.pcapng",
    ] {
        let bytes = read(file);
        let full = mapped(&bytes).unwrap();
        check_invariants(&full);
        assert!(
            full.stats.skipped.is_empty(),
            "{file}: the full file is clean"
        );
        for cut in 0..bytes.len() {
            let prefix = &bytes[..cut];
            let m = mapped(prefix);
            let s = streamed(prefix, 1 + cut % 13);
            assert_eq!(m, s, "{file} cut at {cut}: mapped and streamed differ");
            match m {
                Err(msg) => {
                    assert!(cut < 28, "{file} cut at {cut}: unexpected error {msg}");
                    assert!(msg.contains(NAME), "error names the file: {msg}");
                }
                Ok(w) => {
                    check_invariants(&w);
                    assert_eq!(
                        w.records[..],
                        full.records[..w.records.len()],
                        "{file} cut at {cut}"
                    );
                    // A cut inside a record's own bytes is that record, read and skipped.
                    // pcapng: the 4-byte block type must be there to know it was a packet.
                    let (known_from, header) = if file.ends_with(".pcapng") {
                        (4, 28)
                    } else {
                        (1, 16)
                    };
                    let inside = full.records.iter().position(|r| {
                        let start = r.1 as usize;
                        start + known_from <= cut && cut < start + header + r.5 as usize
                    });
                    if let Some(i) = inside {
                        assert_eq!(w.records.len(), i, "{file} cut at {cut}");
                        assert_eq!(
                            w.stats.skipped.get(&SkipReason::TruncatedRecord),
                            Some(&1),
                            "{file} cut at {cut}: the cut record must be counted"
                        );
                    }
                }
            }
        }
    }
}

/// All real captures: the map and the stream give identical records and counters.
#[test]
fn mapped_and_streamed_agree_on_every_testdata_capture() {
    let mut n = 0;
    for entry in std::fs::read_dir(testdata("captures")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        let m = mapped(&bytes);
        let s = streamed(&bytes, 4093);
        assert_eq!(m, s, "{}", p.display());
        if let Ok(w) = m {
            check_invariants(&w);
        }
        n += 1;
    }
    assert!(n >= 25);
}

fn record_offsets(w: &Walked) -> Vec<u64> {
    w.records.iter().map(|r| r.1).collect()
}

/// A record header in the middle of a legacy pcap claims an impossible length: the walker
/// skips exactly that record's bytes, names the offset, and finds the next record.
#[test]
fn damaged_record_header_in_the_middle_is_skipped_and_counted() {
    let mut bytes = read("captures/http-vlan-0.pcap");
    let clean = mapped(&bytes).unwrap();
    let offsets = record_offsets(&clean);
    let victim = 5;
    let at = offsets[victim] as usize;
    let victim_len = offsets[victim + 1] - offsets[victim];
    // caplen field (little-endian file) := 0xfffffff0.
    bytes[at + 8..at + 12].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    for w in [mapped(&bytes).unwrap(), streamed(&bytes, 97).unwrap()] {
        check_invariants(&w);
        assert_eq!(w.stats.emitted, clean.stats.emitted - 1);
        assert_eq!(w.stats.skipped.get(&SkipReason::DamagedHeader), Some(&1));
        assert_eq!(w.stats.damaged_bytes, victim_len);
        assert_eq!(w.stats.damage[0].offset, at as u64);
        let mut expect = clean.records.clone();
        expect.remove(victim);
        // Records after the damage keep their data; indexes close up (the damaged record
        // was never read as a record).
        let strip = |v: &[RecordFields]| v.iter().map(|r| (r.1, r.7.clone())).collect::<Vec<_>>();
        assert_eq!(strip(&w.records), strip(&expect));
    }
}

/// A pcapng block whose trailing length disagrees with its leading length.
#[test]
fn damaged_pcapng_block_is_skipped_and_counted() {
    let mut bytes = read("captures/vlan-pcp-dei.pcapng");
    let clean = mapped(&bytes).unwrap();
    let offsets = record_offsets(&clean);
    let victim = 3;
    let at = offsets[victim] as usize;
    let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
    // Corrupt the trailing length.
    bytes[at + len - 4] ^= 0x40;
    for w in [mapped(&bytes).unwrap(), streamed(&bytes, 5).unwrap()] {
        check_invariants(&w);
        assert_eq!(w.stats.emitted, clean.stats.emitted - 1);
        assert_eq!(
            w.stats.skipped.get(&SkipReason::BlockLengthMismatch),
            Some(&1)
        );
        assert_eq!(w.stats.damaged_bytes, len as u64);
        assert_eq!(w.stats.damage[0].offset, at as u64);
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// gzip (single and multi-member) and zstd captures read exactly like the plain file.
#[test]
fn compressed_captures_match_plain() {
    let plain = read("captures/v6-http.pcap");
    let want = mapped(&plain).unwrap();
    let gz = gzip(&plain);
    let mut multi = gzip(&plain[..1000]);
    multi.extend(gzip(&plain[1000..]));
    let zst = zstd::encode_all(&plain[..], 3).unwrap();
    for (name, data) in [("gz", gz.clone()), ("multi-member gz", multi), ("zst", zst)] {
        let got = mapped(&data).unwrap();
        assert_eq!(got.records, want.records, "{name}");
        assert_eq!(got.stats.records, want.stats.records, "{name}");
        assert!(!got.stats.stream_cut);
    }
    // A .gz cut in the middle: what was decompressed is walked, the cut is reported.
    let cut = mapped(&gz[..gz.len() / 2]).unwrap();
    check_invariants(&cut);
    assert!(cut.stats.stream_cut);
    assert!(!cut.records.is_empty() && cut.records.len() < want.records.len());
    assert_eq!(cut.records[..], want.records[..cut.records.len()]);
}

#[test]
fn unreadable_files_are_errors_naming_file_and_offset() {
    let empty = TempFile::with_bytes(".pcap", b"");
    let (code, _, err) = run(&["info", empty.0.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("empty file") && err.contains(empty.0.to_str().unwrap()),
        "{err}"
    );

    let text = TempFile::with_bytes(".pcap", b"GET / HTTP/1.1\r\n\r\n");
    let (code, _, err) = run(&["info", text.0.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("not a pcap or pcapng") && err.contains("byte 0"),
        "{err}"
    );

    let short = TempFile::with_bytes(".pcap", &[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);
    let (code, _, err) = run(&["info", short.0.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("file header cut short: 8 of 24 bytes"),
        "{err}"
    );

    let (code, _, err) = run(&["info", "/nonexistent/x.pcap"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/x.pcap"), "{err}");
}

/// A good file and a bad one: the good one is reported, the bad one named, status 2.
#[test]
fn one_bad_file_does_not_hide_the_others() {
    let text = TempFile::with_bytes(".pcap", b"not a capture at all");
    let good = testdata("captures/adb.pcap");
    let (code, out, err) = run(&[
        "info",
        "--format",
        "jsonl",
        good.to_str().unwrap(),
        text.0.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert_eq!(out.lines().count(), 1);
    assert!(err.contains("not a pcap or pcapng"));
}

/// A header claiming a 4 GiB snap length does not make a 100 MB record length believable:
/// past 16 MiB a length is damage (else a stream would buffer the rest of the file to
/// honour it). The good record after it is found again.
#[test]
fn absurd_record_length_is_damage_whatever_the_snaplen() {
    let mut bytes = read("captures/http-vlan-0.pcap");
    // snaplen := 0xffffffff
    bytes[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    let clean = mapped(&read("captures/http-vlan-0.pcap")).unwrap();
    let first = 24;
    // The first record's caplen := 100 MB.
    bytes[first + 8..first + 12].copy_from_slice(&100_000_000u32.to_le_bytes());
    for w in [mapped(&bytes).unwrap(), streamed(&bytes, 4096).unwrap()] {
        check_invariants(&w);
        assert_eq!(w.stats.skipped.get(&SkipReason::DamagedHeader), Some(&1));
        assert_eq!(w.stats.emitted, clean.stats.emitted - 1);
        assert_eq!(w.stats.damage[0].offset, first as u64);
    }
}
