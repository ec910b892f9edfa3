//! Every certificate of the system trust store (Debian's ca-certificates bundle), summarised by
//! this crate and by `openssl x509`, field by field.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

const BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

#[test]
fn every_system_trust_anchor_matches_openssl() {
    let bundle = std::fs::read(BUNDLE)
        .unwrap_or_else(|error| panic!("{BUNDLE} is needed (package ca-certificates): {error}"));
    let expected_count = String::from_utf8_lossy(&bundle)
        .matches("-----BEGIN CERTIFICATE-----")
        .count();
    assert!(
        expected_count > 50,
        "suspiciously small trust store: {expected_count}"
    );
    let certificates = inbound_certs::decode(&bundle).unwrap();
    assert_eq!(certificates.len(), expected_count);

    let mut failures = Vec::new();
    for certificate in &certificates {
        let problems = common::mismatches(
            certificate.summary(),
            &common::openssl_fields(certificate.der()),
        );
        if !problems.is_empty() {
            failures.push(format!(
                "{}:\n  {}",
                certificate.summary().subject,
                problems.join("\n  ")
            ));
        }
    }
    std::fs::remove_dir_all(common::oracle_dir()).ok();
    assert!(
        failures.is_empty(),
        "{} of {} differ from openssl:\n{}",
        failures.len(),
        certificates.len(),
        failures.join("\n")
    );
}
