//! DuckDB reads what proxytrace writes with the types the published schema gives
//! (`#[ignore]`d: needs Python with the `duckdb` package; `PROXYTRACE_PYTHON` names the
//! interpreter, default `python3`). Run with
//! `cargo test -p proxytrace-cli --test integration duckdb -- --ignored`.

use crate::schema::{inputs, invocations};
use crate::util::{run, TempFile};
use proxytrace::vocab::schema::ColumnType;

fn python() -> String {
    std::env::var("PROXYTRACE_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Run a Python script with DuckDB; its standard output.
fn duckdb(script: &str) -> String {
    let out = std::process::Command::new(python())
        .args(["-c", script])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The type DuckDB's CSV sniffer gives a column of this type (it reads every integer as
/// BIGINT, and a list's text as text).
fn sniffed(ty: ColumnType) -> &'static [&'static str] {
    match ty {
        ColumnType::Bool => &["BOOLEAN"],
        ColumnType::UInt8
        | ColumnType::UInt16
        | ColumnType::UInt32
        | ColumnType::UInt64
        | ColumnType::Int64 => &["BIGINT", "UBIGINT", "HUGEINT"],
        ColumnType::Float64 => &["DOUBLE"],
        ColumnType::Timestamp => &["TIMESTAMP WITH TIME ZONE"],
        _ => &["VARCHAR"],
    }
}

/// `read_csv_auto` of every row command's CSV gives each column the schema's type (a
/// column with no value in the file is VARCHAR: nothing to guess from).
#[test]
#[ignore = "needs duckdb"]
fn duckdb_reads_every_csv_with_the_schema_types() {
    let inputs = inputs("schema-duckdb-csv");
    for s in proxytrace::commands::schemas::command_schemas() {
        for args in invocations(s.command, &inputs) {
            let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
            a.extend(["--format", "csv", "--no-summary"]);
            let (code, csv, err) = run(&a);
            assert_eq!(code, 0, "{a:?}: {err}");
            let f = TempFile::with_bytes(".csv", csv.as_bytes());
            let script = format!(
                "import duckdb, json\n\
                 r = duckdb.sql(\"DESCRIBE SELECT * FROM read_csv_auto('{p}')\").fetchall()\n\
                 n = duckdb.sql(\"SELECT {counts} FROM read_csv_auto('{p}')\").fetchall()[0]\n\
                 print(json.dumps([[c[0], c[1], k] for c, k in zip(r, n)]))",
                p = f.0.display(),
                counts = s
                    .columns
                    .iter()
                    .map(|c| format!("count(\\\"{}\\\")", c.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            let got: Vec<(String, String, u64)> = serde_json::from_str(&duckdb(&script)).unwrap();
            assert_eq!(got.len(), s.columns.len(), "{a:?}");
            for (c, (name, ty, filled)) in s.columns.iter().zip(&got) {
                assert_eq!(name, &c.name, "{a:?}");
                let ok = sniffed(c.ty).contains(&ty.as_str()) || (*filled == 0 && ty == "VARCHAR");
                assert!(
                    ok,
                    "{a:?}: {name}: DuckDB reads {ty}, the schema says {}",
                    c.ty.name()
                );
            }
        }
    }
}

/// The type DuckDB gives a Parquet column of this type: Parquet keeps the width and
/// signedness of integers, the time zone of timestamps and lists. Timestamps are written
/// in nanoseconds (a capture's precision can be that): DuckDB 2 reads them as
/// `TIMESTAMPTZ_NS`, its timestamp with time zone of nanoseconds (older versions, without
/// that type, read TIMESTAMP WITH TIME ZONE of microseconds).
fn parquet_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Text | ColumnType::Ip | ColumnType::SocketAddr => "VARCHAR",
        ColumnType::Timestamp => "TIMESTAMPTZ_NS",
        ColumnType::Bool => "BOOLEAN",
        ColumnType::UInt8 => "UTINYINT",
        ColumnType::UInt16 => "USMALLINT",
        ColumnType::UInt32 => "UINTEGER",
        ColumnType::UInt64 => "UBIGINT",
        ColumnType::Int64 => "BIGINT",
        ColumnType::Float64 => "DOUBLE",
        ColumnType::TextList { .. } => "VARCHAR[]",
        ColumnType::UIntList => "UBIGINT[]",
    }
}

/// Run proxytrace writing Parquet to a scratch file, which is returned.
fn parquet_of(args: &[&str]) -> TempFile {
    let f = TempFile::with_bytes(".parquet", b"");
    let a = [
        args,
        &[
            "--format",
            "parquet",
            "--no-summary",
            "-o",
            f.0.to_str().unwrap(),
        ],
    ]
    .concat();
    let (code, _, err) = run(&a);
    assert_eq!(code, 0, "{a:?}: {err}");
    f
}

/// Every row command's Parquet, on every input of the schema tests: DuckDB reads each
/// column with exactly the schema's type, and as many rows as the CSV has.
#[test]
#[ignore = "needs duckdb"]
fn duckdb_reads_every_parquet_with_the_schema_types() {
    let inputs = inputs("schema-duckdb-parquet");
    for s in proxytrace::commands::schemas::command_schemas() {
        for args in invocations(s.command, &inputs) {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let f = parquet_of(&a);
            let script = format!(
                "import duckdb, json\n\
                 r = duckdb.sql(\"DESCRIBE SELECT * FROM '{p}'\").fetchall()\n\
                 n = duckdb.sql(\"SELECT count(*) FROM '{p}'\").fetchall()[0][0]\n\
                 print(json.dumps([n, [[c[0], c[1]] for c in r]]))",
                p = f.0.display(),
            );
            let (n, got): (u64, Vec<(String, String)>) =
                serde_json::from_str(&duckdb(&script)).unwrap();
            let want: Vec<(String, String)> = s
                .columns
                .iter()
                .map(|c| (c.name.to_string(), parquet_type(c.ty).to_string()))
                .collect();
            assert_eq!(got, want, "{a:?}");
            let (code, csv, err) = run(&[&a[..], &["--format", "csv", "--no-summary"]].concat());
            assert_eq!(code, 0, "{a:?}: {err}");
            let csv_rows = csv.lines().count() as u64 - 1;
            // A CSV cell may hold a newline (quoted): then the line count is more.
            assert!(
                n <= csv_rows && (n == csv_rows || csv.contains("\"")),
                "{a:?}: {n} rows"
            );
        }
    }
}

/// A query on the sample's Parquet (requests and the sum of response body bytes per
/// client) gives what the CSV of the same run gives, summed here; with `-f`, the file
/// holds the chosen columns in their order, with their types.
#[test]
#[ignore = "needs duckdb"]
fn duckdb_query_on_parquet_matches_the_csv() {
    let back = crate::util::testdata("sample/back.pcap");
    let back = back.to_str().unwrap();
    let f = parquet_of(&["requests", back]);
    let script = format!(
        "import duckdb, json\n\
         r = duckdb.sql(\"SELECT client_ip, count(*), sum(response_body_bytes) FROM '{p}' \
         GROUP BY client_ip ORDER BY client_ip NULLS FIRST\").fetchall()\n\
         print(json.dumps([[c, n, int(s) if s is not None else None] for c, n, s in r]))",
        p = f.0.display(),
    );
    let got: Vec<(Option<String>, u64, Option<u64>)> =
        serde_json::from_str(&duckdb(&script)).unwrap();
    let (code, csv, err) = run(&[
        "requests",
        back,
        "-f",
        "client_ip,response_body_bytes",
        "--format",
        "csv",
        "--no-summary",
    ]);
    assert_eq!(code, 0, "{err}");
    let mut want: std::collections::BTreeMap<Option<String>, (u64, Option<u64>)> =
        Default::default();
    for line in csv.lines().skip(1) {
        let (ip, bytes) = line.split_once(',').unwrap();
        let ip = (!ip.is_empty()).then(|| ip.to_string());
        let bytes: Option<u64> = (!bytes.is_empty()).then(|| bytes.parse().unwrap());
        let e = want.entry(ip).or_insert((0, None));
        e.0 += 1;
        if let Some(b) = bytes {
            e.1 = Some(e.1.unwrap_or(0) + b);
        }
    }
    let want: Vec<(Option<String>, u64, Option<u64>)> =
        want.into_iter().map(|(ip, (n, s))| (ip, n, s)).collect();
    assert_eq!(got, want);
    assert_eq!(got.iter().map(|r| r.1).sum::<u64>(), 11);

    let f = parquet_of(&["requests", back, "-f", "response_body_bytes,time,client_ip"]);
    let script = format!(
        "import duckdb, json\n\
         r = duckdb.sql(\"DESCRIBE SELECT * FROM '{p}'\").fetchall()\n\
         print(json.dumps([[c[0], c[1]] for c in r]))",
        p = f.0.display(),
    );
    let got: Vec<(String, String)> = serde_json::from_str(&duckdb(&script)).unwrap();
    let want = [
        ("response_body_bytes", "UBIGINT"),
        ("time", "TIMESTAMPTZ_NS"),
        ("client_ip", "VARCHAR"),
    ];
    assert_eq!(
        got,
        want.map(|(a, b)| (a.to_string(), b.to_string())).to_vec()
    );

    // The timestamps are the CSV's to the nanosecond, in UTC, row by row.
    let script = format!(
        "import duckdb, json\n\
         duckdb.sql(\"SET TimeZone = 'Asia/Tokyo'\")\n\
         r = duckdb.sql(\"SELECT strftime(time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%nZ') \
         FROM '{p}'\").fetchall()\n\
         print(json.dumps([c[0] for c in r]))",
        p = f.0.display(),
    );
    let got: Vec<String> = serde_json::from_str(&duckdb(&script)).unwrap();
    let (_, csv, _) = run(&[
        "requests",
        back,
        "-f",
        "time",
        "--format",
        "csv",
        "--no-summary",
    ]);
    let want: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(got, want);
}
