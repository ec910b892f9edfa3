//! Certificates out of a PKCS#7 / CMS SignedData bundle (RFC 5652), as
//! `openssl crl2pkcs7 -nocrl -certfile` writes them, or as Windows and Java tools do: with
//! the ContentInfo/SignedData wrapper in BER (indefinite lengths, constructed OCTET STRINGs).
//! Every certificate inside is still held to strict DER, and its fingerprint is the SHA-256
//! of its own DER.

use super::DecodeOptions;
use crate::certificate::Certificate;
use crate::der::DerProblem;
use crate::der::{Reader, Tag, Tlv, MAX_DEPTH};
use crate::error::DecodeError;

/// Reads wrapper elements in BER.
struct Wrapper<'a>(Reader<'a>);

impl<'a> Wrapper<'a> {
    /// The next element, with this tag, and everything below it checked.
    fn expect(&mut self, tag: Tag, what: &'static str) -> Result<Tlv<'a>, DecodeError> {
        let tlv = self.expect_unwalked(tag, what)?;
        walk_ber(&tlv, 1)?;
        Ok(tlv)
    }

    /// The next element, with this tag; what it holds is left to the caller.
    fn expect_unwalked(&mut self, tag: Tag, what: &'static str) -> Result<Tlv<'a>, DecodeError> {
        let offset = self.0.offset();
        if self.0.is_empty() {
            return Err(DecodeError::MalformedDer {
                offset,
                problem: DerProblem::Missing { expected: what },
            });
        }
        let tlv = self.0.read_ber(1)?;
        if tlv.tag != tag {
            return Err(DecodeError::MalformedDer {
                offset,
                problem: DerProblem::UnexpectedTag { expected: what },
            });
        }
        Ok(tlv)
    }

    fn optional(&mut self, tag: Tag) -> Result<Option<Tlv<'a>>, DecodeError> {
        if self.0.peek_tag() == Some(tag) {
            self.expect(tag, "an optional field").map(Some)
        } else {
            Ok(None)
        }
    }

    fn finish(&self, what: &'static str) -> Result<(), DecodeError> {
        Ok(self.0.finish(what)?)
    }
}

/// Checks every element below a wrapper element, BER lengths allowed.
fn walk_ber(tlv: &Tlv<'_>, depth: usize) -> Result<(), DecodeError> {
    if !tlv.tag.constructed {
        return Ok(());
    }
    if depth > MAX_DEPTH {
        return Err(DecodeError::MalformedDer {
            offset: tlv.offset,
            problem: DerProblem::TooDeep,
        });
    }
    let mut reader = tlv.reader();
    while !reader.is_empty() {
        walk_ber(&reader.read_ber(depth + 1)?, depth + 1)?;
    }
    Ok(())
}

/// Every certificate of the bundle, in order. The count is checked before any is parsed.
pub(crate) fn certificates(
    der: &[u8],
    options: &DecodeOptions,
) -> Result<Vec<Certificate>, DecodeError> {
    let mut reader = Reader::new(der);
    let content_info = reader.read_ber(0)?;
    if content_info.tag != Tag::SEQUENCE {
        return Err(DecodeError::MalformedDer {
            offset: 0,
            problem: DerProblem::UnexpectedTag {
                expected: "the ContentInfo SEQUENCE",
            },
        });
    }
    if !reader.is_empty() {
        return Err(DecodeError::TrailingData {
            offset: reader.offset(),
            count: reader.remaining().len(),
        });
    }
    let mut fields = Wrapper(content_info.reader());
    fields.expect(Tag::OID, "the contentType OBJECT IDENTIFIER")?;
    // The [0] and the SignedData are read field by field below.
    let explicit = fields.expect_unwalked(Tag::context(true, 0), "the [0] content")?;
    fields.finish("the ContentInfo")?;
    let mut explicit = Wrapper(explicit.reader());
    let signed_data = explicit.expect_unwalked(Tag::SEQUENCE, "the SignedData SEQUENCE")?;
    explicit.finish("the [0] content")?;

    let mut signed = Wrapper(signed_data.reader());
    signed.expect(Tag::INTEGER, "the SignedData version")?;
    signed.expect(Tag::SET, "the digestAlgorithms SET")?;
    signed.expect(Tag::SEQUENCE, "the encapContentInfo SEQUENCE")?;
    // The certificates are not walked here: each is read strictly below, and checked whole
    // when it is parsed.
    if signed.0.peek_tag() != Some(Tag::context(true, 0)) {
        return Err(DecodeError::NoCertificate);
    }
    let set = signed.expect_unwalked(Tag::context(true, 0), "the certificates [0]")?;
    signed.optional(Tag::context(true, 1))?;
    signed.expect(Tag::SET, "the signerInfos SET")?;
    signed.finish("the SignedData")?;

    // The certificates themselves are DER: each entry is read by the strict reader.
    let mut entries = Vec::new();
    let mut reader = set.reader();
    while !reader.is_empty() {
        entries.push(reader.read()?);
        if entries.len() > options.max_certificates {
            let mut found = entries.len();
            while !reader.is_empty() {
                reader.read()?;
                found += 1;
            }
            return Err(DecodeError::TooManyCertificates {
                found,
                limit: options.max_certificates,
            });
        }
    }
    if entries.is_empty() {
        return Err(DecodeError::NoCertificate);
    }
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let in_bundle = |source| DecodeError::InBundle {
                index: index + 1,
                source: Box::new(source),
            };
            if entry.tag != Tag::SEQUENCE {
                return Err(DecodeError::UnsupportedBundleEntry { index: index + 1 });
            }
            Certificate::from_der(entry.raw).map_err(in_bundle)
        })
        .collect()
}
