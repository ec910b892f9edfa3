//! Last uses in PostgreSQL (issue 23): one upsert per flush, read back by another replica,
//! the newest of two replicas' uses wins, a table added in place to an existing database,
//! and rows made by hand reported as damaged without hiding the others; the time a flush of
//! 100,000 changed uses takes.

use std::time::Duration;

use inbound_certs::registry::LastUse;
use inbound_certs::{CertificateStore, SystemKind};
use time::OffsetDateTime;

use crate::server::Server;
use crate::support::{certificates, connect_registry, fresh_schema, policy, system_name};

/// Certificates made from fixtures by rewriting their serial numbers (the benches' helper).
#[path = "../../benches/support.rs"]
mod synthetic;

pub(crate) fn last_uses_are_flushed_in_one_statement_and_seen_by_other_replicas(
    server: &Server,
) -> String {
    let schema = fresh_schema("last_used");
    let (a, b) = (
        connect_registry(server, &schema),
        connect_registry(server, &schema),
    );
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let (crm, edge) = (system_name("crm"), system_name("edge"));
    a.create_system(&crm, SystemKind::Source, now).unwrap();
    a.create_system(&edge, SystemKind::Proxy, now).unwrap();
    let pool = certificates(3);
    for certificate in &pool {
        a.store(&crm)
            .unwrap()
            .import(certificate, &policy())
            .unwrap();
    }
    a.store(&edge).unwrap().import(&pool[0], &policy()).unwrap();
    let peer = Some("2001:db8::5".parse().unwrap());
    for certificate in &pool {
        a.record_use_at(&certificate.fingerprint(), peer, now);
    }
    // Three certificates in crm, one of them in edge too: four rows, one upsert.
    let mut sql = server.sql();
    assert_eq!(a.flush_usage().unwrap(), 4);
    let rows: i64 = sql
        .query_one(&format!("SELECT count(*) FROM \"{schema}\".last_used"), &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 4);
    let used = LastUse {
        at: now,
        peer,
        first: now,
    };
    for certificate in &pool {
        assert_eq!(b.last_used(&crm, &certificate.name()).unwrap(), Some(used));
    }
    assert_eq!(b.last_used(&edge, &pool[0].name()).unwrap(), Some(used));
    assert_eq!(b.last_used(&edge, &pool[1].name()).unwrap(), None);

    // Replica b's older use does not replace a's newer one; its newer one does.
    b.record_use_at(&pool[0].fingerprint(), None, now - Duration::from_secs(60));
    b.flush_usage().unwrap();
    let earlier = now - Duration::from_secs(60);
    assert_eq!(
        a.last_used(&crm, &pool[0].name()).unwrap(),
        Some(LastUse {
            first: earlier,
            ..used
        }),
        "the last use stays a's, the first use is b's earlier one"
    );
    let later = now + Duration::from_secs(60);
    b.record_use_at(&pool[1].fingerprint(), None, later);
    b.flush_usage().unwrap();
    drop(a);
    let reconnected = connect_registry(server, &schema);
    assert_eq!(
        reconnected.last_used(&crm, &pool[1].name()).unwrap(),
        Some(LastUse {
            at: later,
            peer: None,
            first: now,
        }),
        "b's newer use with a's first one"
    );

    // A row by hand that is not a use is reported; the others are still served.
    sql.execute(
        &format!("INSERT INTO \"{schema}\".last_used VALUES ('crm', 'not-a-fingerprint', now(), 'nowhere')"),
        &[],
    )
    .unwrap();
    let usage = reconnected.usage(&crm).unwrap();
    assert_eq!(usage.uses.len(), 3);
    assert_eq!(usage.damaged.len(), 1, "{:?}", usage.damaged);

    // A removed system's uses go with it.
    reconnected.remove_system(&edge, true).unwrap();
    let rows: i64 = sql
        .query_one(
            &format!("SELECT count(*) FROM \"{schema}\".last_used WHERE system = 'edge'"),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);

    // A database made before the table existed gets it in place when a replica connects.
    sql.batch_execute(&format!("DROP TABLE \"{schema}\".last_used"))
        .unwrap();
    let upgraded = connect_registry(server, &schema);
    upgraded.record_use_at(&pool[2].fingerprint(), None, now);
    assert_eq!(upgraded.flush_usage().unwrap(), 1);
    assert_eq!(
        upgraded.last_used(&crm, &pool[2].name()).unwrap(),
        Some(LastUse {
            at: now,
            peer: None,
            first: now,
        })
    );

    // A table written before first uses were kept gains the column in place; its rows'
    // first use is their last use until a newer flush keeps the earlier of the two.
    sql.batch_execute(&format!(
        "ALTER TABLE \"{schema}\".last_used DROP COLUMN first_at"
    ))
    .unwrap();
    let upgraded = connect_registry(server, &schema);
    let old = upgraded.last_used(&crm, &pool[2].name()).unwrap().unwrap();
    assert_eq!((old.at, old.first), (now, now));
    upgraded.record_use_at(&pool[2].fingerprint(), None, later);
    upgraded.flush_usage().unwrap();
    let kept = connect_registry(server, &schema)
        .last_used(&crm, &pool[2].name())
        .unwrap()
        .unwrap();
    assert_eq!((kept.at, kept.first), (later, now));
    "4 uses of 2 systems flushed in one upsert, read back by another replica".into()
}

/// How many changed last uses the timed flush writes.
const FLUSHED: usize = 100_000;

/// Issue 23, "Measure": a flush of 100,000 changed last uses (one system trusting 100,000
/// certificates) to PostgreSQL, timed (the server runs with `fsync=off`; no assertion on
/// the time), twice: into an empty table, then over the rows it wrote.
pub(crate) fn a_flush_of_100000_last_uses_is_timed(server: &Server) -> String {
    let schema = fresh_schema("last_used_100k");
    let registry = connect_registry(server, &schema);
    let crm = system_name("crm");
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    registry
        .create_system(&crm, SystemKind::Source, now)
        .unwrap();
    let mut pool = synthetic::synthetic("ec_p256.der", FLUSHED / 2, 0);
    pool.extend(synthetic::synthetic("ec_p384.der", FLUSHED / 2, 0));
    let store = registry.store(&crm).unwrap();
    let started = std::time::Instant::now();
    for bundle in pool.chunks(5_000) {
        store
            .import_all(bundle, &policy().allow_expired(true))
            .unwrap();
    }
    let imported = started.elapsed();
    let mut times = Vec::new();
    for second in [0, 1] {
        let at = now + Duration::from_secs(second);
        for certificate in &pool {
            registry.record_use_at(&certificate.fingerprint(), None, at);
        }
        let started = std::time::Instant::now();
        assert_eq!(registry.flush_usage().unwrap(), FLUSHED);
        times.push(started.elapsed());
    }
    let rows: i64 = server
        .sql()
        .query_one(&format!("SELECT count(*) FROM \"{schema}\".last_used"), &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, FLUSHED as i64);
    format!(
        "flush of {FLUSHED} last uses: {:?} into an empty table, {:?} over its rows \
         (import of the certificates: {imported:?})",
        times[0], times[1]
    )
}
