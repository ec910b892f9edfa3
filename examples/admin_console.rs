//! The administration console on its own: a web page and a JSON API for the inbound
//! certificates of a registry's source and proxy systems.
//!
//! ```text
//! cargo run --features admin --example admin_console
//! cargo run --features admin --example admin_console -- [--store DIR | --postgres URL] \
//!     [--listen 127.0.0.1:8080] [--token TOKEN] [--tls-cert CERT.pem --tls-key KEY.pem] \
//!     [--public-origin https://console.example:8443]
//! ```
//!
//! Without `--store` or `--postgres`, the registry is a directory under the system's temporary
//! directory (`inbound-certs-admin-console`), created on first use: nothing to install. The
//! token is `--token`, else `INBOUND_CERTS_ADMIN_TOKEN`, else a generated one; the URL and the
//! token are printed. `--tls-cert` and `--tls-key` (PEM files) serve the console over HTTPS.
//! `--public-origin` is the origin browsers use (a form posted from any other is refused; see
//! `AdminConfig::public_origin`).
//! `--postgres URL` needs the `postgres` feature as well.
//!
//! A validity monitor runs beside it (its events are logged on stderr), and `GET /metrics`
//! serves the metrics in Prometheus text. It is served by `admin::serve` with its default
//! bounds (512 connections, 10 s for the headers, 60 s for a request). Ctrl-C stops it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use inbound_certs::admin::{self, AdminConfig};
use inbound_certs::{monitor::MonitorOptions, ErrorReport, Monitor, Registry};

const USAGE: &str = "usage: admin_console [--store DIR | --postgres URL] [--listen ADDRESS:PORT] [--token TOKEN] [--tls-cert CERT.pem --tls-key KEY.pem] [--public-origin URL]";

struct Arguments {
    store: Option<PathBuf>,
    postgres: Option<String>,
    listen: SocketAddr,
    token: Option<String>,
    tls: Option<(PathBuf, PathBuf)>,
    public_origin: Option<String>,
}

fn arguments() -> Result<Arguments, String> {
    let mut arguments = Arguments {
        store: None,
        postgres: None,
        listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        token: std::env::var("INBOUND_CERTS_ADMIN_TOKEN").ok(),
        tls: None,
        public_origin: None,
    };
    let (mut cert, mut key) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--store" => arguments.store = Some(value()?.into()),
            "--postgres" => arguments.postgres = Some(value()?),
            "--listen" => {
                let text = value()?;
                arguments.listen = text.parse().map_err(|_| {
                    format!("--listen wants ADDRESS:PORT, such as 127.0.0.1:8080, not {text:?}")
                })?;
            }
            "--token" => arguments.token = Some(value()?),
            "--public-origin" => arguments.public_origin = Some(value()?),
            "--tls-cert" => cert = Some(PathBuf::from(value()?)),
            "--tls-key" => key = Some(PathBuf::from(value()?)),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if arguments.store.is_some() && arguments.postgres.is_some() {
        return Err(format!("give --store or --postgres, not both\n{USAGE}"));
    }
    arguments.tls = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => return Err(format!("--tls-cert and --tls-key go together\n{USAGE}")),
    };
    Ok(arguments)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let arguments = arguments()?;
    // Opened before the async runtime starts: the PostgreSQL client blocks.
    let (registry, location) = open(&arguments)?;
    let token = match arguments.token.clone() {
        Some(token) => token,
        None => admin::generate_token().map_err(|e| e.to_string())?,
    };
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    let mut config = AdminConfig::new("admin", token.clone()).map_err(|e| e.to_string())?;
    if let Some(origin) = &arguments.public_origin {
        config = config.public_origin(origin).map_err(|e| e.to_string())?;
    }
    let config = config
        .metrics(metrics)
        .over_https(arguments.tls.is_some())
        // Refused tokens, one line each (the client's address quoted, never the token).
        .login_log(|line| eprintln!("{line}"));
    let _monitor = Monitor::start(
        registry.clone(),
        MonitorOptions::new(),
        |event| match event {
            Ok(event) => eprintln!("monitor: {event}"),
            Err(error) => eprintln!("monitor: check failed: {}", ErrorReport::new(&error)),
        },
    );
    let app = admin::router(registry, config);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(arguments.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", arguments.listen))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let scheme = if arguments.tls.is_some() { "https" } else { "http" };
        // Written whole, and not fatal if no one reads it (stdout closed by a pipe).
        let banner = format!(
            "inbound-certs administration console\n  registry: {location}\n  open:     {scheme}://{address}/\n  \
             token:    {token}\n  API:      curl -H 'Authorization: Bearer {token}' {scheme}://{address}/api/systems\n\
             Try importing tests/data/sample_source.pem into a source system. Ctrl-C stops the console.\n"
        );
        {
            use std::io::Write as _;
            let mut stdout = std::io::stdout();
            let _ = stdout.write_all(banner.as_bytes()).and_then(|()| stdout.flush());
        }
        let mut options = admin::ServeOptions::new();
        if let Some((cert, key)) = &arguments.tls {
            options = options.tls(tls_config(cert, key)?);
        }
        admin::serve(listener, app, options, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
        Ok(())
    })
}

fn open(arguments: &Arguments) -> Result<(Registry, String), String> {
    if let Some(url) = &arguments.postgres {
        return Ok((connect(url)?, "PostgreSQL".to_owned()));
    }
    let dir = arguments
        .store
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("inbound-certs-admin-console"));
    let registry = if dir.exists() {
        Registry::open(&dir)
    } else {
        Registry::create(&dir)
    }
    .map_err(|e| ErrorReport::new(&e).to_string())?;
    Ok((registry, format!("directory {}", dir.display())))
}

#[cfg(feature = "postgres")]
fn connect(url: &str) -> Result<Registry, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let options = inbound_certs::backend::PostgresOptions::default().tls(provider);
    Registry::connect(url, &options).map_err(|e| ErrorReport::new(&e).to_string())
}

#[cfg(not(feature = "postgres"))]
fn connect(_url: &str) -> Result<Registry, String> {
    Err("--postgres needs the postgres feature: cargo run --features admin,postgres --example admin_console -- ...".to_owned())
}

/// The TLS configuration of the certificate chain and key in these PEM files.
fn tls_config(cert: &PathBuf, key: &PathBuf) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read certificates from {}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read a private key from {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the certificate and key do not make a TLS server: {e}"))?;
    Ok(Arc::new(config))
}
