//! `proxytrace join`.

use super::{finish_listing, flat, list};
use crate::args::{self, Reading, Stages};
use crate::columns::{self, Rows};
use crate::flags::{Cli, JoinArgs};
use crate::progress;
use proxytrace::commands::join::{self, ClientJoinSummary, JoinConfig, JoinError, JoinRow};
use std::process::ExitCode;

/// Every BACK request with the FRONT connection and SYN it came in on.
pub fn run(cli: &Cli, a: &JoinArgs) -> anyhow::Result<ExitCode> {
    let format = args::row_format(&a.out);
    let rows = if a.summary {
        Rows::JoinSummary
    } else {
        Rows::Join
    };
    let options = columns::options(rows, format, &a.out, cli.color)?;
    let db = args::database(a.db.as_deref())?;
    let config = JoinConfig {
        requests: proxytrace::extract::requests::RequestsConfig {
            fields: args::field_filter(&a.fields)?,
            ..args::requests_config(&a.identity, &a.out)?
        },
        window_ns: a.window,
        match_window_ns: a.match_window,
        clock_offset_ns: a.clock_offset,
        two_pass: a.two_pass,
    };
    // Each side on its own: one capture may hold both sides (taken on the proxy host), so
    // the same file as --front and --back is not a duplicate.
    let front = args::inputs(&a.front, a.no_mmap, a.follow, Reading::Rows)?;
    let back = args::windowed(
        cli,
        args::inputs(&a.back, a.no_mmap, a.follow, Reading::Rows)?,
    )?;
    let named = args::named_files(&[&front, &back], a.db.as_deref());
    let mut out = args::output(a.out.output.as_deref(), &named)?;
    let all: Vec<_> = front.files().iter().chain(back.files()).cloned().collect();
    let bar = (!a.out.quiet).then(|| progress::Bar::new(&all)).flatten();
    let engine = args::engine(cli, bar.as_ref(), Stages::WorkersOnly)?;
    let batch = super::batch_formatting(&engine, &[&front, &back]);
    let inputs = join::JoinInputs { front, back };
    // A join that cannot start (stdin read twice, no front capture) is an error of the
    // run, not of the output: kept apart from the sink's write errors.
    let mut refused = None;
    let listed = list(
        &mut out,
        &a.out,
        args::listing(&a.out, a.summary),
        ClientJoinSummary::default(),
        bar.as_ref(),
        super::MakePrinter {
            batch,
            live: batch.is_none(),
            options,
            make: &|w, batch, opts| flat::<JoinRow>(format, w, opts, batch),
        },
        |mut sink| match join::run(&engine, &inputs, &config, db.get(), &mut sink) {
            Ok(report) => Ok(report),
            Err(JoinError::Sink(e)) => Err(e),
            Err(e) => {
                refused = Some(e);
                // Ends the listing before its printer finishes: no CSV header either.
                Err(std::io::Error::other("the join did not start"))
            }
        },
    );
    if let Some(e) = refused {
        return Err(e.into());
    }
    let (report, matches) = listed?;
    let incomplete = inputs.front.incomplete() || inputs.back.incomplete();
    finish_listing(out, &a.out, bar.as_ref(), &report, matches, incomplete)
}
