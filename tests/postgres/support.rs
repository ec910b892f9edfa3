//! Helpers the scenarios share: schemas, connections, certificates, waiting, error reports.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use inbound_certs::{
    backend::{PostgresOptions, PostgresStore},
    Certificate, CertificateName, CertificateStore, ErrorReport, ImportPolicy, Registry,
    StoreError, SystemKind, SystemName,
};
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair};
use time::OffsetDateTime;

use crate::server::Server;

pub(crate) fn fresh_schema(tag: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{tag}_{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

pub(crate) fn connect(server: &Server, schema: &str) -> PostgresStore {
    connect_with(server, PostgresOptions::default().schema(schema))
}

pub(crate) fn connect_with(server: &Server, options: PostgresOptions) -> PostgresStore {
    PostgresStore::connect_with(&server.url(), SystemKind::Source, &options).unwrap()
}

pub(crate) fn policy() -> ImportPolicy {
    ImportPolicy::new(OffsetDateTime::now_utc())
}

/// `count` distinct client certificates.
pub(crate) fn certificates(count: usize) -> Vec<Certificate> {
    (0..count)
        .map(|i| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params
                .distinguished_name
                .push(DnType::CommonName, format!("replica test client {i}"));
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            Certificate::from_der(params.self_signed(&key).unwrap().der()).unwrap()
        })
        .collect()
}

pub(crate) fn names(store: &dyn CertificateStore) -> BTreeSet<CertificateName> {
    store
        .list()
        .unwrap()
        .certificates
        .iter()
        .map(Certificate::name)
        .collect()
}

/// Waits until `condition` holds, up to `limit`; returns how long it took.
pub(crate) fn within(limit: Duration, what: &str, condition: impl Fn() -> bool) -> Duration {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
    started.elapsed()
}

/// An error with its causes, as a user reads it.
pub(crate) fn report(error: &StoreError) -> String {
    ErrorReport::new(error).to_string()
}

pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub(crate) fn connect_registry(server: &Server, schema: &str) -> Registry {
    Registry::connect(&server.url(), &PostgresOptions::default().schema(schema)).unwrap()
}

pub(crate) fn system_name(text: &str) -> SystemName {
    text.parse().unwrap()
}
