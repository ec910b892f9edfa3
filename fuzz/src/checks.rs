//! What each fuzz target does with its input. Every function must return normally for any
//! input; a panic is a bug. Shared by `fuzz/` (cargo-fuzz) and `tests/fuzz_corpus.rs` (stable).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use arbitrary::{Arbitrary, Unstructured};
use inbound_certs::{
    backend::MemoryStore, decode::detect_format, summary::TlsKeyTypes, Certificate,
    CertificateName, CertificateStore, Fingerprint, ImportOutcome, ImportPolicy, StoreError,
    SystemKind,
};
use time::{Duration, OffsetDateTime};

/// Renders every part of a certificate's summary, as the examples and a service would.
fn render(certificate: &Certificate) -> String {
    let s = certificate.summary();
    let mut text = String::new();
    let _ = write!(
        text,
        "{} {} {} {} {} {} {} {} {} {} {} {:?}",
        s.name,
        s.fingerprint,
        s.fingerprint.to_colon_hex(),
        s.subject,
        s.issuer,
        s.serial,
        s.version,
        s.signature_algorithm,
        s.signature_algorithm.oid(),
        s.public_key,
        s.public_key.algorithm,
        s.validity,
    );
    let _ = write!(
        text,
        "{:?} {:?}",
        s.subject.common_name(),
        s.issuer.organization()
    );
    // What `Display` shows of text from the certificate is safe on a terminal and a page:
    // no control, bidirectional or invisible character is left as it is.
    let mut shown = format!("{} {}", s.subject, s.issuer);
    for attribute in s.subject.attributes() {
        let _ = write!(shown, "{attribute}");
    }
    for name in &s.subject_alt_names {
        let _ = write!(shown, "{name}");
    }
    if let Some(raw) = shown.chars().find(|c| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
    }) {
        panic!("{raw:?} shown as it is in {shown:?}");
    }
    text.push_str(&shown);
    for oid in &s.extended_key_usage {
        let _ = write!(text, "{oid}");
    }
    let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
    let status = s.validity.status_at(now, Duration::days(30));
    let _ = write!(text, "{status} {}", status.as_str());
    assert_eq!(
        certificate.name(),
        CertificateName::from(Fingerprint::of_der(certificate.der()))
    );
    text
}

/// `decode` target: any bytes through the decoder and, for each certificate, everything
/// that can be printed of it. A certificate decoded from an upload must decode again from
/// its own DER to the same certificate.
pub fn decode(data: &[u8]) {
    let _ = detect_format(data);
    match inbound_certs::decode(data) {
        Ok(certificates) => {
            for certificate in &certificates {
                render(certificate);
                let again = Certificate::from_der(certificate.der());
                assert_eq!(again.as_ref().ok(), Some(certificate));
            }
        }
        Err(error) => {
            let _ = error.to_string();
            let _ = error.root_cause().to_string();
        }
    }
}

/// `from_der` target: any bytes as one DER certificate.
pub fn from_der(data: &[u8]) {
    match Certificate::from_der(data) {
        Ok(certificate) => {
            render(&certificate);
            assert_eq!(certificate.der(), data);
            // What an import judges: the self-signature (a full parse and a verification),
            // the weaknesses, and the verdicts on the certificate alone and beside itself.
            let self_signed = certificate.is_self_signed();
            assert!(!self_signed || certificate.summary().self_issued);
            for weakness in certificate.summary().weaknesses(&TlsKeyTypes::common()) {
                let _ = (weakness.to_string(), weakness.code());
            }
            let policy = ImportPolicy::new(instant(0));
            let pair = [certificate.clone(), certificate.clone()];
            let verdicts = policy.judge(&pair);
            assert_eq!(verdicts.len(), 2);
            let _ = policy
                .check(&certificate)
                .map_err(|refusal| refusal.to_string());
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
}

/// `names` target: whatever parses as a name or fingerprint prints back in canonical form
/// and parses again to the same value.
pub fn names(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(name) = text.parse::<CertificateName>() {
        assert_eq!(
            name.to_string(),
            text.to_ascii_lowercase(),
            "names are strict: only the canonical form parses, its digits in either case"
        );
        assert_eq!(name.to_string().parse::<CertificateName>().ok(), Some(name));
    }
    if let Ok(fingerprint) = text.parse::<Fingerprint>() {
        let canonical = fingerprint.to_string();
        assert_eq!(canonical.len(), 64);
        assert_eq!(canonical.parse::<Fingerprint>().ok(), Some(fingerprint));
        assert_eq!(
            fingerprint.to_colon_hex().parse::<Fingerprint>().ok(),
            Some(fingerprint)
        );
        let name = CertificateName::from(fingerprint);
        assert_eq!(name.to_string().parse::<CertificateName>().ok(), Some(name));
    }
    if let Ok(kind) = text.parse::<SystemKind>() {
        assert_eq!(kind.to_string().parse::<SystemKind>().ok(), Some(kind));
    }
}

const POOL: &[&[u8]] = &[
    include_bytes!("../../tests/data/sample_source.der"),
    include_bytes!("../../tests/data/sample_proxy.der"),
    include_bytes!("../../tests/data/expired.der"),
    include_bytes!("../../tests/data/not_yet_valid.der"),
    include_bytes!("../../tests/data/server_only.der"),
    include_bytes!("../../tests/data/ed25519.der"),
    include_bytes!("../../tests/data/rsa2048.der"),
    include_bytes!("../../tests/data/many_sans.der"),
    // CA certificates (not a client's own): refused alone, skipped beside a client's.
    include_bytes!("../../tests/data/ca.der"),
    include_bytes!("../../tests/data/intermediate.der"),
];

/// One store operation; indexes pick from a small pool of real certificates.
#[derive(Debug, Arbitrary)]
enum Operation {
    Import {
        index: u8,
        allow_expired: bool,
        allow_without_client_auth: bool,
    },
    ImportAll {
        indexes: Vec<u8>,
        allow_expired: bool,
    },
    Get {
        index: u8,
    },
    Delete {
        index: u8,
    },
    List,
    Expired {
        days: i16,
    },
    ExpiringWithin {
        days: i16,
        within: u16,
    },
    PurgeExpired {
        days: i16,
    },
}

/// An instant near the pool's validity periods (2020 to 2045), `days` from 2026-06-01.
fn instant(days: i16) -> OffsetDateTime {
    time::macros::datetime!(2026-06-01 0:00 UTC) + Duration::days(i64::from(days))
}

/// `store_ops` target: a sequence of operations applied to `MemoryStore` and to a model (a
/// sorted map); after every step both must agree.
pub fn store_ops(data: &[u8]) {
    let pool: Vec<Certificate> = POOL
        .iter()
        .map(|der| Certificate::from_der(der).expect("pool fixtures decode"))
        .collect();
    let pick = |index: u8| &pool[usize::from(index) % pool.len()];
    let mut unstructured = Unstructured::new(data);
    let Ok(operations) = Vec::<Operation>::arbitrary(&mut unstructured) else {
        return;
    };
    let store = MemoryStore::new(SystemKind::Source).expect("source store");
    let mut model: BTreeMap<CertificateName, Certificate> = BTreeMap::new();
    let now = instant(0);
    let expired_at = |c: &Certificate, at: OffsetDateTime| at > c.summary().validity.not_after;
    for operation in operations.into_iter().take(64) {
        match operation {
            Operation::Import {
                index,
                allow_expired,
                allow_without_client_auth,
            } => {
                let certificate = pick(index);
                let policy = ImportPolicy::new(now)
                    .allow_expired(allow_expired)
                    .allow_without_client_auth(allow_without_client_auth);
                let refused = certificate.summary().is_ca
                    || (!allow_expired && expired_at(certificate, now))
                    || (!allow_without_client_auth && !certificate.summary().client_auth);
                match store.import(certificate, &policy) {
                    // A renewal is stored like any added certificate.
                    Ok(ImportOutcome::Added(name) | ImportOutcome::Renewed { name, .. }) => {
                        assert!(!refused && model.insert(name, certificate.clone()).is_none());
                    }
                    Ok(ImportOutcome::AlreadyPresent(name)) => {
                        assert!(!refused && model.contains_key(&name));
                    }
                    Ok(other) => panic!("a certificate imported alone: {other:?}"),
                    Err(StoreError::Refused(_)) => assert!(refused),
                    Err(other) => panic!("import: {other}"),
                }
            }
            Operation::ImportAll {
                indexes,
                allow_expired,
            } => {
                let certificates: Vec<Certificate> =
                    indexes.iter().take(8).map(|i| pick(*i).clone()).collect();
                let policy = ImportPolicy::new(now).allow_expired(allow_expired);
                let clients = || certificates.iter().filter(|c| !c.summary().is_ca);
                let refused = (!certificates.is_empty() && clients().next().is_none())
                    || clients().any(|c| {
                        (!allow_expired && expired_at(c, now)) || !c.summary().client_auth
                    });
                match store.import_all(&certificates, &policy) {
                    Ok(outcomes) => {
                        assert!(!refused);
                        assert_eq!(outcomes.len(), certificates.len());
                        for (outcome, certificate) in outcomes.iter().zip(&certificates) {
                            if certificate.summary().is_ca {
                                assert!(matches!(outcome, ImportOutcome::Skipped(..)));
                                continue;
                            }
                            let added = model
                                .insert(certificate.name(), certificate.clone())
                                .is_none();
                            assert_eq!(
                                matches!(
                                    outcome,
                                    ImportOutcome::Added(_) | ImportOutcome::Renewed { .. }
                                ),
                                added
                            );
                        }
                    }
                    Err(_) => assert!(refused, "all or nothing: a refusal must have a reason"),
                }
            }
            Operation::Get { index } => {
                let certificate = pick(index);
                let got = store.get(&certificate.name()).expect("memory get");
                assert_eq!(got.as_ref(), model.get(&certificate.name()));
                let by_fingerprint = store
                    .get_by_fingerprint(&certificate.fingerprint())
                    .expect("get");
                assert_eq!(by_fingerprint, got);
            }
            Operation::Delete { index } => {
                let name = pick(index).name();
                match store.delete(&name) {
                    Ok(()) => assert!(model.remove(&name).is_some()),
                    Err(StoreError::NotFound(missing)) => {
                        assert_eq!(missing, name);
                        assert!(!model.contains_key(&name));
                    }
                    Err(other) => panic!("delete: {other}"),
                }
            }
            Operation::List => {}
            Operation::Expired { days } => {
                let at = instant(days);
                let expected: Vec<&Certificate> =
                    model.values().filter(|c| expired_at(c, at)).collect();
                let got = store.expired(at).expect("expired");
                assert_eq!(got.iter().collect::<Vec<_>>(), expected);
            }
            Operation::ExpiringWithin { days, within } => {
                let at = instant(days);
                let within = Duration::days(i64::from(within));
                let expected: Vec<&Certificate> = model
                    .values()
                    .filter(|c| {
                        let end = c.summary().validity.not_after;
                        at <= end && end - at <= within
                    })
                    .collect();
                let got = store.expiring_within(at, within).expect("expiring");
                assert_eq!(got.iter().collect::<Vec<_>>(), expected);
            }
            Operation::PurgeExpired { days } => {
                let at = instant(days);
                let expected: Vec<CertificateName> = model
                    .values()
                    .filter(|c| expired_at(c, at))
                    .map(Certificate::name)
                    .collect();
                model.retain(|name, _| !expected.contains(name));
                assert_eq!(store.purge_expired(at).expect("purge"), expected);
            }
        }
        // After every step, the listing is the model, in name order.
        let listing = store.list().expect("list");
        assert!(listing.damaged.is_empty());
        assert_eq!(
            listing.certificates.iter().collect::<Vec<_>>(),
            model.values().collect::<Vec<_>>()
        );
    }
}
