//! Hostile uploads of about 1 MiB (made by `tests/common/hostile.rs`): what the decoder does
//! with them, and how much heap it needs at most while decoding, measured by a counting
//! global allocator. Time is measured by `cargo bench --bench decode -- hostile`, never here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "common/hostile.rs"]
mod hostile;

use std::sync::Mutex;

use inbound_certs::{decode, DecodeError};
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// One measurement at a time (the test harness runs tests on several threads).
static MEASURING: Mutex<()> = Mutex::new(());

/// The result of `f` and the most heap it had in use at once beyond what was in use before.
/// Every test of this file that allocates much holds [`MEASURING`] while it runs.
fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let _one = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let before = ALLOCATOR.current_usage();
    ALLOCATOR.reset_peak_usage();
    let result = f();
    (result, ALLOCATOR.peak_usage().saturating_sub(before))
}

const MIB: usize = 1 << 20;

/// Decodes `der`, then reads every lazily read part of each summary; returns the peak heap
/// as a multiple of the input's size.
fn heap_factor(what: &str, der: &[u8]) -> f64 {
    let (outcome, peak) = peak_heap(|| {
        decode(der).map(|certificates| {
            for certificate in &certificates {
                let summary = certificate.summary();
                let _ = summary.subject.rdns().len() + summary.issuer.rdns().len();
            }
            certificates.len()
        })
    });
    let factor = peak as f64 / der.len() as f64;
    eprintln!(
        "{what}: {} bytes, {outcome:?}, peak heap {peak} bytes = {factor:.1}x the input",
        der.len()
    );
    factor
}

#[test]
fn a_duplicate_among_52_thousand_extensions_is_found() {
    // Not while another test measures its peak.
    let _one = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let der = hostile::many_extensions(MIB - 64, true);
    assert!(der.len() < MIB);
    assert_eq!(
        decode(&der).unwrap_err(),
        DecodeError::DuplicateExtension {
            oid: "1.3.6.1.4.1.32473.100000.1".into()
        }
    );
    let der = hostile::many_extensions(MIB - 64, false);
    let certificates = decode(&der).unwrap();
    assert!(certificates[0].summary().client_auth);
}

#[test]
fn one_mebibyte_uploads_decode_with_bounded_heap() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("52k extensions", hostile::many_extensions(MIB - 64, false)),
        ("87k RDNs", hostile::many_rdns(MIB - 64)),
        ("131k SANs", hostile::many_sans(MIB - 64)),
        ("75k EKU entries", hostile::many_eku_entries(MIB - 64)),
        ("70k policies", hostile::many_policies(MIB - 64)),
        (
            "PKCS#7 of 1000",
            hostile::pkcs7(&hostile::distinct_certificates(1000)),
        ),
        (
            "PEM of 1000",
            hostile::pem(&hostile::distinct_certificates(1000)),
        ),
        ("1 MiB of dashed lines", hostile::dashed_text(MIB - 64)),
    ];
    let mut worst = 0.0f64;
    for (what, der) in &cases {
        assert!(der.len() <= MIB, "{what}: {} bytes", der.len());
        worst = worst.max(heap_factor(what, der));
    }
    eprintln!("worst peak heap: {worst:.1}x the input");
    // The SAN list of 131k names is the worst (10.7x): each name becomes a SubjectAltName
    // of the summary. Before, x509-parser's view of 87k RDNs took 36x.
    assert!(worst < 16.0, "peak heap {worst:.1}x the input");
}
