//! An HTTPS API (axum, HTTP/1.1 and HTTP/2) for the clients a registry's source and proxy
//! systems trust, served by the mTLS front door (`inbound_certs::server`).
//!
//! ```text
//! cargo run --features axum --example mtls_api -- --store DIR --listen 127.0.0.1:8443 \
//!     --cert SERVER_CERT.pem --key SERVER_KEY.pem
//! curl --cacert tests/data/tls/ca.pem --cert tests/data/tls/client.pem \
//!     --key tests/data/tls/client.key https://127.0.0.1:8443/whoami
//! ```
//!
//! `--postgres URL` instead of `--store DIR` (with the `postgres` feature) serves a registry
//! in PostgreSQL. Routes: `GET /whoami` (the caller's certificate name, subject and the
//! systems that trust it with their permissions, as JSON), `/proxy/...` (requires the
//! permission `proxy-api`) and `/realtime/...` (requires `realtime-api`), which answer who
//! called which path. Every request is checked against the registry: delete or suspend the
//! caller's certificate, or revoke the permission (`certstore system revoke NAME proxy-api`),
//! and its next request, even on an open connection, gets 403. It prints
//! `listening on ADDRESS` once ready; Ctrl-C stops it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use inbound_certs::server::{self, FrontDoor, InboundClient, RequirePermission};
use inbound_certs::{ErrorReport, Registry};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};

const USAGE: &str = "usage: mtls_api --store DIR|--postgres URL --listen ADDRESS:PORT --cert SERVER_CERT.pem --key SERVER_KEY.pem";

/// `GET /whoami`: the caller as the front door saw it for this very request.
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

/// An API's answer: which path was called by which certificate.
async fn answer(api: &str, client: InboundClient, path: String) -> Json<Value> {
    Json(json!({"api": api, "path": path, "certificate": client.certificate_name().to_string()}))
}

fn app() -> Result<Router, String> {
    let permission = |name: &str| {
        name.parse()
            .map(RequirePermission::new)
            .map_err(|e: inbound_certs::names::ParsePermissionError| e.to_string())
    };
    let proxy = Router::new()
        .route(
            "/{*path}",
            get(|client: InboundClient, Path(path): Path<String>| answer("proxy", client, path)),
        )
        .route_layer(permission("proxy-api")?);
    let realtime = Router::new()
        .route(
            "/{*path}",
            get(|client: InboundClient, Path(path): Path<String>| answer("realtime", client, path)),
        )
        .route_layer(permission("realtime-api")?);
    Ok(Router::new()
        .route("/whoami", get(whoami))
        .nest("/proxy", proxy)
        .nest("/realtime", realtime))
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match run(&arguments) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(arguments: &[String]) -> Result<(), String> {
    let (mut store, mut postgres, mut listen, mut cert, mut key) = (None, None, None, None, None);
    let mut iter = arguments.iter();
    while let Some(argument) = iter.next() {
        let value = iter
            .next()
            .cloned()
            .ok_or(format!("{argument} needs a value\n{USAGE}"));
        match argument.as_str() {
            "--store" => store = Some(PathBuf::from(value?)),
            "--postgres" => postgres = Some(value?),
            "--listen" => listen = Some(value?),
            "--cert" => cert = Some(PathBuf::from(value?)),
            "--key" => key = Some(PathBuf::from(value?)),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let missing = |what: &str| format!("{what} is required\n{USAGE}");
    // Opened before the runtime starts: the PostgreSQL client blocks, which a runtime forbids.
    let registry = match (store, postgres) {
        (Some(dir), None) => Registry::open(dir).map_err(|e| ErrorReport::new(&e).to_string())?,
        (None, Some(url)) => connect(&url)?,
        _ => return Err(missing("one of --store DIR and --postgres URL")),
    };
    let (cert, key) = (cert.ok_or(missing("--cert"))?, key.ok_or(missing("--key"))?);
    let chain = CertificateDer::pem_file_iter(&cert)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(&key).map_err(|e| format!("{}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let front_door = FrontDoor::new(registry.clone(), provider, chain, key)
        .map_err(|e| format!("server certificate and key: {e}"))?;
    let listen = listen.ok_or(missing("--listen"))?;
    let app = app()?;

    // Writes the last uses (with each client's address) every minute while serving.
    let flusher = registry.start_usage_flush(inbound_certs::registry::DEFAULT_FLUSH_INTERVAL);
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("no runtime: {e}"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on {address}");
        server::serve(listener, app, front_door, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
        Ok::<(), String>(())
    })?;
    drop(runtime);
    flusher
        .stop()
        .map_err(|e| ErrorReport::new(&e).to_string())?;
    Ok(())
}

#[cfg(feature = "postgres")]
fn connect(url: &str) -> Result<Registry, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let options = inbound_certs::backend::PostgresOptions::default().tls(provider);
    Registry::connect(url, &options).map_err(|e| ErrorReport::new(&e).to_string())
}

#[cfg(not(feature = "postgres"))]
fn connect(_url: &str) -> Result<Registry, String> {
    Err("--postgres needs the postgres feature: cargo run --features axum,postgres --example mtls_api -- ...".to_string())
}
