//! Registry benchmarks: `identify` with 10,000 certificates over 100 systems, in memory and
//! in a directory, beside one `get` of the same certificate from its system's store (the
//! target for a directory: identify costs no more than one get); and, on a directory of
//! 100,000 certificates, `identify` right after a change made through the same registry
//! beside a plain `identify` (the target: the same cost, no rebuild of the index).

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
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::Criterion;
use inbound_certs::{
    Certificate, CertificateStore, ImportPolicy, Registry, SystemKind, SystemName,
};
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

/// Certificates of the registry `identify` is measured on right after a change.
const LARGE: usize = 100_000;
/// Changes (and `identify` calls) made per sample of that bench: each change fsyncs, so the
/// bench times the `identify` calls only, and at most this many per sample.
const CHANGES_PER_SAMPLE: u64 = 20;

/// A registry of [`LARGE`] certificates over [`SYSTEMS`] systems. The files are written
/// straight into the systems' directories (an import fsyncs each one, which at this size takes
/// minutes), once per bench run; opening the registry then reads them all into its index.
fn large_registry(dir: &Path) -> (Registry, Vec<Certificate>) {
    let now = datetime!(2026-06-01 0:00 UTC);
    let registry = Registry::create(dir).unwrap();
    let mut certificates = support::synthetic("ec_p256.der", LARGE / 2, 0);
    certificates.extend(support::synthetic("ec_p384.der", LARGE / 2, 0));
    for (index, chunk) in certificates.chunks(LARGE / SYSTEMS).enumerate() {
        let name: SystemName = format!("system-{index:03}").parse().unwrap();
        registry
            .create_system(&name, SystemKind::Source, now)
            .unwrap();
        let system_dir = dir.join("systems").join(name.as_str());
        for certificate in chunk {
            std::fs::write(
                system_dir.join(format!("{}.der", certificate.name())),
                certificate.der(),
            )
            .unwrap();
        }
    }
    drop(registry);
    (Registry::open(dir).unwrap(), certificates)
}

/// `identify` right after an import or a delete made through the same registry (they
/// alternate), beside a plain `identify`, at [`LARGE`] certificates.
fn identify_after_a_change(c: &mut Criterion, dir: &Path) {
    let (registry, certificates) = large_registry(dir);
    let probe = certificates[LARGE / 2 + 7].fingerprint();
    assert_eq!(registry.identify(&probe).unwrap().len(), 1);
    let policy = ImportPolicy::new(datetime!(2026-06-01 0:00 UTC)).allow_expired(true);
    let changed = support::synthetic("ed25519.der", 1, 0).remove(0);
    let store = registry.store(&"system-000".parse().unwrap()).unwrap();
    let mut present = false;
    let mut group = c.benchmark_group(format!("registry_directory_{LARGE}"));
    group.sample_size(20);
    group.bench_function("identify", |b| {
        b.iter(|| black_box(registry.identify(black_box(&probe)).unwrap()))
    });
    group.bench_function("identify_after_import_or_delete", |b| {
        b.iter_custom(|iterations| {
            // Only the `identify` calls are timed; with more iterations asked for than
            // changes made, the time measured is scaled to them.
            let made = iterations.clamp(1, CHANGES_PER_SAMPLE);
            let mut elapsed = Duration::ZERO;
            for _ in 0..made {
                if present {
                    store.delete(&changed.name()).unwrap();
                } else {
                    store.import(&changed, &policy).unwrap();
                }
                present = !present;
                let started = Instant::now();
                black_box(registry.identify(black_box(&probe)).unwrap());
                elapsed += started.elapsed();
            }
            elapsed.mul_f64(iterations as f64 / made as f64)
        })
    });
    group.finish();
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
    identify_after_a_change(&mut c, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    c.final_summary();
}
