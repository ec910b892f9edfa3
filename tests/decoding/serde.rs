//! With the `serde` feature, the summary types serialise to plain JSON values.

#![cfg(feature = "serde")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use inbound_certs::{decode, CertificateName, Fingerprint, SystemKind};

#[test]
fn summary_serialises_with_strings_for_names_and_rfc3339_dates() {
    let certificate = decode(&common::read("many_sans.pem")).unwrap().remove(0);
    let value = serde_json::to_value(certificate.summary()).unwrap();
    assert_eq!(value["name"], certificate.name().to_string());
    assert_eq!(
        value["fingerprint_sha256"],
        certificate.fingerprint().to_string()
    );
    assert_eq!(
        value["subject"],
        "CN=many_sans.client.example,O=Inbound Certs Tests,C=DE"
    );
    assert_eq!(value["not_after"], "2045-01-01T00:00:00Z");
    assert_eq!(value["subject_alt_names"][3], "IP:2001:db8::1");
    assert_eq!(value["extended_key_usage"][0], "1.3.6.1.5.5.7.3.2");
    assert_eq!(value["key_bits"], 256);
    assert_eq!(value["key_algorithm"], "EC");
    assert_eq!(value["ec_curve"], "P-256");
    assert_eq!(value["client_auth"], true);
}

/// The summary's JSON is the report's without what needs an instant or a TLS provider: one
/// shape of a certificate everywhere.
#[test]
fn the_summary_and_the_report_share_one_shape() {
    use inbound_certs::summary::TlsKeyTypes;
    use inbound_certs::CertificateReport;
    let certificate = decode(&common::read("many_sans.pem")).unwrap().remove(0);
    let summary = serde_json::to_value(certificate.summary()).unwrap();
    let now = time::macros::datetime!(2026-06-01 0:00 UTC);
    let report = CertificateReport::new(
        &certificate,
        now,
        time::Duration::days(30),
        &TlsKeyTypes::common(),
    );
    let report = serde_json::to_value(report).unwrap();
    let (summary, report) = (summary.as_object().unwrap(), report.as_object().unwrap());
    for (key, value) in summary {
        assert_eq!(report.get(key), Some(value), "{key}");
    }
    let added: Vec<&String> = report
        .keys()
        .filter(|key| !summary.contains_key(*key))
        .collect();
    assert_eq!(
        added,
        ["self_signed", "status", "status_text", "weaknesses"],
        "{report:?}"
    );
}

#[test]
fn names_fingerprints_and_kinds_round_trip() {
    let fingerprint = Fingerprint::from_bytes([7; 32]);
    let json = serde_json::to_string(&fingerprint).unwrap();
    assert_eq!(
        serde_json::from_str::<Fingerprint>(&json).unwrap(),
        fingerprint
    );
    let name = CertificateName::from(fingerprint);
    let json = serde_json::to_string(&name).unwrap();
    assert_eq!(json, format!("\"{name}\""));
    assert_eq!(
        serde_json::from_str::<CertificateName>(&json).unwrap(),
        name
    );
    assert!(serde_json::from_str::<CertificateName>("\"cert_client_x\"").is_err());
    assert_eq!(
        serde_json::to_string(&SystemKind::Proxy).unwrap(),
        "\"proxy\""
    );
    assert_eq!(
        serde_json::from_str::<SystemKind>("\"source\"").unwrap(),
        SystemKind::Source
    );
}
