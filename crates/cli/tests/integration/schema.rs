//! The column lists (`proxytrace::vocab::schema::Columns`) against what the commands
//! write: the CSV header is the list's names in order, and every JSON Lines row has
//! exactly those keys (plus the JSON form's own, e.g. `proxy`), each value of its column's
//! type, null only where the column is nullable.

use crate::identity::{capture, xclientip_requests};
use crate::util::{run, testdata, TempFile};
use proxytrace::commands::join::{ClientJoinRow, JoinRow};
use proxytrace::commands::proxies::ProxyRow;
use proxytrace::commands::requests::FlowRow;
use proxytrace::commands::syns::ClientSummaryRow;
use proxytrace::extract::connections::ConnectionRow;
use proxytrace::extract::handshakes::SynRow;
use proxytrace::extract::requests::RequestRow;
use proxytrace::vocab::schema::{Column, Columns};
use proxytrace_synth::scenario::{generate_to_dir, ScenarioConfig};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One command's columns and the keys its JSON form adds after them.
pub struct Command {
    pub name: &'static str,
    pub columns: Vec<Column>,
    pub json_extra: &'static [&'static str],
}

/// Every row command, with its row type's columns.
pub fn commands() -> Vec<Command> {
    let c = |name, columns, json_extra| Command {
        name,
        columns,
        json_extra,
    };
    vec![
        c("requests", RequestRow::columns(), &["proxy"]),
        c("flows", FlowRow::columns(), &[]),
        c("connections", ConnectionRow::columns(), &["proxy"]),
        c("syns", SynRow::columns(), &[]),
        c("syns --summary", ClientSummaryRow::columns(), &[]),
        c("join", JoinRow::columns(), &[]),
        c("join --summary", ClientJoinRow::columns(), &[]),
        c("proxies", ProxyRow::columns(), &[]),
    ]
}

/// Inputs: the sample, a generated pair, and for the one-sided commands the bundled
/// captures (their variety fills most optional columns).
pub struct Inputs {
    pub pairs: Vec<(String, String)>,
    pub singles: Vec<String>,
    /// A back capture whose one pair has a profile (X-Client-IP written by the proxy).
    pub profiled: TempFile,
    _dir: Option<PathBuf>,
}

impl Drop for Inputs {
    fn drop(&mut self) {
        if let Some(d) = &self._dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

pub fn inputs(tag: &str) -> Inputs {
    let dir = std::env::temp_dir().join(format!("proxytrace-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = ScenarioConfig {
        seed: 7,
        back_bytes: 2 << 20,
        ..ScenarioConfig::default()
    };
    let (_, files) = generate_to_dir(&cfg, &dir).unwrap();
    let s = |p: PathBuf| p.to_str().unwrap().to_string();
    let mut singles: Vec<String> = Vec::new();
    for sub in ["captures", "fingerprint"] {
        let mut v: Vec<String> = std::fs::read_dir(testdata(sub))
            .unwrap()
            .map(|e| s(e.unwrap().path()))
            .filter(|p| p.ends_with(".pcap") || p.ends_with(".pcapng"))
            .collect();
        v.sort();
        singles.extend(v);
    }
    Inputs {
        pairs: vec![
            (
                s(testdata("sample/front.pcap")),
                s(testdata("sample/back.pcap")),
            ),
            (s(files.front.clone()), s(files.back.clone())),
        ],
        singles,
        profiled: capture(&xclientip_requests(40)),
        _dir: Some(dir),
    }
}

/// The argument lists of one command over the inputs, without `--format`.
pub fn invocations(cmd: &str, inputs: &Inputs) -> Vec<Vec<String>> {
    let words: Vec<String> = cmd.split(' ').map(str::to_string).collect();
    let mut out = Vec::new();
    for (front, back) in &inputs.pairs {
        let mut v = words.clone();
        match words[0].as_str() {
            "join" => v.extend([
                "--front".into(),
                front.clone(),
                "--back".into(),
                back.clone(),
            ]),
            "syns" => v.push(front.clone()),
            "proxies" => {
                out.push([v.clone(), vec![back.clone()]].concat());
                v.extend(["--front".into(), front.clone(), back.clone()]);
            }
            _ => v.push(back.clone()),
        }
        out.push(v);
    }
    if words[0] == "proxies" {
        let mut v = words.clone();
        v.push(inputs.profiled.0.to_str().unwrap().to_string());
        out.push(v);
    }
    if matches!(words[0].as_str(), "syns" | "connections" | "requests") {
        let mut v = words.clone();
        v.extend(inputs.singles.iter().cloned());
        out.push(v);
    }
    out
}

fn run_format(args: &[String], format: &str) -> String {
    let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
    a.extend(["--format", format, "--no-summary"]);
    let (code, out, err) = run(&a);
    assert_eq!(code, 0, "{a:?}: {err}");
    out
}

#[test]
fn every_row_command_writes_its_column_list() {
    let inputs = inputs("schema-columns");
    for cmd in commands() {
        let names: Vec<&str> = cmd.columns.iter().map(|c| c.name.as_ref()).collect();
        // Per column: (rows with a value, rows without).
        let mut seen: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for args in invocations(cmd.name, &inputs) {
            let csv = run_format(&args, "csv");
            let header = csv.lines().next().unwrap_or_default();
            assert_eq!(header, names.join(","), "{args:?}: CSV header");
            let jsonl = run_format(&args, "jsonl");
            for line in jsonl.lines() {
                let row: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(line).unwrap();
                let mut keys: Vec<&str> = row.keys().map(String::as_str).collect();
                let mut want: Vec<&str> = names.iter().chain(cmd.json_extra).copied().collect();
                keys.sort_unstable();
                want.sort_unstable();
                assert_eq!(keys, want, "{args:?}: JSON keys");
                for c in &cmd.columns {
                    let v = &row[c.name.as_ref()];
                    if let Err(e) = c.check_json(v) {
                        panic!("{args:?}: {e}\n{line}");
                    }
                    let e = seen.entry(c.name.as_ref()).or_default();
                    if v.is_null() {
                        e.1 += 1;
                    } else {
                        e.0 += 1;
                    }
                }
            }
        }
        // Every column was seen with a value (a type check over no value proves nothing),
        // but join's SYN columns that only unusual SYNs fill: `syns` checks them above; and
        // `response_missing`, which the join pairs' complete responses leave empty
        // (`requests` checks it over the bundled captures).
        let rare = ["syn_p0f_ignores", "syn_ts_clock_hz", "syn_uptime_hint_s"];
        let rare_here =
            |n: &str| rare.contains(&n) || (cmd.name == "join" && n == "response_missing");
        let never: Vec<_> = seen
            .iter()
            .filter(|(n, s)| s.0 == 0 && !rare_here(n))
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(
            never,
            Vec::<&str>::new(),
            "{}: columns never filled",
            cmd.name
        );
    }
}

/// A validator for the subset of JSON Schema (draft 2020-12) the published schemas use:
/// `type` (one or a list), `required`, `properties`, `additionalProperties: false`,
/// integer `minimum`/`maximum`, `format: date-time`, and the one `pattern` of the list
/// columns. Anything else in a schema is an error, so the subset cannot grow unchecked.
fn validate(schema: &serde_json::Value, row: &serde_json::Value) -> Result<(), String> {
    use serde_json::Value;
    let obj = row.as_object().ok_or("row is not an object")?;
    let props = schema["properties"].as_object().ok_or("no properties")?;
    for k in schema["required"].as_array().ok_or("no required")? {
        let k = k.as_str().ok_or("required: not a string")?;
        if !obj.contains_key(k) {
            return Err(format!("missing required key {k}"));
        }
    }
    if schema["additionalProperties"] != Value::Bool(false) {
        return Err("schema allows additional properties".into());
    }
    for (k, v) in obj {
        let p = props
            .get(k)
            .ok_or_else(|| format!("key {k} not in the schema"))?;
        for key in p.as_object().ok_or("property not an object")?.keys() {
            let known = [
                "type",
                "minimum",
                "maximum",
                "format",
                "pattern",
                "description",
                "x-proxytrace-type",
            ];
            if !known.contains(&key.as_str()) {
                return Err(format!("{k}: keyword {key} outside the validator's subset"));
            }
        }
        let types: Vec<&str> = match &p["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => return Err(format!("{k}: no type")),
        };
        let ty = match v {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        // An integer is a number too.
        let fits = types.contains(&ty) || (ty == "integer" && types.contains(&"number"));
        if !fits {
            return Err(format!("{k}: {v} is not of type {types:?}"));
        }
        if let Value::Number(n) = v {
            let as_i128 = |x: &Value| {
                x.as_u64()
                    .map(i128::from)
                    .or_else(|| x.as_i64().map(i128::from))
            };
            if let (Some(x), Some(min)) = (as_i128(v), as_i128(&p["minimum"])) {
                if x < min {
                    return Err(format!("{k}: {n} < {min}"));
                }
            }
            if let (Some(x), Some(max)) = (as_i128(v), as_i128(&p["maximum"])) {
                if x > max {
                    return Err(format!("{k}: {n} > {max}"));
                }
            }
        }
        if let Value::String(s) = v {
            if p["format"] == "date-time" && s.parse::<jiff::Timestamp>().is_err() {
                return Err(format!("{k}: {s:?} is not a date-time"));
            }
            match p["pattern"].as_str() {
                None => {}
                Some(r"^\[(|(null|[0-9]+)(,(null|[0-9]+))*)\]$") => {
                    let inner = s
                        .strip_prefix('[')
                        .and_then(|s| s.strip_suffix(']'))
                        .ok_or_else(|| format!("{k}: {s:?} not bracketed"))?;
                    let item_ok = |i: &str| {
                        i == "null" || (!i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
                    };
                    if !inner.is_empty() && !inner.split(',').all(item_ok) {
                        return Err(format!("{k}: {s:?} does not match the list pattern"));
                    }
                }
                Some(other) => return Err(format!("{k}: pattern {other} outside the subset")),
            }
        }
    }
    Ok(())
}

#[test]
fn the_validator_rejects_what_the_schema_forbids() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            crate::util::repo_root().join("docs/schema/syns-summary.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let good = serde_json::json!({"client_ip":"1.2.3.4","syns":1,"signatures":1,"ttls":"[61]",
        "mss_values":"[null,1460]","oses":"???","first_seen":"2026-01-01T00:00:00Z",
        "last_seen":"2026-01-01T00:00:00.5Z","nat_hint":false});
    assert_eq!(validate(&schema, &good), Ok(()));
    let bad = |k: &str, v: serde_json::Value| {
        let mut row = good.clone();
        match v {
            serde_json::Value::Null if k == "missing" => {
                row.as_object_mut().unwrap().remove("syns");
            }
            v => {
                row[k] = v;
            }
        }
        assert!(validate(&schema, &row).is_err(), "{k}");
    };
    bad("syns", serde_json::json!(-1));
    bad("syns", serde_json::json!("1"));
    bad("client_ip", serde_json::Value::Null);
    bad("ttls", serde_json::json!("61"));
    bad("ttls", serde_json::json!("[61;64]"));
    bad("first_seen", serde_json::json!("yesterday"));
    bad("nat_hint", serde_json::json!(1));
    bad("extra", serde_json::json!(1));
    bad("missing", serde_json::Value::Null);
}

#[test]
fn every_command_writes_rows_its_published_json_schema_accepts() {
    let inputs = inputs("schema-validate");
    let docs = crate::util::repo_root().join("docs/schema");
    for s in proxytrace::commands::schemas::command_schemas() {
        let path = docs.join(format!("{}.schema.json", s.stem));
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut rows = 0;
        for args in invocations(s.command, &inputs) {
            for line in run_format(&args, "jsonl").lines() {
                let row: serde_json::Value = serde_json::from_str(line).unwrap();
                if let Err(e) = validate(&schema, &row) {
                    panic!("{args:?} against {}: {e}\n{line}", path.display());
                }
                rows += 1;
            }
        }
        assert!(rows > 0, "{}: no rows", s.command);
    }
}
