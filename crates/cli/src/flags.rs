//! The command line's flags (clap definitions). Turning them into library configs is
//! args.rs's job; only this file and main.rs know about clap.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "proxytrace",
    version = crate::version::short(),
    long_version = crate::version::long(),
    about = "Recover the clients hidden behind a reverse proxy from packet captures",
    long_about = None,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Worker threads [default: one per core].
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Bytes per chunk of a mapped file (a test hook for many chunk boundaries).
    #[arg(long, global = true, hide = true, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub chunk_size: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Describe capture files: format, interfaces, times, packets by outcome.
    Info(InfoArgs),
    /// Every HTTP request behind the proxy, with its client identity and 5-tuple.
    Requests(RequestsArgs),
    /// The distinct back-side TCP conversations of each client.
    Flows(RequestsArgs),
    /// Every back-side TCP connection: 5-tuple, times, packets and bytes each way, how it
    /// ended, the PROXY identity, the first payload's protocol (TLS: SNI and ALPN) and its
    /// number of HTTP requests.
    Connections(ConnectionsArgs),
    /// Fingerprint every client SYN and server SYN+ACK of a FRONT capture (p0f-style),
    /// with handshake timing, retransmissions, uptime hints and OS matches.
    Syns(SynsArgs),
    /// Pair every BACK-side request with the FRONT-side connection it came in on and the
    /// client's SYN fingerprint.
    Join(JoinArgs),
    /// Which identity sources each proxy writes, learned from the BACK captures: one row
    /// per proxy/backend pair with the share of every source, the source chosen and why
    /// (with --front: how often each agrees with the real front connection).
    Proxies(ProxiesArgs),
    /// Write the man page (man) or a shell's completion script (bash, zsh, fish,
    /// powershell) to standard output, or into a directory with -o.
    Generate(GenerateArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutFormat {
    Csv,
    Jsonl,
    Json,
    Table,
}

#[derive(Debug, Args)]
pub struct InputArgs {
    /// Capture files (pcap, pcapng, optionally .gz/.zst), directories, or - for stdin.
    #[arg(required = true, value_name = "FILE", value_parser = non_empty)]
    pub files: Vec<String>,
    /// Read files with ordinary reads instead of memory-mapping them.
    #[arg(long)]
    pub no_mmap: bool,
    /// Follow symlinks to directories inside input directories (each directory is still
    /// read once).
    #[arg(long)]
    pub follow: bool,
}

/// A value that must not be empty (a path, a name).
pub fn non_empty(s: &str) -> Result<String, String> {
    if s.is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(s.to_string())
    }
}

/// A path that must not be empty.
pub fn non_empty_path(s: &str) -> Result<PathBuf, String> {
    non_empty(s).map(PathBuf::from)
}

/// An HTTP header field name: a non-empty token (RFC 9110 section 5.1).
pub fn header_name(s: &str) -> Result<String, String> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    match s.bytes().find(|&b| !token(b)) {
        _ if s.is_empty() => Err("a header name must not be empty".into()),
        Some(b) => Err(format!(
            "{s:?} is not a header name: {:?} is not an HTTP token character",
            char::from(b)
        )),
        None => Ok(s.to_string()),
    }
}

/// What the end-of-run summary on standard error looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    /// Lines for a person: totals, then every loss and cap that is not zero.
    Text,
    /// The whole run report as one JSON object.
    Json,
    /// No summary.
    None,
}

/// The end-of-run summary.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// End-of-run summary on standard error [default: text].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub stats: Option<StatsFormat>,
    /// No end-of-run summary on standard error (same as --stats none).
    #[arg(long, conflicts_with = "stats")]
    pub no_summary: bool,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// No progress bar and no end-of-run summary on standard error (info lists every
    /// file, so there is no match for an exit status to report).
    #[arg(short = 'q', long)]
    pub quiet: bool,
    #[command(flatten)]
    pub summary: SummaryArgs,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, value_enum)]
    pub format: Option<OutFormat>,
    /// Write to FILE instead of standard output (through a temporary file renamed at the
    /// end; never one of the inputs).
    #[arg(short = 'o', long = "output", value_name = "FILE", value_parser = non_empty_path)]
    pub output: Option<PathBuf>,
}

/// An IP address (a /32 or /128) or a CIDR network.
pub fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    if let Ok(n) = s.parse::<ipnet::IpNet>() {
        return Ok(n.trunc());
    }
    s.parse::<std::net::IpAddr>()
        .map(ipnet::IpNet::from)
        .map_err(|_| format!("{s:?} is neither an IP address nor a CIDR network"))
}

#[derive(Debug, Args)]
pub struct RowOutputArgs {
    /// Output format [default: table on a terminal, csv otherwise].
    #[arg(long, value_enum)]
    pub format: Option<OutFormat>,
    /// Write to FILE instead of standard output (through a temporary file renamed at the
    /// end; never one of the inputs).
    #[arg(short = 'o', long = "output", value_name = "FILE", value_parser = non_empty_path)]
    pub output: Option<PathBuf>,
    /// Leave out the CSV header line.
    #[arg(long)]
    pub no_header: bool,
    /// Only rows whose client is this address or in this network (repeatable).
    #[arg(long = "client", value_name = "IP|CIDR", value_parser = parse_net)]
    pub clients: Vec<ipnet::IpNet>,
    /// Print only the number of matching rows. Exit status 0 if any, 1 if none.
    #[arg(short = 'c', long)]
    pub count: bool,
    /// Print nothing; exit status 0 at the first match, 1 if none, 2 on error.
    #[arg(short = 'q', long, conflicts_with = "count")]
    pub quiet: bool,
    #[command(flatten)]
    pub summary: SummaryArgs,
}

/// How the client of a request is chosen.
#[derive(Debug, Args)]
pub struct IdentityArgs {
    /// A trusted proxy network, skipped when choosing the client from a chain (repeatable).
    #[arg(long, value_name = "CIDR", value_parser = parse_net)]
    pub trusted: Vec<ipnet::IpNet>,
    /// Another header that carries a client address (repeatable), e.g. X-Original-Client.
    #[arg(long = "header", value_name = "NAME", value_parser = header_name)]
    pub headers: Vec<String>,
    /// The header your proxies write, which names the client (repeatable, tried in order;
    /// like nginx's real_ip_header). Replaces the per-proxy profiles learned from the
    /// capture; a PROXY preamble still comes first.
    #[arg(long = "identity-header", value_name = "NAME", value_parser = header_name)]
    pub identity_headers: Vec<String>,
    /// The back-side source address is the client (HAProxy `usesrc clientip`), unless it
    /// is in a --trusted network (the proxy's own address).
    #[arg(long)]
    pub transparent: bool,
}

#[derive(Debug, Args)]
pub struct RequestsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub out: RowOutputArgs,
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// Leave out requests that carry no client identity.
    #[arg(long)]
    pub identified_only: bool,
}

#[derive(Debug, Args)]
pub struct ConnectionsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output options; `--client` matches the client the PROXY header (or, with
    /// --transparent, the back-side source) names.
    #[command(flatten)]
    pub out: RowOutputArgs,
    /// A trusted proxy network: such a PROXY source (or, with --transparent, back-side
    /// source) names no client (repeatable).
    #[arg(long, value_name = "CIDR", value_parser = parse_net)]
    pub trusted: Vec<ipnet::IpNet>,
    /// The back-side source address is the client (HAProxy `usesrc clientip`), unless it
    /// is in a --trusted network (the proxy's own address).
    #[arg(long)]
    pub transparent: bool,
}

#[derive(Debug, Args)]
pub struct SynsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output options; `--client` matches the client (SYN sender) of a connection.
    #[command(flatten)]
    pub out: RowOutputArgs,
    /// p0f.fp-format database to match against [default: the built-in one].
    #[arg(long, value_name = "FILE", value_parser = non_empty_path)]
    pub db: Option<PathBuf>,
    /// One row per client IP: SYNs, distinct signatures, TTLs, MSS values, OSes, first
    /// and last seen, and a NAT hint.
    #[arg(long)]
    pub summary: bool,
}

/// A duration with a unit (`-1.5s`, `250ms`, `5µs`), in nanoseconds.
fn parse_duration(s: &str) -> Result<i64, String> {
    proxytrace::commands::join::parse_duration_ns(s).map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub struct JoinArgs {
    /// FRONT capture files (clients -> proxy): files or directories.
    #[arg(long, required = true, num_args = 1.., value_name = "FILE", value_parser = non_empty)]
    pub front: Vec<String>,
    /// BACK capture files (proxy -> backends): files, directories, or - for stdin (only
    /// with --clock-offset and without --two-pass).
    #[arg(long, required = true, num_args = 1.., value_name = "FILE", value_parser = non_empty)]
    pub back: Vec<String>,
    /// Read files with ordinary reads instead of memory-mapping them.
    #[arg(long)]
    pub no_mmap: bool,
    /// Follow symlinks to directories inside input directories (each directory is still
    /// read once).
    #[arg(long)]
    pub follow: bool,
    #[command(flatten)]
    pub out: RowOutputArgs,
    /// How clients are read from requests (both sides).
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// back time = front time + OFFSET (e.g. -1.5s, 250ms) [default: estimated].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub clock_offset: Option<i64>,
    /// How far back the client IP's latest SYN may be (ip_time, and any SYN).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30min")]
    pub window: i64,
    /// How far back a front request may be for request_match.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s")]
    pub match_window: i64,
    /// Read the back side first and index only its clients' SYNs (less memory).
    #[arg(long)]
    pub two_pass: bool,
    /// One row per client: requests, back flows, front connections, fingerprints, OSes,
    /// first and last seen.
    #[arg(long)]
    pub summary: bool,
    /// p0f.fp-format database to match against [default: the built-in one].
    #[arg(long, value_name = "FILE", value_parser = non_empty_path)]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProxiesArgs {
    /// BACK capture files (proxy -> backends).
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub out: RowOutputArgs,
    /// How clients are read from requests.
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// A FRONT capture (clients -> proxy; repeatable): also count, on the requests `join`
    /// pairs `certain`, how often each source names the address that opened the front
    /// connection.
    #[arg(long, value_name = "FILE", value_parser = non_empty)]
    pub front: Vec<String>,
    /// With --front: back time = front time + OFFSET [default: estimated].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub clock_offset: Option<i64>,
    /// With --front: p0f.fp-format database [default: the built-in one].
    #[arg(long, value_name = "FILE", value_parser = non_empty_path)]
    pub db: Option<PathBuf>,
}

/// What `generate` writes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Generated {
    /// The man page (roff): to standard output the tool's page, which lists the commands;
    /// with -o, also one page per command (proxytrace-requests.1, ...).
    Man,
    /// Completions for bash.
    Bash,
    /// Completions for zsh.
    Zsh,
    /// Completions for fish.
    Fish,
    /// Completions for PowerShell.
    Powershell,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// What to write.
    #[arg(value_enum)]
    pub what: Generated,
    /// Write into DIR (created if missing) instead of standard output.
    #[arg(short = 'o', long = "output-dir", value_name = "DIR", value_parser = non_empty_path)]
    pub output_dir: Option<PathBuf>,
}
