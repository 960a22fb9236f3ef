//! Integration tests, in one binary (as ripgrep does) so they link once.

mod capture_robustness;
mod carve;
mod columns;
mod connections;
mod duckdb;
mod engine;
mod fuzz_regressions;
mod hostile_decode;
mod identity;
mod info_golden;
mod join;
mod join_certainty;
mod live;
mod parallel;
mod report;
mod requests;
mod responses;
mod resync;
mod safety;
mod schema;
mod seeded;
mod summary;
mod syns;
mod terminal;
mod util;
mod window;
