//! Changes that come with no notification (rows written by hand) heal with the periodic
//! resync, and a resync of an unchanged store costs little.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use inbound_certs::{
    backend::{PostgresOptions, PostgresStore},
    CertificateStore, Registry, StoreError, SystemKind,
};
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair};
use time::OffsetDateTime;

use crate::proxy::Proxy;
use crate::server::Server;
use crate::support::{
    certificates, connect, connect_with, fresh_schema, names, policy, system_name, within,
};

pub(crate) fn a_missed_notification_heals_with_the_periodic_resync(server: &Server) -> String {
    let schema = fresh_schema("resync");
    let a = connect(server, &schema);
    let b = connect_with(
        server,
        PostgresOptions::default()
            .schema(&schema)
            .resync_interval(Duration::from_secs(1)),
    );
    // Once b has seen a notified change, its listener is past its first load.
    let [notified, certificate] = &certificates(2)[..] else {
        unreachable!()
    };
    a.import(notified, &policy()).unwrap();
    within(Duration::from_secs(10), "notified import seen by b", || {
        b.get(&notified.name()).unwrap().is_some()
    });
    // Another writer that sends no notification: only the resync can find its row.
    let mut sql = server.sql();
    sql.execute(
        &format!("INSERT INTO \"{schema}\".client_certificates (fingerprint, der) VALUES ($1, $2)"),
        &[&certificate.fingerprint().to_string(), &certificate.der()],
    )
    .unwrap();
    let delay = within(Duration::from_secs(10), "row seen by resync", || {
        b.get(&certificate.name()).unwrap().is_some()
    });
    // `a` resyncs only every 60 s and got no notification: it has not seen it.
    assert!(a.get(&certificate.name()).unwrap().is_none());
    format!("a row written without notification seen after {delay:?} (resync every 1 s)")
}

pub(crate) fn any_change_without_notification_heals(server: &Server) -> String {
    let schema = fresh_schema("heal");
    let a = connect(server, &schema);
    let b = connect_with(
        server,
        PostgresOptions::default()
            .schema(&schema)
            .resync_interval(Duration::from_millis(300)),
    );
    let pool = certificates(4);
    a.import_all(&pool, &policy()).unwrap();
    within(Duration::from_secs(10), "b sees the imports", || {
        names(&b).len() == 4
    });
    let mut sql = server.sql();
    let table = format!("\"{schema}\".client_certificates");
    // A delete by hand.
    sql.execute(
        &format!("DELETE FROM {table} WHERE fingerprint = $1"),
        &[&pool[0].fingerprint().to_string()],
    )
    .unwrap();
    within(Duration::from_secs(10), "the delete healed", || {
        b.get(&pool[0].name()).unwrap().is_none()
    });
    // A row's DER replaced in place: same key, count unchanged.
    sql.execute(
        &format!("UPDATE {table} SET der = $2 WHERE fingerprint = $1"),
        &[&pool[1].fingerprint().to_string(), &pool[2].der()],
    )
    .unwrap();
    within(
        Duration::from_secs(10),
        "the replaced DER is reported",
        || matches!(b.get(&pool[1].name()), Err(StoreError::Damaged(_))),
    );
    // Everything truncated.
    sql.batch_execute(&format!("TRUNCATE {table}")).unwrap();
    within(Duration::from_secs(10), "the truncate healed", || {
        let listing = b.list().unwrap();
        listing.certificates.is_empty() && listing.damaged.is_empty()
    });
    // `a` resyncs every 60 s and was told nothing.
    assert_eq!(names(&a).len(), 4);
    // A new replica sees what the table holds, and finds the triggers in place (it does not
    // make them again).
    let triggers = |sql: &mut postgres::Client| -> Vec<u32> {
        sql.query(
            "SELECT oid FROM pg_trigger WHERE tgrelid = $1::text::regclass ORDER BY oid",
            &[&table],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
    };
    let installed = triggers(&mut sql);
    assert_eq!(installed.len(), 4);
    assert!(names(&connect(server, &schema)).is_empty());
    assert_eq!(triggers(&mut sql), installed);
    a.import(&pool[3], &policy()).unwrap();
    within(Duration::from_secs(10), "b sees a later import", || {
        names(&b).len() == 1
    });
    "a delete, a DER replaced in place and a truncate, all without notification, healed".to_string()
}

/// Rows written by hand into a registry's tables, without notification: healed by the
/// periodic check, and a row that is not what it claims (or belongs to no registered system)
/// is reported, never hiding the others.
pub(crate) fn registry_rows_by_hand_are_healed_and_reported(server: &Server) -> String {
    let schema = fresh_schema("registry_by_hand");
    let registry = Registry::connect(
        &server.url(),
        &PostgresOptions::default()
            .schema(&schema)
            .resync_interval(Duration::from_millis(300)),
    )
    .unwrap();
    let crm = system_name("crm");
    let system = registry
        .create_system(&crm, SystemKind::Source, OffsetDateTime::now_utc())
        .unwrap();
    let pool = certificates(4);
    registry
        .store(&crm)
        .unwrap()
        .import(&pool[0], &policy())
        .unwrap();
    let mut sql = server.sql();
    let insert = format!(
        "INSERT INTO \"{schema}\".client_certificates (system, fingerprint, der) VALUES ($1, $2, $3)"
    );
    // A healthy row, a row whose DER is another certificate's, a row of no registered system.
    sql.execute(
        &insert,
        &[&"crm", &pool[1].fingerprint().to_string(), &pool[1].der()],
    )
    .unwrap();
    let wrong_key = pool[2].fingerprint().to_string();
    sql.execute(&insert, &[&"crm", &wrong_key, &pool[0].der()])
        .unwrap();
    sql.execute(
        &insert,
        &[&"ghost", &pool[3].fingerprint().to_string(), &pool[3].der()],
    )
    .unwrap();
    // A system made by hand, and a row of the systems table that is not a system name.
    sql.batch_execute(&format!(
        "INSERT INTO \"{schema}\".systems (name, kind, created) VALUES ('edge', 'proxy', now()), ('Not A Name', 'source', now())"
    ))
    .unwrap();
    within(
        Duration::from_secs(10),
        "the healthy row identified",
        || registry.identify(&pool[1].fingerprint()).unwrap() == vec![system.clone()],
    );
    within(Duration::from_secs(10), "the system made by hand", || {
        registry.system(&system_name("edge")).is_ok()
    });
    let listing = registry.store(&crm).unwrap().list().unwrap();
    assert_eq!(listing.certificates.len(), 2);
    assert_eq!(listing.damaged.len(), 1, "{:?}", listing.damaged);
    assert_eq!(
        listing.damaged[0].location,
        PathBuf::from(format!("{schema}.client_certificates/crm/{wrong_key}"))
    );
    assert!(registry
        .identify(&pool[2].fingerprint())
        .unwrap()
        .is_empty());
    // Rows of a system that is not registered trust nothing.
    assert!(registry
        .identify(&pool[3].fingerprint())
        .unwrap()
        .is_empty());
    let systems = registry.systems().unwrap();
    assert_eq!(
        systems
            .systems
            .iter()
            .map(|system| system.name().as_str())
            .collect::<Vec<_>>(),
        ["crm", "edge"]
    );
    let locations: Vec<String> = systems
        .damaged
        .iter()
        .map(|damaged| damaged.location.display().to_string())
        .collect();
    assert_eq!(
        locations,
        [
            format!("{schema}.client_certificates/ghost"),
            format!("{schema}.systems/Not A Name"),
        ]
    );
    assert_eq!(
        systems.damaged[0].to_string(),
        format!("{schema}.client_certificates/ghost: cannot be read: 1 row(s) of a system that is not registered (create the system to see them, or delete them)")
    );
    // The damaged row counts: the system is not removed unless asked.
    assert!(matches!(
        registry.remove_system(&crm, false),
        Err(StoreError::SystemNotEmpty {
            certificates: 3,
            ..
        })
    ));
    assert_eq!(registry.remove_system(&crm, true).unwrap(), 3);
    assert!(registry
        .identify(&pool[0].fingerprint())
        .unwrap()
        .is_empty());
    "a healthy row, a damaged row and a system written by hand healed; rows of no registered system and a bad system row reported".to_string()
}

/// Fills `schema` (created by connecting once) with `count` certificates, made in the server
/// from one template by writing a counter into its 8-byte serial number (the store does not
/// check signatures, so each is a distinct, valid certificate to it).
fn fill(server: &Server, schema: &str, count: i64) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "bulk test client");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]));
    let template = params.self_signed(&key).unwrap().der().to_vec();
    let serial = [2u8, 8, 1, 0, 0, 0, 0, 0, 0, 0];
    let at = template
        .windows(serial.len())
        .position(|window| window == serial)
        .unwrap() as i32
        + 3;
    drop(connect(server, schema));
    server
        .sql()
        .execute(
            &format!(
                "INSERT INTO \"{schema}\".client_certificates (fingerprint, der)
                 SELECT encode(sha256(der), 'hex'), der FROM (
                     SELECT overlay($1::bytea PLACING int8send(72057594037927936 + n) FROM $2 FOR 8) AS der
                     FROM generate_series(1, $3::bigint) AS n) AS made"
            ),
            &[&template, &at, &count],
        )
        .unwrap();
}

/// CPU time (nanoseconds) of the threads of this process named `name` (as the kernel keeps
/// it: 15 bytes), from `/proc/self/task/*/schedstat`.
fn threads_cpu(name: &str) -> u64 {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| {
            let path = task.ok()?.path();
            let comm = std::fs::read_to_string(path.join("comm")).ok()?;
            if comm.trim_end() != &name[..name.len().min(15)] {
                return None;
            }
            std::fs::read_to_string(path.join("schedstat"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// CPU time (nanoseconds) of the server processes serving connections named `application`.
fn backends_cpu(server: &Server, application: &str) -> u64 {
    let pids: Vec<i32> = server
        .sql()
        .query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
            &[&application],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok())
        .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// A periodic resync of an unchanged store of 100,000 certificates (`INBOUND_CERTS_PG_ROWS`
/// to change the number), measured through the proxy: bytes the server sent, CPU of the
/// store's listener thread and of the server. Prints the numbers; asserts only on bytes.
pub(crate) fn an_unchanged_store_resyncs_cheaply(server: &Server) -> String {
    let rows: i64 = std::env::var("INBOUND_CERTS_PG_ROWS")
        .map(|rows| rows.parse().unwrap())
        .unwrap_or(100_000);
    let schema = fresh_schema("resync_measure");
    fill(server, &schema, rows);
    let table_bytes: i64 = server
        .sql()
        .query_one(
            &format!(
                "SELECT sum(octet_length(der) + octet_length(fingerprint))::bigint FROM \"{schema}\".client_certificates"
            ),
            &[],
        )
        .unwrap()
        .get(0);
    let proxy = Proxy::start(server);
    let application = "resync_measure";
    let interval = Duration::from_secs(1);
    let loading = Instant::now();
    let store = PostgresStore::connect_with(
        &format!("{} application_name={application}", proxy.url()),
        SystemKind::Source,
        &PostgresOptions::default()
            .schema(&schema)
            .resync_interval(interval),
    )
    .unwrap();
    let loaded = loading.elapsed();
    assert_eq!(names(&store).len() as i64, rows);
    let snapshots = || proxy.state.snapshots.load(Ordering::Relaxed);
    // The store's own load and the listener's first one.
    within(
        Duration::from_secs(600),
        "the listener's first load",
        || snapshots() >= 2,
    );
    let measure = || {
        (
            snapshots(),
            proxy.state.to_clients.load(Ordering::Relaxed),
            threads_cpu("inbound-certs-postgres"),
            backends_cpu(server, application),
            Instant::now(),
        )
    };
    // From the start of one periodic resync to the start of the one three later.
    let first = snapshots();
    within(Duration::from_secs(600), "a periodic resync", || {
        snapshots() > first
    });
    let before = measure();
    let resyncs = 3;
    within(Duration::from_secs(600), "three more resyncs", || {
        snapshots() >= before.0 + resyncs
    });
    let after = measure();
    let count = (after.0 - before.0) as f64;
    let bytes = (after.1 - before.1) as f64 / count;
    let client_cpu = Duration::from_nanos(((after.2 - before.2) as f64 / count) as u64);
    let server_cpu = Duration::from_nanos(((after.3 - before.3) as f64 / count) as u64);
    let period = (after.4 - before.4).div_f64(count);
    // One row written by hand, without a notification: what healing it costs.
    let extra = &certificates(1)[0];
    let healing = measure();
    server
        .sql()
        .execute(
            &format!(
                "INSERT INTO \"{schema}\".client_certificates (fingerprint, der) VALUES ($1, $2)"
            ),
            &[&extra.fingerprint().to_string(), &extra.der()],
        )
        .unwrap();
    let healed_after = within(Duration::from_secs(600), "the row is healed", || {
        store.get(&extra.name()).unwrap().is_some()
    });
    let healed = measure();
    let report = format!(
        "{rows} rows ({table_bytes} bytes of fingerprints and DER), loaded in {loaded:?}; per unchanged resync: {bytes:.0} bytes from the server, listener CPU {client_cpu:?}, server CPU {server_cpu:?}, period {period:?} (interval {interval:?}); one row added without notification healed after {healed_after:?} with {} bytes from the server, listener CPU {:?}, server CPU {:?}",
        healed.1 - healing.1,
        Duration::from_nanos(healed.2 - healing.2),
        Duration::from_nanos(healed.3 - healing.3),
    );
    println!("{report}");
    assert!(
        bytes < 10_000.0,
        "an unchanged resync fetched {bytes} bytes: {report}"
    );
    // After changes through the store's own writes and another replica's, and a damaged row,
    // the index's summary still equals the table's: the checks stay cheap.
    let other = connect(server, &schema);
    let fresh = certificates(3);
    other.import_all(&fresh, &policy()).unwrap();
    store.delete(&fresh[0].name()).unwrap();
    store.import(&certificates(1)[0], &policy()).unwrap();
    server
        .sql()
        .execute(
            &format!("UPDATE \"{schema}\".client_certificates SET der = $2 WHERE fingerprint = $1"),
            &[&fresh[1].fingerprint().to_string(), &b"damaged".to_vec()],
        )
        .unwrap();
    within(Duration::from_secs(600), "the damaged row is seen", || {
        store.list().unwrap().damaged.len() == 1
    });
    let first = snapshots();
    within(Duration::from_secs(600), "a periodic resync", || {
        snapshots() > first
    });
    let before = measure();
    within(Duration::from_secs(600), "three more resyncs", || {
        snapshots() >= before.0 + resyncs
    });
    let after = measure();
    let bytes = (after.1 - before.1) as f64 / (after.0 - before.0) as f64;
    assert!(
        bytes < 10_000.0,
        "after changes, an unchanged resync fetched {bytes} bytes"
    );
    report
}
