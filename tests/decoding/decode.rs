//! The decoder through the public API: every accepted format, every refusal and its message,
//! and the summaries of the fixtures against the values `openssl` recorded.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use common::read;
use inbound_certs::{
    decode,
    decode::{
        decode_with, detect_format, Base64Problem, DecodeOptions, DerProblem, ExtensionProblem,
        InputFormat, PemProblem, PrivateKeyKind,
    },
    Certificate, DecodeError, ErrorReport,
};

/// Every certificate fixture with an `expected/<stem>.txt` recorded by openssl.
const STEMS: &[&str] = &[
    "ca",
    "rsa1024",
    "rsa2048",
    "rsa3072",
    "rsa4096",
    "rsa2047",
    "ec_p256",
    "ec_p384",
    "ec_p521",
    "ec_secp256k1",
    "ed25519",
    "ed448",
    "dsa2048",
    "rsa_pss",
    "ec_p384_selfsigned",
    "ed25519_selfsigned",
    "expired",
    "not_yet_valid",
    "server_only",
    "no_eku",
    "any_eku",
    "many_sans",
    "intermediate",
    "via_intermediate",
    "serial_zero",
    "serial_negative",
    "v1",
    "sample_source",
    "sample_proxy",
    "empty_rdn_subject",
    "empty_rdn_issuer",
];

fn only(input: &[u8]) -> Certificate {
    let mut certificates = decode(input).unwrap();
    assert_eq!(certificates.len(), 1);
    certificates.remove(0)
}

#[test]
fn summaries_match_what_openssl_recorded() {
    let mut failures = Vec::new();
    for stem in STEMS {
        let expected = common::recorded(stem);
        for file in [format!("{stem}.der"), format!("{stem}.pem")] {
            let certificate = only(&read(&file));
            for problem in common::mismatches(certificate.summary(), &expected) {
                failures.push(format!("{file}: {problem}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn key_sizes_are_exact_for_every_key_type() {
    let bits = |file: &str| only(&read(file)).summary().public_key.bits;
    assert_eq!(bits("rsa1024.der"), Some(1024));
    assert_eq!(bits("rsa2047.der"), Some(2047));
    assert_eq!(bits("rsa4096.der"), Some(4096));
    assert_eq!(bits("ec_p256.der"), Some(256));
    assert_eq!(bits("ec_p384.der"), Some(384));
    assert_eq!(bits("ec_p521.der"), Some(521));
    assert_eq!(bits("ec_secp256k1.der"), Some(256));
    assert_eq!(bits("ed25519.der"), Some(256));
    assert_eq!(bits("ed448.der"), Some(456));
    assert_eq!(bits("dsa2048.der"), Some(2048));
    assert_eq!(bits("rsa_pss.der"), Some(2048));
}

#[test]
fn every_encoding_of_a_certificate_gives_the_same_certificate() {
    for stem in ["rsa2048", "ec_p256", "ed25519"] {
        let reference = only(&read(&format!("{stem}.der")));
        for variant in [
            "pem",
            "crlf.pem",
            "text.pem",
            "b64",
            "bom.pem",
            "oneline.b64",
        ] {
            let certificate = only(&read(&format!("{stem}.{variant}")));
            assert_eq!(certificate, reference, "{stem}.{variant}");
        }
    }
    let ec = only(&read("ec_p256.der"));
    for file in ["legacy_x509.pem", "trusted.pem", "headers.pem"] {
        assert_eq!(only(&read(file)), ec, "{file}");
    }
}

#[test]
fn bundles_return_every_certificate_in_order() {
    let expected: Vec<Certificate> = [
        "rsa2048",
        "ec_p256",
        "ed25519",
        "via_intermediate",
        "intermediate",
    ]
    .iter()
    .map(|stem| only(&read(&format!("{stem}.der"))))
    .collect();
    assert_eq!(decode(&read("bundle.pem")).unwrap(), expected);
    // openssl crl2pkcs7 keeps the order of the input file.
    assert_eq!(decode(&read("bundle.p7b")).unwrap(), expected);
    assert_eq!(decode(&read("bundle.p7b.pem")).unwrap(), expected);
}

#[test]
fn formats_are_detected() {
    assert_eq!(detect_format(&read("rsa2048.der")), Some(InputFormat::Der));
    assert_eq!(detect_format(&read("rsa2048.pem")), Some(InputFormat::Pem));
    assert_eq!(
        detect_format(&read("rsa2048.bom.pem")),
        Some(InputFormat::Pem)
    );
    assert_eq!(
        detect_format(&read("rsa2048.b64")),
        Some(InputFormat::Base64)
    );
    assert_eq!(detect_format(&read("bundle.p7b")), Some(InputFormat::Pkcs7));
    assert_eq!(detect_format(&read("garbage.bin")), None);
    assert_eq!(detect_format(&read("text.txt")), None);
    assert_eq!(detect_format(b""), None);
    assert_eq!(detect_format(&[0x01, 0x02]), None);
}

#[test]
fn private_keys_are_refused_in_every_form() {
    let cases: &[(&str, PrivateKeyKind)] = &[
        ("key_pkcs8.pem", PrivateKeyKind::Pkcs8),
        ("key_pkcs8.der", PrivateKeyKind::Pkcs8),
        (
            "key_pkcs8_encrypted_pbes2.pem",
            PrivateKeyKind::EncryptedPkcs8,
        ),
        (
            "key_pkcs8_encrypted_pbes2.der",
            PrivateKeyKind::EncryptedPkcs8,
        ),
        (
            "key_pkcs8_encrypted_pbes1.der",
            PrivateKeyKind::EncryptedPkcs8,
        ),
        ("key_rsa_pkcs1.pem", PrivateKeyKind::Rsa),
        ("key_rsa_pkcs1.der", PrivateKeyKind::Rsa),
        ("key_ec_sec1.pem", PrivateKeyKind::Ec),
        ("key_ec_sec1.der", PrivateKeyKind::Ec),
        ("key_dsa.pem", PrivateKeyKind::Dsa),
        ("key_dsa.der", PrivateKeyKind::Dsa),
        ("key_ed25519_pkcs8.der", PrivateKeyKind::Pkcs8),
        ("cert_and_key.pem", PrivateKeyKind::Pkcs8),
    ];
    for (file, kind) in cases {
        let bytes = read(file);
        let error = decode(&bytes).unwrap_err();
        assert_eq!(
            error,
            DecodeError::PrivateKey { kind: kind.clone() },
            "{file}"
        );
        let message = error.to_string();
        assert!(
            message.contains("a private key")
                && message.contains("where a certificate was expected"),
            "{file}: {message}"
        );
        // The error holds none of the key's bytes (its Debug form is all there is to leak).
        let debug = format!("{error:?}");
        assert!(debug.len() < 80, "{file}: {debug}");
    }
    // A key as bare base64 is recognised too.
    let pkcs8 = read("key_pkcs8.der");
    let base64 = base64_encode(&pkcs8);
    assert_eq!(
        decode(base64.as_bytes()).unwrap_err(),
        DecodeError::PrivateKey {
            kind: PrivateKeyKind::Pkcs8
        }
    );
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn openssh_key_is_refused_by_its_label() {
    let Ok(bytes) = std::fs::read(common::data("key_openssh.pem")) else {
        // The fixture script makes it only where ssh-keygen exists; the label path is
        // covered by the unit test of the PEM label table.
        return;
    };
    assert_eq!(
        decode(&bytes).unwrap_err(),
        DecodeError::PrivateKey {
            kind: PrivateKeyKind::OtherPem("OPENSSH PRIVATE KEY".into())
        }
    );
}

#[test]
fn other_objects_are_named_in_the_error() {
    let cases: &[(&str, DecodeError, &str)] = &[
        (
            "csr.pem",
            DecodeError::CertificateRequest,
            "certificate signing request",
        ),
        (
            "csr.der",
            DecodeError::CertificateRequest,
            "certificate signing request",
        ),
        (
            "csr_new.pem",
            DecodeError::CertificateRequest,
            "certificate signing request",
        ),
        (
            "crl.pem",
            DecodeError::RevocationList,
            "certificate revocation list",
        ),
        (
            "crl.der",
            DecodeError::RevocationList,
            "certificate revocation list",
        ),
        ("pubkey.pem", DecodeError::PublicKey, "public key"),
        ("pubkey.der", DecodeError::PublicKey, "public key"),
        ("rsa_pubkey.pem", DecodeError::PublicKey, "public key"),
        ("empty.der", DecodeError::Empty, "the upload is empty"),
        (
            "garbage.bin",
            DecodeError::UnrecognizedFormat,
            "not a certificate",
        ),
        (
            "text.txt",
            DecodeError::UnrecognizedFormat,
            "not a certificate",
        ),
        ("utf16.pem", DecodeError::Utf16Text, "UTF-16"),
    ];
    for (file, expected, words) in cases {
        let error = decode(&read(file)).unwrap_err();
        assert_eq!(&error, expected, "{file}");
        assert!(error.to_string().contains(words), "{file}: {error}");
    }
    let error = decode(&read("dh_params.pem")).unwrap_err();
    assert_eq!(
        error,
        DecodeError::UnsupportedPemLabel {
            label: "DH PARAMETERS".into(),
            line: 1
        }
    );
    assert_eq!(
        error.to_string(),
        "the upload holds a PEM block labelled \"DH PARAMETERS\" at line 1, which is not a certificate"
    );
}

#[test]
fn broken_der_reports_what_and_where() {
    // Issue 12: an upload cut short is named as such, not as a DER error.
    let error = decode(&read("truncated.der")).unwrap_err();
    assert_eq!(
        error,
        DecodeError::CutShort {
            expected: read("rsa2048.der").len(),
            found: 200
        }
    );
    assert_eq!(
        error.to_string(),
        "the upload is cut short: it starts like a DER certificate of 1053 bytes, but holds only 200 bytes"
    );
    // The DER of a PEM block cut short: the block's data ended, not the file.
    let error = Certificate::from_der(&read("truncated.der")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "malformed DER at byte 0: the data is truncated (an element runs past the end of the data)"
    );

    let der = read("ec_p256.der");
    let error = decode(&read("trailing.der")).unwrap_err();
    assert_eq!(
        error,
        DecodeError::TrailingData {
            offset: der.len(),
            count: 3
        }
    );
    assert_eq!(
        error.to_string(),
        format!(
            "3 unexpected bytes after the end of the certificate at byte {}",
            der.len()
        )
    );
}

/// The offset of the serial number's tag: after the outer and TBS headers and the version.
fn serial_offset(der: &[u8]) -> usize {
    let header = |at: usize| match der[at + 1] {
        length if length < 0x80 => 2,
        length => 2 + usize::from(length & 0x7f),
    };
    let tbs = header(0);
    let version = tbs + header(tbs);
    assert_eq!(der[version], 0xa0, "fixture is v3");
    let serial = version + 2 + usize::from(der[version + 1]);
    assert_eq!(der[serial], 0x02);
    serial
}

#[test]
fn wrong_tag_class_is_refused_like_openssl_does() {
    // x509-parser issue #248: a context-specific [2] tag where the serial's INTEGER belongs.
    let mut der = read("rsa2048.der");
    let at = serial_offset(&der);
    der[at] = 0x82;
    let error = Certificate::from_der(&der).unwrap_err();
    assert_eq!(
        error,
        DecodeError::MalformedDer {
            offset: at,
            problem: DerProblem::UnexpectedTag {
                expected: "the serialNumber INTEGER"
            }
        }
    );
}

#[test]
fn indefinite_and_non_minimal_lengths_are_refused() {
    let der = read("ec_p256.der");
    // Re-encode the outer length in the indefinite form.
    let mut indefinite = vec![0x30, 0x80];
    let header = 2 + usize::from(der[1] & 0x7f);
    indefinite.extend_from_slice(&der[header..]);
    indefinite.extend_from_slice(&[0, 0]);
    assert_eq!(
        Certificate::from_der(&indefinite).unwrap_err(),
        DecodeError::MalformedDer {
            offset: 0,
            problem: DerProblem::IndefiniteLength
        }
    );
    // The same length with one octet more than needed.
    let length = der.len() - header;
    let mut long = vec![0x30, 0x83, 0, (length >> 8) as u8, length as u8];
    long.extend_from_slice(&der[header..]);
    assert_eq!(
        Certificate::from_der(&long).unwrap_err(),
        DecodeError::MalformedDer {
            offset: 0,
            problem: DerProblem::NonMinimalLength
        }
    );
}

#[test]
fn zero_and_negative_serials_are_accepted_as_openssl_does() {
    let zero = only(&read("serial_zero.der"));
    assert_eq!(zero.summary().serial.to_string(), "00");
    let negative = only(&read("serial_negative.der"));
    assert!(negative.summary().serial.is_negative());
}

#[test]
fn limits_are_enforced_before_parsing() {
    let bundle = read("bundle.pem");
    let mut options = DecodeOptions::default();
    options.max_certificates = 4;
    assert_eq!(
        decode_with(&bundle, &options).unwrap_err(),
        DecodeError::TooManyCertificates { found: 5, limit: 4 }
    );
    assert_eq!(
        decode_with(&read("bundle.p7b"), &options).unwrap_err(),
        DecodeError::TooManyCertificates { found: 5, limit: 4 }
    );
    options.max_certificates = 5;
    assert_eq!(decode_with(&bundle, &options).unwrap().len(), 5);

    let mut options = DecodeOptions::default();
    options.max_input_bytes = bundle.len() - 1;
    assert_eq!(
        decode_with(&bundle, &options).unwrap_err(),
        DecodeError::TooLarge {
            size: bundle.len(),
            limit: bundle.len() - 1
        }
    );
    let huge = vec![b'A'; (1 << 20) + 1];
    assert!(matches!(
        decode(&huge).unwrap_err(),
        DecodeError::TooLarge { .. }
    ));
}

#[test]
fn pem_framing_errors_name_the_line() {
    let pem = String::from_utf8(read("ec_p256.pem")).unwrap();
    let cut: String = pem.lines().take(4).map(|l| format!("{l}\n")).collect();
    assert_eq!(
        decode(cut.as_bytes()).unwrap_err(),
        DecodeError::MalformedPem {
            line: 1,
            problem: PemProblem::MissingEnd {
                label: "CERTIFICATE".into()
            }
        }
    );
    let mismatched = pem.replace("END CERTIFICATE", "END X509 CRL");
    let error = decode(mismatched.as_bytes()).unwrap_err();
    assert!(matches!(
        error,
        DecodeError::MalformedPem {
            problem: PemProblem::MismatchedEnd { .. },
            ..
        }
    ));

    let mut lines: Vec<String> = pem.lines().map(String::from).collect();
    lines[2].replace_range(0..1, "*");
    let bad = lines.join("\n");
    let error = decode(bad.as_bytes()).unwrap_err();
    assert_eq!(
        error.root_cause(),
        &DecodeError::InvalidBase64 {
            line: 3,
            problem: Base64Problem::InvalidSymbol
        }
    );
    // The message names the block; the report adds the reason, once.
    assert_eq!(error.to_string(), "PEM block 1 (line 1)");
    assert_eq!(
        ErrorReport::new(&error).to_string(),
        "PEM block 1 (line 1): invalid base64 at line 3: a character outside the base64 alphabet"
    );
}

#[test]
fn text_that_is_not_utf8_around_blocks_is_ignored() {
    // x509-parser issue #180.
    let mut input = vec![0xfd, 0xfc, 0xfb, b'\n', 0xc3, b'\n'];
    input.extend_from_slice(&read("ec_p256.pem"));
    input.extend_from_slice(&[0x80, 0x81, b'\n']);
    assert_eq!(only(&input), only(&read("ec_p256.der")));
}

#[test]
fn a_bad_certificate_in_a_bundle_refuses_the_whole_bundle_and_names_it() {
    let mut pem = String::from_utf8(read("bundle.pem")).unwrap();
    let cut_der = base64_encode(&read("truncated.der"));
    pem.push_str(&format!(
        "-----BEGIN CERTIFICATE-----\n{cut_der}\n-----END CERTIFICATE-----\n"
    ));
    let error = decode(pem.as_bytes()).unwrap_err();
    assert!(
        matches!(error, DecodeError::InPemBlock { index: 6, .. }),
        "{error:?}"
    );
    assert_eq!(
        error.root_cause(),
        &DecodeError::MalformedDer {
            offset: 0,
            problem: DerProblem::Truncated
        }
    );
}

#[test]
fn summary_fields_of_a_client_certificate() {
    let many = only(&read("many_sans.der"));
    let summary = many.summary();
    let names: Vec<String> = summary
        .subject_alt_names
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        names,
        [
            "DNS:a.client.example",
            "DNS:b.client.example",
            "IP:10.0.0.1",
            "IP:2001:db8::1",
            "email:admin@client.example",
            "URI:spiffe://client.example/source"
        ]
    );
    let ekus: Vec<&str> = summary
        .extended_key_usage
        .iter()
        .map(|o| o.as_str())
        .collect();
    assert_eq!(ekus, ["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.1"]);
    assert!(summary.client_auth);
    assert_eq!(
        summary.subject.common_name(),
        Some("many_sans.client.example")
    );
    assert_eq!(summary.subject.organization(), Some("Inbound Certs Tests"));
    assert_eq!(
        summary.name.to_string(),
        format!("cert_client_{}", summary.fingerprint)
    );

    assert!(!only(&read("server_only.der")).summary().client_auth);
    assert!(only(&read("no_eku.der")).summary().client_auth);
    assert!(only(&read("any_eku.der")).summary().client_auth);
    assert!(only(&read("ca.der")).summary().is_ca);
    assert!(only(&read("ca.der")).summary().self_issued);
    assert!(!only(&read("rsa2048.der")).summary().self_issued);
    assert_eq!(only(&read("v1.der")).summary().version, 1);
    assert_eq!(
        only(&read("rsa_pss.der"))
            .summary()
            .signature_algorithm
            .name(),
        "RSASSA-PSS with SHA-256"
    );
}

#[test]
fn semantic_errors_in_sound_der_are_refused() {
    assert_eq!(
        decode(&read("dup_extension.der")).unwrap_err(),
        DecodeError::DuplicateExtension {
            oid: "2.5.29.19".into()
        }
    );
    // Issue 12: the message names the extension and says what is wrong where.
    let error = decode(&read("bad_san.der")).unwrap_err();
    let DecodeError::MalformedExtension { name, oid, problem } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(
        (name.as_str(), oid.as_str()),
        ("subjectAltName", "2.5.29.17")
    );
    let ExtensionProblem::Syntax { offset, expected } = problem else {
        panic!("{problem:?}");
    };
    // The value is SEQUENCE { INTEGER 5 }: the INTEGER is where a GeneralName belongs.
    assert_eq!(
        read("bad_san.der")[*offset..*offset + 3],
        [0x02, 0x01, 0x05]
    );
    assert_eq!(expected, "a GeneralName");
    assert_eq!(
        error.to_string(),
        format!("invalid certificate: the value of extension subjectAltName (2.5.29.17) is malformed: expected a GeneralName at byte {offset}")
    );

    // Version 2 (v3) rewritten as 5: no such version.
    let mut der = read("rsa2048.der");
    let header = 2 + usize::from(der[1] & 0x7f);
    let version = header + 2 + usize::from(der[header + 1] & 0x7f);
    assert_eq!(&der[version..version + 5], &[0xa0, 0x03, 0x02, 0x01, 0x02]);
    der[version + 4] = 5;
    let error = Certificate::from_der(&der).unwrap_err();
    assert!(
        matches!(error, DecodeError::InvalidCertificate(_)),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with("invalid certificate: "),
        "{error}"
    );
}

#[test]
fn pkcs7_problems_name_the_entry() {
    assert_eq!(
        decode(&read("crl_only.p7b")).unwrap_err(),
        DecodeError::NoCertificate
    );

    let p7b = read("bundle.p7b");
    let first = read("rsa2048.der");
    let at = p7b
        .windows(first.len())
        .position(|w| w == first.as_slice())
        .unwrap();

    let mut wrong_serial = p7b.clone();
    wrong_serial[at + serial_offset(&first)] = 0x82;
    let error = decode(&wrong_serial).unwrap_err();
    assert!(
        matches!(&error, DecodeError::InBundle { index: 1, .. }),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "certificate 1 of the PKCS#7 bundle");
    let report = ErrorReport::new(&error).to_string();
    assert!(
        report.starts_with("certificate 1 of the PKCS#7 bundle: malformed DER at byte"),
        "{report}"
    );

    let mut attribute_certificate = p7b.clone();
    attribute_certificate[at] = 0xa1;
    assert_eq!(
        decode(&attribute_certificate).unwrap_err(),
        DecodeError::UnsupportedBundleEntry { index: 1 }
    );
}

#[test]
fn stray_and_empty_pem_blocks_are_refused() {
    assert_eq!(
        decode(b"some text\n-----END CERTIFICATE-----\n").unwrap_err(),
        DecodeError::MalformedPem {
            line: 2,
            problem: PemProblem::UnexpectedEnd
        }
    );
    let error = decode(b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n").unwrap_err();
    assert_eq!(
        error.root_cause(),
        &DecodeError::MalformedPem {
            line: 1,
            problem: PemProblem::EmptyBlock
        }
    );
    let error = decode(
        &read("csr.pem")
            .iter()
            .chain(read("ec_p256.pem").iter())
            .copied()
            .collect::<Vec<_>>(),
    )
    .unwrap_err();
    assert_eq!(
        error,
        DecodeError::CertificateRequest,
        "a file with a CSR is refused whole"
    );
}

#[test]
fn a_limit_of_zero_certificates_refuses_even_one() {
    let mut options = DecodeOptions::default();
    options.max_certificates = 0;
    for file in ["ec_p256.der", "ec_p256.pem", "ec_p256.b64", "bundle.p7b"] {
        assert!(
            matches!(
                decode_with(&read(file), &options),
                Err(DecodeError::TooManyCertificates { limit: 0, .. })
            ),
            "{file}"
        );
    }
}

#[test]
fn structure_below_the_outline_is_checked_too() {
    // The RSASSA-PSS parameters of the outer signatureAlgorithm: SEQUENCE { [0] { … } … }.
    // An indefinite length on the [0] inside them must be refused like one anywhere else.
    let mut der = read("rsa_pss.der");
    let pss = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a,
    ];
    let oid = der.windows(pss.len()).rposition(|w| w == pss).unwrap();
    let params = oid + pss.len();
    assert_eq!(der[params], 0x30);
    let inner = params + 2;
    assert_eq!(der[inner], 0xa0);
    der[inner + 1] = 0x80;
    assert_eq!(
        Certificate::from_der(&der).unwrap_err(),
        DecodeError::MalformedDer {
            offset: inner,
            problem: DerProblem::IndefiniteLength
        }
    );
}

/// Issue 20, item 13: an empty RelativeDistinguishedName (`SET {}`) in the subject or the
/// issuer is read as no attribute, as OpenSSL, Go and pyca read it: the RFC 4514 string skips
/// it (openssl's strings are compared in `summaries_match_what_openssl_recorded`), the name
/// still holds it, and a store imports the certificate.
#[test]
fn empty_rdns_are_accepted_and_shown_as_nothing() {
    let plain = only(&read("ec_p256.der"));
    let subject = only(&read("empty_rdn_subject.der"));
    let issuer = only(&read("empty_rdn_issuer.der"));
    let shape = |name: &inbound_certs::summary::DistinguishedName| -> Vec<usize> {
        name.rdns().iter().map(Vec::len).collect()
    };
    assert_eq!(shape(&subject.summary().subject), [1, 1, 0, 1]);
    assert_eq!(shape(&issuer.summary().issuer), [0, 1, 1, 1, 0]);
    assert_eq!(
        subject.summary().subject.to_string(),
        "CN=ec_p256.client.example,O=Inbound Certs Tests,C=DE"
    );
    assert_eq!(
        issuer.summary().issuer.to_string(),
        "CN=Inbound Test Root CA,O=Inbound Certs Tests,C=DE"
    );
    assert_eq!(
        subject.summary().subject.common_name(),
        Some("ec_p256.client.example")
    );
    // The names differ from the plain certificate's by the empty RDN alone.
    assert_ne!(subject.summary().subject, plain.summary().subject);
    assert_eq!(subject.summary().issuer, plain.summary().issuer);
    assert_ne!(issuer.summary().issuer, plain.summary().issuer);
    assert!(!subject.summary().self_issued);

    use inbound_certs::CertificateStore as _;
    let now = time::macros::datetime!(2026-06-01 12:00 UTC);
    let policy = inbound_certs::ImportPolicy::new(now);
    let store =
        inbound_certs::backend::MemoryStore::new(inbound_certs::SystemKind::Source).unwrap();
    for file in ["empty_rdn_subject.pem", "empty_rdn_issuer.der"] {
        let imported = store.import_upload(&read(file), &policy).unwrap();
        assert_eq!(imported.len(), 1, "{file}");
    }
    let registry = inbound_certs::Registry::in_memory().with_clock(move || now);
    let system = registry
        .create_system(
            &"crm".parse().unwrap(),
            inbound_certs::SystemKind::Source,
            now,
        )
        .unwrap();
    let system_store = registry.store(system.name()).unwrap();
    system_store
        .import_upload(&read("empty_rdn_subject.der"), &policy)
        .unwrap();
    let listed = system_store.list().unwrap();
    assert!(listed.damaged.is_empty());
    assert_eq!(listed.certificates, std::slice::from_ref(&subject));
    assert_eq!(
        registry
            .identify(&subject.fingerprint())
            .unwrap()
            .iter()
            .map(|system| system.name().to_string())
            .collect::<Vec<_>>(),
        ["crm"]
    );
}
