//! The certificate outline: the strict check of a certificate's structure, which yields the
//! elements that later code reads.

use super::lean::{is_plain_extensions, is_plain_name};
use super::{walk, DerError, DerProblem, DerResult, Reader, Tag, Tlv};

/// The elements of a checked certificate that are read again later. Their structure has
/// been checked: readers over them cannot fail.
pub(crate) struct Outline<'a> {
    /// The whole Certificate.
    pub(crate) certificate: Tlv<'a>,
    /// The version INTEGER inside `[0]`, if present.
    pub(crate) version: Option<Tlv<'a>>,
    /// The serialNumber INTEGER.
    pub(crate) serial: Tlv<'a>,
    /// The signature AlgorithmIdentifier inside the TBSCertificate.
    pub(crate) signature: Tlv<'a>,
    /// The issuer Name.
    pub(crate) issuer: Tlv<'a>,
    /// The notBefore and notAfter times.
    pub(crate) not_before: Tlv<'a>,
    pub(crate) not_after: Tlv<'a>,
    /// The subject Name.
    pub(crate) subject: Tlv<'a>,
    /// The SubjectPublicKeyInfo.
    pub(crate) spki: Tlv<'a>,
    /// The Extensions SEQUENCE, if present.
    pub(crate) extensions: Option<Tlv<'a>>,
    /// The signatureAlgorithm AlgorithmIdentifier after the TBSCertificate.
    pub(crate) signature_algorithm: Tlv<'a>,
}

/// One Extension of a checked Extensions SEQUENCE.
pub(crate) struct Extension<'a> {
    /// The whole Extension SEQUENCE.
    pub(crate) raw: &'a [u8],
    /// The extnID OBJECT IDENTIFIER.
    pub(crate) oid: Tlv<'a>,
    /// Whether the critical BOOLEAN is present and TRUE.
    pub(crate) critical: bool,
    /// The extnValue OCTET STRING.
    pub(crate) value: Tlv<'a>,
}

/// The extensions of an Extensions SEQUENCE that [`check_certificate`] accepted.
pub(crate) fn extensions<'a>(sequence: &Tlv<'a>) -> impl Iterator<Item = Extension<'a>> + Clone {
    let mut reader = sequence.reader();
    std::iter::from_fn(move || {
        let extension = reader.read().ok()?;
        let mut fields = extension.reader();
        let oid = fields.read().ok()?;
        let critical = fields
            .optional(Tag::BOOLEAN)
            .ok()?
            .is_some_and(|flag| flag.content != [0]);
        let value = fields.read().ok()?;
        Some(Extension {
            raw: extension.raw,
            oid,
            critical,
            value,
        })
    })
}

/// Checks the structure of one certificate (RFC 5280 §4.1) as strictly as OpenSSL and
/// rustls-webpki do, and returns its outline. Bytes after it are left to the caller.
pub(crate) fn check_certificate<'a>(reader: &mut Reader<'a>) -> DerResult<Outline<'a>> {
    // Every element of the outline below is read (so its length is checked) and every
    // subtree the outline does not descend into is walked: each byte is checked once.
    let certificate = reader.expect(Tag::SEQUENCE, "the Certificate SEQUENCE")?;
    let mut fields = certificate.reader();
    let tbs = fields.expect(Tag::SEQUENCE, "the TBSCertificate SEQUENCE")?;
    let signature_algorithm = algorithm_identifier(&mut fields, "the signatureAlgorithm")?;
    bit_string(&mut fields, "the signature BIT STRING")?;
    fields.finish("the Certificate")?;

    let mut tbs = tbs.reader();
    let mut version = None;
    if let Some(wrapper) = tbs.optional(Tag::context(true, 0))? {
        let mut inner = wrapper.reader();
        version = Some(inner.expect(Tag::INTEGER, "the version INTEGER")?);
        inner.finish("the version")?;
    }
    let serial = tbs.expect(Tag::INTEGER, "the serialNumber INTEGER")?;
    let signature = algorithm_identifier(&mut tbs, "the signature AlgorithmIdentifier")?;
    let issuer = name(&mut tbs, "the issuer Name")?;
    let validity = tbs.expect(Tag::SEQUENCE, "the Validity SEQUENCE")?;
    let mut times = validity.reader();
    let [not_before, not_after] = ["the notBefore time", "the notAfter time"].map(|what| {
        let offset = times.offset();
        let time = times.read().map_err(|e| DerError {
            offset,
            problem: match e.problem {
                DerProblem::Truncated => DerProblem::Missing { expected: what },
                other => other,
            },
        })?;
        if time.tag != Tag::UTC_TIME && time.tag != Tag::GENERALIZED_TIME {
            return Err(DerError {
                offset,
                problem: DerProblem::UnexpectedTag { expected: what },
            });
        }
        Ok(time)
    });
    let (not_before, not_after) = (not_before?, not_after?);
    times.finish("the Validity")?;
    let subject = name(&mut tbs, "the subject Name")?;
    let spki = tbs.expect(Tag::SEQUENCE, "the SubjectPublicKeyInfo SEQUENCE")?;
    let mut key = spki.reader();
    algorithm_identifier(&mut key, "the public key AlgorithmIdentifier")?;
    bit_string(&mut key, "the subjectPublicKey BIT STRING")?;
    key.finish("the SubjectPublicKeyInfo")?;
    tbs.optional(Tag::context(false, 1))?;
    tbs.optional(Tag::context(false, 2))?;
    let mut extensions = None;
    if let Some(wrapper) = tbs.optional(Tag::context(true, 3))? {
        let mut wrapper = wrapper.reader();
        let sequence = wrapper.expect(Tag::SEQUENCE, "the Extensions SEQUENCE")?;
        wrapper.finish("the extensions [3]")?;
        if !is_plain_extensions(sequence.content) {
            check_extensions(&sequence)?;
        }
        extensions = Some(sequence);
    }
    tbs.finish("the TBSCertificate")?;
    Ok(Outline {
        certificate,
        version,
        serial,
        signature,
        issuer,
        not_before,
        not_after,
        subject,
        spki,
        extensions,
        signature_algorithm,
    })
}

/// Checks the Extensions SEQUENCE element by element, saying what is wrong if anything is.
pub(super) fn check_extensions(sequence: &Tlv<'_>) -> DerResult<()> {
    let mut list = sequence.reader();
    while !list.is_empty() {
        let extension = list.expect(Tag::SEQUENCE, "an Extension SEQUENCE")?;
        let mut extension = extension.reader();
        extension.expect(Tag::OID, "the extnID OBJECT IDENTIFIER")?;
        extension.optional(Tag::BOOLEAN)?;
        extension.expect(Tag::OCTET_STRING, "the extnValue OCTET STRING")?;
        extension.finish("an Extension")?;
        // The value is opaque here: the values of the extensions this crate interprets
        // are checked when they are read, and named in errors (summary/extensions.rs).
    }
    Ok(())
}

/// A BIT STRING whose first content octet (the number of unused bits) is there and is at
/// most 7, with no unused bits in an empty string.
fn bit_string<'a>(reader: &mut Reader<'a>, what: &'static str) -> DerResult<Tlv<'a>> {
    let bits = reader.expect(Tag::BIT_STRING, what)?;
    match bits.content {
        [unused, ..] if *unused <= 7 && (*unused == 0 || bits.content.len() > 1) => Ok(bits),
        _ => Err(DerError {
            offset: bits.offset,
            problem: DerProblem::UnusedBits { inside: what },
        }),
    }
}

fn algorithm_identifier<'a>(reader: &mut Reader<'a>, what: &'static str) -> DerResult<Tlv<'a>> {
    let algorithm = reader.expect(Tag::SEQUENCE, what)?;
    let mut inner = algorithm.reader();
    inner.expect(Tag::OID, "an algorithm OBJECT IDENTIFIER")?;
    if !inner.is_empty() {
        walk(&inner.read()?, 1)?;
    }
    inner.finish("an AlgorithmIdentifier")?;
    Ok(algorithm)
}

pub(super) fn name<'a>(reader: &mut Reader<'a>, what: &'static str) -> DerResult<Tlv<'a>> {
    let name = reader.expect(Tag::SEQUENCE, what)?;
    if !is_plain_name(name.content) {
        check_name(&name)?;
    }
    Ok(name)
}

/// Checks a Name element by element, saying what is wrong if anything is.
pub(super) fn check_name(name: &Tlv<'_>) -> DerResult<()> {
    let mut rdns = name.reader();
    while !rdns.is_empty() {
        let rdn = rdns.expect(Tag::SET, "a RelativeDistinguishedName SET")?;
        // RFC 5280 says SET SIZE (1..MAX), but OpenSSL, Go's crypto/x509 and pyca read an
        // empty RDN (as no attribute) and real certificates carry them: so do we.
        let mut attributes = rdn.reader();
        while !attributes.is_empty() {
            let attribute = attributes.expect(Tag::SEQUENCE, "an AttributeTypeAndValue")?;
            let mut inner = attribute.reader();
            inner.expect(Tag::OID, "an attribute type OBJECT IDENTIFIER")?;
            if inner.is_empty() {
                return Err(DerError {
                    offset: inner.offset(),
                    problem: DerProblem::Missing {
                        expected: "an attribute value",
                    },
                });
            }
            walk(&inner.read()?, 1)?;
            inner.finish("an AttributeTypeAndValue")?;
        }
    }
    Ok(())
}
