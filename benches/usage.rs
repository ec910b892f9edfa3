//! The hot path of "last used" (issue 23): `Registry::record_use` as every accepted handshake
//! calls it, over 10,000 certificates already seen (the common case: a certificate's slot
//! exists after its first use). Target: at most 50 ns per recorded use. Beside it, the same
//! at a given instant (the cost without reading the clock), and four threads recording the
//! same certificate at once (the worst contention: one cache line).
//!
//! And a flush (`Registry::flush_usage`) of 100,000 changed last uses on a registry
//! directory, in two shapes: one system trusting 100,000 certificates (one file of 100,000
//! lines), and 100 systems of 1,000 (100 files). Each sample records a new use of every
//! certificate, then times the flush only (it reads each file, merges, writes and renames it
//! in place, with the fsyncs).

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
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion};
use inbound_certs::{Certificate, Fingerprint, Registry, SystemKind, SystemName};
use time::macros::datetime;

const CERTIFICATES: usize = 10_000;
const THREADS: u64 = 4;

/// Fingerprints spread like SHA-256 digests (xorshift, so that nothing depends on a hash).
fn fingerprints() -> Vec<Fingerprint> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..CERTIFICATES)
        .map(|_| {
            let mut bytes = [0u8; 32];
            for chunk in bytes.chunks_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                chunk.copy_from_slice(&state.to_le_bytes());
            }
            Fingerprint::from_bytes(bytes)
        })
        .collect()
}

/// Changed last uses a flush writes in the flush bench.
const FLUSHED: usize = 100_000;

/// A registry directory whose `systems` systems trust [`FLUSHED`] certificates between them.
/// The files are written straight into the systems' directories (an import fsyncs each one,
/// which at this size takes minutes); opening the registry reads them all into its index.
fn directory_of(dir: &Path, systems: usize) -> (Registry, Vec<Certificate>) {
    let now = datetime!(2026-06-01 0:00 UTC);
    let registry = Registry::create(dir).unwrap();
    let mut certificates = support::synthetic("ec_p256.der", FLUSHED / 2, 0);
    certificates.extend(support::synthetic("ec_p384.der", FLUSHED / 2, 0));
    for (index, chunk) in certificates.chunks(FLUSHED / systems).enumerate() {
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

fn flush(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("flush_usage_directory");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    for systems in [1, 100] {
        let dir = std::env::temp_dir().join(format!(
            "inbound-certs-bench-usage-flush-{systems}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let (registry, certificates) = directory_of(&dir, systems);
        let fingerprints: Vec<Fingerprint> =
            certificates.iter().map(Certificate::fingerprint).collect();
        let peer: Option<IpAddr> = Some("192.0.2.7".parse().unwrap());
        let mut second = 0;
        // The files exist and are full: each sample replaces them.
        for fingerprint in &fingerprints {
            registry.record_use_at(fingerprint, peer, datetime!(2026-06-01 0:00 UTC));
        }
        assert_eq!(registry.flush_usage().unwrap(), FLUSHED);
        let per_system = FLUSHED / systems;
        group.bench_function(format!("{FLUSHED}_uses/{systems}x{per_system}"), |bench| {
            bench.iter_batched(
                || {
                    second += 1;
                    let at = datetime!(2026-06-01 0:00 UTC) + time::Duration::seconds(second);
                    for fingerprint in &fingerprints {
                        registry.record_use_at(fingerprint, peer, at);
                    }
                },
                |()| assert_eq!(registry.flush_usage().unwrap(), FLUSHED),
                BatchSize::PerIteration,
            )
        });
        drop(registry);
        let _ = std::fs::remove_dir_all(&dir);
    }
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let registry = Registry::in_memory();
    let fingerprints = fingerprints();
    let peer: Option<IpAddr> = Some("2001:db8::42".parse().unwrap());
    let at = datetime!(2026-06-01 0:00 UTC);
    for fingerprint in &fingerprints {
        registry.record_use(fingerprint, peer);
    }

    let mut next = 0usize;
    criterion.bench_function("record_use (system clock, 10k certificates)", |bench| {
        bench.iter(|| {
            next = (next + 1) % CERTIFICATES;
            registry.record_use(black_box(&fingerprints[next]), black_box(peer));
        })
    });
    criterion.bench_function("record_use (system clock, 100 certificates)", |bench| {
        bench.iter(|| {
            next = (next + 1) % 100;
            registry.record_use(black_box(&fingerprints[next]), black_box(peer));
        })
    });
    criterion.bench_function("record_use_at (no clock, 10k certificates)", |bench| {
        bench.iter(|| {
            next = (next + 1) % CERTIFICATES;
            registry.record_use_at(black_box(&fingerprints[next]), black_box(peer), at);
        })
    });
    criterion.bench_function(
        &format!("record_use ({THREADS} threads, one certificate, per use)"),
        |bench| {
            bench.iter_custom(|iterations| {
                let per_thread = iterations.div_ceil(THREADS);
                let started = Instant::now();
                std::thread::scope(|scope| {
                    for _ in 0..THREADS {
                        let registry = &registry;
                        let fingerprint = &fingerprints[0];
                        scope.spawn(move || {
                            for _ in 0..per_thread {
                                registry.record_use(black_box(fingerprint), black_box(peer));
                            }
                        });
                    }
                });
                // Wall time over every thread's uses: the throughput of the threads
                // together, on however many cores the machine gives them.
                started.elapsed()
            })
        },
    );
    flush(&mut criterion);
    criterion.final_summary();
}
