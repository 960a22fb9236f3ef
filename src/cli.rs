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
    /// Worker threads [default: one per core].
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Bytes per chunk of a mapped file (a test hook for many chunk boundaries).
    #[arg(long, global = true, hide = true, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub chunk_size: Option<u64>,
    /// No progress bar and no end-of-run summary on standard error.
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Describe capture files: format, interfaces, times, packets by outcome.
    Info(InfoArgs),
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
