//! [`ImportPolicy`]: what an import accepts (expired certificates, certificates that cannot
//! authenticate TLS clients, CA certificates), judged at an instant the caller gives.

use time::OffsetDateTime;

use super::StoreError;
use crate::certificate::Certificate;
use crate::decode::DecodeOptions;

/// What to accept on import. The defaults are the safe ones: expired certificates,
/// certificates that cannot authenticate TLS clients, and CA certificates are refused.
///
/// A stored CA certificate trusts only a client that presents that very certificate (with
/// its private key), like any stored certificate: it does not make the certificates it
/// issued trusted. A CA certificate in an upload is most often a mistake (a `fullchain.pem`
/// holds the intermediate CA beside the client's certificate), hence the default.
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

    /// Accept CA certificates (basicConstraints cA=TRUE) as trusted clients (default:
    /// refuse). The certificates a CA issued are not trusted by storing it.
    pub fn allow_ca(mut self, allow: bool) -> Self {
        self.allow_ca = allow;
        self
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

    /// Checks one certificate against the policy. Not-yet-valid certificates are accepted.
    pub fn check(&self, certificate: &Certificate) -> Result<(), StoreError> {
        self.check_in_upload(certificate, 1)
    }

    /// [`check`](Self::check) for the certificate at `position` (1-based) of an upload,
    /// which the errors that need it name.
    pub fn check_in_upload(
        &self,
        certificate: &Certificate,
        position: usize,
    ) -> Result<(), StoreError> {
        let summary = certificate.summary();
        if !self.allow_expired && summary.validity.is_expired_at(self.now) {
            return Err(StoreError::Expired {
                name: certificate.name(),
                subject: summary.subject.to_string(),
                not_after: summary.validity.not_after,
            });
        }
        if !self.allow_without_client_auth && !summary.client_auth {
            return Err(StoreError::NotForClientAuth {
                name: certificate.name(),
                subject: summary.subject.to_string(),
            });
        }
        if !self.allow_ca && summary.is_ca {
            return Err(StoreError::CaCertificate {
                position,
                name: certificate.name(),
                subject: summary.subject.to_string(),
            });
        }
        Ok(())
    }
}
