//! The hot path of "last used" (issue 23): `Registry::record_use` as every accepted handshake
//! calls it, over 10,000 certificates already seen (the common case: a certificate's slot
//! exists after its first use). Target: at most 50 ns per recorded use. Beside it, the same
//! at a given instant (the cost without reading the clock), and four threads recording the
//! same certificate at once (the worst contention: one cache line).

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Instant;

use criterion::Criterion;
use inbound_certs::{Fingerprint, Registry};
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
    criterion.final_summary();
}
