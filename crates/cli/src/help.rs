//! Help text beyond the flags: examples per command (`-h` and `--help`), each command's
//! column list (`--help`), and `proxytrace help [COMMAND | columns [COMMAND]]`.
//!
//! clap's own `help` subcommand only takes command names, so it is replaced by this one
//! (`disable_help_subcommand`): `help COMMAND` prints what `COMMAND --help` prints, and
//! `help columns` lists every column with its type and meaning.

use crate::columns::{self, Rows};
use crate::flags::{Cli, HelpArgs};
use clap::Parser as _;
use std::io::Write as _;
use std::process::ExitCode;

/// The examples of a command (`after_help`).
pub fn examples(command: &str) -> String {
    let lines: &[&str] = match command {
        "proxytrace" => &[
            "proxytrace requests back.pcap             # a table on a terminal, CSV otherwise",
            "proxytrace syns front.pcap",
            "proxytrace join --front front.pcap --back back.pcap",
            "proxytrace help requests                  # a command's flags, examples, columns",
            "proxytrace help columns [COMMAND]         # every column's type and meaning",
        ],
        "info" => &[
            "proxytrace info *.pcap",
            "proxytrace info --format jsonl captures/ | jq .interfaces",
        ],
        "requests" => &[
            "proxytrace requests --trusted 10.0.0.0/8 back.pcap",
            "proxytrace requests -f time,client_ip,method,target back.pcap",
            "proxytrace requests -q --client 198.51.100.7 back.pcap   # exit 0 if seen",
            "proxytrace requests -c --client 198.51.100.0/24 captures/",
            "proxytrace requests --format jsonl -f time,client_ip,proxy back.pcap",
            "tcpdump -i eth1 -w - 'tcp port 8080' | proxytrace requests -",
        ],
        "flows" => &[
            "proxytrace flows back.pcap",
            "proxytrace flows --format jsonl --client 2001:db8::7 back.pcapng | jq .",
        ],
        "connections" => &[
            "proxytrace connections back.pcap",
            "proxytrace connections -f time,src_ip,protocol,tls_sni,tls_alpn back.pcap",
            "proxytrace connections --transparent --trusted 10.0.0.2 --client 203.0.113.0/24 back.pcap",
        ],
        "syns" => &[
            "proxytrace syns front.pcap",
            "proxytrace syns --summary --format table front.pcap",
            "proxytrace syns -f time,src_ip,signature,os_label --format csv front.pcap",
        ],
        "join" => &[
            "proxytrace join --front front.pcap --back back.pcap --trusted 10.0.0.2",
            "proxytrace join --front front/ --back back/ --summary --format table",
            "proxytrace join --front f.pcap --back b.pcap -f time,client_ip,syn_os_label,join_confidence",
        ],
        "proxies" => &[
            "proxytrace proxies back.pcap",
            "proxytrace proxies --front front.pcap --format table back.pcap",
        ],
        "carve" => &[
            "proxytrace carve --client 198.51.100.7 back.pcap -o client.pcap",
            "proxytrace carve --client 198.51.100.7 --front front.pcap back.pcap -o carved/",
            "proxytrace requests --client 198.51.100.0/24 back.pcap | proxytrace carve --from-csv - back.pcap -o net.pcap",
            "proxytrace carve --tuple 10.0.0.2:32768-10.0.1.9:8080 back.pcap | tshark -r - -Y http",
        ],
        "generate" => &[
            "proxytrace generate man -o ~/.local/share/man/man1",
            "proxytrace generate man | man -l -",
            "proxytrace generate bash > ~/.local/share/bash-completion/completions/proxytrace",
            "proxytrace generate zsh -o ~/.zfunc",
        ],
        "report" => &[
            "proxytrace report --client 198.51.100.7 --front front.pcap --back back.pcap -o client.html",
            "proxytrace report --client 198.51.100.7 --back back/ --since +10m -o client.html",
        ],
        _ => &[],
    };
    let mut s = String::from("Examples:\n");
    for l in lines {
        s.push_str("  ");
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// The long help's end (`--help`): the examples, then the command's columns.
pub fn long(command: &str) -> String {
    let rows: &[Rows] = match command {
        "requests" => &[Rows::Requests],
        "flows" => &[Rows::Flows],
        "connections" => &[Rows::Connections],
        "syns" => &[Rows::Syns, Rows::SynsSummary],
        "join" => &[Rows::Join, Rows::JoinSummary],
        "proxies" => &[Rows::Proxies],
        _ => &[],
    };
    let mut s = examples(command);
    if !rows.is_empty() {
        s.push('\n');
        s.push_str(&columns::long_help(rows));
    }
    s
}

/// `proxytrace help ...`.
pub fn run(a: &HelpArgs) -> anyhow::Result<ExitCode> {
    let topic: Vec<&str> = a.topic.iter().map(String::as_str).collect();
    match topic.as_slice() {
        ["columns", rest @ ..] if rest.len() <= 1 => {
            let text = columns::columns_help(rest.first().copied())?;
            std::io::stdout().lock().write_all(text.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        ["columns", ..] => anyhow::bail!("help columns takes one command at most"),
        [] | [_] => {
            // What `COMMAND --help` (or `--help`) prints, by clap itself.
            let mut args = vec!["proxytrace"];
            args.extend(topic.first().copied());
            args.push("--help");
            match Cli::try_parse_from(args) {
                Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => {
                    e.print()?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    e.print()?;
                    Ok(ExitCode::from(2))
                }
                Ok(_) => Ok(ExitCode::SUCCESS),
            }
        }
        _ => anyhow::bail!("help takes a command, or columns [COMMAND]"),
    }
}
