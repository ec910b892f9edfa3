//! [`InboundClient`]: who is calling, decided again for every request.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::Refusal;
use crate::certificate::Certificate;
use crate::fingerprint::CertificateName;
use crate::registry::authorize::{count, permitted};
use crate::registry::{Registry, Unauthorized};
use crate::summary::DistinguishedName;
use crate::system::{Permission, System};

/// The client of a request served by the mTLS front door ([`serve`](super::serve)): the
/// certificate it presented in the TLS handshake, its address, and the source and proxy
/// systems that trust the certificate at the time of this request. Needs the feature `axum`.
///
/// The front door puts one in the extensions of every request it lets through, and it is an
/// axum extractor: a handler that takes an `InboundClient` runs only for a trusted client. A
/// request without one (a router served by something else than the front door) is answered
/// with 500 [`Refusal::NoInboundClient`], never let through. Cheap to clone.
///
/// ```
/// use axum::Json;
/// use inbound_certs::server::InboundClient;
///
/// async fn whoami(client: InboundClient) -> Json<Vec<String>> {
///     Json(client.systems().iter().map(|system| system.name().to_string()).collect())
/// }
/// let app: axum::Router = axum::Router::new().route("/whoami", axum::routing::get(whoami));
/// ```
#[derive(Debug, Clone)]
pub struct InboundClient {
    peer: Arc<Peer>,
    systems: Arc<[System]>,
}

/// What a connection knows of its client once the handshake is done, worked out once.
#[derive(Debug)]
pub(super) struct Peer {
    pub(super) certificate: Certificate,
    pub(super) name: CertificateName,
    pub(super) address: SocketAddr,
}

impl Peer {
    pub(super) fn new(certificate: Certificate, address: SocketAddr) -> Self {
        Peer {
            name: certificate.name(),
            certificate,
            address,
        }
    }
}

impl InboundClient {
    /// The name of the certificate the client presented (`cert_client_<fingerprint>`).
    pub fn certificate_name(&self) -> CertificateName {
        self.peer.name
    }

    /// The subject of the certificate the client presented.
    pub fn subject(&self) -> &DistinguishedName {
        &self.peer.certificate.summary().subject
    }

    /// The certificate the client presented.
    pub fn certificate(&self) -> &Certificate {
        &self.peer.certificate
    }

    /// The client's address (the TCP peer of the connection).
    pub fn peer(&self) -> SocketAddr {
        self.peer.address
    }

    /// The source and proxy systems that trust the certificate at the time of the request,
    /// sorted by name, each with its kind; never empty.
    pub fn systems(&self) -> &[System] {
        &self.systems
    }

    /// The client that presented `certificate` from `peer`, if a source or proxy system of
    /// `registry` trusts the certificate now and it is valid by the registry's clock: what
    /// the front door decides once a connection's handshake is done, for a service that runs
    /// its own accept loop. The certificate's fingerprint is computed when it is made (once per
    /// connection); [`recheck`](Self::recheck) decides again for each request.
    pub fn admit(
        registry: &Registry,
        certificate: Certificate,
        peer: SocketAddr,
    ) -> Result<Self, Refusal> {
        Self::check(&Arc::new(Peer::new(certificate, peer)), registry)
    }

    /// The same client, decided again now: the systems that trust its certificate at this
    /// moment, or why none does (deleted, suspended, its systems removed, expired since).
    /// One lookup in the registry's in-memory index (as [`Registry::identify`]: no backend
    /// round trip; on a directory, one `stat` of its change marker) and one reading of the
    /// registry's clock. The front door calls it before every request.
    pub fn recheck(&self, registry: &Registry) -> Result<Self, Refusal> {
        Self::check(&self.peer, registry)
    }

    /// Decides whether `peer` is trusted now ([`Registry::admit`]).
    pub(super) fn check(peer: &Arc<Peer>, registry: &Registry) -> Result<Self, Refusal> {
        let systems = registry.admit(&peer.certificate)?;
        Ok(InboundClient {
            peer: Arc::clone(peer),
            systems: systems.into(),
        })
    }

    /// The systems of this request that hold `permission` (sorted by name, never empty), or
    /// [`Unauthorized::NotPermitted`]: [`Registry::authorize`] for this request, from the
    /// systems decided when it arrived (no second lookup). Counted in
    /// `inbound_certs_authorizations_total{system, permission, outcome}`.
    /// [`RequirePermission`](super::RequirePermission) asks it for a whole route.
    ///
    /// ```
    /// use axum::http::StatusCode;
    /// use inbound_certs::server::InboundClient;
    ///
    /// async fn orders(client: InboundClient) -> Result<String, StatusCode> {
    ///     let systems = client
    ///         .authorize(&"proxy-api".parse().expect("a permission"))
    ///         .map_err(|_| StatusCode::FORBIDDEN)?;
    ///     Ok(format!("orders for {}", systems[0].name()))
    /// }
    /// ```
    pub fn authorize(&self, permission: &Permission) -> Result<Vec<&System>, Unauthorized> {
        let decision = permitted(self.peer.name, self.systems.iter(), permission);
        count(&decision, permission);
        decision
    }
}

impl<S: Send + Sync> FromRequestParts<S> for InboundClient {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Refusal> {
        parts
            .extensions
            .get::<InboundClient>()
            .cloned()
            .ok_or(Refusal::NoInboundClient)
    }
}
