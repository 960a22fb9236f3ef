//! `proxytrace syns`.

use super::{finish_listing, flat, list};
use crate::args::{self, Reading, Stages};
use crate::columns::{self, Rows};
use crate::flags::{Cli, SynsArgs};
use proxytrace::commands::syns::{self, ClientSummary, SynsConfig};
use proxytrace::extract::handshakes::SynRow;
use std::process::ExitCode;

/// Every SYN and SYN+ACK of the FRONT captures (`--summary`: one row per client).
pub fn run(cli: &Cli, a: &SynsArgs) -> anyhow::Result<ExitCode> {
    let format = args::row_format(&a.out);
    let rows = if a.summary {
        Rows::SynsSummary
    } else {
        Rows::Syns
    };
    let options = columns::options(rows, format, &a.out, cli.color)?;
    let db = args::database(a.db.as_deref())?;
    let inputs = args::windowed(cli, args::command_inputs(&a.input, Reading::Rows)?)?;
    let named = args::named_files(&[&inputs], a.db.as_deref());
    let mut out = args::output(a.out.output.as_deref(), &named)?;
    let bar = args::bar(&inputs, a.out.quiet);
    let engine = args::engine(cli, bar.as_ref(), Stages::WithSequentialStage)?;
    let live = super::live(&[&inputs]);
    let config = SynsConfig {
        db: db.get(),
        clients: a.out.clients.iter().copied().collect(),
    };
    let (report, matches) = list(
        &mut out,
        &a.out,
        args::listing(&a.out, a.summary),
        ClientSummary::default(),
        bar.as_ref(),
        super::MakePrinter {
            batch: None,
            live,
            options,
            make: &|w, batch, opts| flat::<SynRow>(format, w, opts, batch),
        },
        |sink| syns::run(&engine, &inputs, &config, sink),
    )?;
    finish_listing(
        out,
        &a.out,
        bar.as_ref(),
        &report,
        matches,
        inputs.incomplete(),
    )
}
