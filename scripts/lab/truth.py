#!/usr/bin/env python3
"""Build OUTDIR/truth.csv from the proxy's and the backends' own logs (never from proxytrace).

Sources:
- the front proxy's log: client ip:port and proxy front ip:port as the proxy accepted them,
  TLS / ALPN on the front, the proxy's unique id (HAProxy %ID, nginx $request_id);
- the backends' access logs (nginx): the back 5-tuple as the backend's kernel gave it to
  nginx ($remote_addr $remote_port -> $server_addr $server_port), the request target as
  received, the request's start time, health checks;
- plan.csv: the identity headers the client forged (what the client wrote);
- back.pcap's first and last record times: whether the request's back side lies inside the
  capture (in_back_capture = 1, 0, or partial).
Disagreements between the proxy's log and the backend's (e.g. %bp under usesrc clientip) are
counted in notes.txt; the backend's side wins, since it is what the kernel used.
"""
import argparse
import csv
import os
import re
import struct

RID = re.compile(r"/r/\d+/(\d+)")
COLUMNS = [
    "request_id", "kind", "method", "target", "client_ip", "client_port",
    "front_client_ip", "front_client_port", "front_proxy_ip", "front_proxy_port",
    "back_src_ip", "back_src_port", "back_dst_ip", "back_dst_port",
    "time", "front_time", "forged", "front_tls", "front_h2", "health_check",
    "in_back_capture", "back_plaintext", "proxy_unique_id", "client_ns",
    "tls_sni", "tls_alpn", "connection_requests",
]


def pcap_span(path):
    """First and last record time of a classic pcap file (tcpdump -w), or None."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if len(data) < 24:
        return None
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None
    div = 1e9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1e6
    off, first, last = 24, None, None
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        t = sec + frac / div
        first = t if first is None else first
        last = t
        off += 16 + incl
    return None if first is None else (first, last)


def dash(v):
    return "" if v == "-" else v


def lab_lines(path):
    if not os.path.exists(path):
        return []
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("LAB|"):
                out.append(line.rstrip("\n").split("|"))
            elif line.startswith("LAB "):
                out.append(line.split())
    return out


def backend_rows(out):
    rows = []
    for b in ("be1", "be2"):
        for p in lab_lines(os.path.join(out, f"{b}.log")):
            (_, msec, rtime, raddr, rport, saddr, sport, method, uri, uid, xrid, ppa, ppp,
             conn, connreq, https, status) = p[:17]
            end = float(msec)
            rows.append({
                "backend": b, "end": end, "start": end - float(rtime), "src_ip": raddr,
                "src_port": rport, "dst_ip": saddr, "dst_port": sport, "method": method,
                "uri": uri, "unique_id": uid if uid != "-" else "", "request_id": xrid if xrid != "-" else "",
                "pp_addr": ppa if ppa != "-" else "", "pp_port": ppp if ppp != "-" else "",
                "https": https == "on",
            })
    return rows


def in_capture(start, end, span):
    """1: inside the back capture; 0: outside; partial: across its start or its end.

    span = (surely not started before, surely started by, stopped at). Log times have
    millisecond resolution: 5 ms of margin on the start.
    """
    if span is None:
        return "0"
    not_before, started_by, last = span
    if start >= started_by + 0.005 and end <= last:
        return "1"
    if end < not_before - 0.005 or start > last:
        return "0"
    return "partial"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    out = a.out
    with open(os.path.join(out, "plan.csv"), newline="") as f:
        plan = {r["request_id"]: r for r in csv.DictReader(f)}
    # The back capture's window as the run recorded it; the first and last packet otherwise.
    meta = {}
    if os.path.exists(os.path.join(out, "lab.txt")):
        with open(os.path.join(out, "lab.txt")) as f:
            meta = dict(kv.split("=", 1) for kv in f.read().split())
    pkts = pcap_span(os.path.join(out, "back.pcap"))
    span = None if pkts is None else (pkts[0], pkts[0], pkts[1])
    if "back_start" in meta and "back_stop" in meta:
        started_by = float(meta["back_start"])
        if pkts is not None:
            started_by = min(started_by, pkts[0])  # a packet proves the capture was running
        span = (float(meta.get("back_start_before", meta["back_start"])), started_by, float(meta["back_stop"]))
    backs = backend_rows(out)
    notes = []
    rows = []

    def base(rid):
        p = plan.get(rid, {})
        return {"request_id": rid, "forged": p.get("forged", ""), "client_ns": p.get("client", "")}

    if a.mode == "nginx":
        by_rid = {}
        for b in backs:
            if b["request_id"]:
                by_rid.setdefault(b["request_id"], []).append(b)
        for p in lab_lines(os.path.join(out, "proxy.log")):
            (_, raddr, rport, saddr, sport, upstream, _, method, uri, reqid, msec, proto, https,
             sslp, status, sni, alpn) = p[:17]
            m = RID.search(uri)
            if not m:
                continue
            r = base(m.group(1))
            bk = by_rid.get(reqid, [])
            if len(bk) != 1:
                notes.append(f"request {r['request_id']}: {len(bk)} backend log lines for nginx id {reqid}")
            b = bk[0] if bk else None
            r.update(kind="request", method=method, target=b["uri"] if b else uri,
                     client_ip=raddr, client_port=rport, front_client_ip=raddr, front_client_port=rport,
                     front_proxy_ip=saddr, front_proxy_port=sport, front_time=msec,
                     front_tls=int(https == "on"), front_h2=int(proto == "HTTP/2.0"),
                     proxy_unique_id=reqid, back_plaintext=1, health_check=0,
                     tls_sni=dash(sni), tls_alpn=dash(alpn))
            if b:
                r.update(back_src_ip=b["src_ip"], back_src_port=b["src_port"], back_dst_ip=b["dst_ip"],
                         back_dst_port=b["dst_port"], time=f"{b['start']:.3f}",
                         in_back_capture=in_capture(b["start"], b["end"], span))
                if upstream != f"{b['dst_ip']}:{b['dst_port']}":
                    notes.append(f"request {r['request_id']}: nginx upstream {upstream} but backend {b['dst_ip']}:{b['dst_port']}")
            rows.append(r)
    else:
        proxy = lab_lines(os.path.join(out, "proxy.log"))
        if a.mode == "haproxy-tcp-proxy":
            conns = {}
            for p in proxy:
                ci, cp, fi, fp, bi, bp, si, sp = p[1:9]
                uid, ts, alpn, sni = p[11], p[12], p[15], p[18]
                conns[(bi, bp, si, sp)] = dict(ci=ci, cp=cp, fi=fi, fp=fp, uid=uid, ts=ts,
                                               sni=dash(sni), alpn=dash(alpn))
            # Back-side connections as the backend saw them, with their requests.
            seen = {}
            for b in backs:
                key = (b["src_ip"], b["src_port"], b["dst_ip"], b["dst_port"])
                seen.setdefault(key, []).append(b)
            for key, c in conns.items():
                reqs = seen.get(key, [])
                tls = key[3] == "8443"
                start = min((b["start"] for b in reqs), default=float(c["ts"]))
                end = max((b["end"] for b in reqs), default=float(c["ts"]))
                pp = {(b["pp_addr"], b["pp_port"]) for b in reqs}
                if pp and pp != {(c["ci"], c["cp"])}:
                    notes.append(f"connection {key}: PROXY header {pp} but haproxy logged {c['ci']}:{c['cp']}")
                uris = [b["uri"] for b in reqs if RID.search(b["uri"])]
                rids = [RID.search(u).group(1) for u in uris]
                common = dict(client_ip=c["ci"], client_port=c["cp"], front_client_ip=c["ci"],
                              front_client_port=c["cp"], front_proxy_ip=c["fi"], front_proxy_port=c["fp"],
                              back_src_ip=key[0], back_src_port=key[1], back_dst_ip=key[2],
                              back_dst_port=key[3], front_tls=int(tls), health_check=0,
                              proxy_unique_id=c["uid"], tls_sni=c["sni"], tls_alpn=c["alpn"])
                first_rid = rids[0] if rids else ""
                conn = base(first_rid)
                conn.update(common, kind="connection", method="", target=" ".join(uris),
                            time=f"{start:.3f}", front_time=c["ts"], front_h2=0,
                            in_back_capture=in_capture(start, end, span), back_plaintext=int(not tls),
                            connection_requests=len(rids))
                rows.append(conn)
                for b in reqs:
                    m = RID.search(b["uri"])
                    if not m:
                        continue
                    r = base(m.group(1))
                    r.update(common, kind="request", method=b["method"], target=b["uri"],
                             time=f"{b['start']:.3f}", front_time=c["ts"],
                             front_h2=int(plan.get(m.group(1), {}).get("scheme") == "h2"),
                             in_back_capture=in_capture(b["start"], b["end"], span),
                             back_plaintext=int(not tls))
                    rows.append(r)
        else:
            by_uid = {}
            for b in backs:
                if b["unique_id"]:
                    by_uid.setdefault(b["unique_id"], []).append(b)
            port_disagree = 0
            for p in proxy:
                ci, cp, fi, fp, bi, bp, si, sp, hm, hu, uid, ts, hv, sslfc, alpn = p[1:16]
                sni = p[18] if len(p) > 18 else "-"
                m = RID.search(hu)
                if not m:
                    continue
                r = base(m.group(1))
                bk = by_uid.get(uid, [])
                if len(bk) != 1:
                    notes.append(f"request {r['request_id']}: {len(bk)} backend log lines for unique id {uid}")
                b = bk[0] if bk else None
                r.update(kind="request", method=hm, target=b["uri"] if b else hu, client_ip=ci,
                         client_port=cp, front_client_ip=ci, front_client_port=cp, front_proxy_ip=fi,
                         front_proxy_port=fp, front_time=ts, front_tls=int(sslfc == "1"),
                         front_h2=int(alpn == "h2"), proxy_unique_id=uid, back_plaintext=1,
                         health_check=0, tls_sni=dash(sni), tls_alpn=dash(alpn))
                if b:
                    r.update(back_src_ip=b["src_ip"], back_src_port=b["src_port"], back_dst_ip=b["dst_ip"],
                             back_dst_port=b["dst_port"], time=f"{b['start']:.3f}",
                             in_back_capture=in_capture(b["start"], b["end"], span))
                    if (bi, bp) != (b["src_ip"], b["src_port"]):
                        port_disagree += 1
                        if port_disagree <= 3:
                            notes.append(f"request {r['request_id']}: haproxy logged back source {bi}:{bp}, "
                                         f"backend saw {b['src_ip']}:{b['src_port']} (backend kept)")
                else:
                    r.update(back_src_ip=bi, back_src_port=bp, back_dst_ip=si, back_dst_port=sp,
                             time=ts, in_back_capture="partial")
                rows.append(r)
            if port_disagree:
                notes.append(f"{port_disagree} requests: haproxy's %bi:%bp differs from the backend's peer address")
    # Health checks: requests the proxy makes itself, seen only in the backend logs.
    for b in backs:
        if b["uri"] == "/health" or (not RID.search(b["uri"]) and not b["unique_id"] and not b["request_id"]
                                     and a.mode != "haproxy-tcp-proxy"):
            rows.append({"request_id": "", "kind": "health_check", "method": b["method"], "target": b["uri"],
                         "back_src_ip": b["src_ip"], "back_src_port": b["src_port"], "back_dst_ip": b["dst_ip"],
                         "back_dst_port": b["dst_port"], "time": f"{b['start']:.3f}", "health_check": 1,
                         "in_back_capture": in_capture(b["start"], b["end"], span), "back_plaintext": 1})
    rows.sort(key=lambda r: (float(r.get("time") or 0), r["kind"], int(r["request_id"] or 0)))
    with open(os.path.join(out, "truth.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n", restval="")
        w.writeheader()
        w.writerows(rows)
    planned = set(plan)
    logged = {r["request_id"] for r in rows if r["kind"] == "request"}
    missing = sorted(planned - logged, key=int)
    if missing:
        notes.append(f"{len(missing)} planned requests not in the proxy's log: {' '.join(missing[:20])}")
    if span:
        notes.append(f"back capture started between {span[0]:.6f} and {span[1]:.6f}, stopped {span[2]:.6f}")
    with open(os.path.join(out, "notes.txt"), "a") as f:
        for n in notes:
            f.write(n + "\n")


if __name__ == "__main__":
    main()
