//! The permission checks of the conformance suite: permissions set at a system's creation,
//! granted, revoked and replaced, seen at once by `system`, `systems` and `identify`, each
//! change audited once, and target systems holding none.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;

use super::{one, policy, NOW, SOURCE};
use crate::audit::{AuditAction, AuditOutcome, HistoryQuery};
use crate::registry::{Permission, Registry};
use crate::store::{CertificateStore, StoreError};
use crate::system::{SystemKind, SystemName};

fn permission(text: &str) -> Permission {
    text.parse().unwrap()
}

fn permissions(texts: &[&str]) -> BTreeSet<Permission> {
    texts.iter().map(|text| permission(text)).collect()
}

/// Permissions round trip: set when a system is created, granted, revoked and replaced;
/// `system`, `systems` and `identify` show each change at once; granting a permission held
/// already, revoking one not held and setting the same set change nothing and leave no
/// record; every other change leaves one record with its actor, the permission, and the
/// permissions before and after; a target system is refused any permission
/// ([`StoreError::TargetPermissions`]) and an unknown system is not found. On an empty
/// registry (its clock set to [`NOW`]).
pub fn registry_permissions(registry: Registry) {
    let registry = registry.with_clock(|| NOW).acting_as("dave");
    let gateway: SystemName = "gateway".parse().unwrap();
    let warehouse: SystemName = "warehouse".parse().unwrap();
    let (proxy_api, realtime_api) = (permission("proxy-api"), permission("realtime-api"));

    let created = registry
        .create_system_with(&gateway, SystemKind::Proxy, [proxy_api.clone()], NOW)
        .unwrap();
    assert_eq!(created.permissions(), &permissions(&["proxy-api"]));
    assert!(created.has_permission(&proxy_api));
    assert!(!created.has_permission(&realtime_api));
    assert_eq!(registry.system(&gateway).unwrap(), created);
    let source = one(SOURCE);
    registry
        .store(&gateway)
        .unwrap()
        .import(&source, &policy())
        .unwrap();
    assert_eq!(
        registry.identify(&source.fingerprint()).unwrap(),
        vec![created.clone()]
    );

    // Granted: seen by every read at once.
    assert!(registry.grant_permission(&gateway, &realtime_api).unwrap());
    assert!(!registry.grant_permission(&gateway, &realtime_api).unwrap());
    let both = permissions(&["proxy-api", "realtime-api"]);
    assert_eq!(registry.system(&gateway).unwrap().permissions(), &both);
    assert_eq!(registry.systems().unwrap().systems[0].permissions(), &both);
    let identified = registry.identify(&source.fingerprint()).unwrap();
    assert_eq!(identified.len(), 1);
    assert!(identified[0].has_permission(&realtime_api));

    // Revoked.
    assert!(registry.revoke_permission(&gateway, &proxy_api).unwrap());
    assert!(!registry.revoke_permission(&gateway, &proxy_api).unwrap());
    assert!(!registry.identify(&source.fingerprint()).unwrap()[0].has_permission(&proxy_api));
    assert_eq!(
        registry.system(&gateway).unwrap().permissions(),
        &permissions(&["realtime-api"])
    );

    // Replaced, then replaced by the same set (nothing), then emptied.
    let set = registry
        .set_permissions(&gateway, permissions(&["proxy-api", "reports.read"]))
        .unwrap();
    assert_eq!(
        set.permissions(),
        &permissions(&["proxy-api", "reports.read"])
    );
    assert_eq!(registry.system(&gateway).unwrap(), set);
    registry
        .set_permissions(&gateway, permissions(&["reports.read", "proxy-api"]))
        .unwrap();
    assert!(registry
        .set_permissions(&gateway, [])
        .unwrap()
        .permissions()
        .is_empty());
    assert!(registry.identify(&source.fingerprint()).unwrap()[0]
        .permissions()
        .is_empty());

    // Target systems hold none; unknown systems are not found.
    let error = registry
        .create_system_with(&warehouse, SystemKind::Target, [proxy_api.clone()], NOW)
        .unwrap_err();
    assert!(matches!(&error, StoreError::TargetPermissions(name) if *name == warehouse));
    assert_eq!(error.code(), "target_permissions");
    assert_eq!(
        error.to_string(),
        "system warehouse is a target system, which is only ever called: it cannot hold permissions"
    );
    assert!(matches!(
        registry.system(&warehouse),
        Err(StoreError::SystemNotFound(_))
    ));
    registry
        .create_system(&warehouse, SystemKind::Target, NOW)
        .unwrap();
    assert!(matches!(
        registry.grant_permission(&warehouse, &proxy_api),
        Err(StoreError::TargetPermissions(_))
    ));
    assert!(matches!(
        registry.set_permissions(&warehouse, [proxy_api.clone()]),
        Err(StoreError::TargetPermissions(_))
    ));
    assert!(!registry.revoke_permission(&warehouse, &proxy_api).unwrap());
    assert!(registry
        .set_permissions(&warehouse, [])
        .unwrap()
        .permissions()
        .is_empty());
    assert!(registry
        .system(&warehouse)
        .unwrap()
        .permissions()
        .is_empty());
    let nobody: SystemName = "nobody".parse().unwrap();
    assert!(matches!(
        registry.grant_permission(&nobody, &proxy_api),
        Err(StoreError::SystemNotFound(_))
    ));
    assert!(matches!(
        registry.set_permissions(&nobody, []),
        Err(StoreError::SystemNotFound(_))
    ));

    // One record per change, oldest first here.
    let mut records = registry
        .history(&HistoryQuery::new().system(gateway.clone()))
        .unwrap()
        .records;
    records.retain(|record| record.action != AuditAction::Import);
    records.reverse();
    let seen: Vec<(AuditAction, AuditOutcome, &str, &str)> = records
        .iter()
        .map(|record| {
            (
                record.action,
                record.outcome,
                record.actor.as_str(),
                record.detail.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                AuditAction::CreateSystem,
                AuditOutcome::Created,
                "dave",
                "a proxy system; permissions: proxy-api"
            ),
            (
                AuditAction::Grant,
                AuditOutcome::Granted,
                "dave",
                "permission realtime-api; before: proxy-api; after: proxy-api, realtime-api"
            ),
            (
                AuditAction::Revoke,
                AuditOutcome::Revoked,
                "dave",
                "permission proxy-api; before: proxy-api, realtime-api; after: realtime-api"
            ),
            (
                AuditAction::SetPermissions,
                AuditOutcome::Changed,
                "dave",
                "before: realtime-api; after: proxy-api, reports.read"
            ),
            (
                AuditAction::SetPermissions,
                AuditOutcome::Changed,
                "dave",
                "before: proxy-api, reports.read; after: none"
            ),
        ]
    );
    assert!(records.iter().all(|record| record.time == NOW
        && record.system.as_ref() == Some(&gateway)
        && record.certificate.is_none()));
    let warehouse_records = registry
        .history(&HistoryQuery::new().system(warehouse.clone()))
        .unwrap()
        .records;
    assert_eq!(warehouse_records.len(), 1, "{warehouse_records:?}");
    assert_eq!(warehouse_records[0].detail, "a target system");

    // A system removed and made again starts with none.
    registry.remove_system(&gateway, true).unwrap();
    registry
        .grant_permission(&warehouse, &proxy_api)
        .unwrap_err();
    assert!(registry
        .create_system(&gateway, SystemKind::Proxy, NOW)
        .unwrap()
        .permissions()
        .is_empty());
}

/// Authorization from the index: [`Registry::admit`] names the source and proxy systems that
/// trust a certificate now, [`Registry::authorize`] those of them that hold a permission,
/// or why not, with the same answer for the same state and time: not trusted, not
/// permitted (naming the systems that trust it), suspended by every system that holds it,
/// expired or not yet valid by the registry's clock. Grants, revocations and suspensions
/// count at once. On an empty registry.
pub fn registry_authorizes(registry: Registry) {
    use crate::registry::Unauthorized;
    let registry = registry.with_clock(|| NOW).acting_as("erin");
    let (crm, gateway): (SystemName, SystemName) =
        ("crm".parse().unwrap(), "gateway".parse().unwrap());
    let (proxy_api, realtime_api, audit_api) = (
        permission("proxy-api"),
        permission("realtime-api"),
        permission("audit-api"),
    );
    registry
        .create_system_with(&crm, SystemKind::Source, [realtime_api.clone()], NOW)
        .unwrap();
    registry
        .create_system_with(&gateway, SystemKind::Proxy, [proxy_api.clone()], NOW)
        .unwrap();
    let client = one(SOURCE);
    for system in [&crm, &gateway] {
        registry
            .store(system)
            .unwrap()
            .import(&client, &policy())
            .unwrap();
    }
    let names = |systems: Vec<crate::System>| -> Vec<String> {
        systems
            .iter()
            .map(|system| system.name().to_string())
            .collect()
    };

    assert_eq!(names(registry.admit(&client).unwrap()), ["crm", "gateway"]);
    for _ in 0..2 {
        assert_eq!(
            names(registry.authorize(&client, &proxy_api).unwrap()),
            ["gateway"]
        );
        assert_eq!(
            names(registry.authorize(&client, &realtime_api).unwrap()),
            ["crm"]
        );
    }
    match registry.authorize(&client, &audit_api) {
        Err(Unauthorized::NotPermitted {
            certificate,
            permission,
            systems,
        }) => {
            assert_eq!(certificate, client.name());
            assert_eq!(permission, audit_api);
            assert_eq!(systems, [crm.clone(), gateway.clone()]);
        }
        other => panic!("{other:?}"),
    }
    let stranger = one(super::PROXY);
    let refused = registry.authorize(&stranger, &proxy_api).unwrap_err();
    assert!(
        matches!(refused, Unauthorized::NotTrusted { certificate } if certificate == stranger.name()),
        "{refused:?}"
    );
    assert_eq!(refused.code(), "not_trusted");

    // A revocation counts at once; so does a suspension, system by system.
    assert!(registry.revoke_permission(&crm, &realtime_api).unwrap());
    let refused = registry.authorize(&client, &realtime_api).unwrap_err();
    assert_eq!(refused.code(), "not_permitted");
    assert!(registry.grant_permission(&crm, &realtime_api).unwrap());
    registry
        .store(&gateway)
        .unwrap()
        .suspend(&client.name(), "investigating")
        .unwrap();
    let refused = registry.authorize(&client, &proxy_api).unwrap_err();
    assert!(
        matches!(&refused, Unauthorized::NotPermitted { systems, .. } if systems == std::slice::from_ref(&crm)),
        "{refused:?}"
    );
    registry
        .store(&crm)
        .unwrap()
        .suspend(&client.name(), "investigating")
        .unwrap();
    match registry.authorize(&client, &realtime_api) {
        Err(Unauthorized::Suspended { systems, .. }) => {
            assert_eq!(systems, [crm.clone(), gateway.clone()]);
        }
        other => panic!("{other:?}"),
    }
    for system in [&crm, &gateway] {
        registry
            .store(system)
            .unwrap()
            .resume(&client.name())
            .unwrap();
    }

    // Validity by the registry's clock.
    let validity = client.summary().validity;
    let after = validity.not_after + time::Duration::seconds(1);
    let registry = registry.with_clock(move || after);
    let refused = registry.authorize(&client, &proxy_api).unwrap_err();
    assert!(
        matches!(refused, Unauthorized::Expired { .. }),
        "{refused:?}"
    );
    let before = validity.not_before - time::Duration::seconds(1);
    let registry = registry.with_clock(move || before);
    let refused = registry.authorize(&client, &proxy_api).unwrap_err();
    assert_eq!(refused.code(), "not_yet_valid");
    let registry = registry.with_clock(|| NOW);
    assert_eq!(
        names(registry.authorize(&client, &proxy_api).unwrap()),
        ["gateway"]
    );
}
