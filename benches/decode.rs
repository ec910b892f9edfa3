//! Decoder benchmarks, per certificate, on the system trust store (Debian's ca-certificates
//! bundle) and on a fixture of each key type:
//! (a) the floor: `x509_parser::parse_x509_certificate` plus one SHA-256 of the DER;
//! (b) `Certificate::from_der` with the full summary;
//! (c) `decode` of the whole PEM bundle; (d) `decode` of the DER and PKCS#7 forms.
//! The ratios (b)/(a) and (c)/(a) are printed at the end of the run, twice: from criterion's
//! means, and from 300 interleaved rounds of (a)-(d) on the trust store, fastest round of each.
//! On a noisy machine the second is the steadier: the variants share every slow moment.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

#[path = "../tests/common/hostile.rs"]
mod hostile;
#[path = "support.rs"]
mod support;

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use sha2::{Digest, Sha256};

const TRUST_STORE: &str = "/etc/ssl/certs/ca-certificates.crt";

fn floor(der: &[u8]) -> bool {
    let parsed = x509_parser::parse_x509_certificate(der).is_ok();
    let digest = Sha256::digest(der);
    parsed && digest.first() != Some(&1)
}

/// The system trust store as a PEM bundle, as one DER per certificate, and as a PKCS#7 bundle.
struct TrustStore {
    bundle: Vec<u8>,
    ders: Vec<Vec<u8>>,
    p7b: Vec<u8>,
}

fn trust_store() -> TrustStore {
    let bundle = std::fs::read(TRUST_STORE).expect("the system trust store");
    let ders = inbound_certs::decode(&bundle)
        .expect("trust store decodes")
        .iter()
        .map(|c| c.der().to_vec())
        .collect();
    let p7b = Command::new("openssl")
        .args([
            "crl2pkcs7",
            "-nocrl",
            "-outform",
            "DER",
            "-certfile",
            TRUST_STORE,
        ])
        .output()
        .expect("openssl crl2pkcs7")
        .stdout;
    TrustStore { bundle, ders, p7b }
}

fn per_certificate(c: &mut Criterion, group_name: &str, ders: &[Vec<u8>]) {
    let mut group = c.benchmark_group(group_name);
    group.throughput(Throughput::Elements(ders.len() as u64));
    group.bench_function("a_floor", |b| {
        b.iter(|| ders.iter().filter(|der| floor(black_box(der))).count())
    });
    group.bench_function("b_from_der", |b| {
        b.iter(|| {
            ders.iter()
                .filter(|der| inbound_certs::Certificate::from_der(black_box(der)).is_ok())
                .count()
        })
    });
    group.finish();
}

/// Uploads of about 1 MiB built to be expensive (`tests/common/hostile.rs`): every one must
/// decode in time linear (or n log n) in its size.
fn hostile_uploads(c: &mut Criterion) {
    const MIB: usize = 1 << 20;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("extensions_60k", hostile::many_extensions(MIB - 64, false)),
        (
            "extensions_60k_duplicate",
            hostile::many_extensions(MIB - 64, true),
        ),
        ("rdns_87k", hostile::many_rdns(MIB - 64)),
        ("sans_131k", hostile::many_sans(MIB - 64)),
        ("eku_75k", hostile::many_eku_entries(MIB - 64)),
        ("policies_70k", hostile::many_policies(MIB - 64)),
        (
            "pkcs7_1000",
            hostile::pkcs7(&hostile::distinct_certificates(1000)),
        ),
        (
            "pem_1000",
            hostile::pem(&hostile::distinct_certificates(1000)),
        ),
        ("pem_dashed_lines", hostile::dashed_text(MIB - 64)),
    ];
    let mut group = c.benchmark_group("hostile");
    group.sample_size(10);
    for (id, upload) in &cases {
        group.throughput(Throughput::Bytes(upload.len() as u64));
        group.bench_function(*id, |b| {
            b.iter(|| inbound_certs::decode(black_box(upload)).map(|c| c.len()))
        });
    }
    group.finish();
}

/// Runs the benches; returns the names of the per-fixture groups.
fn benches(c: &mut Criterion) -> Vec<String> {
    hostile_uploads(c);
    let TrustStore { bundle, ders, p7b } = trust_store();
    per_certificate(c, "trust_store", &ders);

    let mut group = c.benchmark_group("trust_store");
    group.throughput(Throughput::Elements(ders.len() as u64));
    group.bench_function("c_decode_pem_bundle", |b| {
        b.iter(|| inbound_certs::decode(black_box(&bundle)).unwrap().len())
    });
    group.bench_function("d_decode_pkcs7_bundle", |b| {
        b.iter(|| inbound_certs::decode(black_box(&p7b)).unwrap().len())
    });
    group.bench_function("d_decode_der_each", |b| {
        b.iter(|| {
            ders.iter()
                .map(|der| inbound_certs::decode(black_box(der)).unwrap().len())
                .sum::<usize>()
        })
    });
    group.finish();

    let mut groups = Vec::new();
    for stem in [
        "rsa2048", "rsa4096", "ec_p256", "ec_p521", "ed25519", "ed448", "dsa2048", "rsa_pss",
    ] {
        let der = support::fixture(&format!("{stem}.der"));
        per_certificate(c, &format!("fixture_{stem}"), std::slice::from_ref(&der));
        groups.push(format!("fixture_{stem}"));
    }
    groups
}

fn main() {
    support::started();
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let groups = benches(&mut criterion);
    criterion.final_summary();

    println!("\nratios to the floor (a), mean times of this run:");
    let report = |group: &str, id: &str, per: f64| {
        if let (Some(a), Some(x)) = (
            support::mean_ns(group, "a_floor"),
            support::mean_ns(group, id),
        ) {
            println!(
                "  {group:<28} {id:<22} {:>9.2} µs/cert  {:.2}x",
                x / per / 1000.0,
                x / a
            );
        }
    };
    let trust_count = std::fs::read(TRUST_STORE)
        .ok()
        .and_then(|b| inbound_certs::decode(&b).ok())
        .map_or(1.0, |c| c.len() as f64);
    for id in [
        "a_floor",
        "b_from_der",
        "c_decode_pem_bundle",
        "d_decode_pkcs7_bundle",
        "d_decode_der_each",
    ] {
        report("trust_store", id, trust_count);
    }
    for group in groups {
        for id in ["a_floor", "b_from_der"] {
            report(&group, id, 1.0);
        }
    }
    interleaved();
}

/// Times (a)-(d) on the trust store in alternating rounds and reports the fastest round of
/// each, per certificate and as a ratio to (a).
fn interleaved() {
    let TrustStore { bundle, ders, p7b } = trust_store();
    type Variant<'a> = (&'a str, Box<dyn Fn() -> usize + 'a>);
    let variants: Vec<Variant<'_>> = vec![
        (
            "a_floor",
            Box::new(|| ders.iter().filter(|der| floor(black_box(der))).count()),
        ),
        (
            "b_from_der",
            Box::new(|| {
                ders.iter()
                    .filter(|der| inbound_certs::Certificate::from_der(black_box(der)).is_ok())
                    .count()
            }),
        ),
        (
            "c_decode_pem_bundle",
            Box::new(|| inbound_certs::decode(black_box(&bundle)).unwrap().len()),
        ),
        (
            "d_decode_pkcs7_bundle",
            Box::new(|| inbound_certs::decode(black_box(&p7b)).unwrap().len()),
        ),
        (
            "d_decode_der_each",
            Box::new(|| {
                ders.iter()
                    .map(|der| inbound_certs::decode(black_box(der)).unwrap().len())
                    .sum()
            }),
        ),
    ];
    let mut fastest = vec![Duration::MAX; variants.len()];
    for _ in 0..300 {
        for ((id, run), best) in variants.iter().zip(&mut fastest) {
            let started = Instant::now();
            let count = black_box(run());
            *best = (*best).min(started.elapsed());
            // The floor's filter only keeps its work from being optimised away.
            assert!(*id == "a_floor" || count == ders.len(), "{id}: {count}");
        }
    }
    println!("\ntrust store, fastest of 300 interleaved rounds:");
    let floor = fastest[0].as_secs_f64();
    for ((id, _), best) in variants.iter().zip(&fastest) {
        println!(
            "  {id:<22} {:>9.2} µs/cert  {:.2}x",
            best.as_secs_f64() * 1e6 / ders.len() as f64,
            best.as_secs_f64() / floor
        );
    }
}
