#!/usr/bin/env bash
# Seed the fuzz corpora (fuzz/corpus/TARGET/) from testdata/: whole small captures for
# `walk`, their frames for `decode` and `syn_fingerprint`, their TCP payloads for
# `request_head`, and a few hand-written inputs. Corpora are not committed.
# Needs python3 (to cut frames out of the legacy pcap files).
set -euo pipefail
cd "$(dirname "$0")"
root=..
for t in walk decode request_head proxy_protocol identity requests_pipeline syn_fingerprint \
         tls_client_hello; do
  mkdir -p "corpus/$t"
done

python3 - "$root" <<'PY'
import glob, hashlib, os, struct, sys

root = sys.argv[1]
# Index of each link type in the `decode` target's LINK_TYPES table.
DECODE_LT = {0: 0, 1: 1, 9: 2, 12: 3, 14: 4, 50: 5, 101: 6, 108: 7, 113: 8, 228: 9,
             229: 10, 239: 11, 276: 12}

def put(target, data):
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join("corpus", target, name), "wb") as f:
        f.write(data)

def frames(path):
    d = open(path, "rb").read()
    if len(d) < 24:
        return None, []
    magic = struct.unpack("<I", d[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        e = ">"
    else:
        return None, []
    lt = struct.unpack(e + "I", d[20:24])[0] & 0xFFFF
    out, pos = [], 24
    while pos + 16 <= len(d):
        caplen = struct.unpack(e + "I", d[pos + 8:pos + 12])[0]
        out.append(d[pos + 16:pos + 16 + caplen])
        pos += 16 + caplen
    return lt, out

captures = sorted(glob.glob(os.path.join(root, "testdata/captures/*"))
                  + glob.glob(os.path.join(root, "testdata/fingerprint/*.pcap")))
for path in captures:
    data = open(path, "rb").read()
    if len(data) <= 16384 and not path.endswith(".md"):
        # walk: selector 0 = the bytes carry their own magic.
        put("walk", b"\x00\x01\x00\x06" + data)
    lt, fs = frames(path)
    if lt is None:
        continue
    for fr in fs[:40]:
        if lt in DECODE_LT:
            put("decode", bytes([DECODE_LT[lt], 0]) + fr)
        if lt in (1, 101):
            put("syn_fingerprint", bytes([0 if lt == 101 else 1]) + fr)
        for method in (b"GET ", b"POST ", b"HEAD ", b"PUT "):
            at = fr.find(method)
            if at >= 0:
                put("request_head", fr[at:])
                break
PY

# Hand-written seeds.
printf 'GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nUser-Agent: x\r\nX-Forwarded-For: 203.0.113.7, 10.0.0.2\r\nForwarded: for="[2001:db8::7]:443";proto=https\r\nX-Real-IP: 198.51.100.1\r\n\r\n' > corpus/request_head/hand-xff
printf '\x00PROXY TCP4 203.0.113.7 10.0.0.2 51234 80\r\nGET / HTTP/1.1\r\n\r\n' > corpus/proxy_protocol/v1-tcp4
printf '\x00PROXY TCP6 2001:db8::7 2001:db8::1 51234 443\r\n' > corpus/proxy_protocol/v1-tcp6
# v2 (selector 1 prepends the signature): PROXY, TCP4, 12 address bytes, then an ALPN TLV.
printf '\x01\x21\x11\x00\x11\xcb\x00\x71\x07\x0a\x00\x00\x02\xc8\x22\x00\x50\x01\x00\x02h2' > corpus/proxy_protocol/v2-tcp4-alpn
printf '203.0.113.7, 10.0.0.2\nfor=192.0.2.60;proto=http;by=203.0.113.43\nfor="[2001:db8:cafe::17]:4711", unknown, _hidden\n10.000.000.03:80' > corpus/identity/hand-mixed
# requests_pipeline: seed, size, shape (bit 0 pcapng, then link), cut; then mutations.
for s in '\x07\x10\x00\x00' '\x01\x20\x01\x00' '\x02\x08\x02\x00\x10\x00\xff' '\x03\x30\x05\x02\x00\x80\x01'; do
  printf "$s" > "corpus/requests_pipeline/seed-$(printf "$s" | od -An -tx1 | tr -d ' \n')"
done
for t in corpus/*; do echo "$t: $(ls "$t" | wc -l) inputs"; done
