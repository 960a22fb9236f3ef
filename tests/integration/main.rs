//! Integration tests, in one binary (as ripgrep does) so they link once.

mod capture_robustness;
mod info_golden;
mod join;
mod requests;
mod syns;
mod util;
