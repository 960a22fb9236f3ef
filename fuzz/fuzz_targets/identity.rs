//! X-Forwarded-For and Forwarded parsing on arbitrary header values (split on newlines,
//! one value per line), and client selection over the chain.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxytrace::identity::forwarded::parse_forwarded;
use proxytrace::identity::{is_leading_zero_ipv4, parse_chain, parse_entry, select_client};

fuzz_target!(|data: &[u8]| {
    let values: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let trusted = [
        "10.0.0.0/8".parse().unwrap(),
        "2001:db8::/32".parse().unwrap(),
    ];
    let chain = parse_chain(values.iter().copied());
    let (selected, _) = select_client(&chain, &trusted);
    if let Some(i) = selected {
        assert!(i < chain.entries.len(), "selected entry outside the chain");
    }
    for v in &values {
        let _ = parse_entry(v);
        let _ = is_leading_zero_ipv4(v);
    }
    let _ = parse_forwarded(values.iter().copied());
});
