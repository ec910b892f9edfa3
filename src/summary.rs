//! [`CertificateSummary`]: everything an administrator sees about a certificate, as typed values.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use der_parser::oid;

mod extensions;

use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, GeneralName};
use x509_parser::time::ASN1Time;

use crate::der::{self, Reader, Tag};
use crate::error::{CertificateParseError, DecodeError};
use crate::fingerprint::{CertificateName, Fingerprint};

/// An ASN.1 object identifier in dotted form, e.g. `1.2.840.113549.1.1.11`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(transparent))]
pub struct Oid(Cow<'static, str>);

/// The OIDs a summary meets most (attribute types, algorithms, curves, key usages), with
/// their dotted forms, so that building a summary formats none of them.
const KNOWN_OIDS: &[(&[u8], &str)] = &[
    (&oid!(raw 2.5.4.3), "2.5.4.3"),
    (&oid!(raw 2.5.4.6), "2.5.4.6"),
    (&oid!(raw 2.5.4.7), "2.5.4.7"),
    (&oid!(raw 2.5.4.8), "2.5.4.8"),
    (&oid!(raw 2.5.4.10), "2.5.4.10"),
    (&oid!(raw 2.5.4.11), "2.5.4.11"),
    (&oid!(raw 2.5.4.5), "2.5.4.5"),
    (&oid!(raw 2.5.4.9), "2.5.4.9"),
    (&oid!(raw 2.5.4.97), "2.5.4.97"),
    (
        &oid!(raw 0.9.2342.19200300.100.1.25),
        "0.9.2342.19200300.100.1.25",
    ),
    (
        &oid!(raw 0.9.2342.19200300.100.1.1),
        "0.9.2342.19200300.100.1.1",
    ),
    (&oid!(raw 1.2.840.113549.1.9.1), "1.2.840.113549.1.9.1"),
    (&oid!(raw 1.2.840.113549.1.1.1), "1.2.840.113549.1.1.1"),
    (&oid!(raw 1.2.840.113549.1.1.5), "1.2.840.113549.1.1.5"),
    (&oid!(raw 1.2.840.113549.1.1.10), "1.2.840.113549.1.1.10"),
    (&oid!(raw 1.2.840.113549.1.1.11), "1.2.840.113549.1.1.11"),
    (&oid!(raw 1.2.840.113549.1.1.12), "1.2.840.113549.1.1.12"),
    (&oid!(raw 1.2.840.113549.1.1.13), "1.2.840.113549.1.1.13"),
    (&oid!(raw 1.2.840.113549.1.1.14), "1.2.840.113549.1.1.14"),
    (&oid!(raw 1.2.840.10045.2.1), "1.2.840.10045.2.1"),
    (&oid!(raw 1.2.840.10045.4.3.2), "1.2.840.10045.4.3.2"),
    (&oid!(raw 1.2.840.10045.4.3.3), "1.2.840.10045.4.3.3"),
    (&oid!(raw 1.2.840.10045.4.3.4), "1.2.840.10045.4.3.4"),
    (&oid!(raw 1.2.840.10045.3.1.7), "1.2.840.10045.3.1.7"),
    (&oid!(raw 1.3.132.0.34), "1.3.132.0.34"),
    (&oid!(raw 1.3.132.0.35), "1.3.132.0.35"),
    (&oid!(raw 1.3.132.0.10), "1.3.132.0.10"),
    (&oid!(raw 1.3.101.112), "1.3.101.112"),
    (&oid!(raw 1.3.101.113), "1.3.101.113"),
    (&oid!(raw 1.2.840.10040.4.1), "1.2.840.10040.4.1"),
    (&oid!(raw 2.16.840.1.101.3.4.3.2), "2.16.840.1.101.3.4.3.2"),
    (&oid!(raw 2.16.840.1.101.3.4.2.1), "2.16.840.1.101.3.4.2.1"),
    (&oid!(raw 1.3.6.1.5.5.7.3.1), "1.3.6.1.5.5.7.3.1"),
    (&oid!(raw 1.3.6.1.5.5.7.3.2), "1.3.6.1.5.5.7.3.2"),
    (&oid!(raw 2.5.29.37.0), "2.5.29.37.0"),
];

impl Oid {
    /// The dotted form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn from_parser(oid: &der_parser::oid::Oid<'_>) -> Self {
        Self::from_content(oid.as_bytes())
    }

    /// From the content octets of a DER OBJECT IDENTIFIER.
    fn from_content(content: &[u8]) -> Self {
        match KNOWN_OIDS
            .iter()
            .find(|(bytes, _)| same_oid(bytes, content))
        {
            Some((_, dotted)) => Oid(Cow::Borrowed(dotted)),
            None => Oid(Cow::Owned(
                der_parser::oid::Oid::new(Cow::Borrowed(content)).to_id_string(),
            )),
        }
    }
}

/// Whether two OBJECT IDENTIFIER contents are equal. OIDs of the same length mostly differ
/// in their last octet: comparing it first spares a call to `memcmp` for most candidates.
fn same_oid(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.last() == b.last() && a == b
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({})", self.0)
    }
}

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
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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

/// An X.509 distinguished name: relative distinguished names, each one or more attributes.
///
/// `Display` gives the RFC 4514 string (most specific first, e.g. `CN=a,O=b,C=DE`) with the
/// attribute names OpenSSL uses.
///
/// Names are equal when their attributes are. The attributes are read from the
/// certificate's DER (whose structure was checked when it was parsed) the first time they
/// are asked for: most certificates are stored and listed far more often than their names
/// are looked at.
#[derive(Clone, Default)]
pub struct DistinguishedName {
    /// DER holding the Name element at `range`.
    der: Arc<[u8]>,
    range: Range<usize>,
    rdns: OnceLock<Vec<Vec<Attribute>>>,
}

impl DistinguishedName {
    /// The Name element at `range` of `der`, which the certificate parse has checked.
    pub(crate) fn from_der(der: Arc<[u8]>, range: Range<usize>) -> Self {
        DistinguishedName {
            der,
            range,
            rdns: OnceLock::new(),
        }
    }

    /// The relative distinguished names in encoded order (least specific first).
    pub fn rdns(&self) -> &[Vec<Attribute>] {
        self.rdns
            .get_or_init(|| read_rdns(self.der.get(self.range.clone()).unwrap_or_default()))
    }

    /// All attributes in encoded order.
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute> {
        self.rdns().iter().flatten()
    }

    /// The text of the last (most specific) attribute with this dotted OID.
    pub fn get(&self, oid: &str) -> Option<&str> {
        self.attributes()
            .filter(|a| a.oid.as_str() == oid)
            .last()
            .and_then(|a| a.value.as_text())
    }

    /// The most specific common name (CN), if any.
    pub fn common_name(&self) -> Option<&str> {
        self.get("2.5.4.3")
    }

    /// The most specific organisation (O), if any.
    pub fn organization(&self) -> Option<&str> {
        self.get("2.5.4.10")
    }

    /// Whether the name has no attribute at all.
    pub fn is_empty(&self) -> bool {
        self.rdns().iter().all(Vec::is_empty)
    }
}

impl PartialEq for DistinguishedName {
    fn eq(&self, other: &Self) -> bool {
        self.rdns() == other.rdns()
    }
}

impl Eq for DistinguishedName {}

impl Hash for DistinguishedName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.rdns().hash(state);
    }
}

/// The attributes of a Name element, whose structure the strict DER check has checked.
/// Every vector is allocated at its final size: a name may hold 80,000 RDNs.
fn read_rdns(name: &[u8]) -> Vec<Vec<Attribute>> {
    let Ok(name) = Reader::new(name).expect(Tag::SEQUENCE, "a Name") else {
        return Vec::new();
    };
    let sets = || {
        let mut sets = name.reader();
        std::iter::from_fn(move || sets.read().ok())
    };
    let mut rdns = Vec::with_capacity(sets().count());
    for set in sets() {
        let attributes = || {
            let mut set = set.reader();
            std::iter::from_fn(move || set.read().ok())
        };
        let mut rdn = Vec::with_capacity(attributes().count());
        for attribute in attributes() {
            let mut fields = attribute.reader();
            if let (Ok(oid), Ok(value)) = (fields.read(), fields.read()) {
                rdn.push(Attribute {
                    oid: Oid::from_content(oid.content),
                    value: attribute_value(&value),
                });
            }
        }
        rdns.push(rdn);
    }
    rdns
}

impl fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rdn) in self.rdns().iter().rev().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            for (j, attribute) in rdn.iter().enumerate() {
                if j > 0 {
                    f.write_str("+")?;
                }
                write!(f, "{attribute}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DistinguishedName(\"{self}\")")
    }
}

serialize_as_text!(DistinguishedName);

/// One attribute of a distinguished name, such as `CN=example`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    /// The attribute type.
    pub oid: Oid,
    /// The value.
    pub value: AttributeValue,
}

impl Attribute {
    /// The short name OpenSSL uses for this attribute type (`CN`, `O`, `emailAddress`, …).
    pub fn short_name(&self) -> Option<&'static str> {
        let name = match self.oid.as_str() {
            "2.5.4.3" => "CN",
            "2.5.4.6" => "C",
            "2.5.4.7" => "L",
            "2.5.4.8" => "ST",
            "2.5.4.10" => "O",
            "2.5.4.11" => "OU",
            "2.5.4.9" => "street",
            "2.5.4.4" => "SN",
            "2.5.4.5" => "serialNumber",
            "2.5.4.12" => "title",
            "2.5.4.13" => "description",
            "2.5.4.15" => "businessCategory",
            "2.5.4.17" => "postalCode",
            "2.5.4.42" => "GN",
            "2.5.4.43" => "initials",
            "2.5.4.44" => "generationQualifier",
            "2.5.4.46" => "dnQualifier",
            "2.5.4.65" => "pseudonym",
            "2.5.4.97" => "organizationIdentifier",
            "0.9.2342.19200300.100.1.25" => "DC",
            "0.9.2342.19200300.100.1.1" => "UID",
            "1.2.840.113549.1.9.1" => "emailAddress",
            "1.3.6.1.4.1.311.60.2.1.1" => "jurisdictionL",
            "1.3.6.1.4.1.311.60.2.1.2" => "jurisdictionST",
            "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionC",
            _ => return None,
        };
        Some(name)
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.short_name() {
            Some(name) => f.write_str(name)?,
            None => f.write_str(self.oid.as_str())?,
        }
        f.write_str("=")?;
        match &self.value {
            AttributeValue::Text(text) => write_escaped(f, text),
            AttributeValue::Der(der) => write!(f, "#{}", hex::encode(der)),
        }
    }
}

/// RFC 4514 §2.4 escaping, plus control characters as `\XX`.
fn write_escaped(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    let last = text.chars().count().saturating_sub(1);
    for (i, c) in text.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => write!(f, "\\{c}")?,
            '#' if i == 0 => f.write_str("\\#")?,
            ' ' if i == 0 || i == last => f.write_str("\\ ")?,
            c if (c as u32) < 0x20 || c as u32 == 0x7f => write!(f, "\\{:02X}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    Ok(())
}

/// An attribute's value: text for the string types, else the DER encoding (shown `#hex`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttributeValue {
    /// A string type (UTF8String, PrintableString, IA5String, BMPString, TeletexString as
    /// Latin-1, …) decoded to text.
    Text(String),
    /// Any other type: the whole DER element.
    Der(Vec<u8>),
}

impl AttributeValue {
    /// The text, if the value is a string type.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            AttributeValue::Text(text) => Some(text),
            AttributeValue::Der(_) => None,
        }
    }
}

/// A certificate serial number, kept exactly as encoded (it may be zero or negative).
#[derive(Clone)]
pub struct SerialNumber {
    /// DER holding the INTEGER's content octets at `range` (shared with the certificate).
    der: Arc<[u8]>,
    range: Range<usize>,
}

impl SerialNumber {
    /// The content octets of the DER INTEGER, as encoded (two's complement, big-endian).
    pub fn as_bytes(&self) -> &[u8] {
        self.der.get(self.range.clone()).unwrap_or_default()
    }

    /// Whether the encoded integer is negative (not allowed by RFC 5280, seen in practice).
    pub fn is_negative(&self) -> bool {
        self.as_bytes().first().is_some_and(|b| b & 0x80 != 0)
    }
}

impl PartialEq for SerialNumber {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SerialNumber {}

impl Hash for SerialNumber {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Display for SerialNumber {
    /// Lowercase hex of the content octets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.as_bytes()))
    }
}

impl fmt::Debug for SerialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SerialNumber({self})")
    }
}

serialize_as_text!(SerialNumber);

/// The algorithm an issuer signed a certificate with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SignatureAlgorithm {
    oid: Oid,
    name: Cow<'static, str>,
}

impl SignatureAlgorithm {
    /// The algorithm's OID.
    pub fn oid(&self) -> &Oid {
        &self.oid
    }

    /// A readable name, as OpenSSL prints it (`sha256WithRSAEncryption`, `ecdsa-with-SHA384`,
    /// `ED25519`, …); RSASSA-PSS is named with its hash, e.g. `RSASSA-PSS with SHA-256`. An
    /// unknown algorithm is named by its dotted OID.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn new(oid: Oid, parameters: Option<&[u8]>) -> Self {
        let known = match oid.as_str() {
            "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
            "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
            "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
            "1.3.14.3.2.29" => "sha1WithRSA",
            "1.2.643.2.2.3" => "GOST R 34.11-94 with GOST R 34.10-2001",
            "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
            "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
            "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
            "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
            "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
            "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
            "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
            "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
            "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
            "1.3.101.112" => "ED25519",
            "1.3.101.113" => "ED448",
            "1.2.840.10040.4.3" => "dsaWithSHA1",
            "2.16.840.1.101.3.4.3.1" => "dsa_with_SHA224",
            "2.16.840.1.101.3.4.3.2" => "dsa_with_SHA256",
            "1.2.840.113549.1.1.10" => {
                let hash = parameters.map_or(Some("SHA-1"), pss_hash_name);
                let name = match hash {
                    Some(hash) => Cow::Owned(format!("RSASSA-PSS with {hash}")),
                    None => Cow::Borrowed("RSASSA-PSS"),
                };
                return SignatureAlgorithm { oid, name };
            }
            _ => {
                let name = Cow::Owned(oid.to_string());
                return SignatureAlgorithm { oid, name };
            }
        };
        SignatureAlgorithm {
            oid,
            name: Cow::Borrowed(known),
        }
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The hash of RSASSA-PSS-params (RFC 4055): `[0]` holds its AlgorithmIdentifier; absent
/// means SHA-1. `parameters` is the content of the params SEQUENCE.
fn pss_hash_name(parameters: &[u8]) -> Option<&'static str> {
    let mut reader = Reader::new(parameters);
    let Some(wrapper) = reader.optional(Tag::context(true, 0)).ok()? else {
        return Some("SHA-1");
    };
    let algorithm = wrapper.reader().expect(Tag::SEQUENCE, "hash").ok()?;
    let oid = algorithm.reader().expect(Tag::OID, "hash OID").ok()?;
    match Oid::from_content(oid.content).as_str() {
        "1.3.14.3.2.26" => Some("SHA-1"),
        "2.16.840.1.101.3.4.2.4" => Some("SHA-224"),
        "2.16.840.1.101.3.4.2.1" => Some("SHA-256"),
        "2.16.840.1.101.3.4.2.2" => Some("SHA-384"),
        "2.16.840.1.101.3.4.2.3" => Some("SHA-512"),
        _ => None,
    }
}

/// When a certificate is valid: from `not_before` to `not_after`, both inclusive (RFC 5280).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Validity {
    /// The first instant the certificate is valid.
    #[cfg_attr(feature = "serde", serde(with = "time::serde::rfc3339"))]
    pub not_before: OffsetDateTime,
    /// The last instant the certificate is valid.
    #[cfg_attr(feature = "serde", serde(with = "time::serde::rfc3339"))]
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// Whether the validity ended before `now`.
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        now > self.not_after
    }

    /// Whether the validity has not ended at `now` but ends within `within` of it (a
    /// certificate that is not valid yet counts too, by its end).
    pub fn ends_within(&self, now: OffsetDateTime, within: Duration) -> bool {
        !self.is_expired_at(now) && self.not_after - now <= within
    }

    /// The status at `now`, warning when at most `warn_within` is left. The library never
    /// reads the clock itself: pass `OffsetDateTime::now_utc()` for the current status.
    ///
    /// ```
    /// use inbound_certs::{Validity, ValidityStatus};
    /// use time::{macros::datetime, Duration};
    ///
    /// let validity = Validity {
    ///     not_before: datetime!(2025-01-01 0:00 UTC),
    ///     not_after: datetime!(2026-01-01 0:00 UTC),
    /// };
    /// let warn = Duration::days(30);
    /// assert_eq!(
    ///     validity.status_at(datetime!(2025-12-22 0:00 UTC), warn),
    ///     ValidityStatus::ExpiringSoon { remaining: Duration::days(10) }
    /// );
    /// assert!(validity.status_at(datetime!(2026-01-02 0:00 UTC), warn).is_expired());
    /// ```
    pub fn status_at(&self, now: OffsetDateTime, warn_within: Duration) -> ValidityStatus {
        if now < self.not_before {
            ValidityStatus::NotYetValid {
                starts_in: self.not_before - now,
            }
        } else if self.is_expired_at(now) {
            ValidityStatus::Expired {
                since: now - self.not_after,
            }
        } else {
            let remaining = self.not_after - now;
            if remaining <= warn_within {
                ValidityStatus::ExpiringSoon { remaining }
            } else {
                ValidityStatus::Valid { remaining }
            }
        }
    }
}

/// Where an instant falls in a certificate's validity period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValidityStatus {
    /// Before `not_before`.
    NotYetValid {
        /// Time until it becomes valid.
        starts_in: Duration,
    },
    /// Valid, with more than the warning window left.
    Valid {
        /// Time until `not_after`.
        remaining: Duration,
    },
    /// Valid, with at most the warning window left.
    ExpiringSoon {
        /// Time until `not_after`.
        remaining: Duration,
    },
    /// After `not_after`.
    Expired {
        /// Time since `not_after`.
        since: Duration,
    },
}

impl ValidityStatus {
    /// `"not_yet_valid"`, `"valid"`, `"expiring"` or `"expired"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ValidityStatus::NotYetValid { .. } => "not_yet_valid",
            ValidityStatus::Valid { .. } => "valid",
            ValidityStatus::ExpiringSoon { .. } => "expiring",
            ValidityStatus::Expired { .. } => "expired",
        }
    }

    /// Whether the certificate has expired.
    pub fn is_expired(&self) -> bool {
        matches!(self, ValidityStatus::Expired { .. })
    }
}

impl fmt::Display for ValidityStatus {
    /// E.g. `valid (412 days left)`, `expired (3 days ago)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn span(duration: Duration) -> String {
            let days = duration.whole_days();
            if days >= 1 {
                format!("{days} day{}", if days == 1 { "" } else { "s" })
            } else {
                let hours = duration.whole_hours();
                format!("{hours} hour{}", if hours == 1 { "" } else { "s" })
            }
        }
        match self {
            ValidityStatus::NotYetValid { starts_in } => {
                write!(f, "not yet valid (starts in {})", span(*starts_in))
            }
            ValidityStatus::Valid { remaining } => write!(f, "valid ({} left)", span(*remaining)),
            ValidityStatus::ExpiringSoon { remaining } => {
                write!(f, "expiring soon ({} left)", span(*remaining))
            }
            ValidityStatus::Expired { since } => write!(f, "expired ({} ago)", span(*since)),
        }
    }
}

/// The subject's public key: its algorithm and size.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PublicKeyInfo {
    /// The key algorithm (with the curve for EC keys).
    pub algorithm: KeyAlgorithm,
    /// The key size in bits: the RSA modulus or DSA prime length, the EC curve size
    /// (256/384/521), 256 for Ed25519 and 456 for Ed448; `None` when unknown.
    pub bits: Option<u32>,
}

impl fmt::Display for PublicKeyInfo {
    /// E.g. `RSA (2048 bits)`, `EC P-256 (256 bits)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.algorithm {
            KeyAlgorithm::Ec(curve) => write!(f, "EC {curve}")?,
            other => write!(f, "{other}")?,
        }
        if let Some(bits) = self.bits {
            write!(f, " ({bits} bits)")?;
        }
        Ok(())
    }
}

/// A public key algorithm.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// RSA (`rsaEncryption`).
    Rsa,
    /// An RSA key restricted to RSASSA-PSS signatures (`id-RSASSA-PSS`).
    RsaPss,
    /// Elliptic curve (`id-ecPublicKey`) on the given curve.
    Ec(EcCurve),
    /// Ed25519.
    Ed25519,
    /// Ed448.
    Ed448,
    /// DSA.
    Dsa,
    /// Any other algorithm.
    Other(Oid),
}

impl fmt::Display for KeyAlgorithm {
    /// `RSA`, `RSA-PSS`, `EC`, `Ed25519`, `Ed448`, `DSA`, or the dotted OID.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyAlgorithm::Rsa => f.write_str("RSA"),
            KeyAlgorithm::RsaPss => f.write_str("RSA-PSS"),
            KeyAlgorithm::Ec(_) => f.write_str("EC"),
            KeyAlgorithm::Ed25519 => f.write_str("Ed25519"),
            KeyAlgorithm::Ed448 => f.write_str("Ed448"),
            KeyAlgorithm::Dsa => f.write_str("DSA"),
            KeyAlgorithm::Other(oid) => write!(f, "{oid}"),
        }
    }
}

/// An elliptic curve.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum EcCurve {
    /// NIST P-256 (secp256r1, prime256v1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
    /// secp256k1.
    Secp256k1,
    /// Another named curve, by OID.
    Named(Oid),
    /// Parameters that are neither a named curve's OID nor the explicit parameters of one of
    /// the four curves above (those are reported as that curve), or absent.
    Unnamed,
}

/// Other named curves this crate knows: dotted OID, name, size in bits.
const OTHER_CURVES: &[(&str, &str, u32)] = &[
    ("1.2.840.10045.3.1.1", "P-192", 192),
    ("1.3.132.0.33", "P-224", 224),
    ("1.3.36.3.3.2.8.1.1.7", "brainpoolP256r1", 256),
    ("1.3.36.3.3.2.8.1.1.11", "brainpoolP384r1", 384),
    ("1.3.36.3.3.2.8.1.1.13", "brainpoolP512r1", 512),
];

impl EcCurve {
    /// The curve size in bits, for the curves this crate knows.
    pub fn bits(&self) -> Option<u32> {
        match self {
            EcCurve::P256 | EcCurve::Secp256k1 => Some(256),
            EcCurve::P384 => Some(384),
            EcCurve::P521 => Some(521),
            EcCurve::Named(oid) => other_curve(oid).map(|(_, _, bits)| *bits),
            EcCurve::Unnamed => None,
        }
    }
}

fn other_curve(oid: &Oid) -> Option<&'static (&'static str, &'static str, u32)> {
    OTHER_CURVES
        .iter()
        .find(|(dotted, _, _)| *dotted == oid.as_str())
}

impl fmt::Display for EcCurve {
    /// `P-256`, `P-384`, `P-521`, `secp256k1`, a known name, or the dotted OID.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EcCurve::P256 => f.write_str("P-256"),
            EcCurve::P384 => f.write_str("P-384"),
            EcCurve::P521 => f.write_str("P-521"),
            EcCurve::Secp256k1 => f.write_str("secp256k1"),
            EcCurve::Named(oid) => match other_curve(oid) {
                Some((_, name, _)) => f.write_str(name),
                None => f.write_str(oid.as_str()),
            },
            EcCurve::Unnamed => f.write_str("explicit parameters"),
        }
    }
}

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubjectAltName {
    /// `DNS:` a host name.
    Dns(String),
    /// `IP:` an IPv4 or IPv6 address.
    Ip(IpAddr),
    /// `email:` an RFC 822 address.
    Email(String),
    /// `URI:` a URI.
    Uri(String),
    /// `DirName:` a distinguished name.
    DirectoryName(DistinguishedName),
    /// `RID:` a registered OID.
    RegisteredId(Oid),
    /// `othername:` a name of the given type.
    OtherName(Oid),
    /// A name this crate does not decode (x400Address, ediPartyName, an IP address of the
    /// wrong length, text that is not UTF-8): a short description.
    Unsupported(String),
}

impl fmt::Display for SubjectAltName {
    /// As OpenSSL prints them: `DNS:a.example`, `IP:10.0.0.1`, `email:x@y`, `URI:…`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectAltName::Dns(name) => write!(f, "DNS:{name}"),
            SubjectAltName::Ip(address) => write!(f, "IP:{address}"),
            SubjectAltName::Email(address) => write!(f, "email:{address}"),
            SubjectAltName::Uri(uri) => write!(f, "URI:{uri}"),
            SubjectAltName::DirectoryName(name) => write!(f, "DirName:{name}"),
            SubjectAltName::RegisteredId(oid) => write!(f, "RID:{oid}"),
            SubjectAltName::OtherName(oid) => write!(f, "othername:{oid}"),
            SubjectAltName::Unsupported(what) => f.write_str(what),
        }
    }
}

serialize_as_text!(SubjectAltName);

/// Where a certificate's serial number (content octets), issuer and subject names are in
/// its DER.
pub(crate) struct Names {
    pub(crate) der: Arc<[u8]>,
    pub(crate) serial: Range<usize>,
    pub(crate) issuer: Range<usize>,
    pub(crate) subject: Range<usize>,
}

const OID_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
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
        let invalid =
            |reason: String| DecodeError::InvalidCertificate(CertificateParseError::new(reason));
        let version = match outline.version.map(|v| v.content) {
            None => 1,
            Some([0]) => 1,
            Some([1]) => 2,
            Some([2]) => 3,
            Some(other) => {
                return Err(invalid(format!(
                    "the version field is {}; only 0, 1 and 2 (v1, v2, v3) exist",
                    integer_text(other)
                )))
            }
        };
        let extensions = outline.extensions.as_ref();
        if version < 3 && extensions.is_some() {
            return Err(invalid(
                "extensions are present in a version 1 or 2 certificate".into(),
            ));
        }
        if outline.signature.raw != outline.signature_algorithm.raw {
            return Err(invalid(
                "the signature algorithm inside the signed part differs from the outer one".into(),
            ));
        }
        let time = |tlv: &der::Tlv<'_>, what: &str| {
            ASN1Time::from_der(tlv.raw)
                .map(|(_, time)| time.to_datetime())
                .map_err(|_| {
                    invalid(format!(
                        "the {what} time is not a valid UTCTime or GeneralizedTime"
                    ))
                })
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
/// needs no allocation.
fn first_repeated<'a>(oids: impl Iterator<Item = &'a [u8]> + Clone) -> Option<&'a [u8]> {
    const PAIRWISE_UP_TO: usize = 16;
    if oids.clone().nth(PAIRWISE_UP_TO).is_none() {
        return oids
            .clone()
            .enumerate()
            .find(|(i, oid)| oids.clone().skip(i + 1).any(|other| same_oid(other, oid)))
            .map(|(_, oid)| oid);
    }
    let mut sorted: Vec<(&[u8], usize)> = oids.zip(0..).collect();
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

fn distinguished_name(name: &x509_parser::x509::X509Name<'_>) -> DistinguishedName {
    let der: Arc<[u8]> = name.as_raw().into();
    let range = 0..der.len();
    DistinguishedName::from_der(der, range)
}

fn attribute_value(value: &der::Tlv<'_>) -> AttributeValue {
    let data = value.content;
    let text = if value.tag.class != der::UNIVERSAL || value.tag.constructed {
        None
    } else {
        match value.tag.number {
            // UTF8String, NumericString, PrintableString, IA5String, VisibleString
            12 | 18 | 19 | 22 | 26 => std::str::from_utf8(data).ok().map(str::to_string),
            // TeletexString: treated as Latin-1, as OpenSSL does.
            20 => Some(data.iter().map(|b| char::from(*b)).collect()),
            // BMPString: UTF-16BE.
            30 => {
                let units: Vec<u16> = data
                    .chunks(2)
                    .map(|pair| match pair {
                        [high, low] => u16::from_be_bytes([*high, *low]),
                        _ => 0xfffd,
                    })
                    .collect();
                String::from_utf16(&units).ok()
            }
            // UniversalString: UTF-32BE.
            28 => data
                .chunks(4)
                .map(|quad| match quad {
                    [a, b, c, d] => char::from_u32(u32::from_be_bytes([*a, *b, *c, *d])),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    };
    match text {
        Some(text) => AttributeValue::Text(text),
        None => AttributeValue::Der(value.raw.to_vec()),
    }
}

pub(crate) fn alt_name(name: &GeneralName<'_>) -> SubjectAltName {
    match name {
        GeneralName::DNSName(text) => SubjectAltName::Dns((*text).to_string()),
        GeneralName::RFC822Name(text) => SubjectAltName::Email((*text).to_string()),
        GeneralName::URI(text) => SubjectAltName::Uri((*text).to_string()),
        GeneralName::IPAddress(bytes) => match bytes.len() {
            4 => {
                let mut octets = [0u8; 4];
                octets.copy_from_slice(bytes);
                SubjectAltName::Ip(IpAddr::from(octets))
            }
            16 => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(bytes);
                SubjectAltName::Ip(IpAddr::from(octets))
            }
            _ => SubjectAltName::Unsupported(format!("IP:<invalid:{}>", hex::encode(bytes))),
        },
        GeneralName::DirectoryName(name) => SubjectAltName::DirectoryName(distinguished_name(name)),
        GeneralName::RegisteredID(oid) => SubjectAltName::RegisteredId(Oid::from_parser(oid)),
        GeneralName::OtherName(oid, _) => SubjectAltName::OtherName(Oid::from_parser(oid)),
        GeneralName::X400Address(_) => SubjectAltName::Unsupported("X400Name:<unsupported>".into()),
        GeneralName::EDIPartyName(_) => {
            SubjectAltName::Unsupported("EdiPartyName:<unsupported>".into())
        }
        GeneralName::Invalid(_, _) => SubjectAltName::Unsupported("<invalid name>".into()),
    }
}

/// Reads algorithm and size from a SubjectPublicKeyInfo's DER, without trusting
/// x509-parser's `key_size` (which miscounts odd RSA sizes, P-521 and Ed25519/Ed448).
fn public_key_info(spki: &[u8]) -> PublicKeyInfo {
    let unknown = || PublicKeyInfo {
        algorithm: KeyAlgorithm::Other(Oid(Cow::Borrowed(""))),
        bits: None,
    };
    let mut outer = Reader::new(spki);
    let Ok(spki) = outer.expect(Tag::SEQUENCE, "SubjectPublicKeyInfo") else {
        return unknown();
    };
    let mut fields = spki.reader();
    let Ok(algorithm) = fields.expect(Tag::SEQUENCE, "AlgorithmIdentifier") else {
        return unknown();
    };
    let mut algorithm = algorithm.reader();
    let Ok(oid) = algorithm.expect(Tag::OID, "algorithm") else {
        return unknown();
    };
    let parameters = algorithm.read().ok();
    let key = fields
        .expect(Tag::BIT_STRING, "subjectPublicKey")
        .ok()
        .and_then(|bits| bits.content.split_first().map(|(_, key)| key))
        .unwrap_or(&[]);
    let oid = Oid::from_content(oid.content);
    let rsa_bits = || {
        let mut reader = Reader::new(key);
        let sequence = reader.expect(Tag::SEQUENCE, "RSAPublicKey").ok()?;
        let modulus = sequence.reader().expect(Tag::INTEGER, "modulus").ok()?;
        Some(der::integer_bits(modulus.content))
    };
    match oid.as_str() {
        "1.2.840.113549.1.1.1" => PublicKeyInfo {
            algorithm: KeyAlgorithm::Rsa,
            bits: rsa_bits(),
        },
        "1.2.840.113549.1.1.10" => PublicKeyInfo {
            algorithm: KeyAlgorithm::RsaPss,
            bits: rsa_bits(),
        },
        "1.2.840.10045.2.1" => match parameters {
            Some(curve) if curve.tag == Tag::OID => {
                let curve = Oid::from_content(curve.content);
                let curve = match curve.as_str() {
                    "1.2.840.10045.3.1.7" => EcCurve::P256,
                    "1.3.132.0.34" => EcCurve::P384,
                    "1.3.132.0.35" => EcCurve::P521,
                    "1.3.132.0.10" => EcCurve::Secp256k1,
                    _ => EcCurve::Named(curve),
                };
                PublicKeyInfo {
                    bits: curve.bits(),
                    algorithm: KeyAlgorithm::Ec(curve),
                }
            }
            Some(explicit) if explicit.tag == Tag::SEQUENCE => {
                let (curve, bits) = explicit_curve(&explicit).unwrap_or((EcCurve::Unnamed, None));
                PublicKeyInfo {
                    bits,
                    algorithm: KeyAlgorithm::Ec(curve),
                }
            }
            _ => PublicKeyInfo {
                bits: None,
                algorithm: KeyAlgorithm::Ec(EcCurve::Unnamed),
            },
        },
        "1.3.101.112" => PublicKeyInfo {
            algorithm: KeyAlgorithm::Ed25519,
            bits: Some(256),
        },
        "1.3.101.113" => PublicKeyInfo {
            algorithm: KeyAlgorithm::Ed448,
            bits: Some(456),
        },
        "1.2.840.10040.4.1" => PublicKeyInfo {
            algorithm: KeyAlgorithm::Dsa,
            bits: parameters
                .filter(|p| p.tag == Tag::SEQUENCE)
                .and_then(|p| p.reader().expect(Tag::INTEGER, "p").ok())
                .map(|p| der::integer_bits(p.content)),
        },
        _ => PublicKeyInfo {
            algorithm: KeyAlgorithm::Other(oid),
            bits: None,
        },
    }
}

/// A named curve as explicit ECParameters spell it out: the prime p, the coefficients a
/// and b and the order n (hex, no leading zeros), and the curve.
type ExplicitCurve = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    fn() -> EcCurve,
);

/// The named curves an explicit ECParameters may spell out.
const EXPLICIT_CURVES: &[ExplicitCurve] = &[
    (
        "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
        "ffffffff00000001000000000000000000000000fffffffffffffffffffffffc",
        "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
        || EcCurve::P256,
    ),
    (
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffc",
        "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
        "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
        || EcCurve::P384,
    ),
    (
        "1ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffc",
        "51953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00",
        "1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409",
        || EcCurve::P521,
    ),
    (
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f",
        "",
        "7",
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        || EcCurve::Secp256k1,
    ),
];

/// The curve and its size (the bit length of the field: of p for a prime field, m for a
/// binary one) of explicit ECParameters (RFC 3279 §2.3.5), the curve named when p, a, b
/// and n are those of a named curve. `None` if the parameters are not of that shape.
fn explicit_curve(parameters: &der::Tlv<'_>) -> Option<(EcCurve, Option<u32>)> {
    let mut fields = parameters.reader();
    fields.expect(Tag::INTEGER, "version").ok()?;
    let field_id = fields.expect(Tag::SEQUENCE, "fieldID").ok()?;
    let curve = fields.expect(Tag::SEQUENCE, "curve").ok()?;
    fields.expect(Tag::OCTET_STRING, "base").ok()?;
    let order = fields.expect(Tag::INTEGER, "order").ok()?;
    let mut field = field_id.reader();
    let field_type = Oid::from_content(field.expect(Tag::OID, "fieldType").ok()?.content);
    let mut coefficients = curve.reader();
    let a = coefficients.expect(Tag::OCTET_STRING, "a").ok()?;
    let b = coefficients.expect(Tag::OCTET_STRING, "b").ok()?;
    match field_type.as_str() {
        // prime-field: the parameter is p.
        "1.2.840.10045.1.1" => {
            let prime = field.expect(Tag::INTEGER, "p").ok()?;
            let hex = |bytes: &[u8]| {
                let text = hex::encode(bytes);
                text.trim_start_matches('0').to_string()
            };
            let key = (
                hex(prime.content),
                hex(a.content),
                hex(b.content),
                hex(order.content),
            );
            let named = EXPLICIT_CURVES
                .iter()
                .find(|(p, a, b, n, _)| key.0 == *p && key.1 == *a && key.2 == *b && key.3 == *n);
            let bits = der::integer_bits(prime.content);
            Some((
                named.map_or(EcCurve::Unnamed, |(.., curve)| curve()),
                Some(bits),
            ))
        }
        // characteristic-two-field: SEQUENCE { m INTEGER, basis, parameters }.
        "1.2.840.10045.1.2" => {
            let parameters = field.expect(Tag::SEQUENCE, "Characteristic-two").ok()?;
            let m = parameters.reader().expect(Tag::INTEGER, "m").ok()?;
            let m = match m.content {
                [high, low] => u32::from(u16::from_be_bytes([*high, *low])),
                [only] => u32::from(*only),
                _ => return Some((EcCurve::Unnamed, None)),
            };
            Some((EcCurve::Unnamed, Some(m)))
        }
        _ => Some((EcCurve::Unnamed, None)),
    }
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
