//! Shared by the benches: fixtures, synthetic certificates, and reading criterion's results.

#![allow(
    dead_code,
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::path::Path;

use inbound_certs::Certificate;

/// Bytes of a fixture in `tests/data/`.
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// `count` distinct certificates made from a fixture by rewriting the last two bytes of its
/// serial number (the signature no longer matches; nothing here verifies it).
pub(crate) fn synthetic(fixture_name: &str, count: usize, offset: usize) -> Vec<Certificate> {
    let der = fixture(fixture_name);
    let header = |at: usize| match der[at + 1] {
        length if length < 0x80 => 2,
        length => 2 + usize::from(length & 0x7f),
    };
    let tbs = header(0);
    let version = tbs + header(tbs);
    let serial = version + 2 + usize::from(der[version + 1]);
    assert_eq!(der[serial], 0x02, "{fixture_name}: serial INTEGER");
    let length = usize::from(der[serial + 1]);
    assert!(length >= 2);
    let last = serial + 2 + length - 2;
    (0..count)
        .map(|i| {
            let mut copy = der.clone();
            let value = u16::try_from(i + offset).expect("at most 65536 certificates");
            copy[last..last + 2].copy_from_slice(&value.to_be_bytes());
            Certificate::from_der(&copy).expect("synthetic certificate decodes")
        })
        .collect()
}

/// The mean time in nanoseconds criterion measured for `group/id` in this run.
/// When this bench process started (the first time it is asked).
pub(crate) fn started() -> std::time::SystemTime {
    static STARTED: std::sync::OnceLock<std::time::SystemTime> = std::sync::OnceLock::new();
    *STARTED.get_or_init(std::time::SystemTime::now)
}

pub(crate) fn mean_ns(group: &str, id: &str) -> Option<f64> {
    // Where criterion writes: CRITERION_HOME, else the cargo target directory.
    let home = std::env::var_os("CRITERION_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(|target| std::path::PathBuf::from(target).join("criterion"))
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion"));
    let path = home.join(group).join(id).join("new/estimates.json");
    // Only what this run measured: a filtered run leaves older results on disk.
    let written = std::fs::metadata(&path).ok()?.modified().ok()?;
    if written < started() {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["mean"]["point_estimate"].as_f64()
}
