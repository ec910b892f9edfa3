//! Issue 12, decoder fidelity: opaque unknown extensions, strict and named known ones, BER
//! PKCS#7 wrappers, PKCS#12 and plain text recognised, explicit EC parameters, CA
//! certificates refused by default, SHA-1 fingerprints recognised. The fixtures are made by
//! `tests/data/generate_fidelity.sh`; accepted ones are compared with `openssl` live.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;
use crate::hostile;

use common::read;
use inbound_certs::{
    backend::MemoryStore,
    decode,
    decode::{decode_with, DecodeOptions, DerContainer, DerProblem, ExtensionProblem},
    names::ParseFingerprintError,
    store::{ImportRefusal, RefusalReason, SkipReason},
    summary::{EcCurve, KeyAlgorithm},
    CertificateStore, DecodeError, Fingerprint, ImportOutcome, ImportPolicy, StoreError,
    SystemKind,
};
use time::macros::datetime;

/// Decodes a fixture that must hold one certificate and checks it against `openssl x509`,
/// every field but those in `skip`.
fn accepted_like_openssl(file: &str, skip: &[&str]) -> inbound_certs::Certificate {
    let mut certificates = decode(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(certificates.len(), 1, "{file}");
    let certificate = certificates.remove(0);
    let expected = common::openssl_fields(certificate.der());
    let problems: Vec<String> = common::mismatches(certificate.summary(), &expected)
        .into_iter()
        .filter(|problem| !skip.iter().any(|field| problem.starts_with(field)))
        .collect();
    assert!(problems.is_empty(), "{file}: {}", problems.join("; "));
    certificate
}

#[test]
fn unknown_extensions_are_opaque_and_unknown_critical_ones_listed() {
    // 1.2.3.4 and Adobe's 1.2.840.113583.1.1.9.1 (critical) hold the ASCII bytes "test".
    for file in ["unknown_opaque.pem", "unknown_opaque.der"] {
        let certificate = accepted_like_openssl(file, &[]);
        let critical: Vec<&str> = certificate
            .summary()
            .unknown_critical_extensions
            .iter()
            .map(|oid| oid.as_str())
            .collect();
        assert_eq!(critical, ["1.2.840.113583.1.1.9.1"], "{file}");
        assert!(certificate.summary().client_auth);
    }
    // Whatever an unknown value holds: nothing, one byte, BER, an indefinite length.
    for value in [
        &b""[..],
        b"t",
        b"\x30\x80\x00\x00",
        b"\x04\x81\x01x",
        b"\xff\xff\xff",
    ] {
        for critical in [false, true] {
            let unknown = hostile::extension(&hostile::oid(&[1, 2, 3, 4]), critical, value);
            let der = hostile::certificate(
                &hostile::name(["issuer"]),
                &hostile::name(["subject"]),
                &[unknown, hostile::eku_client_auth([])],
            );
            let certificates = decode(&der).unwrap_or_else(|e| panic!("{value:?}: {e}"));
            let summary = certificates[0].summary();
            assert_eq!(
                summary.unknown_critical_extensions.len(),
                usize::from(critical)
            );
        }
    }
}

#[test]
fn malformed_known_extensions_are_named_with_what_is_wrong() {
    let der = read("bad_inhibit_any_policy.der");
    let error = decode(&der).unwrap_err();
    let DecodeError::MalformedExtension { name, oid, problem } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(
        (name.as_str(), oid.as_str()),
        ("inhibitAnyPolicy", "2.5.29.54")
    );
    let ExtensionProblem::Der { offset, problem } = problem else {
        panic!("{problem:?}");
    };
    assert_eq!(der[*offset..*offset + 2], [0x02, 0x01]);
    assert!(matches!(
        problem,
        DerProblem::RunsPast {
            container: DerContainer::ExtensionValue,
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        format!("invalid certificate: the value of extension inhibitAnyPolicy (2.5.29.54) is malformed: the INTEGER at byte {offset} runs past the end of the extension value")
    );

    assert_eq!(
        decode(&read("empty_aia.der")).unwrap_err().to_string(),
        "invalid certificate: the value of extension authorityInfoAccess (1.3.6.1.5.5.7.1.1) is malformed: the value is empty"
    );

    // Every extension this crate interprets, with a value cut short, one with two elements,
    // and one of the wrong type: each refusal names the extension.
    let interpreted: &[(&[u64], &str)] = &[
        (&[2, 5, 29, 14], "subjectKeyIdentifier"),
        (&[2, 5, 29, 15], "keyUsage"),
        (&[2, 5, 29, 17], "subjectAltName"),
        (&[2, 5, 29, 18], "issuerAltName"),
        (&[2, 5, 29, 19], "basicConstraints"),
        (&[2, 5, 29, 30], "nameConstraints"),
        (&[2, 5, 29, 31], "crlDistributionPoints"),
        (&[2, 5, 29, 32], "certificatePolicies"),
        (&[2, 5, 29, 33], "policyMappings"),
        (&[2, 5, 29, 35], "authorityKeyIdentifier"),
        (&[2, 5, 29, 36], "policyConstraints"),
        (&[2, 5, 29, 37], "extendedKeyUsage"),
        (&[2, 5, 29, 54], "inhibitAnyPolicy"),
        (&[1, 3, 6, 1, 5, 5, 7, 1, 1], "authorityInfoAccess"),
        (&[1, 3, 6, 1, 5, 5, 7, 1, 11], "subjectInfoAccess"),
        (&[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2], "ctSCTList"),
        (&[2, 16, 840, 1, 113730, 1, 1], "nsCertType"),
    ];
    for (arcs, expected_name) in interpreted {
        let dotted = arcs
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(".");
        for (value, what) in [
            (
                &b"\x30\x05\x02\x01"[..],
                "runs past the end of the extension value",
            ),
            (
                b"\x05\x00\x05\x00",
                "unexpected bytes at the end of the extension value",
            ),
            (b"\x01\x01\x00", "expected "),
        ] {
            let extension = hostile::extension(&hostile::oid(arcs), false, value);
            let der = hostile::certificate(
                &hostile::name(["issuer"]),
                &hostile::name(["subject"]),
                &[extension],
            );
            let Err(error) = decode(&der) else {
                panic!("{dotted} {value:?} accepted");
            };
            let message = error.to_string();
            assert!(
                matches!(&error, DecodeError::MalformedExtension { name, oid, .. }
                    if name == expected_name && *oid == dotted),
                "{dotted} {value:?}: {error:?}"
            );
            assert!(
                message.starts_with(&format!(
                    "invalid certificate: the value of extension {expected_name} ({dotted}) is malformed: "
                )) && message.contains(what),
                "{message}"
            );
            assert!(!message.contains("end of the file"), "{message}");
        }
    }
}

#[test]
fn an_element_overrunning_its_parent_says_which_and_where() {
    // The [3] extensions wrapper made one byte longer than the TBSCertificate that holds it.
    let mut der = hostile::certificate(
        &hostile::name(["issuer"]),
        &hostile::name(["subject"]),
        &[hostile::eku_client_auth([])],
    );
    let tbs = 2 + usize::from(der[1] & 0x7f);
    let eku = hostile::eku_client_auth([]);
    let wrapper = der.windows(eku.len()).position(|w| w == eku).unwrap() - 4;
    assert_eq!(der[wrapper], 0xa3);
    der[wrapper + 1] += 1;
    let error = decode(&der).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("malformed DER at byte {wrapper}: the [3] element runs past the end of the SEQUENCE at byte {tbs}")
    );
}

#[test]
fn ber_pkcs7_wrappers_are_read_and_the_certificates_stay_der() {
    let der_bundle = decode(&read("bundle.p7b")).unwrap();
    let ber_bundle = decode(&read("bundle_ber.p7b")).unwrap();
    assert_eq!(ber_bundle, der_bundle);
    for certificate in &ber_bundle {
        assert_eq!(
            certificate.fingerprint(),
            Fingerprint::of_der(certificate.der())
        );
        let expected = common::openssl_fields(certificate.der());
        assert!(common::mismatches(certificate.summary(), &expected).is_empty());
    }
    // Limits hold before any certificate is parsed.
    let mut options = DecodeOptions::default();
    options.max_certificates = 4;
    assert_eq!(
        decode_with(&read("bundle_ber.p7b"), &options).unwrap_err(),
        DecodeError::TooManyCertificates { found: 5, limit: 4 }
    );
    // A certificate inside is still strict DER: its outer length made indefinite is refused.
    let mut ber = read("bundle_ber.p7b");
    let first = read("rsa2048.der");
    let at = ber
        .windows(first.len())
        .position(|w| w == first.as_slice())
        .unwrap();
    let mut inner = vec![0x30, 0x80];
    inner.extend_from_slice(&first[4..]);
    inner.extend_from_slice(&[0, 0]);
    ber.splice(at..at + first.len(), inner);
    let error = decode(&ber).unwrap_err();
    assert!(
        matches!(
            &error,
            DecodeError::MalformedDer {
                problem: DerProblem::IndefiniteLength,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn pkcs12_archives_are_recognised_and_not_decoded() {
    let p12 = read("keystore.p12");
    let error = decode(&p12).unwrap_err();
    assert_eq!(error, DecodeError::Pkcs12);
    let message = error.to_string();
    assert!(
        message.starts_with("the upload is a PKCS#12 archive")
            && message.contains("holds a private key")
            && message.contains("openssl pkcs12 -in FILE -nokeys -clcerts -out cert.pem"),
        "{message}"
    );
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(&p12);
    assert_eq!(decode(text.as_bytes()).unwrap_err(), DecodeError::Pkcs12);
}

#[test]
fn text_and_tiny_inputs_are_not_mistaken_for_base64_or_der() {
    for input in [
        &b"hello world"[..],
        b"This is not a certificate",
        b"hello",
        b"0",
        b"00",
        b"MII",
        b"\x30",
        b"\x30\x82",
        b"\x30\x82\x01",
        b"\x01",
        b"\xff\xfe",
    ] {
        let error = decode(input).unwrap_err();
        assert!(
            matches!(
                error,
                DecodeError::UnrecognizedFormat | DecodeError::Utf16Text
            ),
            "{input:?}: {error:?}"
        );
    }
    for file in [
        "hello.txt",
        "not_a_certificate.txt",
        "one_byte.bin",
        "two_bytes.bin",
    ] {
        let error = decode(&read(file)).unwrap_err();
        assert_eq!(error, DecodeError::UnrecognizedFormat, "{file}");
        assert!(error
            .to_string()
            .starts_with("the upload is not a certificate: "));
    }
    // A DER certificate cut short is named as such, without a DER error.
    let error = decode(&read("truncated.der")).unwrap_err();
    assert_eq!(
        error,
        DecodeError::CutShort {
            expected: read("rsa2048.der").len(),
            found: 200
        }
    );
}

#[test]
fn explicit_ec_parameters_give_the_field_size_and_the_named_curve() {
    // openssl prints no curve name for explicit parameters, only the key size.
    for (file, curve, bits) in [
        ("ec_explicit_p256.pem", EcCurve::P256, 256),
        ("ec_explicit_p384.der", EcCurve::P384, 384),
    ] {
        let certificate = accepted_like_openssl(file, &["ec_curve"]);
        let key = &certificate.summary().public_key;
        assert_eq!(key.bits, Some(bits), "{file}");
        assert_eq!(key.algorithm, KeyAlgorithm::Ec(curve), "{file}");
    }
}

#[test]
fn ca_certificates_alone_are_refused_naming_which_one_and_those_of_a_chain_skipped() {
    let store = MemoryStore::new(SystemKind::Source).unwrap();
    let policy = ImportPolicy::new(datetime!(2026-06-01 0:00 UTC));
    let intermediate = decode(&read("intermediate.pem")).unwrap().remove(0);
    // The CA certificates alone, the intermediate second.
    let mut upload = read("ca.pem");
    upload.extend_from_slice(&read("intermediate.pem"));
    let error = store.import_upload(&upload, &policy).unwrap_err();
    assert!(
        matches!(
            &error,
            StoreError::Refused(ImportRefusal {
                position: 1,
                reason: RefusalReason::CaCertificate,
                ..
            })
        ),
        "{error:?}"
    );
    let error = store
        .import_upload(&read("intermediate.pem"), &policy)
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "certificate 1 of the upload, {} (CN=Inbound Test Intermediate CA",
            intermediate.name()
        )) && message.contains("is a CA certificate")
            && message.contains("not the certificates it issued")
            && message.contains("upload the client's own certificate"),
        "{message}"
    );
    assert!(
        store.list().unwrap().certificates.is_empty(),
        "all or nothing"
    );
    // Beside the client's certificate, the CA is skipped; allowed, it is imported.
    let fullchain = read("fullchain.pem");
    let imported = store.import_upload(&fullchain, &policy).unwrap();
    assert_eq!(
        imported[1],
        ImportOutcome::Skipped(intermediate.name(), SkipReason::ChainCa)
    );
    assert!(!policy.allows_ca());
    let imported = store
        .import_upload(&fullchain, &policy.allow_ca(true))
        .unwrap();
    assert_eq!(imported[1], ImportOutcome::Added(intermediate.name()));
}

#[test]
fn sha1_fingerprints_are_refused_with_the_way_to_the_sha256_one() {
    let error = "SHA1 Fingerprint=AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01"
        .parse::<Fingerprint>()
        .unwrap_err();
    assert_eq!(error, ParseFingerprintError::Sha1);
    assert!(error
        .to_string()
        .contains("openssl x509 -noout -fingerprint -sha256"));
}
