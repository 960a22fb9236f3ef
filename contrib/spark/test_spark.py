#!/usr/bin/env python3
"""The Spark job against the local binary on a generated fleet: three sensors' FRONT/BACK
pairs rotated into files (gen_fleet, with connections cut at file boundaries on purpose)
and the real-HAProxy lab pair (TLS passthrough behind PROXY v2) split into files.

Checks, each printed as `ok` or `FAIL`:
- the Spark join table equals `proxytrace join` over the same files, as a multiset of rows
  (every column), with the clock offset estimated; then again with --client, --since,
  --until, a given --clock-offset and --transparent (every rule taken);
- join.sql run by DuckDB over the tables the Spark job wrote gives the same rows;
- the Spark requests and syns tables equal `proxytrace requests` / `proxytrace syns` over
  the same files;
- each deliberate boundary keeps its connection's state: a PROXY preamble at the end of one
  file names the client of the request at the start of the next (control: the later file
  alone does not), a SYN at the end of one file gets its handshake timing from the next
  (control: the earlier file alone does not), a request head cut across two files is read
  whole (control: neither file alone has it whole).

    test_spark.py --bin target/release/proxytrace --gen-fleet target/release/examples/gen_fleet \
        --work DIR [--master local[2]]

Exit status 0 when every check passes.
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import compare  # noqa: E402

FAILS = []
PASSED = []


def check(ok, what):
    print("%s %s" % ("ok  " if ok else "FAIL", what), flush=True)
    (PASSED if ok else FAILS).append(what)


def run(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if p.returncode not in (0, 1):
        sys.stderr.write(p.stderr.decode())
        raise SystemExit("test_spark: %s exited %d" % (argv[:3], p.returncode))
    return p.stdout.decode()


def jsonl(bin_, command, files, extra=()):
    out = run([bin_, command, "--format", "jsonl", "--no-summary", *extra, *files])
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def dataset(a, root):
    if os.path.exists(root):
        shutil.rmtree(root)
    run([a.gen_fleet, "--seed", "5", "--sensors", "3", "--back-bytes", "4M",
         "--rotate-seconds", "2", "--out", root])
    # The lab pair: real HAProxy and curl, TLS passthrough connections without any request.
    lab = os.path.join(REPO, "testdata", "lab", "haproxy-tcp-proxy")
    for side in ("front", "back"):
        run([sys.executable, os.path.join(HERE, "split_pcap.py"), os.path.join(lab, side + ".pcap"),
             os.path.join(root, "lab", side), "--seconds", "0.2", "--prefix", side])
    front = sorted(glob.glob(os.path.join(root, "*", "front", "*.pcap")))
    back = sorted(glob.glob(os.path.join(root, "*", "back", "*.pcap")))
    return front, back


def spark_job(a, root, out, extra=()):
    t0 = time.time()
    p = subprocess.run([sys.executable, os.path.join(HERE, "proxytrace_spark.py"),
                        "--master", a.master, "--shuffle-partitions", "4", "--binary", a.bin,
                        "--front", os.path.join(root, "*", "front"),
                        "--back", os.path.join(root, "*", "back"), "--out", out, *extra],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = [l for l in p.stderr.decode().splitlines() if l.startswith("proxytrace_spark")]
    if p.returncode != 0:
        sys.stderr.write(p.stderr.decode()[-5000:])
        raise SystemExit("test_spark: the Spark job failed")
    print("   %s (%.0f s)" % (" ".join(lines), time.time() - t0), flush=True)
    return json.load(open(os.path.join(out, "_run.json")))


def local(a, command, files, out, extra=()):
    if command == "join":
        argv = [a.bin, "join", "--front", *files[0], "--back", *files[1]]
    else:
        argv = [a.bin, command, *files]
    p = subprocess.run(argv + ["--format", "parquet", "-o", out, *extra],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode not in (0, 1):
        raise SystemExit("test_spark: local %s failed: %s" % (command, p.stderr.decode()))
    return p.stderr.decode()


def same(spark_dir, local_file, what):
    ok, msg = compare.compare(spark_dir, local_file)
    check(ok, "%s: %s" % (what, msg))


def boundaries(a, root, spark_out):
    import pyarrow.dataset as ds

    reqs = ds.dataset(os.path.join(spark_out, "requests"), format="parquet", partitioning="hive").to_table().to_pylist()
    syns = ds.dataset(os.path.join(spark_out, "syns"), format="parquet", partitioning="hive").to_table().to_pylist()
    kinds = {}
    for line in open(os.path.join(root, "boundaries.jsonl")):
        b = json.loads(line)
        before, after = os.path.join(root, b["file_before"]), os.path.join(root, b["file_after"])
        tup = (b["src_ip"], b["src_port"], b["dst_ip"], b["dst_port"])
        key = lambda r: (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"])  # noqa: E731
        if b["kind"] == "preamble_end":
            mine = [r for r in reqs if key(r) == tup and r["request_on_connection"] == 1]
            alone = [r for r in jsonl(a.bin, "requests", [after]) if key(r) == tup and r["request_on_connection"] == 1]
            ok = (len(mine) == 1 and mine[0]["identity_source"] == "proxy_protocol"
                  and len(alone) == 1 and alone[0]["client_ip"] is None)
            check(ok, "preamble at the end of %s names the client of the request in %s "
                  "(alone, that file's row has no client)" % (b["file_before"], b["file_after"]))
        elif b["kind"] == "syn":
            mine = [r for r in syns if key(r) == tup and r["direction"] == "syn"]
            alone = [r for r in jsonl(a.bin, "syns", [before]) if key(r) == tup and r["direction"] == "syn"]
            ok = (len(mine) == 1 and mine[0]["syn_to_synack_ns"] is not None
                  and len(alone) == 1 and alone[0]["syn_to_synack_ns"] is None)
            check(ok, "SYN at the end of %s gets its SYN+ACK from %s (alone, no handshake timing)"
                  % (b["file_before"], b["file_after"]))
        elif b["kind"] == "split_head":
            # Alone, neither file has the cut head whole: the earlier one ends inside it (no
            # row, or a row flagged partial/truncated), the later one starts after its line.
            whole = lambda r: not {"partial", "truncated"} & set(  # noqa: E731
                r["flags"].split("|") if isinstance(r["flags"], str) else r["flags"])
            halves = {(r["method"], r["target"]) for f in (before, after)
                      for r in jsonl(a.bin, "requests", [f]) if key(r) == tup and whole(r)}
            mine = [r for r in reqs if key(r) == tup and whole(r)
                    and (r["method"], r["target"]) not in halves]
            check(len(mine) == 1, "request head cut between %s and %s is read whole (neither "
                  "file alone has it whole)" % (b["file_before"], b["file_after"]))
        kinds[b["kind"]] = kinds.get(b["kind"], 0) + 1
    check(all(kinds.get(k) for k in ("preamble_end", "syn", "split_head")),
          "every kind of boundary was tested: %s" % kinds)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--gen-fleet", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--master", default="local[2]")
    a = p.parse_args()
    a.bin, a.gen_fleet, work = os.path.abspath(a.bin), os.path.abspath(a.gen_fleet), os.path.abspath(a.work)
    os.makedirs(work, exist_ok=True)
    root = os.path.join(work, "fleet")
    front, back = dataset(a, root)
    print("   dataset: %d front and %d back files in %s" % (len(front), len(back), root), flush=True)

    out = os.path.join(work, "out")
    report = spark_job(a, root, out)
    text = local(a, "join", (front, back), os.path.join(work, "join.parquet"))
    local_offset = next((l for l in text.splitlines() if "clock offset" in l), "")
    check(str(report["clock"]["offset_ns"]) in local_offset,
          "clock offset: spark %s ns, local: %s" % (report["clock"]["offset_ns"], local_offset.strip()))
    same(os.path.join(out, "join"), os.path.join(work, "join.parquet"), "join (estimated offset)")
    # The same SQL in DuckDB, over the tables the Spark job wrote.
    run([sys.executable, os.path.join(HERE, "duckdb_join.py"), "--tables", out,
         "--front", os.path.join(root, "*", "front"), "--back", os.path.join(root, "*", "back"),
         "--connection-rows", "yes" if report["back_not_http_flows"] > 0 else "no",
         "-o", os.path.join(work, "duckdb-join.parquet")])
    ok, msg = compare.compare_files(os.path.join(work, "duckdb-join.parquet"), os.path.join(work, "join.parquet"))
    check(ok, "join.sql in DuckDB over the Spark tables: %s" % msg)
    local(a, "requests", back, os.path.join(work, "requests.parquet"))
    same(os.path.join(out, "requests"), os.path.join(work, "requests.parquet"), "requests")
    local(a, "syns", front, os.path.join(work, "syns.parquet"))
    same(os.path.join(out, "syns"), os.path.join(work, "syns.parquet"), "syns")
    boundaries(a, root, out)

    # Narrowed: a client network, a time window, a given offset.
    # --transparent: the generator's transparent-proxy connections name their client by
    # their source; the proxies' own networks are trusted.
    narrow = ["--client", "0.0.0.0/1", "--client", "2001:db8::/32", "--since", "2026-01-01T00:00:02Z",
              "--until", "2026-01-01T00:00:07Z", "--clock-offset", "3ms", "--transparent",
              "--trusted", "10.0.0.0/8", "--trusted", "198.51.100.0/24"]
    out2 = os.path.join(work, "out-narrow")
    spark_job(a, root, out2, narrow)
    local(a, "join", (front, back), os.path.join(work, "join-narrow.parquet"), narrow)
    same(os.path.join(out2, "join"), os.path.join(work, "join-narrow.parquet"),
         "join with --client, --since, --until, --clock-offset, --transparent, --trusted")

    print("spark: %d passed, %d failed" % (len(PASSED), len(FAILS)))
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
