//! The link/IP/TCP decoder on arbitrary bytes, with every link type it decodes (and one
//! it does not): never panics, and every slice it hands out lies inside the record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxytrace::decode::{decode, Decoded, Transport};
use proxytrace::decode::Outcomes;

const LINK_TYPES: [u16; 14] = [0, 1, 9, 12, 14, 50, 101, 108, 113, 228, 229, 239, 276, 147];

fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let o = outer.as_ptr() as usize;
    let i = inner.as_ptr() as usize;
    i >= o && i + inner.len() <= o + outer.len()
}

fuzz_target!(|data: &[u8]| {
    let [sel, extra, frame @ ..] = data else {
        return;
    };
    let link_type = LINK_TYPES[usize::from(*sel) % LINK_TYPES.len()];
    // Half the inputs claim a longer frame on the wire (cut by the snap length).
    let orig_len = frame.len() as u32 + u32::from(*extra & 0x7f) * u32::from(*extra >> 7);
    let got = decode(link_type, frame, orig_len, 0);
    let mut o = Outcomes::default();
    o.count(&got);
    assert_eq!(o.decoded() + o.undecodable_total(), 1);
    if let Ok(Decoded::Ip(p)) = got {
        let _ = p.five_tuple();
        match p.transport {
            Transport::Tcp(t) => {
                assert!(inside(frame, t.options) && inside(frame, t.payload));
                assert!(t.payload.len() as u64 <= u64::from(t.payload_len_on_wire));
                assert!((20..=60).contains(&t.header_len));
                assert_eq!(t.options.len() + 20, usize::from(t.header_len));
            }
            Transport::Udp(u) => assert!(inside(frame, u.payload)),
            _ => {}
        }
    }
});
