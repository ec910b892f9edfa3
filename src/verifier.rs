//! [`StoreClientVerifier`]: a rustls client-certificate verifier that trusts exactly the
//! certificates in a [`CertificateStore`] (feature `rustls`).

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, SubjectPublicKeyInfoDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::NoServerSessionStorage;
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, PeerMisbehaved,
    ServerConfig,
};
use time::OffsetDateTime;

use crate::certificate::Certificate;
use crate::der::Tag;
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::registry::{Registry, Trusted};
use crate::store::{CertificateStore, StoreError};
use crate::system::SystemName;

/// A rustls [`ClientCertVerifier`] that trusts a client when the certificate it presents is in
/// a [`CertificateStore`] (or trusted by a system of a [`Registry`]) and valid at handshake
/// time. Needs the feature `rustls`.
///
/// Trust is pinned to the end-entity certificate itself: the verifier hashes the presented
/// DER (SHA-256), looks its [`CertificateName`] up with [`CertificateStore::get`] (one lookup,
/// never a listing) and compares the stored DER byte for byte. Issuers and the intermediates a
/// client sends play no part, so a certificate from any CA, or a self-signed one, is trusted
/// exactly when an administrator has imported it. The store is consulted on every handshake:
/// importing a certificate admits its holder on the next handshake, and deleting it shuts them
/// out, without rebuilding the server's configuration.
///
/// The handshake signatures (TLS 1.2 and TLS 1.3) are still verified with the crypto
/// provider's algorithms against the certificate's public key, so a client must hold the
/// private key of the certificate it presents. Only the public key is read for that, so every
/// certificate the store accepts can be used, including those webpki-based verifiers refuse (a
/// v1 certificate, an unknown critical extension). No CA names are sent to clients.
///
/// | The client presents | Refused with | TLS alert |
/// |---|---|---|
/// | a certificate not in the store | [`VerifierError::NotInStore`] in [`CertificateError::Other`] | `certificate_unknown` |
/// | (over a registry) a certificate no accepted system trusts | [`VerifierError::NotTrusted`] in [`CertificateError::Other`] | `certificate_unknown` |
/// | (over a registry) a certificate every accepted system that holds it [suspended](crate::SystemStore::suspend) | [`CertificateError::Revoked`] (see [`VerifierError::Suspended`]) | `certificate_revoked` |
/// | a stored certificate, but the store could not be read | [`VerifierError::Store`] in [`CertificateError::Other`] | `certificate_unknown` |
/// | a stored certificate past its `notAfter` | [`CertificateError::ExpiredContext`] | `certificate_expired` |
/// | a stored certificate before its `notBefore` | [`CertificateError::NotValidYetContext`] | `certificate_expired` |
/// | a stored certificate, signed with another key | [`CertificateError::BadSignature`] | `decrypt_error` |
/// | no certificate (unless [`allow_unauthenticated`](Self::allow_unauthenticated)) | rustls' `NoCertificatesPresented` | `certificate_required` (TLS 1.3), `handshake_failure` (TLS 1.2) |
///
/// # Session resumption
///
/// rustls does not ask the verifier again when a client resumes an earlier session: it
/// restores the certificate from the session. With rustls' default `ServerConfig`, a client
/// whose certificate has been deleted could therefore keep resuming. Build the configuration
/// with [`into_server_config`](Self::into_server_config), which turns resumption off, or turn it
/// off yourself (`session_storage = Arc::new(NoServerSessionStorage {})`,
/// `send_tls13_tickets = 0`, no `ticketer`), so that every connection is a full handshake that
/// consults the store.
///
/// The crate enables no crypto provider of rustls: pass the one the service uses.
///
/// ```
/// use std::sync::Arc;
/// use inbound_certs::{StoreClientVerifier, SystemKind, backend::MemoryStore};
/// use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
///
/// let server_chain = vec![CertificateDer::from_pem_file("tests/data/tls/server.pem")?];
/// let server_key = PrivateKeyDer::from_pem_file("tests/data/tls/server.key")?;
///
/// let provider = Arc::new(rustls::crypto::ring::default_provider());
/// let store = Arc::new(MemoryStore::new(SystemKind::Source)?);
/// let config = StoreClientVerifier::new(store.clone(), provider)
///     .into_server_config(server_chain, server_key)?;
/// // Certificates imported into `store` from now on are trusted on the next handshake.
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct StoreClientVerifier {
    trust: Trust,
    provider: Arc<CryptoProvider>,
    algorithms: WebPkiSupportedAlgorithms,
    mandatory: bool,
}

impl StoreClientVerifier {
    /// A verifier over `store` that checks handshake signatures with `provider`'s algorithms
    /// and requires every client to present a certificate.
    pub fn new(store: Arc<dyn CertificateStore>, provider: Arc<CryptoProvider>) -> Self {
        Self::with_trust(Trust::Store(store), provider)
    }

    /// A verifier that trusts a client when a source or proxy system of `registry` trusts
    /// the certificate it presents (narrow it with [`only_systems`](Self::only_systems)).
    /// After the handshake, the service finds which system called with
    /// [`Registry::identify_der`] on the peer's certificate.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use inbound_certs::{Registry, StoreClientVerifier};
    ///
    /// let registry = Registry::in_memory();
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let verifier = StoreClientVerifier::for_registry(registry.clone(), provider)
    ///     .only_systems(["crm".parse()?, "gateway".parse()?]);
    /// // After a handshake on a connection `tls`:
    /// // let der = &tls.peer_certificates().unwrap()[0];
    /// // let systems = registry.identify_der(der)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn for_registry(registry: Registry, provider: Arc<CryptoProvider>) -> Self {
        Self::with_trust(
            Trust::Registry {
                registry,
                only: None,
            },
            provider,
        )
    }

    /// Trusts only the certificates of these systems (for a verifier made with
    /// [`for_registry`](Self::for_registry); a listener that serves one system's API trusts
    /// that system alone). Has no effect on a verifier over a single store.
    pub fn only_systems(mut self, systems: impl IntoIterator<Item = SystemName>) -> Self {
        if let Trust::Registry { only, .. } = &mut self.trust {
            *only = Some(systems.into_iter().collect());
        }
        self
    }

    fn with_trust(trust: Trust, provider: Arc<CryptoProvider>) -> Self {
        StoreClientVerifier {
            trust,
            algorithms: provider.signature_verification_algorithms,
            provider,
            mandatory: true,
        }
    }

    /// The stored certificate with this name, if the trusted store or systems hold it (and,
    /// over a registry, the accepted systems that hold it suspended when none trusts it).
    fn find(&self, name: &CertificateName) -> Result<Found, rustls::Error> {
        let found = match &self.trust {
            Trust::Store(store) => store
                .get(name)
                .map(|found| found.map_or(Found::Not, Found::Trusted))
                .map_err(|source| VerifierError::Store {
                    name: *name,
                    source,
                }),
            Trust::Registry { registry, only } => registry
                .find_trusted(name, |system| {
                    only.as_ref()
                        .is_none_or(|only| only.contains(system.name()))
                })
                .map(|found| match found {
                    Trusted::By(certificate) => Found::Trusted(certificate),
                    Trusted::Suspended(systems) => Found::Suspended(
                        systems
                            .into_iter()
                            .map(|system| system.name().clone())
                            .collect(),
                    ),
                    Trusted::Not => Found::Not,
                })
                .map_err(|source| VerifierError::Store {
                    name: *name,
                    source,
                }),
        };
        found.map_err(rustls::Error::from)
    }

    /// A server configuration that verifies clients with this verifier and presents
    /// `certificate_chain` (the server's certificate first) with `key`: rustls' safe default
    /// protocol versions (TLS 1.2 and 1.3), the verifier's crypto provider, and session
    /// resumption turned off so that every connection consults the store (see
    /// [Session resumption](Self#session-resumption)). Its public fields (ALPN protocols,
    /// key logging, …) can be set afterwards.
    ///
    /// Fails when the key does not suit the provider or does not match the certificate.
    pub fn into_server_config(
        self,
        certificate_chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<ServerConfig, rustls::Error> {
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(Arc::new(self))
            .with_single_cert(certificate_chain, key)?;
        config.session_storage = Arc::new(NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        Ok(config)
    }

    /// Lets clients connect without a certificate; the server then decides what an
    /// anonymous client may do. A client that does present a certificate is still verified.
    pub fn allow_unauthenticated(mut self) -> Self {
        self.mandatory = false;
        self
    }
}

impl fmt::Debug for StoreClientVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let trust = match &self.trust {
            Trust::Store(store) => format!("a {} store", store.system_kind()),
            Trust::Registry { only: None, .. } => "a registry's source and proxy systems".into(),
            Trust::Registry {
                only: Some(only), ..
            } => format!("{} systems of a registry", only.len()),
        };
        f.debug_struct("StoreClientVerifier")
            .field("trust", &trust)
            .field("mandatory", &self.mandatory)
            .finish_non_exhaustive()
    }
}

/// What a verifier found of a presented certificate.
enum Found {
    Trusted(Certificate),
    /// Held by these accepted systems, each of which suspended it.
    Suspended(Vec<SystemName>),
    Not,
}

/// What a verifier trusts.
enum Trust {
    Store(Arc<dyn CertificateStore>),
    Registry {
        registry: Registry,
        /// `None`: every source and proxy system.
        only: Option<std::collections::BTreeSet<SystemName>>,
    },
}

/// Why [`StoreClientVerifier`] (feature `rustls`) refused a client certificate, carried to rustls in
/// [`CertificateError::Other`] (the client receives a `certificate_unknown` alert).
///
/// Expiry and bad signatures are reported with rustls' own [`CertificateError`] variants, so
/// that the client receives the matching alert.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifierError {
    /// No certificate with the presented certificate's fingerprint is in the store.
    #[error("client certificate {name} is not in the store")]
    NotInStore {
        /// The name the presented certificate would have in the store.
        name: CertificateName,
    },
    /// No system the verifier accepts (every source and proxy system of its registry, or
    /// those given to [`StoreClientVerifier::only_systems`]) trusts the presented certificate.
    #[error("client certificate {name} is not trusted by any system this server accepts")]
    NotTrusted {
        /// The name the presented certificate has in the systems' stores.
        name: CertificateName,
    },
    /// Every accepted system that holds the presented certificate has
    /// [suspended](crate::SystemStore::suspend) it (and none trusts it). Carried to rustls as
    /// [`CertificateError::Revoked`] (which carries no detail), so that the client receives
    /// a `certificate_revoked` alert; the server's log sees `Revoked`.
    #[error("client certificate {name} is suspended in every system that holds it ({})", crate::system::join_names(.systems))]
    Suspended {
        /// The name of the presented certificate.
        name: CertificateName,
        /// The accepted systems that hold it suspended, sorted by name.
        systems: Vec<SystemName>,
    },
    /// The store failed to look the certificate up (an I/O error, a damaged file).
    #[error("could not look up client certificate {name} in the store")]
    Store {
        /// The name looked up.
        name: CertificateName,
        /// What went wrong.
        #[source]
        source: StoreError,
    },
}

impl From<VerifierError> for rustls::Error {
    fn from(error: VerifierError) -> Self {
        match error {
            VerifierError::Suspended { .. } => {
                rustls::Error::InvalidCertificate(CertificateError::Revoked)
            }
            error => rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(
                Arc::new(error),
            ))),
        }
    }
}

impl StoreClientVerifier {
    /// Checks a TLS 1.2 handshake signature against the certificate's public key, with the
    /// provider's algorithms for the scheme, matched to the key the way webpki matches them.
    fn verify_tls12(
        &self,
        message: &[u8],
        certificate: &[u8],
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let candidates = self
            .algorithms
            .mapping
            .iter()
            .find(|(scheme, _)| *scheme == signature.scheme)
            .map(|(_, algorithms)| *algorithms)
            .ok_or(rustls::Error::PeerMisbehaved(
                PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme,
            ))?;
        let key_info = crate::der::subject_public_key_info(certificate).ok_or(bad_encoding())?;
        let mut parts = key_info.reader();
        let key_algorithm = parts
            .expect(Tag::SEQUENCE, "algorithm")
            .map_err(|_| bad_encoding())?;
        let public_key = match parts.expect(Tag::BIT_STRING, "subjectPublicKey") {
            Ok(bits) => match bits.content.split_first() {
                Some((0, key)) => key,
                _ => return Err(bad_encoding()),
            },
            Err(_) => return Err(bad_encoding()),
        };
        // TLS 1.2's ECDSA schemes allow any curve: each algorithm of the scheme is a
        // candidate, and the one for the certificate's key (and curve) is used.
        let algorithm = candidates
            .iter()
            .find(|algorithm| algorithm.public_key_alg_id().as_ref() == key_algorithm.content)
            .ok_or_else(|| {
                rustls::Error::InvalidCertificate(
                    CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext {
                        signature_algorithm_id: candidates
                            .first()
                            .map(|algorithm| algorithm.signature_alg_id().as_ref().to_vec())
                            .unwrap_or_default(),
                        public_key_algorithm_id: key_algorithm.content.to_vec(),
                    },
                )
            })?;
        algorithm
            .verify_signature(public_key, message, signature.signature())
            .map(|()| HandshakeSignatureValid::assertion())
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadSignature))
    }
}

fn bad_encoding() -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::BadEncoding)
}

impl ClientCertVerifier for StoreClientVerifier {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let name = CertificateName::from(Fingerprint::of_der(end_entity));
        let found = self.find(&name).inspect_err(|_| decision("store_error"))?;
        let certificate = match found {
            Found::Trusted(certificate) if certificate.der() == end_entity.as_ref() => certificate,
            Found::Suspended(systems) => {
                decision("suspended");
                return Err(VerifierError::Suspended { name, systems }.into());
            }
            _ if matches!(self.trust, Trust::Registry { .. }) => {
                decision("not_trusted");
                return Err(VerifierError::NotTrusted { name }.into());
            }
            _ => {
                decision("not_in_store");
                return Err(VerifierError::NotInStore { name }.into());
            }
        };
        let validity = &certificate.summary().validity;
        let time = to_offset(now);
        if time < validity.not_before {
            decision("not_yet_valid");
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidYetContext {
                    time: now,
                    not_before: to_unix(validity.not_before),
                },
            ));
        }
        if validity.is_expired_at(time) {
            decision("expired");
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::ExpiredContext {
                    time: now,
                    not_after: to_unix(validity.not_after),
                },
            ));
        }
        if matches!(self.trust, Trust::Registry { .. }) {
            ACCEPTED.set(Some(certificate));
        }
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let verified = signed(self.verify_tls12(message, certificate, signature));
        self.record_use(&verified, certificate);
        verified
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let key_info = crate::der::subject_public_key_info(certificate).ok_or(bad_encoding())?;
        let verified = signed(rustls::crypto::verify_tls13_signature_with_raw_key(
            message,
            &SubjectPublicKeyInfoDer::from(key_info.raw),
            signature,
            &self.algorithms,
        ));
        self.record_use(&verified, certificate);
        verified
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl StoreClientVerifier {
    /// Records an accepted client's use of its certificate in the registry
    /// ([`Registry::record_use`], without the peer's address, which rustls does not give a
    /// verifier): once its handshake signature proved it holds the key, not before.
    fn record_use(
        &self,
        verified: &Result<HandshakeSignatureValid, rustls::Error>,
        certificate: &CertificateDer<'_>,
    ) {
        if let (Ok(_), Trust::Registry { registry, .. }) = (verified, &self.trust) {
            registry.record_use(&accepted_fingerprint(certificate), None);
        }
    }
}

thread_local! {
    /// The certificate this thread's last [`StoreClientVerifier::verify_client_cert`] over a
    /// registry accepted, handed to the handshake signature's check on the same thread so that
    /// recording the use does not hash the certificate a second time. Taken by that check.
    static ACCEPTED: Cell<Option<Certificate>> = const { Cell::new(None) };
}

/// The fingerprint of `presented`, whose handshake signature was just verified: the one of the
/// certificate this thread last accepted when it is the same DER (a comparison of the bytes,
/// about 500 of them), else its SHA-256 (rustls may check the signature on another thread than
/// the certificate, or after another connection's certificate on this one).
fn accepted_fingerprint(presented: &CertificateDer<'_>) -> Fingerprint {
    match ACCEPTED.take() {
        Some(accepted) if accepted.der() == presented.as_ref() => accepted.fingerprint(),
        _ => Fingerprint::of_der(presented),
    }
}

/// Counts a verifier decision (`inbound_certs_verifier_decisions_total{outcome}`).
fn decision(outcome: &'static str) {
    metrics::counter!("inbound_certs_verifier_decisions_total", "outcome" => outcome).increment(1);
}

/// The last step of a client's authentication: its handshake signature. Counted `accepted`
/// when it verifies (the certificate was found trusted and valid just before), else
/// `bad_signature`.
fn signed(
    result: Result<HandshakeSignatureValid, rustls::Error>,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    decision(if result.is_ok() {
        "accepted"
    } else {
        "bad_signature"
    });
    result
}

/// `now` as a date; a time past what `time` can represent (year 9999) counts as the last
/// representable instant, which every certificate has expired by.
fn to_offset(now: UnixTime) -> OffsetDateTime {
    i64::try_from(now.as_secs())
        .ok()
        .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
        .unwrap_or_else(|| time::PrimitiveDateTime::MAX.assume_utc())
}

/// A certificate date for rustls' messages; dates before 1970 are given as the epoch.
fn to_unix(date: OffsetDateTime) -> UnixTime {
    let seconds = u64::try_from(date.unix_timestamp()).unwrap_or(0);
    UnixTime::since_unix_epoch(Duration::from_secs(seconds))
}
