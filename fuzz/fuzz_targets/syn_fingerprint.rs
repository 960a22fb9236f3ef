//! SYN fingerprinting on arbitrary TCP/IP bytes: raw IP (or Ethernet) decoded, then the
//! p0f observation, signature, window form and database match; and the TCP option walker
//! on the raw bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxytrace::decode::{decode, Decoded, TcpFlags};
use proxytrace::fingerprint::{builtin, options, SynObservation};

fuzz_target!(|data: &[u8]| {
    let [sel, frame @ ..] = data else {
        return;
    };
    let w = options::walk(frame);
    assert!(w.layout.kinds().len() <= options::MAX_OPTIONS);

    let link_type = if sel & 1 == 0 { 101 } else { 1 };
    let Ok(Decoded::Ip(mut p)) = decode(link_type, frame, frame.len() as u32, 1_000_000_000) else {
        return;
    };
    // Steer toward SYNs: most inputs get the SYN flag forced on.
    if sel & 2 == 0 {
        if let proxytrace::decode::Transport::Tcp(t) = &mut p.transport {
            t.flags = TcpFlags(t.flags.0 | TcpFlags::SYN);
        }
    }
    let Some(obs) = SynObservation::from_packet(&p) else {
        return;
    };
    let obs = obs.with_peer_syn_mss(Some(u16::from(*sel) * 7));
    let sig = obs.signature();
    assert!(sig.starts_with('4') || sig.starts_with('6'));
    let _ = obs.window_form();
    let _ = obs.link_mtu();
    let _ = obs.distance_guess();
    let db = builtin::database();
    let _ = db.match_syn(&obs);
});
