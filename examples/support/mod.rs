//! Helpers shared by the examples: the JSON object and the readable block of a certificate.

#![allow(dead_code)]

/// `println!` that ends the program quietly when stdout is closed (`| head`), instead of
/// panicking on the broken pipe.
macro_rules! out {
    ($($arguments:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($arguments)*).is_err() {
            std::process::exit(0);
        }
    }};
}

use inbound_certs::summary::{TlsKeyTypes, ValidityStatus};
use inbound_certs::{Certificate, CertificateReport};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// The warning window used for the `status` field.
pub(crate) const WARN_WITHIN: Duration = Duration::days(30);

fn rfc3339(instant: OffsetDateTime) -> String {
    instant
        .format(&Rfc3339)
        .unwrap_or_else(|_| instant.to_string())
}

/// The JSON object of one certificate: the crate's [`CertificateReport`], the shape every
/// JSON output shares (the README lists its keys).
pub(crate) fn json_object(certificate: &Certificate, now: OffsetDateTime) -> Map<String, Value> {
    let report = CertificateReport::new(certificate, now, WARN_WITHIN, &TlsKeyTypes::common());
    match serde_json::to_value(report) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn eku_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.3.6.1.5.5.7.3.1" => "serverAuth",
        "1.3.6.1.5.5.7.3.2" => "clientAuth",
        "1.3.6.1.5.5.7.3.3" => "codeSigning",
        "1.3.6.1.5.5.7.3.4" => "emailProtection",
        "1.3.6.1.5.5.7.3.8" => "timeStamping",
        "1.3.6.1.5.5.7.3.9" => "OCSPSigning",
        "2.5.29.37.0" => "anyExtendedKeyUsage",
        _ => return None,
    })
}

/// A readable block of the certificate's details, one `label: value` per line.
pub(crate) fn readable_block(certificate: &Certificate, now: OffsetDateTime) -> String {
    let summary = certificate.summary();
    let status = summary.validity.status_at(now, WARN_WITHIN);
    let warning = match status {
        ValidityStatus::Expired { .. } => "  <-- EXPIRED",
        ValidityStatus::ExpiringSoon { .. } => "  <-- renew soon",
        ValidityStatus::NotYetValid { .. } => "  <-- not valid yet",
        _ => "",
    };
    let mut lines = vec![
        format!("Name:                {}", summary.name),
        format!("Subject:             {}", summary.subject),
        format!("Issuer:              {}", summary.issuer),
        format!("Serial number:       {}", summary.serial),
        format!("Version:             {}", summary.version),
        format!(
            "Signature algorithm: {} ({})",
            summary.signature_algorithm,
            summary.signature_algorithm.oid()
        ),
        format!(
            "Valid from:          {}",
            rfc3339(summary.validity.not_before)
        ),
        format!(
            "Valid until:         {}",
            rfc3339(summary.validity.not_after)
        ),
        format!("Status:              {status}{warning}"),
        format!("Public key:          {}", summary.public_key),
        format!(
            "SHA-256 fingerprint: {}",
            summary.fingerprint.to_colon_hex()
        ),
        format!("CA certificate:      {}", yes_no(summary.is_ca)),
        format!("Self-issued:         {}", yes_no(summary.self_issued)),
        format!(
            "Self-signed:         {}",
            yes_no(certificate.is_self_signed())
        ),
        format!("TLS client auth:     {}", yes_no(summary.client_auth)),
    ];
    if let Some(usage) = summary.key_usage {
        lines.push(format!("Key usage:           {usage}"));
    }
    for weakness in summary.weaknesses(&TlsKeyTypes::common()) {
        let mark = if weakness.prevents_authentication() {
            "  <-- can never authenticate"
        } else {
            ""
        };
        lines.push(format!("Weakness:            {weakness}{mark}"));
    }
    if !summary.subject_alt_names.is_empty() {
        let names: Vec<String> = summary
            .subject_alt_names
            .iter()
            .map(ToString::to_string)
            .collect();
        lines.push(format!("Alternative names:   {}", names.join(", ")));
    }
    if !summary.extended_key_usage.is_empty() {
        let usages: Vec<String> = summary
            .extended_key_usage
            .iter()
            .map(|oid| match eku_name(oid.as_str()) {
                Some(name) => format!("{name} ({oid})"),
                None => oid.to_string(),
            })
            .collect();
        lines.push(format!("Extended key usage:  {}", usages.join(", ")));
    }
    lines.join("\n")
}
