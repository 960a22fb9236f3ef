#!/usr/bin/env python3
"""Compare two Parquet tables as multisets of rows: a Spark job's output directory against a
local proxytrace run's file. Partition columns of the Spark side (`sensor`, `hour`) are left
out; values are compared as plain numbers and strings (Spark reads proxytrace's unsigned
64-bit integers as decimals and its nanosecond timestamps as int64).

    compare.py SPARK_DIR LOCAL.parquet [--ignore COLUMN ...]

Exit status 0 when equal; 1 with the first differences listed otherwise.
"""

import argparse
import collections
import decimal
import sys

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

PARTITIONS = ("sensor", "hour")


def normal(v):
    if isinstance(v, decimal.Decimal):
        return int(v)
    if isinstance(v, list):
        return tuple(normal(x) for x in v)
    return v


def rows(table, ignore):
    # Timestamps as int64 nanoseconds: Python datetimes would drop the nanoseconds.
    cols = []
    for f in table.schema:
        c = table.column(f.name)
        if pa.types.is_timestamp(f.type):
            c = c.cast(pa.int64())
        cols.append(c)
    t = pa.table(cols, names=table.schema.names)
    names = [n for n in t.schema.names if n not in ignore]
    t = t.select(names)
    return names, [tuple(normal(r[n]) for n in names) for r in t.to_pylist()]


def read_spark(path):
    t = ds.dataset(path, format="parquet", partitioning="hive").to_table()
    return t.drop_columns([c for c in PARTITIONS if c in t.schema.names])


def compare(spark_path, local_path, ignore=(), show=5):
    """A Spark output directory against one Parquet file: (equal, message)."""
    return compare_tables(read_spark(spark_path), pq.read_table(local_path), ignore, show)


def compare_files(path, local_path, ignore=(), show=5):
    """Two Parquet files: (equal, message)."""
    return compare_tables(pq.read_table(path), pq.read_table(local_path), ignore, show)


def compare_tables(spark_table, local_table, ignore=(), show=5):
    s_names, s_rows = rows(spark_table, set(ignore))
    l_names, l_rows = rows(local_table, set(ignore))
    if s_names != l_names:
        return False, "columns differ:\n  spark: %s\n  local: %s" % (s_names, l_names)
    a, b = collections.Counter(s_rows), collections.Counter(l_rows)
    if a == b:
        return True, "%d rows equal as a multiset (%d columns)" % (len(l_rows), len(l_names))
    only_s, only_l = a - b, b - a
    lines = ["%d rows in spark, %d local; %d only in spark, %d only local" % (
        len(s_rows), len(l_rows), sum(only_s.values()), sum(only_l.values()))]
    for label, only, other in (("spark", only_s, only_l), ("local", only_l, only_s)):
        for r in list(only)[:show]:
            # The nearest row of the other side, by the columns that differ least.
            near = min(other, key=lambda o: sum(x != y for x, y in zip(r, o)), default=None)
            diff = {} if near is None else {n: (x, y) for n, x, y in zip(l_names, r, near) if x != y}
            lines.append("  only %s: time=%s file=%s packet=%s; vs nearest: %s" % (
                label, r[0], r[1], r[2], diff))
    return False, "\n".join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("spark")
    p.add_argument("local")
    p.add_argument("--ignore", action="append", default=[])
    a = p.parse_args()
    ok, msg = compare(a.spark, a.local, a.ignore)
    print(msg)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
