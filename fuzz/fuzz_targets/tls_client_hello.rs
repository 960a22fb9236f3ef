//! TLS ClientHello parsing on arbitrary bytes (half the inputs start with a handshake
//! record header, so the fuzzer spends its time past it). No panic, and a hello parsed
//! from a prefix is the hello of every longer input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxytrace::tls::{parse_client_hello, HelloError};

fuzz_target!(|data: &[u8]| {
    let [sel, rest @ ..] = data else {
        return;
    };
    let owned;
    let input: &[u8] = if sel & 1 == 1 {
        owned = [&[22u8, 3, 1][..], rest].concat();
        &owned
    } else {
        rest
    };
    let whole = parse_client_hello(input);
    // Fed in two parts, as segments arrive: a prefix is never more than incomplete
    // unless it already decides.
    let cut = usize::from(*sel) % (input.len() + 1);
    match parse_client_hello(&input[..cut]) {
        Ok(h) => assert_eq!(whole, Ok(h), "a complete prefix changed its mind"),
        Err(_) if cut == 0 => {}
        Err(HelloError::Truncated) => {}
        Err(e) => assert_eq!(whole, Err(e), "a decided prefix changed its mind"),
    }
});
