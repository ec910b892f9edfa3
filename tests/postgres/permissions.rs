//! Permissions on PostgreSQL (issue 24): two replicas follow each other's grants and
//! revocations, and a registry's tables from before permissions gain their column in place.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use inbound_certs::audit::{AuditAction, HistoryQuery};
use inbound_certs::registry::Permission;
use inbound_certs::{CertificateStore, StoreError, SystemKind};
use time::OffsetDateTime;

use crate::server::Server;
use crate::support::{certificates, connect_registry, fresh_schema, policy, system_name, within};

fn permission(text: &str) -> Permission {
    text.parse().unwrap()
}

/// A grant on one replica reaches the other's index through the listener (its `identify`
/// answers the system with the permission, as `authorize` will read it), a revocation made
/// there is seen back on the first, and a replacement of the whole set likewise; each change
/// is one audit record with its actor.
pub(crate) fn permissions_on_one_replica_are_seen_by_the_other(server: &Server) -> String {
    let schema = fresh_schema("registry_permissions");
    let (a, b) = (
        connect_registry(server, &schema).acting_as("alice"),
        connect_registry(server, &schema).acting_as("bob"),
    );
    let gateway = system_name("gateway");
    let (proxy_api, realtime_api) = (permission("proxy-api"), permission("realtime-api"));
    a.create_system_with(
        &gateway,
        SystemKind::Proxy,
        [proxy_api.clone()],
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let client = &certificates(1)[0];
    let fingerprint = client.fingerprint();
    a.store(&gateway)
        .unwrap()
        .import(client, &policy())
        .unwrap();
    // What the front door enforces per request: `authorize` on the replica's index.
    let holds = |registry: &inbound_certs::Registry, permission: &Permission| {
        let authorized = registry.authorize(client, permission);
        let identified = registry
            .identify(&fingerprint)
            .unwrap()
            .iter()
            .any(|system| system.has_permission(permission));
        assert_eq!(authorized.is_ok(), identified, "{authorized:?}");
        authorized.is_ok()
    };
    within(Duration::from_secs(10), "b trusts a's import", || {
        holds(&b, &proxy_api)
    });

    let started = Instant::now();
    assert!(a.grant_permission(&gateway, &realtime_api).unwrap());
    assert!(holds(&a, &realtime_api), "a reads its own grant at once");
    within(Duration::from_secs(10), "b sees the grant", || {
        holds(&b, &realtime_api)
    });
    let granted = started.elapsed();
    assert_eq!(
        b.system(&gateway).unwrap().permissions(),
        &BTreeSet::from([proxy_api.clone(), realtime_api.clone()])
    );

    let started = Instant::now();
    assert!(b.revoke_permission(&gateway, &proxy_api).unwrap());
    assert!(!holds(&b, &proxy_api));
    within(Duration::from_secs(10), "a sees the revocation", || {
        !holds(&a, &proxy_api)
    });
    let revoked = started.elapsed();
    assert!(!a.revoke_permission(&gateway, &proxy_api).unwrap());

    a.set_permissions(&gateway, [permission("reports.read")])
        .unwrap();
    within(Duration::from_secs(10), "b sees the new set", || {
        b.system(&gateway).unwrap().permissions() == &BTreeSet::from([permission("reports.read")])
    });
    assert!(!holds(&b, &realtime_api));

    // Target systems hold none, on the database too.
    let warehouse = system_name("warehouse");
    b.create_system(&warehouse, SystemKind::Target, OffsetDateTime::now_utc())
        .unwrap();
    assert!(matches!(
        a.grant_permission(&warehouse, &proxy_api),
        Err(StoreError::TargetPermissions(_))
    ));

    let records: Vec<(AuditAction, String, String)> = a
        .history(&HistoryQuery::new().system(gateway.clone()))
        .unwrap()
        .records
        .into_iter()
        .filter(|record| record.action != AuditAction::Import)
        .map(|record| (record.action, record.actor, record.detail))
        .collect();
    assert_eq!(
        records,
        vec![
            (
                AuditAction::SetPermissions,
                "alice".to_string(),
                "before: realtime-api; after: reports.read".to_string()
            ),
            (
                AuditAction::Revoke,
                "bob".to_string(),
                "permission proxy-api; before: proxy-api, realtime-api; after: realtime-api"
                    .to_string()
            ),
            (
                AuditAction::Grant,
                "alice".to_string(),
                "permission realtime-api; before: proxy-api; after: proxy-api, realtime-api"
                    .to_string()
            ),
            (
                AuditAction::CreateSystem,
                "alice".to_string(),
                "a proxy system; permissions: proxy-api".to_string()
            ),
        ]
    );
    format!("a grant seen by the other replica in {granted:?}, a revocation in {revoked:?}; a new set followed; each audited once")
}

/// A registry's tables as the version before permissions (issue 24) left them: the systems
/// table without its `permissions` column, with a system and its certificate. The first
/// registry that connects adds the column in place (every system holding none); nothing
/// else changes, and grants work and reach a replica started after the upgrade.
pub(crate) fn a_registry_without_permissions_is_upgraded(server: &Server) -> String {
    let schema = fresh_schema("before_permissions");
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
    sql.batch_execute(&format!(
        "ALTER TABLE \"{schema}\".systems DROP COLUMN permissions"
    ))
    .unwrap();
    let columns = |sql: &mut postgres::Client| -> i64 {
        sql.query_one(
            "SELECT count(*) FROM information_schema.columns
             WHERE table_schema = $1 AND table_name = 'systems' AND column_name = 'permissions'",
            &[&schema],
        )
        .unwrap()
        .get(0)
    };
    assert_eq!(columns(&mut sql), 0);

    let registry = connect_registry(server, &schema);
    assert_eq!(columns(&mut sql), 1);
    let system = registry.system(&crm).unwrap();
    assert!(system.permissions().is_empty());
    assert_eq!(
        registry.store(&crm).unwrap().list().unwrap().certificates,
        vec![client.clone()]
    );
    assert_eq!(
        registry.identify(&client.fingerprint()).unwrap(),
        vec![system]
    );
    let realtime_api = permission("realtime-api");
    assert!(registry.grant_permission(&crm, &realtime_api).unwrap());
    // A replica started after the upgrade loads the permission.
    let other = connect_registry(server, &schema);
    assert!(other.identify(&client.fingerprint()).unwrap()[0].has_permission(&realtime_api));
    // Connecting again changes nothing.
    drop(connect_registry(server, &schema));
    assert!(other.system(&crm).unwrap().has_permission(&realtime_api));

    // Permissions written by hand that are not permissions: the system is reported damaged
    // and trusts nothing, never trusted with them.
    sql.batch_execute(&format!(
        "UPDATE \"{schema}\".systems SET permissions = '{{\"../admin\"}}' WHERE name = 'crm'"
    ))
    .unwrap();
    let fresh = connect_registry(server, &schema);
    assert!(fresh.system(&crm).is_err());
    // The row of the system, and its certificates' rows (of a system now not registered).
    let damaged: Vec<String> = fresh
        .systems()
        .unwrap()
        .damaged
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(damaged.len(), 2, "{damaged:?}");
    assert!(
        damaged[1].contains(
            "its permissions: invalid permission \"../admin\": a permission cannot start with '.'"
        ),
        "{damaged:?}"
    );
    assert!(fresh.identify(&client.fingerprint()).unwrap().is_empty());
    "a registry's systems table without permissions gains the column in place, keeping systems and certificates; grants work after".to_string()
}
