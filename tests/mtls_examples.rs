//! The `mtls_server` example end to end, as the README walks through it: a client certificate
//! imported with `certstore`, clients connecting with the `mtls_client` example and with
//! `openssl s_client`, a stranger refused, and a deletion taking effect on the next connection.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const TLS: &str = "tests/data/tls";

fn tls_file(name: &str) -> String {
    format!("{TLS}/{name}")
}

fn run(name: &str, arguments: &[&str], input: &str) -> Output {
    let mut child = Command::new(common::example(name))
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The next line of `output`, or a failure after 30 seconds instead of a hung test.
fn read_line_within(output: ChildStdout) -> (String, BufReader<ChildStdout>) {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(output);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = sender.send((line, reader));
    });
    receiver
        .recv_timeout(Duration::from_secs(30))
        .expect("no line within 30 seconds")
}

/// A running `mtls_server`; killed when dropped. Its log (stderr) is read as it is written.
struct Server {
    child: Child,
    address: String,
    log: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Server {
    fn start(store: &str) -> Self {
        Self::start_with(store, &[])
    }

    fn start_with(store: &str, options: &[&str]) -> Self {
        let mut child = Command::new(common::example("mtls_server"))
            .args(["--store", store, "--listen", "127.0.0.1:0"])
            .args(["--cert", &tls_file("server.pem")])
            .args(["--key", &tls_file("server.key")])
            .args(options)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (line, _) = read_line_within(child.stdout.take().unwrap());
        let address = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .trim()
            .to_string();
        let (sender, log) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Server {
            child,
            address,
            log,
            seen: Vec::new(),
        }
    }

    /// The log lines so far that contain `text`.
    fn log_lines(&mut self, text: &str) -> Vec<String> {
        self.seen.extend(self.log.try_iter());
        self.seen
            .iter()
            .filter(|line| line.contains(text))
            .cloned()
            .collect()
    }

    /// Waits (30 seconds at most) until `count` log lines contain `text`.
    fn wait_for_log(&mut self, text: &str, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let lines = self.log_lines(text);
            if lines.len() >= count {
                return lines;
            }
            match self
                .log
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "{count} log lines containing {text:?} expected within 30 seconds, found {}; the log:\n{}",
                    lines.len(),
                    self.seen.join("\n")
                ),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client(server: &Server, who: &str, input: &str) -> Output {
    let (cert, key) = (
        tls_file(&format!("{who}.pem")),
        tls_file(&format!("{who}.key")),
    );
    let arguments = ["--connect", &server.address, "--ca", &tls_file("ca.pem")];
    let mut all = arguments.to_vec();
    all.extend(["--cert", &cert, "--key", &key]);
    run("mtls_client", &all, input)
}

/// `openssl s_client` as the client: the echo of one line, or openssl's error output.
fn openssl_client(server: &Server, who: &str) -> Result<String, String> {
    let mut child = Command::new("openssl")
        .args(["s_client", "-quiet", "-connect", &server.address])
        .args(["-CAfile", &tls_file("ca.pem")])
        .args(["-cert", &tls_file(&format!("{who}.pem"))])
        .args(["-key", &tls_file(&format!("{who}.key"))])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `-quiet` keeps the connection open after the input ends: read the echo, then stop it.
    let mut input = child.stdin.take().unwrap();
    input.write_all(b"hello from openssl\n").unwrap();
    let (line, _) = read_line_within(child.stdout.take().unwrap());
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    drop(input);
    if line.is_empty() {
        Err(text(&output.stderr))
    } else {
        Ok(line)
    }
}

fn certstore(store: &str, arguments: &[&str]) -> Output {
    let mut all = vec!["--store", store];
    all.extend_from_slice(arguments);
    run("certstore", &all, "")
}

fn name_of(file: &str) -> String {
    let der = inbound_certs::decode(&std::fs::read(file).unwrap()).unwrap();
    der[0].name().to_string()
}

#[test]
fn mtls_server_admits_imported_clients_and_refuses_others() {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("inbound-certs-mtls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = dir.to_str().unwrap();
    let client_name = name_of(&common::data("tls/client.pem").display().to_string());
    let stranger_name = name_of(&common::data("tls/stranger.pem").display().to_string());

    let added = certstore(store, &["system", "add", "crm", "--kind", "source"]);
    assert!(added.status.success(), "{}", text(&added.stderr));
    let imported = certstore(
        store,
        &["--system", "crm", "import", &tls_file("client.pem")],
    );
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    let mut server = Server::start(store);

    let trusted = client(&server, "client", "hello\nworld\n");
    assert!(trusted.status.success(), "{}", text(&trusted.stderr));
    assert_eq!(text(&trusted.stdout), "hello\nworld\n");

    let stranger = client(&server, "stranger", "hello\n");
    assert!(!stranger.status.success());
    assert_eq!(
        text(&stranger.stderr).trim(),
        format!(
            "error: {} refused the connection: received fatal alert: CertificateUnknown",
            server.address
        )
    );

    assert_eq!(
        openssl_client(&server, "client").as_deref(),
        Ok("hello from openssl\n")
    );
    let refused = openssl_client(&server, "stranger").unwrap_err();
    assert!(refused.contains("alert certificate unknown"), "{refused}");

    // Deleting the certificate (from another process) refuses the next connection.
    let deleted = certstore(store, &["--system", "crm", "delete", &client_name]);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    let after = client(&server, "client", "hello\n");
    assert!(!after.status.success());
    assert!(text(&after.stderr).contains("CertificateUnknown"));

    // The server logs a refusal after sending its alert: wait for the lines, not for the client.
    server.wait_for_log(
        &format!(
            ": accepted {client_name} (O=inbound-certs examples,CN=demo client) for system crm"
        ),
        1,
    );
    for name in [&stranger_name, &client_name] {
        server.wait_for_log(
            &format!(
                ": refused handshake: client certificate {name} is not trusted by any system this server accepts"
            ),
            1,
        );
    }
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mtls_examples_explain_wrong_files() {
    let dir = std::env::temp_dir().join(format!("inbound-certs-mtls-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.to_str().unwrap();
    let server = |cert: &str, key: &str| {
        let output = run(
            "mtls_server",
            &[
                "--store",
                store,
                "--listen",
                "127.0.0.1:0",
                "--cert",
                cert,
                "--key",
                key,
            ],
            "",
        );
        assert!(!output.status.success());
        text(&output.stderr).trim().to_string()
    };
    let (server_pem, server_key) = (tls_file("server.pem"), tls_file("server.key"));
    let client_key = tls_file("client.key");
    assert_eq!(
        server(&server_pem, &client_key),
        format!("error: {client_key} is not the private key of {server_pem}")
    );
    assert_eq!(
        server(&server_key, &server_key),
        format!("error: {server_key}: no CERTIFICATE block found")
    );
    assert_eq!(
        server(&server_pem, &server_pem),
        format!("error: {server_pem}: no private key found")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A fresh store directory holding the certificate of `tests/data/tls/client.pem`; removed when
/// dropped.
struct ClientStore(PathBuf);

impl ClientStore {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("inbound-certs-mtls-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = ClientStore(dir);
        let added = certstore(store.path(), &["system", "add", "crm", "--kind", "source"]);
        assert!(added.status.success(), "{}", text(&added.stderr));
        let imported = certstore(
            store.path(),
            &["--system", "crm", "import", &tls_file("client.pem")],
        );
        assert!(imported.status.success(), "{}", text(&imported.stderr));
        store
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for ClientStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether the server has closed this connection (end of stream or reset); never blocks.
fn closed_by_server(socket: &mut TcpStream) -> bool {
    socket.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    match socket.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => panic!("the server sent data to a client that sent nothing"),
        Err(error) if error.kind() == ErrorKind::WouldBlock => false,
        Err(_) => true,
    }
}

/// Waits (30 seconds at most) until the server has closed every one of `sockets`; returns how
/// many it closed.
fn wait_until_closed(sockets: &mut [TcpStream]) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut closed = vec![false; sockets.len()];
    while Instant::now() < deadline {
        for (socket, closed) in sockets.iter_mut().zip(closed.iter_mut()) {
            *closed = *closed || closed_by_server(socket);
        }
        if closed.iter().all(|&closed| closed) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    closed.iter().filter(|&&closed| closed).count()
}

/// The number of threads of a process, from `/proc/PID/status`.
fn threads(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Samples the thread count of `pid` until dropped; `max()` is the highest seen.
struct ThreadSampler {
    stop: Arc<AtomicBool>,
    max: Arc<AtomicUsize>,
}

impl ThreadSampler {
    fn start(pid: u32) -> Self {
        let (stop, max) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
        );
        let (stop_, max_) = (stop.clone(), max.clone());
        std::thread::spawn(move || {
            while !stop_.load(Ordering::Relaxed) {
                max_.fetch_max(threads(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        ThreadSampler { stop, max }
    }

    fn max(&self) -> usize {
        self.max.load(Ordering::Relaxed)
    }
}

impl Drop for ThreadSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// `mtls_client` as the trusted client, tried again while the server is still at its cap (a
/// slot is given back just after its connection is closed); at most 30 seconds.
fn served_again(server: &Server) -> Output {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let output = client(server, "client", "hello again\n");
        if output.status.success() || Instant::now() > deadline {
            return output;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn mtls_server_caps_connections_and_threads() {
    const CAP: usize = 4;
    const EXTRA: usize = 28;
    let store = ClientStore::new("cap");
    let mut server = Server::start_with(
        store.path(),
        &["--max-connections", "4", "--handshake-timeout-ms", "600000"],
    );
    let pid = server.child.id();
    let baseline = threads(pid);
    let sampler = ThreadSampler::start(pid);

    // Idle connections: the first CAP take every slot (the kernel queues connections in the
    // order they were made), the others are closed by the server straight away.
    let mut holding: Vec<TcpStream> = (0..CAP)
        .map(|_| TcpStream::connect(&server.address).unwrap())
        .collect();
    let mut extra: Vec<TcpStream> = (0..EXTRA)
        .map(|_| TcpStream::connect(&server.address).unwrap())
        .collect();
    let closed = wait_until_closed(&mut extra);
    let most = sampler.max();
    drop(sampler);
    assert!(
        most <= baseline + CAP,
        "{most} threads with {} idle connections, a cap of {CAP} and {baseline} thread(s) before",
        CAP + EXTRA
    );
    assert_eq!(closed, EXTRA, "connections beyond the cap are closed");
    assert_eq!(
        server
            .wait_for_log("refused: all 4 connections in use", EXTRA)
            .len(),
        EXTRA
    );
    assert!(
        !holding.iter_mut().any(closed_by_server),
        "the connections holding the slots are still open"
    );

    // Once the idle clients go away, their slots serve a real client again.
    drop(holding);
    let served = served_again(&server);
    assert!(served.status.success(), "{}", text(&served.stderr));
    assert_eq!(text(&served.stdout), "hello again\n");
    server.wait_for_log(": accepted cert_client_", 1);
}

#[test]
fn mtls_server_drops_silent_and_stalled_handshakes() {
    let store = ClientStore::new("handshake");
    let mut server = Server::start_with(
        store.path(),
        &["--max-connections", "2", "--handshake-timeout-ms", "300"],
    );

    // One client sends nothing; the other trickles a TLS record that never ends, a byte every
    // 20 ms, so that no single read waits long: only a deadline for the whole handshake ends it.
    let mut silent = TcpStream::connect(&server.address).unwrap();
    let trickler = TcpStream::connect(&server.address).unwrap();
    let address = server.address.clone();
    let trickled = std::thread::spawn(move || {
        let mut socket = trickler;
        let record = [0x16u8, 0x03, 0x01, 0x40, 0x00];
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut sent = 0usize;
        while Instant::now() < deadline {
            let byte = record.get(sent).copied().unwrap_or(0);
            if socket.write_all(&[byte]).is_err() || closed_by_server(&mut socket) {
                return Ok(sent);
            }
            socket.set_nonblocking(false).unwrap();
            sent += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "{address} still open after 30 seconds of trickling"
        ))
    });
    assert_eq!(
        wait_until_closed(std::slice::from_mut(&mut silent)),
        1,
        "a silent connection is closed"
    );
    let sent = trickled.join().unwrap().unwrap();
    assert!(sent > 1, "the trickling client sent {sent} bytes");
    let dropped = server.wait_for_log(
        ": handshake not finished within 300ms, connection dropped",
        2,
    );
    assert_eq!(dropped.len(), 2, "{dropped:?}");

    // Both slots are free again.
    let served = served_again(&server);
    assert!(served.status.success(), "{}", text(&served.stderr));
    assert_eq!(text(&served.stdout), "hello again\n");
}

#[test]
fn mtls_server_closes_idle_connections_after_the_handshake() {
    let store = ClientStore::new("idle");
    let mut server = Server::start_with(store.path(), &["--idle-timeout-ms", "300"]);
    let mut idle = Command::new(common::example("mtls_client"))
        .args(["--connect", &server.address, "--ca", &tls_file("ca.pem")])
        .args(["--cert", &tls_file("client.pem")])
        .args(["--key", &tls_file("client.key")])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    server.wait_for_log(": accepted cert_client_", 1);
    server.wait_for_log(": idle for 300ms, connection closed", 1);
    drop(idle.stdin.take());
    let _ = idle.wait_with_output().unwrap();
}

#[test]
fn mtls_server_explains_bad_limits() {
    let dir =
        std::env::temp_dir().join(format!("inbound-certs-mtls-limits-{}", std::process::id()));
    let store = dir.to_str().unwrap();
    for (option, value, expected) in [
        (
            "--max-connections",
            "0",
            "--max-connections needs a number of connections from 1 up, got \"0\"",
        ),
        (
            "--max-connections",
            "many",
            "--max-connections needs a number of connections from 1 up, got \"many\"",
        ),
        (
            "--handshake-timeout-ms",
            "-5",
            "--handshake-timeout-ms needs a number of milliseconds from 1 up, got \"-5\"",
        ),
        (
            "--idle-timeout-ms",
            "0",
            "--idle-timeout-ms needs a number of milliseconds from 1 up, got \"0\"",
        ),
    ] {
        let output = run(
            "mtls_server",
            &["--store", store, "--listen", "127.0.0.1:0", option, value],
            "",
        );
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(text(&output.stderr).trim(), format!("error: {expected}"));
    }
}

/// Issue 23, "Last used": the server records each accepted handshake with the client's
/// address and flushes it in the background; `certstore list` shows it.
#[test]
fn mtls_server_records_the_last_use_of_each_client() {
    let store = ClientStore::new("last-used");
    let client_name = name_of(&common::data("tls/client.pem").display().to_string());
    let mut server = Server::start_with(store.path(), &["--usage-flush-ms", "50"]);
    let trusted = client(&server, "client", "hello\n");
    assert!(trusted.status.success(), "{}", text(&trusted.stderr));
    server.wait_for_log(": accepted cert_client_", 1);
    let started = std::time::Instant::now();
    loop {
        let listed = certstore(store.path(), &["--system", "crm", "list", "--json"]);
        let json: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
        assert_eq!(json[0]["name"], client_name.as_str());
        if json[0]["last_used_from"] == "127.0.0.1" {
            assert!(json[0]["last_used"].as_str().unwrap().starts_with("20"));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never flushed: {json}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server);
}
