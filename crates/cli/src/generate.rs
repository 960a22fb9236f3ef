//! `proxytrace generate man|bash|zsh|fish|powershell`: the man page (clap_mangen) or a
//! shell's completion script (clap_complete), written from the flags' definitions, so
//! they never drift from the binary. Like flags.rs and main.rs, it knows about clap.

use crate::flags::{Cli, GenerateArgs, Generated};
use anyhow::Context as _;
use clap::CommandFactory as _;
use clap_complete::Shell;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

/// Write what `a` asks for to standard output, or into `-o DIR` (the man pages: the
/// tool's `proxytrace.1` and one page per command, `proxytrace-requests.1`, ...).
pub fn run(a: &GenerateArgs) -> anyhow::Result<ExitCode> {
    // clap's own help subcommand is off (`help` is ours: `help columns` has a page); the
    // VERSION section takes the one-line form.
    let cmd = Cli::command()
        .disable_help_subcommand(true)
        .long_version(None::<&str>);
    let shell = match a.what {
        Generated::Man => None,
        Generated::Bash => Some(Shell::Bash),
        Generated::Zsh => Some(Shell::Zsh),
        Generated::Fish => Some(Shell::Fish),
        Generated::Powershell => Some(Shell::PowerShell),
    };
    match (&a.output_dir, shell) {
        (None, what) => {
            // Made in memory first: clap_complete panics on a write error, and a closed
            // pipe (`| head`) is a normal end here, as for every command.
            let mut text = Vec::new();
            match what {
                None => clap_mangen::Man::new(cmd).render(&mut text)?,
                Some(shell) => {
                    clap_complete::generate(shell, &mut cmd.clone(), "proxytrace", &mut text)
                }
            }
            let mut out = io::stdout().lock();
            out.write_all(&text)?;
            out.flush()?;
        }
        (Some(dir), what) => {
            make_dir(dir)?;
            let written = match what {
                None => man_pages(cmd, dir).with_context(|| {
                    format!("cannot write the man pages into {}", dir.display())
                })?,
                Some(shell) => {
                    clap_complete::generate_to(shell, &mut cmd.clone(), "proxytrace", dir)
                        .with_context(|| {
                            format!("cannot write the completions into {}", dir.display())
                        })?
                }
            };
            eprintln!("proxytrace: wrote {}", written.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The tool's page and one per command (`proxytrace-requests.1`), each footed with the
/// tool's version (clap_mangen::generate_to would foot a command's page with its name
/// alone). Returns the tool's page.
fn man_pages(mut cmd: clap::Command, dir: &Path) -> io::Result<std::path::PathBuf> {
    // Gives each command its display name, `proxytrace-requests`.
    cmd.build();
    let source = format!("proxytrace {}", crate::version::short());
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        clap_mangen::Man::new(sub.clone())
            .source(source.clone())
            .generate_to(dir)?;
    }
    clap_mangen::Man::new(cmd).source(source).generate_to(dir)
}

/// `-o DIR`, created if missing.
fn make_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}
