//! Property tests: no input makes the decoder panic, and names round-trip through strings.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use inbound_certs::{decode, decode::detect_format, Certificate, CertificateName, Fingerprint};
use proptest::prelude::*;

/// Touches every part of a summary, as a caller displaying it would.
fn render(certificate: &Certificate) -> usize {
    let s = certificate.summary();
    let mut text = format!(
        "{} {} {} {} {} {} {} {:?} {}",
        s.name,
        s.fingerprint,
        s.subject,
        s.issuer,
        s.serial,
        s.signature_algorithm,
        s.public_key,
        s.validity,
        s.fingerprint.to_colon_hex()
    );
    for name in &s.subject_alt_names {
        text.push_str(&name.to_string());
    }
    for oid in &s.extended_key_usage {
        text.push_str(oid.as_str());
    }
    text.len()
}

fn exercise(input: &[u8]) {
    let _ = detect_format(input);
    if let Ok(certificates) = decode(input) {
        for certificate in &certificates {
            render(certificate);
            let _ = certificate.is_self_signed();
        }
        let policy = inbound_certs::ImportPolicy::new(time::macros::datetime!(2026-06-01 0:00 UTC));
        assert_eq!(policy.judge(&certificates).len(), certificates.len());
    }
    if let Ok(certificate) = Certificate::from_der(input) {
        render(&certificate);
        // What an import judges of a mutated certificate: never a panic.
        let _ = certificate.is_self_signed();
        let _ = certificate
            .summary()
            .weaknesses(&inbound_certs::summary::TlsKeyTypes::common());
        let policy = inbound_certs::ImportPolicy::new(time::macros::datetime!(2026-06-01 0:00 UTC));
        let _ = policy.judge(&[certificate.clone(), certificate]);
    }
}

const SEEDS: &[&str] = &[
    "rsa2048.der",
    "req_x509_ec.pem",
    "fullchain.pem",
    "ec_p521.der",
    "ed448.der",
    "dsa2048.der",
    "rsa_pss.der",
    "many_sans.der",
    "bundle.p7b",
    "bundle.pem",
    "ec_p256.text.pem",
    "rsa2048.b64",
    "trusted.pem",
    "csr.der",
    "crl.der",
    "key_pkcs8.der",
    "key_rsa_pkcs1.der",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&input);
    }

    #[test]
    fn mutated_fixtures_never_panic(
        seed in 0..SEEDS.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut input = common::read(SEEDS[seed]);
        for (at, byte) in edits {
            let at = at.index(input.len());
            input[at] = byte;
        }
        if truncate {
            input.truncate(cut.index(input.len() + 1));
        }
        exercise(&input);
    }

    #[test]
    fn fingerprints_and_names_round_trip(bytes in any::<[u8; 32]>()) {
        let fingerprint = Fingerprint::from_bytes(bytes);
        prop_assert_eq!(fingerprint.to_string().parse::<Fingerprint>().unwrap(), fingerprint);
        prop_assert_eq!(fingerprint.to_colon_hex().parse::<Fingerprint>().unwrap(), fingerprint);
        let name = CertificateName::from(fingerprint);
        prop_assert_eq!(name.to_string().parse::<CertificateName>().unwrap(), name);
    }

    #[test]
    fn whatever_parses_as_a_name_prints_back_the_same(text in "\\PC{0,90}|cert_client_[0-9a-fA-F]{62,66}") {
        if let Ok(name) = text.parse::<CertificateName>() {
            // The digits may be upper-case; they print lower-case.
            prop_assert_eq!(name.to_string(), text.to_ascii_lowercase());
        }
        if let Ok(fingerprint) = text.parse::<Fingerprint>() {
            prop_assert_eq!(fingerprint.to_string().len(), 64);
        }
    }
}
