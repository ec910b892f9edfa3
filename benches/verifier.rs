//! Per-handshake cost of `StoreClientVerifier` without the network: `verify_client_cert`
//! (SHA-256 of the presented certificate, one store lookup, the validity check) for a
//! certificate that is in a store of 10,000 and for one that is not, on both backends; and, for
//! scale, a whole TLS 1.3 handshake in memory with the verifier (ECDSA P-256, ring).
//!
//! Last used (issue 23): a verifier over a registry records every accepted handshake (the
//! SHA-256 of the certificate, then `Registry::record_use`), one over a store does not. The
//! group `verifier_registry` measures, over a registry of the same 10,000 certificates, the
//! handshake with recording and the recording step alone, so that its cost and its share of
//! a handshake show; the store's handshake above is the same handshake without recording
//! (its trust lookup differs: a store's `get` instead of the registry's `identify`).

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

#[path = "support.rs"]
mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::Criterion;
use inbound_certs::{
    backend::{FileStore, MemoryStore},
    Certificate, CertificateStore, Fingerprint, ImportPolicy, Registry, StoreClientVerifier,
    SystemKind,
};
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use time::macros::datetime;

const STORED: usize = 10_000;

fn client(name: &str) -> (CertificateDer<'static>, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    (params.self_signed(&key).unwrap().der().clone(), key)
}

fn fill(store: &dyn CertificateStore, pinned: &CertificateDer<'_>) {
    let policy = ImportPolicy::new(datetime!(2026-06-01 0:00 UTC)).allow_expired(true);
    let others = support::synthetic("ec_p256.der", STORED - 1, 0);
    for bundle in others.chunks(500) {
        store.import_all(bundle, &policy).unwrap();
    }
    store
        .import(&Certificate::from_der(pinned).unwrap(), &policy)
        .unwrap();
}

fn main() {
    let mut criterion = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (pinned, key) = client("alice");
    let (unknown, _) = client("mallory");
    let now = UnixTime::since_unix_epoch(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap(),
    );

    let memory = Arc::new(MemoryStore::new(SystemKind::Source).unwrap());
    fill(memory.as_ref(), &pinned);
    let memory_store: Arc<dyn CertificateStore> = memory.clone();
    let dir = std::env::temp_dir().join(format!(
        "inbound-certs-bench-verifier-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let file = Arc::new(FileStore::create(&dir, SystemKind::Source).unwrap());
    fill(file.as_ref(), &pinned);
    let file_warm = file.clone();
    file_warm.list().unwrap();

    let mut group = criterion.benchmark_group("verifier");
    for (backend, store) in [
        ("memory", memory as Arc<dyn CertificateStore>),
        ("file", file_warm as Arc<dyn CertificateStore>),
    ] {
        let verifier = StoreClientVerifier::new(store, provider.clone());
        assert!(verifier.verify_client_cert(&pinned, &[], now).is_ok());
        group.bench_function(format!("{backend}/pinned"), |b| {
            b.iter(|| verifier.verify_client_cert(black_box(&pinned), &[], now))
        });
        assert!(verifier.verify_client_cert(&unknown, &[], now).is_err());
        group.bench_function(format!("{backend}/unknown"), |b| {
            b.iter(|| verifier.verify_client_cert(black_box(&unknown), &[], now))
        });
    }

    // A whole TLS 1.3 handshake in memory (no sockets), for scale.
    let server_key = KeyPair::generate().unwrap();
    let server_der = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&server_key)
        .unwrap()
        .der()
        .clone();
    let server_config = Arc::new(
        StoreClientVerifier::new(memory_store.clone(), provider.clone())
            .into_server_config(vec![server_der.clone()], der_key(&server_key))
            .unwrap(),
    );
    let mut roots = RootCertStore::empty();
    roots.add(server_der.clone()).unwrap();
    let client_config = Arc::new(
        ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(vec![pinned.clone()], der_key(&key))
            .unwrap(),
    );
    handshake(&server_config, &client_config);
    group.bench_function("tls13_handshake_in_memory", |b| {
        b.iter(|| handshake(&server_config, &client_config))
    });
    group.finish();

    // The same over a registry: its verifier records each accepted handshake.
    let registry = Registry::in_memory();
    let crm = "crm".parse().unwrap();
    registry
        .create_system(&crm, SystemKind::Source, datetime!(2026-06-01 0:00 UTC))
        .unwrap();
    fill(&registry.store(&crm).unwrap(), &pinned);
    let verifier = StoreClientVerifier::for_registry(registry.clone(), provider.clone());
    let server_config = Arc::new(
        StoreClientVerifier::for_registry(registry.clone(), provider.clone())
            .into_server_config(vec![server_der], der_key(&server_key))
            .unwrap(),
    );
    let mut group = criterion.benchmark_group("verifier_registry");
    assert!(verifier.verify_client_cert(&pinned, &[], now).is_ok());
    group.bench_function("memory/pinned", |b| {
        b.iter(|| verifier.verify_client_cert(black_box(&pinned), &[], now))
    });
    // What the verifier adds to a handshake it accepts, once the signature is verified: the
    // certificate its `verify_client_cert` accepted on this thread is compared with the
    // presented DER and its fingerprint recorded (the SHA-256 of the DER again, the fallback
    // when rustls checks the signature on another thread, is measured beside it).
    let accepted = Certificate::from_der(&pinned).unwrap();
    group.bench_function("record_use_step", |b| {
        b.iter(|| {
            let accepted = black_box(&accepted);
            if accepted.der() == black_box(&pinned).as_ref() {
                registry.record_use(&accepted.fingerprint(), None)
            }
        })
    });
    group.bench_function("record_use_step_hashing", |b| {
        b.iter(|| registry.record_use(&Fingerprint::of_der(black_box(&pinned)), None))
    });
    handshake(&server_config, &client_config);
    let crm_usage = registry.last_used(&crm, &Certificate::from_der(&pinned).unwrap().name());
    assert!(crm_usage.unwrap().is_some(), "the handshake was recorded");
    group.bench_function("tls13_handshake_in_memory_recorded", |b| {
        b.iter(|| handshake(&server_config, &client_config))
    });
    group.finish();
    criterion.final_summary();
    let _ = std::fs::remove_dir_all(&dir);
}

fn der_key(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

/// Runs a full handshake between a client and a server in memory; panics if it fails.
fn handshake(server_config: &Arc<ServerConfig>, client_config: &Arc<ClientConfig>) {
    let name = ServerName::try_from("localhost").unwrap();
    let mut client = ClientConnection::new(client_config.clone(), name).unwrap();
    let mut server = ServerConnection::new(server_config.clone()).unwrap();
    let mut buffer = Vec::new();
    while client.is_handshaking() || server.is_handshaking() {
        while client.wants_write() {
            client.write_tls(&mut buffer).unwrap();
        }
        let mut bytes = &buffer[..];
        while !bytes.is_empty() {
            server.read_tls(&mut bytes).unwrap();
        }
        buffer.clear();
        server.process_new_packets().unwrap();
        while server.wants_write() {
            server.write_tls(&mut buffer).unwrap();
        }
        let mut bytes = &buffer[..];
        while !bytes.is_empty() {
            client.read_tls(&mut bytes).unwrap();
        }
        buffer.clear();
        client.process_new_packets().unwrap();
    }
}
