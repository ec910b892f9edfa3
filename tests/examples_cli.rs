//! End-to-end runs of the `certstore` and `inspect` examples, as an administrator uses them.
//! `cargo test` builds the examples into `target/<profile>/examples/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
#[path = "common/hostile_text.rs"]
mod hostile_text;

use std::path::PathBuf;
use std::process::{Command, Output};

use inbound_certs::CertificateStore;

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

/// A registry directory with one source system, `crm`.
struct Store(PathBuf);

impl Store {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("inbound-certs-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store(dir);
        let output = store.run_registry(&["system", "add", "crm", "--kind", "source"]);
        assert_eq!(text(&output.stdout), "added system crm (source)\n");
        store
    }

    /// A command on the system `crm`.
    fn run(&self, arguments: &[&str]) -> Output {
        let mut all = vec!["--system", "crm"];
        all.extend_from_slice(arguments);
        self.run_registry(&all)
    }

    /// A command on the registry.
    fn run_registry(&self, arguments: &[&str]) -> Output {
        let mut all = vec!["--store", self.0.to_str().unwrap()];
        all.extend_from_slice(arguments);
        run("certstore", &all)
    }

    /// Where the system `crm` keeps its files.
    fn system_dir(&self) -> PathBuf {
        self.0.join("systems/crm")
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
    assert!(store.system_dir().join(format!("{source}.der")).exists());

    let output = store.run(&["import", "tests/data/sample_source.pem"]);
    assert_eq!(text(&output.stdout), format!("already present {source}\n"));

    // A refused file stores nothing at all: the files are one bundle.
    let output = store.run(&[
        "import",
        "tests/data/key_pkcs8.pem",
        "tests/data/sample_proxy.der",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr)
        .contains("tests/data/key_pkcs8.pem: a private key (PKCS#8) was uploaded"));
    assert_eq!(text(&output.stdout), "");
    let output = store.run(&["import", "tests/data/sample_proxy.der"]);
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
    // The subject gives way to the last use's column (in full with --wide).
    assert!(
        listing.contains("expired") && listing.contains("CN=orders-service"),
        "{listing}"
    );
    // The CA flag has its column (issue 12).
    assert!(
        listing.lines().next().unwrap().contains("  CA  "),
        "{listing}"
    );
    // Without --system: every system, each row saying which.
    let output = store.run_registry(&["list"]);
    let listing = text(&output.stdout);
    assert!(listing.starts_with("SYSTEM  NAME"), "{listing}");
    assert_eq!(listing.lines().filter(|l| l.starts_with("crm ")).count(), 3);

    let output = store.run(&["list", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let objects = json.as_array().unwrap();
    assert_eq!(objects.len(), 3);
    let keys: Vec<&String> = objects[0].as_object().unwrap().keys().collect();
    // The report's keys, the suspension and the last and first use (null) of issue 23.
    assert_eq!(keys.len(), 32, "{keys:?}");
    assert!(objects[0]["suspension"].is_null());
    assert!(objects[0]["last_used"].is_null() && objects[0]["last_used_from"].is_null());
    assert!(objects[0]["first_used"].is_null());
    assert_eq!(objects[0]["system"], "crm");
    assert!(objects[0]["imported_at"]
        .as_str()
        .unwrap()
        .starts_with("20"));
    assert!(objects[0]["imported_by"].is_string());
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
        format!("deleted {} from crm\n", name_of("expired.pem"))
    );
    // Issue 21, item 7: nothing to purge is said, not left to silence.
    let output = store.run(&["purge-expired"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "nothing to purge: no expired certificates in crm\n"
    );
    let output = store.run_registry(&["purge-expired"]);
    assert_eq!(
        text(&output.stdout),
        "nothing to purge: no expired certificates in any system\n"
    );

    let output = store.run(&["delete", &source]);
    assert_eq!(text(&output.stdout), format!("deleted {source} from crm\n"));
    let output = store.run(&["delete", &source]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains(&format!("certificate {source} not found")));
    let output = store.run(&["delete", "../../etc/passwd"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("invalid certificate name"));
}

/// The names `certstore list --json` prints, sorted.
fn listed(store: &Store) -> Vec<String> {
    let output = store.run(&["list", "--json"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut names: Vec<String> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|object| object["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn certstore_import_takes_its_files_as_one_bundle() {
    let store = Store::new("bundle");
    let proxy = name_of("sample_proxy.der");
    let output = store.run(&["import", "tests/data/sample_proxy.der"]);
    assert!(output.status.success(), "{}", text(&output.stderr));

    // A file that is not a certificate: nothing from the good file before it is stored.
    let output = store.run(&[
        "import",
        "tests/data/sample_source.pem",
        "tests/data/key_pkcs8.pem",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stdout), "");
    assert_eq!(
        text(&output.stderr),
        "error: tests/data/key_pkcs8.pem: a private key (PKCS#8) was uploaded where a certificate was expected: upload only the certificate, and keep the private key secret\n\
         error: nothing imported: 1 of 2 files refused\n"
    );
    assert_eq!(listed(&store), vec![proxy.clone()]);

    // A certificate the policy refuses (expired), and a missing file: each named, none stored.
    let output = store.run(&[
        "import",
        "tests/data/sample_source.pem",
        "tests/data/expired.pem",
        "tests/data/no-such-file.pem",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stdout), "");
    let stderr = text(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(
        lines[0].starts_with("error: tests/data/no-such-file.pem: "),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "error: tests/data/expired.pem: certificate {} (",
            name_of("expired.pem")
        )) && lines[1].contains("expired on 2021-01-01T00:00:00Z"),
        "{stderr}"
    );
    assert_eq!(lines[2], "error: nothing imported: 2 of 3 files refused");
    assert_eq!(listed(&store), vec![proxy.clone()]);

    // Good files are stored together; what is there already is reported as such.
    let output = store.run(&[
        "import",
        "--allow-ca",
        "tests/data/sample_source.pem",
        "tests/data/bundle.pem",
        "tests/data/sample_proxy.der",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let mut expected = format!("imported {}\n", name_of("sample_source.pem"));
    for certificate in inbound_certs::decode(&common::read("bundle.pem")).unwrap() {
        expected.push_str(&format!("imported {}\n", certificate.name()));
    }
    expected.push_str(&format!("already present {proxy}\n"));
    assert_eq!(text(&output.stdout), expected);
    assert_eq!(listed(&store).len(), 7);
}

#[test]
fn certstore_list_reports_damaged_files_and_still_succeeds() {
    let store = Store::new("damaged");
    // bundle.pem holds an intermediate CA (stored only with --allow-ca).
    assert!(store
        .run(&["import", "--allow-ca", "tests/data/bundle.pem"])
        .status
        .success());
    let victim = store
        .system_dir()
        .join(format!("{}.der", name_of("rsa2048.pem")));
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
    // The damaged file counts as there for `delete`, which is how it is cleaned up.
    let damaged = name_of("rsa2048.pem");
    let output = store.run(&["delete", &damaged]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        format!("deleted {damaged} from crm\n")
    );
    assert!(!victim.exists());
}

#[test]
fn certstore_refuses_target_systems_missing_systems_and_missing_stores() {
    let store = Store::new("target");
    let output = store.run_registry(&["system", "add", "warehouse", "--kind", "target"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = store.run_registry(&["--system", "warehouse", "import", "tests/data/ec_p256.pem"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr)
        .contains("inbound certificates are supported for source and proxy systems only"));
    assert!(!store.0.join("systems/warehouse/cert_client_").exists());

    let output = store.run_registry(&["--system", "nope", "import", "tests/data/ec_p256.pem"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: no system named nope is registered: add it with 'certstore --store {} system add nope --kind source' (or proxy)\n",
            store.0.display()
        )
    );
    let output = store.run_registry(&["import", "tests/data/ec_p256.pem"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("'import' needs --system NAME"));

    let missing = store.0.join("missing");
    let output = run("certstore", &["--store", missing.to_str().unwrap(), "list"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("does not exist"),
        "{}",
        text(&output.stderr)
    );
    assert!(!missing.exists());
}

/// Hostile system names are refused with the reason, and nothing is made outside the
/// registry's directory.
#[test]
fn certstore_refuses_hostile_system_names() {
    let store = Store::new("hostile");
    let entries = |dir: &std::path::Path| {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let before = entries(&store.0);
    for (name, reason) in [
        ("..", "a system name cannot start with '.'"),
        ("../escape", "a system name cannot start with '.'"),
        ("a/b", "'/' at position 2 is not allowed"),
        ("a\\b", "'\\\\' at position 2 is not allowed"),
        ("сrm", "'с' at position 1 is not allowed"),
        ("CRM", "system names are lower case (\"crm\")"),
        (
            &"x".repeat(65),
            "65 characters, more than the 64 a system name may have",
        ),
        ("", "a system name cannot be empty"),
    ] {
        let output = store.run_registry(&["system", "add", name, "--kind", "source"]);
        assert_eq!(output.status.code(), Some(1), "{name:?}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.starts_with("error: invalid system name") && stderr.contains(reason),
            "{name:?}: {stderr}"
        );
    }
    // Nothing was made in the registry's directory or beside it (other tests share its
    // parent, so there the one name a hostile system name could reach is looked for).
    assert_eq!(entries(&store.0), before);
    assert!(!store.0.parent().unwrap().join("escape").exists());
    let systems: Vec<_> = std::fs::read_dir(store.0.join("systems"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(systems, vec![std::ffi::OsString::from("crm")]);
}

/// Systems: added, listed with counts, identified, removed (refused while they hold
/// certificates), and a directory made by an earlier version migrated into a system.
#[test]
fn certstore_manages_systems_and_identifies_clients() {
    let store = Store::new("systems");
    let output = store.run_registry(&["system", "add", "gateway", "--kind", "proxy"]);
    assert_eq!(text(&output.stdout), "added system gateway (proxy)\n");
    let output = store.run_registry(&["system", "add", "crm", "--kind", "proxy"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        "error: a system named crm is already registered\n"
    );
    let source = name_of("sample_source.pem");
    for system in ["crm", "gateway"] {
        let output =
            store.run_registry(&["--system", system, "import", "tests/data/sample_source.pem"]);
        assert_eq!(text(&output.stdout), format!("imported {source}\n"));
    }
    let output = store.run_registry(&["identify", "tests/data/sample_source.pem"]);
    assert_eq!(text(&output.stdout), "crm (source)\ngateway (proxy)\n");
    let fingerprint = source.trim_start_matches("cert_client_").to_uppercase();
    let output = store.run_registry(&["identify", &fingerprint]);
    assert_eq!(text(&output.stdout), "crm (source)\ngateway (proxy)\n");
    let output = store.run_registry(&["identify", "tests/data/sample_proxy.der"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stdout), "");

    let output = store.run_registry(&["system", "list", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json[0]["name"], "crm");
    assert_eq!(json[0]["kind"], "source");
    assert_eq!(json[0]["valid"], 1);
    assert_eq!(json[1]["name"], "gateway");
    let output = store.run_registry(&["system", "list"]);
    assert!(text(&output.stdout).starts_with(
        "SYSTEM   KIND    PERMISSIONS  VALID  EXPIRING  EXPIRED  DAMAGED  SUSPENDED\ncrm      source  -            1"
    ));

    let output = store.run_registry(&["system", "remove", "crm"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        "error: system crm still holds 1 certificate(s); delete them first, or remove the system with its certificates (--with-certificates)\n"
    );
    let output = store.run_registry(&["system", "remove", "crm", "--with-certificates"]);
    assert_eq!(
        text(&output.stdout),
        "removed system crm and 1 certificate(s)\n"
    );
    let output = store.run_registry(&["identify", "tests/data/sample_source.pem"]);
    assert_eq!(text(&output.stdout), "gateway (proxy)\n");

    // A directory of the earlier layout (certificates directly in it), migrated.
    let legacy = store.0.join("legacy");
    inbound_certs::backend::FileStore::create(&legacy, inbound_certs::SystemKind::Source)
        .unwrap()
        .import_upload(
            &common::read("bundle.pem"),
            &inbound_certs::ImportPolicy::new(time::macros::datetime!(2026-06-01 0:00 UTC))
                .allow_ca(true),
        )
        .unwrap();
    let legacy_store = legacy.to_str().unwrap();
    let output = run(
        "certstore",
        &[
            "--store",
            legacy_store,
            "migrate",
            "--system",
            "old",
            "--kind",
            "source",
        ],
    );
    assert_eq!(
        text(&output.stdout),
        "moved 5 certificate(s) into system old (source)\n",
        "{}",
        text(&output.stderr)
    );
    let output = run(
        "certstore",
        &["--store", legacy_store, "--system", "old", "list", "--json"],
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 5);
}

/// Permissions (issue 24): set when a system is added (`--permission`, repeated), granted and
/// revoked (a second grant or revocation changes nothing, and says so), listed in a
/// PERMISSIONS column and as `permissions` in JSON, audited; hostile permissions and
/// permissions for a target system are refused with the reason, changing nothing.
#[test]
fn certstore_grants_and_revokes_permissions() {
    let store = Store::new("permissions");
    let output = store.run_registry(&[
        "system",
        "add",
        "gateway",
        "--kind",
        "proxy",
        "--permission",
        "proxy-api",
        "--permission",
        "reports.read",
    ]);
    assert_eq!(
        text(&output.stdout),
        "added system gateway (proxy) with permissions proxy-api,reports.read\n",
        "{}",
        text(&output.stderr)
    );
    let output = store.run_registry(&["system", "grant", "crm", "realtime-api"]);
    assert_eq!(text(&output.stdout), "granted realtime-api to system crm\n");
    let output = store.run_registry(&["system", "grant", "crm", "realtime-api"]);
    assert!(output.status.success());
    assert_eq!(
        text(&output.stdout),
        "system crm holds realtime-api already; nothing changed\n"
    );
    let output = store.run_registry(&["system", "revoke", "gateway", "reports.read"]);
    assert_eq!(
        text(&output.stdout),
        "revoked reports.read from system gateway\n"
    );
    let output = store.run_registry(&["system", "revoke", "gateway", "reports.read"]);
    assert_eq!(
        text(&output.stdout),
        "system gateway does not hold reports.read; nothing changed\n"
    );

    let output = store.run_registry(&["system", "list"]);
    assert_eq!(
        text(&output.stdout),
        "SYSTEM   KIND    PERMISSIONS   VALID  EXPIRING  EXPIRED  DAMAGED  SUSPENDED\n\
         crm      source  realtime-api  0      0         0        0        0\n\
         gateway  proxy   proxy-api     0      0         0        0        0\n"
    );
    let output = store.run_registry(&["system", "list", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json[0]["permissions"], serde_json::json!(["realtime-api"]));
    assert_eq!(json[1]["permissions"], serde_json::json!(["proxy-api"]));

    // Hostile permissions, and permissions for a target system: refused, nothing changed.
    for (arguments, message) in [
        (
            vec!["system", "grant", "crm", "../admin"],
            "error: invalid permission \"../admin\": a permission cannot start with '.'\n",
        ),
        (
            vec!["system", "grant", "crm", "Proxy-API"],
            "error: invalid permission \"Proxy-API\": permissions are lower case (\"proxy-api\")\n",
        ),
        (
            vec!["system", "grant", "crm", "a\u{1b}[2Jb"],
            "error: invalid permission \"a\\u{1b}[2Jb\": '\\u{1b}' at position 2 is not allowed: use only a-z, 0-9, '-', '_' and '.'\n",
        ),
        (
            vec!["system", "add", "edge", "--kind", "proxy", "--permission", ""],
            "error: invalid permission \"\": a permission cannot be empty\n",
        ),
        (
            vec!["system", "add", "warehouse", "--kind", "target", "--permission", "proxy-api"],
            "error: system warehouse is a target system, which is only ever called: it cannot hold permissions\n",
        ),
        (
            vec!["system", "grant", "nope", "proxy-api"],
            "",
        ),
    ] {
        let output = store.run_registry(&arguments);
        assert_eq!(output.status.code(), Some(1), "{arguments:?}");
        if !message.is_empty() {
            assert_eq!(text(&output.stderr), message, "{arguments:?}");
        }
    }
    assert!(!store.0.join("systems/edge").exists());
    assert!(!store.0.join("systems/warehouse").exists());
    assert_eq!(
        std::fs::read_to_string(store.system_dir().join("system"))
            .unwrap()
            .lines()
            .last(),
        Some("permissions: realtime-api")
    );

    let output = store.run_registry(&["history", "--system", "crm"]);
    let history = text(&output.stdout);
    assert!(
        history.contains(
            ": permission granted to system crm (permission realtime-api; before: none; after: realtime-api)"
        ),
        "{history}"
    );
    let output = store.run_registry(&["history", "--system", "gateway"]);
    let history = text(&output.stdout);
    assert!(
        history.contains(": permission revoked from system gateway (permission reports.read; before: proxy-api, reports.read; after: proxy-api)"),
        "{history}"
    );
    assert!(
        history.contains(
            ": system gateway created (a proxy system; permissions: proxy-api, reports.read)"
        ),
        "{history}"
    );
}

#[test]
fn certstore_demo_runs_every_step() {
    let output = run("certstore", &["demo"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    for step in [
        "A registry of systems",
        "added system partner-gateway (proxy)",
        "Import client certificates for crm",
        "A target system is never called in by",
        "Which system is this client?",
        "crm (source)\npartner-gateway (proxy)",
        "Every system's certificates",
        "Delete the shared certificate from crm: partner-gateway still trusts it",
        "Purge expired certificates",
        "removed system crm and 4 certificate(s)",
        "The audit trail",
        // Issue 21, item 7: in words (it was "remove_system system crm: removed: …").
        "demo-admin: system crm removed (with 4 certificate(s))",
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
        "path_len_constraint",
        "self_issued",
        "self_signed",
        "key_usage",
        "weaknesses",
        "client_auth",
        "subject_alt_names",
        "extended_key_usage",
        "unknown_critical_extensions",
        "status",
        "status_text",
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

/// `check`: 0 when nothing expires within the window, 1 when something does, 2 when
/// something has expired; what it found, per system.
#[test]
fn certstore_check_exits_as_monitoring_plugins_do() {
    let store = Store::new("check");
    let output = store.run_registry(&["check"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "0 expired, 0 expiring within 30 days\n"
    );
    assert!(store
        .run(&["import", "tests/data/sample_source.pem"])
        .status
        .success());
    // sample_source.pem is valid until 2045: within a window of 20,000 days.
    let output = store.run_registry(&["check", "--within-days", "20000"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stdout),
        format!(
            "EXPIRING: system crm: {} (CN=orders-service.source.example,O=Orders Inc,C=DE) expires on 2045-01-01\n0 expired, 1 expiring within 20000 days\n",
            name_of("sample_source.pem")
        )
    );
    assert!(store
        .run(&["import", "--allow-expired", "tests/data/expired.pem"])
        .status
        .success());
    let output = store.run_registry(&["check", "--json"]);
    assert_eq!(output.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(json[0]["check"], "expired");
    assert_eq!(json[0]["system"], "crm");
    let output = store.run_registry(&["check", "--within-days", "soon"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("--within-days needs a number of days"));
}

/// Every change is in the audit trail with its actor; `history` reads it back, `show` says
/// when and by whom a certificate was imported.
#[test]
fn certstore_keeps_an_audit_trail() {
    let store = Store::new("history");
    let output = store.run(&["--actor", "alice", "import", "tests/data/sample_source.pem"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = store.run(&["--actor", "bob", "import", "tests/data/key_pkcs8.pem"]);
    assert_eq!(output.status.code(), Some(1));
    let source = name_of("sample_source.pem");
    let output = store.run(&["show", &source]);
    let shown = text(&output.stdout);
    assert!(
        shown.contains("Imported:            20") && shown.contains(" by alice\n"),
        "{shown}"
    );

    let output = store.run_registry(&["history", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let records = json.as_array().unwrap();
    assert_eq!(records.len(), 3, "{json}");
    assert_eq!(records[0]["actor"], "bob");
    assert_eq!(records[0]["outcome"], "refused");
    assert!(records[0]["detail"]
        .as_str()
        .unwrap()
        .starts_with("private_key"));
    assert_eq!(records[1]["actor"], "alice");
    assert_eq!(records[1]["certificate"], source.as_str());
    assert_eq!(records[1]["outcome"], "added");
    assert_eq!(records[2]["action"], "create_system");

    let output = store.run_registry(&["history", "--limit", "1"]);
    let lines = text(&output.stdout);
    assert_eq!(lines.lines().count(), 1);
    // Issue 21, item 7: in words, not the trail's codes (which the JSON keeps).
    assert!(
        lines.contains(" bob: import into system crm refused: a private key (upload tests/data/key_pkcs8.pem): a private key (PKCS#8) was uploaded"),
        "{lines}"
    );
    let output = store.run_registry(&["history", "--since", "2999-01-01T00:00:00Z"]);
    assert_eq!(text(&output.stdout), "(no records)\n");
    let output = store.run_registry(&["history", "--since", "yesterday"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("--since needs an RFC 3339 instant"));
    // Issue 21, item 7: a date is midnight UTC.
    let output = store.run_registry(&["history", "--since", "2999-01-01"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "(no records)\n");
    let output = store.run_registry(&["history", "--since", "2000-01-01"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).lines().count(), 3);
    let output = store.run_registry(&["history", "--since", "2026-02-30"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("or a date such as 2026-01-31, got \"2026-02-30\""));
}

/// Issue 21, item 7: `history` says what happened in words (the JSON keeps the codes).
#[test]
fn certstore_history_is_in_words() {
    let store = Store::new("history-words");
    for arguments in [
        &["import", "tests/data/sample_source.pem"][..],
        &["import", "tests/data/sample_source.pem"],
        &["import", "tests/data/server_only.pem"],
        &["import", "--allow-expired", "tests/data/expired.pem"],
        &["purge-expired"],
        &["delete", &name_of("sample_source.pem")],
    ] {
        store.run(arguments);
    }
    let output = store.run_registry(&["system", "add", "gateway", "--kind", "proxy"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = store.run_registry(&["system", "remove", "gateway"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = store.run_registry(&["history"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let source = name_of("sample_source.pem");
    let subject = "(CN=orders-service.source.example,O=Orders Inc,C=DE)";
    let expired = name_of("expired.pem");
    let expected = [
        "system gateway removed (with 0 certificate(s))".to_string(),
        "system gateway created (a proxy system)".to_string(),
        format!("deleted {source} {subject} from system crm"),
        format!("purged {expired} (CN=expired.client.example,O=Inbound Certs Tests,C=DE) from system crm (expired on 2021-01-01T00:00:00Z)"),
        format!("imported {expired} (CN=expired.client.example,O=Inbound Certs Tests,C=DE) into system crm"),
        format!("import into system crm refused: not valid for client authentication (1 certificate(s) in upload tests/data/server_only.pem): certificate {} ", name_of("server_only.pem")),
        format!("already present: {source} {subject} in system crm"),
        format!("imported {source} {subject} into system crm"),
        "system crm created (a source system)".to_string(),
    ];
    assert_eq!(lines.len(), expected.len(), "{stdout}");
    for (line, expected) in lines.iter().zip(&expected) {
        assert!(
            line.contains(&format!(": {expected}")),
            "{line}\nexpected: {expected}"
        );
    }
    for code in [
        "already_present",
        "create_system",
        "not_for_client_auth",
        "remove_system",
    ] {
        assert!(!stdout.contains(code), "{code} in:\n{stdout}");
    }
    let output = store.run_registry(&["history", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json[1]["action"], "create_system");
    assert_eq!(json[6]["outcome"], "already_present");
}

/// Issue 21, item 7: `delete A B` looks every name up first; one unknown name deletes
/// nothing and is named.
#[test]
fn certstore_delete_deletes_nothing_when_a_name_is_unknown() {
    let store = Store::new("delete-all-or-nothing");
    for file in ["sample_source.pem", "sample_proxy.der"] {
        let output = store.run(&["import", &format!("tests/data/{file}")]);
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    let source = name_of("sample_source.pem");
    let proxy = name_of("sample_proxy.der");
    let unknown = name_of("expired.pem");
    let output = store.run(&["delete", &source, &unknown]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stdout), "");
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: certificate {unknown} not found in system crm\n\
             error: nothing deleted: 1 of 2 certificate(s) not found\n"
        )
    );
    let mut both = vec![source.clone(), proxy.clone()];
    both.sort();
    assert_eq!(listed(&store), both);
    // A name given twice (here once as a fingerprint) is deleted once.
    let fingerprint = source["cert_client_".len()..].to_uppercase();
    let output = store.run(&["delete", &source, &proxy, &fingerprint]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        format!("deleted {source} from crm\ndeleted {proxy} from crm\n")
    );
    assert!(listed(&store).is_empty());
}

/// Issue 21, item 7: `list --expiring-within N` shows the expired certificates too, marked.
#[test]
fn certstore_list_expiring_within_includes_the_expired() {
    let store = Store::new("expiring-within");
    for arguments in [
        &["import", "tests/data/sample_source.pem"][..],
        &["import", "--allow-expired", "tests/data/expired.pem"],
    ] {
        let output = store.run(arguments);
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    let output = store.run(&["list", "--expiring-within", "30"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let listing = text(&output.stdout);
    let rows: Vec<&str> = listing.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{listing}");
    assert!(
        rows[0].starts_with(&name_of("expired.pem")["cert_client_".len()..][..12])
            && rows[0].ends_with("  expired  never"),
        "{listing}"
    );
    let output = store.run(&["list", "--expiring-within", "30", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(json[0]["status"], "expired");
    // sample_source.pem is valid until 2045: within a window of 20,000 days.
    let output = store.run(&["list", "--expiring-within", "20000", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
}

/// Issue 21, item 7: the table fits 120 columns (names cut as the console cuts them), and
/// `--wide` shows everything.
#[test]
fn certstore_list_fits_120_columns_unless_wide() {
    let store = Store::new("list-width");
    let output = store.run(&[
        "import",
        "--allow-ca",
        "tests/data/bundle.pem",
        "tests/data/sample_source.pem",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let widest = |listing: &str| listing.lines().map(|l| l.chars().count()).max().unwrap();
    for arguments in [&["list"][..], &["--system", "crm", "list"]] {
        let output = store.run_registry(arguments);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let listing = text(&output.stdout);
        assert_eq!(listing.lines().count(), 7, "{listing}");
        assert!(widest(&listing) <= 120, "{arguments:?}:\n{listing}");
        let name = name_of("sample_source.pem");
        let short = format!("{}…", &name["cert_client_".len()..][..12]);
        assert!(listing.contains(&short), "{listing}");
        assert!(listing.contains("CN=orders-service"), "{listing}");
        assert!(
            listing.contains("  EC P-256  ") && listing.contains("  RSA 2048  "),
            "{listing}"
        );

        let mut wide_arguments = arguments.to_vec();
        wide_arguments.push("--wide");
        let output = store.run_registry(&wide_arguments);
        let listing = text(&output.stdout);
        // What the table would be without fitting: the test could fail.
        assert!(widest(&listing) > 120, "{listing}");
        assert!(listing.contains(&name_of("sample_source.pem")), "{listing}");
        assert!(
            listing.contains("CN=orders-service.source.example,O=Orders Inc,C=DE"),
            "{listing}"
        );
        assert!(!listing.contains('…'), "{listing}");
        assert!(listing.contains("  EC P-256 (256 bits)  "), "{listing}");
    }
}

/// Issue 21, item 7: the usage is printed on --help only; a mistake gets one line saying
/// what is wrong and a one-line hint.
#[test]
fn certstore_argument_mistakes_give_one_line_and_a_hint() {
    let store = Store::new("usage");
    let hint = "try 'certstore --help'";
    for arguments in [
        &[][..],
        &["lst"],
        &["--store", "/nonexistent", "list", "--bogus"],
        &["--store", "/nonexistent", "system", "add", "x"],
        &["--store", "/nonexistent", "system"],
        &["--system", "crm", "import"],
        &["--system", "crm", "list"],
    ] {
        let output = run("certstore", arguments);
        assert_eq!(output.status.code(), Some(1), "{arguments:?}");
        assert_eq!(text(&output.stdout), "", "{arguments:?}");
        let stderr = text(&output.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{arguments:?}: {stderr}");
        assert!(lines[0].starts_with("error: "), "{arguments:?}: {stderr}");
        assert!(lines[1].starts_with(hint), "{arguments:?}: {stderr}");
    }
    // What was probably meant, when clap can tell.
    let output = run("certstore", &["lst"]);
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: unrecognized subcommand 'lst'\n{hint} (a similar subcommand exists: 'list')\n"
        )
    );
    let output = run("certstore", &["--store", "/nonexistent", "list", "--jsn"]);
    assert_eq!(
        text(&output.stderr),
        format!("error: unexpected argument '--jsn' found\n{hint} (a similar argument exists: '--json')\n")
    );
    let output = run("certstore", &["--store", "/nonexistent", "list", "--bogus"]);
    assert_eq!(
        text(&output.stderr),
        format!("error: unexpected argument '--bogus' found\n{hint}\n")
    );
    let output = run("certstore", &["--system", "crm", "list"]);
    assert_eq!(
        text(&output.stderr),
        format!("error: 'list' needs --store DIR or --postgres URL\n{hint}\n")
    );
    let output = store.run_registry(&["system", "add", "x"]);
    assert!(
        text(&output.stderr).contains("--kind"),
        "{}",
        text(&output.stderr)
    );
    for arguments in [&["--help"][..], &["-h"], &["import", "--help"]] {
        let output = run("certstore", arguments);
        assert!(output.status.success(), "{arguments:?}");
        assert!(
            text(&output.stdout).starts_with("Usage: certstore")
                || text(&output.stdout).contains("\nUsage: certstore"),
            "{}",
            text(&output.stdout)
        );
        assert_eq!(text(&output.stderr), "");
    }
    let output = run("certstore", &["--help"]);
    for command in [
        "demo",
        "system",
        "import",
        "list",
        "show",
        "delete",
        "purge-expired",
        "identify",
        "check",
        "migrate",
        "history",
    ] {
        assert!(
            text(&output.stdout).contains(&format!("\n  {command} ")),
            "{command}"
        );
    }
}

/// Issue 20, item 9: a certificate whose subject alternative names and common name hold
/// escape sequences, CR/LF with a forged line, NUL, bidirectional and invisible characters.
/// `inspect`, `certstore show` and `certstore list` print none of them as they are, each in
/// its escaped form; their JSON holds the text as the certificate does.
#[test]
fn inspect_show_and_list_print_certificate_text_escaped_and_json_as_it_is() {
    let store = Store::new("hostile-text");
    let file = store.0.join("hostile.pem");
    std::fs::write(&file, hostile_text::certificate()).unwrap();
    let file = file.to_str().unwrap();
    let subject = format!("CN={}", hostile_text::COMMON_NAME_SHOWN);
    let safe = |what: &str, output: &Output| -> String {
        assert!(output.status.success(), "{what}: {}", text(&output.stderr));
        let stdout = String::from_utf8(output.stdout.clone()).unwrap();
        let raw = hostile_text::raw_characters(&stdout);
        assert!(
            raw.is_empty(),
            "{what} printed {raw:?} as they are:\n{stdout}"
        );
        // The forged line is not a line of its own.
        assert!(
            stdout
                .lines()
                .all(|line| !line.trim_start().starts_with("Status:              valid,")),
            "{what}:\n{stdout}"
        );
        stdout
    };
    let all_names_shown = |what: &str, stdout: &str| {
        let shown: Vec<&str> = hostile_text::NAMES
            .iter()
            .map(|(_, _, shown)| *shown)
            .collect();
        assert!(
            stdout.contains(&format!("Alternative names:   {}\n", shown.join(", "))),
            "{what}:\n{stdout}"
        );
        assert!(
            stdout.contains(&format!("Subject:             {subject}\n")),
            "{what}:\n{stdout}"
        );
    };
    let faithful = |what: &str, object: &serde_json::Value| {
        let names: Vec<&str> = object["subject_alt_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|name| name.as_str().unwrap())
            .collect();
        let expected: Vec<String> = hostile_text::NAMES
            .iter()
            .map(|(_, raw, shown)| format!("{}{raw}", &shown[..shown.find(':').unwrap() + 1]))
            .collect();
        assert_eq!(names, expected, "{what}");
        assert_eq!(object["subject"], subject.as_str(), "{what}");
    };

    let stdout = safe("inspect", &run("inspect", &[file]));
    all_names_shown("inspect", &stdout);
    let output = run("inspect", &["--json", file]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    faithful("inspect --json", &json[0]);

    let output = store.run(&["import", file]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let name = inbound_certs::decode(&std::fs::read(file).unwrap()).unwrap()[0]
        .name()
        .to_string();
    let stdout = safe("certstore show", &store.run(&["show", &name]));
    all_names_shown("certstore show", &stdout);
    let output = store.run(&["show", &name, "--json"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    faithful(
        "certstore show --json",
        &serde_json::from_slice(&output.stdout).unwrap(),
    );
    // The table cuts long subjects to fit 120 columns (issue 21, item 7): whole with --wide.
    let stdout = safe("certstore list", &store.run(&["list"]));
    assert!(stdout.contains(&subject[..20]), "{stdout}");
    let stdout = safe(
        "certstore list (all systems)",
        &store.run_registry(&["list"]),
    );
    assert!(stdout.contains(&subject[..20]), "{stdout}");
    let stdout = safe("certstore list --wide", &store.run(&["list", "--wide"]));
    assert!(stdout.contains(&subject), "{stdout}");
    let stdout = safe(
        "certstore list --wide (all systems)",
        &store.run_registry(&["list", "--wide"]),
    );
    assert!(stdout.contains(&subject), "{stdout}");
}

/// Issue 20, item 12: a name typed with upper-case hex digits reaches the certificate (and
/// is printed lower-case); a wrong name says what was expected where.
#[test]
fn certstore_show_takes_upper_case_names_and_says_what_is_wrong_with_others() {
    let store = Store::new("upper-case");
    let output = store.run(&["import", "tests/data/sample_source.pem"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let name = name_of("sample_source.pem");
    let upper = format!(
        "cert_client_{}",
        name["cert_client_".len()..].to_uppercase()
    );
    let output = store.run(&["show", &upper]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains(&format!("Name:                {name}\n")),
        "{}",
        text(&output.stdout)
    );
    let wrong = format!("{}g", &name[..name.len() - 1]);
    let output = store.run(&["show", &wrong]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        format!("error: invalid certificate name \"{wrong}\": expected a hex digit at position 75, found 'g'\n")
    );
}

/// The trail's damaged lines past the 100 the registry reports are counted, not dropped
/// silently.
#[test]
fn certstore_history_counts_the_damaged_lines_it_does_not_show() {
    let store = Store::new("history-damaged");
    let trail = store.0.join("audit/audit.jsonl");
    let mut text_of_trail = std::fs::read_to_string(&trail).unwrap();
    for line in 0..103 {
        text_of_trail.push_str(&format!("garbage {line}\n"));
    }
    std::fs::write(&trail, text_of_trail).unwrap();
    let output = store.run_registry(&["history"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 101, "{stderr}");
    assert!(
        stderr.ends_with("warning: audit trail: 3 more damaged line(s)\n"),
        "{stderr}"
    );
    assert!(text(&output.stdout).contains(": system crm created (a source system)\n"));
}

/// The trail is a file others may have written, and the actor is whatever `--actor` said:
/// `history` prints its text escaped, as certificate text is, never an escape sequence or a
/// bidirectional control as it is.
#[test]
fn certstore_history_prints_the_actor_escaped() {
    let store = Store::new("history-actor");
    let actor = "eve\u{1b}[2J\u{202e}\nforged";
    let output = store.run(&["--actor", actor, "import", "tests/data/sample_source.pem"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = store.run_registry(&["history"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stdout.contains(" eve"), "{stdout}");
    for raw in ['\u{1b}', '\u{202e}'] {
        assert!(!stdout.contains(raw), "{raw:?} printed as it is:\n{stdout}");
    }
    assert!(
        !stdout.lines().any(|line| line.starts_with("forged")),
        "{stdout}"
    );
}

/// Issue 21, items 1 and 2: what administrators upload, as they have it.
#[test]
fn certstore_imports_the_client_of_a_chain_and_its_own_self_signed_certificate() {
    let store = Store::new("chains");
    // fullchain.pem: the client's certificate, then the intermediate CA that issued it.
    let leaf = name_of("via_intermediate.pem");
    let intermediate = name_of("intermediate.pem");
    let output = store.run(&["import", "tests/data/fullchain.pem"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        format!(
            "imported {leaf}\nskipped {intermediate} (CN=Inbound Test Intermediate CA,O=Inbound Certs Tests,C=DE): \
             a CA certificate of the chain; a pinned client certificate needs no chain\n"
        )
    );
    assert_eq!(listed(&store), vec![leaf.clone()]);
    // The same with the root too, given as separate files: one upload.
    let root = name_of("ca.pem");
    let output = store.run(&[
        "import",
        "tests/data/ca.pem",
        "tests/data/via_intermediate.pem",
        "tests/data/intermediate.pem",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with(&format!("skipped {root} (CN=Inbound Test Root CA")));
    assert_eq!(lines[1], format!("already present {leaf}"));
    assert!(lines[2].starts_with(&format!("skipped {intermediate} (")));
    assert_eq!(listed(&store), vec![leaf.clone()]);

    // CA certificates alone: refused, saying what to upload instead.
    for upload in ["tests/data/intermediate.pem", "tests/data/ca_bundle.pem"] {
        let output = store.run(&["import", upload]);
        assert_eq!(output.status.code(), Some(1), "{upload}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.starts_with(&format!("error: {upload}: certificate 1 of the upload, {intermediate} (CN=Inbound Test Intermediate CA"))
                && stderr.contains("upload the client's own certificate")
                && stderr.contains("(to import it anyway: --allow-ca)")
                && stderr.ends_with("error: nothing imported: 1 of 1 files refused\n"),
            "{stderr}"
        );
    }
    assert_eq!(listed(&store), vec![leaf.clone()]);

    // A client's own certificate made by `openssl req -x509` (CA:TRUE): imported, and
    // shown as self-signed.
    let own = name_of("req_x509_ec.pem");
    let output = store.run(&[
        "import",
        "tests/data/req_x509_ec.pem",
        "tests/data/req_x509_rsa.pem",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        format!("imported {own}\nimported {}\n", name_of("req_x509_rsa.pem"))
    );
    let output = store.run(&["show", &own]);
    assert!(
        text(&output.stdout).contains("\nSelf-signed:         yes\n"),
        "{}",
        text(&output.stdout)
    );

    // The history says what was skipped, and from which upload.
    let output = store.run_registry(&["history", "--json"]);
    let records: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let skipped: Vec<&serde_json::Value> = records
        .iter()
        .filter(|record| record["outcome"] == "skipped")
        .collect();
    assert_eq!(skipped.len(), 3, "{records:?}");
    assert_eq!(
        skipped.last().unwrap()["detail"],
        "a CA certificate of the chain; a pinned client certificate needs no chain (upload tests/data/fullchain.pem)"
    );
    let output = store.run_registry(&["history"]);
    let history = text(&output.stdout);
    assert!(
        history.contains(&format!("skipped {intermediate} (CN=Inbound Test Intermediate CA,O=Inbound Certs Tests,C=DE), not imported into system crm (a CA certificate of the chain")),
        "{history}"
    );
}

/// Issue 23, weak keys: a certificate whose key could never authenticate a client is refused
/// in words that say why and which flag allows it; allowed, it is listed and shown flagged.
#[test]
fn certstore_refuses_keys_that_could_never_authenticate_unless_allowed() {
    let store = Store::new("weak");
    let legacy = name_of("rsa1024_sha1.pem");
    let output = store.run(&["import", "tests/data/rsa1024_sha1.pem"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: tests/data/rsa1024_sha1.pem: certificate {legacy} (CN=legacy-device.example,O=Legacy Devices) \
             has a 1024-bit RSA key: TLS refuses RSA keys under 2048 bits, so it could never authenticate a client; \
             it was not imported (to import it anyway: --allow-weak)\nerror: nothing imported: 1 of 1 files refused\n"
        )
    );
    let output = store.run(&["import", "tests/data/dsa2048.pem"]);
    assert!(
        text(&output.stderr).contains(
            "has a key the TLS provider does not verify signatures with (DSA (2048 bits))"
        ),
        "{}",
        text(&output.stderr)
    );
    assert!(listed(&store).is_empty());

    let output = store.run(&["import", "--allow-weak", "tests/data/rsa1024_sha1.pem"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = store.run(&["show", &legacy]);
    let shown = text(&output.stdout);
    assert!(
        shown.contains("\nWeakness:            has a 1024-bit RSA key: TLS refuses RSA keys under 2048 bits, so it could never authenticate a client  <-- can never authenticate\n")
            && shown.contains("\nWeakness:            is signed with sha1WithRSAEncryption, a hash with practical collisions"),
        "{shown}"
    );
    let output = store.run(&["list"]);
    let table = text(&output.stdout);
    assert!(
        table
            .lines()
            .nth(1)
            .unwrap()
            .ends_with("valid unusable  never"),
        "{table}"
    );
    let output = store.run(&["list", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let codes: Vec<&str> = json[0]["weaknesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|weakness| weakness["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["short_rsa_key", "weak_signature"]);
    // `check` warns about it, as about a certificate expiring soon.
    let output = store.run_registry(&["check"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stdout),
        format!(
            "UNUSABLE: system crm: {legacy} (CN=legacy-device.example,O=Legacy Devices) has a 1024-bit RSA key: \
             TLS refuses RSA keys under 2048 bits, so it could never authenticate a client\n\
             0 expired, 0 expiring within 30 days, 1 that could never authenticate\n"
        )
    );
}

/// `suspend NAME --reason TEXT` and `resume NAME` (issue 23): the certificate stays listed,
/// marked suspended in `list` and `show` (and their JSON, with reason, time and actor),
/// `identify` no longer names the system, the audit trail has both changes, and mistakes
/// (no reason, a reason on two lines, a resume of a certificate not suspended, an unknown
/// certificate) are refused with the library's words.
#[test]
fn certstore_suspend_and_resume() {
    let store = Store::new("suspend");
    let source = name_of("sample_source.pem");
    let output = store.run(&["import", "tests/data/sample_source.pem"]);
    assert!(output.status.success(), "{}", text(&output.stderr));

    let output = store.run(&[
        "--actor",
        "alice",
        "suspend",
        &source,
        "--reason",
        "laptop stolen",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let said = text(&output.stdout);
    assert!(
        said.starts_with(&format!("suspended: {source} in crm since "))
            && said.ends_with(" by alice: laptop stolen\n"),
        "{said}"
    );
    assert!(store
        .system_dir()
        .join(format!("{source}.suspended"))
        .exists());

    let output = store.run(&["list"]);
    let listing = text(&output.stdout);
    assert_eq!(listing.lines().count(), 2, "{listing}");
    assert!(listing.contains("suspended valid"), "{listing}");
    let output = store.run(&["list", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listed[0]["suspension"]["reason"], "laptop stolen");
    assert_eq!(listed[0]["suspension"]["by"], "alice");
    assert!(listed[0]["suspension"]["since"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    let output = store.run(&["show", &source]);
    let shown = text(&output.stdout);
    assert!(
        shown
            .lines()
            .any(|line| line.starts_with("Suspended:           since ")
                && line.ends_with(" by alice: laptop stolen")),
        "{shown}"
    );
    let output = store.run(&["show", &source, "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(shown["suspension"]["reason"], "laptop stolen");

    let output = store.run_registry(&["identify", "tests/data/sample_source.pem"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stdout));
    let output = store.run_registry(&["system", "list", "--json"]);
    let systems: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (
            systems[0]["valid"].as_u64(),
            systems[0]["suspended"].as_u64()
        ),
        (Some(0), Some(1))
    );

    // Mistakes.
    let output = store.run(&["suspend", &source]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("--reason"),
        "{}",
        text(&output.stderr)
    );
    let output = store.run(&["suspend", &source, "--reason", "two\nlines"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("write it as one line of text"),
        "{}",
        text(&output.stderr)
    );
    let output = store.run(&["suspend", &source, "--reason", "  "]);
    assert!(
        text(&output.stderr).contains("a suspension needs a reason"),
        "{}",
        text(&output.stderr)
    );
    let proxy = name_of("sample_proxy.der");
    let output = store.run(&["suspend", &proxy, "--reason", "x"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains(&format!("certificate {proxy} not found")),
        "{}",
        text(&output.stderr)
    );

    let output = store.run(&["--actor", "bob", "resume", &source]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).starts_with(&format!("resumed: {source} in crm (suspended since ")),
        "{}",
        text(&output.stdout)
    );
    assert!(!store
        .system_dir()
        .join(format!("{source}.suspended"))
        .exists());
    let output = store.run_registry(&["identify", "tests/data/sample_source.pem"]);
    assert!(output.status.success(), "{}", text(&output.stdout));
    let output = store.run(&["resume", &source]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("is not suspended in this system"),
        "{}",
        text(&output.stderr)
    );
    let output = store.run(&["list", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(listed[0]["suspension"].is_null());

    let output = store.run_registry(&["history", "--json"]);
    let history: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let actions: Vec<(&str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|record| {
            (
                record["action"].as_str().unwrap(),
                record["actor"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(actions, vec![("resume", "bob"), ("suspend", "alice")]);
}

/// Issue 23, "Last used": `list` and `show` say when a certificate was last used and from
/// where (flushed by a server sharing the registry), `check --unused-days N` reports those
/// not used for N days and exits 1.
#[test]
fn certstore_shows_last_use_and_checks_unused_certificates() {
    let store = Store::new("last-used");
    assert!(store
        .run(&["import", "tests/data/sample_source.pem"])
        .status
        .success());
    let name = name_of("sample_source.pem");

    let output = store.run(&["show", &name]);
    assert!(text(&output.stdout).contains("Last used:           never used\n"));
    let output = store.run_registry(&["check", "--unused-days", "3"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        format!(
            "UNUSED: system crm: {name} (CN=orders-service.source.example,O=Orders Inc,C=DE) never used\n0 expired, 0 expiring within 30 days, 1 unused for 3 days\n"
        )
    );

    // A server sharing the registry recorded a use two days ago and flushed it.
    let used_at = time::OffsetDateTime::now_utc() - time::Duration::days(2);
    let used_at = used_at.replace_nanosecond(0).unwrap();
    let registry = inbound_certs::Registry::open(&store.0).unwrap();
    let fingerprint: inbound_certs::CertificateName = name.parse().unwrap();
    registry.record_use_at(
        &fingerprint.fingerprint(),
        Some("192.0.2.33".parse().unwrap()),
        used_at,
    );
    assert_eq!(registry.flush_usage().unwrap(), 1);
    let at = used_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();

    let output = store.run(&["show", &name]);
    assert!(
        text(&output.stdout).contains(&format!(
            "Last used:           last used {at} from 192.0.2.33\nFirst used:          {at}\n"
        )),
        "{}",
        text(&output.stdout)
    );
    let output = store.run(&["show", "--json", &name]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["last_used"], at.as_str());
    assert_eq!(json["last_used_from"], "192.0.2.33");
    assert_eq!(json["first_used"], at.as_str());
    let output = store.run(&["list", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json[0]["last_used"], at.as_str());
    assert_eq!(json[0]["last_used_from"], "192.0.2.33");
    let output = store.run(&["list"]);
    let listing = text(&output.stdout);
    assert!(
        listing.lines().next().unwrap().ends_with("LAST USED"),
        "{listing}"
    );
    assert!(
        listing
            .lines()
            .nth(1)
            .unwrap()
            .ends_with(&format!("  {}", used_at.date())),
        "{listing}"
    );
    let output = store.run(&["list", "--wide"]);
    let listing = text(&output.stdout);
    assert!(
        listing
            .lines()
            .nth(1)
            .unwrap()
            .ends_with(&format!("  {at} from 192.0.2.33")),
        "{listing}"
    );

    let output = store.run_registry(&["check", "--unused-days", "3"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    let output = store.run_registry(&["check", "--unused-days", "1", "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json[0]["check"], "unused");
    assert_eq!(json[0]["last_used"], at.as_str());
    let output = store.run_registry(&["check", "--unused-days", "later"]);
    assert!(text(&output.stderr).contains("--unused-days needs a number of days"));
}

/// The names `certstore list --json ARGUMENTS` prints on crm, sorted, and its stderr.
fn selected(store: &Store, arguments: &[&str]) -> (Vec<String>, String) {
    let mut all = vec!["list", "--json"];
    all.extend_from_slice(arguments);
    let output = store.run(&all);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut names: Vec<String> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|object| object["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    (names, text(&output.stderr))
}

/// Issue 25: `list --status`, `--search` (subject, issuer, SAN, name prefix; any case) and
/// `--limit` (the rest counted on stderr), together and with the table.
#[test]
fn certstore_list_filters_by_status_and_search_and_limits() {
    let store = Store::new("list-filters");
    for arguments in [
        &["import", "--allow-ca", "tests/data/bundle.pem"][..],
        &["import", "tests/data/sample_source.pem"],
        &["import", "--allow-expired", "tests/data/expired.pem"],
    ] {
        let output = store.run(arguments);
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    let source = name_of("sample_source.pem");
    let expired = name_of("expired.pem");
    let output = store.run(&["suspend", &source, "--reason", "rotating"]);
    assert!(output.status.success(), "{}", text(&output.stderr));

    assert_eq!(
        selected(&store, &["--status", "expired"]),
        (vec![expired.clone()], String::new())
    );
    assert_eq!(
        selected(&store, &["--status", "suspended"]).0,
        vec![source.clone()]
    );
    // A suspended certificate is `suspended` only, as the monitor counts it.
    let (valid, _) = selected(&store, &["--status", "valid"]);
    assert_eq!(valid.len(), 5, "{valid:?}");
    assert!(!valid.contains(&source));
    assert!(selected(&store, &["--status", "expiring"]).0.is_empty());

    // The subject, whatever the case; a SAN only; the issuer; a name's prefix.
    assert_eq!(
        selected(&store, &["--search", "ORDERS inc"]).0,
        vec![source.clone()]
    );
    assert_eq!(
        selected(&store, &["--search", "sample_source.client"]).0,
        vec![source.clone()]
    );
    let via_intermediate = selected(&store, &["--search", "intermediate ca"]).0;
    assert_eq!(via_intermediate.len(), 2, "{via_intermediate:?}");
    let hex = &expired["cert_client_".len()..];
    for prefix in [
        hex[..10].to_uppercase(),
        format!("cert_client_{}", &hex[..10]),
    ] {
        assert_eq!(
            selected(&store, &["--search", &prefix]).0,
            vec![expired.clone()]
        );
    }
    assert_eq!(
        selected(
            &store,
            &["--search", "client.example", "--status", "expired"]
        )
        .0,
        vec![expired.clone()]
    );
    assert!(selected(&store, &["--search", "no such text"]).0.is_empty());

    let (names, stderr) = selected(&store, &["--limit", "2"]);
    assert_eq!(names.len(), 2);
    assert_eq!(stderr, "… and 5 more (--limit 2)\n");
    let (names, stderr) = selected(&store, &["--limit", "7", "--status", "valid"]);
    assert_eq!((names.len(), stderr.as_str()), (5, ""));
    let output = store.run(&["list", "--limit", "1", "--search", "client.example"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout).lines().count(),
        2,
        "{}",
        text(&output.stdout)
    );
    assert_eq!(text(&output.stderr), "… and 5 more (--limit 1)\n");

    // The damaged entries are what `--status damaged` lists, on stdout.
    let output = store.run(&["list", "--status", "damaged"]);
    assert_eq!(text(&output.stdout), "(no damaged certificates)\n");
    let victim = store
        .system_dir()
        .join(format!("{}.der", name_of("rsa2048.pem")));
    std::fs::write(&victim, b"garbage").unwrap();
    let output = store.run(&["list", "--status", "damaged"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let listing = text(&output.stdout);
    assert!(
        listing.starts_with("system crm: ")
            && listing.contains(&victim.display().to_string())
            && listing.contains("does not match its name")
            && listing.lines().count() == 1,
        "{listing}"
    );
    assert_eq!(text(&output.stderr), "");

    let output = store.run(&["list", "--status", "gone"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("error: invalid value 'gone' for '--status <STATUS>'")
            && stderr.lines().count() == 2,
        "{stderr}"
    );
    let output = store.run(&["list", "--limit", "many"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        "error: --limit needs a number, got \"many\"\n"
    );
}

/// Issue 25: a certificate may be named by the first 8 or more hex digits of its name, with
/// or without `cert_client_`, in either case, in `show`, `suspend`, `resume` and `delete`
/// (a damaged file too, for `delete`); a prefix that begins no name, or is too short, is
/// refused saying so. (An ambiguous prefix is tested on the resolution itself, in the
/// example's unit tests: no two fixtures share 8 digits.)
#[test]
fn certstore_takes_unique_prefixes_of_names() {
    let store = Store::new("prefixes");
    let output = store.run(&[
        "import",
        "tests/data/sample_source.pem",
        "tests/data/sample_proxy.der",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let source = name_of("sample_source.pem");
    let proxy = name_of("sample_proxy.der");
    let hex = |name: &str| name["cert_client_".len()..].to_string();

    let output = store.run(&["show", &hex(&source)[..8].to_uppercase()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains(&format!("Name:                {source}\n")),
        "{}",
        text(&output.stdout)
    );

    let prefix = format!("cert_client_{}", &hex(&source)[..10]);
    let output = store.run(&["suspend", &prefix, "--reason", "rotating"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).starts_with(&format!("suspended: {source} in crm since ")),
        "{}",
        text(&output.stdout)
    );
    let output = store.run(&["resume", &prefix]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).starts_with(&format!("resumed: {source} in crm ")),
        "{}",
        text(&output.stdout)
    );

    // Eight digits that begin neither name.
    let first = u8::from_str_radix(&hex(&source)[..1], 16).unwrap();
    let unknown = (0..16u8)
        .map(|digit| format!("{digit:x}{}", &hex(&source)[1..8]))
        .find(|candidate| {
            u8::from_str_radix(&candidate[..1], 16).unwrap() != first
                && !hex(&proxy).starts_with(candidate.as_str())
        })
        .unwrap();
    for command in ["show", "delete", "resume"] {
        let output = store.run(&[command, &unknown]);
        assert_eq!(output.status.code(), Some(1), "{command}");
        assert_eq!(
            text(&output.stderr),
            format!(
                "error: no certificate of system crm has a name beginning with cert_client_{unknown}\n"
            ),
            "{command}"
        );
    }
    let output = store.run(&["show", &hex(&source)[..7]]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: {:?} is too short to stand for a certificate: give at least 8 hex digits of its name, or the whole name\n",
            &hex(&source)[..7]
        )
    );

    // A damaged file is deleted by a prefix of its name, as by its name.
    std::fs::write(store.system_dir().join(format!("{proxy}.der")), b"garbage").unwrap();
    let output = store.run(&["delete", &hex(&proxy)[..8], &source]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        format!("deleted {proxy} from crm\ndeleted {source} from crm\n")
    );
}
