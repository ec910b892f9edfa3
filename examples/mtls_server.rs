//! A TLS echo server that trusts exactly the client certificates in a certificate store.
//!
//! ```text
//! cargo run --features rustls --example mtls_server -- --store DIR --listen 127.0.0.1:8443 \
//!     --cert SERVER_CERT.pem --key SERVER_KEY.pem [--system-kind source|proxy]
//! ```
//!
//! Every line a trusted client sends is sent back. Each accepted and each refused handshake is
//! logged on stderr with its reason. The store is consulted on every handshake: import a
//! client's certificate with `certstore --store DIR import FILE` while the server runs and that
//! client is admitted on its next connection; delete it and it is refused.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use inbound_certs::{
    CertificateName, CertificateStore, FileStore, Fingerprint, StoreClientVerifier, SystemKind,
    VerifierError,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{CertificateError, ServerConfig, ServerConnection, StreamOwned};

const USAGE: &str = "usage: mtls_server --store DIR --listen ADDRESS:PORT --cert SERVER_CERT.pem --key SERVER_KEY.pem [--system-kind source|proxy]";

/// A line longer than this ends the connection, so that a client cannot make the server buffer
/// without bound.
const MAX_LINE: usize = 64 * 1024;

struct Options {
    store: PathBuf,
    listen: String,
    cert: PathBuf,
    key: PathBuf,
    kind: SystemKind,
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match parse(&arguments).and_then(|options| run(&options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse(arguments: &[String]) -> Result<Options, String> {
    let (mut store, mut listen, mut cert, mut key) = (None, None, None, None);
    let mut kind = SystemKind::Source;
    let mut iter = arguments.iter();
    while let Some(argument) = iter.next() {
        let mut value = || {
            iter.next()
                .cloned()
                .ok_or(format!("{argument} needs a value\n{USAGE}"))
        };
        match argument.as_str() {
            "--store" => store = Some(PathBuf::from(value()?)),
            "--listen" => listen = Some(value()?),
            "--cert" => cert = Some(PathBuf::from(value()?)),
            "--key" => key = Some(PathBuf::from(value()?)),
            "--system-kind" => kind = value()?.parse().map_err(|e| format!("{e}"))?,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let missing = |what: &str| format!("{what} is required\n{USAGE}");
    Ok(Options {
        store: store.ok_or_else(|| missing("--store"))?,
        listen: listen.ok_or_else(|| missing("--listen"))?,
        cert: cert.ok_or_else(|| missing("--cert"))?,
        key: key.ok_or_else(|| missing("--key"))?,
        kind,
    })
}

fn run(options: &Options) -> Result<(), String> {
    let store = Arc::new(FileStore::open(&options.store, options.kind).map_err(|e| e.to_string())?);
    let chain = CertificateDer::pem_file_iter(&options.cert)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", options.cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "{}: no CERTIFICATE block found",
            options.cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&options.key).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            format!("{}: no private key found", options.key.display())
        }
        e => format!("{}: {e}", options.key.display()),
    })?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = StoreClientVerifier::new(store.clone(), provider)
        .into_server_config(chain, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => format!(
                "{} is not the private key of {}",
                options.key.display(),
                options.cert.display()
            ),
            e => format!("server certificate and key: {e}"),
        })?;
    let config = Arc::new(config);

    let listener = TcpListener::bind(&options.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {address}");
    std::io::stdout().flush().map_err(|e| e.to_string())?;

    for socket in listener.incoming() {
        let socket = match socket {
            Ok(socket) => socket,
            Err(error) => {
                eprintln!("accept failed: {error}");
                continue;
            }
        };
        let config = config.clone();
        let store = store.clone();
        std::thread::spawn(move || serve(config, store.as_ref(), socket));
    }
    Ok(())
}

fn serve(config: Arc<ServerConfig>, store: &FileStore, socket: TcpStream) {
    let peer = socket.peer_addr().map_or_else(
        |_| "?".to_string(),
        |address: SocketAddr| address.to_string(),
    );
    // A client that stops talking must not hold a thread forever.
    let _ = socket.set_read_timeout(Some(Duration::from_secs(60)));
    let connection = match ServerConnection::new(config) {
        Ok(connection) => connection,
        Err(error) => {
            eprintln!("{peer}: {error}");
            return;
        }
    };
    let mut tls = StreamOwned::new(connection, socket);
    while tls.conn.is_handshaking() {
        if let Err(error) = tls.conn.complete_io(&mut tls.sock) {
            eprintln!("{peer}: refused handshake: {}", reason(&error));
            return;
        }
    }
    match tls.conn.peer_certificates().and_then(|chain| chain.first()) {
        Some(certificate) => {
            let name = CertificateName::from(Fingerprint::of_der(certificate));
            let subject = match store.get(&name) {
                Ok(Some(stored)) => stored.summary().subject.to_string(),
                _ => "?".to_string(),
            };
            eprintln!("{peer}: accepted {name} ({subject})");
        }
        None => eprintln!("{peer}: accepted without a client certificate"),
    }
    match echo_lines(&mut tls) {
        Ok(()) => eprintln!("{peer}: closed"),
        Err(error) => eprintln!("{peer}: connection ended: {}", reason(&error)),
    }
}

/// Sends back every complete line until the client closes the connection.
fn echo_lines(tls: &mut StreamOwned<ServerConnection, TcpStream>) -> std::io::Result<()> {
    let mut pending = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let count = tls.read(&mut buffer)?;
        if count == 0 {
            return Ok(());
        }
        pending.extend_from_slice(buffer.get(..count).unwrap_or_default());
        while let Some(end) = pending.iter().position(|&byte| byte == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            tls.write_all(&line)?;
        }
        tls.flush()?;
        if pending.len() > MAX_LINE {
            return Err(std::io::Error::other("line longer than 64 KiB"));
        }
    }
}

/// The reason behind an I/O error from rustls: the verifier's own message when the store
/// refused the certificate, else rustls' description.
fn reason(error: &std::io::Error) -> String {
    let Some(tls_error) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return error.to_string();
    };
    if let rustls::Error::InvalidCertificate(CertificateError::Other(other)) = tls_error {
        if let Some(refusal) = other.0.downcast_ref::<VerifierError>() {
            return refusal.to_string();
        }
    }
    tls_error.to_string()
}
