//! The examples on PostgreSQL: `mtls_server --postgres` and `certstore --postgres`.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use inbound_certs::{
    backend::PostgresOptions, CertificateStore, ImportPolicy, Registry, SystemKind, SystemName,
};
use time::OffsetDateTime;

use crate::common;
use crate::server::{free_port, Server};

/// `mtls_server --postgres URL` serves a registry in PostgreSQL: a client whose certificate a
/// system trusts is accepted and logged with its system; one no system trusts is refused.
pub(crate) fn mtls_server_serves_a_postgres_registry(server: &Server) -> String {
    use std::io::{BufRead, BufReader, Write};
    let registry = Registry::connect(&server.url(), &PostgresOptions::default())
        .unwrap()
        .acting_as("test");
    let system: SystemName = "mtls-clients".parse().unwrap();
    let now = OffsetDateTime::now_utc();
    registry
        .create_system(&system, SystemKind::Source, now)
        .unwrap();
    let client = common::read("tls/client.pem");
    registry
        .store(&system)
        .unwrap()
        .import_upload(&client, &ImportPolicy::new(now))
        .unwrap();
    let data = common::data("tls");
    let file = |name: &str| data.join(name).display().to_string();
    let mut mtls = Command::new(common::example("mtls_server"))
        .args(["--postgres", &server.url(), "--listen", "127.0.0.1:0"])
        .args(["--cert", &file("server.pem"), "--key", &file("server.key")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(mtls.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let address = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let talk = |identity: &str| {
        let mut client = Command::new(common::example("mtls_client"))
            .args(["--connect", &address, "--ca", &file("ca.pem")])
            .args(["--cert", &file(&format!("{identity}.pem"))])
            .args(["--key", &file(&format!("{identity}.key"))])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        client.stdin.take().unwrap().write_all(b"hello\n").unwrap();
        client.wait_with_output().unwrap()
    };
    // The server's log, read as it is written: the server logs a refusal after sending its
    // alert, so the client may be gone before the line is written.
    let log = Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let log = Arc::clone(&log);
        let stderr = mtls.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        })
    };
    let trusted = talk("client");
    let stranger = talk("stranger");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !log.lock().unwrap().contains("is not trusted by any system") && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = mtls.kill();
    let _ = mtls.wait();
    let _ = reader.join();
    let log = log.lock().unwrap().clone();
    assert_eq!(String::from_utf8_lossy(&trusted.stdout), "hello\n", "{log}");
    assert!(!stranger.status.success());
    let name = inbound_certs::decode(&client).unwrap()[0].name();
    assert!(
        log.contains(&format!(
            ": accepted {name} (O=inbound-certs examples,CN=demo client) for system mtls-clients"
        )),
        "{log}"
    );
    assert!(
        log.contains("is not trusted by any system this server accepts"),
        "{log}"
    );
    "a trusted client echoed and logged with its system, a stranger refused".to_string()
}

/// The `certstore` example with `--postgres` (the default schema, used by no other test).
pub(crate) fn certstore_manages_a_postgres_store(server: &Server) -> String {
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port);
    let certstore = |arguments: &[&str]| {
        let output = Command::new(common::example("certstore"))
            .args(["--postgres", &url])
            .args(arguments)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (ok, out, err) = certstore(&[
        "--actor", "alice", "system", "add", "crm", "--kind", "source",
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "added system crm (source)");
    let (ok, out, err) = certstore(&[
        "--actor",
        "bob",
        "--system",
        "crm",
        "import",
        "--allow-ca",
        "tests/data/bundle.pem",
    ]);
    assert!(ok, "{err}");
    let imported: Vec<&str> = out
        .lines()
        .filter_map(|line| line.strip_prefix("imported "))
        .collect();
    assert_eq!(imported.len(), 5, "{out}");
    let (ok, out, err) = certstore(&["--system", "crm", "list", "--json"]);
    assert!(ok, "{err}");
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(5));
    let (ok, out, err) = certstore(&["identify", imported[1]]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "crm (source)");
    let (ok, out, _) = certstore(&["--actor", "carol", "--system", "crm", "delete", imported[0]]);
    assert!(ok);
    assert_eq!(out.trim(), format!("deleted {} from crm", imported[0]));
    // The trail of those runs (each its own process), from the database, newest first (of
    // crm: other tests use other systems of the same schema).
    let (ok, out, err) = certstore(&["history", "--system", "crm", "--json"]);
    assert!(ok, "{err}");
    let records: serde_json::Value = serde_json::from_str(&out).unwrap();
    let records = records.as_array().unwrap();
    let trail: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|record| {
            (
                record["actor"].as_str().unwrap(),
                record["action"].as_str().unwrap(),
                record["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    let mut expected = vec![("carol", "delete", "removed")];
    expected.extend([("bob", "import", "added"); 5]);
    expected.push(("alice", "create_system", "created"));
    assert_eq!(trail, expected, "{out}");
    assert_eq!(records[0]["certificate"], imported[0]);
    assert_eq!(records[5]["certificate"], imported[0]);
    let (ok, out, err) = certstore(&["--system", "crm", "show", imported[1]]);
    assert!(ok, "{err}");
    assert!(out.contains(" by bob"), "{out}");
    // Processes writing at once: each change is one whole record.
    let writers: Vec<_> = (0..6)
        .map(|index| {
            Command::new(common::example("certstore"))
                .args(["--postgres", &url, "--actor", &format!("process-{index}")])
                .args(["system", "add", &format!("p{index}"), "--kind", "target"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for writer in writers {
        let output = writer.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let (ok, out, err) = certstore(&["history", "--json", "--limit", "6"]);
    assert!(ok, "{err}");
    let records: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut seen: Vec<(String, String)> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|record| {
            assert_eq!(record["action"], "create_system");
            (
                record["actor"].as_str().unwrap().to_string(),
                record["system"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    let expected: Vec<(String, String)> = (0..6)
        .map(|index| (format!("process-{index}"), format!("p{index}")))
        .collect();
    assert_eq!(seen, expected);
    let (ok, _, err) = certstore(&["--system", "crm", "show", imported[0]]);
    assert!(!ok);
    assert_eq!(
        err.trim(),
        format!("error: certificate {} not found in system crm", imported[0])
    );
    let (ok, out, err) = certstore(&["check", "--within-days", "1"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "0 expired, 0 expiring within 1 days");
    let registry =
        inbound_certs::Registry::connect(&server.url(), &PostgresOptions::default()).unwrap();
    let crm: inbound_certs::SystemName = "crm".parse().unwrap();
    assert_eq!(
        registry
            .store(&crm)
            .unwrap()
            .list()
            .unwrap()
            .certificates
            .len(),
        4
    );

    let unreachable = format!("postgres://postgres@127.0.0.1:{}/postgres", free_port());
    let output = Command::new(common::example("certstore"))
        .args(["--postgres", &unreachable, "list"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        "error: cannot connect to the database: error connecting to server: Connection refused (os error 111)"
    );
    "system add, import, list --json, identify, delete, history (of earlier runs, and of 6 processes at once), show, check and an unreachable database through --postgres".to_string()
}
