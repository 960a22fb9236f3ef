//! Integration tests, in one binary (as ripgrep does) so they link once.

mod capture_robustness;
mod connections;
mod engine;
mod fuzz_regressions;
mod generate;
mod hostile_decode;
mod identity;
mod info_golden;
mod join;
mod join_certainty;
mod live;
mod parallel;
mod progress;
mod requests;
mod resync;
mod safety;
mod seeded;
mod summary;
mod syns;
mod util;
