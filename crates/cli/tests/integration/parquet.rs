//! `--format parquet`: the same bytes for 1 or N threads, tiny chunks and streaming, a file
//! that starts and ends with Parquet's magic `PAR1`, the same bytes to a pipe as to `-o`,
//! and the refusals (a terminal is tested by hand: no pseudo-terminal here).

use crate::schema::{inputs, invocations};
use crate::util::{repo_root, run, TempFile};

/// Run proxytrace with `args` and `-o` a scratch file: its status, the file's bytes, stderr.
fn run_to_file(args: &[&str]) -> (i32, Vec<u8>, String) {
    let f = TempFile::with_bytes(".parquet", b"");
    let a = [args, &["-o", f.0.to_str().unwrap()]].concat();
    let (code, _, err) = run(&a);
    (code, std::fs::read(&f.0).unwrap_or_default(), err)
}

/// Every row command (the schema's list), on the sample pair and a generated one: the same
/// Parquet bytes for every thread count, chunk size and reading mode.
#[test]
fn parquet_bytes_are_the_same_for_threads_chunks_and_streaming() {
    let inputs = inputs("parquet-determinism");
    for s in proxytrace::commands::schemas::command_schemas() {
        for args in invocations(s.command, &inputs).into_iter().take(2) {
            let base: Vec<&str> = args.iter().map(String::as_str).collect();
            let base = [&base[..], &["--format", "parquet", "--no-summary"]].concat();
            let (code, want, err) = run_to_file(&[&["--threads", "1"], &base[..]].concat());
            assert_eq!(code, 0, "{base:?}: {err}");
            assert!(want.len() > 8, "{base:?}");
            assert_eq!(&want[..4], b"PAR1", "{base:?}");
            assert_eq!(&want[want.len() - 4..], b"PAR1", "{base:?}");
            for extra in [
                &["--threads", "3"][..],
                &["--threads", "2", "--chunk-size", "4096"],
                &["--threads", "3", "--no-mmap"],
            ] {
                let (code, got, err) = run_to_file(&[&base[..], extra].concat());
                assert_eq!(code, 0, "{extra:?} {base:?}: {err}");
                assert!(got == want, "{extra:?} {base:?}: other Parquet bytes");
            }
            // To a pipe: the same bytes as to a file.
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_proxytrace"))
                .args(&base)
                .current_dir(repo_root())
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "{base:?}");
            assert!(out.stdout == want, "{base:?}: a pipe got other bytes");
        }
    }
}

/// A stream on standard input (rows written as they are found, in row groups): a whole
/// file, the same bytes for 1 or 3 threads.
#[test]
fn parquet_from_standard_input_is_one_file() {
    let back = repo_root().join("testdata/sample/back.pcap");
    let read = |threads: &str| {
        let f = TempFile::with_bytes(".parquet", b"");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_proxytrace"))
            .args(["--threads", threads, "requests", "-", "--format", "parquet"])
            .args(["--no-summary", "-o"])
            .arg(&f.0)
            .stdin(std::fs::File::open(&back).unwrap())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        std::fs::read(&f.0).unwrap()
    };
    let one = read("1");
    assert!(one.len() > 8);
    assert_eq!(
        (&one[..4], &one[one.len() - 4..]),
        (&b"PAR1"[..], &b"PAR1"[..])
    );
    assert!(read("3") == one);
}

/// `-c` counts as in every format; `info` has no Parquet form.
#[test]
fn parquet_count_and_info() {
    let back = repo_root().join("testdata/sample/back.pcap");
    let back = back.to_str().unwrap();
    let (code, out, err) = run(&[
        "requests",
        back,
        "--format",
        "parquet",
        "-c",
        "--no-summary",
    ]);
    assert_eq!((code, out.as_str()), (0, "11\n"), "{err}");
    let (code, _, err) = run(&["info", back, "--format", "parquet"]);
    assert_eq!(code, 2);
    assert!(err.contains("not parquet"), "{err}");
}
