//! Helpers shared by the integration tests: fixture paths and the `openssl` oracle.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use inbound_certs::{summary::KeyAlgorithm, CertificateSummary};

/// A fresh path under the system's temporary directory (nothing is made there), removed with
/// all it holds when dropped.
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    pub(crate) fn new(tag: &str) -> Self {
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "inbound-certs-test-{tag}-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        Scratch(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Path of a fixture in `tests/data/`.
pub(crate) fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Path of an example's binary: `cargo test` builds the examples into
/// `target/<profile>/examples/`, beside the tests' `target/<profile>/deps/`.
pub(crate) fn example(name: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let path = deps
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is not built; run the tests with cargo test",
        path.display()
    );
    path
}

/// Bytes of a fixture.
pub(crate) fn read(name: &str) -> Vec<u8> {
    let path = data(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The fields `openssl` reports for a certificate, as `key=value` pairs (the format of
/// `tests/data/expected/*.txt`, written by `tests/data/generate.sh`).
pub(crate) type Expected = BTreeMap<String, String>;

/// Reads a recorded expectation file.
pub(crate) fn recorded(stem: &str) -> Expected {
    let text = String::from_utf8(read(&format!("expected/{stem}.txt"))).unwrap();
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|line| line.trim().strip_prefix(marker))
        .map(str::trim)
}

/// Where `openssl_fields` puts the files it hands to openssl; remove it when done.
pub(crate) fn oracle_dir() -> PathBuf {
    std::env::temp_dir().join(format!("inbound-certs-oracle-{}", std::process::id()))
}

/// Runs `openssl x509` on DER bytes and extracts the same fields the fixture script records.
pub(crate) fn openssl_fields(der: &[u8]) -> Expected {
    let dir = oracle_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{:x}.der", fxhash(der)));
    std::fs::write(&file, der).unwrap();
    let output = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-noout", "-in"])
        .arg(&file)
        .args([
            "-serial",
            "-fingerprint",
            "-sha256",
            "-dates",
            "-dateopt",
            "iso_8601",
        ])
        .args([
            "-subject",
            "-issuer",
            "-nameopt",
            "RFC2253,-esc_msb",
            "-text",
        ])
        .output()
        .expect("openssl must be installed");
    assert!(
        output.status.success(),
        "openssl x509 failed on {}",
        file.display()
    );
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut fields = Expected::new();
    let fingerprint = after(&text, "sha256 Fingerprint=").unwrap();
    fields.insert(
        "fingerprint".into(),
        fingerprint.replace(':', "").to_lowercase(),
    );
    fields.insert(
        "serial".into(),
        after(&text, "serial=").unwrap().to_lowercase(),
    );
    let dates = &text;
    for (key, marker) in [("not_before", "notBefore="), ("not_after", "notAfter=")] {
        let value = after(dates, marker).unwrap().replace(' ', "T");
        fields.insert(key.into(), value);
    }
    let names = &text;
    fields.insert("subject".into(), after(names, "subject=").unwrap().into());
    fields.insert("issuer".into(), after(names, "issuer=").unwrap().into());
    fields.insert(
        "signature_algorithm".into(),
        after(&text, "Signature Algorithm:").unwrap().into(),
    );
    if let Some(hash) = after(&text, "Hash Algorithm:") {
        fields.insert("pss_hash".into(), hash.into());
    }
    fields.insert(
        "key_algorithm".into(),
        after(&text, "Public Key Algorithm:").unwrap().into(),
    );
    let bits = text
        .lines()
        .find_map(|line| {
            let (_, rest) = line.split_once("Public-Key: (")?;
            rest.split_once(" bit)").map(|(bits, _)| bits.to_string())
        })
        .unwrap_or_default();
    fields.insert("key_bits".into(), bits);
    let curve = after(&text, "NIST CURVE:")
        .or_else(|| after(&text, "ASN1 OID:"))
        .unwrap_or_default();
    fields.insert("ec_curve".into(), curve.into());
    let version = after(&text, "Version:").unwrap();
    fields.insert("version".into(), version.split(' ').next().unwrap().into());
    std::fs::remove_file(&file).ok();
    fields
}

fn fxhash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

/// Our serial, printed the way `openssl x509 -serial` prints it (lowercased): the value in
/// hex without a sign byte, `-` before a negative value's magnitude.
pub(crate) fn serial_as_openssl(summary: &CertificateSummary) -> String {
    let bytes = summary.serial.as_bytes();
    if summary.serial.is_negative() {
        // Two's complement negation gives the magnitude.
        let mut magnitude: Vec<u8> = bytes.iter().map(|b| !b).collect();
        for byte in magnitude.iter_mut().rev() {
            let (sum, carry) = byte.overflowing_add(1);
            *byte = sum;
            if !carry {
                break;
            }
        }
        let start = magnitude
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(magnitude.len() - 1);
        format!("-{}", hex::encode(&magnitude[start..]))
    } else {
        let start = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len().saturating_sub(1));
        hex::encode(&bytes[start..])
    }
}

/// The name `openssl x509 -text` gives a key algorithm.
pub(crate) fn openssl_key_algorithm(algorithm: &KeyAlgorithm) -> String {
    match algorithm {
        KeyAlgorithm::Rsa => "rsaEncryption".into(),
        KeyAlgorithm::RsaPss => "rsassaPss".into(),
        KeyAlgorithm::Ec(_) => "id-ecPublicKey".into(),
        KeyAlgorithm::Ed25519 => "ED25519".into(),
        KeyAlgorithm::Ed448 => "ED448".into(),
        KeyAlgorithm::Dsa => "dsaEncryption".into(),
        other => other.to_string(),
    }
}

/// Compares a summary with what openssl reported, field by field; returns the mismatches.
pub(crate) fn mismatches(summary: &CertificateSummary, expected: &Expected) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |field: &str, ours: String| {
        let theirs = expected.get(field).cloned().unwrap_or_default();
        if ours != theirs {
            problems.push(format!("{field}: ours {ours:?}, openssl {theirs:?}"));
        }
    };
    let rfc3339 = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    check("fingerprint", summary.fingerprint.to_string());
    check("serial", serial_as_openssl(summary));
    check("not_before", rfc3339(summary.validity.not_before));
    check("not_after", rfc3339(summary.validity.not_after));
    check("subject", summary.subject.to_string());
    check("issuer", summary.issuer.to_string());
    check("version", summary.version.to_string());
    let signature = match expected.get("signature_algorithm").map(String::as_str) {
        Some("rsassaPss") => {
            let hash = expected
                .get("pss_hash")
                .map(String::as_str)
                .unwrap_or("sha1");
            let pretty = match hash {
                "sha1" => "SHA-1",
                "sha224" => "SHA-224",
                "sha256" => "SHA-256",
                "sha384" => "SHA-384",
                "sha512" => "SHA-512",
                other => other,
            };
            if summary.signature_algorithm.name() == format!("RSASSA-PSS with {pretty}") {
                "rsassaPss".to_string()
            } else {
                summary.signature_algorithm.name().to_string()
            }
        }
        _ => summary.signature_algorithm.name().to_string(),
    };
    check("signature_algorithm", signature);
    check(
        "key_algorithm",
        openssl_key_algorithm(&summary.public_key.algorithm),
    );
    // openssl 3.0 prints no size for Ed25519/Ed448 keys; the sizes are fixed by the curves.
    let bits = match summary.public_key.algorithm {
        KeyAlgorithm::Ed25519 | KeyAlgorithm::Ed448
            if expected.get("key_bits").is_none_or(String::is_empty) =>
        {
            String::new()
        }
        _ => summary
            .public_key
            .bits
            .map(|b| b.to_string())
            .unwrap_or_default(),
    };
    check("key_bits", bits);
    let curve = match &summary.public_key.algorithm {
        KeyAlgorithm::Ec(curve) => match curve.to_string().as_str() {
            "P-192" => "P-192".into(),
            "P-224" => "P-224".into(),
            other => other.to_string(),
        },
        _ => String::new(),
    };
    check("ec_curve", curve);
    problems
}
