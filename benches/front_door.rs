//! Per-request cost of the mTLS front door (issue 24, Measure): over a registry of 10,000
//! certificates in 100 systems (in memory and in a directory), the check the front door
//! makes before every request (`InboundClient::recheck`: one lookup in the in-memory index,
//! the registry's clock, the validity), the same plus the extractor (the client put into a
//! request's extensions and taken out by `FromRequestParts`), the whole per-request work of
//! a route that requires a permission (check, extractor, `InboundClient::authorize` as
//! `RequirePermission` asks it, and the record of the use), and, for scale, a whole request
//! on one open TLS HTTP/1.1 connection over loopback: through the front door to a route
//! behind `RequirePermission`, and to the same handler served by plain tokio-rustls + hyper
//! with no check. Even systems hold `realtime-api`, odd ones `proxy-api`.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

#[path = "support.rs"]
mod support;

use std::future::Future;
use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use criterion::Criterion;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use inbound_certs::server::{self, FrontDoor, InboundClient, RequirePermission};
use inbound_certs::{
    Certificate, CertificateStore, ImportPolicy, Registry, StoreClientVerifier, SystemKind,
    SystemName,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use time::macros::datetime;

const SYSTEMS: usize = 100;
const CERTIFICATES: usize = 10_000;
const TLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tls");

/// 9,999 synthetic certificates and the demo client's over 100 systems; the client's in two.
fn fill(registry: &Registry) {
    let now = datetime!(2026-06-01 0:00 UTC);
    let policy = ImportPolicy::new(now).allow_expired(true);
    let certificates = support::synthetic("ec_p256.der", CERTIFICATES - 1, 0);
    let client = std::fs::read(format!("{TLS}/client.pem")).unwrap();
    for (index, chunk) in certificates.chunks(CERTIFICATES / SYSTEMS).enumerate() {
        let name: SystemName = format!("system-{index:03}").parse().unwrap();
        let kind = if index % 2 == 0 {
            SystemKind::Source
        } else {
            SystemKind::Proxy
        };
        let permission = if index % 2 == 0 {
            "realtime-api"
        } else {
            "proxy-api"
        };
        registry
            .create_system_with(&name, kind, [permission.parse().unwrap()], now)
            .unwrap();
        let store = registry.store(&name).unwrap();
        store.import_all(chunk, &policy).unwrap();
        if index < 2 {
            store.import_upload(&client, &policy).unwrap();
        }
    }
}

fn client_certificate() -> Certificate {
    inbound_certs::decode(&std::fs::read(format!("{TLS}/client.pem")).unwrap())
        .unwrap()
        .remove(0)
}

/// Polls a future that never waits (the extractor) to its end.
fn now_or_never<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the extractor waited"),
    }
}

fn router() -> Router {
    Router::new().route("/plain", get(|| async { "ok" }))
}

/// The same handler behind the permission `proxy-api`.
fn router_requiring_permission() -> Router {
    router().route_layer(RequirePermission::new("proxy-api".parse().unwrap()))
}

fn server_identity() -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    (
        vec![CertificateDer::from_pem_file(format!("{TLS}/server.pem")).unwrap()],
        PrivateKeyDer::from_pem_file(format!("{TLS}/server.key")).unwrap(),
    )
}

/// The same router with no check: tokio-rustls and hyper's HTTP/1.1, the same verifier.
async fn serve_plain(registry: Registry, listener: tokio::net::TcpListener) {
    let (chain, key) = server_identity();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = StoreClientVerifier::for_registry(registry, provider)
        .into_server_config(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let tls = acceptor.accept(stream).await.unwrap();
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), TowerToHyperService::new(router()))
                .await;
        });
    }
}

/// An HTTP/1.1 connection as the demo client.
async fn connect(address: SocketAddr) -> hyper::client::conn::http1::SendRequest<Empty<Bytes>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(format!("{TLS}/ca.pem")).unwrap())
        .unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            vec![CertificateDer::from_pem_file(format!("{TLS}/client.pem")).unwrap()],
            PrivateKeyDer::from_pem_file(format!("{TLS}/client.key")).unwrap(),
        )
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

async fn request(sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>) {
    sender.ready().await.unwrap();
    let request = Request::get("/plain")
        .header("host", "localhost")
        .body(Empty::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.into_body().collect().await.unwrap();
}

fn main() {
    let mut criterion = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let dir = std::env::temp_dir().join(format!(
        "inbound-certs-bench-front-door-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let memory = Registry::in_memory();
    fill(&memory);
    let directory = Registry::create(&dir).unwrap();
    fill(&directory);
    let peer: SocketAddr = "192.0.2.7:40000".parse().unwrap();

    let mut group = criterion.benchmark_group("front_door");
    for (backend, registry) in [("memory", &memory), ("directory", &directory)] {
        let client = InboundClient::admit(registry, client_certificate(), peer).unwrap();
        assert_eq!(client.systems().len(), 2);
        group.bench_function(format!("{backend}/check"), |b| {
            b.iter(|| black_box(&client).recheck(registry).unwrap())
        });
        let (mut parts, ()) = Request::new(()).into_parts();
        group.bench_function(format!("{backend}/check_and_extract"), |b| {
            b.iter(|| {
                let checked = black_box(&client).recheck(registry).unwrap();
                parts.extensions.insert(checked);
                now_or_never(InboundClient::from_request_parts(&mut parts, &())).unwrap()
            })
        });
        let proxy_api = "proxy-api".parse().unwrap();
        let fingerprint = client.certificate().fingerprint();
        assert_eq!(client.authorize(&proxy_api).unwrap().len(), 1);
        group.bench_function(format!("{backend}/check_extract_authorize_record"), |b| {
            b.iter(|| {
                let checked = black_box(&client).recheck(registry).unwrap();
                registry.record_use(&fingerprint, Some(peer.ip()));
                parts.extensions.insert(checked);
                let client =
                    now_or_never(InboundClient::from_request_parts(&mut parts, &())).unwrap();
                client
                    .authorize(&proxy_api)
                    .map(|systems| systems.len())
                    .unwrap()
            })
        });
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (mut through_front_door, mut plain) = runtime.block_on(async {
        let (chain, key) = server_identity();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let front_door = FrontDoor::new(memory.clone(), provider, chain, key).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let front_address = listener.local_addr().unwrap();
        tokio::spawn(server::serve(
            listener,
            router_requiring_permission(),
            front_door,
            std::future::pending(),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let plain_address = listener.local_addr().unwrap();
        tokio::spawn(serve_plain(memory.clone(), listener));
        (connect(front_address).await, connect(plain_address).await)
    });
    group.bench_function("request/front_door", |b| {
        b.iter(|| runtime.block_on(request(&mut through_front_door)))
    });
    group.bench_function("request/plain_tokio_rustls", |b| {
        b.iter(|| runtime.block_on(request(&mut plain)))
    });
    group.finish();
    criterion.final_summary();
    drop(directory);
    let _ = std::fs::remove_dir_all(&dir);
}
