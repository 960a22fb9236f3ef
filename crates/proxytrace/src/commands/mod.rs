//! One folder per command. Each is `run(engine, inputs, config, sink) -> Result<Report, _>`:
//! it composes the layers below into rows and pushes them into the caller's sink. Only the
//! binary imports from here.

pub mod carve;
pub mod connections;
pub mod info;
pub mod join;
pub mod proxies;
pub mod report;
pub mod requests;
pub mod schemas;
pub mod syns;
