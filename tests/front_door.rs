//! The mTLS front door (`server::serve`) with real clients: rustls with hyper's HTTP/1.1 and
//! HTTP/2 connections (each bound to one TLS connection, so "the same connection" is proven
//! by construction), `curl` and `openssl s_client` against the `mtls_api` example; trust
//! decided again on every request of an open connection.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use common::Scratch;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use inbound_certs::registry::Unauthorized;
use inbound_certs::server::{self, FrontDoor, InboundClient, Refusal, RequirePermission};
use inbound_certs::{CertificateName, CertificateStore, ImportPolicy, Registry, SystemKind};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

const TLS: &str = "tests/data/tls";

fn path(name: &str) -> String {
    format!("{}/{TLS}/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

async fn whoami(client: InboundClient) -> Json<Value> {
    let systems: Vec<Value> = client
        .systems()
        .iter()
        .map(|system| {
            json!({
                "name": system.name().as_str(),
                "kind": system.kind().as_str(),
                "permissions": system.permissions().iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!({
        "certificate": client.certificate_name().to_string(),
        "subject": client.subject().to_string(),
        "peer": client.peer().to_string(),
        "systems": systems,
    }))
}

/// `/whoami`; `/proxy/hello` requires `proxy-api`, `/realtime/hello` `realtime-api`.
fn app() -> Router {
    let hello =
        |api: &'static str| {
            Router::new()
            .route("/hello", get(move |client: InboundClient| async move {
                Json(json!({"api": api, "certificate": client.certificate_name().to_string()}))
            }))
            .route_layer(RequirePermission::new(format!("{api}-api").parse().unwrap()))
        };
    Router::new()
        .route("/whoami", get(whoami))
        .nest("/proxy", hello("proxy"))
        .nest("/realtime", hello("realtime"))
}

/// A directory registry with `crm` (source, holding `realtime-api`) and `gateway` (proxy,
/// holding `proxy-api`), the demo client's
/// certificate imported into `systems` of them, and its clock steerable (Unix seconds).
struct Fixture {
    dir: Scratch,
    registry: Registry,
    client: CertificateName,
    clock: Arc<AtomicI64>,
}

impl Fixture {
    fn new(trusted_by: &[&str]) -> Self {
        let dir = Scratch::new("front-door");
        let clock = Arc::new(AtomicI64::new(OffsetDateTime::now_utc().unix_timestamp()));
        let seconds = Arc::clone(&clock);
        let registry = Registry::create(dir.path())
            .unwrap()
            .acting_as("test")
            .with_clock(move || {
                OffsetDateTime::from_unix_timestamp(seconds.load(Ordering::SeqCst)).unwrap()
            });
        let now = OffsetDateTime::now_utc();
        let permission = |name: &str| [name.parse().unwrap()];
        registry
            .create_system_with(
                &"crm".parse().unwrap(),
                SystemKind::Source,
                permission("realtime-api"),
                now,
            )
            .unwrap();
        registry
            .create_system_with(
                &"gateway".parse().unwrap(),
                SystemKind::Proxy,
                permission("proxy-api"),
                now,
            )
            .unwrap();
        let upload = std::fs::read(path("client.pem")).unwrap();
        let mut client = None;
        for system in trusted_by {
            let imported = registry
                .store(&system.parse().unwrap())
                .unwrap()
                .import_upload(&upload, &ImportPolicy::new(now))
                .unwrap();
            client = Some(imported[0].name());
        }
        Fixture {
            dir,
            registry,
            client: client.unwrap(),
            clock,
        }
    }

    fn front_door(&self) -> FrontDoor {
        let chain = vec![CertificateDer::from_pem_file(path("server.pem")).unwrap()];
        let key = PrivateKeyDer::from_pem_file(path("server.key")).unwrap();
        FrontDoor::new(self.registry.clone(), provider(), chain, key).unwrap()
    }

    async fn serve(&self) -> SocketAddr {
        self.serve_with(self.front_door()).await
    }

    async fn serve_with(&self, front_door: FrontDoor) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(server::serve(
            listener,
            app(),
            front_door,
            std::future::pending(),
        ));
        address
    }
}

#[derive(Clone, Copy, Debug)]
enum Protocol {
    Http1,
    Http2,
}

/// A TLS connection as the client `who` (`client` or `stranger`), offering `protocol` by ALPN.
async fn tls(
    address: SocketAddr,
    who: &str,
    protocol: Protocol,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(path("ca.pem")).unwrap())
        .unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            vec![CertificateDer::from_pem_file(path(&format!("{who}.pem"))).unwrap()],
            PrivateKeyDer::from_pem_file(path(&format!("{who}.key"))).unwrap(),
        )
        .unwrap();
    config.alpn_protocols = vec![match protocol {
        Protocol::Http1 => b"http/1.1".to_vec(),
        Protocol::Http2 => b"h2".to_vec(),
    }];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(address).await?;
    let stream = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    let negotiated = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    assert_eq!(
        negotiated,
        Some(match protocol {
            Protocol::Http1 => b"http/1.1".to_vec(),
            Protocol::Http2 => b"h2".to_vec(),
        })
    );
    Ok(stream)
}

/// One HTTP connection: every request goes over the same TLS connection.
enum Connection {
    Http1(hyper::client::conn::http1::SendRequest<Empty<Bytes>>),
    Http2(hyper::client::conn::http2::SendRequest<Empty<Bytes>>),
}

impl Connection {
    async fn open(address: SocketAddr, who: &str, protocol: Protocol) -> hyper::Result<Self> {
        let io = TokioIo::new(tls(address, who, protocol).await.unwrap());
        Ok(match protocol {
            Protocol::Http1 => {
                let (sender, connection) = hyper::client::conn::http1::handshake(io).await?;
                tokio::spawn(connection);
                Connection::Http1(sender)
            }
            Protocol::Http2 => {
                let (sender, connection) =
                    hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
                tokio::spawn(connection);
                Connection::Http2(sender)
            }
        })
    }

    /// `GET path`: its status and JSON body.
    async fn get(&mut self, path: &str) -> hyper::Result<(StatusCode, Value)> {
        let response = match self {
            Connection::Http1(sender) => {
                sender.ready().await?;
                let request = Request::get(path)
                    .header("host", "localhost")
                    .body(Empty::new())
                    .unwrap();
                sender.send_request(request).await?
            }
            Connection::Http2(sender) => {
                sender.ready().await?;
                let request = Request::get(format!("https://localhost{path}"))
                    .body(Empty::new())
                    .unwrap();
                sender.send_request(request).await?
            }
        };
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, serde_json::from_slice(&body).unwrap()))
    }
}

fn system_names(whoami: &Value) -> Vec<(String, String)> {
    whoami["systems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|system| {
            (
                system["name"].as_str().unwrap().to_owned(),
                system["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_trusted_by_two_systems_shows_both() {
    let fixture = Fixture::new(&["crm", "gateway"]);
    let address = fixture.serve().await;
    for protocol in [Protocol::Http1, Protocol::Http2] {
        let mut connection = Connection::open(address, "client", protocol).await.unwrap();
        let (status, body) = connection.get("/whoami").await.unwrap();
        assert_eq!(status, StatusCode::OK, "{protocol:?} {body}");
        assert_eq!(
            system_names(&body),
            [
                ("crm".to_owned(), "source".to_owned()),
                ("gateway".to_owned(), "proxy".to_owned())
            ]
        );
        assert_eq!(body["certificate"], fixture.client.to_string());
        assert_eq!(body["subject"], "O=inbound-certs examples,CN=demo client");
    }
    // Each connection recorded the client's address as the certificate's last use.
    let last = fixture
        .registry
        .last_used(&"crm".parse().unwrap(), &fixture.client)
        .unwrap()
        .unwrap();
    assert_eq!(last.peer, Some("127.0.0.1".parse().unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_no_system_trusts_is_refused_in_the_handshake() {
    let fixture = Fixture::new(&["crm"]);
    let address = fixture.serve().await;
    for protocol in [Protocol::Http1, Protocol::Http2] {
        // In TLS 1.3 the client finishes its side before the server judges its certificate:
        // the refusal (an alert) arrives at the first read.
        let refused = match tls(address, "stranger", protocol).await {
            Err(_) => true,
            Ok(mut stream) => {
                let _ = stream.write_all(b"GET /whoami HTTP/1.1\r\n\r\n").await;
                let mut buffer = [0; 64];
                !matches!(stream.read(&mut buffer).await, Ok(n) if n > 0)
            }
        };
        assert!(refused, "{protocol:?}");
    }
}

/// What happens to the client's trust between two requests on one connection.
#[derive(Clone, Copy, Debug)]
enum Change {
    /// Deleted through a second registry handle opened on the same directory (as another
    /// process, such as `certstore delete`, would).
    DeletedByAnotherHandle,
    /// Deleted through the served registry itself.
    DeletedInProcess,
    /// Suspended in its only system.
    Suspended,
    /// Its only system removed, with its certificates.
    SystemRemoved,
    /// The registry's clock passed the certificate's `notAfter`.
    Expired,
    /// The permission the route requires (`realtime-api`) revoked from its only system
    /// through a second registry handle: that route is refused, the connection stays.
    PermissionRevoked,
}

async fn refused_on_the_same_connection(protocol: Protocol, change: Change, code: &str) {
    let fixture = Fixture::new(&["crm"]);
    let address = fixture.serve().await;
    let mut connection = Connection::open(address, "client", protocol).await.unwrap();
    let (status, first) = connection.get("/whoami").await.unwrap();
    assert_eq!(status, StatusCode::OK, "{first}");
    // The connection is kept: a second request comes from the same client port.
    let (status, again) = connection.get("/whoami").await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["peer"], first["peer"]);
    let (status, hello) = connection.get("/realtime/hello").await.unwrap();
    assert_eq!(status, StatusCode::OK, "{hello}");

    let crm = "crm".parse().unwrap();
    match change {
        Change::DeletedByAnotherHandle => Registry::open(fixture.dir.path())
            .unwrap()
            .store(&crm)
            .unwrap()
            .delete(&fixture.client)
            .unwrap(),
        Change::DeletedInProcess => fixture
            .registry
            .store(&crm)
            .unwrap()
            .delete(&fixture.client)
            .unwrap(),
        Change::Suspended => {
            fixture
                .registry
                .store(&crm)
                .unwrap()
                .suspend(&fixture.client, "key leaked")
                .unwrap();
        }
        Change::SystemRemoved => {
            fixture.registry.remove_system(&crm, true).unwrap();
        }
        Change::Expired => fixture.clock.store(
            time::macros::datetime!(2127-01-01 0:00 UTC).unix_timestamp(),
            Ordering::SeqCst,
        ),
        Change::PermissionRevoked => {
            let revoked = Registry::open(fixture.dir.path())
                .unwrap()
                .revoke_permission(&crm, &"realtime-api".parse().unwrap())
                .unwrap();
            assert!(revoked);
        }
    }

    if let Change::PermissionRevoked = change {
        let (status, body) = connection.get("/realtime/hello").await.unwrap();
        assert_eq!(status, StatusCode::FORBIDDEN, "{protocol:?}: {body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert_eq!(
            body["error"]["message"],
            format!(
                "client certificate {} is trusted by crm, which does not hold the permission realtime-api",
                fixture.client
            )
        );
        // Still the client of its systems: the connection stays and serves the rest.
        let (status, body) = connection.get("/whoami").await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["peer"], first["peer"]);
        assert_eq!(body["systems"][0]["permissions"], json!([]));
        return;
    }
    let (status, body) = connection.get("/whoami").await.unwrap();
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "{protocol:?} {change:?}: {body}"
    );
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&fixture.client.to_string()),
        "{body}"
    );
    match protocol {
        // The refusal closed the HTTP/1.1 connection.
        Protocol::Http1 => assert!(connection.get("/whoami").await.is_err()),
        // HTTP/2 stays open, and keeps refusing.
        Protocol::Http2 => {
            let (status, _) = connection.get("/whoami").await.unwrap();
            assert_eq!(status, StatusCode::FORBIDDEN);
        }
    }
}

macro_rules! same_connection {
    ($($name:ident: $protocol:ident, $change:ident, $code:literal;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            refused_on_the_same_connection(Protocol::$protocol, Change::$change, $code).await;
        }
    )*};
}

same_connection! {
    http1_deleted_by_another_handle: Http1, DeletedByAnotherHandle, "not_trusted";
    http2_deleted_by_another_handle: Http2, DeletedByAnotherHandle, "not_trusted";
    http1_deleted_in_process: Http1, DeletedInProcess, "not_trusted";
    http2_deleted_in_process: Http2, DeletedInProcess, "not_trusted";
    http1_suspended: Http1, Suspended, "suspended";
    http2_suspended: Http2, Suspended, "suspended";
    http1_system_removed: Http1, SystemRemoved, "not_trusted";
    http2_system_removed: Http2, SystemRemoved, "not_trusted";
    http1_expired: Http1, Expired, "expired";
    http2_expired: Http2, Expired, "expired";
    http1_permission_revoked: Http1, PermissionRevoked, "not_permitted";
    http2_permission_revoked: Http2, PermissionRevoked, "not_permitted";
}

/// A certificate trusted by two systems with different permissions may call what either
/// holds; trusted by one, only what that one holds (403 `not_permitted` for the rest, the
/// JSON error of the console's API). A grant takes effect on the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_of_every_trusting_system_count() {
    for protocol in [Protocol::Http1, Protocol::Http2] {
        let fixture = Fixture::new(&["crm", "gateway"]);
        let address = fixture.serve().await;
        let mut connection = Connection::open(address, "client", protocol).await.unwrap();
        let (_, body) = connection.get("/whoami").await.unwrap();
        assert_eq!(body["systems"][0]["permissions"], json!(["realtime-api"]));
        assert_eq!(body["systems"][1]["permissions"], json!(["proxy-api"]));
        for path in ["/proxy/hello", "/realtime/hello"] {
            let (status, body) = connection.get(path).await.unwrap();
            assert_eq!(status, StatusCode::OK, "{protocol:?} {path}: {body}");
        }

        let fixture = Fixture::new(&["crm"]);
        let address = fixture.serve().await;
        let mut connection = Connection::open(address, "client", protocol).await.unwrap();
        let (status, body) = connection.get("/proxy/hello").await.unwrap();
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"]["code"], "not_permitted");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .ends_with("is trusted by crm, which does not hold the permission proxy-api"),
            "{body}"
        );
        let (status, _) = connection.get("/realtime/hello").await.unwrap();
        assert_eq!(status, StatusCode::OK);
        fixture
            .registry
            .grant_permission(&"crm".parse().unwrap(), &"proxy-api".parse().unwrap())
            .unwrap();
        let (status, body) = connection.get("/proxy/hello").await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

/// A certificate trusted by two systems stays admitted when one of them lets it go, and the
/// request shows only the one left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_sees_the_systems_that_trust_it_now() {
    let fixture = Fixture::new(&["crm", "gateway"]);
    let address = fixture.serve().await;
    let mut connection = Connection::open(address, "client", Protocol::Http2)
        .await
        .unwrap();
    let (_, body) = connection.get("/whoami").await.unwrap();
    assert_eq!(system_names(&body).len(), 2);
    fixture
        .registry
        .store(&"gateway".parse().unwrap())
        .unwrap()
        .suspend(&fixture.client, "moved to crm")
        .unwrap();
    let (status, body) = connection.get("/whoami").await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        system_names(&body),
        [("crm".to_owned(), "source".to_owned())]
    );
}

/// A router served without the front door has no `InboundClient` to give: 500, JSON.
#[tokio::test]
async fn the_extractor_refuses_a_request_that_did_not_come_through_the_front_door() {
    let response = app()
        .oneshot(
            Request::get("/whoami")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], "no_inbound_client");
}

/// A client that connects and sends nothing is disconnected at the handshake deadline; one
/// that completes the handshake but sends no request (HTTP/2 has no header-read timeout) too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_clients_are_disconnected_at_the_deadline() {
    let fixture = Fixture::new(&["crm"]);
    let deadline = Duration::from_millis(300);
    let address = fixture
        .serve_with(fixture.front_door().handshake_timeout(deadline))
        .await;
    let started = std::time::Instant::now();
    let silent = tokio::net::TcpStream::connect(address).await.unwrap();
    closed_within(silent, Duration::from_secs(5)).await;
    assert!(started.elapsed() >= deadline);

    // The server sends its HTTP/2 settings, then waits for a request that never comes.
    let started = std::time::Instant::now();
    let idle = tls(address, "client", Protocol::Http2).await.unwrap();
    closed_within(idle, Duration::from_secs(5)).await;
    assert!(started.elapsed() >= deadline);
}

/// Reads `stream` until the server closes it, failing after `limit`.
async fn closed_within(mut stream: impl tokio::io::AsyncRead + Unpin, limit: Duration) {
    let mut buffer = [0; 1024];
    let closed = tokio::time::timeout(limit, async {
        while let Ok(read @ 1..) = stream.read(&mut buffer).await {
            let _ = read;
        }
    })
    .await;
    assert!(closed.is_ok(), "still open after {limit:?}");
}

/// At the cap, an idle connection is closed to make room for a new client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_an_idle_connection_makes_room() {
    let fixture = Fixture::new(&["crm"]);
    let address = fixture
        .serve_with(fixture.front_door().max_connections(1))
        .await;
    let mut first = Connection::open(address, "client", Protocol::Http2)
        .await
        .unwrap();
    assert_eq!(first.get("/whoami").await.unwrap().0, StatusCode::OK);
    let mut second = Connection::open(address, "client", Protocol::Http1)
        .await
        .unwrap();
    assert_eq!(second.get("/whoami").await.unwrap().0, StatusCode::OK);
    assert!(first.get("/whoami").await.is_err());
}

/// A running `mtls_api` example over a registry directory; killed when dropped.
struct Example {
    child: std::process::Child,
    address: String,
}

impl Example {
    fn start(store: &std::path::Path) -> Self {
        let mut child = Command::new(common::example("mtls_api"))
            .args([
                "--store",
                store.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .args(["--cert", &path("server.pem"), "--key", &path("server.key")])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let address = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{line:?}"))
            .to_owned();
        Example { child, address }
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn curl(address: &str, who: &str, extra: &[&str], urls: &[&str]) -> std::process::Output {
    Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert", &path("ca.pem")])
        .args(["--cert", &path(&format!("{who}.pem"))])
        .args(["--key", &path(&format!("{who}.key"))])
        .args(extra)
        .args(urls.iter().map(|url| format!("https://{address}{url}")))
        .output()
        .unwrap()
}

#[test]
fn curl_and_openssl_against_the_example() {
    let fixture = Fixture::new(&["crm", "gateway"]);
    let example = Example::start(fixture.dir.path());

    // HTTP/2 (curl's choice by ALPN), then HTTP/1.1.
    for version in ["--http2", "--http1.1"] {
        let output = curl(&example.address, "client", &[version], &["/whoami"]);
        assert!(output.status.success(), "{output:?}");
        let body: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(body["certificate"], fixture.client.to_string());
        assert_eq!(system_names(&body).len(), 2, "{body}");
    }
    let output = curl(
        &example.address,
        "client",
        &[],
        &["/proxy/orders/7", "/realtime/feed"],
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(r#""api":"proxy""#) && text.contains(r#""path":"orders/7""#),
        "{text}"
    );
    assert!(text.contains(r#""api":"realtime""#), "{text}");
    let whoami = curl(&example.address, "client", &[], &["/whoami"]);
    let body: Value = serde_json::from_slice(&whoami.stdout).unwrap();
    assert_eq!(
        body["systems"][1]["permissions"],
        json!(["proxy-api"]),
        "{body}"
    );

    // A certificate no system trusts: the handshake fails.
    let output = curl(&example.address, "stranger", &[], &["/whoami"]);
    assert!(!output.status.success(), "{output:?}");

    // openssl s_client speaks HTTP/1.1 by hand (no ALPN).
    let mut s_client = Command::new("openssl")
        .args(["s_client", "-quiet", "-connect", &example.address])
        .args(["-CAfile", &path("ca.pem"), "-verify_return_error"])
        .args(["-cert", &path("client.pem"), "-key", &path("client.key")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    s_client
        .stdin
        .take()
        .unwrap()
        .write_all(b"GET /whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let output = s_client.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{output:?}");
    assert!(text.contains(&fixture.client.to_string()), "{text}");

    // Deleted by another process's handle while the example runs: the next request is
    // refused with the JSON error.
    Registry::open(fixture.dir.path())
        .unwrap()
        .remove_system(&"gateway".parse().unwrap(), true)
        .unwrap();
    // crm alone trusts it now, without the permission `proxy-api`: 403 on that API only.
    let output = curl(
        &example.address,
        "client",
        &["--write-out", " %{http_code}"],
        &["/proxy/orders/7", "/realtime/feed"],
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(r#""code":"not_permitted""#) && text.contains(" 403"),
        "{text}"
    );
    assert!(
        text.contains(r#""api":"realtime""#) && text.ends_with(" 200"),
        "{text}"
    );
    fixture
        .registry
        .store(&"crm".parse().unwrap())
        .unwrap()
        .suspend(&fixture.client, "rotated")
        .unwrap();
    // The handshake refuses it now; on a connection opened before, the request would be.
    let output = curl(&example.address, "client", &[], &["/whoami"]);
    assert!(!output.status.success(), "{output:?}");
}

/// `InboundClient::admit` and `recheck`, for a service with its own accept loop: the
/// refusals as values, with their status and code.
#[test]
fn admit_and_recheck_without_a_server() {
    let fixture = Fixture::new(&["crm"]);
    let peer: SocketAddr = "192.0.2.7:40000".parse().unwrap();
    let certificate = |name: &str| {
        inbound_certs::decode(&std::fs::read(path(name)).unwrap())
            .unwrap()
            .remove(0)
    };
    let client = InboundClient::admit(&fixture.registry, certificate("client.pem"), peer).unwrap();
    assert_eq!(client.certificate_name(), fixture.client);
    assert_eq!(client.peer(), peer);
    assert_eq!(client.systems().len(), 1);

    let refusal =
        InboundClient::admit(&fixture.registry, certificate("stranger.pem"), peer).unwrap_err();
    assert!(
        matches!(
            refusal,
            Refusal::Unauthorized(Unauthorized::NotTrusted { .. })
        ),
        "{refusal:?}"
    );
    assert_eq!(
        (refusal.status(), refusal.code()),
        (StatusCode::FORBIDDEN, "not_trusted")
    );

    fixture
        .registry
        .store(&"crm".parse().unwrap())
        .unwrap()
        .suspend(&fixture.client, "audit")
        .unwrap();
    let refusal = client.recheck(&fixture.registry).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        format!("client certificate {} is suspended by crm", fixture.client)
    );
    fixture
        .registry
        .store(&"crm".parse().unwrap())
        .unwrap()
        .resume(&fixture.client)
        .unwrap();
    assert!(client.recheck(&fixture.registry).is_ok());
}
