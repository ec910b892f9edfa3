//! A TLS echo server that trusts exactly the client certificates of a registry's source and
//! proxy systems, and logs which system each client is.
//!
//! ```text
//! cargo run --features rustls --example mtls_server -- --store DIR --listen 127.0.0.1:8443 \
//!     --cert SERVER_CERT.pem --key SERVER_KEY.pem [--system NAME]... \
//!     [--max-connections 256] [--handshake-timeout-ms 10000] [--idle-timeout-ms 60000] \
//!     [--usage-flush-ms 60000]
//! ```
//!
//! `--postgres URL` instead of `--store DIR` (with the `postgres` feature) serves a registry
//! in PostgreSQL, e.g. `--postgres postgres://app@db/service`.
//!
//! Every line a trusted client sends is sent back. Each accepted handshake is logged on
//! stderr with the system the client belongs to (`accepted cert_client_… (subject) for system
//! crm`), each refused one with its reason. `--system NAME` (repeatable) trusts only those
//! systems. The registry is consulted on every handshake: import a client's certificate with
//! `certstore --store DIR --system NAME import FILE` while the server runs and that client is
//! admitted on its next connection; delete it and it is refused.
//!
//! Each accepted handshake is recorded as the certificate's last use: the verifier records
//! it (rustls does not tell it the client's address), and this server records it again
//! with the address once the handshake is done (`Registry::record_use`, a few atomic
//! stores). A background flush writes the uses every `--usage-flush-ms` (default 60 s), so
//! `certstore list` shows them and a restart loses at most one interval.
//!
//! Each connection has a thread, so the number of connections is what bounds the threads:
//! - at most `--max-connections` (default 256) are served at once; a connection arriving when
//!   all are in use is closed at once, with a log line, rather than left waiting unseen in the
//!   kernel's backlog (its client sees the connection end and may retry);
//! - a client has `--handshake-timeout-ms` (default 10 s) for the whole TLS handshake, however
//!   slowly it trickles its bytes; then it is dropped and its slot freed;
//! - after the handshake, a connection on which nothing can be read or written for
//!   `--idle-timeout-ms` (default 60 s) is closed.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use inbound_certs::{
    CertificateName, CertificateStore, ErrorReport, Fingerprint, Registry, StoreClientVerifier,
    SystemName, VerifierError,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{CertificateError, ServerConfig, ServerConnection, StreamOwned};

const USAGE: &str = "usage: mtls_server --store DIR|--postgres URL --listen ADDRESS:PORT --cert SERVER_CERT.pem --key SERVER_KEY.pem [--system NAME]... [--max-connections N] [--handshake-timeout-ms MS] [--idle-timeout-ms MS] [--usage-flush-ms MS]";

/// Connections served at once unless `--max-connections` says otherwise.
const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Time for the whole TLS handshake unless `--handshake-timeout-ms` says otherwise.
const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time without progress after the handshake unless `--idle-timeout-ms` says otherwise.
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A line longer than this ends the connection, so that a client cannot make the server buffer
/// without bound.
const MAX_LINE: usize = 64 * 1024;

/// Where the registry is.
enum Location {
    Directory(PathBuf),
    Postgres(String),
}

struct Options {
    store: Location,
    listen: String,
    cert: PathBuf,
    key: PathBuf,
    systems: Vec<SystemName>,
    max_connections: usize,
    handshake_timeout: Duration,
    idle_timeout: Duration,
    usage_flush: Duration,
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
    let mut systems = Vec::new();
    let mut max_connections = DEFAULT_MAX_CONNECTIONS;
    let mut handshake_timeout = DEFAULT_HANDSHAKE_TIMEOUT;
    let mut idle_timeout = DEFAULT_IDLE_TIMEOUT;
    let mut usage_flush = inbound_certs::registry::DEFAULT_FLUSH_INTERVAL;
    let mut iter = arguments.iter();
    while let Some(argument) = iter.next() {
        let mut value = || {
            iter.next()
                .cloned()
                .ok_or(format!("{argument} needs a value\n{USAGE}"))
        };
        match argument.as_str() {
            "--store" => store = Some(Location::Directory(PathBuf::from(value()?))),
            "--postgres" => store = Some(Location::Postgres(value()?)),
            "--listen" => listen = Some(value()?),
            "--cert" => cert = Some(PathBuf::from(value()?)),
            "--key" => key = Some(PathBuf::from(value()?)),
            "--system" => systems.push(value()?.parse().map_err(|e| format!("{e}"))?),
            "--max-connections" => {
                max_connections = positive(argument, "a number of connections", &value()?)?;
            }
            "--handshake-timeout-ms" => {
                handshake_timeout = milliseconds(argument, &value()?)?;
            }
            "--idle-timeout-ms" => idle_timeout = milliseconds(argument, &value()?)?,
            "--usage-flush-ms" => usage_flush = milliseconds(argument, &value()?)?,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let missing = |what: &str| format!("{what} is required\n{USAGE}");
    Ok(Options {
        store: store.ok_or_else(|| missing("--store DIR or --postgres URL"))?,
        listen: listen.ok_or_else(|| missing("--listen"))?,
        cert: cert.ok_or_else(|| missing("--cert"))?,
        key: key.ok_or_else(|| missing("--key"))?,
        systems,
        max_connections,
        handshake_timeout,
        idle_timeout,
        usage_flush,
    })
}

/// A whole number from 1 up, or an error saying what `option` expected.
fn positive<T: std::str::FromStr + PartialOrd + From<u8>>(
    option: &str,
    what: &str,
    text: &str,
) -> Result<T, String> {
    text.parse::<T>()
        .ok()
        .filter(|number| *number >= T::from(1))
        .ok_or_else(|| format!("{option} needs {what} from 1 up, got {text:?}"))
}

fn milliseconds(option: &str, text: &str) -> Result<Duration, String> {
    positive(option, "a number of milliseconds", text).map(Duration::from_millis)
}

fn run(options: &Options) -> Result<(), String> {
    let registry = match &options.store {
        Location::Directory(dir) => {
            Registry::open(dir).map_err(|e| ErrorReport::new(&e).to_string())?
        }
        Location::Postgres(url) => connect(url)?,
    };
    for name in &options.systems {
        registry
            .system(name)
            .map_err(|e| ErrorReport::new(&e).to_string())?;
    }
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
    let mut verifier = StoreClientVerifier::for_registry(registry.clone(), provider);
    if !options.systems.is_empty() {
        verifier = verifier.only_systems(options.systems.iter().cloned());
    }
    let config = verifier
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
    // Writes the last uses every interval, for as long as the server runs. Started before
    // the server says it is ready, so that it is ready with every thread it keeps.
    let _flusher = registry.start_usage_flush(options.usage_flush);
    println!("listening on {address}");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let in_use = Arc::new(AtomicUsize::new(0));
    for socket in listener.incoming() {
        let socket = match socket {
            Ok(socket) => socket,
            Err(error) => {
                eprintln!("accept failed: {error}");
                // Out of file descriptors, say: the error repeats until a connection ends, so
                // pause rather than spin.
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let peer = peer_of(&socket);
        let Some(slot) = Slot::take(&in_use, options.max_connections) else {
            eprintln!(
                "{peer}: refused: all {} connections in use (--max-connections)",
                options.max_connections
            );
            continue;
        };
        let config = config.clone();
        let registry = registry.clone();
        let accepted = options.systems.clone();
        let timeouts = (options.handshake_timeout, options.idle_timeout);
        let spawned = std::thread::Builder::new().spawn(move || {
            serve(config, (&registry, &accepted), socket, &peer, timeouts);
            drop(slot);
        });
        if let Err(error) = spawned {
            // The closure, its socket and its slot are dropped: the connection is closed.
            eprintln!("cannot start a thread for a connection: {error}");
        }
    }
    Ok(())
}

#[cfg(feature = "postgres")]
fn connect(url: &str) -> Result<Registry, String> {
    // TLS to the database as the URL asks (sslmode, sslrootcert), with ring's algorithms.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let options = inbound_certs::backend::PostgresOptions::default().tls(provider);
    Registry::connect(url, &options).map_err(|e| ErrorReport::new(&e).to_string())
}

#[cfg(not(feature = "postgres"))]
fn connect(_url: &str) -> Result<Registry, String> {
    Err("--postgres needs the postgres feature: cargo run --features rustls,postgres --example mtls_server -- ...".to_string())
}

/// One of the `--max-connections` places; given back when dropped, however its thread ends.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(in_use: &Arc<AtomicUsize>, max: usize) -> Option<Slot> {
        in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| {
                (count < max).then_some(count + 1)
            })
            .ok()
            .map(|_| Slot(in_use.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn peer_of(socket: &TcpStream) -> String {
    socket.peer_addr().map_or_else(
        |_| "?".to_string(),
        |address: SocketAddr| address.to_string(),
    )
}

fn serve(
    config: Arc<ServerConfig>,
    (registry, accepted): (&Registry, &[SystemName]),
    socket: TcpStream,
    peer: &str,
    (handshake_timeout, idle_timeout): (Duration, Duration),
) {
    let connection = match ServerConnection::new(config) {
        Ok(connection) => connection,
        Err(error) => {
            eprintln!("{peer}: {error}");
            return;
        }
    };
    let mut tls = StreamOwned::new(connection, socket);
    // One deadline for the whole handshake: a timeout per read would let a client that sends a
    // byte now and then hold its thread forever.
    let mut io = Deadline {
        socket: &tls.sock,
        at: Instant::now() + handshake_timeout,
    };
    while tls.conn.is_handshaking() {
        if let Err(error) = tls.conn.complete_io(&mut io) {
            if is_timeout(&error) {
                eprintln!(
                    "{peer}: handshake not finished within {handshake_timeout:?}, connection dropped"
                );
            } else {
                eprintln!("{peer}: refused handshake: {}", reason(&error));
            }
            return;
        }
    }
    // A client that stops talking, or stops reading what it is sent, must not hold a thread
    // forever.
    if let Err(error) = tls
        .sock
        .set_read_timeout(Some(idle_timeout))
        .and_then(|()| tls.sock.set_write_timeout(Some(idle_timeout)))
    {
        eprintln!("{peer}: cannot set the idle timeout: {error}");
        return;
    }
    match tls.conn.peer_certificates().and_then(|chain| chain.first()) {
        Some(certificate) => {
            // Which system called: what a service authorizes by.
            let name = CertificateName::from(Fingerprint::of_der(certificate));
            // The verifier recorded the use; this adds the address.
            let address = tls.sock.peer_addr().ok().map(|address| address.ip());
            registry.record_use(&name.fingerprint(), address);
            let systems: Vec<_> = registry
                .identify_der(certificate)
                .unwrap_or_default()
                .into_iter()
                .filter(|system| {
                    system.kind().accepts_inbound()
                        && (accepted.is_empty() || accepted.contains(system.name()))
                })
                .collect();
            let subject = systems
                .first()
                .and_then(|system| registry.store(system.name()).ok())
                .and_then(|store| store.get(&name).ok().flatten())
                .map_or_else(
                    || "?".to_string(),
                    |stored| stored.summary().subject.to_string(),
                );
            let names: Vec<String> = systems.iter().map(|s| s.name().to_string()).collect();
            let systems = match names.len() {
                1 => format!("system {}", names.join("")),
                _ => format!("systems {}", names.join(", ")),
            };
            eprintln!("{peer}: accepted {name} ({subject}) for {systems}");
        }
        None => eprintln!("{peer}: accepted without a client certificate"),
    }
    match echo_lines(&mut tls) {
        Ok(()) => eprintln!("{peer}: closed"),
        Err(error) if is_timeout(&error) => {
            eprintln!("{peer}: idle for {idle_timeout:?}, connection closed");
        }
        Err(error) => eprintln!("{peer}: connection ended: {}", reason(&error)),
    }
}

/// The socket during the handshake: every read and write waits at most until `at`.
struct Deadline<'a> {
    socket: &'a TcpStream,
    at: Instant,
}

impl Deadline<'_> {
    fn remaining(&self) -> std::io::Result<Duration> {
        self.at
            .checked_duration_since(Instant::now())
            .filter(|remaining| !remaining.is_zero())
            .ok_or_else(|| ErrorKind::TimedOut.into())
    }
}

impl Read for Deadline<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        self.socket.set_read_timeout(Some(self.remaining()?))?;
        self.socket.read(buffer)
    }
}

impl Write for Deadline<'_> {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        self.socket.set_write_timeout(Some(self.remaining()?))?;
        self.socket.write(buffer)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.socket.flush()
    }
}

/// Whether a socket timeout ended the operation (Unix reports it as `WouldBlock`).
fn is_timeout(error: &std::io::Error) -> bool {
    matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
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
            return ErrorReport::new(refusal).to_string();
        }
    }
    tls_error.to_string()
}
