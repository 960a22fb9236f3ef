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
