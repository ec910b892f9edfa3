//! The checks the fuzz targets run, shared with the corpus replay test of the main crate
//! (`tests/fuzz_corpus.rs` includes `checks.rs`).

#[path = "checks.rs"]
pub mod checks;
