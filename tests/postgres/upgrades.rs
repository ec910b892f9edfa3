//! Tables made by earlier versions are upgraded in place, keeping every row.

use std::collections::BTreeSet;
use std::time::Duration;

use inbound_certs::{
    backend::PostgresOptions, Certificate, CertificateName, CertificateStore, Registry, SystemKind,
};
use time::OffsetDateTime;

use crate::server::Server;
use crate::support::{
    certificates, connect, connect_registry, connect_with, fresh_schema, names, policy,
    system_name, within,
};

/// Tables as the version before write ids and summaries made them, with rows in them.
pub(crate) fn an_older_schema_is_upgraded(server: &Server) -> String {
    let schema = fresh_schema("upgrade");
    let pool = certificates(3);
    let mut sql = server.sql();
    sql.batch_execute(&format!(
        "CREATE SCHEMA \"{schema}\";
         CREATE TABLE \"{schema}\".client_certificates (
             fingerprint text PRIMARY KEY, der bytea NOT NULL,
             imported_at timestamptz NOT NULL DEFAULT now());
         CREATE TABLE \"{schema}\".revision (
             only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), value bigint NOT NULL);
         INSERT INTO \"{schema}\".revision (value) VALUES (2);
         CREATE TABLE \"{schema}\".changes (
             revision bigint PRIMARY KEY, fingerprint text NOT NULL, imported boolean NOT NULL);"
    ))
    .unwrap();
    for (revision, certificate) in (1i64..).zip(&pool[..2]) {
        let key = certificate.fingerprint().to_string();
        sql.execute(
            &format!(
                "INSERT INTO \"{schema}\".client_certificates (fingerprint, der) VALUES ($1, $2)"
            ),
            &[&key, &certificate.der()],
        )
        .unwrap();
        sql.execute(
            &format!("INSERT INTO \"{schema}\".changes VALUES ($1, $2, true)"),
            &[&revision, &key],
        )
        .unwrap();
    }
    let store = connect_with(
        server,
        PostgresOptions::default()
            .schema(&schema)
            .resync_interval(Duration::from_millis(300)),
    );
    assert_eq!(names(&store).len(), 2);
    let summary = sql
        .query_one(&format!("SELECT row_count FROM \"{schema}\".revision"), &[])
        .unwrap();
    assert_eq!(
        summary.get::<_, i64>(0),
        2,
        "the summary counts the rows there were"
    );
    store.import(&pool[2], &policy()).unwrap();
    store.delete(&pool[0].name()).unwrap();
    sql.execute(
        &format!("DELETE FROM \"{schema}\".client_certificates WHERE fingerprint = $1"),
        &[&pool[1].fingerprint().to_string()],
    )
    .unwrap();
    within(Duration::from_secs(10), "a delete by hand healed", || {
        names(&store) == BTreeSet::from([pool[2].name()])
    });
    "tables of the earlier version gain write ids and a summary of the rows they hold".to_string()
}

/// The tables of the version before registries, made with that version's SQL and holding
/// rows it wrote, are upgraded in place by the first registry that connects: no row is lost,
/// they are the registry's legacy certificates until adopted into a system, the summary is
/// recomputed, and a `PostgresStore` keeps working on them.
pub(crate) fn tables_of_the_version_before_registries_are_upgraded(server: &Server) -> String {
    let schema = fresh_schema("before_registries");
    let pool = certificates(4);
    let mut sql = server.sql();
    let old =
        include_str!("../data/postgres_before_registries.sql").replace("SCHEMA_NAME", &schema);
    sql.batch_execute(&old).unwrap();
    // Writes as that version made them: the row, its change, the revision.
    for (revision, certificate) in (1i64..).zip(&pool[..3]) {
        let key = certificate.fingerprint().to_string();
        let mut transaction = sql.transaction().unwrap();
        transaction
            .execute(
                &format!(
                    "INSERT INTO \"{schema}\".client_certificates (fingerprint, der) VALUES ($1, $2)"
                ),
                &[&key, &certificate.der()],
            )
            .unwrap();
        transaction
            .execute(
                &format!("INSERT INTO \"{schema}\".changes VALUES ($1, $2, true, 'old')"),
                &[&revision, &key],
            )
            .unwrap();
        transaction
            .execute(
                &format!("UPDATE \"{schema}\".revision SET value = $1"),
                &[&revision],
            )
            .unwrap();
        transaction.commit().unwrap();
    }
    let before: Vec<(String, Vec<u8>)> = sql
        .query(
            &format!("SELECT fingerprint, der FROM \"{schema}\".client_certificates ORDER BY 1"),
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(before.len(), 3);

    // Three replicas start at once: one upgrades, under the advisory lock; the others find
    // the tables upgraded.
    let options = PostgresOptions::default()
        .schema(&schema)
        .resync_interval(Duration::from_millis(300));
    let mut started: Vec<Registry> = std::thread::scope(|scope| {
        let connecting: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| Registry::connect(&server.url(), &options).unwrap()))
            .collect();
        connecting
            .into_iter()
            .map(|thread| thread.join().unwrap())
            .collect()
    });
    let registry = started.remove(0);
    for other in &started {
        assert_eq!(other.legacy_certificates().unwrap(), 3);
    }
    drop(started);
    let after: Vec<(String, String, Vec<u8>)> = sql
        .query(
            &format!(
                "SELECT system, fingerprint, der FROM \"{schema}\".client_certificates ORDER BY 2"
            ),
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    assert_eq!(
        after,
        before
            .iter()
            .map(|(key, der)| (String::new(), key.clone(), der.clone()))
            .collect::<Vec<_>>(),
        "every row kept, as a row of no system"
    );
    let key: Vec<String> = sql
        .query(
            "SELECT a.attname::text FROM pg_index i
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
             WHERE i.indrelid = $1::text::regclass AND i.indisprimary ORDER BY a.attname",
            &[&format!("\"{schema}\".client_certificates")],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(key, ["fingerprint", "system"]);
    // The summary covers the system now, and equals the registry's index (a change by hand
    // is healed by comparing them).
    let (rows, digest, recomputed): (i64, i64, i64) = {
        let row = sql
            .query_one(
                &format!(
                    "SELECT row_count, digest, (SELECT coalesce(bit_xor(('x' || left(encode(sha256(convert_to(system || '/' || fingerprint, 'UTF8') || der), 'hex'), 16))::bit(64)::bigint), 0) FROM \"{schema}\".client_certificates) FROM \"{schema}\".revision"
                ),
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    assert_eq!((rows, digest), (3, recomputed));
    assert_eq!(registry.legacy_certificates().unwrap(), 3);
    assert!(registry.systems().unwrap().systems.is_empty());

    // A `PostgresStore` on the upgraded tables works on the rows of no system.
    let store = connect(server, &schema);
    assert_eq!(names(&store).len(), 3);
    store.import(&pool[3], &policy()).unwrap();
    within(
        Duration::from_secs(10),
        "the registry sees the store's import",
        || registry.legacy_certificates().unwrap() == 4,
    );
    // Adopted into a system that already holds one of them: nothing duplicated or lost.
    let crm = system_name("crm");
    registry
        .create_system(&crm, SystemKind::Source, OffsetDateTime::now_utc())
        .unwrap();
    registry
        .store(&crm)
        .unwrap()
        .import(&pool[0], &policy())
        .unwrap();
    assert_eq!(
        registry
            .adopt_legacy_store(&crm, SystemKind::Source, OffsetDateTime::now_utc())
            .unwrap(),
        3
    );
    assert_eq!(registry.legacy_certificates().unwrap(), 0);
    let adopted: BTreeSet<CertificateName> = registry
        .store(&crm)
        .unwrap()
        .list()
        .unwrap()
        .certificates
        .iter()
        .map(Certificate::name)
        .collect();
    assert_eq!(adopted, pool.iter().map(Certificate::name).collect());
    for certificate in &pool {
        assert_eq!(
            registry.identify(&certificate.fingerprint()).unwrap(),
            vec![registry.system(&crm).unwrap()]
        );
    }
    within(
        Duration::from_secs(10),
        "the store sees the adoption",
        || names(&store).is_empty(),
    );
    // A second registry connecting finds the tables upgraded and changes nothing.
    let again = connect_registry(server, &schema);
    assert_eq!(
        again
            .store(&crm)
            .unwrap()
            .list()
            .unwrap()
            .certificates
            .len(),
        4
    );
    // A change by hand heals on the registry, so the summary matches its index.
    sql.execute(
        &format!("DELETE FROM \"{schema}\".client_certificates WHERE fingerprint = $1"),
        &[&pool[1].fingerprint().to_string()],
    )
    .unwrap();
    within(Duration::from_secs(10), "a delete by hand healed", || {
        registry
            .identify(&pool[1].fingerprint())
            .unwrap()
            .is_empty()
    });
    "3 rows of the earlier version kept as legacy rows, the key made (system, fingerprint), the summary recomputed; a PostgresStore keeps working; adopted into a system in one transaction".to_string()
}

/// A registry's tables as the version before suspensions (issue 23) left them: everything
/// but the `suspensions` table, with a system and its certificate. The first registry that
/// connects adds the table in place; nothing else changes, and suspend and resume work.
pub(crate) fn a_registry_without_suspensions_is_upgraded(server: &Server) -> String {
    let schema = fresh_schema("before_suspensions");
    let client = &certificates(1)[0];
    let crm = system_name("crm");
    {
        let registry = connect_registry(server, &schema);
        registry
            .create_system(&crm, SystemKind::Source, OffsetDateTime::now_utc())
            .unwrap();
        registry
            .store(&crm)
            .unwrap()
            .import(client, &policy())
            .unwrap();
    }
    let mut sql = server.sql();
    sql.batch_execute(&format!("DROP TABLE \"{schema}\".suspensions"))
        .unwrap();
    let tables = |sql: &mut postgres::Client| -> i64 {
        sql.query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'suspensions'",
            &[&schema],
        )
        .unwrap()
        .get(0)
    };
    assert_eq!(tables(&mut sql), 0);

    // Its clock below the microsecond: the suspension returned is the one kept.
    let registry = connect_registry(server, &schema)
        .with_clock(|| time::macros::datetime!(2026-06-01 12:00:00.123456789 UTC));
    assert_eq!(tables(&mut sql), 1);
    let store = registry.store(&crm).unwrap();
    assert_eq!(store.list().unwrap().certificates, vec![client.clone()]);
    assert!(store.suspensions().unwrap().is_empty());
    let system = registry.system(&crm).unwrap();
    assert_eq!(
        registry.identify(&client.fingerprint()).unwrap(),
        vec![system.clone()]
    );
    let suspension = store
        .suspend(&client.name(), "upgraded, then suspended")
        .unwrap();
    assert_eq!(
        suspension.since(),
        time::macros::datetime!(2026-06-01 12:00:00.123456 UTC)
    );
    assert_eq!(store.suspension(&client.name()).unwrap(), Some(suspension));
    assert!(registry.identify(&client.fingerprint()).unwrap().is_empty());
    // A replica started after the upgrade loads the suspension.
    let other = connect_registry(server, &schema);
    assert_eq!(
        other.suspended_in(&client.fingerprint()).unwrap(),
        vec![system.clone()]
    );
    store.resume(&client.name()).unwrap();
    assert_eq!(
        registry.identify(&client.fingerprint()).unwrap(),
        vec![system]
    );
    "a registry's tables without suspensions gain the table in place, keeping systems and certificates".to_string()
}
