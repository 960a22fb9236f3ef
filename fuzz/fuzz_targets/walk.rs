//! The record walker on arbitrary bytes: sequential walk of a stream and of a mapped file,
//! and the engine's parallel chunked walk of both, must agree exactly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxytrace_fuzz::{
    chunked, frame, one_thread_engine, open_mapped, open_stream, scratch_file, sequential,
    tiny_chunk_engine,
};

fuzz_target!(|data: &[u8]| {
    let (selector, lt, res, body) = match data {
        [s, a, b, r, rest @ ..] => (*s, u16::from_le_bytes([*a, *b]), *r, rest),
        _ => (0, 1, 6, data),
    };
    let bytes = frame(selector, lt, res, body);
    let path = scratch_file(&bytes);
    let p = path.to_str().unwrap_or_default();

    let streamed = sequential(open_stream(&bytes), p);
    let mapped = sequential(open_mapped(&path), p);
    assert_eq!(
        streamed, mapped,
        "mapped and streamed sequential walks differ"
    );

    let parallel = chunked(tiny_chunk_engine(), open_mapped(&path), p);
    assert_eq!(mapped, parallel, "chunked walk of the mapped file differs");
    let batched = chunked(tiny_chunk_engine(), open_stream(&bytes), p);
    assert_eq!(mapped, batched, "batched walk of the stream differs");
    let single = chunked(one_thread_engine(), open_mapped(&path), p);
    assert_eq!(mapped, single, "one-thread engine walk differs");
});
