//! Store benchmarks for both backends at 100, 1,000 and 10,000 certificates: import one,
//! import a bundle of 100, get by name, list (cold and warm), delete, purge_expired; and, for
//! the file store, a bare `read_dir` of the same directory to compare warm listings with.

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
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use inbound_certs::{
    backend::{FileStore, MemoryStore},
    Certificate, CertificateStore, ImportPolicy, SystemKind,
};
use time::macros::datetime;

const SIZES: [usize; 3] = [100, 1_000, 10_000];

fn policy() -> ImportPolicy {
    ImportPolicy::new(datetime!(2026-06-01 0:00 UTC)).allow_expired(true)
}

struct Fixtures {
    stored: Vec<Certificate>,
    extra: Vec<Certificate>,
    expired: Vec<Certificate>,
}

fn fixtures() -> Fixtures {
    let all = support::synthetic("ec_p256.der", SIZES[2] + 200, 0);
    let (stored, extra) = all.split_at(SIZES[2]);
    Fixtures {
        stored: stored.to_vec(),
        extra: extra.to_vec(),
        expired: support::synthetic("expired.der", 10, 30_000),
    }
}

/// The operations every backend is measured on; `store` holds `size` certificates.
fn operations(
    c: &mut Criterion,
    backend: &str,
    size: usize,
    store: &dyn CertificateStore,
    fixtures: &Fixtures,
) {
    let mut group = c.benchmark_group(format!("{backend}_store"));
    group.sample_size(20);
    let policy = policy();
    let probe = fixtures.stored[size / 2].name();
    group.bench_function(BenchmarkId::new("get", size), |b| {
        b.iter(|| store.get(black_box(&probe)).unwrap())
    });
    group.bench_function(BenchmarkId::new("import_one", size), |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for i in 0..iterations {
                let certificate = &fixtures.extra[i as usize % fixtures.extra.len()];
                let start = Instant::now();
                store.import(certificate, &policy).unwrap();
                total += start.elapsed();
                store.delete(&certificate.name()).unwrap();
            }
            total
        })
    });
    let bundle = &fixtures.extra[..100];
    group.bench_function(BenchmarkId::new("import_bundle_100", size), |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let start = Instant::now();
                store.import_all(bundle, &policy).unwrap();
                total += start.elapsed();
                for certificate in bundle {
                    store.delete(&certificate.name()).unwrap();
                }
            }
            total
        })
    });
    group.bench_function(BenchmarkId::new("delete", size), |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for i in 0..iterations {
                let certificate = &fixtures.extra[i as usize % fixtures.extra.len()];
                store.import(certificate, &policy).unwrap();
                let start = Instant::now();
                store.delete(&certificate.name()).unwrap();
                total += start.elapsed();
            }
            total
        })
    });
    group.bench_function(BenchmarkId::new("list_warm", size), |b| {
        store.list().unwrap();
        b.iter(|| store.list().unwrap().certificates.len())
    });
    group.bench_function(BenchmarkId::new("purge_expired_10", size), |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                store.import_all(&fixtures.expired, &policy).unwrap();
                let start = Instant::now();
                let purged = store.purge_expired(datetime!(2026-06-01 0:00 UTC)).unwrap();
                total += start.elapsed();
                assert_eq!(purged.len(), fixtures.expired.len());
            }
            total
        })
    });
    group.finish();
}

fn scratch(size: usize) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("inbound-certs-bench-{size}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Resident memory of this process in bytes (Linux), for the per-certificate cost.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Memory a stored certificate costs: resident memory grown by holding 20,000 certificates
/// in a `MemoryStore`, per certificate, next to the DER size.
fn memory_per_certificate() {
    let before = resident_bytes();
    let certificates = support::synthetic("ec_p256.der", 20_000, 40_000);
    let store = MemoryStore::new(SystemKind::Source).unwrap();
    store.import_all(&certificates, &policy()).unwrap();
    drop(certificates);
    let after = resident_bytes();
    if let (Some(before), Some(after)) = (before, after) {
        let per = (after.saturating_sub(before)) as f64 / 20_000.0;
        let der = support::fixture("ec_p256.der").len();
        println!(
            "memory: {per:.0} bytes resident per stored certificate (DER {der} bytes, so {:.0} bytes of summary and bookkeeping)",
            per - der as f64
        );
    }
    black_box(store);
}

fn main() {
    support::started();
    memory_per_certificate();
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let fixtures = fixtures();
    for size in SIZES {
        let memory = MemoryStore::new(SystemKind::Source).unwrap();
        memory
            .import_all(&fixtures.stored[..size], &policy())
            .unwrap();
        operations(&mut criterion, "memory", size, &memory, &fixtures);

        let dir = scratch(size);
        let file = FileStore::create(&dir, SystemKind::Source).unwrap();
        file.import_all(&fixtures.stored[..size], &policy())
            .unwrap();
        operations(&mut criterion, "file", size, &file, &fixtures);
        let mut group = criterion.benchmark_group("file_store");
        group.sample_size(10);
        group.bench_function(BenchmarkId::new("list_cold", size), |b| {
            b.iter(|| {
                FileStore::open(&dir, SystemKind::Source)
                    .unwrap()
                    .list()
                    .unwrap()
                    .certificates
                    .len()
            })
        });
        group.bench_function(BenchmarkId::new("bare_read_dir", size), |b| {
            b.iter(|| {
                std::fs::read_dir(&dir)
                    .unwrap()
                    .map(|entry| entry.unwrap().file_name().len())
                    .sum::<usize>()
            })
        });
        group.finish();
        std::fs::remove_dir_all(&dir).unwrap();
    }
    criterion.final_summary();

    println!("\nfile store: warm list against a bare read_dir of the same directory:");
    for size in SIZES {
        let id = |name: &str| format!("{name}/{size}");
        if let (Some(warm), Some(bare)) = (
            support::mean_ns("file_store", &id("list_warm")),
            support::mean_ns("file_store", &id("bare_read_dir")),
        ) {
            println!(
                "  {size:>6} certificates: warm list {:.0} µs, read_dir {:.0} µs, {:.2}x",
                warm / 1e3,
                bare / 1e3,
                warm / bare
            );
        }
    }
}
