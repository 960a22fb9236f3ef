#!/usr/bin/env python3
"""Run a plan.csv: one curl process per invocation inside the client's namespace.

Bounded: at most --jobs curl processes at once, each with --max-time, and the whole run
under --deadline seconds (anything still running then is ended by its PID).
Writes one line per request to --log: invocation, url, local ip/port curl used, status.
"""
import argparse
import csv
import os
import signal
import subprocess
import sys
import time

HOST = "proxy.lab.example"
DECOY = (b"GET /decoy-in-body HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\nHost: decoy.example\r\n"
         b"User-Agent: decoy\r\n\r\n")


def write_bodies(tmp):
    paths = {}
    paths["form"] = os.path.join(tmp, "body-form")
    with open(paths["form"], "wb") as f:
        f.write(b"name=lab&comment=plain+form+body&n=" + b"x" * 200)
    paths["decoy"] = os.path.join(tmp, "body-decoy")
    with open(paths["decoy"], "wb") as f:
        f.write(b"note=request-like text follows\r\n" + DECOY * 3)
    # Large enough to take about 4 s at 2 KB/s: the late capture starts inside it.
    paths["decoy-large"] = os.path.join(tmp, "body-decoy-large")
    with open(paths["decoy-large"], "wb") as f:
        f.write((b"pad=" + b"p" * 60 + b"\r\n" + DECOY) * 48)
    return paths


def curl_argv(ns_prefix, inv_rows, bodies, max_time):
    first = inv_rows[0]
    ns = f"{ns_prefix}{first['client']}"
    fam = first["family"]
    front = "203.0.113.1" if fam == "4" else "[2001:db8:f::1]"
    scheme = first["scheme"]
    port = 80 if scheme == "http" else 443
    argv = ["ip", "netns", "exec", ns, "curl", "-sS", "--no-progress-meter", "-k", f"-{fam}",
            "--max-time", str(max_time), "--connect-timeout", "5",
            "--resolve", f"{HOST}:{port}:{front}",
            "-w", f"{first['invocation']} %{{url_effective}} %{{local_ip}} %{{local_port}} "
                  "%{http_code} %{http_version}\\n"]
    argv.append("--http2" if scheme == "h2" else "--http1.1")
    for h in filter(None, first["forged"].split("|")):
        argv += ["-H", h]
    if first["method"] == "POST":
        argv += ["--data-binary", "@" + bodies[first["body"]], "-H", "Content-Type: text/plain"]
    if first["parallel"] == "1":
        argv += ["-Z", "--parallel-max", "4"]
    if first["curl_extra"] == "tcp-fastopen":
        argv.append("--tcp-fastopen")
    if first["curl_extra"] == "limit-rate":
        argv += ["--limit-rate", "2k"]
    url_scheme = "http" if scheme == "http" else "https"
    for r in inv_rows:
        argv += ["-o", "/dev/null", f"{url_scheme}://{HOST}{r['path']}"]
    return argv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("plan")
    ap.add_argument("--ns-prefix", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--jobs", type=int, default=6)
    ap.add_argument("--max-time", type=int, default=20)
    ap.add_argument("--deadline", type=float, default=45.0)
    a = ap.parse_args()
    with open(a.plan, newline="") as f:
        rows = list(csv.DictReader(f))
    invs = {}
    for r in rows:
        invs.setdefault(int(r["invocation"]), []).append(r)
    bodies = write_bodies(a.tmp)
    queue = [invs[k] for k in sorted(invs)]
    running = []  # (Popen, invocation rows)

    def on_term(signum, _frame):
        # The lab's teardown ends this script by PID: end the curl processes it started, by PID.
        for p, _ in running:
            p.kill()
            p.wait()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    t0 = time.monotonic()
    failed = 0
    with open(a.log, "w") as log:
        while queue or running:
            now = time.monotonic() - t0
            if now > a.deadline:
                for p, _ in running:
                    p.kill()  # by PID, the process this script started
                    p.wait()
                print(f"clients: deadline reached, {len(queue)} invocations not started", file=sys.stderr)
                failed += len(running) + len(queue)
                break
            while queue and len(running) < a.jobs and now * 1000 >= int(queue[0][0]["delay_ms"]):
                inv = queue.pop(0)
                argv = curl_argv(a.ns_prefix, inv, bodies, a.max_time)
                p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                running.append((p, inv))
            still = []
            for p, inv in running:
                if p.poll() is None:
                    still.append((p, inv))
                    continue
                out = p.stdout.read()
                log.write(out if out.endswith("\n") or not out else out + "\n")
                if p.returncode != 0:
                    failed += 1
                    log.write(f"{inv[0]['invocation']} curl exit {p.returncode}\n")
            running = still
            time.sleep(0.02)
    print(f"clients: {len(invs)} invocations, {len(rows)} requests, {failed} failed, "
          f"{time.monotonic() - t0:.1f} s", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
