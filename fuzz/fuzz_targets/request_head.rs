//! Request-head parsing and the identity built from it, on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxytrace::http1::head::parse_request_head;
use proxytrace::identity::extract_identity;
use std::net::SocketAddr;

fuzz_target!(|data: &[u8]| {
    let extra: [&[u8]; 2] = [b"X-Custom-Client", b"client"];
    let Ok(head) = parse_request_head(data, &extra) else {
        return;
    };
    assert!(head.head_len <= data.len());
    let trusted = ["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
    let proxy: Option<SocketAddr> = data
        .first()
        .filter(|b| *b & 1 == 1)
        .map(|_| "192.0.2.9:4000".parse().unwrap());
    let id = extract_identity(Some(&head), proxy, &trusted);
    for source in &id.sources {
        if let Some(i) = source.selected {
            assert!(
                i < source.chain.entries.len(),
                "selected entry outside its chain"
            );
        }
        let _ = source.selected_entry();
    }
    let _ = serde_json::to_string(&id);
    let _ = id.spoof_reasons_string();
    let _ = id.anomalies_string();
    let _ = id.p0f_string();
    let _ = serde_json::to_string(&head);
});
