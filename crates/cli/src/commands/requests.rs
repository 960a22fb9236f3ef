//! `proxytrace requests` and `proxytrace flows`.

use super::{finish_listing, flat_or_json, list};
use crate::args::{self, Reading, Stages};
use crate::columns::{self, Rows};
use crate::flags::{Cli, RequestsArgs};
use proxytrace::commands::requests::{self, FlowAggregator};
use proxytrace::extract::requests::{RequestJson, RequestRow, RequestsConfig};
use proxytrace::pipeline::Listing;
use std::process::ExitCode;

/// Every request (`flows`: every conversation) of the BACK captures.
pub fn run(cli: &Cli, a: &RequestsArgs, flows: bool) -> anyhow::Result<ExitCode> {
    let config = RequestsConfig {
        identified_only: a.identified_only,
        fields: args::field_filter(&a.fields)?,
        ..args::requests_config(&a.identity, &a.out)?
    };
    let format = args::row_format(&a.out);
    let rows = if flows { Rows::Flows } else { Rows::Requests };
    let options = columns::options(rows, format, &a.out, cli.color)?;
    let inputs = args::windowed(cli, args::command_inputs(&a.input, Reading::Rows)?)?;
    let mut out = args::output(
        a.out.output.as_deref(),
        &args::named_files(&[&inputs], None),
    )?;
    let bar = args::bar(&inputs, a.out.quiet);
    let engine = args::engine(cli, bar.as_ref(), Stages::WorkersOnly)?;
    let batch = super::batch_formatting(&engine, &[&inputs]);
    let listing = args::listing(&a.out, flows);
    let (report, matches) = list(
        &mut out,
        &a.out,
        listing,
        FlowAggregator::default(),
        bar.as_ref(),
        super::MakePrinter {
            batch,
            live: batch.is_none(),
            options,
            make: &|w, batch, opts| flat_or_json::<RequestRow, RequestJson>(format, w, opts, batch),
        },
        |sink| requests::run(&engine, &inputs, &config, sink),
    )?;
    debug_assert!(flows || listing != Listing::Aggregate);
    finish_listing(
        out,
        &a.out,
        bar.as_ref(),
        &report,
        matches,
        inputs.incomplete(),
    )
}
