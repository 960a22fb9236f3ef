#!/usr/bin/env python3
"""Split a classic pcap file into rotated files by capture time, as `tcpdump -G SECONDS`
would have written them: each file holds the records from its start time for SECONDS, named
PREFIX-YYYYmmddHHMMSS[-N].pcap after its start (N when several files start in one second).
Records are copied byte for byte, each file gets the original global header.

    split_pcap.py FILE OUTDIR --seconds 0.05 --prefix back
"""

import argparse
import datetime
import os
import struct
import sys

MAGICS = {0xA1B2C3D4: 1_000, 0xA1B23C4D: 1}  # magic -> nanoseconds per fraction unit


def records(data):
    """(header, global header end, [(time_ns, start, end)]) of a classic pcap file."""
    for endian in "<>":
        (magic,) = struct.unpack(endian + "I", data[:4])
        if magic in MAGICS:
            unit = MAGICS[magic]
            break
    else:
        raise SystemExit("split_pcap: not a classic pcap file (use editcap for pcapng)")
    out, at = [], 24
    while at + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[at:at + 16])
        end = at + 16 + incl
        if end > len(data):
            sys.stderr.write("split_pcap: the last record is cut; left out\n")
            break
        out.append((sec * 10**9 + frac * unit, at, end))
        at = end
    return data[:24], out


def split(path, outdir, seconds, prefix):
    data = open(path, "rb").read()
    header, recs = records(data)
    if not recs:
        return []
    step = int(seconds * 10**9)
    first = recs[0][0]
    groups = {}
    for ts, a, b in recs:
        # Files start at whole multiples of the period after the first record.
        k = max(0, (ts - first) // step)
        groups.setdefault(k, []).append((a, b))
    os.makedirs(outdir, exist_ok=True)
    names, seen = [], {}
    for k in sorted(groups):
        start = first + k * step
        stamp = datetime.datetime.fromtimestamp(start // 10**9, datetime.timezone.utc).strftime("%Y%m%d%H%M%S")
        n = seen.get(stamp, 0)
        seen[stamp] = n + 1
        name = os.path.join(outdir, "%s-%s%s.pcap" % (prefix, stamp, "-%03d" % n if step < 10**9 else ""))
        with open(name, "wb") as f:
            f.write(header)
            for a, b in groups[k]:
                f.write(data[a:b])
        names.append(name)
    return names


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("file")
    p.add_argument("outdir")
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--prefix", default="capture")
    a = p.parse_args()
    for n in split(a.file, a.outdir, a.seconds, a.prefix):
        print(n)


if __name__ == "__main__":
    main()
