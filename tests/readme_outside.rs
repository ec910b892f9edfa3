//! The README's Rust examples, pasted into a new crate outside the repository: each block
//! becomes a binary of a crate in the temporary directory that depends on this one by path,
//! as a user's project would; every block must build, and every block not marked `no_run`
//! must run and succeed. (The README is also the crate's documentation, so `cargo test`
//! compiles its blocks as doctests; that happens inside this crate, where a path such as
//! `env!("CARGO_MANIFEST_DIR")/tests/data/…` resolves, which it would not in a user's crate.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fenced Rust block of the README: the line it starts on, whether it may run, its code.
struct Block {
    line: usize,
    runs: bool,
    code: String,
}

fn blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    for (index, line) in readme.lines().enumerate() {
        match &mut current {
            None => {
                if let Some(info) = line.strip_prefix("```rust") {
                    current = Some(Block {
                        line: index + 1,
                        runs: !info.contains("no_run"),
                        code: String::new(),
                    });
                }
            }
            Some(block) => {
                if line == "```" {
                    blocks.push(current.take().unwrap());
                } else {
                    block.code.push_str(line);
                    block.code.push('\n');
                }
            }
        }
    }
    blocks
}

/// The dependencies the README tells a user to add, at the versions this crate is tested
/// with (its lock file is copied, so the build needs nothing the machine does not have).
fn manifest(repository: &Path) -> String {
    format!(
        r#"[package]
name = "readme-blocks"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
inbound-certs = {{ path = {path:?}, features = ["rustls", "postgres", "admin", "axum"] }}
time = "0.3"
rustls = {{ version = "0.23", default-features = false, features = ["std", "tls12", "ring"] }}
rcgen = "0.14"
tokio = {{ version = "1", features = ["macros", "rt-multi-thread", "net", "signal"] }}
axum = "0.8"

[workspace]
"#,
        path = repository.display().to_string()
    )
}

#[test]
fn every_readme_block_builds_and_runs_in_a_new_crate() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(repository.join("README.md")).unwrap();
    let blocks = blocks(&readme);
    assert!(blocks.len() >= 5, "the README's Rust blocks were not found");
    let crate_dir: PathBuf =
        std::env::temp_dir().join(format!("inbound-certs-readme-crate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&crate_dir);
    std::fs::create_dir_all(crate_dir.join("src/bin")).unwrap();
    std::fs::write(crate_dir.join("Cargo.toml"), manifest(repository)).unwrap();
    std::fs::copy(repository.join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    for block in &blocks {
        assert!(
            !block.code.contains("CARGO_MANIFEST_DIR") && !block.code.contains("tests/data"),
            "README line {}: the block reads this repository's files, which a user's crate does not have",
            block.line
        );
        std::fs::write(
            crate_dir.join(format!("src/bin/line_{}.rs", block.line)),
            &block.code,
        )
        .unwrap();
    }
    // Its own target directory, kept between runs, inside this repository's.
    let target = repository.join("target/readme-blocks");
    let build = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--bins", "--quiet"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "the README's blocks do not build in a new crate:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    for block in blocks.iter().filter(|block| block.runs) {
        let binary = target.join(format!("debug/line_{}", block.line));
        let run = Command::new(&binary)
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "README line {}: the block failed:\n{}{}",
            block.line,
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
    }
    std::fs::remove_dir_all(&crate_dir).unwrap();
}
