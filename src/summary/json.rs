//! The JSON of a certificate's summary: flat keys, names and times as text. The one shape
//! of a certificate in every JSON the crate writes (the summary with the `serde` feature,
//! and [`CertificateReport`](crate::CertificateReport), which adds what the summary means at
//! an instant).

use serde::Serialize;

use super::{CertificateSummary, EcCurve, KeyAlgorithm};
use crate::clock::rfc3339;

/// The summary's keys, borrowed from it.
#[derive(Debug, Serialize)]
pub(crate) struct SummaryFields {
    name: String,
    fingerprint_sha256: String,
    subject: String,
    issuer: String,
    serial: String,
    version: u8,
    signature_algorithm: String,
    signature_algorithm_oid: String,
    not_before: String,
    not_after: String,
    key_algorithm: String,
    key_bits: Option<u32>,
    ec_curve: Option<String>,
    is_ca: bool,
    path_len_constraint: Option<u32>,
    self_issued: bool,
    key_usage: Option<Vec<&'static str>>,
    extended_key_usage: Vec<String>,
    client_auth: bool,
    subject_alt_names: Vec<String>,
    unknown_critical_extensions: Vec<String>,
}

impl SummaryFields {
    pub(crate) fn of(summary: &CertificateSummary) -> Self {
        let key = &summary.public_key;
        SummaryFields {
            name: summary.name.to_string(),
            fingerprint_sha256: summary.fingerprint.to_string(),
            subject: summary.subject.to_string(),
            issuer: summary.issuer.to_string(),
            serial: summary.serial.to_string(),
            version: summary.version,
            signature_algorithm: summary.signature_algorithm.name().to_owned(),
            signature_algorithm_oid: summary.signature_algorithm.oid().to_string(),
            not_before: rfc3339(summary.validity.not_before),
            not_after: rfc3339(summary.validity.not_after),
            key_algorithm: key.algorithm.to_string(),
            key_bits: key.bits,
            ec_curve: match &key.algorithm {
                KeyAlgorithm::Ec(curve) => Some(curve_name(curve)),
                _ => None,
            },
            is_ca: summary.is_ca,
            path_len_constraint: summary.path_len_constraint,
            self_issued: summary.self_issued,
            key_usage: summary
                .key_usage
                .map(|usage| usage.names().collect::<Vec<_>>()),
            extended_key_usage: summary
                .extended_key_usage
                .iter()
                .map(ToString::to_string)
                .collect(),
            client_auth: summary.client_auth,
            // JSON escapes on its own: the names as the certificate holds them.
            subject_alt_names: summary
                .subject_alt_names
                .iter()
                .map(|name| name.to_unescaped_string())
                .collect(),
            unknown_critical_extensions: summary
                .unknown_critical_extensions
                .iter()
                .map(ToString::to_string)
                .collect(),
        }
    }
}

fn curve_name(curve: &EcCurve) -> String {
    curve.to_string()
}

#[cfg(feature = "serde")]
impl Serialize for CertificateSummary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SummaryFields::of(self).serialize(serializer)
    }
}
