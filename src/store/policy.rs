//! [`ImportPolicy`]: what an import accepts (expired certificates, certificates that cannot
//! authenticate TLS clients, CA certificates), judged at an instant the caller gives.

use std::collections::HashSet;

use time::OffsetDateTime;

use super::{ImportRefusal, RefusalReason};
use crate::certificate::Certificate;
use crate::decode::DecodeOptions;
use crate::summary::{TlsKeyTypes, Weakness, OID_CLIENT_AUTH};

/// What to accept on import. The defaults are the safe ones: expired certificates,
/// certificates not for TLS client authentication and certificates that could never
/// authenticate (a [`Weakness`] that prevents it) are refused; CA certificates are skipped
/// beside a client certificate and refused alone (see [`judge`](Self::judge)).
///
/// A stored CA certificate trusts only a client that presents that very certificate (with
/// its private key), like any stored certificate: it does not make the certificates it
/// issued trusted. A CA certificate in an upload is most often the chain of the client's
/// certificate (a `fullchain.pem` holds the intermediate CA beside it), hence the default.
///
/// `now` is the instant "expired" is judged at; the library never reads the clock itself.
///
/// ```
/// use inbound_certs::ImportPolicy;
/// use time::OffsetDateTime;
///
/// let policy = ImportPolicy::new(OffsetDateTime::now_utc()).allow_expired(true);
/// assert!(policy.allows_expired());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportPolicy {
    now: OffsetDateTime,
    allow_expired: bool,
    allow_without_client_auth: bool,
    allow_ca: bool,
    allow_weak: bool,
    tls_keys: TlsKeyTypes,
    upload_name: Option<String>,
    pub(crate) decode: DecodeOptions,
}

impl ImportPolicy {
    /// The default policy, judging expiry at `now`.
    pub fn new(now: OffsetDateTime) -> Self {
        ImportPolicy {
            now,
            allow_expired: false,
            allow_without_client_auth: false,
            allow_ca: false,
            allow_weak: false,
            tls_keys: TlsKeyTypes::common(),
            upload_name: None,
            decode: DecodeOptions::default(),
        }
    }

    /// Accept certificates whose validity ended before `now` (default: refuse).
    pub fn allow_expired(mut self, allow: bool) -> Self {
        self.allow_expired = allow;
        self
    }

    /// Accept certificates whose extended key usage excludes TLS client authentication
    /// (default: refuse).
    pub fn allow_without_client_auth(mut self, allow: bool) -> Self {
        self.allow_without_client_auth = allow;
        self
    }

    /// Accept CA certificates (basicConstraints cA=TRUE) as trusted clients, and import
    /// those of a chain rather than skip them (default: no). The certificates a CA issued are
    /// not trusted by storing it.
    pub fn allow_ca(mut self, allow: bool) -> Self {
        self.allow_ca = allow;
        self
    }

    /// Accept certificates that could never authenticate a client: a key TLS refuses (RSA
    /// under 2048 bits) or that the TLS provider does not verify (default: refuse; see
    /// [`Weakness`]). Weak signatures (MD5, SHA-1) are reported, never refused.
    pub fn allow_weak(mut self, allow: bool) -> Self {
        self.allow_weak = allow;
        self
    }

    /// The key types the service's TLS provider verifies (default: [`TlsKeyTypes::common`];
    /// with the `rustls` feature, [`TlsKeyTypes::of_provider`]).
    pub fn tls_key_types(mut self, keys: TlsKeyTypes) -> Self {
        self.tls_keys = keys;
        self
    }

    /// Whether certificates that could never authenticate a client are accepted.
    pub fn allows_weak(&self) -> bool {
        self.allow_weak
    }

    /// The key types a client's key must be of.
    pub fn key_types(&self) -> &TlsKeyTypes {
        &self.tls_keys
    }

    /// The name of the upload (its file names, as the administrator chose them), which the
    /// audit records of the import give (default: none).
    pub fn upload_name(mut self, name: impl Into<String>) -> Self {
        self.upload_name = Some(name.into());
        self
    }

    /// The upload's name, if one was given.
    pub fn upload(&self) -> Option<&str> {
        self.upload_name.as_deref()
    }

    /// The limits used when decoding uploads (default: [`DecodeOptions::default`]).
    pub fn decode_options(mut self, options: DecodeOptions) -> Self {
        self.decode = options;
        self
    }

    /// The instant expiry is judged at.
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// Whether expired certificates are accepted.
    pub fn allows_expired(&self) -> bool {
        self.allow_expired
    }

    /// Whether certificates without TLS client authentication are accepted.
    pub fn allows_without_client_auth(&self) -> bool {
        self.allow_without_client_auth
    }

    /// Whether CA certificates are accepted.
    pub fn allows_ca(&self) -> bool {
        self.allow_ca
    }

    /// Checks one certificate, uploaded alone, against the policy. Not-yet-valid
    /// certificates are accepted.
    pub fn check(&self, certificate: &Certificate) -> Result<(), ImportRefusal> {
        match self.judge(std::slice::from_ref(certificate)).pop() {
            Some(Verdict::Refuse(error)) => Err(error),
            _ => Ok(()),
        }
    }

    /// What an import does with each certificate of an upload, in order, before anything is
    /// stored: the import goes on if no certificate is refused, and stores those to import.
    ///
    /// - A CA certificate (basicConstraints cA=TRUE) beside a certificate that is imported is
    ///   skipped, unless CA certificates are allowed: a `fullchain.pem` holds the client's
    ///   certificate and the CAs of its chain, and a pinned client certificate is trusted by
    ///   itself, without its chain. An upload of CA certificates alone is refused.
    /// - A client's own self-signed certificate is imported even if it says cA=TRUE (as
    ///   `openssl req -x509` makes it): [self-signed](Certificate::is_self_signed), valid for
    ///   TLS client authentication, without a pathLenConstraint, not limited to
    ///   keyCertSign without clientAuth, and issuing no other certificate of the upload.
    /// - Every other certificate is checked for expiry and client authentication.
    ///
    /// Linear in the number of certificates.
    ///
    /// ```
    /// use inbound_certs::{ImportPolicy, store::{SkipReason, Verdict}};
    /// use time::macros::datetime;
    ///
    /// // A client certificate followed by the intermediate CA that issued it.
    /// let upload = inbound_certs::decode(&std::fs::read("tests/data/fullchain.pem")?)?;
    /// let verdicts = ImportPolicy::new(datetime!(2026-06-01 0:00 UTC)).judge(&upload);
    /// assert!(matches!(verdicts[0], Verdict::Import));
    /// assert!(matches!(verdicts[1], Verdict::Skip(SkipReason::ChainCa)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn judge(&self, certificates: &[Certificate]) -> Vec<Verdict> {
        // The names that issued a certificate of the upload (other than itself).
        let issuers: HashSet<&[u8]> = certificates
            .iter()
            .map(Certificate::summary)
            .filter(|summary| !summary.self_issued)
            .map(|summary| summary.issuer.der())
            .collect();
        let mut verdicts: Vec<Verdict> = certificates
            .iter()
            .zip(1..)
            .map(|(certificate, position)| {
                let summary = certificate.summary();
                let chain_ca = summary.is_ca
                    && !self.allow_ca
                    && (issuers.contains(summary.subject.der()) || !is_clients_own(certificate));
                if chain_ca {
                    return Verdict::Skip(SkipReason::ChainCa);
                }
                match self.refusal_reason(certificate) {
                    None => Verdict::Import,
                    Some(reason) => Verdict::Refuse(refusal(certificate, position, reason)),
                }
            })
            .collect();
        // Nothing but CA certificates: the upload is a mistake, not a chain.
        if verdicts.iter().all(|v| matches!(v, Verdict::Skip(_))) {
            for ((verdict, certificate), position) in verdicts.iter_mut().zip(certificates).zip(1..)
            {
                *verdict =
                    Verdict::Refuse(refusal(certificate, position, RefusalReason::CaCertificate));
            }
        }
        verdicts
    }

    /// Why the policy refuses a certificate that is not a CA's, if it does.
    fn refusal_reason(&self, certificate: &Certificate) -> Option<RefusalReason> {
        let summary = certificate.summary();
        if !self.allow_expired && summary.validity.is_expired_at(self.now) {
            return Some(RefusalReason::Expired {
                not_after: summary.validity.not_after,
            });
        }
        if !self.allow_without_client_auth && !summary.client_auth {
            return Some(RefusalReason::NotForClientAuth);
        }
        if !self.allow_weak {
            return summary
                .weaknesses(&self.tls_keys)
                .into_iter()
                .find(Weakness::prevents_authentication)
                .map(RefusalReason::WeakKey);
        }
        None
    }
}

fn refusal(certificate: &Certificate, position: usize, reason: RefusalReason) -> ImportRefusal {
    ImportRefusal {
        position,
        name: certificate.name(),
        subject: certificate.summary().subject.to_string(),
        reason,
    }
}

/// Whether a CA certificate is a client's own self-signed certificate rather than a CA's:
/// self-signed, for client authentication, with no path length, and not a certificate
/// signer without clientAuth. (Whether it issued another certificate of the upload is the
/// caller's to check.)
fn is_clients_own(certificate: &Certificate) -> bool {
    let summary = certificate.summary();
    let explicit_client_auth = summary
        .extended_key_usage
        .iter()
        .any(|oid| oid.as_str() == OID_CLIENT_AUTH);
    let signs_certificates = summary.key_usage.is_some_and(|usage| usage.key_cert_sign());
    summary.self_issued
        && summary.client_auth
        && summary.path_len_constraint.is_none()
        && (!signs_certificates || explicit_client_auth)
        && certificate.is_self_signed()
}

/// What an import does with one certificate of an upload ([`ImportPolicy::judge`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum Verdict {
    /// The certificate is stored (or found stored already).
    Import,
    /// The certificate is left out; the import goes on without it.
    Skip(SkipReason),
    /// The certificate is refused, and with it the whole upload: nothing is stored.
    Refuse(ImportRefusal),
}

/// Why a certificate of an upload was left out of its import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkipReason {
    /// A CA certificate uploaded beside the client's certificate (the chain of a
    /// `fullchain.pem`): a pinned client certificate is trusted by itself, and storing its
    /// CA would trust only a client presenting the CA's own certificate.
    ChainCa,
}

impl SkipReason {
    /// A stable code for programs: `chain_ca`.
    pub fn code(&self) -> &'static str {
        match self {
            SkipReason::ChainCa => "chain_ca",
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SkipReason::ChainCa => {
                "a CA certificate of the chain; a pinned client certificate needs no chain"
            }
        })
    }
}
