//! `proxytrace connections`.

use super::{finish_listing, flat_or_json, list};
use crate::args::{self, Reading, Stages};
use crate::columns::{self, Rows};
use crate::flags::{Cli, ConnectionsArgs};
use proxytrace::commands::connections;
use proxytrace::extract::connections::{ConnectionJson, ConnectionRow, ConnectionsConfig};
use proxytrace::pipeline::Listing;
use std::process::ExitCode;

/// Every back-side TCP connection of the BACK captures.
pub fn run(cli: &Cli, a: &ConnectionsArgs) -> anyhow::Result<ExitCode> {
    let format = args::row_format(&a.out);
    let options = columns::options(Rows::Connections, format, &a.out, cli.color)?;
    let config = ConnectionsConfig {
        trusted: a.trusted.clone(),
        transparent: a.transparent,
        clients: a.out.clients.iter().copied().collect(),
        ..Default::default()
    };
    let inputs = args::windowed(cli, args::command_inputs(&a.input, Reading::Rows)?)?;
    let mut out = args::output(
        a.out.output.as_deref(),
        &args::named_files(&[&inputs], None),
    )?;
    let bar = args::bar(&inputs, a.out.quiet);
    let engine = args::engine(cli, bar.as_ref(), Stages::WithSequentialStage)?;
    let live = super::live(&[&inputs]);
    let listing = args::listing(&a.out, false);
    let (report, matches) = list(
        &mut out,
        &a.out,
        listing,
        (),
        bar.as_ref(),
        super::MakePrinter {
            batch: None,
            live,
            options,
            make: &|w, batch, opts| {
                flat_or_json::<ConnectionRow, ConnectionJson>(format, w, opts, batch)
            },
        },
        |sink| connections::run(&engine, &inputs, &config, sink),
    )?;
    debug_assert!(listing != Listing::Aggregate);
    finish_listing(
        out,
        &a.out,
        bar.as_ref(),
        &report,
        matches,
        inputs.incomplete(),
    )
}
