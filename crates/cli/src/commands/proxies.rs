//! `proxytrace proxies`.

use super::{finish_listing, list};
use crate::args::{self, Reading, Stages};
use crate::columns::{self, Rows};
use crate::flags::{Cli, ProxiesArgs};
use crate::progress;
use anyhow::bail;
use proxytrace::commands::join::{JoinConfig, JoinError, JoinInputs};
use proxytrace::commands::proxies::{self, ProxyRow};
use proxytrace::printers;
use std::process::ExitCode;

/// The learned identity profile of every proxy/backend pair of the BACK captures.
pub fn run(cli: &Cli, a: &ProxiesArgs) -> anyhow::Result<ExitCode> {
    if !a.out.clients.is_empty() {
        bail!("--client does not apply to proxies: its rows are proxy/backend pairs, not clients");
    }
    let format = args::row_format(&a.out);
    let options = columns::options(Rows::Proxies, format, &a.out, cli.color)?;
    let requests = args::requests_config(&a.identity, &a.out)?;
    let back = args::windowed(cli, args::command_inputs(&a.input, Reading::Rows)?)?;
    let front = if a.front.is_empty() {
        None
    } else {
        Some(args::inputs(
            &a.front,
            a.input.no_mmap,
            a.input.follow,
            Reading::Rows,
        )?)
    };
    let db = args::database(a.db.as_deref())?;
    let ins: Vec<_> = std::iter::once(&back).chain(front.as_ref()).collect();
    let mut out = args::output(
        a.out.output.as_deref(),
        &args::named_files(&ins, a.db.as_deref()),
    )?;
    let all: Vec<_> = ins.iter().flat_map(|i| i.files().iter().cloned()).collect();
    let bar = (!a.out.quiet).then(|| progress::Bar::new(&all)).flatten();
    let engine = args::engine(cli, bar.as_ref(), Stages::WorkersOnly)?;
    let incomplete = ins.iter().any(|i| i.incomplete());
    let mut refused = None;
    let listed = list(
        &mut out,
        &a.out,
        args::listing(&a.out, false),
        (),
        bar.as_ref(),
        super::MakePrinter {
            batch: None,
            live: false,
            options,
            make: &|w, _, opts| printers::printer_with::<ProxyRow>(format, w, opts),
        },
        |mut sink| match front {
            None => proxies::run(&engine, &back, &requests, &mut sink),
            Some(front) => {
                let inputs = JoinInputs { front, back };
                let config = JoinConfig {
                    requests,
                    clock_offset_ns: a.clock_offset,
                    ..JoinConfig::default()
                };
                match proxies::run_with_front(&engine, &inputs, &config, db.get(), &mut sink) {
                    Ok(report) => Ok(report),
                    Err(JoinError::Sink(e)) => Err(e),
                    Err(e) => {
                        refused = Some(e);
                        // Ends the listing before its printer finishes: no CSV header.
                        Err(std::io::Error::other("the join did not start"))
                    }
                }
            }
        },
    );
    if let Some(e) = refused {
        return Err(e.into());
    }
    let (report, matches) = listed?;
    finish_listing(out, &a.out, bar.as_ref(), &report, matches, incomplete)
}
