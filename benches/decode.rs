//! Decoder benchmarks: the parser's floor against `Certificate::from_der` with the full
//! summary, and `decode` of whole uploads.

#![allow(clippy::panic, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sha2::{Digest, Sha256};
use std::hint::black_box;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn decode_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for name in ["rsa2048", "ec_p256", "ed25519"] {
        let der = fixture(&format!("{name}.der"));
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("floor/{name}"), |b| {
            b.iter(|| {
                let parsed = x509_parser::parse_x509_certificate(black_box(&der));
                let digest = Sha256::digest(black_box(&der));
                (parsed.is_ok(), digest)
            })
        });
        group.bench_function(format!("from_der/{name}"), |b| {
            b.iter(|| inbound_certs::Certificate::from_der(black_box(&der)))
        });
    }
    let bundle = fixture("bundle.pem");
    group.throughput(Throughput::Elements(5));
    group.bench_function("decode/bundle.pem", |b| {
        b.iter(|| inbound_certs::decode(black_box(&bundle)))
    });
    let pkcs7 = fixture("bundle.p7b");
    group.bench_function("decode/bundle.p7b", |b| {
        b.iter(|| inbound_certs::decode(black_box(&pkcs7)))
    });
    group.finish();
}

criterion_group!(benches, decode_benches);
criterion_main!(benches);
