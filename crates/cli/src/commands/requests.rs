//! `proxytrace requests` and `proxytrace flows`.

use super::{finish_listing, list};
use crate::args::{self, Reading, Stages};
use crate::flags::{Cli, RequestsArgs};
use proxytrace::commands::requests::{self, FlowAggregator};
use proxytrace::extract::requests::{RequestJson, RequestRow, RequestsConfig};
use proxytrace::pipeline::{Listing, Sink};
use proxytrace::printers::{self, Format, Printer};
use std::io::{self, Write};
use std::ops::ControlFlow;
use std::process::ExitCode;

/// Every request (`flows`: every conversation) of the BACK captures.
pub fn run(cli: &Cli, a: &RequestsArgs, flows: bool) -> anyhow::Result<ExitCode> {
    let config = RequestsConfig {
        identified_only: a.identified_only,
        ..args::requests_config(&a.identity, &a.out)?
    };
    let inputs = args::command_inputs(&a.input, Reading::Rows)?;
    let mut out = args::output(
        a.out.output.as_deref(),
        &args::named_files(&[&inputs], None),
    )?;
    let bar = args::bar(&inputs, a.out.quiet);
    let engine = args::engine(cli, bar.as_ref(), Stages::WithSequentialStage)?;
    let format = args::row_format(&a.out);
    let header = !a.out.no_header;
    let listing = args::listing(&a.out, flows);
    let (report, matches) = list(
        &mut out,
        &a.out,
        listing,
        FlowAggregator::default(),
        bar.as_ref(),
        &|w| request_printer(format, w, header),
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

/// CSV and tables take the flat row; JSON adds the parsed PROXY header.
fn request_printer<'w>(
    format: Format,
    w: Box<dyn Write + 'w>,
    header: bool,
) -> Box<dyn Printer<RequestRow> + 'w> {
    match format {
        Format::Json | Format::Jsonl => {
            Box::new(AsJson(printers::printer::<RequestJson>(format, w, header)))
        }
        Format::Csv | Format::Table => printers::printer::<RequestRow>(format, w, header),
    }
}

/// Prints request rows in their JSON form.
struct AsJson<'w>(Box<dyn Printer<RequestJson> + 'w>);

impl Sink<RequestRow> for AsJson<'_> {
    type Error = io::Error;
    fn row(&mut self, row: RequestRow) -> io::Result<ControlFlow<()>> {
        self.0.row(RequestJson::from(row))
    }
}

impl Printer<RequestRow> for AsJson<'_> {
    fn finish(&mut self) -> io::Result<()> {
        self.0.finish()
    }
}
