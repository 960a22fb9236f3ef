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
    disable_help_subcommand = true,
    after_help = crate::help::examples("proxytrace"),
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
    /// Only packets at or after TIME: RFC 3339 (2026-12-01T10:00:00Z, with an offset), a
    /// date (its UTC midnight), +DURATION after the first packet (+15m), or now-DURATION.
    #[arg(long, global = true, value_name = "TIME", value_parser = parse_time, allow_hyphen_values = true)]
    pub since: Option<proxytrace::capture::TimeSpec>,
    /// Only packets before TIME (same forms as --since).
    #[arg(long, global = true, value_name = "TIME", value_parser = parse_time, allow_hyphen_values = true)]
    pub until: Option<proxytrace::capture::TimeSpec>,
    /// Colour in the table and the end-of-run summary: auto (when that output is a
    /// terminal and NO_COLOR is unset or empty), always, never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
}

/// When to colour the table and the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// When the output is a terminal and `NO_COLOR` is unset or empty (no-color.org).
    Auto,
    /// Always, even into a pipe or a file.
    Always,
    /// Never.
    Never,
}

/// A `--since`/`--until` time.
fn parse_time(s: &str) -> Result<proxytrace::capture::TimeSpec, String> {
    s.parse()
        .map_err(|e: proxytrace::capture::TimeSpecError| e.to_string())
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Describe capture files: format, interfaces, times, packets by outcome.
    #[command(after_help = crate::help::examples("info"), after_long_help = crate::help::long("info"))]
    Info(InfoArgs),
    /// Every HTTP request behind the proxy, with its client identity and 5-tuple.
    #[command(after_help = crate::help::examples("requests"), after_long_help = crate::help::long("requests"))]
    Requests(RequestsArgs),
    /// The distinct back-side TCP conversations of each client.
    #[command(after_help = crate::help::examples("flows"), after_long_help = crate::help::long("flows"))]
    Flows(RequestsArgs),
    /// Every back-side TCP connection: 5-tuple, times, packets and bytes each way, how it
    /// ended, the PROXY identity, the first payload's protocol (TLS: SNI and ALPN) and its
    /// number of HTTP requests.
    #[command(after_help = crate::help::examples("connections"), after_long_help = crate::help::long("connections"))]
    Connections(ConnectionsArgs),
    /// Fingerprint every client SYN and server SYN+ACK of a FRONT capture (p0f-style),
    /// with handshake timing, retransmissions, uptime hints and OS matches.
    #[command(after_help = crate::help::examples("syns"), after_long_help = crate::help::long("syns"))]
    Syns(SynsArgs),
    /// Pair every BACK-side request with the FRONT-side connection it came in on and the
    /// client's SYN fingerprint.
    #[command(after_help = crate::help::examples("join"), after_long_help = crate::help::long("join"))]
    Join(JoinArgs),
    /// Which identity sources each proxy writes, learned from the BACK captures: one row
    /// per proxy/backend pair with the share of every source, the source chosen and why
    /// (with --front: how often each agrees with the real front connection).
    #[command(after_help = crate::help::examples("proxies"), after_long_help = crate::help::long("proxies"))]
    Proxies(ProxiesArgs),
    /// One client on one self-contained HTML page: its requests, and with --front its
    /// front connections, SYN fingerprints, NAT hints and the join, on a time axis.
    #[command(after_help = crate::help::examples("report"), after_long_help = crate::help::long("report"))]
    Report(ReportArgs),
    /// Print the help of the program or of COMMAND, or `help columns [COMMAND]`: every
    /// column a command prints, with its type and meaning.
    Help(HelpArgs),
    /// Write every packet of the selected TCP connections into a new capture of the
    /// input's format (pcap or pcapng, records copied byte for byte): the back-side
    /// connections of --client's requests (with --front, also their front connections as
    /// `join` pairs them), --tuple connections, or those of a requests/join CSV.
    #[command(after_help = crate::help::examples("carve"), after_long_help = crate::help::long("carve"))]
    Carve(CarveArgs),
    /// Write the man page (man) or a shell's completion script (bash, zsh, fish,
    /// powershell) to standard output, or into a directory with -o.
    #[command(after_help = crate::help::examples("generate"))]
    Generate(GenerateArgs),
}

/// `proxytrace help [COMMAND | columns [COMMAND]]`.
#[derive(Debug, Args)]
pub struct HelpArgs {
    /// A command, or `columns` and optionally a command.
    #[arg(value_name = "TOPIC")]
    pub topic: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutFormat {
    Csv,
    Jsonl,
    Json,
    Table,
    /// One Parquet file (typed columns); to a file or a pipe, not a terminal.
    Parquet,
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
    /// Only these columns, in this order, in every format (comma-separated or repeated;
    /// `all`: every column). `proxytrace help columns COMMAND` lists them. A table shows a
    /// compact set by default.
    #[arg(short = 'f', long = "columns", value_name = "NAME,...")]
    pub columns: Vec<String>,
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
    #[command(flatten)]
    pub fields: RequestFilterArgs,
}

/// Filters on request fields, compared on the raw bytes of the request head. Each is
/// repeatable (any value of one flag, all flags); `re:REGEX` is a regular expression.
#[derive(Debug, Args)]
pub struct RequestFilterArgs {
    /// Only requests with this method (whole, ASCII case-insensitive).
    #[arg(long = "method", value_name = "METHOD")]
    pub methods: Vec<String>,
    /// Only requests whose Host contains TEXT (ASCII case-insensitive).
    #[arg(long = "host", value_name = "TEXT")]
    pub hosts: Vec<String>,
    /// Only requests whose target contains TEXT (case-sensitive), or matches re:REGEX.
    #[arg(long = "target", value_name = "TEXT")]
    pub targets: Vec<String>,
    /// Only requests whose User-Agent contains TEXT (case-sensitive).
    #[arg(long = "user-agent", value_name = "TEXT")]
    pub user_agents: Vec<String>,
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
    /// Filters on the back-side requests.
    #[command(flatten)]
    pub fields: RequestFilterArgs,
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

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The client to report on.
    #[arg(long, required = true, value_name = "IP")]
    pub client: std::net::IpAddr,
    /// BACK capture files (proxy -> backends): files, directories, or - for stdin (back
    /// side only, or with --clock-offset).
    #[arg(long, required = true, num_args = 1.., value_name = "FILE", value_parser = non_empty)]
    pub back: Vec<String>,
    /// FRONT capture files (clients -> proxy): adds the join, the client's SYNs and the
    /// addresses sharing its address or fingerprint.
    #[arg(long, num_args = 1.., value_name = "FILE", value_parser = non_empty)]
    pub front: Vec<String>,
    /// Read files with ordinary reads instead of memory-mapping them.
    #[arg(long)]
    pub no_mmap: bool,
    /// Follow symlinks to directories inside input directories (each directory is still
    /// read once).
    #[arg(long)]
    pub follow: bool,
    /// How clients are read from requests.
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// With --front: back time = front time + OFFSET [default: estimated].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub clock_offset: Option<i64>,
    /// With --front: how far back the client IP's latest SYN may be.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30min")]
    pub window: i64,
    /// With --front: how far back a front request may be for request_match.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s")]
    pub match_window: i64,
    /// With --front: p0f.fp-format database [default: the built-in one].
    #[arg(long, value_name = "FILE", value_parser = non_empty_path)]
    pub db: Option<PathBuf>,
    /// Requests (and front connections) drawn at most; the page says how many it left out.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_rows: u64,
    /// Write the page to FILE (through a temporary file renamed at the end; never one of
    /// the inputs) [default: standard output, when it is not a terminal].
    #[arg(short = 'o', long = "output", value_name = "FILE", value_parser = non_empty_path)]
    pub output: Option<PathBuf>,
    /// No progress bar and no end-of-run summary on standard error.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    #[command(flatten)]
    pub summary: SummaryArgs,
}

/// A connection `SRC_IP:PORT-DST_IP:PORT`.
fn parse_conn(s: &str) -> Result<(std::net::SocketAddr, std::net::SocketAddr), String> {
    proxytrace::commands::carve::parse_tuple(s).map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("selection").required(true).multiple(true).args(["clients", "tuples", "from_csv"])))]
pub struct CarveArgs {
    /// Captures to carve (pcap, pcapng, optionally .gz/.zst, written uncompressed),
    /// directories, or - for stdin (not with --client).
    #[command(flatten)]
    pub input: InputArgs,
    /// Write to FILE (all inputs into one capture: all pcapng, or pcap with the same
    /// header), or into the existing directory DIR one capture per input, named after it
    /// (.gz/.zst dropped) [default: standard output, unless it is a terminal].
    #[arg(short = 'o', long = "output", value_name = "FILE|DIR", value_parser = non_empty_path)]
    pub output: Option<PathBuf>,
    /// The back-side connections carrying a request of this client (address or network;
    /// repeatable), the client chosen as `requests` chooses it.
    #[arg(long = "client", value_name = "IP|CIDR", value_parser = parse_net)]
    pub clients: Vec<ipnet::IpNet>,
    /// A connection, in either direction (repeatable), e.g. 10.0.0.2:32768-10.0.1.9:8080
    /// or [2001:db8::1]:443-[2001:db8::2]:51000.
    #[arg(long = "tuple", value_name = "SRC_IP:PORT-DST_IP:PORT", value_parser = parse_conn)]
    pub tuples: Vec<(std::net::SocketAddr, std::net::SocketAddr)>,
    /// The connections of a CSV with a header (- for standard input): its
    /// src_ip,src_port,dst_ip,dst_port columns (`requests`, `connections`, `join`) and
    /// its front_src_ip,front_src_port,front_dst_ip,front_dst_port columns (`join`).
    #[arg(long = "from-csv", value_name = "FILE|-", value_parser = non_empty)]
    pub from_csv: Option<String>,
    /// With --client: a FRONT capture (repeatable). The client's front connections that
    /// `join` pairs with its requests are carved from it too (not every connection from
    /// the client's address: a NAT shares it), and the back connections are join's.
    #[arg(long, value_name = "FILE", value_parser = non_empty, requires = "clients")]
    pub front: Vec<String>,
    /// With --front: back time = front time + OFFSET [default: estimated].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true, requires = "front")]
    pub clock_offset: Option<i64>,
    /// How clients are read from requests (with --client).
    #[command(flatten)]
    pub identity: IdentityArgs,
    #[command(flatten)]
    pub summary: SummaryArgs,
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
