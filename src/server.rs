//! The mTLS front door for axum services (feature `axum`): [`serve`] an [`axum::Router`]
//! over TLS to the clients a [`Registry`] trusts, and learn in every handler which systems
//! are calling ([`InboundClient`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::{routing::get, Json, Router};
//! use inbound_certs::server::{self, FrontDoor, InboundClient};
//! use inbound_certs::Registry;
//! use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
//!
//! async fn whoami(client: InboundClient) -> Json<Vec<String>> {
//!     Json(client.systems().iter().map(|system| system.name().to_string()).collect())
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = Registry::open("/var/lib/my-service/inbound-certs")?;
//! let provider = Arc::new(rustls::crypto::ring::default_provider());
//! let chain = CertificateDer::pem_file_iter("server.pem")?.collect::<Result<Vec<_>, _>>()?;
//! let key = PrivateKeyDer::from_pem_file("server.key")?;
//! let front_door = FrontDoor::new(registry, provider, chain, key)?;
//!
//! let app = Router::new().route("/whoami", get(whoami));
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8443").await?;
//! server::serve(listener, app, front_door, async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await;
//! # Ok(())
//! # }
//! ```
//!
//! # Trust, decided per request
//!
//! The TLS handshake admits a client when a source or proxy system trusts the certificate it
//! presents ([`StoreClientVerifier::for_registry`]). That is not the end of it: before every
//! request, on a kept-alive HTTP/1.1 connection as on an HTTP/2 one, the front door looks the
//! certificate's fingerprint (computed once per connection) up again in the registry's
//! in-memory index ([`Registry::admit`]: no backend round trip) and judges its validity
//! by the registry's clock. A certificate deleted, suspended in every system that holds it,
//! whose systems were removed, or that expired since the handshake is refused on the next
//! request with 403 and the JSON error of [`Refusal`]; on HTTP/1.1 the connection is then
//! closed. The systems of the request's [`InboundClient`] are those that trust the
//! certificate at that moment, with the permissions they hold at that moment.
//!
//! # Permissions
//!
//! A system holds the permissions the service gave it ([`Registry::grant_permission`]).
//! [`RequirePermission`] lays a permission over routes; [`InboundClient::authorize`] asks
//! inside a handler. A request whose systems do not hold it is answered 403
//! `not_permitted`; a permission revoked refuses the next request, on open connections too.
//!
//! ```
//! use axum::{routing::get, Router};
//! use inbound_certs::server::{InboundClient, RequirePermission};
//!
//! async fn hello(client: InboundClient) -> String {
//!     format!("hello, {}", client.systems()[0].name())
//! }
//!
//! let app: Router = Router::new()
//!     .nest("/proxy", Router::new().route("/hello", get(hello))
//!         .route_layer(RequirePermission::new("proxy-api".parse()?)))
//!     .nest("/realtime", Router::new().route("/hello", get(hello))
//!         .route_layer(RequirePermission::new("realtime-api".parse()?)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Bounds
//!
//! Like the console's `admin::serve`, and unlike `axum::serve`: a connection cap (at the cap,
//! the oldest connection with no request in progress is closed to make room), a deadline for
//! the TLS handshake and then for the first request, a header-read timeout on HTTP/1.1, at
//! most 64 KiB of request head, HTTP/2 keep-alive pings, and a pause before accepting again
//! when accepting fails for want of descriptors. Each request let through is recorded as its
//! certificate's last use, with the client's address ([`Registry::record_use`]).

pub(crate) mod accept;
mod client;
pub(crate) mod error;
mod permission;

pub use client::InboundClient;
pub use error::Refusal;
pub use permission::{RequirePermission, RequirePermissionService};

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::certificate::Certificate;
use crate::registry::Registry;
use crate::verifier::StoreClientVerifier;
use accept::{accept_loop, InProgress, LoopMetrics, Slot, MAX_HEAD_BYTES};
use client::Peer;

/// What [`serve`] serves with: the registry whose source and proxy systems' clients are
/// let in, the server's TLS certificate and key, and the bounds on clients. Needs the
/// feature `axum`.
///
/// Defaults: at most 512 connections at once, 10 seconds for the TLS handshake and then 10
/// seconds for the first request, 10 seconds to send each request's line and headers on
/// HTTP/1.1 (an idle kept-alive connection waits for its next request within it too).
#[derive(Clone)]
pub struct FrontDoor {
    registry: Registry,
    tls: TlsAcceptor,
    max_connections: usize,
    handshake_timeout: Duration,
    header_read_timeout: Duration,
}

impl std::fmt::Debug for FrontDoor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrontDoor")
            .field("max_connections", &self.max_connections)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("header_read_timeout", &self.header_read_timeout)
            .finish_non_exhaustive()
    }
}

impl FrontDoor {
    /// A front door that presents `certificate_chain` (the server's certificate first) with
    /// `key`, and admits the clients whose certificate a source or proxy system of
    /// `registry` trusts ([`StoreClientVerifier::for_registry`], with `provider`'s
    /// algorithms; every client must present a certificate; no session resumption). ALPN
    /// offers `h2` and `http/1.1`.
    ///
    /// Fails when the key does not suit the provider or does not match the certificate.
    pub fn new(
        registry: Registry,
        provider: Arc<CryptoProvider>,
        certificate_chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, rustls::Error> {
        let mut config = StoreClientVerifier::for_registry(registry.clone(), provider)
            .into_server_config(certificate_chain, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(FrontDoor {
            registry,
            tls: TlsAcceptor::from(Arc::new(config)),
            max_connections: 512,
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
        })
    }

    /// The most connections served at once (at least 1). At the cap, the oldest connection
    /// with no request in progress (in its handshake, sending its headers, or idle) is
    /// closed to make room; when every connection has a request in progress, the new one
    /// waits until one ends.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// The time a client has to complete the TLS handshake, and then again to start its
    /// first request; a client that takes longer is disconnected.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// The time an HTTP/1.1 client has to send each request's line and headers, the wait
    /// for the next request on a kept-alive connection included.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }
}

/// Serves `app` over TLS on `listener` to the clients `front_door`'s registry trusts, over
/// HTTP/1.1 and HTTP/2, until `shutdown` completes; connections still open then are left to
/// finish on the runtime. Every request is checked again against the registry before `app`
/// sees it (see [Trust, decided per request](self#trust-decided-per-request)) and carries an
/// [`InboundClient`] and the client's [`ConnectInfo<SocketAddr>`](ConnectInfo) in its
/// extensions.
///
/// ```no_run
/// use std::sync::Arc;
/// use inbound_certs::server::{self, FrontDoor, InboundClient};
/// use inbound_certs::Registry;
/// use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let registry = Registry::open("/var/lib/my-service/inbound-certs")?;
/// let front_door = FrontDoor::new(
///     registry,
///     Arc::new(rustls::crypto::ring::default_provider()),
///     vec![CertificateDer::from_pem_file("server.pem")?],
///     PrivateKeyDer::from_pem_file("server.key")?,
/// )?
/// .max_connections(1024);
/// let app = axum::Router::new().route(
///     "/hello",
///     axum::routing::get(|client: InboundClient| async move {
///         format!("hello, {}", client.subject())
///     }),
/// );
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:8443").await?;
/// server::serve(listener, app, front_door, std::future::pending()).await;
/// # Ok(())
/// # }
/// ```
pub async fn serve(
    listener: TcpListener,
    app: Router,
    front_door: FrontDoor,
    shutdown: impl Future<Output = ()> + Send,
) {
    let limit = front_door.max_connections;
    let front_door = Arc::new(front_door);
    let counters = LoopMetrics {
        shed: "inbound_certs_server_connections_shed_total",
        accept_errors: "inbound_certs_server_accept_errors_total",
    };
    accept_loop(
        listener,
        limit,
        counters,
        shutdown,
        |stream, address, slot| {
            let (app, front_door) = (app.clone(), Arc::clone(&front_door));
            async move { connection(stream, address, app, &front_door, slot).await }
        },
    )
    .await;
}

/// One connection: the TLS handshake within its deadline, then HTTP/1.1 or HTTP/2 (as ALPN
/// chose; HTTP/1.1 without ALPN) until the client closes or a bound is passed.
async fn connection(
    stream: tokio::net::TcpStream,
    address: SocketAddr,
    app: Router,
    front_door: &FrontDoor,
    slot: Arc<Slot>,
) {
    let handshake =
        tokio::time::timeout(front_door.handshake_timeout, front_door.tls.accept(stream));
    let Ok(Ok(tls)) = handshake.await else {
        return;
    };
    let (_, session) = tls.get_ref();
    let http2 = session.alpn_protocol() == Some(b"h2".as_slice());
    // The verifier admitted a stored certificate, which parses; anything else is closed.
    let Some(certificate) = session
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|der| Certificate::from_der(der).ok())
    else {
        return;
    };
    let peer = Arc::new(Peer::new(certificate, address));
    let started = Arc::new(AtomicBool::new(false));
    let service = Checked {
        app: TowerToHyperService::new(app),
        registry: front_door.registry.clone(),
        peer,
        slot,
        started: Arc::clone(&started),
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(front_door.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(100)
        .max_header_list_size(MAX_HEAD_BYTES as u32)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(10));
    let builder = if http2 {
        builder.http2_only()
    } else {
        builder.http1_only()
    };
    let served = builder.serve_connection(TokioIo::new(tls), service);
    // HTTP/2 has no header-read timeout: a client that opens a connection and never sends a
    // request is closed at the deadline (on HTTP/1.1 the header-read timeout does it too).
    let first_request = async {
        tokio::time::sleep(front_door.handshake_timeout).await;
        if started.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        // The connection's end (closed, timed out, malformed) is the client's business.
        _ = served => {}
        () = first_request => {}
    }
}

/// The router behind the per-request check of one connection's client.
#[derive(Clone)]
struct Checked {
    app: TowerToHyperService<Router>,
    registry: Registry,
    peer: Arc<Peer>,
    slot: Arc<Slot>,
    started: Arc<AtomicBool>,
}

impl hyper::service::Service<Request<Incoming>> for Checked {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        self.started.store(true, Ordering::SeqCst);
        let in_progress = InProgress::start(&self.slot);
        match InboundClient::check(&self.peer, &self.registry) {
            Ok(client) => {
                // Every request let through is a use of the certificate, from this address.
                self.registry
                    .record_use(&self.peer.name.fingerprint(), Some(self.peer.address.ip()));
                let extensions = request.extensions_mut();
                extensions.insert(client);
                extensions.insert(ConnectInfo(self.peer.address));
                let answer = self.app.call(request);
                Box::pin(async move {
                    // The request stays in progress until its answer's body is sent.
                    answer
                        .await
                        .map(|response| response.map(|body| in_progress.track(body)))
                })
            }
            Err(refusal) => {
                let response = error::refuse(refusal, request.version());
                Box::pin(std::future::ready(Ok(
                    response.map(|body| in_progress.track(body))
                )))
            }
        }
    }
}
