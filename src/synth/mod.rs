//! Synthetic captures for tests, benchmarks and the scenario generator.
