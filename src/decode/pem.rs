//! PEM framing: finds `-----BEGIN label-----` … `-----END label-----` blocks in text that may
//! hold anything else around them (explanatory text, a BOM, CR/LF line ends, bytes that are
//! not UTF-8), and maps each label to what the decoder does with it.

use super::{base64, pkcs7, single_certificate, DecodeOptions};
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
}

fn label_meaning(label: &str, line: usize) -> Label {
    let key = |kind| Label::Refused(DecodeError::PrivateKey { kind });
    match label {
        "CERTIFICATE" | "X509 CERTIFICATE" => Label::Certificate,
        "TRUSTED CERTIFICATE" => Label::TrustedCertificate,
        "PKCS7" | "PKCS #7 SIGNED DATA" | "CMS" => Label::Pkcs7,
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
        other => Label::Refused(DecodeError::UnsupportedPemLabel {
            label: other.chars().take(64).collect(),
            line,
        }),
    }
}

/// Splits text into numbered lines (1-based) at LF, CRLF or a lone CR.
pub(crate) fn lines(text: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut rest = text;
    let mut number = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        number += 1;
        let end = rest
            .iter()
            .position(|b| *b == b'\n' || *b == b'\r')
            .unwrap_or(rest.len());
        let (line, after) = rest.split_at(end);
        rest = match after {
            [b'\r', b'\n', tail @ ..] | [b'\r', tail @ ..] | [b'\n', tail @ ..] => tail,
            _ => &[],
        };
        Some((number, line))
    })
}

struct Block<'a> {
    label: Label,
    line: usize,
    body: Vec<(usize, &'a [u8])>,
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
fn blocks(text: &[u8]) -> Result<Vec<Block<'_>>, DecodeError> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, Block<'_>, bool)> = None;
    for (number, line) in lines(text) {
        if let Some((label, mut block, in_headers)) = open.take() {
            if let Some(end) = armour(line, b"END") {
                let end = label_text(end);
                if end != label {
                    return Err(DecodeError::MalformedPem {
                        line: number,
                        problem: PemProblem::MismatchedEnd { begin: label, end },
                    });
                }
                blocks.push(block);
                continue;
            }
            if armour(line, b"BEGIN").is_some() {
                return Err(DecodeError::MalformedPem {
                    line: block.line,
                    problem: PemProblem::MissingEnd { label },
                });
            }
            // RFC 1421 headers ("Name: value", continued on indented lines) end at a blank line.
            let is_header = in_headers
                && (line.contains(&b':')
                    || (line.first().is_some_and(|b| *b == b' ' || *b == b'\t')
                        && !line.trim_ascii().is_empty()));
            let still_in_headers = is_header || (in_headers && line.trim_ascii().is_empty());
            if !is_header && !line.trim_ascii().is_empty() {
                block.body.push((number, line));
            }
            // Headers may only come before the first line of data.
            let in_headers = still_in_headers && block.body.is_empty();
            open = Some((label, block, in_headers));
            continue;
        }
        if let Some(label) = armour(line, b"BEGIN") {
            let label = label_text(label);
            let meaning = label_meaning(&label, number);
            if let Label::Refused(error @ DecodeError::PrivateKey { .. }) = meaning {
                return Err(error);
            }
            let block = Block {
                label: meaning,
                line: number,
                body: Vec::new(),
            };
            open = Some((label, block, true));
        } else if armour(line, b"END").is_some() {
            return Err(DecodeError::MalformedPem {
                line: number,
                problem: PemProblem::UnexpectedEnd,
            });
        }
    }
    if let Some((label, block, _)) = open {
        return Err(DecodeError::MalformedPem {
            line: block.line,
            problem: PemProblem::MissingEnd { label },
        });
    }
    Ok(blocks)
}

/// Decodes every block of a PEM file; refused whole if any block is not a certificate.
pub(crate) fn decode(
    text: &[u8],
    options: &DecodeOptions,
) -> Result<Vec<Certificate>, DecodeError> {
    let blocks = blocks(text)?;
    if let Some(error) = blocks.iter().find_map(|block| match &block.label {
        Label::Refused(error) => Some(error.clone()),
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
    for (index, block) in blocks.iter().enumerate() {
        let in_block = |error: DecodeError| match error {
            error @ DecodeError::PrivateKey { .. } => error,
            error => error.in_pem_block(index + 1, block.line),
        };
        if block.body.is_empty() {
            return Err(in_block(DecodeError::MalformedPem {
                line: block.line,
                problem: PemProblem::EmptyBlock,
            }));
        }
        let der = base64::decode_lines(block.body.iter().copied()).map_err(in_block)?;
        match block.label {
            Label::Certificate => {
                certificates.push(single_certificate(&der).map_err(in_block)?);
            }
            Label::TrustedCertificate => {
                certificates.push(trusted_certificate(&der).map_err(in_block)?);
            }
            Label::Pkcs7 => {
                let limit = DecodeOptions {
                    max_certificates: options.max_certificates.saturating_sub(certificates.len()),
                    ..options.clone()
                };
                let inner = pkcs7::certificates(&der, &limit).map_err(|error| match error {
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
            Label::Refused(_) => {}
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
    let certificate = der::check_certificate(&mut reader)?;
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
        let got: Vec<_> = lines(text).collect();
        assert_eq!(
            got,
            vec![
                (1, &b"a"[..]),
                (2, &b"b"[..]),
                (3, &b"c"[..]),
                (4, &b"d"[..])
            ]
        );
        assert_eq!(lines(b"").count(), 0);
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
            label_meaning("OPENSSH PRIVATE KEY", 1),
            Label::Refused(DecodeError::PrivateKey {
                kind: PrivateKeyKind::OtherPem("OPENSSH PRIVATE KEY".into())
            })
        );
        assert_eq!(
            label_meaning("RSA PUBLIC KEY", 1),
            Label::Refused(DecodeError::PublicKey)
        );
        assert_eq!(
            label_meaning("DH PARAMETERS", 7),
            Label::Refused(DecodeError::UnsupportedPemLabel {
                label: "DH PARAMETERS".into(),
                line: 7
            })
        );
    }
}
