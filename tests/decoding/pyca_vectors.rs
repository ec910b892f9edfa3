//! An independent oracle: every certificate file of pyca/cryptography's published test
//! vectors (`cryptography-vectors` on PyPI, the version pinned in `.ci/test`) that
//! `openssl x509` reads is either accepted by the decoder with the fingerprint, serial,
//! validity, signature algorithm and key size OpenSSL reports, or refused for a reason the
//! README's acceptance policy lists; each refused file is named in [`REFUSED`] with its
//! error variant.
//!
//! The vectors are found through `INBOUND_CERTS_VECTORS` (the `cryptography_vectors`
//! directory), else in the virtual environment `.ci/test` makes in `target/pyvenv`. The test
//! fails when they are absent: run `.ci/test`, which installs them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use inbound_certs::{decode, summary::KeyAlgorithm, CertificateSummary, ErrorReport};

/// Refused vector files (relative to `cryptography_vectors/`), with the variant of the
/// error: every variant here is a reason of the README's acceptance policy.
const REFUSED: &[(&str, &str)] = &[
    // notAfter is "19020701025736Z", 15 characters in a UTCTime: not a valid time.
    ("x509/badasn1time.pem", "InvalidCertificate"),
    // PEM files that also hold a private key: the whole upload is refused.
    ("x509/cryptography.io.chain_with_garbage.pem", "PrivateKey"),
    ("x509/cryptography.io.with_garbage.pem", "PrivateKey"),
    ("x509/cryptography.io.with_headers.pem", "PrivateKey"),
    // inhibitAnyPolicy of -1: not a SkipCerts (INTEGER 0..MAX).
    (
        "x509/custom/inhibit_any_policy_negative.pem",
        "MalformedExtension",
    ),
    // An SCT list whose length prefix disagrees with its content.
    ("x509/custom/invalid-sct-length.der", "MalformedExtension"),
    // Version field 7.
    ("x509/custom/invalid_version.pem", "InvalidCertificate"),
    // The signature algorithm inside the signed part differs from the outer one.
    (
        "x509/custom/mismatch_inner_outer_sig_algorithm.der",
        "InvalidCertificate",
    ),
    (
        "x509/custom/rsa_pss_cert_invalid_mgf.der",
        "InvalidCertificate",
    ),
    (
        "x509/custom/rsa_pss_cert_no_sig_params.der",
        "InvalidCertificate",
    ),
    (
        "x509/custom/rsa_pss_cert_unsupported_mgf_hash.der",
        "InvalidCertificate",
    ),
    ("x509/v1_cert.pem", "InvalidCertificate"),
    // basicConstraints twice.
    (
        "x509/custom/two_basic_constraints.pem",
        "DuplicateExtension",
    ),
];

fn vectors() -> PathBuf {
    if let Some(dir) = std::env::var_os("INBOUND_CERTS_VECTORS") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("x509").is_dir(),
            "INBOUND_CERTS_VECTORS={} holds no x509/ folder",
            dir.display()
        );
        return dir;
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyvenv/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("site-packages/cryptography_vectors"))
            .find(|dir| dir.join("x509").is_dir())
    });
    found.unwrap_or_else(|| {
        panic!(
            "pyca's test vectors are not in {}: run .ci/test (it installs cryptography-vectors into target/pyvenv) or set INBOUND_CERTS_VECTORS",
            lib.display()
        )
    })
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// What `openssl x509` reports for the first certificate of a file, if it reads one.
struct OpenSsl {
    fingerprint: String,
    serial: String,
    not_before: String,
    not_after: String,
    signature_algorithm: String,
    key_bits: String,
}

fn after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|line| line.trim().strip_prefix(marker))
        .map(str::trim)
}

fn openssl(path: &Path) -> Option<OpenSsl> {
    let bytes = std::fs::read(path).ok()?;
    let form = if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        "PEM"
    } else {
        "DER"
    };
    let output = Command::new("openssl")
        .args(["x509", "-inform", form, "-noout", "-in"])
        .arg(path)
        .args([
            "-fingerprint",
            "-sha256",
            "-serial",
            "-dates",
            "-dateopt",
            "iso_8601",
            "-text",
        ])
        .output()
        .expect("openssl must be installed");
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let key_bits = text
        .lines()
        .find_map(|line| {
            let (_, rest) = line.split_once("Public-Key: (")?;
            rest.split_once(" bit)").map(|(bits, _)| bits.to_string())
        })
        .unwrap_or_default();
    Some(OpenSsl {
        fingerprint: after(&text, "sha256 Fingerprint=")?
            .replace(':', "")
            .to_lowercase(),
        serial: after(&text, "serial=")?.to_lowercase(),
        not_before: after(&text, "notBefore=")?.replace(' ', "T"),
        not_after: after(&text, "notAfter=")?.replace(' ', "T"),
        signature_algorithm: after(&text, "Signature Algorithm:")?.to_string(),
        key_bits,
    })
}

/// The fields where a summary differs from what openssl reported.
fn differences(summary: &CertificateSummary, openssl: &OpenSsl) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |field: &str, ours: String, theirs: &str| {
        if ours != theirs {
            problems.push(format!("{field}: ours {ours:?}, openssl {theirs:?}"));
        }
    };
    let rfc3339 = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    check(
        "fingerprint",
        summary.fingerprint.to_string(),
        &openssl.fingerprint,
    );
    // openssl prints the serial as unsigned hex, a negative one with a minus sign.
    let serial = serial_as_openssl(summary.serial.as_bytes());
    check("serial", serial, &openssl.serial);
    check(
        "not_before",
        rfc3339(summary.validity.not_before),
        &openssl.not_before,
    );
    check(
        "not_after",
        rfc3339(summary.validity.not_after),
        &openssl.not_after,
    );
    let ours = summary.signature_algorithm.name();
    let theirs = openssl.signature_algorithm.as_str();
    if !(ours == theirs || (theirs == "rsassaPss" && ours.starts_with("RSASSA-PSS"))) {
        check("signature_algorithm", ours.to_string(), theirs);
    }
    let bits = match summary.public_key.algorithm {
        KeyAlgorithm::Ed25519 | KeyAlgorithm::Ed448 if openssl.key_bits.is_empty() => String::new(),
        _ => summary
            .public_key
            .bits
            .map(|b| b.to_string())
            .unwrap_or_default(),
    };
    check("key_bits", bits, &openssl.key_bits);
    problems
}

/// A serial number as `openssl x509 -serial` prints it: uppercase hex without leading zero
/// octets, `-` and the magnitude when negative, lowercased here.
fn serial_as_openssl(content: &[u8]) -> String {
    let negative = content.first().is_some_and(|b| b & 0x80 != 0);
    let magnitude: Vec<u8> = if negative {
        // Two's complement: invert and add one.
        let mut bytes: Vec<u8> = content.iter().map(|b| !b).collect();
        for byte in bytes.iter_mut().rev() {
            let (sum, carry) = byte.overflowing_add(1);
            *byte = sum;
            if !carry {
                break;
            }
        }
        bytes
    } else {
        content.to_vec()
    };
    let trimmed: Vec<u8> = magnitude.iter().copied().skip_while(|b| *b == 0).collect();
    let hex = if trimmed.is_empty() {
        "00".to_string()
    } else {
        hex::encode(trimmed)
    };
    if negative {
        format!("-{hex}")
    } else {
        hex
    }
}

#[derive(Default)]
struct Tally {
    files: usize,
    read_by_openssl: usize,
    accepted: usize,
    differing: usize,
    refused: Vec<(String, String, String)>,
    problems: Vec<String>,
}

#[test]
fn every_certificate_openssl_reads_is_accepted_alike_or_refused_for_a_listed_reason() {
    let root = vectors();
    let mut paths = Vec::new();
    files(&root.join("x509"), &mut paths);
    let tally = Mutex::new(Tally {
        files: paths.len(),
        ..Tally::default()
    });
    let next = Mutex::new(paths.iter());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| loop {
                let Some(path) = next.lock().unwrap().next() else {
                    break;
                };
                let Some(reported) = openssl(path) else {
                    continue;
                };
                let relative = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let outcome = decode(&std::fs::read(path).unwrap());
                let mut tally = tally.lock().unwrap();
                tally.read_by_openssl += 1;
                match outcome {
                    Ok(certificates) => {
                        tally.accepted += 1;
                        let problems = differences(certificates[0].summary(), &reported);
                        if !problems.is_empty() {
                            tally.differing += 1;
                            tally
                                .problems
                                .push(format!("{relative}: {}", problems.join("; ")));
                        }
                    }
                    Err(error) => {
                        let debug = format!("{:?}", error.root_cause());
                        let variant = debug
                            .split(|c: char| !c.is_alphanumeric())
                            .next()
                            .unwrap_or_default()
                            .to_string();
                        tally.refused.push((
                            relative,
                            variant,
                            ErrorReport::new(&error).to_string(),
                        ));
                    }
                }
            });
        }
    });
    let mut tally = tally.into_inner().unwrap();
    tally.refused.sort();
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let policy = readme
        .split("## Acceptance policy")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README has an '## Acceptance policy' section");
    for (file, variant, message) in &tally.refused {
        match REFUSED.iter().find(|(listed, _)| listed == file) {
            None => tally.problems.push(format!(
                "{file}: refused but not listed: {variant}: {message}"
            )),
            Some((_, listed)) if listed != variant => tally.problems.push(format!(
                "{file}: listed as {listed}, refused as {variant}: {message}"
            )),
            Some(_) => {}
        }
        if !policy.contains(&format!("`{variant}`")) {
            tally.problems.push(format!(
                "{file}: {variant} is not a reason of the README's acceptance policy"
            ));
        }
    }
    for (file, _) in REFUSED {
        if !tally.refused.iter().any(|(refused, _, _)| refused == file) {
            tally
                .problems
                .push(format!("{file}: listed as refused, but not refused"));
        }
    }
    eprintln!(
        "pyca vectors: {} files under x509/, {} read by openssl x509: {} accepted ({} differing from openssl), {} refused",
        tally.files,
        tally.read_by_openssl,
        tally.accepted,
        tally.differing,
        tally.refused.len()
    );
    assert!(
        tally.read_by_openssl > 500,
        "too few vectors: {}",
        tally.read_by_openssl
    );
    assert!(tally.problems.is_empty(), "{}", tally.problems.join("\n"));
}
