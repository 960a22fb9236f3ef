#!/usr/bin/env python3
"""join.sql in DuckDB: the same views over the tables the Spark job wrote (or any tables of
the same columns), written as one Parquet file. Shows the SQL is not Spark's own.

    duckdb_join.py --tables OUT --front DIR_OR_GLOB --back DIR_OR_GLOB -o join.parquet
        [--clock-offset D] [--window D] [--match-window D] [--sensor-regex R]

--front/--back list the captures as the Spark job did: their read order is the
capture_files table. No --client here (filter the result instead).
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import duckdb  # noqa: E402

import proxytrace_spark as job  # noqa: E402

TABLES = ("requests", "connections", "syns", "front_requests", "front_connections")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tables", required=True)
    p.add_argument("--front", action="append", required=True)
    p.add_argument("--back", action="append", required=True)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--clock-offset")
    p.add_argument("--window", default="30min")
    p.add_argument("--match-window", default="5s")
    p.add_argument("--sensor-regex")
    p.add_argument("--connection-rows", choices=("yes", "no"), default="yes",
                   help="whether the back side's requests run counted not_http_flows > 0 "
                   "(the Spark job reads it from the runs' statistics; _run.json has it)")
    a = p.parse_args()
    t0 = time.time()
    con = duckdb.connect()
    for name in TABLES:
        glob = os.path.join(a.tables, name, "**", "*.parquet")
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{glob}', hive_partitioning = true)")
    rows = []
    for side, specs in (("back", a.back), ("front", a.front)):
        by = job.chains(job.expand(specs), a.sensor_regex)
        every = sorted((t is None, t or 0, path) for c in by.values() for t, path in c)
        rows += [(side, path, i) for i, (_, _, path) in enumerate(every)]
    con.execute("CREATE TABLE capture_files (side VARCHAR, path VARCHAR, ordinal INTEGER)")
    con.executemany("INSERT INTO capture_files VALUES (?, ?, ?)", rows)
    given = a.clock_offset is not None
    params = {
        "window_ns": job.parse_duration_ns(a.window),
        "match_window_ns": job.parse_duration_ns(a.match_window),
        "connection_rows": "TRUE" if a.connection_rows == "yes" else "FALSE",
        "clock_source": "given" if given else "estimated",
        "offset_ns": job.parse_duration_ns(a.clock_offset) if given else 0,
        "client_filter": "TRUE",
        "estimate_reach": job.ESTIMATE_REACH,
        "empty_text_list": "CAST([] AS VARCHAR[])",
    }
    for name, body in job.sql_statements(job.JOIN_SQL, params):
        if given and (name.startswith("estimate") or name == "clock_estimated"):
            continue
        # Tables, not views: each is computed once.
        con.execute(f"CREATE TABLE {name} AS {body}")
    clock = con.execute("SELECT offset_ns, source FROM clock").fetchone()
    con.execute(f"COPY (SELECT * EXCLUDE (back_sensor) FROM join_rows) TO '{a.output}' (FORMAT parquet)")
    n = con.execute("SELECT count(*) FROM join_rows").fetchone()[0]
    print("duckdb_join: %d rows, clock offset %s ns (%s), %.1f s -> %s" % (n, clock[0], clock[1], time.time() - t0, a.output))


if __name__ == "__main__":
    main()
