//! Certificates out of a PKCS#7 / CMS SignedData bundle (RFC 5652), as
//! `openssl crl2pkcs7 -nocrl -certfile` writes them.

use super::DecodeOptions;
use crate::certificate::Certificate;
use crate::der::{self, Reader, Tag};
use crate::error::DecodeError;

/// Every certificate of the bundle, in order. The count is checked before any is parsed.
pub(crate) fn certificates(
    der: &[u8],
    options: &DecodeOptions,
) -> Result<Vec<Certificate>, DecodeError> {
    let mut reader = Reader::new(der);
    let content_info = reader.expect(Tag::SEQUENCE, "the ContentInfo SEQUENCE")?;
    if !reader.is_empty() {
        return Err(DecodeError::TrailingData {
            offset: reader.offset(),
            count: reader.remaining().len(),
        });
    }
    der::walk(&content_info, 0)?;
    let mut fields = content_info.reader();
    fields.expect(Tag::OID, "the contentType OBJECT IDENTIFIER")?;
    let explicit = fields.expect(Tag::context(true, 0), "the [0] content")?;
    fields.finish("the ContentInfo")?;
    let mut explicit = explicit.reader();
    let signed_data = explicit.expect(Tag::SEQUENCE, "the SignedData SEQUENCE")?;
    explicit.finish("the [0] content")?;

    let mut signed = signed_data.reader();
    signed.expect(Tag::INTEGER, "the SignedData version")?;
    signed.expect(Tag::SET, "the digestAlgorithms SET")?;
    signed.expect(Tag::SEQUENCE, "the encapContentInfo SEQUENCE")?;
    let Some(set) = signed.optional(Tag::context(true, 0))? else {
        return Err(DecodeError::NoCertificate);
    };
    signed.optional(Tag::context(true, 1))?;
    signed.expect(Tag::SET, "the signerInfos SET")?;
    signed.finish("the SignedData")?;

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
