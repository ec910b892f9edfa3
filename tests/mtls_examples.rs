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

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc;
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

    let imported = certstore(store, &["import", &tls_file("client.pem")]);
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
    let deleted = certstore(store, &["delete", &client_name]);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    let after = client(&server, "client", "hello\n");
    assert!(!after.status.success());
    assert!(text(&after.stderr).contains("CertificateUnknown"));

    // The server logs a refusal after sending its alert: wait for the lines, not for the client.
    server.wait_for_log(
        &format!(": accepted {client_name} (O=inbound-certs examples,CN=demo client)"),
        1,
    );
    for name in [&stranger_name, &client_name] {
        server.wait_for_log(
            &format!(": refused handshake: client certificate {name} is not in the store"),
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
