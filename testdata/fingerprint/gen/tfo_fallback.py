# TCP Fast Open SYNs whose reply is lost, then Linux's fallback SYN: the same sequence
# number, no option 34 (Fast Open), no data (tcp_send_syn_data sets the cookie length to
# -1 for SYN retries). One Linux client, 198.51.100.5, three connections to port 80:
#   40001: SYN with a cookie and a request (option 34, 8 bytes; pclass +), 1 s later the
#          fallback SYN;
#   40002: SYN with a cookie request (option 34, empty), 1 s later the fallback SYN;
#   40003: a plain SYN and its identical retransmission, for contrast.
# Each SYN's TSval is its own (1 kHz), the IP id counts up.
# Usage: python3 gen/tfo_fallback.py tfo-fallback.pcap
import struct, sys

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF

def ip4(a):
    return bytes(int(x) for x in a.split("."))

def syn(sport, seq, opts, payload, ipid, src="198.51.100.5", dst="203.0.113.10"):
    while len(opts) % 4:
        opts += b"\x01"
    doff = (20 + len(opts)) // 4
    tcp = struct.pack("!HHIIBBHHH", sport, 80, seq, 0, doff << 4, 0x02, 64240, 0, 0) + opts + payload
    ph = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), ipid, 0x4000, 64, 6, 0, ip4(src), ip4(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + tcp

def opts(tsval, tfo):
    # Linux's layout: mss, sok, ts, nop, ws; Fast Open after it, NOP-padded.
    o = b"\x02\x04\x05\xb4" + b"\x04\x02" + b"\x08\x0a" + struct.pack("!II", tsval, 0) + b"\x01" + b"\x03\x03\x07"
    if tfo is not None:
        o += bytes([34, 2 + len(tfo)]) + tfo
    return o

T0 = 1700000000
packets = [
    (0, syn(40001, 1000, opts(5000, b"\x11\x22\x33\x44\x55\x66\x77\x88"), b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", 100)),
    (1, syn(40001, 1000, opts(6000, None), b"", 101)),
    (3, syn(40002, 5000, opts(8000, b""), b"", 200)),
    (4, syn(40002, 5000, opts(9000, None), b"", 201)),
    (6, syn(40003, 9000, opts(11000, None), b"", 300)),
    (7, syn(40003, 9000, opts(12000, None), b"", 301)),
]
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for dt, p in packets:
        f.write(struct.pack("<IIII", T0 + dt, 0, len(p), len(p)))
        f.write(p)
