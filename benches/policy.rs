//! What the import policy costs on an upload: `ImportPolicy::judge` on uploads of 10, 100
//! and 500 self-signed cA=TRUE certificates (as `openssl req -x509` makes them: each one's
//! signature is verified, the most an upload can cost), and on fullchain-like uploads
//! (a client certificate and its CA) of the same sizes. Linear: the time per certificate
//! stays flat as the upload grows.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use inbound_certs::{Certificate, ImportPolicy};
use time::macros::datetime;

fn self_signed(count: usize) -> Vec<Certificate> {
    (0..count)
        .map(|i| {
            let key = rcgen::KeyPair::generate().unwrap();
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, format!("client-{i}.example"));
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            Certificate::from_der(params.self_signed(&key).unwrap().der()).unwrap()
        })
        .collect()
}

fn chains(count: usize) -> Vec<Certificate> {
    let chain = inbound_certs::decode(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/fullchain.pem"
        ))
        .unwrap(),
    )
    .unwrap();
    chain.iter().cycle().take(count).cloned().collect()
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let policy = ImportPolicy::new(datetime!(2026-06-01 0:00 UTC));
    let mut group = criterion.benchmark_group("judge");
    let all = self_signed(500);
    for count in [10usize, 100, 500] {
        group.throughput(Throughput::Elements(count as u64));
        // Fresh certificates each time: `is_self_signed` keeps its answer once computed.
        let upload: Vec<Vec<u8>> = all.iter().take(count).map(|c| c.der().to_vec()).collect();
        group.bench_with_input(
            BenchmarkId::new("self_signed_ca_true", count),
            &upload,
            |b, upload| {
                b.iter_batched(
                    || {
                        upload
                            .iter()
                            .map(|der| Certificate::from_der(der).unwrap())
                            .collect::<Vec<_>>()
                    },
                    |certificates| black_box(policy.judge(&certificates)),
                    criterion::BatchSize::SmallInput,
                )
            },
        );
        let upload = chains(count);
        group.bench_with_input(
            BenchmarkId::new("fullchain", count),
            &upload,
            |b, upload| b.iter(|| black_box(policy.judge(upload))),
        );
    }
    group.finish();
    criterion.final_summary();
}
