//! End-to-end runs of the `certstore` and `inspect` examples, as an administrator uses them.
//! `cargo test` builds the examples into `target/<profile>/examples/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(name: &str, arguments: &[&str]) -> Output {
    Command::new(common::example(name))
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

struct Store(PathBuf);

impl Store {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("inbound-certs-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Store(dir)
    }

    fn run(&self, arguments: &[&str]) -> Output {
        let mut all = vec!["--store", self.0.to_str().unwrap()];
        all.extend_from_slice(arguments);
        run("certstore", &all)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn name_of(file: &str) -> String {
    inbound_certs::decode(&common::read(file)).unwrap()[0]
        .name()
        .to_string()
}

#[test]
fn certstore_import_list_show_delete_purge() {
    let store = Store::new("flow");
    let source = name_of("sample_source.pem");
    let output = store.run(&["import", "tests/data/sample_source.pem"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), format!("imported {source}\n"));
    assert!(
        Path::new(&store.0).join(format!("{source}.der")).exists(),
        "the directory is created on first import"
    );

    let output = store.run(&["import", "tests/data/sample_source.pem"]);
    assert_eq!(text(&output.stdout), format!("already present {source}\n"));

    // A refused file stores nothing from it, prints the error and exits 1; others go on.
    let output = store.run(&[
        "import",
        "tests/data/key_pkcs8.pem",
        "tests/data/sample_proxy.der",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr)
        .contains("tests/data/key_pkcs8.pem: a private key (PKCS#8) was uploaded"));
    assert_eq!(
        text(&output.stdout),
        format!("imported {}\n", name_of("sample_proxy.der"))
    );

    let output = store.run(&["import", "tests/data/expired.pem"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("expired on 2021-01-01T00:00:00Z"),
        "{}",
        text(&output.stderr)
    );
    let output = store.run(&["import", "--allow-expired", "tests/data/expired.pem"]);
    assert!(output.status.success());

    let output = store.run(&["list"]);
    assert!(output.status.success());
    let listing = text(&output.stdout);
    assert!(listing.starts_with("NAME"), "{listing}");
    assert_eq!(listing.lines().count(), 4, "{listing}");
    assert!(listing.contains("expired") && listing.contains("CN=orders-service.source.example"));
    // The CA flag has its column (issue 12).
    assert!(
        listing.lines().next().unwrap().contains("  CA  "),
        "{listing}"
    );

    let output = store.run(&["list", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let objects = json.as_array().unwrap();
    assert_eq!(objects.len(), 3);
    let keys: Vec<&String> = objects[0].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 19, "{keys:?}");
    assert!(!keys.iter().any(|k| *k == "source"));
    assert_eq!(objects[0]["is_ca"], false);

    let output = store.run(&["show", &source, "--json"]);
    let object: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(object["name"], source.as_str());
    assert_eq!(object["key_algorithm"], "EC");
    assert_eq!(object["ec_curve"], "P-256");
    let output = store.run(&["show", &source]);
    assert!(text(&output.stdout)
        .contains("Subject:             CN=orders-service.source.example,O=Orders Inc,C=DE"));

    let output = store.run(&["purge-expired"]);
    assert_eq!(
        text(&output.stdout),
        format!("deleted {}\n", name_of("expired.pem"))
    );

    let output = store.run(&["delete", &source]);
    assert_eq!(text(&output.stdout), format!("deleted {source}\n"));
    let output = store.run(&["delete", &source]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains(&format!("certificate {source} not found")));
    let output = store.run(&["delete", "../../etc/passwd"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("invalid certificate name"));
}

#[test]
fn certstore_list_reports_damaged_files_and_still_succeeds() {
    let store = Store::new("damaged");
    // bundle.pem holds an intermediate CA (issue 12: refused unless --allow-ca).
    let output = store.run(&["import", "tests/data/bundle.pem"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("is a CA certificate")
            && text(&output.stderr).ends_with("(to import it anyway: --allow-ca)\n"),
        "{}",
        text(&output.stderr)
    );
    assert!(store
        .run(&["import", "--allow-ca", "tests/data/bundle.pem"])
        .status
        .success());
    let victim = store.0.join(format!("{}.der", name_of("rsa2048.pem")));
    std::fs::write(&victim, b"garbage").unwrap();
    let output = store.run(&["list"]);
    assert!(output.status.success());
    assert_eq!(text(&output.stdout).lines().count(), 5);
    // A pasted SHA-1 fingerprint gets the way to the SHA-256 one (issue 12).
    let sha1 = store.run(&[
        "show",
        "SHA1 Fingerprint=AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01",
    ]);
    assert_eq!(sha1.status.code(), Some(1));
    assert!(
        text(&sha1.stderr).contains("openssl x509 -noout -fingerprint -sha256"),
        "{}",
        text(&sha1.stderr)
    );
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&victim.display().to_string())
            && stderr.contains("does not match its name"),
        "{stderr}"
    );
}

#[test]
fn certstore_refuses_target_systems_and_missing_stores() {
    let store = Store::new("target");
    let output = store.run(&[
        "--system-kind",
        "target",
        "import",
        "tests/data/ec_p256.pem",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr)
        .contains("inbound certificates are supported for source and proxy systems only"));
    assert!(!store.0.exists());
    let output = store.run(&["list"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("does not exist"));
}

#[test]
fn certstore_demo_runs_every_step() {
    let output = run("certstore", &["demo"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    for step in [
        "Import two client certificates",
        "List the store",
        "Delete one certificate",
        "Purge expired certificates",
        "Demo done",
    ] {
        assert!(stdout.contains(step), "missing step {step}:\n{stdout}");
    }
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("a private key (PKCS#8) was uploaded"),
        "{stderr}"
    );
    assert!(
        stderr.contains("expired on 2021-01-01T00:00:00Z"),
        "{stderr}"
    );
}

#[test]
fn inspect_json_has_the_documented_keys_and_reports_bad_files() {
    let output = run(
        "inspect",
        &[
            "--json",
            "tests/data/many_sans.pem",
            "tests/data/csr.pem",
            "tests/data/bundle.p7b",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        "tests/data/csr.pem: a certificate signing request (CSR) was uploaded where a certificate was expected: upload the certificate issued for it\n"
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let objects = json.as_array().unwrap();
    assert_eq!(objects.len(), 6);
    let mut keys: Vec<&str> = objects[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut expected = vec![
        "source",
        "name",
        "fingerprint_sha256",
        "subject",
        "issuer",
        "serial",
        "version",
        "signature_algorithm",
        "signature_algorithm_oid",
        "not_before",
        "not_after",
        "key_algorithm",
        "key_bits",
        "ec_curve",
        "is_ca",
        "self_issued",
        "client_auth",
        "subject_alt_names",
        "extended_key_usage",
        "status",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    let first = &objects[0];
    assert_eq!(first["source"], "tests/data/many_sans.pem");
    assert_eq!(first["subject_alt_names"][2], "IP:10.0.0.1");
    assert_eq!(first["extended_key_usage"][0], "1.3.6.1.5.5.7.3.2");
    assert_eq!(first["version"], 3);
    assert_eq!(objects[1]["source"], "tests/data/bundle.p7b");
    assert_eq!(objects[3]["key_algorithm"], "Ed25519");
    assert_eq!(objects[3]["key_bits"], 256);
}
