//! The one shape every command runs in: [`Inputs`] (which captures, in which order) ->
//! a [`Stage`] that turns each capture's records into rows -> a [`Sink`] that takes the
//! rows -> one [`Report`] of what was read, skipped and capped.
//!
//! [`run`] is the only per-file loop: it opens the inputs in order, hands each capture to
//! the stage, passes rows to the sink, records unreadable files, and stops when the sink
//! says so. A sink's answer carries "stop" and "failed" together
//! (`Result<ControlFlow<()>, E>`), so no caller keeps an error on the side.

pub mod inputs;
pub mod listing;
pub mod report;
mod run;
pub mod sink;

pub use inputs::{InputOptions, Inputs, InputsError};
pub use listing::{Aggregate, Listing, ListingSink};
pub use report::{Counter, CounterKind, Counters, FailedFile, Report, Section};
pub use run::{run, RowEmitter, Stage};
pub use sink::{from_fn, Sink};
