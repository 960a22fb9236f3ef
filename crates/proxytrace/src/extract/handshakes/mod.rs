//! `proxytrace syns`: one row per client SYN and server SYN+ACK of a FRONT capture, with
//! p0f's signature and more (handshake timing, retransmissions, uptime hints, OS match).
//!
//! The pipeline has two stages so the parallel engine can split it:
//! 1. [`classify`]: per record, stateless: decode and observe. Any worker can run it on
//!    any chunk; it yields a [`PacketEvent`] (a SYN / SYN+ACK observation, or the few
//!    fields of another TCP segment the handshake needs).
//! 2. [`SynTracker`]: sequential, fed events in packet order: joins SYN, SYN+ACK and ACK
//!    per connection, counts retransmissions, estimates uptime, matches the database and
//!    releases finished [`SynEntry`]s in packet order.
//!
//! Order: rows come out in packet order of the input (files in the order given, records in
//! file order), whatever order connections finish in. A row is held back until its
//! handshake is over (ACK, RST or FIN seen, a new SYN on the same ports) or
//! [`HANDSHAKE_WINDOW_NS`] of capture time has passed, so that late retransmissions are
//! still counted on it; state carries across files (rotated captures).
//!
//! Column schema of [`SynRow`] (the field order is the column order):
//!
//! | column | type | meaning |
//! |---|---|---|
//! | time | string | packet time, RFC 3339 UTC, capture precision (pcap: file resolution; pcapng: 9 digits) |
//! | file | string | capture file the packet is in (`-` for stdin) |
//! | packet | integer | 1-based record number in that file (as Wireshark numbers frames) |
//! | src_ip | string | IP source of the packet |
//! | src_port | integer | TCP source port |
//! | dst_ip | string | IP destination |
//! | dst_port | integer | TCP destination port |
//! | direction | string | `syn` (client SYN) or `syn+ack` (server SYN+ACK) |
//! | ip_version | integer | 4 or 6 |
//! | ttl | integer | observed TTL / hop limit |
//! | initial_ttl | integer | initial TTL guess: next of 32, 64, 128, 255 |
//! | distance | integer? | hops guessed from the TTL; empty beyond 35 (p0f `+?`) |
//! | ip_options_len | integer | IPv4 option bytes (0 for IPv6) |
//! | mss | integer? | MSS option; empty when absent (p0f prints 0) |
//! | window | integer | raw TCP window |
//! | window_form | string? | `mss*K` or `mtu*K` when p0f writes the window so; empty when it writes the number (`window`) |
//! | window_scale | integer? | window-scale shift; empty when absent |
//! | olayout | string | options in p0f names (`mss,sok,ts,nop,ws`) |
//! | option_kinds | string | option kinds as numbers, a bracketed list (`[2,4,8,1,3]`) |
//! | quirks | string | p0f quirks (`df,id+`) |
//! | payload | bool | the packet carries payload (p0f payload class `+`) |
//! | signature | string | p0f raw_sig `ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass` |
//! | df | bool | IPv4 don't-fragment flag |
//! | ip_id | integer? | IPv4 identification (IPv6: fragment id if any) |
//! | ip_ecn | integer | the two ECN bits of TOS / traffic class (0-3) |
//! | tcp_ecn | string | TCP ECN flags set, of `ece,cwr,ns` |
//! | ts_val | integer? | TCP timestamp own value (TSval) |
//! | ts_ecr | integer? | TCP timestamp echoed value (TSecr) |
//! | payload_len | integer | payload bytes the IP length announces (TCP Fast Open data) |
//! | link_mtu | integer? | MTU implied by the MSS (MSS+40 IPv4, MSS+60 IPv6) |
//! | link | string? | link name for that MTU (p0f `[mtu]`: `Ethernet or modem`, `DSL`...) |
//! | syn_to_synack_ns | integer? | ns from the connection's last SYN before the first SYN+ACK to that SYN+ACK (server side) |
//! | synack_to_ack_ns | integer? | ns from the last SYN+ACK to the client's handshake ACK (client round trip) |
//! | retransmits | integer | repeats of this packet (same ports and sequence number) counted instead of emitted: SYNs on a `syn` row, SYN+ACKs on a `syn+ack` row |
//! | p0f_ignores | string? | why p0f would not report it: `silly_flags` (SYN+FIN/RST), `fragment`, `ipv6_extensions`, `truncated` |
//! | uptime_hint_s | integer? | host uptime estimate from two timestamped SYNs of this host; a hint (offsets are often random) |
//! | ts_clock_hz | integer? | TCP timestamp clock frequency of that estimate |
//! | os_label | string? | matched database label (`s:unix:Linux:3.11 and newer`) |
//! | os_class | string? | `unix`, `win`... (empty for a userland tool `!`) |
//! | os_name | string? | `Linux`, `Windows`... |
//! | os_flavor | string? | `3.11 and newer`... |
//! | match_quality | string | `exact`, `fuzzy`, `generic` or `none` |
//! | match_distance | integer? | signature initial TTL - observed TTL (p0f `dist`) |
//!
//! `--summary` rows (`commands::syns::ClientSummaryRow`), one per client IP in order of its first SYN,
//! counting SYN rows only (retransmissions excluded) that pass `--client`:
//!
//! | column | type | meaning |
//! |---|---|---|
//! | client_ip | string | client address |
//! | syns | integer | SYN rows (connections attempted) |
//! | signatures | integer | distinct p0f signatures |
//! | ttls | string | distinct observed TTLs, ascending, a bracketed list (`[59,123]`) |
//! | mss_values | string | distinct MSS values, ascending, a bracketed list (`null`: no MSS option) |
//! | oses | string | distinct OS matches (`name flavor`, `???` none), sorted, `;`-separated |
//! | first_seen | string | time of the first SYN (RFC 3339) |
//! | last_seen | string | time of the last SYN |
//! | nat_hint | bool | more than one stack behind the address (NAT, CGN, shared proxy): signatures that differ other than by TCP Fast Open (option 34, its padding and the data it carries), which one host uses on some connections only |

mod classify;
mod row;
mod stage;
mod tracker;

pub use classify::{classify, PacketEvent, SeenSyn, Segment};
pub use row::SynRow;
pub use stage::{capture_precision, FileMeta, ScanEvent, SynScanner, SynStage};
pub use tracker::{
    SynEntry, SynTracker, SynTrackerStats, HANDSHAKE_WINDOW_NS, MAX_PENDING, MAX_TS_HOSTS,
};
