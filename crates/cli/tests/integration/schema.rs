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
