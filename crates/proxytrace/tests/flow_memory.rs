//! The reassembly byte cap counts every byte of per-flow state: heap bytes actually
//! allocated (counted by a global allocator in this test binary, which runs one test so
//! nothing else allocates meanwhile) stay under the configured cap while many flows leave
//! request heads unfinished, and the flows pushed out are counted as evictions.

use proxytrace::decode::{FiveTuple, IpProto, TcpFlags};
use proxytrace::http1::{HeadAssembler, ReassemblyConfig, SegmentMeta};
use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to the system allocator with the caller's own arguments,
// so `Counting` upholds exactly the contract `System` does; it only adds a counter.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's layout, as `GlobalAlloc::alloc` requires.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` was allocated by `System` (through `alloc`/`realloc` above) with `l`.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` was allocated by `System` with `l`; `new` is the caller's checked size.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn partial_heads_stay_under_the_byte_cap_counting_every_allocation() {
    const CAP: usize = 2 << 20;
    const FLOWS: u32 = 40_000;
    let head = {
        let mut h = b"GET /partial HTTP/1.1\r\nHost: example.com\r\n".to_vec();
        while h.len() < 400 {
            h.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        h
    };
    let cfg = ReassemblyConfig {
        max_total_bytes: CAP,
        ..ReassemblyConfig::default()
    };
    let base = LIVE.load(Ordering::Relaxed);
    let mut asm = HeadAssembler::new(cfg);
    let mut events = 0u64;
    let mut peak = 0isize;
    for i in 0..FLOWS {
        let flow = FiveTuple {
            src_ip: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)),
            src_port: 40_000,
            dst_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            dst_port: 80,
            proto: IpProto::TCP,
        };
        let ts = i64::from(i) * 1_000;
        for (seq, flags, payload) in [
            (1000u32, TcpFlags::SYN, &b""[..]),
            (1001, TcpFlags::ACK | TcpFlags::PSH, &head[..]),
        ] {
            let seg = SegmentMeta {
                ts_ns: ts,
                packet_index: u64::from(i) * 2,
                flow,
                seq,
                flags: TcpFlags(flags),
                payload,
            };
            asm.push(seg, &mut |_| events += 1);
        }
        peak = peak.max(LIVE.load(Ordering::Relaxed) - base);
        assert!(
            asm.held_bytes() <= CAP,
            "accounted {} > cap",
            asm.held_bytes()
        );
    }
    let st = asm.stats().clone();
    // Every flow but the ones still tracked was evicted for the byte cap (a flow evicted
    // between its SYN and its data is tracked again, midstream, from the data), each
    // with its partial head emitted if it had one.
    let tracked = asm.tracked_flows() as u64;
    assert!(tracked > 0 && tracked < u64::from(FLOWS));
    assert!(st.tcp.flows_created >= u64::from(FLOWS));
    assert_eq!(
        st.tcp.flows_evicted_byte_cap,
        st.tcp.flows_created - tracked
    );
    assert!(events <= st.tcp.flows_evicted_byte_cap && events >= u64::from(FLOWS) - tracked);
    assert_eq!(st.tcp.flows_evicted_flow_cap, 0);
    eprintln!("peak live heap {peak} bytes, cap {CAP}, {tracked} flows tracked");
    // What the heap really holds, the assembler included, stays under the cap.
    assert!(
        peak <= CAP as isize,
        "peak live heap {peak} bytes > cap {CAP} ({tracked} flows tracked)"
    );
}
