//! Integration tests, in one binary (as ripgrep does) so they link once.

mod capture_robustness;
mod info_golden;
mod requests;
mod syns;
mod util;
