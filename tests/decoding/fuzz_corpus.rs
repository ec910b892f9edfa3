//! Replays every fuzz corpus and artifact file through the same checks the fuzz targets run
//! (`fuzz/src/checks.rs`), on stable Rust, so CI catches regressions without cargo-fuzz. A
//! missing or empty corpus folder fails the test: a replay of nothing proves nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    unreachable_pub
)]

#[path = "../../fuzz/src/checks.rs"]
mod checks;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let corpus = root.join("corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|error| panic!("{}: {error}", corpus.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(!files.is_empty(), "{} is empty", corpus.display());
    let corpus_count = files.len();
    // Crashes found and fixed are kept as artifacts; there may be none for a target.
    if let Ok(artifacts) = std::fs::read_dir(root.join("artifacts").join(target)) {
        files.extend(artifacts.map(|entry| entry.unwrap().path()));
    }
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{target}: {} panicked", file.display());
    }
    eprintln!(
        "{target}: replayed {corpus_count} corpus and {} artifact files",
        files.len() - corpus_count
    );
}

#[test]
fn decode_corpus() {
    replay("decode", checks::decode);
}

#[test]
fn from_der_corpus() {
    replay("from_der", checks::from_der);
}

#[test]
fn names_corpus() {
    replay("names", checks::names);
}

#[test]
fn store_ops_corpus() {
    replay("store_ops", checks::store_ops);
}
