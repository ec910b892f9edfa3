//! A TLS client that authenticates with a client certificate: it sends each line of its
//! standard input to the server and prints what comes back (pairs with `mtls_server`).
//!
//! ```text
//! cargo run --features rustls --example mtls_client -- --connect 127.0.0.1:8443 \
//!     --ca SERVER_CA.pem --cert CLIENT_CERT.pem --key CLIENT_KEY.pem [--server-name localhost]
//! ```
//!
//! `--ca` is the certificate the server's certificate is checked against (for a self-signed
//! server certificate, that certificate itself). A refusal by the server is printed with the
//! TLS alert it sent, and the exit code is 1.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

const USAGE: &str = "usage: mtls_client --connect ADDRESS:PORT --ca SERVER_CA.pem --cert CLIENT_CERT.pem --key CLIENT_KEY.pem [--server-name NAME]";

fn main() -> ExitCode {
    match run(&std::env::args().skip(1).collect::<Vec<_>>()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(arguments: &[String]) -> Result<(), String> {
    let (mut connect, mut ca, mut cert, mut key) = (None, None, None, None);
    let mut server_name = "localhost".to_string();
    let mut iter = arguments.iter();
    while let Some(argument) = iter.next() {
        let mut value = || {
            iter.next()
                .cloned()
                .ok_or(format!("{argument} needs a value\n{USAGE}"))
        };
        match argument.as_str() {
            "--connect" => connect = Some(value()?),
            "--ca" => ca = Some(PathBuf::from(value()?)),
            "--cert" => cert = Some(PathBuf::from(value()?)),
            "--key" => key = Some(PathBuf::from(value()?)),
            "--server-name" => server_name = value()?,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let missing = |what: &str| format!("{what} is required\n{USAGE}");
    let connect = connect.ok_or_else(|| missing("--connect"))?;
    let ca = ca.ok_or_else(|| missing("--ca"))?;
    let cert = cert.ok_or_else(|| missing("--cert"))?;
    let key = key.ok_or_else(|| missing("--key"))?;

    let mut roots = RootCertStore::empty();
    for certificate in read_certificates(&ca)? {
        roots
            .add(certificate)
            .map_err(|e| format!("{}: {e}", ca.display()))?;
    }
    let chain = read_certificates(&cert)?;
    let key_path = key;
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            format!("{}: no private key found", key_path.display())
        }
        e => format!("{}: {e}", key_path.display()),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => format!(
                "{} is not the private key of {}",
                key_path.display(),
                cert.display()
            ),
            e => format!("client certificate and key: {e}"),
        })?;
    let server_name = ServerName::try_from(server_name).map_err(|e| e.to_string())?;
    let connection =
        ClientConnection::new(Arc::new(config), server_name).map_err(|e| e.to_string())?;
    let socket = TcpStream::connect(&connect).map_err(|e| format!("{connect}: {e}"))?;
    let mut tls = StreamOwned::new(connection, socket);
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .map_err(|e| format!("handshake with {connect} failed: {e}"))?;
    }

    // In TLS 1.3 the server judges the client's certificate after the client has finished its
    // part of the handshake, so a refusal shows up on the first read.
    let mut replies = BufReader::new(tls);
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        let tls = replies.get_mut();
        tls.write_all(format!("{line}\n").as_bytes())
            .and_then(|()| tls.flush())
            .map_err(|e| format!("{connect} refused the connection: {e}"))?;
        let mut reply = String::new();
        match replies.read_line(&mut reply) {
            Ok(0) => return Err(format!("{connect} closed the connection")),
            Ok(_) => print!("{reply}"),
            Err(e) => return Err(format!("{connect} refused the connection: {e}")),
        }
    }
    replies.get_mut().conn.send_close_notify();
    let tls = replies.get_mut();
    let _ = tls.conn.complete_io(&mut tls.sock);
    Ok(())
}

fn read_certificates(path: &PathBuf) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!("{}: no CERTIFICATE block found", path.display()));
    }
    Ok(certificates)
}
