//! Command-line parsing (clap) and its validation into a [`Config`]. Only this file and
//! main.rs know about clap.

use clap::{Args, Parser, Subcommand, ValueEnum};
use proxytrace::output::Format;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "proxytrace",
    version,
    about = "Recover the clients hidden behind a reverse proxy from packet captures",
    long_about = None,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Describe capture files: format, interfaces, times, packets by outcome.
    Info(InfoArgs),
    /// Fingerprint every client SYN and server SYN+ACK of a FRONT capture (p0f-style),
    /// with handshake timing, retransmissions, uptime hints and OS matches.
    Syns(SynsArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutFormat {
    Csv,
    Jsonl,
    Json,
    Table,
}

impl From<OutFormat> for Format {
    fn from(f: OutFormat) -> Format {
        match f {
            OutFormat::Csv => Format::Csv,
            OutFormat::Jsonl => Format::Jsonl,
            OutFormat::Json => Format::Json,
            OutFormat::Table => Format::Table,
        }
    }
}

#[derive(Debug, Args)]
pub struct InputArgs {
    /// Capture files (pcap, pcapng, optionally .gz/.zst), directories, or - for stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Read files with ordinary reads instead of memory-mapping them.
    #[arg(long)]
    pub no_mmap: bool,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, value_enum)]
    pub format: Option<OutFormat>,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SynsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format [default: table on a terminal, csv otherwise].
    #[arg(long, value_enum)]
    pub format: Option<OutFormat>,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Leave out the CSV header line.
    #[arg(long)]
    pub no_header: bool,
    /// Only connections whose client (SYN sender) is this address or network; repeatable.
    #[arg(long = "client", value_name = "IP|CIDR", value_parser = crate::parse_client_net)]
    pub clients: Vec<ipnet::IpNet>,
    /// p0f.fp-format database to match against [default: the built-in one].
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// One row per client IP: SYNs, distinct signatures, TTLs, MSS values, OSes, first
    /// and last seen, and a NAT hint.
    #[arg(long)]
    pub summary: bool,
    /// Print only the number of matching rows.
    #[arg(short = 'c', long)]
    pub count: bool,
    /// Print nothing; exit 0 if a row matched, 1 if none.
    #[arg(short = 'q', long, conflicts_with = "count")]
    pub quiet: bool,
}
