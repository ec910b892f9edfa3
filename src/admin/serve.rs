//! Serving the console (or any router) with bounds on its clients: a connection cap, header-read
//! and request timeouts, a bounded TLS handshake, and back-off when accepting fails.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use super::error::AdminError;
use crate::server::accept::{accept_loop, Accept, InProgress, LoopMetrics, Slot, MAX_HEAD_BYTES};

/// The bounds [`serve`] puts on its clients, and its TLS configuration.
///
/// ```
/// use std::time::Duration;
/// use inbound_certs::admin::ServeOptions;
///
/// let options = ServeOptions::new()
///     .max_connections(256)
///     .header_read_timeout(Duration::from_secs(5));
/// assert_eq!(options.connection_limit(), 256);
/// ```
#[derive(Clone)]
pub struct ServeOptions {
    max_connections: usize,
    header_read_timeout: Duration,
    request_timeout: Duration,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("max_connections", &self.max_connections)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            tls: None,
        }
    }
}

impl ServeOptions {
    /// The defaults: at most 512 connections at once, 10 seconds to finish the TLS handshake
    /// and 10 seconds to send a request's headers, 60 seconds for a whole request (its body
    /// and its answer), plain HTTP.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most connections served at once (at least 1), so descriptors and memory stay
    /// bounded however many clients come. When a client connects at the cap, the oldest
    /// connection with no request in progress (one still sending its headers, in its TLS
    /// handshake, or idle between requests) is closed to make room: clients that hold
    /// connections without using them cannot keep out those that send requests. When every
    /// connection has a request in progress, the new one waits until one ends.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// The time a client has to complete the TLS handshake, and then to send each request's
    /// line and headers (an idle kept-alive connection waits for its next request within it
    /// too); a client that takes longer is disconnected.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// The time a request has from its headers to its answer, reading its body included; past
    /// it the client gets 408 and the connection is closed. A change the request had started
    /// may still complete (the store's work is not interrupted half way); the audit trail
    /// says whether it did.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Serve HTTPS with this rustls configuration (its crypto provider, certificate and
    /// key are the service's). Only HTTP/1.1 is spoken (its header-read timeout is what
    /// bounds a slow client), so the configuration's ALPN protocols are replaced by
    /// `http/1.1`.
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        let mut config = Arc::unwrap_or_clone(config);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        self.tls = Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)));
        self
    }

    /// The connection cap in force.
    pub fn connection_limit(&self) -> usize {
        self.max_connections
    }
}

/// Serves `app` (the [console](super::router), or a service's router that mounts it) on
/// `listener` until `shutdown` completes, with the bounds of `options`: unlike
/// `axum::serve`, a client that sends its request slowly, or holds connections open, or a
/// flood of them, cannot exhaust the process's descriptors or memory, and an accept that
/// fails for want of descriptors is retried after a pause rather than at once (which would
/// spin a core). Each request carries the client's address as
/// [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo), which the console's login
/// throttling keys on. Connections still open at shutdown are left to finish on the
/// runtime.
///
/// ```no_run
/// use inbound_certs::admin::{self, AdminConfig, ServeOptions};
/// use inbound_certs::Registry;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let registry = Registry::open("/var/lib/my-service/inbound-certs")?;
/// let config = AdminConfig::new("admin", std::env::var("INBOUND_CERTS_ADMIN_TOKEN")?)?;
/// let app = axum::Router::new().nest("/admin", admin::router(registry, config));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// admin::serve(listener, app, ServeOptions::new(), async {
///     let _ = tokio::signal::ctrl_c().await;
/// })
/// .await;
/// # Ok(())
/// # }
/// ```
pub async fn serve(
    listener: TcpListener,
    app: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) {
    serve_from(listener, app, options, shutdown).await;
}

/// The accept loop of [`serve`], over any source of connections.
pub(super) async fn serve_from<A: Accept>(
    listener: A,
    app: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) {
    let limit = options.max_connections;
    let options = Arc::new(options);
    let counters = LoopMetrics {
        shed: "inbound_certs_admin_connections_shed_total",
        accept_errors: "inbound_certs_admin_accept_errors_total",
    };
    accept_loop(listener, limit, counters, shutdown, |stream, peer, slot| {
        let (app, options) = (app.clone(), Arc::clone(&options));
        async move { connection(stream, peer, app, &options, slot).await }
    })
    .await;
}

/// One connection: the TLS handshake if any, then HTTP/1.1 requests until the client closes
/// or a bound is passed.
async fn connection<S>(
    stream: S,
    peer: SocketAddr,
    app: Router,
    options: &ServeOptions,
    slot: Arc<Slot>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = Bounded {
        inner: TowerToHyperService::new(app),
        peer,
        timeout: options.request_timeout,
        slot,
    };
    match &options.tls {
        None => http(stream, service, options).await,
        Some(acceptor) => {
            let handshake =
                tokio::time::timeout(options.header_read_timeout, acceptor.accept(stream));
            if let Ok(Ok(stream)) = handshake.await {
                http(stream, service, options).await;
            }
        }
    }
}

async fn http<S>(stream: S, service: Bounded, options: &ServeOptions)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    // The connection's end (closed, timed out, malformed) is the client's business: nothing
    // to report.
    let _ = builder
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// The router behind a request timeout, told the client's address.
#[derive(Clone)]
struct Bounded {
    inner: TowerToHyperService<Router>,
    peer: SocketAddr,
    timeout: Duration,
    slot: Arc<Slot>,
}

impl hyper::service::Service<Request<Incoming>> for Bounded {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let in_progress = InProgress::start(&self.slot);
        let answer = self.inner.call(request);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, answer).await {
                // The request stays in progress until its answer's body is sent.
                Ok(answer) => answer.map(|response| response.map(|body| in_progress.track(body))),
                Err(_) => {
                    let mut response = AdminError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "request_timeout",
                        format!(
                            "the request was not done within {} seconds and was stopped; a change it made may still complete (see the activity)",
                            timeout.as_secs()
                        ),
                    )
                    .into_response();
                    response
                        .headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    Ok(response)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::server::accept::{MAX_BACKOFF, MIN_BACKOFF};

    /// A listener out of descriptors: every accept fails with EMFILE, and the instant of each
    /// attempt is kept.
    struct Exhausted {
        attempts: Arc<std::sync::Mutex<Vec<tokio::time::Instant>>>,
        calls: Arc<AtomicUsize>,
    }

    impl Accept for Exhausted {
        type Stream = tokio::io::DuplexStream;

        async fn accept(&mut self) -> io::Result<(Self::Stream, SocketAddr)> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut attempts) = self.attempts.lock() {
                attempts.push(tokio::time::Instant::now());
            }
            Err(io::Error::from_raw_os_error(24))
        }
    }

    /// Without a back-off the loop retries at once, as fast as a core allows (the gaps are
    /// only bounded from below: a pause is never shorter than asked).
    #[tokio::test]
    async fn accept_errors_back_off_up_to_a_second() {
        let attempts = Arc::new(std::sync::Mutex::new(Vec::new()));
        let calls = Arc::new(AtomicUsize::new(0));
        let listener = Exhausted {
            attempts: Arc::clone(&attempts),
            calls: Arc::clone(&calls),
        };
        let watched = Arc::clone(&calls);
        // Stops the loop after 10 attempts, whenever they happened.
        let shutdown = async move {
            while watched.load(Ordering::SeqCst) < 10 {
                tokio::task::yield_now().await;
            }
        };
        serve_from(listener, Router::new(), ServeOptions::new(), shutdown).await;
        let attempts = attempts.lock().map(|a| a.clone()).unwrap_or_default();
        assert!(attempts.len() >= 10, "{} attempts", attempts.len());
        let gaps: Vec<Duration> = attempts
            .windows(2)
            .filter_map(|pair| match pair {
                [earlier, later] => Some(*later - *earlier),
                _ => None,
            })
            .collect();
        // 5, 10, 20, ... 640 ms, then a second at most.
        let mut expected = MIN_BACKOFF;
        for gap in &gaps {
            assert!(
                *gap >= expected,
                "a pause of {gap:?}, not {expected:?}: {gaps:?}"
            );
            expected = expected.saturating_mul(2).min(MAX_BACKOFF);
        }
        assert!(gaps.len() >= 9, "{gaps:?}");
    }
}
