//! The golden table: every fixture in `tests/data/` that is refused, by the decoder or by
//! the default import policy, with its error variant and the exact start of its message.
//! A refused fixture missing from the table fails the test, as does a listed one that is
//! accepted or refused differently: a new fixture or a changed message must be added here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use inbound_certs::{
    backend::MemoryStore, decode, CertificateStore, ErrorReport, ImportPolicy, StoreError,
    SystemKind,
};
use time::macros::datetime;

const NOT_A_CERTIFICATE: &str = "the upload is not a certificate: expected PEM text ('-----BEGIN CERTIFICATE-----'), binary DER or base64";
const KEY_END: &str =
    "was uploaded where a certificate was expected: upload only the certificate, and keep the private key secret";
const CSR: &str = "a certificate signing request (CSR) was uploaded where a certificate was expected: upload the certificate issued for it";
const CRL: &str =
    "a certificate revocation list (CRL) was uploaded where a certificate was expected";
const PUBLIC_KEY: &str =
    "a public key was uploaded where a certificate was expected: upload the certificate that contains it";
const INTERMEDIATE_CA: &str = "cert_client_a77f69e3242fdd373ec451fbcdccba6b13efc021c838ce75726c9c42c8d36f16 (CN=Inbound Test Intermediate CA,O=Inbound Certs Tests,C=DE), is a CA certificate (basicConstraints cA=TRUE); nothing was imported.";

/// file, error variant, start of the message.
fn table() -> Vec<(&'static str, &'static str, String)> {
    let key = |kind: &str| format!("a private key ({kind}) {KEY_END}");
    let ca_in_upload =
        |position: usize| format!("certificate {position} of the upload, {INTERMEDIATE_CA}");
    let name = |file: &str| decode(&common::read(file)).unwrap()[0].name().to_string();
    let unusable = |stem: &str, key: &str| {
        format!(
            "certificate {} (CN={stem}.client.example,O=Inbound Certs Tests,C=DE) has a key the TLS provider does not verify signatures with ({key}), so it could never authenticate a client; it was not imported",
            name(&format!("{stem}.pem"))
        )
    };
    let short_rsa = |file: &str, subject: &str, bits: u32| {
        format!(
            "certificate {} (CN={subject}) has a {bits}-bit RSA key: TLS refuses RSA keys under 2048 bits, so it could never authenticate a client; it was not imported",
            name(file)
        )
    };
    vec![
        ("bad_inhibit_any_policy.der", "DecodeError::MalformedExtension", "invalid certificate: the value of extension inhibitAnyPolicy (2.5.29.54) is malformed: the INTEGER at byte 325 runs past the end of the extension value".into()),
        ("bad_san.der", "DecodeError::MalformedExtension", "invalid certificate: the value of extension subjectAltName (2.5.29.17) is malformed: expected a GeneralName at byte 335".into()),
        ("bad_san.pem", "DecodeError::InPemBlock", "PEM block 1 (line 1): invalid certificate: the value of extension subjectAltName (2.5.29.17) is malformed: expected a GeneralName at byte 335".into()),
        ("ca.der", "RefusalReason::CaCertificate", "certificate 1 of the upload, cert_client_".into()),
        // Keys that could never authenticate a client (issue 23).
        ("dsa2048.der", "RefusalReason::WeakKey", unusable("dsa2048", "DSA (2048 bits)")),
        ("dsa2048.pem", "RefusalReason::WeakKey", unusable("dsa2048", "DSA (2048 bits)")),
        ("ec_p521.der", "RefusalReason::WeakKey", unusable("ec_p521", "EC P-521 (521 bits)")),
        ("ec_p521.pem", "RefusalReason::WeakKey", unusable("ec_p521", "EC P-521 (521 bits)")),
        ("ec_secp256k1.der", "RefusalReason::WeakKey", unusable("ec_secp256k1", "EC secp256k1 (256 bits)")),
        ("ec_secp256k1.pem", "RefusalReason::WeakKey", unusable("ec_secp256k1", "EC secp256k1 (256 bits)")),
        ("ed448.der", "RefusalReason::WeakKey", unusable("ed448", "Ed448 (456 bits)")),
        ("ed448.pem", "RefusalReason::WeakKey", unusable("ed448", "Ed448 (456 bits)")),
        ("rsa_pss.der", "RefusalReason::WeakKey", unusable("rsa_pss", "RSA-PSS (2048 bits)")),
        ("rsa_pss.pem", "RefusalReason::WeakKey", unusable("rsa_pss", "RSA-PSS (2048 bits)")),
        ("rsa1024.der", "RefusalReason::WeakKey", short_rsa("rsa1024.pem", "rsa1024.client.example,O=Inbound Certs Tests,C=DE", 1024)),
        ("rsa1024.pem", "RefusalReason::WeakKey", short_rsa("rsa1024.pem", "rsa1024.client.example,O=Inbound Certs Tests,C=DE", 1024)),
        ("rsa2047.der", "RefusalReason::WeakKey", short_rsa("rsa2047.pem", "rsa2047.client.example,O=Inbound Certs Tests,C=DE", 2047)),
        ("rsa2047.pem", "RefusalReason::WeakKey", short_rsa("rsa2047.pem", "rsa2047.client.example,O=Inbound Certs Tests,C=DE", 2047)),
        ("rsa1024_sha1.pem", "RefusalReason::WeakKey", short_rsa("rsa1024_sha1.pem", "legacy-device.example,O=Legacy Devices", 1024)),
        // CA certificates alone (the bundles and fullchain files with a client certificate are
        // imported, their CA certificates skipped).
        ("ca_bundle.pem", "RefusalReason::CaCertificate", ca_in_upload(1)),
        ("ca.pem", "RefusalReason::CaCertificate", "certificate 1 of the upload, cert_client_".into()),
        ("cert_and_key.pem", "DecodeError::PrivateKey", key("PKCS#8")),
        ("crl.der", "DecodeError::RevocationList", CRL.into()),
        ("crl.pem", "DecodeError::RevocationList", CRL.into()),
        ("crl_only.p7b", "DecodeError::NoCertificate", "the upload holds no certificate".into()),
        ("csr.der", "DecodeError::CertificateRequest", CSR.into()),
        ("csr.pem", "DecodeError::CertificateRequest", CSR.into()),
        ("csr_new.pem", "DecodeError::CertificateRequest", CSR.into()),
        ("dh_params.pem", "DecodeError::UnsupportedPemLabel", "the upload holds a PEM block labelled \"DH PARAMETERS\" at line 1, which is not a certificate".into()),
        ("dup_extension.der", "DecodeError::DuplicateExtension", "invalid certificate: extension 2.5.29.19 appears more than once".into()),
        ("empty.der", "DecodeError::Empty", "the upload is empty: expected a certificate (PEM, DER or base64)".into()),
        ("empty_aia.der", "DecodeError::MalformedExtension", "invalid certificate: the value of extension authorityInfoAccess (1.3.6.1.5.5.7.1.1) is malformed: the value is empty".into()),
        ("expired.der", "RefusalReason::Expired", "certificate cert_client_".into()),
        ("expired.pem", "RefusalReason::Expired", "certificate cert_client_".into()),
        ("garbage.bin", "DecodeError::UnrecognizedFormat", NOT_A_CERTIFICATE.into()),
        ("hello.txt", "DecodeError::UnrecognizedFormat", NOT_A_CERTIFICATE.into()),
        ("intermediate.der", "RefusalReason::CaCertificate", ca_in_upload(1)),
        ("intermediate.pem", "RefusalReason::CaCertificate", ca_in_upload(1)),
        ("key_dsa.der", "DecodeError::PrivateKey", key("DSA")),
        ("key_dsa.pem", "DecodeError::PrivateKey", key("DSA")),
        ("key_ec_sec1.der", "DecodeError::PrivateKey", key("SEC1 EC")),
        ("key_ec_sec1.pem", "DecodeError::PrivateKey", key("SEC1 EC")),
        ("key_ed25519_pkcs8.der", "DecodeError::PrivateKey", key("PKCS#8")),
        ("key_openssh.pem", "DecodeError::PrivateKey", key("PEM \"OPENSSH PRIVATE KEY\"")),
        ("key_pkcs8.der", "DecodeError::PrivateKey", key("PKCS#8")),
        ("key_pkcs8.pem", "DecodeError::PrivateKey", key("PKCS#8")),
        ("key_pkcs8_encrypted_pbes1.der", "DecodeError::PrivateKey", key("encrypted PKCS#8")),
        ("key_pkcs8_encrypted_pbes2.der", "DecodeError::PrivateKey", key("encrypted PKCS#8")),
        ("key_pkcs8_encrypted_pbes2.pem", "DecodeError::PrivateKey", key("encrypted PKCS#8")),
        ("key_rsa_pkcs1.der", "DecodeError::PrivateKey", key("PKCS#1 RSA")),
        ("key_rsa_pkcs1.pem", "DecodeError::PrivateKey", key("PKCS#1 RSA")),
        ("keystore.p12", "DecodeError::Pkcs12", "the upload is a PKCS#12 archive (.p12/.pfx), which holds a private key: export only the certificate, e.g. with `openssl pkcs12 -in FILE -nokeys -clcerts -out cert.pem`, and upload cert.pem".into()),
        ("not_a_certificate.txt", "DecodeError::UnrecognizedFormat", NOT_A_CERTIFICATE.into()),
        ("one_byte.bin", "DecodeError::UnrecognizedFormat", NOT_A_CERTIFICATE.into()),
        ("pubkey.der", "DecodeError::PublicKey", PUBLIC_KEY.into()),
        ("pubkey.pem", "DecodeError::PublicKey", PUBLIC_KEY.into()),
        ("rsa_pubkey.pem", "DecodeError::PublicKey", PUBLIC_KEY.into()),
        ("server_only.der", "RefusalReason::NotForClientAuth", "certificate cert_client_".into()),
        ("server_only.pem", "RefusalReason::NotForClientAuth", "certificate cert_client_".into()),
        ("text.txt", "DecodeError::UnrecognizedFormat", NOT_A_CERTIFICATE.into()),
        ("trailing.der", "DecodeError::TrailingData", "3 unexpected bytes after the end of the certificate at byte 850".into()),
        ("truncated.der", "DecodeError::CutShort", "the upload is cut short: it starts like a DER certificate of 1053 bytes, but holds only 200 bytes".into()),
        ("two_bytes.bin", "DecodeError::UnrecognizedFormat", NOT_A_CERTIFICATE.into()),
        ("utf16.pem", "DecodeError::Utf16Text", "the upload is UTF-16 text: save the certificate as ASCII/UTF-8 PEM or as binary DER and upload it again".into()),
    ]
}

/// The variant of an error, from its `Debug` form: `PrivateKey { kind: … }` → `PrivateKey`.
fn variant(debug: &str) -> &str {
    let end = debug
        .find(|c: char| !c.is_alphanumeric() && c != '_')
        .unwrap_or(debug.len());
    &debug[..end]
}

/// What the default policy (at a fixed instant) makes of a fixture: `None` if it is
/// imported, else its error's variant and message with its causes (as users see it).
fn outcome(bytes: &[u8]) -> Option<(String, String)> {
    match decode(bytes) {
        Err(error) => Some((
            format!("DecodeError::{}", variant(&format!("{error:?}"))),
            ErrorReport::new(&error).to_string(),
        )),
        Ok(_) => {
            let store = MemoryStore::new(SystemKind::Source).unwrap();
            let policy = ImportPolicy::new(datetime!(2026-06-01 0:00 UTC));
            store.import_upload(bytes, &policy).err().map(|error| {
                (
                    match &error {
                        StoreError::Refused(refusal) => {
                            format!(
                                "RefusalReason::{}",
                                variant(&format!("{:?}", refusal.reason))
                            )
                        }
                        other => format!("StoreError::{}", variant(&format!("{other:?}"))),
                    },
                    ErrorReport::new(&error).to_string(),
                )
            })
        }
    }
}

#[test]
fn every_refused_fixture_is_in_the_table_with_its_variant_and_message() {
    let table = table();
    let mut files: Vec<String> = std::fs::read_dir(common::data(""))
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().unwrap().is_file())
        .map(|entry| entry.file_name().into_string().unwrap())
        .filter(|name| !name.ends_with(".sh") && !name.ends_with(".sql") && name != "README.md")
        .collect();
    files.sort();
    assert!(files.len() > 100, "{files:?}");
    let mut problems = Vec::new();
    for file in &files {
        let listed = table.iter().find(|(name, _, _)| name == file);
        match (outcome(&common::read(file)), listed) {
            (None, None) => {}
            (None, Some(_)) => problems.push(format!("{file}: listed, but accepted")),
            (Some((found, message)), None) => {
                problems.push(format!("{file}: not listed: {found}: {message}"))
            }
            (Some((found, message)), Some((_, variant, start))) => {
                if found != *variant || !message.starts_with(start.as_str()) {
                    problems.push(format!(
                        "{file}: expected {variant}: {start}…\n    found {found}: {message}"
                    ));
                }
                // Issue 12: only an upload that really ends early may say so.
                assert!(!message.contains("end of the file"), "{file}: {message}");
            }
        }
    }
    for (name, _, _) in &table {
        // key_openssh.pem is made only where ssh-keygen exists.
        if !files.contains(&name.to_string()) && *name != "key_openssh.pem" {
            problems.push(format!("{name}: listed, but not in tests/data"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
