//! PEM framing: finds `-----BEGIN label-----` … `-----END label-----` blocks in text that may
//! hold anything else around them (explanatory text, a BOM, CR/LF line ends, bytes that are
//! not UTF-8), and maps each label to what the decoder does with it.

use std::ops::Range;

use super::base64::{At, Base64};
use super::{pkcs7, single_certificate, DecodeOptions};
use crate::certificate::Certificate;
use crate::der::{self, Reader, Tag};
use crate::error::{DecodeError, PemProblem, PrivateKeyKind};

/// What a PEM label means to the decoder: accepted, or refused with which error.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Label {
    /// `CERTIFICATE`, `X509 CERTIFICATE`: one DER certificate.
    Certificate,
    /// `TRUSTED CERTIFICATE`: OpenSSL's DER certificate followed by its trust settings.
    TrustedCertificate,
    /// `PKCS7`, `PKCS #7 SIGNED DATA`, `CMS`: a PKCS#7 bundle.
    Pkcs7,
    /// Refused; the body is never decoded.
    Refused(DecodeError),
    /// A label this crate does not know (as text, at most 64 characters); refused.
    Unsupported(String),
}

fn label_meaning(label: &[u8]) -> Label {
    match label {
        b"CERTIFICATE" | b"X509 CERTIFICATE" => return Label::Certificate,
        b"TRUSTED CERTIFICATE" => return Label::TrustedCertificate,
        b"PKCS7" | b"PKCS #7 SIGNED DATA" | b"CMS" => return Label::Pkcs7,
        _ => {}
    }
    let key = |kind| Label::Refused(DecodeError::PrivateKey { kind });
    match label_text(label).as_str() {
        "PRIVATE KEY" => key(PrivateKeyKind::Pkcs8),
        "ENCRYPTED PRIVATE KEY" => key(PrivateKeyKind::EncryptedPkcs8),
        "RSA PRIVATE KEY" => key(PrivateKeyKind::Rsa),
        "EC PRIVATE KEY" => key(PrivateKeyKind::Ec),
        "DSA PRIVATE KEY" => key(PrivateKeyKind::Dsa),
        other if other.ends_with("PRIVATE KEY") => key(PrivateKeyKind::OtherPem(other.to_string())),
        "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => {
            Label::Refused(DecodeError::CertificateRequest)
        }
        "X509 CRL" => Label::Refused(DecodeError::RevocationList),
        other if other.ends_with("PUBLIC KEY") => Label::Refused(DecodeError::PublicKey),
        other => Label::Unsupported(other.to_string()),
    }
}

fn is_line_end(byte: u8) -> bool {
    byte == b'\n' || byte == b'\r'
}

/// The line that starts at byte `start`: its bytes without the line end (LF, CRLF or a lone
/// CR), and where the next line starts.
fn line_from(text: &[u8], start: usize) -> (&[u8], usize) {
    let rest = text.get(start..).unwrap_or_default();
    match memchr::memchr2(b'\n', b'\r', rest) {
        None => (rest, text.len()),
        Some(end) => {
            let line = rest.get(..end).unwrap_or_default();
            let line_end = if rest.get(end..end + 2) == Some(b"\r\n") {
                2
            } else {
                1
            };
            (line, start + end + line_end)
        }
    }
}

/// The 1-based number of the line holding byte `offset`. Line numbers are needed only for
/// errors, so they are counted only then.
pub(crate) fn line_number(text: &[u8], offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or(text);
    let line_ends = before
        .iter()
        .enumerate()
        .filter(|(i, byte)| match byte {
            b'\n' => true,
            // A CR ends a line unless it is the first half of a CRLF.
            b'\r' => text.get(i + 1) != Some(&b'\n'),
            _ => false,
        })
        .count();
    line_ends + 1
}

/// How many lines the text has (a last line end does not start another one).
pub(crate) fn line_count(text: &[u8]) -> usize {
    match text.last() {
        None => 0,
        Some(last) if is_line_end(*last) => line_number(text, text.len()) - 1,
        Some(_) => line_number(text, text.len()),
    }
}

/// The start of the first line at or after `from` (a line start) that holds `-----`: only
/// such a line can be armour.
fn next_dashed_line(text: &[u8], from: usize) -> Option<usize> {
    let mut search = from;
    loop {
        let dash = search + memchr::memchr(b'-', text.get(search..)?)?;
        if text.get(dash..dash + 5) == Some(b"-----") {
            let line_start = text
                .get(from..dash)?
                .iter()
                .rposition(|byte| is_line_end(*byte))
                .map_or(from, |i| from + i + 1);
            return Some(line_start);
        }
        search = dash + 1;
    }
}

struct Block {
    label: Label,
    /// Where the BEGIN line starts.
    begin: usize,
    /// The base64 lines: from the first data line to the END line (empty if none).
    body: Range<usize>,
}

/// The label of an armour line such as `-----BEGIN CERTIFICATE-----`.
fn armour<'a>(line: &'a [u8], kind: &[u8]) -> Option<&'a [u8]> {
    line.trim_ascii()
        .strip_prefix(b"-----")?
        .strip_prefix(kind)?
        .strip_prefix(b" ")?
        .strip_suffix(b"-----")
}

fn label_text(label: &[u8]) -> String {
    String::from_utf8_lossy(label).chars().take(64).collect()
}

/// Finds the blocks. A private key label refuses the whole input at once, before its
/// body is read.
fn blocks(text: &[u8]) -> Result<Vec<Block>, DecodeError> {
    let mut blocks = Vec::new();
    let mut position = 0;
    while let Some(start) = next_dashed_line(text, position) {
        let (line, next) = line_from(text, start);
        position = next;
        if let Some(label) = armour(line, b"BEGIN") {
            let meaning = label_meaning(label);
            if let Label::Refused(error @ DecodeError::PrivateKey { .. }) = meaning {
                return Err(error);
            }
            let (body, after) = block_body(text, start, label, next)?;
            blocks.push(Block {
                label: meaning,
                begin: start,
                body,
            });
            position = after;
        } else if armour(line, b"END").is_some() {
            return Err(DecodeError::MalformedPem {
                line: line_number(text, start),
                problem: PemProblem::UnexpectedEnd,
            });
        }
    }
    Ok(blocks)
}

/// The body of the block whose BEGIN line (with `label`) starts at `begin` and whose next
/// line starts at `from`, and where the line after its END line starts.
fn block_body(
    text: &[u8],
    begin: usize,
    label: &[u8],
    from: usize,
) -> Result<(Range<usize>, usize), DecodeError> {
    let missing_end = || DecodeError::MalformedPem {
        line: line_number(text, begin),
        problem: PemProblem::MissingEnd {
            label: label_text(label),
        },
    };
    // Whether an armour line ends the block; a BEGIN line inside it is an error.
    let is_end = |line: &[u8], start: usize| match armour(line, b"END") {
        Some(end) if end == label || label_text(end) == label_text(label) => Ok(true),
        Some(end) => Err(DecodeError::MalformedPem {
            line: line_number(text, start),
            problem: PemProblem::MismatchedEnd {
                begin: label_text(label),
                end: label_text(end),
            },
        }),
        None if armour(line, b"BEGIN").is_some() => Err(missing_end()),
        None => Ok(false),
    };
    // RFC 1421 headers ("Name: value", continued on indented lines) and blank lines may
    // come before the first line of data.
    let mut position = from;
    let data = loop {
        if position >= text.len() {
            return Err(missing_end());
        }
        let (line, next) = line_from(text, position);
        if is_end(line, position)? {
            return Ok((from..from, next));
        }
        let is_header =
            line.contains(&b':') || line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !is_header && !line.trim_ascii().is_empty() {
            break position;
        }
        position = next;
    };
    // After it, everything up to the END line is data.
    loop {
        let start = next_dashed_line(text, position).ok_or_else(missing_end)?;
        let (line, next) = line_from(text, start);
        if is_end(line, start)? {
            return Ok((data..start, next));
        }
        position = next;
    }
}

/// Decodes every block of a PEM file; refused whole if any block is not a certificate.
pub(crate) fn decode(
    text: &[u8],
    options: &DecodeOptions,
) -> Result<Vec<Certificate>, DecodeError> {
    let blocks = blocks(text)?;
    if let Some(error) = blocks.iter().find_map(|block| match &block.label {
        Label::Refused(error) => Some(error.clone()),
        Label::Unsupported(label) => Some(DecodeError::UnsupportedPemLabel {
            label: label.clone(),
            line: line_number(text, block.begin),
        }),
        _ => None,
    }) {
        return Err(error);
    }
    if blocks.is_empty() {
        return Err(DecodeError::NoCertificate);
    }
    if blocks.len() > options.max_certificates {
        return Err(DecodeError::TooManyCertificates {
            found: blocks.len(),
            limit: options.max_certificates,
        });
    }
    let mut certificates = Vec::with_capacity(blocks.len());
    // One set of buffers for every block: certificates copy what they keep.
    let mut base64 = Base64::default();
    for (index, block) in blocks.iter().enumerate() {
        let in_block = |error: DecodeError| match error {
            error @ DecodeError::PrivateKey { .. } => error,
            error => error.in_pem_block(index + 1, line_number(text, block.begin)),
        };
        let body = text.get(block.body.clone()).unwrap_or_default();
        if body.is_empty() {
            return Err(in_block(DecodeError::MalformedPem {
                line: line_number(text, block.begin),
                problem: PemProblem::EmptyBlock,
            }));
        }
        let der = base64.decode(body).map_err(|error| {
            // Problems at the end of the data are reported at the last line of data.
            let offset = match error.at {
                At::Offset(offset) => offset,
                At::End => body
                    .iter()
                    .rposition(|b| !b.is_ascii_whitespace())
                    .unwrap_or(0),
            };
            in_block(DecodeError::InvalidBase64 {
                line: line_number(text, block.body.start + offset),
                problem: error.problem,
            })
        })?;
        match block.label {
            Label::Certificate => {
                certificates.push(single_certificate(der).map_err(in_block)?);
            }
            Label::TrustedCertificate => {
                certificates.push(trusted_certificate(der).map_err(in_block)?);
            }
            Label::Pkcs7 => {
                let limit = DecodeOptions {
                    max_certificates: options.max_certificates.saturating_sub(certificates.len()),
                    ..options.clone()
                };
                let inner = pkcs7::certificates(der, &limit).map_err(|error| match error {
                    DecodeError::TooManyCertificates { found, .. } => {
                        DecodeError::TooManyCertificates {
                            found: found + certificates.len(),
                            limit: options.max_certificates,
                        }
                    }
                    other => in_block(other),
                })?;
                certificates.extend(inner);
            }
            Label::Refused(_) | Label::Unsupported(_) => {}
        }
        if certificates.len() > options.max_certificates {
            return Err(DecodeError::TooManyCertificates {
                found: certificates.len(),
                limit: options.max_certificates,
            });
        }
    }
    Ok(certificates)
}

/// `TRUSTED CERTIFICATE`: a certificate followed by one `X509_CERT_AUX` SEQUENCE.
fn trusted_certificate(der: &[u8]) -> Result<Certificate, DecodeError> {
    let mut reader = Reader::new(der);
    let certificate = der::check_certificate(&mut reader)?.certificate;
    if !reader.is_empty() {
        let auxiliary = reader.expect(Tag::SEQUENCE, "OpenSSL's trust settings SEQUENCE")?;
        der::walk(&auxiliary, 0)?;
        reader.finish("the trusted certificate")?;
    }
    Certificate::from_der(certificate.raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_at_every_line_end() {
        let text = b"a\r\nb\rc\nd";
        assert_eq!(line_from(text, 0), (&b"a"[..], 3));
        assert_eq!(line_from(text, 3), (&b"b"[..], 5));
        assert_eq!(line_from(text, 5), (&b"c"[..], 7));
        assert_eq!(line_from(text, 7), (&b"d"[..], 8));
        let numbers: Vec<_> = [0, 3, 5, 7].map(|at| line_number(text, at)).into();
        assert_eq!(numbers, vec![1, 2, 3, 4]);
        assert_eq!(line_count(text), 4);
        assert_eq!(line_count(b"a\n\n"), 2);
        assert_eq!(line_count(b""), 0);
    }

    #[test]
    fn armour_lines_are_recognised_with_spaces_around() {
        assert_eq!(
            armour(b"  -----BEGIN X509 CRL-----  ", b"BEGIN"),
            Some(&b"X509 CRL"[..])
        );
        assert_eq!(armour(b"-----BEGIN X509 CRL----", b"BEGIN"), None);
        assert_eq!(armour(b"-----BEGINCERT-----", b"BEGIN"), None);
    }

    #[test]
    fn refused_labels_name_what_was_found() {
        assert_eq!(
            label_meaning(b"OPENSSH PRIVATE KEY"),
            Label::Refused(DecodeError::PrivateKey {
                kind: PrivateKeyKind::OtherPem("OPENSSH PRIVATE KEY".into())
            })
        );
        assert_eq!(
            label_meaning(b"RSA PUBLIC KEY"),
            Label::Refused(DecodeError::PublicKey)
        );
        assert_eq!(
            label_meaning(b"DH PARAMETERS"),
            Label::Unsupported("DH PARAMETERS".into())
        );
    }
}
