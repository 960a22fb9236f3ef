//! The identity settings of an investigation, kept in a file so they are not repeated on
//! every call: `PROXYTRACE_CONFIG_PATH=case.conf proxytrace requests back.pcap`.
//!
//! Like ripgrep's `RIPGREP_CONFIG_PATH`: one argument per line, `#` starts a comment line,
//! blank lines are skipped. Only the identity flags are allowed (`--trusted`, `--header`,
//! `--identity-header`, `--transparent`), as `--flag=value` or `--flag` then the value on
//! the next line. They go right after the command name of the commands that take them,
//! so flags on the command line come later and add to them. An empty or unset variable
//! means no file.

use anyhow::{bail, Context as _};
use std::ffi::OsString;
use std::path::Path;

/// The environment variable naming the file.
pub const CONFIG_ENV: &str = "PROXYTRACE_CONFIG_PATH";

/// Commands that take the identity flags.
const IDENTITY_COMMANDS: &[&str] = &[
    "requests",
    "flows",
    "join",
    "proxies",
    "connections",
    "report",
];
/// Flags `connections` does not take (it reads no request header): left out for it, and
/// the note says so.
const HEADER_FLAGS: &[&str] = &["--header", "--identity-header"];
/// Flags allowed in the file, and whether each takes a value.
const ALLOWED: &[(&str, bool)] = &[
    ("--trusted", true),
    ("--header", true),
    ("--identity-header", true),
    ("--transparent", false),
];
/// Global flags that take a value and may come before the command name.
const GLOBAL_WITH_VALUE: &[&str] = &["--threads", "--chunk-size"];

/// `args` with the config file's arguments inserted after the command name, and a line
/// saying so (printed on standard error: settings a user did not type are never silent),
/// when the variable names a file and the command takes them.
pub fn with_config(args: Vec<OsString>) -> anyhow::Result<(Vec<OsString>, Option<String>)> {
    let Some(path) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) else {
        return Ok((args, None));
    };
    let Some(at) = command_position(&args) else {
        return Ok((args, None));
    };
    if !args[at]
        .to_str()
        .is_some_and(|c| IDENTITY_COMMANDS.contains(&c))
    {
        return Ok((args, None));
    }
    let path = Path::new(&path);
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{CONFIG_ENV}: cannot read {}", path.display()))?;
    let mut extra = parse(&text).with_context(|| format!("{CONFIG_ENV}: {}", path.display()))?;
    let mut left_out = Vec::new();
    if args[at].to_str() == Some("connections") {
        (extra, left_out) = without_header_flags(extra);
    }
    let mut note = format!(
        "identity settings from {CONFIG_ENV}={}: {}",
        path.display(),
        extra.join(" ")
    );
    if !left_out.is_empty() {
        note.push_str(&format!(
            " (not used by connections: {})",
            left_out.join(" ")
        ));
    }
    let mut out = args;
    let tail = out.split_off(at + 1);
    out.extend(extra.into_iter().map(OsString::from));
    out.extend(tail);
    Ok((out, Some(note)))
}

/// Index of the command name: the first argument that is not a global flag or its value.
fn command_position(args: &[OsString]) -> Option<usize> {
    let mut i = 1;
    while let Some(a) = args.get(i) {
        let a = a.to_str()?;
        if GLOBAL_WITH_VALUE.contains(&a) {
            i += 2;
        } else if a.starts_with('-') {
            i += 1;
        } else {
            return Some(i);
        }
    }
    None
}

/// `args` split into those `connections` takes and the header flags (with their values).
fn without_header_flags(args: Vec<String>) -> (Vec<String>, Vec<String>) {
    let (mut keep, mut left) = (Vec::new(), Vec::new());
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let name = a.split_once('=').map_or(a.as_str(), |(f, _)| f);
        if HEADER_FLAGS.contains(&name) {
            let value = (!a.contains('=')).then(|| it.next()).flatten();
            left.push(a);
            left.extend(value);
        } else {
            keep.push(a);
        }
    }
    (keep, left)
}

/// The file's arguments, checked against [`ALLOWED`].
fn parse(text: &str) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    while let Some((n, line)) = lines.next() {
        let name = line.split_once('=').map_or(line, |(f, _)| f);
        let Some(&(_, takes_value)) = ALLOWED.iter().find(|(f, _)| *f == name) else {
            let names: Vec<&str> = ALLOWED.iter().map(|(f, _)| *f).collect();
            bail!("line {n}: {line:?} is not one of {}", names.join(", "));
        };
        out.push(line.to_string());
        if takes_value && !line.contains('=') {
            match lines.next() {
                Some((_, v)) => out.push(v.to_string()),
                None => bail!("line {n}: {name} needs a value on the next line"),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_arguments_are_checked() {
        let text =
            "# case 4711\n--trusted=10.0.0.0/8\n\n--identity-header\nX-Real-IP\n--transparent\n";
        assert_eq!(
            parse(text).unwrap(),
            [
                "--trusted=10.0.0.0/8",
                "--identity-header",
                "X-Real-IP",
                "--transparent"
            ]
        );
        let e = parse("--format=json\n").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("--trusted"), "{e}");
        assert!(parse("--header\n").is_err());
    }

    #[test]
    fn connections_takes_no_header_flags() {
        let args: Vec<String> = [
            "--identity-header",
            "X-Real-IP",
            "--trusted=10.0.0.0/8",
            "--header=X-A",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (keep, left) = without_header_flags(args);
        assert_eq!(keep, ["--trusted=10.0.0.0/8"]);
        assert_eq!(left, ["--identity-header", "X-Real-IP", "--header=X-A"]);
    }

    #[test]
    fn the_command_is_found_after_global_flags() {
        let args: Vec<OsString> = ["proxytrace", "--threads", "2", "requests", "x.pcap"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(command_position(&args), Some(3));
    }
}
