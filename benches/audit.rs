//! Audit trail benchmarks on a registry directory whose trail holds 30 MB of records (one
//! rotated file of 16 MB and the current one): the newest 50 records (the console's activity
//! page), the import record of a certificate imported at the very start of the trail (its
//! details page), and, for comparison, the same lookup with its index entry gone (the trail
//! read backwards to its start).

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

#[path = "support.rs"]
mod support;

use std::hint::black_box;
use std::io::Write;
use std::time::Duration;

use criterion::Criterion;
use inbound_certs::{audit::HistoryQuery, CertificateStore, ImportPolicy, Registry, SystemKind};
use time::macros::datetime;

const TRAIL_BYTES: usize = 30 << 20;

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(3));
    let dir =
        std::env::temp_dir().join(format!("inbound-certs-bench-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let now = datetime!(2026-06-01 0:00 UTC);
    let registry = Registry::create(&dir)
        .unwrap()
        .acting_as("alice")
        .with_clock(move || now);
    let crm = "crm".parse().unwrap();
    registry
        .create_system(&crm, SystemKind::Source, now)
        .unwrap();
    let imported = registry
        .store(&crm)
        .unwrap()
        .import_upload(
            &support::fixture("sample_source.pem"),
            &ImportPolicy::new(now),
        )
        .unwrap();
    let name = imported[0].name();
    // 30 MB of records after that import: copies of a real record line, the first 16 MB
    // rotated out as the trail does.
    let audit = dir.join("audit");
    let first = std::fs::read_to_string(audit.join("audit.jsonl")).unwrap();
    let line = first
        .lines()
        .next()
        .unwrap()
        .replace("\"crm\"", "\"other\"");
    let mut rotated = std::fs::File::create(audit.join("audit-1.jsonl")).unwrap();
    rotated.write_all(first.as_bytes()).unwrap();
    let mut written = first.len();
    while written < 16 << 20 {
        writeln!(rotated, "{line}").unwrap();
        written += line.len() + 1;
    }
    let mut current = std::fs::File::create(audit.join("audit.jsonl")).unwrap();
    while written < TRAIL_BYTES {
        writeln!(current, "{line}").unwrap();
        written += line.len() + 1;
    }
    drop((rotated, current));

    let mut group = c.benchmark_group("audit_30MB");
    group.bench_function("history_limit_50", |b| {
        b.iter(|| {
            let history = registry.history(&HistoryQuery::new().limit(50)).unwrap();
            assert_eq!(history.records.len(), 50);
            black_box(history)
        })
    });
    group.bench_function("import_record_indexed", |b| {
        b.iter(|| black_box(registry.import_record(&crm, &name).unwrap().unwrap()))
    });
    std::fs::remove_file(audit.join("imported/crm").join(name.to_string())).unwrap();
    group.sample_size(10);
    group.bench_function("import_record_from_the_trail", |b| {
        b.iter(|| black_box(registry.import_record(&crm, &name).unwrap().unwrap()))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
    c.final_summary();
}
