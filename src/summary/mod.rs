//! [`CertificateSummary`]: everything an administrator sees about a certificate, as typed values.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use der_parser::oid;

use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, GeneralName};
use x509_parser::time::ASN1Time;

use crate::der::{self, Reader, Tag};
use crate::error::{CertificateParseError, DecodeError};
use crate::fingerprint::{CertificateName, Fingerprint};

mod algorithms;
mod extensions;
pub(crate) mod json;
mod key;
mod names;
mod oids;
mod serial;
mod text;
mod usage;
mod validity;
mod weakness;

pub use algorithms::*;
pub use key::*;
pub use names::*;
pub use oids::*;
pub use serial::*;
pub use text::*;
pub use usage::*;
pub use validity::*;
pub use weakness::*;

/// The details of one certificate, computed once when it is parsed (the attributes of the
/// subject and issuer names once, when first asked for).
///
/// ```
/// let pem = std::fs::read("tests/data/ec_p256.pem")?;
/// let certificates = inbound_certs::decode(&pem)?;
/// let summary = certificates[0].summary();
/// assert_eq!(summary.subject.common_name(), Some("ec_p256.client.example"));
/// assert_eq!(summary.public_key.to_string(), "EC P-256 (256 bits)");
/// assert!(summary.client_auth);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateSummary {
    /// The certificate's name in a store: `cert_client_<fingerprint>`.
    pub name: CertificateName,
    /// SHA-256 of the DER encoding.
    pub fingerprint: Fingerprint,
    /// Who the certificate was issued to.
    pub subject: DistinguishedName,
    /// Who issued (signed) it.
    pub issuer: DistinguishedName,
    /// The serial number, as encoded.
    pub serial: SerialNumber,
    /// The X.509 version: 1, 2 or 3.
    pub version: u8,
    /// The algorithm the issuer signed the certificate with.
    pub signature_algorithm: SignatureAlgorithm,
    /// When the certificate is valid.
    pub validity: Validity,
    /// The subject's public key.
    pub public_key: PublicKeyInfo,
    /// Whether basic constraints mark it as a CA certificate.
    pub is_ca: bool,
    /// The basic constraints' pathLenConstraint: how many CA certificates may follow this one
    /// in a chain (only a CA certificate has one).
    pub path_len_constraint: Option<u32>,
    /// What the key may be used for; `None` when the keyUsage extension is absent (no
    /// restriction).
    pub key_usage: Option<KeyUsage>,
    /// Whether subject and issuer are the same name (a self-signed or self-issued certificate).
    pub self_issued: bool,
    /// Subject alternative names, in encoded order.
    pub subject_alt_names: Vec<SubjectAltName>,
    /// Extended key usages (dotted OIDs) in encoded order; empty when the extension is absent.
    pub extended_key_usage: Vec<Oid>,
    /// Whether the certificate may be used for TLS client authentication: it has no extended
    /// key usage extension, or that extension lists clientAuth or anyExtendedKeyUsage.
    pub client_auth: bool,
    /// The critical extensions this crate does not interpret, in encoded order. Their values
    /// are never looked at; a verifier that checks chains would refuse the certificate.
    pub unknown_critical_extensions: Vec<Oid>,
}

/// Where a certificate's serial number (content octets), issuer and subject names are in
/// its DER.
pub(crate) struct Names {
    pub(crate) der: Arc<[u8]>,
    pub(crate) serial: Range<usize>,
    pub(crate) issuer: Range<usize>,
    pub(crate) subject: Range<usize>,
}

pub(crate) const OID_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
const OID_ANY_EKU: &str = "2.5.29.37.0";

impl CertificateSummary {
    /// Builds the summary of a certificate whose structure [`der::check_certificate`] has
    /// checked. x509-parser interprets only the elements whose content is needed (the
    /// times and the extensions this crate reads), each once: parsing the whole certificate
    /// with it would also build its view of every name attribute and extension, about
    /// 400 bytes of heap for each RDN of a name.
    pub(crate) fn from_outline(
        fingerprint: Fingerprint,
        outline: &der::Outline<'_>,
        names: &Names,
    ) -> Result<Self, DecodeError> {
        let invalid = DecodeError::InvalidCertificate;
        let version = match outline.version.map(|v| v.content) {
            None => 1,
            Some([0]) => 1,
            Some([1]) => 2,
            Some([2]) => 3,
            Some(other) => {
                return Err(invalid(CertificateParseError::UnknownVersion {
                    version: integer_text(other),
                }))
            }
        };
        let extensions = outline.extensions.as_ref();
        if version < 3 && extensions.is_some() {
            return Err(invalid(CertificateParseError::ExtensionsBeforeVersion3));
        }
        if outline.signature.raw != outline.signature_algorithm.raw {
            return Err(invalid(CertificateParseError::SignatureAlgorithmMismatch));
        }
        let time = |tlv: &der::Tlv<'_>, field: &'static str| {
            ASN1Time::from_der(tlv.raw)
                .map(|(_, time)| time.to_datetime())
                .map_err(|_| invalid(CertificateParseError::InvalidTime { field }))
        };
        let validity = Validity {
            not_before: time(&outline.not_before, "notBefore")?,
            not_after: time(&outline.not_after, "notAfter")?,
        };

        let mut interpreted = extensions::Interpreted::default();
        if let Some(sequence) = extensions {
            if let Some(oid) = first_repeated(der::extensions(sequence).map(|e| e.oid.content)) {
                return Err(DecodeError::DuplicateExtension {
                    oid: Oid::from_content(oid).to_string(),
                });
            }
            interpreted = extensions::Interpreted::read(sequence)?;
        }
        let extensions::Interpreted {
            is_ca,
            path_len_constraint,
            key_usage,
            subject_alt_names,
            extended_key_usage,
            unknown_critical,
        } = interpreted;
        let has_eku = extended_key_usage.is_some();
        let extended_key_usage = extended_key_usage.unwrap_or_default();
        let client_auth = !has_eku
            || extended_key_usage
                .iter()
                .any(|oid| oid.as_str() == OID_CLIENT_AUTH || oid.as_str() == OID_ANY_EKU);

        let mut algorithm = outline.signature_algorithm.reader();
        let algorithm_oid = algorithm.read().map(|oid| Oid::from_content(oid.content));
        let parameters = algorithm.read().ok().map(|p| p.content);
        let signature_algorithm =
            SignatureAlgorithm::new(algorithm_oid.unwrap_or(Oid(Cow::Borrowed(""))), parameters);

        Ok(CertificateSummary {
            name: CertificateName::from(fingerprint),
            fingerprint,
            subject: DistinguishedName::from_der(names.der.clone(), names.subject.clone()),
            issuer: DistinguishedName::from_der(names.der.clone(), names.issuer.clone()),
            serial: SerialNumber {
                der: names.der.clone(),
                range: names.serial.clone(),
            },
            version,
            signature_algorithm,
            validity,
            public_key: public_key_info(outline.spki.raw),
            is_ca,
            path_len_constraint,
            key_usage,
            self_issued: outline.subject.raw == outline.issuer.raw,
            subject_alt_names,
            extended_key_usage,
            client_auth,
            unknown_critical_extensions: unknown_critical,
        })
    }
}

/// An INTEGER's content for a message: decimal when small, else hex.
fn integer_text(content: &[u8]) -> String {
    match content {
        [] => "empty".into(),
        [byte] => (*byte as i8).to_string(),
        _ => format!("0x{}", hex::encode(content)),
    }
}

/// The first OID (in encoded order) that occurs again later, if any. Sorting makes this
/// O(n log n): a 1 MiB certificate holds 60,000 extensions, and comparing each with every
/// other took seconds. Short lists (every real certificate) are compared pairwise, which
/// needs no allocation. Each OID is taken from `oids` once (they are read from the DER).
fn first_repeated<'a>(mut oids: impl Iterator<Item = &'a [u8]>) -> Option<&'a [u8]> {
    const PAIRWISE_UP_TO: usize = 16;
    let mut few: [&[u8]; PAIRWISE_UP_TO] = [&[]; PAIRWISE_UP_TO];
    let mut count = 0;
    // `zip` takes from `oids` only while there is a slot for what it takes.
    for (slot, oid) in few.iter_mut().zip(oids.by_ref()) {
        *slot = oid;
        count += 1;
    }
    let few = few.get(..count).unwrap_or_default();
    let Some(more) = oids.next() else {
        return few
            .iter()
            .enumerate()
            .find(|(i, oid)| few.iter().skip(i + 1).any(|other| same_oid(other, oid)))
            .map(|(_, oid)| *oid);
    };
    let all = few.iter().copied().chain(std::iter::once(more)).chain(oids);
    let mut sorted: Vec<(&[u8], usize)> = all.zip(0..).collect();
    sorted.sort_unstable();
    sorted
        .windows(2)
        .filter_map(|pair| match pair {
            [(a, first), (b, _)] if a == b => Some((*first, *a)),
            _ => None,
        })
        .min()
        .map(|(_, oid)| oid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_repeated_oid_is_found_in_short_and_long_lists() {
        let oids: Vec<Vec<u8>> = (0..40u8).map(|i| vec![0x2a, i]).collect();
        for count in [3, 16, 17, 40] {
            let mut list: Vec<&[u8]> = oids.iter().take(count).map(Vec::as_slice).collect();
            assert_eq!(first_repeated(list.iter().copied()), None, "{count}");
            // Two repeated OIDs: the one whose first occurrence comes first is reported.
            list.push(&oids[2]);
            list.push(&oids[1]);
            assert_eq!(
                first_repeated(list.iter().copied()),
                Some(&oids[1][..]),
                "{count}"
            );
        }
    }

    #[test]
    fn every_known_oid_has_its_dotted_form() {
        for (bytes, dotted) in KNOWN_OIDS {
            let formatted = der_parser::oid::Oid::new(Cow::Borrowed(*bytes)).to_id_string();
            assert_eq!(&formatted, dotted);
        }
        assert_eq!(Oid::from_content(&oid!(raw 1.2.3.4)).as_str(), "1.2.3.4");
    }

    #[test]
    fn other_named_curves_have_a_name_and_a_size() {
        let brainpool = EcCurve::Named(Oid::from_content(&oid!(raw 1.3.36.3.3.2.8.1.1.11)));
        assert_eq!(brainpool.to_string(), "brainpoolP384r1");
        assert_eq!(brainpool.bits(), Some(384));
        let unknown = EcCurve::Named(Oid::from_content(&oid!(raw 1.2.3.4)));
        assert_eq!(unknown.to_string(), "1.2.3.4");
        assert_eq!(unknown.bits(), None);
    }
}
