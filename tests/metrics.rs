//! The counters the stores and the verifier record through the metrics facade, observed with
//! metrics-util's debugging recorder: imports by outcome, refusals by reason, deletes,
//! purges, and the verifier's decisions by outcome.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use inbound_certs::{
    backend::MemoryStore, decode, CertificateStore, ImportPolicy, StoreClientVerifier, SystemKind,
};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::macros::datetime;

/// Every counter of the snapshot with its labels, as `name{label=value,...}` → count.
fn counters(recorder: &DebuggingRecorder) -> Vec<(String, u64)> {
    let mut found: Vec<(String, u64)> = recorder
        .snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            DebugValue::Counter(count) => {
                let key = key.key();
                let labels: Vec<String> = key
                    .labels()
                    .map(|label| format!("{}={}", label.key(), label.value()))
                    .collect();
                Some((format!("{}{{{}}}", key.name(), labels.join(",")), count))
            }
            _ => None,
        })
        .collect();
    found.sort();
    found
}

#[test]
fn stores_count_imports_refusals_deletes_and_purges() {
    let recorder = DebuggingRecorder::new();
    metrics::with_local_recorder(&recorder, || {
        let store = MemoryStore::new(SystemKind::Source).unwrap();
        let policy = ImportPolicy::new(datetime!(2026-06-01 0:00 UTC));
        store
            .import_upload(&common::read("sample_source.pem"), &policy)
            .unwrap();
        store
            .import_upload(&common::read("sample_source.pem"), &policy)
            .unwrap();
        assert!(store
            .import_upload(&common::read("key_pkcs8.pem"), &policy)
            .is_err());
        assert!(store
            .import_upload(&common::read("expired.pem"), &policy)
            .is_err());
        store
            .import_upload(
                &common::read("expired.pem"),
                &policy.clone().allow_expired(true),
            )
            .unwrap();
        let name = decode(&common::read("sample_source.pem")).unwrap()[0].name();
        store.delete(&name).unwrap();
        assert_eq!(
            store
                .purge_expired(datetime!(2026-06-01 0:00 UTC))
                .unwrap()
                .len(),
            1
        );
    });
    assert_eq!(
        counters(&recorder),
        vec![
            ("inbound_certs_deletes_total{}".to_string(), 1),
            ("inbound_certs_imports_total{outcome=added}".to_string(), 2),
            (
                "inbound_certs_imports_total{outcome=already_present}".to_string(),
                1
            ),
            ("inbound_certs_purges_total{}".to_string(), 1),
            (
                "inbound_certs_refusals_total{reason=expired}".to_string(),
                1
            ),
            (
                "inbound_certs_refusals_total{reason=private_key}".to_string(),
                1
            ),
        ]
    );
}

/// A self-signed client certificate (ECDSA P-256) valid from 2000 to `until`, with its key.
fn identity(until: i32) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "metrics client");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    params.not_before = rcgen::date_time_ymd(2000, 1, 1);
    params.not_after = rcgen::date_time_ymd(until, 1, 1);
    let certificate = params.self_signed(&key).unwrap();
    (
        certificate.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

/// Presents a certificate and signs with a key, even when they do not belong together.
#[derive(Debug)]
struct Present(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for Present {
    fn resolve(
        &self,
        _: &[&[u8]],
        _: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

fn server(verifier: StoreClientVerifier) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    let data = common::data("tls");
    let chain = vec![CertificateDer::from_pem_file(data.join("server.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(data.join("server.key")).unwrap();
    Arc::new(verifier.into_server_config(chain, key).unwrap())
}

/// A whole TLS 1.3 handshake in memory, on this thread, with the client presenting
/// `certificate` and signing with `key`; whether it succeeded.
fn handshake(
    server_config: &Arc<rustls::ServerConfig>,
    certificate: &CertificateDer<'static>,
    key: &PrivateKeyDer<'static>,
) -> bool {
    use rustls::pki_types::pem::PemObject;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(common::data("tls").join("ca.pem")).unwrap())
        .unwrap();
    let signing_key = provider
        .key_provider
        .load_private_key(key.clone_key())
        .unwrap();
    let certified = rustls::sign::CertifiedKey::new(vec![certificate.clone()], signing_key);
    let client_config = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots)
            .with_client_cert_resolver(Arc::new(Present(Arc::new(certified)))),
    );
    let mut server = rustls::ServerConnection::new(server_config.clone()).unwrap();
    let mut client = rustls::ClientConnection::new(
        client_config,
        rustls::pki_types::ServerName::try_from("localhost").unwrap(),
    )
    .unwrap();
    for _ in 0..10 {
        let mut bytes = Vec::new();
        client.write_tls(&mut bytes).unwrap();
        server.read_tls(&mut bytes.as_slice()).unwrap();
        if server.process_new_packets().is_err() {
            return false;
        }
        let mut bytes = Vec::new();
        server.write_tls(&mut bytes).unwrap();
        client.read_tls(&mut bytes.as_slice()).unwrap();
        if client.process_new_packets().is_err() {
            return false;
        }
        if !server.is_handshaking() && !client.is_handshaking() {
            return true;
        }
    }
    false
}

#[test]
fn the_verifier_counts_its_decisions() {
    let trusted = identity(2999);
    let expired = identity(2001);
    let stranger = identity(2999);
    let store = Arc::new(MemoryStore::new(SystemKind::Source).unwrap());
    let policy = ImportPolicy::new(datetime!(2026-06-01 0:00 UTC)).allow_expired(true);
    for (der, _) in [&trusted, &expired] {
        store.import_upload(der, &policy).unwrap();
    }
    let verifier =
        StoreClientVerifier::new(store, Arc::new(rustls::crypto::ring::default_provider()));
    let server = server(verifier);
    let recorder = DebuggingRecorder::new();
    metrics::with_local_recorder(&recorder, || {
        assert!(handshake(&server, &trusted.0, &trusted.1));
        assert!(!handshake(&server, &expired.0, &expired.1));
        assert!(!handshake(&server, &stranger.0, &stranger.1));
        // The trusted certificate, signed with another key.
        assert!(!handshake(&server, &trusted.0, &stranger.1));
    });
    assert_eq!(
        counters(&recorder),
        vec![
            (
                "inbound_certs_verifier_decisions_total{outcome=accepted}".to_string(),
                1
            ),
            (
                "inbound_certs_verifier_decisions_total{outcome=bad_signature}".to_string(),
                1
            ),
            (
                "inbound_certs_verifier_decisions_total{outcome=expired}".to_string(),
                1
            ),
            (
                "inbound_certs_verifier_decisions_total{outcome=not_in_store}".to_string(),
                1
            ),
        ]
    );
}

/// Over a registry, a client every system suspended (issue 23) is counted `suspended`.
#[test]
fn the_verifier_counts_suspended_clients() {
    let client = identity(2999);
    let registry = inbound_certs::Registry::in_memory();
    let crm: inbound_certs::SystemName = "crm".parse().unwrap();
    let now = datetime!(2026-06-01 0:00 UTC);
    registry
        .create_system(&crm, SystemKind::Source, now)
        .unwrap();
    let store = registry.store(&crm).unwrap();
    let name = store
        .import_upload(&client.0, &ImportPolicy::new(now))
        .unwrap()[0]
        .name();
    store.suspend(&name, "offboarded").unwrap();
    let verifier = StoreClientVerifier::for_registry(
        registry,
        Arc::new(rustls::crypto::ring::default_provider()),
    );
    let server = server(verifier);
    let recorder = DebuggingRecorder::new();
    metrics::with_local_recorder(&recorder, || {
        assert!(!handshake(&server, &client.0, &client.1));
    });
    assert_eq!(
        counters(&recorder),
        vec![(
            "inbound_certs_verifier_decisions_total{outcome=suspended}".to_string(),
            1
        )]
    );
}

/// Issue 24: each authorization is counted by system, permission and outcome: the first
/// system holding the permission when allowed, the first trusting one when not permitted,
/// none when the certificate is not trusted.
#[test]
fn authorizations_are_counted_by_system_permission_and_outcome() {
    let recorder = DebuggingRecorder::new();
    metrics::with_local_recorder(&recorder, || {
        let now = datetime!(2026-06-01 0:00 UTC);
        let registry = inbound_certs::Registry::in_memory().with_clock(move || now);
        let gateway = "gateway".parse().unwrap();
        registry
            .create_system_with(
                &gateway,
                SystemKind::Proxy,
                ["proxy-api".parse().unwrap()],
                now,
            )
            .unwrap();
        let client = inbound_certs::decode(&common::read("sample_source.pem"))
            .unwrap()
            .remove(0);
        let stranger = inbound_certs::decode(&common::read("sample_proxy.pem"))
            .unwrap()
            .remove(0);
        registry
            .store(&gateway)
            .unwrap()
            .import(&client, &ImportPolicy::new(now))
            .unwrap();
        let (proxy_api, realtime_api) = (
            "proxy-api".parse().unwrap(),
            "realtime-api".parse().unwrap(),
        );
        for _ in 0..2 {
            registry.authorize(&client, &proxy_api).unwrap();
        }
        registry.authorize(&client, &realtime_api).unwrap_err();
        registry.authorize(&stranger, &proxy_api).unwrap_err();
    });
    let name = "inbound_certs_authorizations_total";
    assert_eq!(
        counters(&recorder)
            .into_iter()
            .filter(|(key, _)| key.starts_with(name))
            .collect::<Vec<_>>(),
        [
            (
                format!("{name}{{system=,permission=proxy-api,outcome=not_trusted}}"),
                1
            ),
            (
                format!("{name}{{system=gateway,permission=proxy-api,outcome=allowed}}"),
                2
            ),
            (
                format!("{name}{{system=gateway,permission=realtime-api,outcome=not_permitted}}"),
                1
            ),
        ]
    );
}
