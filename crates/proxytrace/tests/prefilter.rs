//! Runs the tests of the identity-header prefilter, which lives beside its bench
//! (benches/prefilter/needles.rs) and is not part of the library.

// The bench uses every item; these tests do not.
#[allow(dead_code)]
#[path = "../benches/prefilter/needles.rs"]
mod needles;
