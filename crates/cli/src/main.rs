//! proxytrace: parse arguments, run the command, map errors to exit statuses.
//!
//! Exit statuses: 0 success (for `-q`/`-c`: something matched), 1 nothing matched
//! (`-q`/`-c` only), 2 an error (a file could not be read, bad arguments), 130 (143)
//! interrupted by Ctrl-C (SIGTERM), the output whole up to the input read until then.
//!
//! The binary only dispatches: flags.rs defines the flags, args.rs turns them into the
//! library's configs (engine, inputs, database, output, listing), commands/ runs one
//! command each, summary.rs prints the run report, progress.rs draws the bar, and
//! output_file.rs puts `-o FILE` in place, config.rs reads the identity settings file
//! (`PROXYTRACE_CONFIG_PATH`), interrupt.rs turns Ctrl-C into the engine's interrupt,
//! generate.rs writes the man page and shell completions, version.rs `--version`.

mod args;
mod columns;
mod commands;
mod config;
mod flags;
mod generate;
mod help;
mod interrupt;
mod output_file;
mod progress;
mod summary;
mod terminal;
mod version;

use clap::Parser as _;
use std::io;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match config::with_config(std::env::args_os().collect()) {
        Ok((args, note)) => {
            if let Some(note) = note {
                eprintln!("proxytrace: {note}");
            }
            args
        }
        Err(e) => {
            eprintln!("proxytrace: {e:#}");
            return ExitCode::from(2);
        }
    };
    let cli = flags::Cli::parse_from(args);
    summary::set_color(terminal::color_stderr(cli.color));
    if let Err(e) = interrupt::install() {
        eprintln!("proxytrace: cannot handle Ctrl-C (it will end the run at once): {e}");
    }
    match commands::dispatch(&cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("proxytrace: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `proxytrace ... | head` closes the pipe early; that is a normal end, not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
