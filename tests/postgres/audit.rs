//! A registry's audit trail in the database: written in the change's transaction, read back by
//! other connections, nothing recorded of a refused change, every record of writers at once.

use std::time::Instant;

use inbound_certs::{
    audit::{AuditAction, AuditOutcome, HistoryQuery},
    conformance, CertificateName, CertificateStore, StoreError, SystemKind,
};
use time::OffsetDateTime;

use crate::server::Server;
use crate::support::{certificates, connect_registry, fresh_schema, policy, system_name};

/// The audit trail's scenario of every backend (`conformance::registry_audit`) on PostgreSQL;
/// the records are rows of the `audit` table, read again by a later connection (a restarted
/// process); a row that is not a record is reported, never hidden.
pub(crate) fn a_postgres_registry_keeps_its_audit_trail_in_the_database(server: &Server) -> String {
    let schema = fresh_schema("audit");
    conformance::registry_audit(connect_registry(server, &schema));
    let again = connect_registry(server, &schema);
    // The scenario's 9 records, then 3 of a chain's import into another system.
    let history = again.history(&HistoryQuery::new()).unwrap();
    assert_eq!(history.records.len(), 12);
    assert!(history.damaged.is_empty(), "{:?}", history.damaged);
    assert_eq!(history.records[0].outcome, AuditOutcome::Skipped);
    assert_eq!(history.records[2].action, AuditAction::CreateSystem);
    assert_eq!(history.records[3].action, AuditAction::RemoveSystem);
    assert_eq!(history.records[5].action, AuditAction::Purge);
    assert_eq!(history.records[11].action, AuditAction::CreateSystem);
    assert_eq!(history.records[11].time, conformance::NOW);
    let mut sql = server.sql();
    let row = sql
        .query_one(
            &format!(
                "SELECT count(*), min(\"time\") = timestamptz '2026-06-01 00:00:00+00',
                     count(*) FILTER (WHERE action = 'purge')
                 FROM \"{schema}\".audit"
            ),
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 12);
    assert!(row.get::<_, bool>(1));
    assert_eq!(row.get::<_, i64>(2), 1);
    sql.batch_execute(&format!(
        "INSERT INTO \"{schema}\".audit (\"time\", actor, action, outcome)
         VALUES (now(), 'by hand', 'rename', 'added')"
    ))
    .unwrap();
    let history = again.history(&HistoryQuery::new()).unwrap();
    assert_eq!(history.records.len(), 12);
    assert_eq!(
        history.damaged,
        vec![format!("{schema}.audit/13: not a complete record")]
    );
    "12 records written in their changes' transactions, read back by another connection; a hand-made row reported".to_string()
}

/// A bundle the database refuses (a trigger, at its third certificate) rolls back with its
/// records: the trail has no import of it. A delete that finds nothing leaves none either.
/// Imported whole later, each certificate has its record, and removing the system with them
/// says how many went.
pub(crate) fn a_change_refused_inside_the_database_leaves_no_record(server: &Server) -> String {
    let schema = fresh_schema("audit_refused");
    let registry = connect_registry(server, &schema).acting_as("alice");
    let crm = system_name("crm");
    registry
        .create_system(&crm, SystemKind::Source, OffsetDateTime::now_utc())
        .unwrap();
    let bundle = certificates(3);
    let mut sql = server.sql();
    sql.batch_execute(&format!(
        "CREATE FUNCTION \"{schema}\".refuse() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'refused by test trigger'; END $$;
         CREATE TRIGGER refuse BEFORE INSERT ON \"{schema}\".client_certificates
         FOR EACH ROW WHEN (NEW.fingerprint = '{}') EXECUTE FUNCTION \"{schema}\".refuse();",
        bundle[2].fingerprint()
    ))
    .unwrap();
    let store = registry.store(&crm).unwrap();
    let error = store.import_all(&bundle, &policy()).unwrap_err();
    assert!(matches!(error, StoreError::Database { .. }), "{error:?}");
    assert!(matches!(
        store.delete(&bundle[0].name()),
        Err(StoreError::NotFound(_))
    ));
    let history = registry.history(&HistoryQuery::new()).unwrap();
    let actions: Vec<AuditAction> = history.records.iter().map(|r| r.action).collect();
    assert_eq!(actions, vec![AuditAction::CreateSystem]);
    let rows: i64 = sql
        .query_one(&format!("SELECT count(*) FROM \"{schema}\".audit"), &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 1, "no record of the refused bundle");

    sql.batch_execute(&format!(
        "DROP TRIGGER refuse ON \"{schema}\".client_certificates"
    ))
    .unwrap();
    store.import_all(&bundle, &policy()).unwrap();
    registry.remove_system(&crm, true).unwrap();
    let history = registry
        .history(&HistoryQuery::new().system(crm.clone()))
        .unwrap();
    let trail: Vec<(AuditAction, AuditOutcome, Option<CertificateName>)> = history
        .records
        .iter()
        .map(|record| (record.action, record.outcome, record.certificate))
        .collect();
    assert_eq!(
        trail,
        vec![
            (AuditAction::RemoveSystem, AuditOutcome::Removed, None),
            (
                AuditAction::Import,
                AuditOutcome::Added,
                Some(bundle[2].name())
            ),
            (
                AuditAction::Import,
                AuditOutcome::Added,
                Some(bundle[1].name())
            ),
            (
                AuditAction::Import,
                AuditOutcome::Added,
                Some(bundle[0].name())
            ),
            (AuditAction::CreateSystem, AuditOutcome::Created, None),
        ]
    );
    assert_eq!(history.records[0].detail, "with 3 certificate(s)");
    assert!(history.records.iter().all(|record| record.actor == "alice"));
    "a bundle refused by a trigger and a delete of nothing left no record; the bundle imported later left one per certificate".to_string()
}

/// Four writers on two replicas (as two processes would be) make 200 changes at once: each
/// replica's `history` has every record, whole, and each writer's in the order it made them.
pub(crate) fn audit_records_of_concurrent_replicas_are_all_there(server: &Server) -> String {
    let schema = fresh_schema("audit_concurrent");
    let (a, b) = (
        connect_registry(server, &schema),
        connect_registry(server, &schema),
    );
    let started = Instant::now();
    std::thread::scope(|scope| {
        for (index, registry) in [&a, &b, &a, &b].into_iter().enumerate() {
            scope.spawn(move || {
                let registry = registry.acting_as(format!("writer-{index}"));
                for round in 0..25 {
                    let system = system_name(&format!("w{index}-{round}"));
                    registry
                        .create_system(&system, SystemKind::Target, OffsetDateTime::now_utc())
                        .unwrap();
                    registry.remove_system(&system, false).unwrap();
                }
            });
        }
    });
    let elapsed = started.elapsed();
    for replica in [&a, &b] {
        let history = replica.history(&HistoryQuery::new()).unwrap();
        assert!(history.damaged.is_empty(), "{:?}", history.damaged);
        assert_eq!(history.records.len(), 200);
        for index in 0..4 {
            let actor = format!("writer-{index}");
            let own: Vec<(AuditAction, String)> = history
                .records
                .iter()
                .filter(|record| record.actor == actor)
                .map(|record| (record.action, record.system.as_ref().unwrap().to_string()))
                .collect();
            let expected: Vec<(AuditAction, String)> = (0..25)
                .rev()
                .flat_map(|round| {
                    let system = format!("w{index}-{round}");
                    [
                        (AuditAction::RemoveSystem, system.clone()),
                        (AuditAction::CreateSystem, system),
                    ]
                })
                .collect();
            assert_eq!(own, expected);
        }
        // Newest first is the order the changes were made in.
        let times: Vec<OffsetDateTime> = history.records.iter().map(|r| r.time).collect();
        assert!(times.windows(2).all(|pair| pair[0] >= pair[1]));
    }
    format!("4 writers on 2 replicas, 200 system changes in {elapsed:?}; both replicas read all 200 records, each writer's in order")
}
