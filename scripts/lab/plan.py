#!/usr/bin/env python3
"""Seeded client plan for the proxy lab: same mode and seed, same plan.csv, byte for byte.

One row per request. Rows that share an `invocation` are one curl process (keep-alive over
one connection, or parallel connections with `parallel=1`); forged headers, method and body
belong to the invocation. Uses its own small PRNG (xorshift64*) so the plan does not depend
on the Python version's `random` module.
"""
import argparse
import csv
import sys

# name, families the client has, its stack (sysctl name -> value), veth MTU, behind NAT
CLIENTS = [
    ("c01", "4", {}, 1500, False),
    ("c02", "4", {"net.ipv4.ip_default_ttl": "128", "net.ipv4.tcp_timestamps": "0"}, 1400, False),
    ("c03", "4", {"net.ipv4.ip_default_ttl": "255", "net.ipv4.tcp_window_scaling": "0",
                  "net.ipv4.tcp_sack": "0"}, 1280, False),
    ("c04", "46", {"net.ipv4.tcp_ecn": "1", "net.ipv4.tcp_rmem": "4096 65536 1048576"}, 1500, False),
    ("c05", "4", {"net.ipv4.tcp_fastopen": "1"}, 1500, False),
    ("c06", "46", {"net.ipv4.tcp_timestamps": "0", "net.ipv6.conf.all.hop_limit": "128"}, 9000, False),
    ("c07", "4", {"net.ipv4.ip_default_ttl": "60"}, 1492, False),
    ("c08", "46", {"net.ipv4.tcp_rmem": "4096 16384 262144", "net.ipv4.tcp_sack": "0",
                   "net.ipv6.conf.all.hop_limit": "255"}, 1500, False),
    ("n01", "4", {}, 1500, True),
    ("n02", "4", {"net.ipv4.ip_default_ttl": "128", "net.ipv4.tcp_timestamps": "0"}, 1500, True),
    ("n03", "4", {"net.ipv4.tcp_window_scaling": "0"}, 1500, True),
    ("n04", "4", {"net.ipv4.tcp_ecn": "1"}, 1450, True),
]
TFO_CLIENT = "c05"
SLOW_POST_CLIENT = "c01"

# Forged identity headers a client writes itself. Addresses are other real lab clients,
# private ranges, ip:port forms and documentation addresses nobody in the lab uses.
FORGERIES = [
    "X-Forwarded-For: 203.0.113.12",
    "X-Forwarded-For: 10.1.2.3",
    "X-Forwarded-For: 192.0.2.99, 203.0.113.13:4444",
    "X-Real-IP: 203.0.113.14",
    "X-Real-IP: 192.168.1.7",
    "X-Client-IP: 203.0.113.15",
    "X-Client-IP: 172.16.0.9",
    "Forwarded: for=198.51.100.77",
    'Forwarded: for="203.0.113.16:5555"',
    'Forwarded: for="[2001:db8:f::99]:1234"',
    "X-Forwarded-For: 203.0.113.17|Forwarded: for=10.9.8.7",
    "X-Real-IP: 203.0.113.18|X-Client-IP: 10.20.30.40",
]


class Rng:
    def __init__(self, seed):
        self.s = (seed * 0x9E3779B97F4A7C15 + 0x1234567) & 0xFFFFFFFFFFFFFFFF or 1
        for _ in range(16):  # the first outputs of a small seed are poorly mixed
            self.next()

    def next(self):
        x = self.s
        x ^= (x >> 12)
        x ^= (x << 25) & 0xFFFFFFFFFFFFFFFF
        x ^= (x >> 27)
        self.s = x
        return (x * 0x2545F4914F6CDD1D) & 0xFFFFFFFFFFFFFFFF

    def below(self, n):
        return (self.next() >> 11) % n

    def chance(self, percent):
        return self.below(100) < percent


MODES = {
    # mode: (front schemes offered, IPv6 allowed)
    "haproxy-xff": (("http", "https", "h2"), True),
    "haproxy-xclientip": (("http", "https", "h2"), True),
    "haproxy-proxy": (("http", "https", "h2"), True),
    "haproxy-tcp-proxy": (("http", "https", "h2"), True),
    "nginx": (("http", "https", "h2"), True),
    # usesrc clientip binds the client's own address on the back side: IPv4 only here,
    # the backends have IPv4 addresses only.
    "haproxy-transparent": (("http", "https", "h2"), False),
    "late-start": (("http", "https"), True),
}


def make_plan(mode, seed):
    schemes, v6 = MODES[mode]
    rng = Rng(seed)
    rows = []
    req = 0
    invocations = 36

    def add(inv, client, family, scheme, method, n_urls, parallel, forged, body, extra, delay_ms):
        nonlocal req
        for _ in range(n_urls):
            req += 1
            rows.append({
                "request_id": req, "invocation": inv, "client": client, "family": family,
                "scheme": scheme, "method": method, "path": f"/r/{seed}/{req}",
                "parallel": parallel, "forged": forged, "body": body, "curl_extra": extra,
                "delay_ms": delay_ms,
            })

    inv = 0
    if mode == "late-start":
        # Warm the shared back connection, then a slow upload whose body holds request-like
        # text: the back capture starts 2 s later, inside that body.
        inv += 1
        add(inv, SLOW_POST_CLIENT, "4", "http", "GET", 2, 0, "", "", "", 0)
        inv += 1
        add(inv, SLOW_POST_CLIENT, "4", "http", "POST", 1, 0, "", "decoy-large", "limit-rate", 300)
    for i in range(invocations):
        inv += 1
        name, fams, _, _, _ = CLIENTS[rng.below(len(CLIENTS))]
        family = "6" if (v6 and "6" in fams and rng.chance(50)) else "4"
        scheme = schemes[rng.below(len(schemes))]
        extra = ""
        if name == TFO_CLIENT and scheme == "http":
            extra = "tcp-fastopen"
        method = "GET"
        body = ""
        r = rng.below(10)
        if r < 2:
            method, body = "POST", "form"
        elif r < 4:
            method, body = "POST", "decoy"
        n_urls = 1 + rng.below(4)
        parallel = 1 if (n_urls > 1 and rng.chance(25)) else 0
        forged = FORGERIES[rng.below(len(FORGERIES))] if rng.chance(40) else ""
        delay = 600 + i * 200 if mode == "late-start" else 0
        add(inv, name, family, scheme, method, n_urls, parallel, forged, body, extra, delay)
    # Every client at least once, so every stack shows up in the front capture.
    used = {row["client"] for row in rows}
    for name, _, _, _, _ in CLIENTS:
        if name not in used:
            inv += 1
            add(inv, name, "4", "http", "GET", 1, 0, "", "", "", 600 + inv * 100 if mode == "late-start" else 0)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True, choices=sorted(MODES))
    ap.add_argument("--seed", required=True, type=int)
    ap.add_argument("--clients", action="store_true", help="print the client table instead")
    a = ap.parse_args()
    out = csv.writer(sys.stdout, lineterminator="\n")
    if a.clients:
        out.writerow(["client", "families", "mtu", "nat", "sysctls"])
        for name, fams, sysctls, mtu, nat in CLIENTS:
            out.writerow([name, fams, mtu, int(nat), ";".join(f"{k}={v}" for k, v in sysctls.items())])
        return
    rows = make_plan(a.mode, a.seed)
    w = csv.DictWriter(sys.stdout, fieldnames=list(rows[0].keys()), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)


if __name__ == "__main__":
    main()
