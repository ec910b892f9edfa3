//! [`CertificateReport`]: one certificate as every JSON output shows it.

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::certificate::Certificate;
use crate::summary::json::SummaryFields;
use crate::summary::TlsKeyTypes;

/// One certificate as every JSON the crate's outputs write shows it (the console's API,
/// `certstore … --json`, `inspect --json`): the summary's fields, flat, and what they mean
/// at an instant (its status, its weaknesses for a TLS provider). Serialize it with serde;
/// the README lists the keys.
///
/// ```
/// use inbound_certs::{decode, CertificateReport};
/// use inbound_certs::summary::TlsKeyTypes;
/// use time::{macros::datetime, Duration};
///
/// let certificate = decode(&std::fs::read("tests/data/ec_p256.pem")?)?.remove(0);
/// let now = datetime!(2026-06-01 0:00 UTC);
/// let report = CertificateReport::new(&certificate, now, Duration::days(30), &TlsKeyTypes::common());
/// let json = serde_json::to_value(&report)?;
/// assert_eq!(json["key_algorithm"], "EC");
/// assert_eq!(json["ec_curve"], "P-256");
/// assert_eq!(json["status"], "valid");
/// assert_eq!(json["not_after"], "2045-01-01T00:00:00Z");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Serialize)]
pub struct CertificateReport {
    #[serde(flatten)]
    summary: SummaryFields,
    self_signed: bool,
    weaknesses: Vec<WeaknessReport>,
    status: &'static str,
    status_text: String,
}

#[derive(Debug, Serialize)]
struct WeaknessReport {
    code: &'static str,
    message: String,
    prevents_authentication: bool,
}

impl CertificateReport {
    /// The report of `certificate` at `now`: its status with a warning window of
    /// `warn_within`, its weaknesses for a TLS provider that verifies `keys`.
    pub fn new(
        certificate: &Certificate,
        now: OffsetDateTime,
        warn_within: Duration,
        keys: &TlsKeyTypes,
    ) -> Self {
        let summary = certificate.summary();
        let status = summary.validity.status_at(now, warn_within);
        CertificateReport {
            summary: SummaryFields::of(summary),
            self_signed: certificate.is_self_signed(),
            weaknesses: summary
                .weaknesses(keys)
                .iter()
                .map(|weakness| WeaknessReport {
                    code: weakness.code(),
                    message: weakness.to_string(),
                    prevents_authentication: weakness.prevents_authentication(),
                })
                .collect(),
            status: status.as_str(),
            status_text: status.to_string(),
        }
    }
}
