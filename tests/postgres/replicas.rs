//! Replicas on one database: what one writes, the others see (certificates, systems, a
//! verifier's trust), and writers at once lose no update.

use std::sync::Arc;
use std::time::{Duration, Instant};

use inbound_certs::{CertificateStore, StoreError, SystemKind};
use time::OffsetDateTime;

use crate::server::Server;
#[cfg(feature = "rustls")]
use crate::support::provider;
use crate::support::{
    certificates, connect, connect_registry, fresh_schema, names, policy, system_name, within,
};

pub(crate) fn a_change_on_one_replica_is_seen_by_the_other(server: &Server) -> String {
    let schema = fresh_schema("replicas");
    let (a, b) = (connect(server, &schema), connect(server, &schema));
    // Each delay runs from the start of the write on one replica until the other sees it.
    let mut delays = Vec::new();
    for certificate in certificates(20) {
        let name = certificate.name();
        let started = Instant::now();
        a.import(&certificate, &policy()).unwrap();
        // The replica that wrote reads its own write at once.
        assert!(a.get(&name).unwrap().is_some());
        within(Duration::from_secs(10), "import seen on b", || {
            b.get(&name).unwrap().is_some()
        });
        delays.push(started.elapsed());
        let started = Instant::now();
        b.delete(&name).unwrap();
        assert!(b.get(&name).unwrap().is_none());
        within(Duration::from_secs(10), "delete seen on a", || {
            a.get(&name).unwrap().is_none()
        });
        delays.push(started.elapsed());
    }
    delays.sort();
    format!(
        "{} changes seen by the other replica (from the start of the write): median {:?}, max {:?}",
        delays.len(),
        delays[delays.len() / 2],
        delays[delays.len() - 1]
    )
}

pub(crate) fn concurrent_writers_on_two_replicas_lose_no_update(server: &Server) -> String {
    let schema = fresh_schema("concurrent");
    let replicas = [
        Arc::new(connect(server, &schema)),
        Arc::new(connect(server, &schema)),
    ];
    let pool = certificates(24);
    let (shared, own) = pool.split_at(8);
    let started = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|thread| {
            let store = replicas[thread % 2].clone();
            let shared = shared.to_vec();
            let kept = own[thread * 4..thread * 4 + 2].to_vec();
            let churned = own[thread * 4 + 2..thread * 4 + 4].to_vec();
            std::thread::spawn(move || {
                for round in 0..20 {
                    store.import_all(&shared, &policy()).unwrap();
                    store.import(&kept[round % 2], &policy()).unwrap();
                    store.import_all(&churned, &policy()).unwrap();
                    for certificate in &churned {
                        store.delete(&certificate.name()).unwrap();
                    }
                    // Another replica may have deleted it already: that is "not found".
                    match store.delete(&shared[round % shared.len()].name()) {
                        Ok(()) | Err(StoreError::NotFound(_)) => {}
                        Err(error) => panic!("{error}"),
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let elapsed = started.elapsed();
    let truth = names(&connect(server, &schema));
    for certificate in own.chunks(4).flat_map(|chunk| &chunk[..2]) {
        assert!(
            truth.contains(&certificate.name()),
            "a kept import was lost"
        );
    }
    for certificate in own.chunks(4).flat_map(|chunk| &chunk[2..]) {
        assert!(!truth.contains(&certificate.name()), "a delete was lost");
    }
    for replica in &replicas {
        within(Duration::from_secs(10), "replicas converge", || {
            names(replica.as_ref()) == truth
        });
    }
    format!(
        "4 threads on 2 replicas x 20 rounds ({} writes) in {elapsed:?}; both replicas equal the database",
        4 * 20 * 5
    )
}

fn median_and_max(mut delays: Vec<Duration>) -> String {
    delays.sort();
    format!(
        "median {:?}, max {:?}",
        delays[delays.len() / 2],
        delays[delays.len() - 1]
    )
}

/// A system created on one replica, and a certificate imported into it, are seen by the
/// other's `systems()` and `identify`; a system removed on one disappears from the other's.
pub(crate) fn systems_on_one_replica_are_seen_by_the_other(server: &Server) -> String {
    let schema = fresh_schema("registry_replicas");
    let (a, b) = (
        connect_registry(server, &schema),
        connect_registry(server, &schema),
    );
    let pool = certificates(20);
    // Each delay runs from the start of the write on `a` until `b` sees it.
    let (mut created, mut imported, mut removed) = (Vec::new(), Vec::new(), Vec::new());
    for (i, certificate) in pool.iter().enumerate() {
        let name = system_name(&format!("system-{i}"));
        let kind = if i % 2 == 0 {
            SystemKind::Source
        } else {
            SystemKind::Proxy
        };
        let started = Instant::now();
        let system = a
            .create_system(&name, kind, OffsetDateTime::now_utc())
            .unwrap();
        // The replica that wrote reads its own write at once.
        assert_eq!(a.system(&name).unwrap(), system);
        within(Duration::from_secs(10), "system seen on b", || {
            b.systems().unwrap().systems.contains(&system)
        });
        created.push(started.elapsed());
        assert_eq!(b.system(&name).unwrap(), system);

        let fingerprint = certificate.fingerprint();
        let started = Instant::now();
        a.store(&name)
            .unwrap()
            .import(certificate, &policy())
            .unwrap();
        assert_eq!(a.identify(&fingerprint).unwrap(), vec![system.clone()]);
        within(Duration::from_secs(10), "import identified on b", || {
            b.identify(&fingerprint).unwrap() == vec![system.clone()]
        });
        imported.push(started.elapsed());
        assert!(b
            .store(&name)
            .unwrap()
            .get(&certificate.name())
            .unwrap()
            .is_some());
    }
    // The first certificate is also trusted by the second system; deleting it there is
    // seen too.
    let (first, second) = (system_name("system-0"), system_name("system-1"));
    let shared = pool[0].fingerprint();
    a.store(&second)
        .unwrap()
        .import(&pool[0], &policy())
        .unwrap();
    within(
        Duration::from_secs(10),
        "two systems identified on b",
        || b.identify(&shared).unwrap().len() == 2,
    );
    b.store(&second).unwrap().delete(&pool[0].name()).unwrap();
    within(Duration::from_secs(10), "a delete on b seen on a", || {
        a.identify(&shared).unwrap() == vec![a.system(&first).unwrap()]
    });
    for (i, certificate) in pool.iter().enumerate() {
        let name = system_name(&format!("system-{i}"));
        let fingerprint = certificate.fingerprint();
        let started = Instant::now();
        assert!(matches!(
            a.remove_system(&name, false),
            Err(StoreError::SystemNotEmpty {
                certificates: 1,
                ..
            })
        ));
        assert_eq!(a.remove_system(&name, true).unwrap(), 1);
        assert!(a.identify(&fingerprint).unwrap().is_empty());
        within(Duration::from_secs(10), "removal seen on b", || {
            b.identify(&fingerprint).unwrap().is_empty()
        });
        removed.push(started.elapsed());
        assert!(matches!(
            b.system(&name),
            Err(StoreError::SystemNotFound(_))
        ));
    }
    assert!(b.systems().unwrap().systems.is_empty());
    let mut changes = created.clone();
    changes.extend(&imported);
    let report = format!(
        "{} changes (a system created, a certificate imported into it) seen by the other replica's systems() and identify, from the start of the write: {}; creations {}, imports {}; {} removals of a system seen by the other's identify: {}",
        changes.len(),
        median_and_max(changes),
        median_and_max(created),
        median_and_max(imported),
        removed.len(),
        median_and_max(removed),
    );
    println!("{report}");
    report
}

/// A rustls verifier over a registry on PostgreSQL trusts what one of its systems trusts, from
/// memory, and follows another replica's changes.
pub(crate) fn a_verifier_over_a_postgres_registry_follows_other_replicas(
    server: &Server,
) -> String {
    #[cfg(feature = "rustls")]
    {
        use inbound_certs::StoreClientVerifier;
        use rustls::pki_types::{CertificateDer, UnixTime};
        use rustls::server::danger::ClientCertVerifier;

        let schema = fresh_schema("registry_verifier");
        let (a, b) = (
            connect_registry(server, &schema),
            connect_registry(server, &schema),
        );
        let crm = system_name("crm");
        let edge = system_name("edge");
        b.create_system(&crm, SystemKind::Source, OffsetDateTime::now_utc())
            .unwrap();
        b.create_system(&edge, SystemKind::Proxy, OffsetDateTime::now_utc())
            .unwrap();
        let client = &certificates(1)[0];
        let der = CertificateDer::from(client.der().to_vec());
        let every_system = StoreClientVerifier::for_registry(a.clone(), provider());
        let edge_only =
            StoreClientVerifier::for_registry(a.clone(), provider()).only_systems([edge.clone()]);
        let accepted = |verifier: &StoreClientVerifier| {
            verifier
                .verify_client_cert(&der, &[], UnixTime::now())
                .is_ok()
        };
        assert!(!accepted(&every_system));
        b.store(&crm).unwrap().import(client, &policy()).unwrap();
        within(Duration::from_secs(10), "a trusts b's import", || {
            accepted(&every_system)
        });
        assert!(!accepted(&edge_only));
        b.remove_system(&crm, true).unwrap();
        within(
            Duration::from_secs(10),
            "a forgets the removed system",
            || !accepted(&every_system),
        );
        "a client trusted by a system created on another replica is accepted, and refused once the system is removed there".to_string()
    }
    #[cfg(not(feature = "rustls"))]
    {
        let _ = server;
        "skipped: needs the feature rustls".to_string()
    }
}

/// A monitor on one replica follows the changes made on another (issue 23): an import on
/// the other replica is reported `Expiring` within seconds, although the periodic check is an
/// hour away. The monitor's clock is fixed ten days before the certificate's end.
pub(crate) fn a_monitor_follows_changes_made_on_another_replica(server: &Server) -> String {
    let schema = fresh_schema("monitor_follows");
    let (a, b) = (
        connect_registry(server, &schema),
        connect_registry(server, &schema),
    );
    let crm = system_name("crm");
    b.create_system(&crm, SystemKind::Source, OffsetDateTime::now_utc())
        .unwrap();
    within(Duration::from_secs(10), "system seen on a", || {
        a.store(&crm).is_ok()
    });
    let certificate = certificates(1).remove(0);
    let at = certificate.summary().validity.not_after - time::Duration::days(10);
    let (sender, receiver) = std::sync::mpsc::channel();
    let _monitor = inbound_certs::Monitor::new(
        a,
        inbound_certs::monitor::MonitorOptions::new()
            .interval(Duration::from_secs(60 * 60))
            .follow_changes(Some(Duration::from_millis(50))),
    )
    .spawn(
        move || at,
        move |event| {
            let _ =
                sender.send(event.map(|event| event.certificate().map(|event| event.certificate)));
        },
    );
    let started = Instant::now();
    b.store(&crm)
        .unwrap()
        .import(&certificate, &inbound_certs::ImportPolicy::new(at))
        .unwrap();
    let reported = receiver
        .recv_timeout(Duration::from_secs(20))
        .expect("the monitor reports the other replica's import")
        .unwrap()
        .unwrap();
    assert_eq!(reported, certificate.name());
    format!(
        "an import on another replica reported by the monitor after {:?}",
        started.elapsed()
    )
}

/// A suspension made on one replica (issue 23) reaches the other's index through the
/// listener: its `identify` leaves the system out, its verifier refuses the client with
/// `Revoked` (alert `certificate_revoked`), its store shows the suspension; a resume there is
/// seen back on the first, and a delete of a suspended certificate clears it everywhere.
pub(crate) fn a_suspension_on_one_replica_is_seen_by_the_other(server: &Server) -> String {
    let schema = fresh_schema("registry_suspend");
    let (a, b) = (
        connect_registry(server, &schema),
        connect_registry(server, &schema).acting_as("bob"),
    );
    let crm = system_name("crm");
    let system = a
        .create_system(&crm, SystemKind::Source, OffsetDateTime::now_utc())
        .unwrap();
    let client = &certificates(1)[0];
    let fingerprint = client.fingerprint();
    a.store(&crm).unwrap().import(client, &policy()).unwrap();
    within(Duration::from_secs(10), "b trusts a's import", || {
        b.identify(&fingerprint).unwrap() == vec![system.clone()]
    });

    let started = Instant::now();
    a.acting_as("alice")
        .store(&crm)
        .unwrap()
        .suspend(&client.name(), "key on a lost laptop")
        .unwrap();
    assert!(a.identify(&fingerprint).unwrap().is_empty());
    within(Duration::from_secs(10), "b sees the suspension", || {
        b.identify(&fingerprint).unwrap().is_empty()
    });
    let seen = started.elapsed();
    assert_eq!(b.suspended_in(&fingerprint).unwrap(), vec![system.clone()]);
    let suspension = b
        .store(&crm)
        .unwrap()
        .suspension(&client.name())
        .unwrap()
        .unwrap();
    assert_eq!(
        (suspension.reason(), suspension.by()),
        ("key on a lost laptop", "alice")
    );
    #[cfg(feature = "rustls")]
    {
        use inbound_certs::StoreClientVerifier;
        use rustls::pki_types::{CertificateDer, UnixTime};
        use rustls::server::danger::ClientCertVerifier;
        let der = CertificateDer::from(client.der().to_vec());
        let verifier = StoreClientVerifier::for_registry(b.clone(), provider());
        let error = verifier
            .verify_client_cert(&der, &[], UnixTime::now())
            .unwrap_err();
        assert_eq!(
            error,
            rustls::Error::InvalidCertificate(rustls::CertificateError::Revoked)
        );
    }

    b.store(&crm).unwrap().resume(&client.name()).unwrap();
    within(Duration::from_secs(10), "a sees the resume", || {
        a.identify(&fingerprint).unwrap() == vec![system.clone()]
    });
    assert!(a
        .store(&crm)
        .unwrap()
        .suspension(&client.name())
        .unwrap()
        .is_none());

    a.store(&crm)
        .unwrap()
        .suspend(&client.name(), "retired")
        .unwrap();
    within(
        Duration::from_secs(10),
        "b sees the second suspension",
        || b.identify(&fingerprint).unwrap().is_empty(),
    );
    b.store(&crm).unwrap().delete(&client.name()).unwrap();
    a.store(&crm).unwrap().import(client, &policy()).unwrap();
    within(Duration::from_secs(10), "b trusts it again", || {
        b.identify(&fingerprint).unwrap() == vec![system.clone()]
    });
    assert!(b.suspended_in(&fingerprint).unwrap().is_empty());
    let actions: Vec<&str> = a
        .history(&inbound_certs::audit::HistoryQuery::new().system(crm.clone()))
        .unwrap()
        .records
        .iter()
        .map(|record| record.action.as_str())
        .collect();
    assert_eq!(
        actions,
        vec![
            "import",
            "delete",
            "suspend",
            "resume",
            "suspend",
            "import",
            "create_system"
        ]
    );
    format!("a suspension on one replica seen by the other's identify in {seen:?}; resume and delete followed")
}
