//! Registry benchmarks: `identify` with 10,000 certificates over 100 systems, in memory and
//! in a directory, beside one `get` of the same certificate from its system's store (the
//! target for a directory: identify costs no more than one get).

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
use std::time::Duration;

use criterion::Criterion;
use inbound_certs::{CertificateStore, ImportPolicy, Registry, SystemKind, SystemName};
use time::macros::datetime;

const SYSTEMS: usize = 100;
const CERTIFICATES: usize = 10_000;

fn fill(registry: &Registry) -> Vec<inbound_certs::Certificate> {
    let now = datetime!(2026-06-01 0:00 UTC);
    let policy = ImportPolicy::new(now).allow_expired(true);
    let certificates = support::synthetic("ec_p256.der", CERTIFICATES, 0);
    for (index, chunk) in certificates.chunks(CERTIFICATES / SYSTEMS).enumerate() {
        let name: SystemName = format!("system-{index:03}").parse().unwrap();
        let kind = if index % 2 == 0 {
            SystemKind::Source
        } else {
            SystemKind::Proxy
        };
        registry.create_system(&name, kind, now).unwrap();
        registry
            .store(&name)
            .unwrap()
            .import_all(chunk, &policy)
            .unwrap();
    }
    certificates
}

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(3));
    let dir = std::env::temp_dir().join(format!(
        "inbound-certs-bench-registry-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    for (backend, registry) in [
        ("memory", Registry::in_memory()),
        ("directory", Registry::create(&dir).unwrap()),
    ] {
        let certificates = fill(&registry);
        let probe = certificates[CERTIFICATES / 2 + 7].clone();
        let fingerprint = probe.fingerprint();
        let owner = registry.identify(&fingerprint).unwrap().remove(0);
        let store = registry.store(owner.name()).unwrap();
        let unknown = support::synthetic("ec_p384.der", 1, 0)[0].fingerprint();
        let mut group = c.benchmark_group(format!("registry_{backend}"));
        group.bench_function("identify", |b| {
            b.iter(|| black_box(registry.identify(black_box(&fingerprint)).unwrap()))
        });
        group.bench_function("identify_unknown", |b| {
            b.iter(|| black_box(registry.identify(black_box(&unknown)).unwrap()))
        });
        group.bench_function("get_from_its_system", |b| {
            b.iter(|| black_box(store.get(black_box(&probe.name())).unwrap()))
        });
        group.finish();
    }
    let _ = std::fs::remove_dir_all(&dir);
    c.final_summary();
}
