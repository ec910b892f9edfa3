//! `StoreClientVerifier` end to end: a rustls server and client over loopback TCP, in TLS 1.2
//! and TLS 1.3, with certificates made for the test by rcgen.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;

use inbound_certs::{
    backend::{FileStore, MemoryStore},
    Certificate, CertificateStore, ImportPolicy, StoreClientVerifier, SystemKind, VerifierError,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::version::{TLS12, TLS13};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, ClientConnection, RootCertStore,
    ServerConfig, ServerConnection, SignatureScheme, StreamOwned, SupportedProtocolVersion,
};
use time::OffsetDateTime;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate and its private key.
struct Identity {
    der: CertificateDer<'static>,
    key: Vec<u8>,
}

impl Identity {
    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()))
    }

    fn certificate(&self) -> Certificate {
        Certificate::from_der(&self.der).unwrap()
    }
}

/// A self-signed client certificate for `name`, valid from 2000 until `not_after`.
fn client(name: &str, not_after: (i32, u8, u8)) -> Identity {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.not_before = rcgen::date_time_ymd(2000, 1, 1);
    params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
    let certificate = params.self_signed(&key).unwrap();
    Identity {
        der: certificate.der().clone(),
        key: key.serialize_der(),
    }
}

fn valid_client(name: &str) -> Identity {
    client(name, (2999, 1, 1))
}

/// A CA and a server certificate for "localhost" signed by it.
struct ServerPki {
    ca: CertificateDer<'static>,
    server: Identity,
}

fn server_pki() -> ServerPki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "test server CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    ServerPki {
        ca: ca.der().clone(),
        server: Identity {
            der: server.der().clone(),
            key: server_key.serialize_der(),
        },
    }
}

fn server_config(pki: &ServerPki, store: Arc<dyn CertificateStore>) -> Arc<ServerConfig> {
    let config = StoreClientVerifier::new(store, provider())
        .into_server_config(vec![pki.server.der.clone()], pki.server.key())
        .unwrap();
    Arc::new(config)
}

/// Presents `certificate` and signs with `key`, even when they do not belong together
/// (`with_client_auth_cert` would refuse such a pair up front).
#[derive(Debug)]
struct Present(Arc<CertifiedKey>);

impl ResolvesClientCert for Present {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

fn client_config(
    pki: &ServerPki,
    version: &'static SupportedProtocolVersion,
    presented: Option<(&Identity, &Identity)>,
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca.clone()).unwrap();
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots);
    let config = match presented {
        None => builder.with_no_client_auth(),
        Some((certificate, key_of)) => {
            let key = provider()
                .key_provider
                .load_private_key(key_of.key())
                .unwrap();
            let certified = CertifiedKey::new(vec![certificate.der.clone()], key);
            builder.with_client_cert_resolver(Arc::new(Present(Arc::new(certified))))
        }
    };
    Arc::new(config)
}

/// What each side saw of one connection.
#[derive(Debug)]
struct Outcome {
    /// The echoed line, or the client's error.
    client: Result<String, rustls::Error>,
    /// The server's error, if the handshake failed there.
    server: Result<(), rustls::Error>,
    /// The certificate the client presented, as the server's connection reports it.
    peer: Option<CertificateDer<'static>>,
}

/// Connects over loopback, sends one line and reads the echo.
fn connect(server: &Arc<ServerConfig>, client: &Arc<ClientConfig>) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let config = server.clone();
    let server_side = thread::spawn(move || -> Result<_, rustls::Error> {
        let (socket, _) = listener.accept().unwrap();
        let mut tls = StreamOwned::new(ServerConnection::new(config).unwrap(), socket);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock).map_err(tls_error)?;
        }
        let peer = tls
            .conn
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|certificate| certificate.clone().into_owned());
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while tls.read(&mut byte).map_err(tls_error)? == 1 {
            line.push(byte[0]);
            if byte[0] == b'\n' {
                break;
            }
        }
        tls.write_all(&line).map_err(tls_error)?;
        tls.conn.send_close_notify();
        tls.flush().map_err(tls_error)?;
        Ok(peer)
    });

    let socket = TcpStream::connect(address).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = StreamOwned::new(ClientConnection::new(client.clone(), name).unwrap(), socket);
    let client_result = (|| {
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock).map_err(tls_error)?;
        }
        tls.write_all(b"hello\n").map_err(tls_error)?;
        tls.flush().map_err(tls_error)?;
        let mut reply = String::new();
        BufReader::new(&mut tls)
            .read_line(&mut reply)
            .map_err(tls_error)?;
        Ok(reply)
    })();
    let (server, peer) = match server_side.join().unwrap() {
        Ok(peer) => (Ok(()), peer),
        Err(error) => (Err(error), None),
    };
    Outcome {
        client: client_result,
        server,
        peer,
    }
}

fn tls_error(error: std::io::Error) -> rustls::Error {
    match error.into_inner() {
        Some(inner) => match inner.downcast::<rustls::Error>() {
            Ok(tls) => *tls,
            Err(other) => rustls::Error::General(other.to_string()),
        },
        None => rustls::Error::General("i/o error without detail".to_string()),
    }
}

const VERSIONS: [&SupportedProtocolVersion; 2] = [&TLS12, &TLS13];

fn memory_store() -> Arc<MemoryStore> {
    Arc::new(MemoryStore::new(SystemKind::Source).unwrap())
}

fn import(store: &dyn CertificateStore, identity: &Identity) {
    // Any kind of certificate, a self-signed CA among them (refused by default since issue 12).
    let policy = ImportPolicy::new(OffsetDateTime::now_utc())
        .allow_expired(true)
        .allow_ca(true);
    store.import(&identity.certificate(), &policy).unwrap();
}

/// A server whose MemoryStore holds exactly `trusted`.
fn server_trusting(pki: &ServerPki, trusted: &[&Identity]) -> Arc<ServerConfig> {
    let store = memory_store();
    for identity in trusted {
        import(store.as_ref(), identity);
    }
    server_config(pki, store)
}

fn assert_refused(outcome: &Outcome, alert: AlertDescription) {
    assert_eq!(
        outcome.client.as_ref().unwrap_err(),
        &rustls::Error::AlertReceived(alert),
        "{outcome:?}"
    );
}

fn verifier_refusal(outcome: &Outcome) -> &VerifierError {
    match &outcome.server {
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(other))) => {
            other.0.downcast_ref::<VerifierError>().unwrap()
        }
        other => panic!("expected a refusal by the verifier, got {other:?}"),
    }
}

#[test]
fn a_pinned_client_connects() {
    let pki = server_pki();
    let alice = valid_client("alice");
    let server = server_trusting(&pki, &[&alice]);
    for version in VERSIONS {
        let outcome = connect(
            &server,
            &client_config(&pki, version, Some((&alice, &alice))),
        );
        assert_eq!(outcome.client.as_deref(), Ok("hello\n"), "{version:?}");
        assert!(outcome.server.is_ok(), "{outcome:?}");
    }
}

/// A committed identity from tests/data/tls/ (made by openssl there).
fn committed(name: &str) -> Identity {
    use rustls::pki_types::pem::PemObject;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    let der = CertificateDer::from_pem_file(dir.join(format!("{name}.pem"))).unwrap();
    let key = match PrivateKeyDer::from_pem_file(dir.join(format!("{name}.key"))).unwrap() {
        PrivateKeyDer::Pkcs8(key) => key.secret_pkcs8_der().to_vec(),
        other => panic!("{name}.key is not PKCS#8: {other:?}"),
    };
    Identity { der, key }
}

/// Every key type, and certificates webpki would refuse to parse (version 1, an unknown critical
/// extension) but the store accepts: the handshake signature is checked against the key alone.
#[test]
fn every_kind_of_stored_certificate_can_connect() {
    let pki = server_pki();
    let generated = |algorithm: &'static rcgen::SignatureAlgorithm| {
        let key = KeyPair::generate_for(algorithm).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "generated");
        Identity {
            der: params.self_signed(&key).unwrap().der().clone(),
            key: key.serialize_der(),
        }
    };
    let identities = [
        ("P-256", generated(&rcgen::PKCS_ECDSA_P256_SHA256)),
        ("P-384", generated(&rcgen::PKCS_ECDSA_P384_SHA384)),
        ("Ed25519", generated(&rcgen::PKCS_ED25519)),
        ("RSA 2048", committed("rsa")),
        ("version 1", committed("v1")),
        ("unknown critical extension", committed("critical")),
    ];
    let trusted: Vec<&Identity> = identities.iter().map(|(_, identity)| identity).collect();
    let server = server_trusting(&pki, &trusted);
    for (what, identity) in &identities {
        for version in VERSIONS {
            let outcome = connect(
                &server,
                &client_config(&pki, version, Some((identity, identity))),
            );
            assert_eq!(
                outcome.client.as_deref(),
                Ok("hello\n"),
                "{what} {version:?}: {outcome:?}"
            );
        }
    }
}

#[test]
fn an_unknown_client_is_refused_with_certificate_unknown() {
    let pki = server_pki();
    let (alice, mallory) = (valid_client("alice"), valid_client("mallory"));
    let server = server_trusting(&pki, &[&alice]);
    for version in VERSIONS {
        let outcome = connect(
            &server,
            &client_config(&pki, version, Some((&mallory, &mallory))),
        );
        assert_refused(&outcome, AlertDescription::CertificateUnknown);
        match verifier_refusal(&outcome) {
            VerifierError::NotInStore { name } => {
                assert_eq!(*name, mallory.certificate().name())
            }
            other => panic!("{other:?}"),
        }
        let message = verifier_refusal(&outcome).to_string();
        assert_eq!(
            message,
            format!(
                "client certificate {} is not in the store",
                mallory.certificate().name()
            )
        );
    }
}

#[test]
fn an_expired_pinned_client_is_refused_with_certificate_expired() {
    let pki = server_pki();
    let expired = client("expired", (2020, 1, 1));
    let server = server_trusting(&pki, &[&expired]);
    for version in VERSIONS {
        let outcome = connect(
            &server,
            &client_config(&pki, version, Some((&expired, &expired))),
        );
        assert_refused(&outcome, AlertDescription::CertificateExpired);
        match &outcome.server {
            Err(rustls::Error::InvalidCertificate(CertificateError::ExpiredContext {
                not_after,
                ..
            })) => assert_eq!(not_after.as_secs(), 1_577_836_800), // 2020-01-01
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_client_that_is_not_valid_yet_is_refused_with_certificate_expired() {
    let pki = server_pki();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, "early");
    params.not_before = rcgen::date_time_ymd(2990, 1, 1);
    params.not_after = rcgen::date_time_ymd(2999, 1, 1);
    let early = Identity {
        der: params.self_signed(&key).unwrap().der().clone(),
        key: key.serialize_der(),
    };
    let server = server_trusting(&pki, &[&early]);
    let outcome = connect(
        &server,
        &client_config(&pki, &TLS13, Some((&early, &early))),
    );
    assert_refused(&outcome, AlertDescription::CertificateExpired);
    assert!(
        matches!(
            outcome.server,
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidYetContext { .. }
            ))
        ),
        "{outcome:?}"
    );
}

#[test]
fn a_pinned_certificate_with_the_wrong_key_is_refused_with_decrypt_error() {
    let pki = server_pki();
    let (alice, mallory) = (valid_client("alice"), valid_client("mallory"));
    let server = server_trusting(&pki, &[&alice]);
    for version in VERSIONS {
        let outcome = connect(
            &server,
            &client_config(&pki, version, Some((&alice, &mallory))),
        );
        assert_refused(&outcome, AlertDescription::DecryptError);
        assert_eq!(
            outcome.server,
            Err(rustls::Error::InvalidCertificate(
                CertificateError::BadSignature
            )),
            "{version:?}"
        );
    }
}

#[test]
fn a_client_without_a_certificate_is_refused_unless_allowed() {
    let pki = server_pki();
    let store = memory_store();
    let server = server_config(&pki, store.clone());
    let outcome = connect(&server, &client_config(&pki, &TLS13, None));
    assert_refused(&outcome, AlertDescription::CertificateRequired);
    assert_eq!(outcome.server, Err(rustls::Error::NoCertificatesPresented));

    let lenient = StoreClientVerifier::new(store, provider())
        .allow_unauthenticated()
        .into_server_config(vec![pki.server.der.clone()], pki.server.key())
        .unwrap();
    let outcome = connect(&Arc::new(lenient), &client_config(&pki, &TLS13, None));
    assert_eq!(outcome.client.as_deref(), Ok("hello\n"));
}

#[test]
fn imports_and_deletes_take_effect_on_the_next_handshake() {
    let pki = server_pki();
    let alice = valid_client("alice");
    let dir = tempdir();
    let store = Arc::new(FileStore::create(&dir, SystemKind::Proxy).unwrap());
    let server = server_config(&pki, store.clone());
    let client = client_config(&pki, &TLS13, Some((&alice, &alice)));

    let before = connect(&server, &client);
    assert_refused(&before, AlertDescription::CertificateUnknown);

    // Another instance (as `certstore import` in another process would) imports the certificate.
    import(&FileStore::open(&dir, SystemKind::Proxy).unwrap(), &alice);
    let admitted = connect(&server, &client);
    assert_eq!(admitted.client.as_deref(), Ok("hello\n"));

    store.delete(&alice.certificate().name()).unwrap();
    let after = connect(&server, &client);
    assert_refused(&after, AlertDescription::CertificateUnknown);
    assert!(matches!(
        verifier_refusal(&after),
        VerifierError::NotInStore { .. }
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Why `into_server_config` turns resumption off: with rustls' defaults, a client whose
/// certificate was deleted resumes its earlier session and the store is never asked.
#[test]
fn resumption_is_off_so_a_deleted_certificate_cannot_resume() {
    let pki = server_pki();
    let alice = valid_client("alice");
    let store = memory_store();
    import(store.as_ref(), &alice);
    for version in VERSIONS {
        let client = client_config(&pki, version, Some((&alice, &alice)));
        let with_resumption = {
            let verifier = StoreClientVerifier::new(store.clone(), provider());
            let mut config = ServerConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_client_cert_verifier(Arc::new(verifier))
                .with_single_cert(vec![pki.server.der.clone()], pki.server.key())
                .unwrap();
            // TLS 1.2 resumes by ticket only when the server has a ticketer.
            config.ticketer = rustls::crypto::ring::Ticketer::new().unwrap();
            Arc::new(config)
        };
        let without_resumption = server_config(&pki, store.clone());
        for server in [&with_resumption, &without_resumption] {
            assert!(connect(server, &client).client.is_ok());
        }
        store.delete(&alice.certificate().name()).unwrap();
        let resumed = connect(&with_resumption, &client);
        assert!(
            resumed.client.is_ok(),
            "rustls' default config resumed without asking the store ({version:?})"
        );
        let refused = connect(&without_resumption, &client);
        assert_refused(&refused, AlertDescription::CertificateUnknown);
        import(store.as_ref(), &alice);
    }
}

#[test]
fn a_store_that_cannot_be_read_refuses_with_the_store_error() {
    let pki = server_pki();
    let alice = valid_client("alice");
    let dir = tempdir();
    let store = Arc::new(FileStore::create(&dir, SystemKind::Source).unwrap());
    import(store.as_ref(), &alice);
    let server = server_config(&pki, store.clone());
    // The file is replaced by one with other content: the store reports it as damaged.
    let path = store.path_of(&alice.certificate().name());
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, b"not a certificate").unwrap();
    let outcome = connect(
        &server,
        &client_config(&pki, &TLS13, Some((&alice, &alice))),
    );
    assert_refused(&outcome, AlertDescription::CertificateUnknown);
    match verifier_refusal(&outcome) {
        VerifierError::Store { name, source } => {
            assert_eq!(*name, alice.certificate().name());
            assert!(source.to_string().contains(&path.display().to_string()));
        }
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "inbound-certs-verifier-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A verifier over a registry trusts the clients of its source and proxy systems (or of the
/// systems it is narrowed to), and after the handshake the peer's certificate says which
/// system called, with a plain rustls ServerConnection.
#[test]
fn a_registry_verifier_trusts_its_systems_and_tells_which_called() {
    use inbound_certs::{Registry, SystemName};
    let pki = server_pki();
    let now = OffsetDateTime::now_utc();
    let registry = Registry::in_memory();
    let name = |text: &str| -> SystemName { text.parse().unwrap() };
    let crm = registry
        .create_system(&name("crm"), SystemKind::Source, now)
        .unwrap();
    let edge = registry
        .create_system(&name("edge"), SystemKind::Proxy, now)
        .unwrap();
    registry
        .create_system(&name("warehouse"), SystemKind::Target, now)
        .unwrap();
    let alice = valid_client("alice");
    let bob = valid_client("bob");
    let stranger = valid_client("stranger");
    import(&registry.store(crm.name()).unwrap(), &alice);
    import(&registry.store(edge.name()).unwrap(), &bob);

    let config = |verifier: StoreClientVerifier| {
        Arc::new(
            verifier
                .into_server_config(vec![pki.server.der.clone()], pki.server.key())
                .unwrap(),
        )
    };
    let every_system = config(StoreClientVerifier::for_registry(
        registry.clone(),
        provider(),
    ));
    let crm_only = config(
        StoreClientVerifier::for_registry(registry.clone(), provider())
            .only_systems([crm.name().clone()]),
    );
    for version in VERSIONS {
        let outcome = connect(
            &every_system,
            &client_config(&pki, version, Some((&alice, &alice))),
        );
        assert_eq!(outcome.client.as_deref(), Ok("hello\n"), "{outcome:?}");
        let peer = outcome
            .peer
            .expect("the server saw the client's certificate");
        assert_eq!(registry.identify_der(&peer).unwrap(), vec![crm.clone()]);

        let outcome = connect(
            &every_system,
            &client_config(&pki, version, Some((&bob, &bob))),
        );
        assert_eq!(
            registry.identify_der(&outcome.peer.unwrap()).unwrap(),
            vec![edge.clone()]
        );

        let outcome = connect(&crm_only, &client_config(&pki, version, Some((&bob, &bob))));
        assert_refused(&outcome, AlertDescription::CertificateUnknown);
        assert_eq!(
            verifier_refusal(&outcome).to_string(),
            format!(
                "client certificate {} is not trusted by any system this server accepts",
                bob.certificate().name()
            )
        );

        let outcome = connect(
            &every_system,
            &client_config(&pki, version, Some((&stranger, &stranger))),
        );
        assert_refused(&outcome, AlertDescription::CertificateUnknown);
    }
    // Deleting alice from crm shuts her out on the next handshake; trusting her in edge too
    // lets her in again, now identified as edge.
    registry
        .store(crm.name())
        .unwrap()
        .delete(&alice.certificate().name())
        .unwrap();
    let outcome = connect(
        &every_system,
        &client_config(&pki, &TLS13, Some((&alice, &alice))),
    );
    assert_refused(&outcome, AlertDescription::CertificateUnknown);
    import(&registry.store(edge.name()).unwrap(), &alice);
    let outcome = connect(
        &every_system,
        &client_config(&pki, &TLS13, Some((&alice, &alice))),
    );
    assert_eq!(
        registry.identify_der(&outcome.peer.unwrap()).unwrap(),
        vec![edge.clone()]
    );

    // Every accepted handshake was recorded as a use (without an address: rustls does not
    // give the verifier one); the refused stranger never was.
    let alice_name = alice.certificate().name();
    let used = registry
        .last_used(edge.name(), &alice_name)
        .unwrap()
        .unwrap();
    assert!(used.at >= now && used.peer.is_none(), "{used:?}");
    assert!(registry
        .last_used(edge.name(), &bob.certificate().name())
        .unwrap()
        .is_some());
    assert_eq!(
        registry
            .last_used(crm.name(), &stranger.certificate().name())
            .unwrap(),
        None
    );
    assert_eq!(registry.flush_usage().unwrap(), 2);
}

/// A certificate suspended (issue 23) in every accepted system that holds it is refused on
/// the next handshake with the alert `certificate_revoked` (the server's error is rustls'
/// `Revoked`), in TLS 1.2 and 1.3; while another accepted system still trusts it, the client
/// connects and is identified as that system; a resume lets it in again.
#[test]
fn a_suspended_client_is_refused_with_certificate_revoked() {
    use inbound_certs::{Registry, SystemName};
    let pki = server_pki();
    let now = OffsetDateTime::now_utc();
    let registry = Registry::in_memory();
    let name = |text: &str| -> SystemName { text.parse().unwrap() };
    let crm = registry
        .create_system(&name("crm"), SystemKind::Source, now)
        .unwrap();
    let edge = registry
        .create_system(&name("edge"), SystemKind::Proxy, now)
        .unwrap();
    let alice = valid_client("alice");
    let alice_name = alice.certificate().name();
    import(&registry.store(crm.name()).unwrap(), &alice);
    import(&registry.store(edge.name()).unwrap(), &alice);
    let config = |verifier: StoreClientVerifier| {
        Arc::new(
            verifier
                .into_server_config(vec![pki.server.der.clone()], pki.server.key())
                .unwrap(),
        )
    };
    let every_system = config(StoreClientVerifier::for_registry(
        registry.clone(),
        provider(),
    ));
    let crm_only = config(
        StoreClientVerifier::for_registry(registry.clone(), provider())
            .only_systems([crm.name().clone()]),
    );
    registry
        .store(crm.name())
        .unwrap()
        .suspend(&alice_name, "laptop stolen")
        .unwrap();
    for version in VERSIONS {
        let alice_config = client_config(&pki, version, Some((&alice, &alice)));
        // edge still trusts her.
        let outcome = connect(&every_system, &alice_config);
        assert_eq!(outcome.client.as_deref(), Ok("hello\n"), "{outcome:?}");
        assert_eq!(
            registry.identify_der(&outcome.peer.unwrap()).unwrap(),
            vec![edge.clone()]
        );
        // The only system this listener accepts suspended her.
        let outcome = connect(&crm_only, &alice_config);
        assert_refused(&outcome, AlertDescription::CertificateRevoked);
        assert_eq!(
            outcome.server,
            Err(rustls::Error::InvalidCertificate(CertificateError::Revoked))
        );
    }
    registry
        .store(edge.name())
        .unwrap()
        .suspend(&alice_name, "laptop stolen")
        .unwrap();
    for version in VERSIONS {
        let outcome = connect(
            &every_system,
            &client_config(&pki, version, Some((&alice, &alice))),
        );
        assert_refused(&outcome, AlertDescription::CertificateRevoked);
    }
    registry
        .store(crm.name())
        .unwrap()
        .resume(&alice_name)
        .unwrap();
    let outcome = connect(
        &every_system,
        &client_config(&pki, &TLS13, Some((&alice, &alice))),
    );
    assert_eq!(
        registry.identify_der(&outcome.peer.unwrap()).unwrap(),
        vec![crm.clone()]
    );
    let outcome = connect(
        &crm_only,
        &client_config(&pki, &TLS12, Some((&alice, &alice))),
    );
    assert_eq!(outcome.client.as_deref(), Ok("hello\n"), "{outcome:?}");
}

/// `VerifierError::Suspended` says which certificate and which systems, and reaches rustls as
/// `Revoked`.
#[test]
fn the_suspended_error_names_the_certificate_and_systems() {
    let alice = valid_client("alice").certificate().name();
    let error = VerifierError::Suspended {
        name: alice,
        systems: vec!["crm".parse().unwrap(), "edge".parse().unwrap()],
    };
    assert_eq!(
        error.to_string(),
        format!(
            "client certificate {alice} is suspended in every system that holds it (crm, edge)"
        )
    );
    assert_eq!(
        rustls::Error::from(error),
        rustls::Error::InvalidCertificate(CertificateError::Revoked)
    );
}

/// The key types a provider verifies, as the import policy learns them (issue 23): ring's
/// are the common ones (no P-521, no Ed448), and a policy made for it refuses a P-521 key
/// that another provider could verify.
#[test]
fn the_import_policy_learns_the_key_types_of_the_provider() {
    let ring = rustls::crypto::ring::default_provider();
    let keys = inbound_certs::summary::TlsKeyTypes::of_provider(&ring);
    assert_eq!(keys, inbound_certs::summary::TlsKeyTypes::common());
    let p521 = inbound_certs::decode(&std::fs::read("tests/data/ec_p521.pem").unwrap()).unwrap();
    assert!(!keys.accepts(&p521[0].summary().public_key));
    let policy = inbound_certs::ImportPolicy::new(time::macros::datetime!(2026-06-01 0:00 UTC))
        .tls_key_types(keys);
    assert!(matches!(
        policy.check(&p521[0]),
        Err(inbound_certs::store::ImportRefusal {
            reason: inbound_certs::store::RefusalReason::WeakKey(_),
            ..
        })
    ));
    // A provider without any ECDSA verification: P-256 is unusable too.
    let mut without_ecdsa = rustls::crypto::ring::default_provider();
    let all: Vec<_> = without_ecdsa
        .signature_verification_algorithms
        .all
        .iter()
        .copied()
        .filter(|algorithm| algorithm.public_key_alg_id() != rustls::pki_types::alg_id::ECDSA_P256)
        .collect();
    without_ecdsa.signature_verification_algorithms.all = Box::leak(all.into_boxed_slice());
    let keys = inbound_certs::summary::TlsKeyTypes::of_provider(&without_ecdsa);
    let p256 = inbound_certs::decode(&std::fs::read("tests/data/ec_p256.pem").unwrap()).unwrap();
    assert!(!keys.accepts(&p256[0].summary().public_key));
}

/// The use a verifier over a registry records is the one of the certificate whose handshake
/// signature it verified, whatever else this thread verified between the client's
/// certificate and its signature (the certificate accepted on the thread is reused only when
/// its DER is the presented one), and when rustls checks the signature on another thread.
/// The client's plaintext TLS 1.2 handshake messages are fed to the server one record each
/// (rustls sends a flight in one record); before each record, another verifier over the same
/// registry accepts a second certificate (alice) on this thread.
#[test]
fn the_recorded_use_is_the_presented_certificate_on_any_thread() {
    use inbound_certs::{Registry, SystemName};
    use rustls::server::danger::ClientCertVerifier;
    let pki = server_pki();
    let registry = Registry::in_memory();
    let crm: SystemName = "crm".parse().unwrap();
    registry
        .create_system(&crm, SystemKind::Source, OffsetDateTime::now_utc())
        .unwrap();
    let (alice, bob, carol) = (
        valid_client("alice"),
        valid_client("bob"),
        valid_client("carol"),
    );
    for identity in [&alice, &bob, &carol] {
        import(&registry.store(&crm).unwrap(), identity);
    }
    let server = Arc::new(
        StoreClientVerifier::for_registry(registry.clone(), provider())
            .into_server_config(vec![pki.server.der.clone()], pki.server.key())
            .unwrap(),
    );
    let other = StoreClientVerifier::for_registry(registry.clone(), provider());
    let now = rustls::pki_types::UnixTime::now();

    for (identity, on_another_thread) in [(&bob, false), (&carol, true)] {
        let mut client = ClientConnection::new(
            client_config(&pki, &TLS12, Some((identity, identity))),
            ServerName::try_from("localhost").unwrap(),
        )
        .unwrap();
        let mut server_side = ServerConnection::new(server.clone()).unwrap();
        let (mut records, mut encrypted) = (0, false);
        while client.is_handshaking() || server_side.is_handshaking() {
            let mut flight = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut flight).unwrap();
            }
            for record in reframed(&flight, &mut encrypted) {
                records += 1;
                other
                    .verify_client_cert(&alice.der, &[], now)
                    .expect("alice is trusted");
                server_side.read_tls(&mut record.as_slice()).unwrap();
                if on_another_thread {
                    server_side = thread::spawn(move || {
                        server_side.process_new_packets().unwrap();
                        server_side
                    })
                    .join()
                    .unwrap();
                } else {
                    server_side.process_new_packets().unwrap();
                }
            }
            let mut reply = Vec::new();
            while server_side.wants_write() {
                server_side.write_tls(&mut reply).unwrap();
            }
            if !reply.is_empty() {
                client.read_tls(&mut reply.as_slice()).unwrap();
                client.process_new_packets().unwrap();
            }
        }
        // ClientHello; Certificate, ClientKeyExchange, CertificateVerify; CCS; Finished.
        assert!(records >= 6, "{records} records: the flight was not split");
        let used = registry
            .last_used(&crm, &identity.certificate().name())
            .unwrap();
        assert!(
            used.is_some(),
            "{} was recorded",
            identity.certificate().name()
        );
    }
    // Each handshake recorded its own client: one that took the certificate last accepted on
    // the thread (alice) would have recorded her, and missed bob and carol.
    let alice_name = alice.certificate().name();
    assert_eq!(registry.last_used(&crm, &alice_name).unwrap(), None);
    assert_eq!(registry.flush_usage().unwrap(), 2);
}

/// The TLS records of `flight`, with every plaintext handshake record split into one record
/// per handshake message (a valid framing); records after the client's ChangeCipherSpec
/// (`encrypted`) are kept whole.
fn reframed(mut flight: &[u8], encrypted: &mut bool) -> Vec<Vec<u8>> {
    let mut records = Vec::new();
    while let [kind, major, minor, high, low, ..] = *flight {
        let (record, rest) = flight.split_at(5 + usize::from(u16::from_be_bytes([high, low])));
        flight = rest;
        if kind == 20 {
            *encrypted = true;
        }
        if kind != 22 || *encrypted {
            records.push(record.to_vec());
            continue;
        }
        let mut messages = &record[5..];
        while let [_, a, b, c, ..] = *messages {
            let length = 4 + (usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c));
            let (message, rest) = messages.split_at(length);
            messages = rest;
            let size = u16::try_from(message.len()).unwrap().to_be_bytes();
            let mut framed = vec![22, major, minor, size[0], size[1]];
            framed.extend_from_slice(message);
            records.push(framed);
        }
    }
    records
}
