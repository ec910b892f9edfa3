//! The format-detecting decoder: the bytes of an upload in, certificates out.

mod base64;
mod pem;
mod pkcs7;

pub use crate::der::{DerContainer, DerProblem, ElementKind};
pub use crate::error::{
    Base64Problem, CertificateParseError, ExtensionProblem, PemProblem, PrivateKeyKind,
};

use crate::certificate::Certificate;
use crate::der::{Reader, Tag};
use crate::error::DecodeError;

/// The encodings [`decode`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputFormat {
    /// Binary DER of one certificate (or of something else, which `decode` then names).
    Der,
    /// PEM text: one or more `-----BEGIN …-----` blocks, possibly with text around them.
    Pem,
    /// Base64 text of DER without PEM armour.
    Base64,
    /// A PKCS#7 / CMS SignedData bundle (`.p7b`, `.p7c`): DER, or with its wrapper in BER.
    Pkcs7,
}

/// Limits applied before any heavy work.
///
/// ```
/// use inbound_certs::{DecodeError, decode::{decode_with, DecodeOptions}};
///
/// let mut options = DecodeOptions::default();
/// options.max_input_bytes = 16;
/// let error = decode_with(&[b'x'; 17], &options).unwrap_err();
/// assert_eq!(error, DecodeError::TooLarge { size: 17, limit: 16 });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// Largest input accepted, in bytes. Default 1 MiB.
    pub max_input_bytes: usize,
    /// Most certificates accepted in one input. Default 1000.
    pub max_certificates: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            max_input_bytes: 1 << 20,
            max_certificates: 1000,
        }
    }
}

/// Decodes every certificate in an upload, whatever its format, with the default limits.
///
/// Accepts DER, PEM (one or many blocks; `CERTIFICATE`, `X509 CERTIFICATE`,
/// `TRUSTED CERTIFICATE` and `PKCS7` labels; CRLF, BOM and text around blocks), bare base64,
/// and PKCS#7 bundles. Refuses private keys, CSRs, CRLs, public keys and anything else with a
/// typed [`DecodeError`]. An upload is accepted whole or refused whole.
///
/// ```
/// use inbound_certs::{decode, DecodeError, decode::PrivateKeyKind};
///
/// let bundle = std::fs::read("tests/data/bundle.pem")?;
/// assert_eq!(decode(&bundle)?.len(), 5);
///
/// let key = std::fs::read("tests/data/key_pkcs8.pem")?;
/// assert_eq!(
///     decode(&key).unwrap_err(),
///     DecodeError::PrivateKey { kind: PrivateKeyKind::Pkcs8 }
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode(input: &[u8]) -> Result<Vec<Certificate>, DecodeError> {
    decode_with(input, &DecodeOptions::default())
}

/// [`decode`] with explicit limits.
pub fn decode_with(input: &[u8], options: &DecodeOptions) -> Result<Vec<Certificate>, DecodeError> {
    if input.len() > options.max_input_bytes {
        return Err(DecodeError::TooLarge {
            size: input.len(),
            limit: options.max_input_bytes,
        });
    }
    if is_utf16(input) {
        return Err(DecodeError::Utf16Text);
    }
    let input = strip_bom(input);
    if input.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::Empty);
    }
    let certificates = match detect_format(input) {
        Some(InputFormat::Der | InputFormat::Pkcs7) => decode_der(input, options)?,
        Some(InputFormat::Pem) => pem::decode(input, options)?,
        Some(InputFormat::Base64) => {
            let der = base64::decode(input).map_err(|error| DecodeError::InvalidBase64 {
                line: match error.at {
                    base64::At::Offset(offset) => pem::line_number(input, offset),
                    base64::At::End => pem::line_count(input),
                },
                problem: error.problem,
            })?;
            decode_der(&der, options)?
        }
        None => return Err(cut_short(input).unwrap_or(DecodeError::UnrecognizedFormat)),
    };
    // Bundles are counted before parsing; this also holds a single certificate to a limit of 0.
    if certificates.len() > options.max_certificates {
        return Err(DecodeError::TooManyCertificates {
            found: certificates.len(),
            limit: options.max_certificates,
        });
    }
    Ok(certificates)
}

/// Guesses the encoding of an upload from its first bytes, without decoding it.
///
/// DER is a SEQUENCE that fits the input (or a PKCS#7 bundle or PKCS#12 archive whose
/// wrapper has an indefinite length); base64 is text of the base64 alphabet whose first
/// symbols decode to the start of a certificate or bundle. Returns `None` for everything
/// else (empty input, random bytes, plain text, a DER certificate cut short). Never panics,
/// whatever the input.
///
/// ```
/// use inbound_certs::decode::{detect_format, InputFormat};
///
/// assert_eq!(detect_format(b"-----BEGIN CERTIFICATE-----\n"), Some(InputFormat::Pem));
/// assert_eq!(detect_format(b"MIIB"), Some(InputFormat::Base64));
/// assert_eq!(detect_format(&[0x30, 0x03, 0x02, 0x01, 0x00]), Some(InputFormat::Der));
/// assert_eq!(detect_format(&[0x30, 0x82, 0x01, 0x00]), None);
/// assert_eq!(detect_format(&[0x01, 0x02]), None);
/// assert_eq!(detect_format(b"hello, world"), None);
/// assert_eq!(detect_format(b"hello world"), None);
/// ```
pub fn detect_format(input: &[u8]) -> Option<InputFormat> {
    let input = strip_bom(input);
    if is_ber_pkcs7(input) {
        return Some(InputFormat::Pkcs7);
    }
    if is_pkcs12(input) || Reader::new(input).expect(Tag::SEQUENCE, "").is_ok() {
        return Some(if classify(input) == Shape::Pkcs7 {
            InputFormat::Pkcs7
        } else {
            InputFormat::Der
        });
    }
    if contains(input, b"-----BEGIN ") || contains(input, b"-----END ") {
        return Some(InputFormat::Pem);
    }
    let mut symbols = input.iter().filter(|b| !b.is_ascii_whitespace()).peekable();
    symbols.peek()?;
    if symbols
        .clone()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    {
        // Only text whose first bytes are a SEQUENCE with a long-form or indefinite length,
        // as every certificate, bundle and key starts: "This is text" is not base64.
        let mut first = [b'A'; 4];
        let mut count = 0;
        for (slot, symbol) in first.iter_mut().zip(symbols) {
            *slot = *symbol;
            count += 1;
        }
        if count == 4 {
            if let Ok(bytes) = base64::decode(&first) {
                if let [0x30, 0x80..=0x84, ..] = bytes[..] {
                    return Some(InputFormat::Base64);
                }
            }
        }
    }
    None
}

/// The header of the element at the start of `data`, leniently (definite or indefinite
/// length, one-octet identifier): its identifier octet and where its content starts.
fn lenient_header(data: &[u8]) -> Option<(u8, usize)> {
    match *data {
        [identifier, length, ..] if length <= 0x80 => Some((identifier, 2)),
        [identifier, length, ..] if length <= 0x84 => {
            Some((identifier, 2 + usize::from(length & 0x7f)))
        }
        _ => None,
    }
}

const OID_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];

/// A PKCS#7 ContentInfo of SignedData whose outer length is indefinite (BER).
fn is_ber_pkcs7(input: &[u8]) -> bool {
    matches!(input, [0x30, 0x80, 0x06, 0x09, rest @ ..] if rest.starts_with(OID_SIGNED_DATA))
}

/// A PKCS#12 PFX (RFC 7292), DER or BER: SEQUENCE { INTEGER 3, ContentInfo of data, … }.
/// Only its outline is looked at.
fn is_pkcs12(input: &[u8]) -> bool {
    let Some((0x30, at)) = lenient_header(input) else {
        return false;
    };
    let Some(rest) = input
        .get(at..)
        .and_then(|r| r.strip_prefix(&[0x02, 0x01, 0x03]))
    else {
        return false;
    };
    let Some((0x30, at)) = lenient_header(rest) else {
        return false;
    };
    rest.get(at..)
        .and_then(|r| r.strip_prefix(&[0x06, 0x09]))
        .is_some_and(|r| r.starts_with(OID_DATA))
}

/// [`DecodeError::CutShort`] for input that starts like a certificate or bundle (a SEQUENCE
/// with a long-form length, then a SEQUENCE or an OBJECT IDENTIFIER) whose outer length
/// runs past its end.
fn cut_short(input: &[u8]) -> Option<DecodeError> {
    let (0x30, header) = lenient_header(input)? else {
        return None;
    };
    let length_octets = input.get(2..header)?;
    let length = length_octets
        .iter()
        .fold(0usize, |length, octet| (length << 8) | usize::from(*octet));
    let expected = header.checked_add(length)?;
    match input.get(header) {
        Some(0x30 | 0x06) if length >= 0x80 && expected > input.len() => {
            Some(DecodeError::CutShort {
                expected,
                found: input.len(),
            })
        }
        _ => None,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn strip_bom(input: &[u8]) -> &[u8] {
    input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input)
}

/// A UTF-16 byte order mark, or ASCII text interleaved with zero bytes.
fn is_utf16(input: &[u8]) -> bool {
    match input {
        [0xFF, 0xFE, ..] | [0xFE, 0xFF, ..] => true,
        [a, 0, b, 0, ..] | [0, a, 0, b, ..] => {
            *a != 0x30 && a.is_ascii_graphic() && (b.is_ascii_graphic() || b.is_ascii_whitespace())
        }
        _ => false,
    }
}

/// Decodes DER: one certificate, a PKCS#7 bundle (its wrapper possibly BER), or a typed
/// refusal of what it is instead.
fn decode_der(der: &[u8], options: &DecodeOptions) -> Result<Vec<Certificate>, DecodeError> {
    if is_pkcs12(der) {
        return Err(DecodeError::Pkcs12);
    }
    if is_ber_pkcs7(der) || classify(der) == Shape::Pkcs7 {
        return pkcs7::certificates(der, options);
    }
    if let Some(error) = cut_short(der) {
        return Err(error);
    }
    Ok(vec![single_certificate(der)?])
}

/// One DER certificate; if it is not one, the error names what it is instead (a key, a CSR,
/// …) when its outline tells. The outline is looked at only on failure.
pub(crate) fn single_certificate(der: &[u8]) -> Result<Certificate, DecodeError> {
    Certificate::from_der(der).map_err(|error| match classify(der) {
        Shape::Certificate | Shape::Pkcs7 | Shape::Unknown => error,
        other => other.refusal(),
    })
}

/// What a DER structure is, judged from its outline (tags and a few small integers) only:
/// key material is never read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    Certificate,
    Pkcs7,
    PrivateKey(PrivateKeyKind),
    CertificateRequest,
    RevocationList,
    PublicKey,
    Unknown,
}

impl Shape {
    /// The error for a shape that is not a certificate.
    pub(crate) fn refusal(self) -> DecodeError {
        match self {
            Shape::PrivateKey(kind) => DecodeError::PrivateKey { kind },
            Shape::CertificateRequest => DecodeError::CertificateRequest,
            Shape::RevocationList => DecodeError::RevocationList,
            Shape::PublicKey => DecodeError::PublicKey,
            Shape::Certificate | Shape::Pkcs7 | Shape::Unknown => DecodeError::UnrecognizedFormat,
        }
    }
}

const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];

/// Recognises the outline of the DER structures an admin might upload by mistake.
pub(crate) fn classify(der: &[u8]) -> Shape {
    let Ok(outer) = Reader::new(der).read() else {
        return Shape::Unknown;
    };
    if outer.tag != Tag::SEQUENCE {
        return Shape::Unknown;
    }
    // Up to 12 children, kept on the stack: this runs for every DER upload.
    let mut tags = [Tag::SEQUENCE; 12];
    let mut count = 0;
    let mut first = None;
    let mut reader = outer.reader();
    while !reader.is_empty() && count < tags.len() {
        match (reader.read(), tags.get_mut(count)) {
            (Ok(child), Some(slot)) => {
                *slot = child.tag;
                first.get_or_insert(child);
                count += 1;
            }
            _ => return Shape::Unknown,
        }
    }
    let tags = tags.get(..count).unwrap_or_default();
    match (&first, tags) {
        (Some(first), [Tag::OID, ..]) if first.content == OID_SIGNED_DATA => Shape::Pkcs7,
        // PrivateKeyInfo / OneAsymmetricKey: version, algorithm, OCTET STRING privateKey, …
        (_, [Tag::INTEGER, Tag::SEQUENCE, Tag::OCTET_STRING, ..]) => {
            Shape::PrivateKey(PrivateKeyKind::Pkcs8)
        }
        // ECPrivateKey: version 1, OCTET STRING privateKey, …
        (_, [Tag::INTEGER, Tag::OCTET_STRING, ..]) => Shape::PrivateKey(PrivateKeyKind::Ec),
        // EncryptedPrivateKeyInfo: encryptionAlgorithm, OCTET STRING encryptedData
        (_, [Tag::SEQUENCE, Tag::OCTET_STRING]) => {
            Shape::PrivateKey(PrivateKeyKind::EncryptedPkcs8)
        }
        // SubjectPublicKeyInfo: algorithm, BIT STRING subjectPublicKey
        (_, [Tag::SEQUENCE, Tag::BIT_STRING]) => Shape::PublicKey,
        (_, [Tag::SEQUENCE, Tag::SEQUENCE, Tag::BIT_STRING]) => {
            first.as_ref().map_or(Shape::Unknown, signed_shape)
        }
        (_, tags) if tags.iter().all(|t| *t == Tag::INTEGER) => match tags.len() {
            // RSAPrivateKey: version, n, e, d, p, q, dP, dQ, qInv (and more for multi-prime)
            9.. => Shape::PrivateKey(PrivateKeyKind::Rsa),
            // OpenSSL's DSA private key: version, p, q, g, y, x
            6 => Shape::PrivateKey(PrivateKeyKind::Dsa),
            // RSAPublicKey: n, e
            2 => Shape::PublicKey,
            _ => Shape::Unknown,
        },
        _ => Shape::Unknown,
    }
}

/// Certificate, CSR or CRL, from the outline of the signed part.
fn signed_shape(signed: &crate::der::Tlv<'_>) -> Shape {
    let mut reader = signed.reader();
    let mut tags = [Tag::SEQUENCE; 12];
    let mut count = 0;
    while !reader.is_empty() && count < tags.len() {
        match (reader.read(), tags.get_mut(count)) {
            (Ok(child), Some(slot)) => {
                *slot = child.tag;
                count += 1;
            }
            _ => return Shape::Certificate,
        }
    }
    let tags = tags.get(..count).unwrap_or_default();
    let is_time =
        |tag: Option<&Tag>| tag.is_some_and(|t| *t == Tag::UTC_TIME || *t == Tag::GENERALIZED_TIME);
    match tags {
        [Tag::INTEGER, Tag::SEQUENCE, Tag::SEQUENCE, last] if *last == Tag::context(true, 0) => {
            Shape::CertificateRequest
        }
        _ if is_time(tags.get(2)) || is_time(tags.get(3)) => Shape::RevocationList,
        _ => Shape::Certificate,
    }
}
