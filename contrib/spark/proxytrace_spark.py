#!/usr/bin/env python3
"""proxytrace on Apache Spark: many sensors' rotated captures, the same answer as one machine.

proxytrace extracts, Spark schedules and joins. The capture files are listed on the driver and
grouped into chains, one per (side, sensor), ordered by first packet time; each chain is one
Spark task that runs the proxytrace binary once per table over all the chain's files, so a
connection whose SYN or PROXY header is in file N and whose requests are in file N+1 keeps its
state (the binary carries connections across the files of one run). The tables are written as
Parquet partitioned by sensor and hour, and the join of `proxytrace join` runs in Spark SQL
(join.sql beside this file) over them.

Usage (see README.md beside this file and docs/spark.md):

    spark-submit contrib/spark/proxytrace_spark.py --front DIR_OR_GLOB --back DIR_OR_GLOB \
        --out DIR [--since T --until T] [--client IP|CIDR] [--trusted CIDR] [--clock-offset D]

Paths are POSIX paths that the driver and every executor see (a shared file system): the
driver lists them, the tasks read them and write their Parquet under --out.
"""

import argparse
import glob
import gzip
import ipaddress
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
JOIN_SQL = os.path.join(HERE, "join.sql")

# The tables each side's chain is run for, as (table name, proxytrace command).
BACK_TABLES = [("requests", "requests"), ("connections", "connections")]
FRONT_TABLES = [
    ("syns", "syns"),
    ("front_requests", "requests"),
    ("front_connections", "connections"),
]

# proxytrace join's constants (crates/proxytrace/src/commands/join): the same numbers here
# make the same rows.
JOIN_WINDOW_NS = 30 * 60 * 10**9
MATCH_WINDOW_NS = 5 * 10**9
FRONT_WINDOW_SLACK_NS = 600 * 10**9
GIVEN_OFFSET_SLACK_NS = 10**9
# The clock estimate pairs requests among the first this many (more only when none pairs).
ESTIMATE_REACH = 2_000_000


# --- arguments ------------------------------------------------------------------------------


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="proxytrace_spark.py",
        description="Run proxytrace over many sensors' rotated captures on Spark and join "
        "the back-side requests to their front connections in Spark SQL.",
    )
    p.add_argument("--front", action="append", required=True, metavar="DIR_OR_GLOB",
                   help="FRONT captures (clients -> proxy): a directory (walked), a glob or a file; repeatable")
    p.add_argument("--back", action="append", required=True, metavar="DIR_OR_GLOB",
                   help="BACK captures (proxy -> backends); repeatable")
    p.add_argument("--out", required=True, help="output directory (tables as Parquet)")
    p.add_argument("--since", help="RFC 3339 time or date: only packets at or after it")
    p.add_argument("--until", help="RFC 3339 time or date: only packets before it")
    p.add_argument("--client", action="append", default=[], metavar="IP|CIDR",
                   help="keep join rows of these clients (the tables keep every row)")
    p.add_argument("--trusted", action="append", default=[], metavar="CIDR",
                   help="your proxies' networks (passed to proxytrace)")
    p.add_argument("--transparent", action="store_true",
                   help="the back-side source is the client (passed to proxytrace)")
    p.add_argument("--header", action="append", default=[], metavar="NAME",
                   help="passed to proxytrace (identity header order)")
    p.add_argument("--identity-header", action="append", default=[], metavar="NAME",
                   help="passed to proxytrace")
    p.add_argument("--clock-offset", metavar="DURATION",
                   help="back time = front time + this (e.g. 250ms); estimated when not given")
    p.add_argument("--window", default="30min", metavar="DURATION",
                   help="how old a joined SYN may be (default 30min, as proxytrace join)")
    p.add_argument("--match-window", default="5s", metavar="DURATION",
                   help="how much earlier a matching front request may be (default 5s)")
    p.add_argument("--sensor-regex", default=None, metavar="REGEX",
                   help="the sensor of a file: the first group (or the match) of this regex "
                   "searched in its path (default: the name of the file's directory, or of its "
                   "parent when that directory is named front or back)")
    p.add_argument("--binary", default=None,
                   help="the proxytrace binary to ship to the executors with the job "
                   "(default: proxytrace on PATH)")
    p.add_argument("--binary-on-executors", default=None, metavar="PATH",
                   help="use this path on every executor instead of shipping the binary "
                   "(a path on shared storage)")
    p.add_argument("--threads", type=int, default=None,
                   help="proxytrace --threads in each task (default: spark.task.cpus)")
    p.add_argument("--master", default=None,
                   help="Spark master when not given by spark-submit (e.g. local[2])")
    p.add_argument("--shuffle-partitions", type=int, default=None, metavar="N",
                   help="spark.sql.shuffle.partitions (Spark's default, 200, is slow on small data)")
    p.add_argument("--keep-stage", action="store_true",
                   help="keep the tasks' own Parquet files under OUT/_stage")
    a = p.parse_args(argv)
    for t in (a.since, a.until):
        if t and (t.startswith("+") or t.startswith("now")):
            p.error(f"{t!r}: give an absolute time: a relative one would count from each "
                    "chain's first packet, not the fleet's")
    for d in (a.window, a.match_window) + ((a.clock_offset,) if a.clock_offset else ()):
        try:
            parse_duration_ns(d)
        except ValueError as e:
            p.error(str(e))
    return a


_UNITS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000,
          "s": 10**9, "m": 60 * 10**9, "min": 60 * 10**9, "h": 3600 * 10**9}


def parse_duration_ns(s):
    """A duration as proxytrace parses it: a signed decimal and a unit (ns us ms s min h)."""
    m = re.fullmatch(r"\s*([+-]?)(\d*)(?:\.(\d*))?\s*(\S+)\s*", s)
    if not m or not (m.group(2) or m.group(3)) or m.group(4) not in _UNITS:
        raise ValueError(f"{s!r} is not a duration (a number and ns, us, ms, s, min or h)")
    mul = _UNITS[m.group(4)]
    ns = int(m.group(2) or "0") * mul
    scale = mul
    for ch in m.group(3) or "":
        scale //= 10
        ns += int(ch) * scale
    return -ns if m.group(1) == "-" else ns


# --- listing and chains ---------------------------------------------------------------------


def expand(specs):
    """Files named by directories (walked, sorted), globs and plain paths, each once."""
    out, seen = [], set()

    def walk(d):
        found = []
        for root, dirs, files in os.walk(d):
            dirs.sort()
            found += [os.path.join(root, f) for f in sorted(files)]
        return found

    for spec in specs:
        named = sorted(glob.glob(spec, recursive=True)) if any(c in spec for c in "*?[") else [spec]
        found = []
        for n in named:
            found += walk(n) if os.path.isdir(n) else [n]
        for f in found:
            f = os.path.abspath(f)
            if f not in seen and os.path.isfile(f):
                seen.add(f)
                out.append(f)
    return out


def _open(path):
    f = open(path, "rb")
    if f.read(2) == b"\x1f\x8b":
        f.close()
        return gzip.open(path, "rb")
    f.seek(0)
    return f


def first_packet_ns(path):
    """The first record's time of a pcap or pcapng file (gzip too), or None: not a capture,
    no record, or a format read here only by name order (zstd)."""
    try:
        with _open(path) as f:
            head = f.read(24)
            if len(head) < 24:
                return None
            magic = head[:4]
            for endian in "<>":
                (m,) = struct.unpack(endian + "I", magic)
                if m in (0xA1B2C3D4, 0xA1B23C4D):
                    rec = f.read(16)
                    if len(rec) < 16:
                        return None
                    sec, frac = struct.unpack(endian + "II", rec[:8])
                    return sec * 10**9 + (frac * 1000 if m == 0xA1B2C3D4 else frac)
            if magic != b"\x0a\x0d\x0d\x0a":
                return None
            return _pcapng_first(f, head)
    except (OSError, EOFError, struct.error):
        return None


def _pcapng_first(f, head):
    endian = "<" if head[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    (shb_len,) = struct.unpack(endian + "I", head[4:8])
    f.read(shb_len - 24)
    resol = {}  # interface id -> units per second
    ifaces = 0
    for _ in range(100_000):  # bounded: a first packet is near the start of a real file
        h = f.read(8)
        if len(h) < 8:
            return None
        btype, blen = struct.unpack(endian + "II", h)
        if blen < 12:
            return None
        body = f.read(blen - 8)
        if btype == 1:  # interface description: look for if_tsresol
            units = 10**6
            opts = body[8:-4]
            while len(opts) >= 4:
                code, olen = struct.unpack(endian + "HH", opts[:4])
                if code == 0:
                    break
                if code == 9 and olen >= 1:
                    v = opts[4]
                    units = 2 ** (v & 0x7F) if v & 0x80 else 10 ** v
                opts = opts[4 + ((olen + 3) & ~3):]
            resol[ifaces] = units
            ifaces += 1
        elif btype in (6, 3):  # enhanced / simple packet block
            if btype == 3:
                return None
            iface, hi, lo = struct.unpack(endian + "III", body[:12])
            units = resol.get(iface, 10**6)
            ticks = (hi << 32) | lo
            return ticks * 10**9 // units
    return None


def sensor_of(path, regex):
    if regex:
        m = re.search(regex, path)
        if m:
            return m.group(1) if m.groups() else m.group(0)
        return "unknown"
    parent = os.path.dirname(path)
    # SENSOR/back/x.pcap and SENSOR/front/x.pcap: the side folder is not the sensor.
    if os.path.basename(parent) in ("front", "back"):
        parent = os.path.dirname(parent)
    return os.path.basename(parent) or "root"


def safe_name(s):
    """A sensor name as a partition value: no path separator, no '='."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", s) or "_"


def chains(paths, regex):
    """{sensor: [(first_ns, path), ...]} ordered by first packet time, then path."""
    by = {}
    for p in paths:
        by.setdefault(safe_name(sensor_of(p, regex)), []).append((first_packet_ns(p), p))
    for s in by:
        # Files without a readable first time keep their name order, after the others.
        by[s].sort(key=lambda x: (x[0] is None, x[0] or 0, x[1]))
    return by


# --- the task: one chain, one proxytrace run per table --------------------------------------


def run_chain(task):
    """Run on an executor: proxytrace over one chain's files, one run per table, each
    writing one Parquet file under the stage directory. Returns one record per run."""
    binary = task["binary"]
    if task.get("shipped"):
        from pyspark import SparkFiles

        binary = SparkFiles.get(os.path.basename(binary))
        mode = os.stat(binary).st_mode
        if not mode & stat.S_IXUSR:
            os.chmod(binary, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    results = []
    for table, command in task["tables"]:
        out_dir = os.path.join(task["stage"], table, "sensor=" + task["sensor"])
        os.makedirs(out_dir, exist_ok=True)
        out = os.path.join(out_dir, "chain.parquet")
        argv = [binary, command, "--format", "parquet", "-o", out, "--stats", "json"]
        argv += task["flags"].get(command, [])
        argv += [p for _, p in task["files"]]
        t0 = time.time()
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        secs = time.time() - t0
        stats, errors = None, []
        for line in proc.stderr.decode("utf-8", "replace").splitlines():
            if line.startswith("{"):
                try:
                    stats = json.loads(line)
                    continue
                except ValueError:
                    pass
            if line.strip():
                errors.append(line)
        results.append({
            "side": task["side"], "sensor": task["sensor"], "table": table,
            "files": len(task["files"]), "bytes": sum(os.path.getsize(p) for _, p in task["files"]),
            "status": proc.returncode, "seconds": secs, "stats": stats, "stderr": errors[-20:],
        })
    return results


# --- the driver ------------------------------------------------------------------------------


def front_window(a):
    """proxytrace join's front window: the back window in front time, opened by the join
    window and the clock's slack (commands/join/mod.rs `front_window`)."""
    if not (a.since or a.until):
        return None, None
    given = a.clock_offset is not None
    shift = -parse_duration_ns(a.clock_offset) if given else 0
    slack = GIVEN_OFFSET_SLACK_NS if given else FRONT_WINDOW_SLACK_NS
    before = max(parse_duration_ns(a.window), parse_duration_ns(a.match_window)) + slack
    since = until = None
    if a.since:
        since = rfc3339_ns(a.since) + shift - before
    if a.until:
        until = rfc3339_ns(a.until) + shift + slack
    return since, until


def rfc3339_ns(t):
    """An RFC 3339 time or a date (UTC midnight) as nanoseconds, exactly."""
    import datetime as dt

    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?)?", t)
    if not m:
        raise SystemExit(f"proxytrace_spark: {t!r} is not an RFC 3339 time or a date")
    base = dt.datetime.fromisoformat(m.group(1) + "T" + (m.group(2) or "00:00:00"))
    tz = m.group(4) or "Z"
    offset = 0 if tz == "Z" else (1 if tz[0] == "+" else -1) * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    secs = int(base.replace(tzinfo=dt.timezone.utc).timestamp()) - offset
    frac = (m.group(3) or "").ljust(9, "0")
    return secs * 10**9 + int(frac)


def fmt_ns(ns):
    import datetime as dt

    s, frac = divmod(ns, 10**9)
    return dt.datetime.fromtimestamp(s, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def command_flags(a, command):
    """The identity flags each command takes: requests all, connections the trust ones,
    syns none (a SYN's client is its sender)."""
    f = []
    if command in ("requests", "connections"):
        for t in a.trusted:
            f += ["--trusted", t]
        if a.transparent:
            f.append("--transparent")
    if command == "requests":
        for h in a.header:
            f += ["--header", h]
        for h in a.identity_header:
            f += ["--identity-header", h]
    return f


def window_flags(since, until):
    f = []
    if since is not None:
        f += ["--since", since]
    if until is not None:
        f += ["--until", until]
    return f


def counter(report, section, name):
    """A counter of a `--stats json` report (0 when absent)."""
    for sec in (report or {}).get("sections", []):
        if sec.get("name") == section:
            for c in sec.get("counters", []):
                if c.get("name") == name:
                    return c.get("value", 0)
    return 0


def canon_ip(s):
    ip = ipaddress.ip_address(s)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def client_networks(specs):
    nets = []
    for s in specs:
        n = ipaddress.ip_network(s, strict=False)
        if isinstance(n, ipaddress.IPv6Network) and n.network_address.ipv4_mapped and n.prefixlen >= 96:
            n = ipaddress.ip_network(f"{n.network_address.ipv4_mapped}/{n.prefixlen - 96}", strict=False)
        nets.append(n)
    return nets


def sql_statements(path, params):
    """join.sql as (view name, SELECT) pairs, ${name} replaced by params."""
    text = open(path, encoding="utf-8").read()
    for k, v in params.items():
        text = text.replace("${" + k + "}", str(v))
    out = []
    for block in re.split(r"^-- view: ", text, flags=re.M)[1:]:
        name, _, body = block.partition("\n")
        body = "\n".join(l for l in body.splitlines() if not l.lstrip().startswith("--")).strip()
        out.append((name.strip(), body.rstrip(";")))
    return out


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    started = time.time()
    builder = SparkSession.builder.appName("proxytrace")
    if a.master:
        builder = builder.master(a.master)
    if a.shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(a.shuffle_partitions))
    spark = (
        builder
        # proxytrace writes nanosecond timestamps; Spark has no such type, so they are read
        # as int64 nanoseconds and all time arithmetic is exact.
        .config("spark.sql.legacy.parquet.nanosAsLong", "true")
        .config("spark.sql.session.timeZone", "UTC")
        # Sensor names stay strings ("01" is not the number 1).
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        # join.sql quotes identifiers ("time", "window") the standard way.
        .config("spark.sql.ansi.enabled", "true")
        .config("spark.sql.ansi.doubleQuotedIdentifiers", "true")
        .getOrCreate()
    )
    sc = spark.sparkContext

    front_files, back_files = expand(a.front), expand(a.back)
    if not back_files or not front_files:
        raise SystemExit("proxytrace_spark: no %s capture found" % ("back" if not back_files else "front"))
    front_chains, back_chains = chains(front_files, a.sensor_regex), chains(back_files, a.sensor_regex)

    if a.binary_on_executors:
        binary, shipped = a.binary_on_executors, False
    else:
        binary = a.binary or shutil.which("proxytrace")
        if not binary or not os.path.isfile(binary):
            raise SystemExit("proxytrace_spark: no proxytrace binary (give --binary PATH)")
        binary = os.path.abspath(binary)
        version = subprocess.run([binary, "--version"], stdout=subprocess.PIPE).stdout.decode()
        features = next((l.split(":", 1)[1].split() for l in version.splitlines() if l.startswith("features:")), [])
        if "parquet" not in features:
            raise SystemExit("proxytrace_spark: %s was built without Parquet output (features: %s)"
                             % (binary, " ".join(features) or "none"))
        sc.addFile(binary)  # shipped with the job; each task finds it with SparkFiles.get
        shipped = True

    out = os.path.abspath(a.out)
    stage = os.path.join(out, "_stage")
    if os.path.exists(stage):
        shutil.rmtree(stage)
    threads = a.threads or int(sc.getConf().get("spark.task.cpus", "1"))
    common = ["--threads", str(threads)]
    back_window = window_flags(a.since, a.until)
    fs, fu = front_window(a)
    front_window_flags = window_flags(fmt_ns(fs) if fs is not None else None,
                                      fmt_ns(fu) if fu is not None else None)
    tasks = []
    for side, by, tables, win in (("back", back_chains, BACK_TABLES, back_window),
                                  ("front", front_chains, FRONT_TABLES, front_window_flags)):
        for sensor, files in sorted(by.items()):
            tasks.append({
                "side": side, "sensor": sensor, "files": files, "tables": tables,
                "stage": stage, "binary": binary, "shipped": shipped,
                "flags": {cmd: command_flags(a, cmd) + common + win for _, cmd in tables},
            })
    # Largest chains first: the longest task starts at once.
    tasks.sort(key=lambda t: -sum(os.path.getsize(p) for _, p in t["files"]))
    t_extract = time.time()
    runs = sc.parallelize(tasks, len(tasks)).flatMap(run_chain).collect()
    extract_secs = time.time() - t_extract
    failed = [r for r in runs if r["status"] not in (0, 1)]
    if failed:
        for r in failed:
            sys.stderr.write("proxytrace_spark: %s %s on sensor %s failed (status %d):\n  %s\n" % (
                r["side"], r["table"], r["sensor"], r["status"], "\n  ".join(r["stderr"])))
        raise SystemExit(2)

    # The tables: the tasks' files, a `sensor` and an `hour` each, partitioned by both.
    t_tables = time.time()
    tables = {}
    for name, _ in BACK_TABLES + FRONT_TABLES:
        df = spark.read.parquet(os.path.join(stage, name))
        df = df.withColumn("hour", F.date_format(F.timestamp_seconds(F.floor(F.col("time") / 10**9)), "yyyy-MM-dd-HH"))
        df.write.mode("overwrite").partitionBy("sensor", "hour").parquet(os.path.join(out, name))
        tables[name] = spark.read.parquet(os.path.join(out, name))
        tables[name].createOrReplaceTempView(name)
    tables_secs = time.time() - t_tables

    # The run order of the files (proxytrace reads each side in first packet time order):
    # the order `join`'s clock estimate reads requests in.
    order = []
    for side, by in (("back", back_chains), ("front", front_chains)):
        every = sorted(((t is None, t or 0, p) for s in by.values() for t, p in s))
        order += [(side, p, i) for i, (_, _, p) in enumerate(every)]
    spark.createDataFrame(order, "side string, path string, ordinal int").createOrReplaceTempView("capture_files")

    # `join` reads the back connections only when its requests read met streams that are
    # not HTTP: the same condition, from each back chain's requests report.
    not_http = sum(counter(r["stats"], "reassembly", "not_http_flows")
                   for r in runs if r["side"] == "back" and r["table"] == "requests")

    nets = client_networks(a.client)
    spark.udf.register(
        "client_wanted",
        lambda ip: (not nets) or (ip is not None and any(canon_ip(ip) in n for n in nets if n.version == canon_ip(ip).version)),
        T.BooleanType(),
    )
    given = a.clock_offset is not None
    params = {
        "window_ns": parse_duration_ns(a.window),
        "match_window_ns": parse_duration_ns(a.match_window),
        "connection_rows": "TRUE" if not_http > 0 else "FALSE",
        "clock_source": "given" if given else "estimated",
        "offset_ns": parse_duration_ns(a.clock_offset) if given else 0,
        "client_filter": "client_wanted(client_ip)" if nets else "TRUE",
        "estimate_reach": ESTIMATE_REACH,
        "empty_text_list": "CAST(array() AS ARRAY<STRING>)",
    }
    t_join = time.time()
    work = os.path.join(out, "_work")
    statements = sql_statements(JOIN_SQL, params)
    names = [n for n, _ in statements]
    before_clock = names[: names.index("clock") + 1]

    def materialize(only):
        # Each view is written and read back: Spark inlines views, and the rules refer to
        # each other, so without this the plan of the last view holds every one before it
        # many times over.
        for name, body in sql_statements(JOIN_SQL, params):
            if name not in only or (given and (name.startswith("estimate") or name == "clock_estimated")):
                continue
            path = os.path.join(work, name)
            spark.sql(body).write.mode("overwrite").parquet(path)
            spark.read.parquet(path).createOrReplaceTempView(name)

    materialize(before_clock)
    clock = spark.table("clock").collect()[0].asDict()
    if not given and clock["source"] == "none":
        # No pair among the first requests: `join` reads on until the first pair, so the
        # estimate is made again over every request.
        requests_total = spark.sql("SELECT count(*) AS n FROM back_keyed WHERE kind = 0").collect()[0]["n"]
        if requests_total > ESTIMATE_REACH:
            params["estimate_reach"] = requests_total
            materialize([n for n in before_clock if n.startswith("estimate") or n.startswith("clock")])
            clock = spark.table("clock").collect()[0].asDict()
    materialize(names[names.index("clock") + 1:])
    joined = spark.table("join_rows")
    joined = joined.withColumn("sensor", F.col("back_sensor")).drop("back_sensor")
    joined = joined.withColumn("hour", F.date_format(F.timestamp_seconds(F.floor(F.col("time") / 10**9)), "yyyy-MM-dd-HH"))
    joined.write.mode("overwrite").partitionBy("sensor", "hour").parquet(os.path.join(out, "join"))
    counts = {r["join_method"]: r["n"] for r in spark.read.parquet(os.path.join(out, "join"))
              .groupBy("join_method").agg(F.count("*").alias("n")).collect()}
    join_secs = time.time() - t_join
    if not a.keep_stage:
        shutil.rmtree(stage, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    report = {
        "chains": {"front": {s: len(f) for s, f in front_chains.items()},
                   "back": {s: len(f) for s, f in back_chains.items()}},
        "clock": clock,
        "join_methods": counts,
        "back_not_http_flows": not_http,
        "seconds": {"extract": round(extract_secs, 3), "tables": round(tables_secs, 3),
                    "join": round(join_secs, 3), "total": round(time.time() - started, 3)},
        "runs": [{k: r[k] for k in ("side", "sensor", "table", "files", "bytes", "status", "seconds")}
                 | {"rows": (r["stats"] or {}).get("rows")} for r in runs],
    }
    with open(os.path.join(out, "_run.json"), "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
    sys.stderr.write("proxytrace_spark: %d back and %d front chains, %d files; clock offset %s ns (%s); "
                     "join rows %d (%s); %.1f s (extract %.1f s, tables %.1f s, join %.1f s) -> %s\n" % (
                         len(back_chains), len(front_chains), len(front_files) + len(back_files),
                         clock["offset_ns"], clock["source"], sum(counts.values()),
                         ", ".join("%s %d" % kv for kv in sorted(counts.items())),
                         time.time() - started, extract_secs, tables_secs, join_secs, out))
    spark.stop()
    return report


if __name__ == "__main__":
    main()
