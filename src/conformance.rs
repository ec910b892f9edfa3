//! The conformance suite every [`CertificateStore`] passes (feature `test-util`).
//!
//! Written once, run against [`MemoryStore`](crate::backend::MemoryStore) and
//! [`FileStore`](crate::backend::FileStore) by this crate's tests; a service that writes its own
//! backend proves it the same way:
//!
//! ```
//! use inbound_certs::{conformance, SystemKind, backend::MemoryStore};
//!
//! // In your tests, make a fresh empty store of your own backend instead.
//! conformance::run_all(|| MemoryStore::new(SystemKind::Source).unwrap());
//! ```
//!
//! Each function takes an empty store and panics (with a message) if the store misbehaves.
//! All use the fixed instant [`NOW`], so nothing depends on today's date.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use time::{macros::datetime, Duration, OffsetDateTime};

use crate::certificate::Certificate;
use crate::error::{DecodeError, PrivateKeyKind};
use crate::fingerprint::CertificateName;
use crate::store::{
    CertificateStore, ImportOutcome, ImportPolicy, ImportRefusal, RefusalReason, StoreError,
};

mod permissions;
mod registry;

pub use permissions::{registry_authorizes, registry_permissions};
pub use registry::{
    registry_audit, registry_identifies_systems, registry_refuses_to_lose_certificates,
    registry_stores_are_separate, registry_suspends_and_resumes, registry_systems,
    registry_target_systems_hold_nothing, run_registry,
};

/// The instant the suite judges validity at: inside the validity of its sample certificates.
pub const NOW: OffsetDateTime = datetime!(2026-06-01 0:00 UTC);

const SOURCE: &[u8] = include_bytes!("../tests/data/sample_source.pem");
const PROXY: &[u8] = include_bytes!("../tests/data/sample_proxy.pem");
const BUNDLE: &[u8] = include_bytes!("../tests/data/bundle.pem");
const EXPIRED: &[u8] = include_bytes!("../tests/data/expired.pem");
const NOT_YET_VALID: &[u8] = include_bytes!("../tests/data/not_yet_valid.pem");
const SERVER_ONLY: &[u8] = include_bytes!("../tests/data/server_only.pem");
const PRIVATE_KEY: &[u8] = include_bytes!("../tests/data/key_pkcs8.pem");
const FULLCHAIN: &[u8] = include_bytes!("../tests/data/fullchain.pem");
const INTERMEDIATE: &[u8] = include_bytes!("../tests/data/intermediate.pem");
const CA_BUNDLE: &[u8] = include_bytes!("../tests/data/ca_bundle.pem");
const SELF_SIGNED_CA_TRUE: &[u8] = include_bytes!("../tests/data/req_x509_ec.pem");

fn one(pem: &[u8]) -> Certificate {
    let mut certificates = crate::decode(pem).unwrap();
    assert_eq!(certificates.len(), 1);
    certificates.remove(0)
}

fn names(certificates: &[Certificate]) -> Vec<CertificateName> {
    certificates.iter().map(Certificate::name).collect()
}

/// The default policy, but for CA certificates: the bundle holds an intermediate CA
/// (refused by default, as [`upload_is_all_or_nothing`] checks).
fn policy() -> ImportPolicy {
    ImportPolicy::new(NOW).allow_ca(true)
}

/// Runs every check, each on a fresh store from `make` (a backend, or an
/// `Arc<dyn StoreBackend>`). Each check is also a function of its own, which takes any
/// `&impl CertificateStore` or `&dyn CertificateStore`.
pub fn run_all<S: CertificateStore>(make: impl Fn() -> S) {
    import_get_list_delete(&make());
    import_is_idempotent(&make());
    upload_is_all_or_nothing(&make());
    policy_defaults_are_safe(&make());
    chains_and_self_signed_certificates(&make());
    private_key_upload_is_refused(&make());
    listing_is_sorted_by_name(&make());
    validity_chores(&make());
    concurrent_threads_agree(&make());
}

/// Import, get (by name and fingerprint), list and delete one certificate.
pub fn import_get_list_delete<S: CertificateStore + ?Sized>(store: &S) {
    let certificate = one(SOURCE);
    let name = certificate.name();
    assert_eq!(store.get(&name).unwrap(), None);
    assert_eq!(
        store.import(&certificate, &policy()).unwrap(),
        ImportOutcome::Added(name)
    );
    let got = store
        .get(&name)
        .unwrap()
        .expect("imported certificate is found");
    assert_eq!(got, certificate);
    assert_eq!(got.summary(), certificate.summary());
    assert_eq!(
        store
            .get_by_fingerprint(&certificate.fingerprint())
            .unwrap(),
        Some(certificate.clone())
    );
    let listing = store.list().unwrap();
    assert_eq!(listing.certificates, vec![certificate]);
    assert!(listing.damaged.is_empty());
    store.delete(&name).unwrap();
    assert_eq!(store.get(&name).unwrap(), None);
    assert!(store.list().unwrap().certificates.is_empty());
    match store.delete(&name) {
        Err(StoreError::NotFound(missing)) => assert_eq!(missing, name),
        other => panic!("deleting a missing certificate: expected NotFound, got {other:?}"),
    }
}

/// Importing what is there already is "already present", never a duplicate.
pub fn import_is_idempotent<S: CertificateStore + ?Sized>(store: &S) {
    let certificate = one(PROXY);
    let name = certificate.name();
    assert_eq!(
        store.import(&certificate, &policy()).unwrap(),
        ImportOutcome::Added(name)
    );
    assert_eq!(
        store.import(&certificate, &policy()).unwrap(),
        ImportOutcome::AlreadyPresent(name)
    );
    let twice = store
        .import_all(&[certificate.clone(), certificate.clone()], &policy())
        .unwrap();
    assert_eq!(twice, vec![ImportOutcome::AlreadyPresent(name); 2]);
    assert_eq!(store.list().unwrap().certificates.len(), 1);

    // Within one upload, the second copy is "already present".
    let other = one(SOURCE);
    let outcomes = store
        .import_all(&[other.clone(), other.clone()], &policy())
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            ImportOutcome::Added(other.name()),
            ImportOutcome::AlreadyPresent(other.name())
        ]
    );
    assert_eq!(store.list().unwrap().certificates.len(), 2);
}

/// A bundle is imported whole; one refused certificate stores none of the upload.
pub fn upload_is_all_or_nothing<S: CertificateStore + ?Sized>(store: &S) {
    let mut upload = BUNDLE.to_vec();
    upload.extend_from_slice(EXPIRED);
    match store.import_upload(&upload, &policy()) {
        Err(StoreError::Refused(ImportRefusal {
            name,
            reason: RefusalReason::Expired { .. },
            ..
        })) => assert_eq!(name, one(EXPIRED).name()),
        other => panic!("an upload with an expired certificate: expected Expired, got {other:?}"),
    }
    assert!(
        store.list().unwrap().certificates.is_empty(),
        "nothing of a refused upload is stored"
    );

    let imported = store.import_upload(BUNDLE, &policy()).unwrap();
    let bundle = crate::decode(BUNDLE).unwrap();
    assert_eq!(
        imported.iter().map(ImportOutcome::name).collect::<Vec<_>>(),
        names(&bundle)
    );
    assert!(imported
        .iter()
        .all(|i| matches!(i, ImportOutcome::Added(_))));
    let mut expected = names(&bundle);
    expected.sort();
    assert_eq!(names(&store.list().unwrap().certificates), expected);
}

/// The CA certificates of a client's chain are skipped, CA certificates alone refused, and
/// a client's own self-signed certificate with cA=TRUE imported (issue 21).
pub fn chains_and_self_signed_certificates<S: CertificateStore + ?Sized>(store: &S) {
    let default = ImportPolicy::new(NOW);
    // Alone, an intermediate CA is refused; with the root, both are (nothing to import).
    for upload in [INTERMEDIATE, CA_BUNDLE] {
        match store.import_upload(upload, &default) {
            Err(StoreError::Refused(ImportRefusal {
                position: 1,
                reason: RefusalReason::CaCertificate,
                ..
            })) => {}
            other => panic!("CA certificates alone: expected CaCertificate, got {other:?}"),
        }
    }
    assert!(store.list().unwrap().certificates.is_empty());

    // fullchain.pem: the client's certificate, then its CA.
    let chain = crate::decode(FULLCHAIN).unwrap();
    let imported = store.import_upload(FULLCHAIN, &default).unwrap();
    assert_eq!(
        imported,
        vec![
            ImportOutcome::Added(chain[0].name()),
            ImportOutcome::Skipped(chain[1].name(), crate::store::SkipReason::ChainCa),
        ]
    );
    assert_eq!(
        names(&store.list().unwrap().certificates),
        vec![chain[0].name()]
    );
    // The CA first, the client's certificate twice: still the CA skipped, in its place.
    let reordered = [chain[1].clone(), chain[0].clone(), chain[0].clone()];
    assert_eq!(
        store.import_all(&reordered, &default).unwrap(),
        vec![
            ImportOutcome::Skipped(chain[1].name(), crate::store::SkipReason::ChainCa),
            ImportOutcome::AlreadyPresent(chain[0].name()),
            ImportOutcome::AlreadyPresent(chain[0].name()),
        ]
    );
    // Allowed, the CA is imported too.
    let imported = store
        .import_upload(FULLCHAIN, &default.clone().allow_ca(true))
        .unwrap();
    assert_eq!(imported[1], ImportOutcome::Added(chain[1].name()));
    store.delete(&chain[1].name()).unwrap();

    // `openssl req -x509`'s certificate: cA=TRUE, self-signed, no EKU.
    let own = one(SELF_SIGNED_CA_TRUE);
    assert!(own.summary().is_ca && own.is_self_signed());
    assert_eq!(
        store.import(&own, &default).unwrap(),
        ImportOutcome::Added(own.name())
    );
    // The same certificate whose signature does not verify is only self-issued: a CA's.
    let mut der = own.der().to_vec();
    if let Some(last) = der.last_mut() {
        *last ^= 0x01;
    }
    let forged = Certificate::from_der(&der).unwrap();
    assert!(forged.summary().self_issued && !forged.is_self_signed());
    match store.import(&forged, &default) {
        Err(StoreError::Refused(ImportRefusal {
            reason: RefusalReason::CaCertificate,
            ..
        })) => {}
        other => panic!("a forged self-signature: expected CaCertificate, got {other:?}"),
    }
    let mut names_now = names(&store.list().unwrap().certificates);
    names_now.sort();
    let mut expected = vec![chain[0].name(), own.name()];
    expected.sort();
    assert_eq!(names_now, expected);
}

/// Expired and non-client-auth certificates are refused by default, accepted when allowed;
/// not-yet-valid ones are accepted.
pub fn policy_defaults_are_safe<S: CertificateStore + ?Sized>(store: &S) {
    let expired = one(EXPIRED);
    let error = store.import(&expired, &policy()).unwrap_err();
    assert!(
        matches!(&error, StoreError::Refused(ImportRefusal { name, reason: RefusalReason::Expired { .. }, .. }) if *name == expired.name()),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(&expired.name().to_string()),
        "{error}"
    );

    let server = one(SERVER_ONLY);
    let error = store.import(&server, &policy()).unwrap_err();
    assert!(
        matches!(&error, StoreError::Refused(ImportRefusal { name, reason: RefusalReason::NotForClientAuth, .. }) if *name == server.name()),
        "{error:?}"
    );
    assert!(store.list().unwrap().certificates.is_empty());

    let future = one(NOT_YET_VALID);
    assert_eq!(
        store.import(&future, &policy()).unwrap(),
        ImportOutcome::Added(future.name())
    );
    assert_eq!(
        store
            .import(&expired, &policy().allow_expired(true))
            .unwrap(),
        ImportOutcome::Added(expired.name())
    );
    assert_eq!(
        store
            .import(&server, &policy().allow_without_client_auth(true))
            .unwrap(),
        ImportOutcome::Added(server.name())
    );
    assert_eq!(store.list().unwrap().certificates.len(), 3);
}

/// An upload holding a private key is refused with the decoder's error; nothing is stored.
pub fn private_key_upload_is_refused<S: CertificateStore + ?Sized>(store: &S) {
    let mut upload = SOURCE.to_vec();
    upload.extend_from_slice(PRIVATE_KEY);
    match store.import_upload(&upload, &policy()) {
        Err(StoreError::Decode(DecodeError::PrivateKey {
            kind: PrivateKeyKind::Pkcs8,
        })) => {}
        other => panic!("an upload with a private key: expected PrivateKey, got {other:?}"),
    }
    assert!(store.list().unwrap().certificates.is_empty());
}

/// `list` is sorted by name whatever the import order.
pub fn listing_is_sorted_by_name<S: CertificateStore + ?Sized>(store: &S) {
    let mut certificates = crate::decode(BUNDLE).unwrap();
    certificates.reverse();
    for certificate in &certificates {
        store.import(certificate, &policy()).unwrap();
    }
    let listed = names(&store.list().unwrap().certificates);
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted);
    assert_eq!(listed.len(), certificates.len());
}

/// `expiring_within`, `expired` and `purge_expired` at a fixed instant.
pub fn validity_chores<S: CertificateStore + ?Sized>(store: &S) {
    let expired = one(EXPIRED);
    let current = one(SOURCE);
    let future = one(NOT_YET_VALID);
    let all = policy().allow_expired(true);
    store
        .import_all(&[expired.clone(), current.clone(), future.clone()], &all)
        .unwrap();

    assert_eq!(store.expired(NOW).unwrap(), vec![expired.clone()]);
    // The not-yet-valid certificate ends first (2041), then the current one (2045).
    let until_future = future.summary().validity.not_after - NOW;
    let until_current = current.summary().validity.not_after - NOW;
    assert!(until_future < until_current);
    assert_eq!(
        store
            .expiring_within(NOW, until_future - Duration::days(1))
            .unwrap(),
        vec![]
    );
    assert_eq!(
        store.expiring_within(NOW, until_future).unwrap(),
        vec![future.clone()]
    );
    let mut both = vec![current.clone(), future.clone()];
    both.sort_by_key(Certificate::name);
    assert_eq!(store.expiring_within(NOW, until_current).unwrap(), both);
    // Just before the expired certificate's end, it is "expiring", not "expired".
    let before_end = expired.summary().validity.not_after - Duration::hours(1);
    assert_eq!(
        store
            .expiring_within(before_end, Duration::days(1))
            .unwrap(),
        vec![expired.clone()]
    );
    assert!(store.expired(before_end).unwrap().is_empty());

    assert_eq!(store.purge_expired(NOW).unwrap(), vec![expired.name()]);
    assert_eq!(store.get(&expired.name()).unwrap(), None);
    assert!(store.purge_expired(NOW).unwrap().is_empty());
    let mut left = vec![current.name(), future.name()];
    left.sort();
    assert_eq!(names(&store.list().unwrap().certificates), left);
}

/// Many threads importing, reading and deleting at once end in the state a serial run gives.
pub fn concurrent_threads_agree<S: CertificateStore + ?Sized>(store: &S) {
    let bundle = crate::decode(BUNDLE).unwrap();
    let keep = one(SOURCE);
    let churn = one(PROXY);
    std::thread::scope(|scope| {
        for thread in 0..8 {
            let bundle = &bundle;
            let keep = &keep;
            let churn = &churn;
            scope.spawn(move || {
                for round in 0..20 {
                    store.import_all(bundle, &policy()).unwrap();
                    store.import(keep, &policy()).unwrap();
                    if (thread + round) % 2 == 0 {
                        store.import(churn, &policy()).unwrap();
                    } else {
                        match store.delete(&churn.name()) {
                            Ok(()) | Err(StoreError::NotFound(_)) => {}
                            Err(other) => panic!("concurrent delete: {other}"),
                        }
                    }
                    let listing = store.list().unwrap();
                    assert!(listing.damaged.is_empty(), "{:?}", listing.damaged);
                    assert!(listing.certificates.len() > bundle.len());
                    assert_eq!(store.get(&keep.name()).unwrap().as_ref(), Some(keep));
                }
            });
        }
    });
    let _ = store.delete(&churn.name());
    let mut expected = names(&bundle);
    expected.push(keep.name());
    expected.sort();
    assert_eq!(names(&store.list().unwrap().certificates), expected);
}
