//! PROXY protocol v1/v2 parsing on arbitrary bytes (half the inputs start with the v2
//! signature, so the fuzzer spends its time past it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxytrace::proxy_protocol::parse_proxy;

const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

fuzz_target!(|data: &[u8]| {
    let [sel, rest @ ..] = data else {
        return;
    };
    let owned;
    let input: &[u8] = if sel & 1 == 1 {
        owned = [&V2_SIGNATURE[..], rest].concat();
        &owned
    } else {
        rest
    };
    if let Ok(h) = parse_proxy(input) {
        assert!(h.header_len <= input.len(), "header longer than its input");
        let _ = h.to_string();
        let _ = serde_json::to_string(&h);
    }
});
