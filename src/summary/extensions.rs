//! The extensions of a certificate: which ones this crate interprets, how their values are
//! checked, and the names errors give them. The value of any other extension is opaque:
//! never parsed, walked or judged, whether critical or not (as OpenSSL, webpki, Go and pyca
//! do), since real certificates carry vendor extensions whose value is raw bytes.

use std::sync::OnceLock;

use oid_registry::{
    Oid as RegistryOid, OidRegistry, OID_CT_LIST_SCT, OID_PKIX_AUTHORITY_INFO_ACCESS,
    OID_PKIX_SUBJECT_INFO_ACCESS, OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER,
    OID_X509_EXT_BASIC_CONSTRAINTS, OID_X509_EXT_CERTIFICATE_POLICIES, OID_X509_EXT_CERT_TYPE,
    OID_X509_EXT_CRL_DISTRIBUTION_POINTS, OID_X509_EXT_EXTENDED_KEY_USAGE,
    OID_X509_EXT_INHIBIT_ANY_POLICY, OID_X509_EXT_ISSUER_ALT_NAME, OID_X509_EXT_KEY_USAGE,
    OID_X509_EXT_NAME_CONSTRAINTS, OID_X509_EXT_POLICY_CONSTRAINTS, OID_X509_EXT_POLICY_MAPPINGS,
    OID_X509_EXT_SUBJECT_ALT_NAME, OID_X509_EXT_SUBJECT_KEY_IDENTIFIER,
};
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Extension};

use super::{alt_name, KeyUsage, Oid, SubjectAltName};
use crate::der::DerContainer;
use crate::der::{self, Reader, Tag};
use crate::error::{DecodeError, ExtensionProblem};

/// The extensions this crate interprets: their values must be one DER element of their
/// syntax, checked strictly. x509-parser reads the syntax of all but EKU and SAN, which are
/// read here. (Not nsComment: it is often raw text, which x509-parser takes too.)
const INTERPRETED: &[&RegistryOid<'static>] = &[
    &OID_X509_EXT_SUBJECT_KEY_IDENTIFIER,
    &OID_X509_EXT_KEY_USAGE,
    &OID_X509_EXT_SUBJECT_ALT_NAME,
    &OID_X509_EXT_ISSUER_ALT_NAME,
    &OID_X509_EXT_BASIC_CONSTRAINTS,
    &OID_X509_EXT_NAME_CONSTRAINTS,
    &OID_X509_EXT_CRL_DISTRIBUTION_POINTS,
    &OID_X509_EXT_CERTIFICATE_POLICIES,
    &OID_X509_EXT_POLICY_MAPPINGS,
    &OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER,
    &OID_X509_EXT_POLICY_CONSTRAINTS,
    &OID_X509_EXT_EXTENDED_KEY_USAGE,
    &OID_X509_EXT_INHIBIT_ANY_POLICY,
    &OID_PKIX_AUTHORITY_INFO_ACCESS,
    &OID_PKIX_SUBJECT_INFO_ACCESS,
    &OID_CT_LIST_SCT,
    &OID_X509_EXT_CERT_TYPE,
];

/// Whether this crate interprets the extension with this OID (content octets).
pub(crate) fn is_interpreted(oid: &[u8]) -> bool {
    INTERPRETED.iter().any(|known| known.as_bytes() == oid)
}

/// The extension's short name from oid-registry (`basicConstraints`, …), or its dotted OID.
/// Only errors need it: the registry is built on first use.
pub(crate) fn name(oid: &[u8]) -> String {
    static REGISTRY: OnceLock<OidRegistry<'static>> = OnceLock::new();
    let registry = REGISTRY.get_or_init(|| OidRegistry::default().with_x509());
    let key = RegistryOid::new(std::borrow::Cow::Borrowed(oid));
    match registry.get(&key) {
        Some(entry) => entry.sn().to_string(),
        None => Oid::from_content(oid).to_string(),
    }
}

/// What the summary takes from the interpreted extensions.
#[derive(Default)]
pub(crate) struct Interpreted {
    pub(crate) is_ca: bool,
    pub(crate) path_len_constraint: Option<u32>,
    pub(crate) key_usage: Option<KeyUsage>,
    pub(crate) subject_alt_names: Vec<SubjectAltName>,
    /// `None` when the certificate has no EKU extension.
    pub(crate) extended_key_usage: Option<Vec<Oid>>,
    pub(crate) unknown_critical: Vec<Oid>,
}

impl Interpreted {
    /// Reads every extension of a checked Extensions SEQUENCE.
    pub(crate) fn read(sequence: &der::Tlv<'_>) -> Result<Self, DecodeError> {
        let mut interpreted = Interpreted::default();
        for extension in der::extensions(sequence) {
            let oid = extension.oid.content;
            if !is_interpreted(oid) {
                if extension.critical {
                    interpreted.unknown_critical.push(Oid::from_content(oid));
                }
                continue;
            }
            let malformed = |problem| DecodeError::MalformedExtension {
                name: name(oid),
                oid: Oid::from_content(oid).to_string(),
                problem,
            };
            let value = check_value(&extension.value).map_err(malformed)?;
            if oid == OID_X509_EXT_EXTENDED_KEY_USAGE.as_bytes() {
                interpreted.extended_key_usage = Some(read_eku(&value).map_err(malformed)?);
            } else if oid == OID_X509_EXT_SUBJECT_ALT_NAME.as_bytes() {
                interpreted.subject_alt_names = read_alt_names(&value).map_err(malformed)?;
            } else {
                let syntax = || {
                    malformed(ExtensionProblem::Syntax {
                        offset: value.offset,
                        expected: format!("a value of the {} syntax", name(oid)),
                    })
                };
                let (_, parsed) = X509Extension::from_der(extension.raw).map_err(|_| syntax())?;
                match parsed.parsed_extension() {
                    ParsedExtension::ParseError { .. } => return Err(syntax()),
                    ParsedExtension::BasicConstraints(constraints) => {
                        interpreted.is_ca = constraints.ca;
                        interpreted.path_len_constraint = constraints.path_len_constraint;
                    }
                    ParsedExtension::KeyUsage(usage) => {
                        interpreted.key_usage = Some(KeyUsage::from_bits(usage.flags));
                    }
                    _ => {}
                }
            }
        }
        Ok(interpreted)
    }
}

/// The one DER element an interpreted extension's value holds, checked strictly.
fn check_value<'a>(value: &der::Tlv<'a>) -> Result<der::Tlv<'a>, ExtensionProblem> {
    let der_problem = |error: der::DerError| ExtensionProblem::Der {
        offset: error.offset,
        problem: error.problem,
    };
    if value.content.is_empty() {
        return Err(ExtensionProblem::Empty);
    }
    let mut reader = value.reader_in(DerContainer::ExtensionValue);
    let element = reader.read().map_err(der_problem)?;
    der::walk(&element, 0).map_err(der_problem)?;
    reader.finish("the extension value").map_err(der_problem)?;
    Ok(element)
}

/// The elements of `value`, which must be a SEQUENCE.
fn sequence_items<'a>(
    value: &der::Tlv<'a>,
    expected: &str,
) -> Result<impl Iterator<Item = der::Tlv<'a>> + Clone, ExtensionProblem> {
    if value.tag != Tag::SEQUENCE {
        return Err(ExtensionProblem::Syntax {
            offset: value.offset,
            expected: format!("a SEQUENCE of {expected}"),
        });
    }
    let mut reader: Reader<'a> = value.reader();
    Ok(std::iter::from_fn(move || reader.read().ok()))
}

fn read_eku(value: &der::Tlv<'_>) -> Result<Vec<Oid>, ExtensionProblem> {
    let items = sequence_items(value, "KeyPurposeId OBJECT IDENTIFIERs")?;
    let mut oids = Vec::with_capacity(items.clone().count());
    for oid in items {
        if oid.tag != Tag::OID {
            return Err(ExtensionProblem::Syntax {
                offset: oid.offset,
                expected: "a KeyPurposeId OBJECT IDENTIFIER".into(),
            });
        }
        oids.push(Oid::from_content(oid.content));
    }
    Ok(oids)
}

/// The GeneralNames of a subjectAltName value, each read by x509-parser on its own (the
/// list is allocated once, at its final size).
fn read_alt_names(value: &der::Tlv<'_>) -> Result<Vec<SubjectAltName>, ExtensionProblem> {
    let items = sequence_items(value, "GeneralNames")?;
    let mut names = Vec::with_capacity(items.clone().count());
    for item in items {
        match GeneralName::from_der(item.raw) {
            Ok(([], name)) => names.push(alt_name(&name)),
            _ => {
                return Err(ExtensionProblem::Syntax {
                    offset: item.offset,
                    expected: "a GeneralName".into(),
                })
            }
        }
    }
    Ok(names)
}
