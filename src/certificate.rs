//! [`Certificate`]: one parsed X.509 certificate, its DER and its summary.

use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::der::{self, Reader};
use crate::error::DecodeError;
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::summary::{CertificateSummary, Names};

/// An X.509 certificate, parsed once: its DER bytes and its [`CertificateSummary`].
///
/// Immutable and cheap to clone (the bytes and the summary are shared). Two certificates are
/// equal when their DER bytes are.
///
/// ```
/// use inbound_certs::Certificate;
///
/// let der = std::fs::read("tests/data/ed25519.der")?;
/// let certificate = Certificate::from_der(&der)?;
/// assert_eq!(certificate.der(), &der[..]);
/// assert!(certificate.name().to_string().starts_with("cert_client_"));
/// println!("{}", certificate.summary().subject);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Certificate(Arc<Inner>);

struct Inner {
    /// Shared with the summary's names, which are read from it when first asked for.
    der: Arc<[u8]>,
    summary: CertificateSummary,
    /// Whether it is self-signed: computed when first asked (a signature verification).
    self_signed: OnceLock<bool>,
}

impl Certificate {
    /// Parses exactly one DER-encoded certificate.
    ///
    /// The structure is checked as strictly as TLS stacks do (see the crate docs for what is
    /// refused and what is accepted); bytes after the certificate are an error.
    pub fn from_der(der: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(der);
        let outline = der::check_certificate(&mut reader)?;
        if !reader.is_empty() {
            return Err(DecodeError::TrailingData {
                offset: reader.offset(),
                count: reader.remaining().len(),
            });
        }
        let place = |name: der::Tlv<'_>| name.offset..name.offset + name.raw.len();
        let serial = &outline.serial;
        let names = Names {
            der: der.into(),
            serial: serial.content_offset..serial.content_offset + serial.content.len(),
            issuer: place(outline.issuer),
            subject: place(outline.subject),
        };
        let summary = CertificateSummary::from_outline(Fingerprint::of_der(der), &outline, &names)?;
        Ok(Certificate(Arc::new(Inner {
            der: names.der,
            summary,
            self_signed: OnceLock::new(),
        })))
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.0.der
    }

    /// The certificate in PEM, as `openssl x509` writes it: a `CERTIFICATE` block with the
    /// base64 of the DER in lines of 64 characters, each line ended by `\n`.
    ///
    /// ```
    /// let pem = std::fs::read("tests/data/sample_source.pem")?;
    /// let certificate = &inbound_certs::decode(&pem)?[0];
    /// let again = inbound_certs::decode(certificate.to_pem().as_bytes())?;
    /// assert_eq!(again[0].der(), certificate.der());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_pem(&self) -> String {
        use base64::Engine as _;
        let body = base64::engine::general_purpose::STANDARD.encode(self.der());
        let mut pem = String::with_capacity(body.len() + body.len() / 64 + 60);
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in body.as_bytes().chunks(64) {
            // Base64 is ASCII.
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    /// Everything an administrator sees about the certificate.
    pub fn summary(&self) -> &CertificateSummary {
        &self.0.summary
    }

    /// Whether the certificate is self-signed: its subject and issuer are the same name and
    /// its signature verifies with its own public key. A client's own certificate made with
    /// `openssl req -x509` is; a certificate issued by a CA is not. Computed (one signature
    /// verification) the first time it is asked, then kept. A signature algorithm this crate
    /// cannot verify (DSA, Ed448, RSA keys under 2048 bits with SHA-2, …) answers `false`.
    ///
    /// ```
    /// let own = std::fs::read("tests/data/ec_p384_selfsigned.pem")?;
    /// assert!(inbound_certs::decode(&own)?[0].is_self_signed());
    /// let issued = std::fs::read("tests/data/ec_p256.pem")?;
    /// assert!(!inbound_certs::decode(&issued)?[0].is_self_signed());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_self_signed(&self) -> bool {
        *self.0.self_signed.get_or_init(|| {
            self.0.summary.self_issued
                && match x509_parser::parse_x509_certificate(&self.0.der) {
                    Ok((_, parsed)) => parsed.verify_signature(None).is_ok(),
                    Err(_) => false,
                }
        })
    }

    /// Whether this certificate renews `older`: another certificate for the same client (the
    /// same subject and issuer, or the same public key) whose validity ends before this one's.
    ///
    /// ```
    /// let older = inbound_certs::decode(&std::fs::read("tests/data/expired.pem")?)?.remove(0);
    /// let newer = inbound_certs::decode(&std::fs::read("tests/data/not_yet_valid.pem")?)?.remove(0);
    /// // Issued to different subjects, but for the same key.
    /// assert!(newer.renews(&older));
    /// assert!(!older.renews(&newer));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn renews(&self, older: &Certificate) -> bool {
        let (new, old) = (self.summary(), older.summary());
        let same_client = (new.subject.der() == old.subject.der()
            && new.issuer.der() == old.issuer.der())
            || crate::der::subject_public_key_info(self.der()).map(|key| key.raw)
                == crate::der::subject_public_key_info(older.der()).map(|key| key.raw);
        self != older && same_client && old.validity.not_after < new.validity.not_after
    }

    /// `cert_client_<fingerprint>`.
    pub fn name(&self) -> CertificateName {
        self.0.summary.name
    }

    /// SHA-256 of the DER.
    pub fn fingerprint(&self) -> Fingerprint {
        self.0.summary.fingerprint
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.der == other.0.der
    }
}

impl Eq for Certificate {}

impl std::hash::Hash for Certificate {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.fingerprint().hash(state);
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("name", &self.name())
            .field("subject", &self.summary().subject.to_string())
            .finish_non_exhaustive()
    }
}
