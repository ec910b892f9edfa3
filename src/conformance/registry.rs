//! The registry checks of the conformance suite: systems, their separate stores,
//! [`identify`](Registry::identify), removals that would lose certificates, target systems,
//! and the audit trail.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use time::Duration;

use super::{names, one, policy, BUNDLE, EXPIRED, FULLCHAIN, NOW, PRIVATE_KEY, PROXY, SOURCE};
use crate::audit::{AuditAction, AuditOutcome, HistoryQuery};
use crate::registry::Registry;
use crate::store::{CertificateStore, StoreError, SuspensionReasonError};
use crate::system::{SystemKind, SystemName};

fn system_name(text: &str) -> SystemName {
    text.parse().unwrap()
}

/// Runs every registry check, each on a fresh, empty registry from `make`.
pub fn run_registry(make: impl Fn() -> Registry) {
    registry_systems(&make());
    registry_stores_are_separate(&make());
    registry_identifies_systems(&make());
    registry_refuses_to_lose_certificates(&make());
    registry_target_systems_hold_nothing(&make());
    registry_suspends_and_resumes(make());
    super::registry_permissions(make());
    super::registry_authorizes(make());
}

/// Systems are created, listed in name order, read back and removed.
pub fn registry_systems(registry: &Registry) {
    assert!(registry.systems().unwrap().systems.is_empty());
    let crm = registry
        .create_system(&system_name("crm"), SystemKind::Source, NOW)
        .unwrap();
    let gateway = registry
        .create_system(&system_name("api-gateway"), SystemKind::Proxy, NOW)
        .unwrap();
    assert_eq!(crm.name().as_str(), "crm");
    assert_eq!(crm.kind(), SystemKind::Source);
    assert_eq!(crm.created(), NOW);
    assert_eq!(
        registry.systems().unwrap().systems,
        vec![gateway.clone(), crm.clone()]
    );
    assert_eq!(registry.system(crm.name()).unwrap(), crm);
    let error = registry
        .create_system(&system_name("crm"), SystemKind::Proxy, NOW)
        .unwrap_err();
    assert!(matches!(error, StoreError::SystemExists(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "a system named crm is already registered"
    );
    assert_eq!(registry.remove_system(crm.name(), false).unwrap(), 0);
    assert!(matches!(
        registry.system(crm.name()),
        Err(StoreError::SystemNotFound(_))
    ));
    assert!(matches!(
        registry.store(crm.name()),
        Err(StoreError::SystemNotFound(_))
    ));
    assert_eq!(registry.systems().unwrap().systems, vec![gateway]);
}

/// Each system has its own certificates: an import into one is not in the other, and the
/// same certificate may be in both; deleting it from one leaves the other.
pub fn registry_stores_are_separate(registry: &Registry) {
    let a = system_name("a");
    let b = system_name("b");
    registry.create_system(&a, SystemKind::Source, NOW).unwrap();
    registry.create_system(&b, SystemKind::Proxy, NOW).unwrap();
    let source = one(SOURCE);
    let proxy = one(PROXY);
    registry
        .store(&a)
        .unwrap()
        .import(&source, &policy())
        .unwrap();
    assert!(registry
        .store(&b)
        .unwrap()
        .get(&source.name())
        .unwrap()
        .is_none());
    registry
        .store(&b)
        .unwrap()
        .import(&proxy, &policy())
        .unwrap();
    registry
        .store(&b)
        .unwrap()
        .import(&source, &policy())
        .unwrap();
    assert_eq!(
        names(&registry.store(&b).unwrap().list().unwrap().certificates).len(),
        2
    );
    registry.store(&b).unwrap().delete(&source.name()).unwrap();
    assert_eq!(
        registry.store(&a).unwrap().list().unwrap().certificates,
        vec![source]
    );
    let overview = registry
        .overview(NOW, Duration::days(30))
        .unwrap()
        .into_iter()
        .map(|o| (o.system.name().to_string(), o.valid + o.expiring, o.expired))
        .collect::<Vec<_>>();
    assert_eq!(overview, vec![("a".into(), 1, 0), ("b".into(), 1, 0)]);
}

/// `identify` follows imports, deletes and removals of systems.
pub fn registry_identifies_systems(registry: &Registry) {
    let crm = registry
        .create_system(&system_name("crm"), SystemKind::Source, NOW)
        .unwrap();
    let edge = registry
        .create_system(&system_name("edge"), SystemKind::Proxy, NOW)
        .unwrap();
    let certificate = one(SOURCE);
    let fingerprint = certificate.fingerprint();
    assert!(registry.identify(&fingerprint).unwrap().is_empty());
    registry
        .store(crm.name())
        .unwrap()
        .import(&certificate, &policy())
        .unwrap();
    assert_eq!(registry.identify(&fingerprint).unwrap(), vec![crm.clone()]);
    assert_eq!(
        registry.identify_der(certificate.der()).unwrap(),
        vec![crm.clone()]
    );
    registry
        .store(edge.name())
        .unwrap()
        .import_upload(SOURCE, &policy())
        .unwrap();
    assert_eq!(
        registry.identify_certificate(&certificate).unwrap(),
        vec![crm.clone(), edge.clone()]
    );
    registry
        .store(crm.name())
        .unwrap()
        .delete(&certificate.name())
        .unwrap();
    assert_eq!(registry.identify(&fingerprint).unwrap(), vec![edge.clone()]);
    registry.remove_system(edge.name(), true).unwrap();
    assert!(registry.identify(&fingerprint).unwrap().is_empty());
    assert!(registry
        .identify(&one(PROXY).fingerprint())
        .unwrap()
        .is_empty());
}

/// A system that still trusts certificates is removed only when asked to remove them too;
/// a store held from before a removal writes nothing into the removed system.
pub fn registry_refuses_to_lose_certificates(registry: &Registry) {
    let name = system_name("billing");
    registry
        .create_system(&name, SystemKind::Source, NOW)
        .unwrap();
    let held = registry.store(&name).unwrap();
    held.import_upload(BUNDLE, &policy()).unwrap();
    let error = registry.remove_system(&name, false).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::SystemNotEmpty {
                certificates: 5,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "system billing still holds 5 certificate(s); delete them first, or remove the system with its certificates"
    );
    assert_eq!(held.list().unwrap().certificates.len(), 5);
    assert_eq!(registry.remove_system(&name, true).unwrap(), 5);
    let error = held.import_upload(SOURCE, &policy()).unwrap_err();
    assert!(
        matches!(error, StoreError::SystemNotFound(_)),
        "an import into a removed system: {error:?}"
    );
    assert!(registry.systems().unwrap().systems.is_empty());
    // A new system of the same name starts empty.
    registry
        .create_system(&name, SystemKind::Source, NOW)
        .unwrap();
    assert!(registry
        .store(&name)
        .unwrap()
        .list()
        .unwrap()
        .certificates
        .is_empty());
    assert!(held.import_upload(SOURCE, &policy()).is_err());
    assert!(registry
        .store(&name)
        .unwrap()
        .list()
        .unwrap()
        .certificates
        .is_empty());
}

/// A target system can be registered, and refuses inbound certificates.
pub fn registry_target_systems_hold_nothing(registry: &Registry) {
    let name = system_name("warehouse");
    let target = registry
        .create_system(&name, SystemKind::Target, NOW)
        .unwrap();
    assert_eq!(target.kind(), SystemKind::Target);
    let store = registry.store(&name).unwrap();
    let error = store.import_upload(SOURCE, &policy()).unwrap_err();
    assert!(matches!(error, StoreError::NotInbound(SystemKind::Target)));
    assert_eq!(
        error.to_string(),
        "inbound certificates are supported for source and proxy systems only, not for a target system"
    );
    assert!(store.list().unwrap().certificates.is_empty());
    assert_eq!(registry.remove_system(&name, false).unwrap(), 0);
}

/// Every kind of change through a registry, by two actors, leaves one record each, and the
/// trail says what: on an empty registry (its clock is set to [`NOW`] for every handle).
/// Imports (added, already present, refused before decoding, refused by the policy), a
/// purge (recorded as a purge, not a delete), a delete, a system created and removed; then
/// the filters of [`HistoryQuery`].
pub fn registry_audit(registry: Registry) {
    fn name(text: &str) -> SystemName {
        text.parse().unwrap()
    }
    let registry = registry.with_clock(|| NOW);
    let alice = registry.acting_as("alice");
    let bob = registry.acting_as("bob");
    alice
        .create_system(&name("crm"), SystemKind::Source, NOW)
        .unwrap();
    let store = alice.store(&name("crm")).unwrap();
    let source = one(SOURCE);
    store.import(&source, &policy()).unwrap();
    store.import(&source, &policy()).unwrap();
    assert!(store.import_upload(PRIVATE_KEY, &policy()).is_err());
    assert!(store.import_upload(EXPIRED, &policy()).is_err());
    let expired = one(EXPIRED);
    store
        .import(&expired, &policy().allow_expired(true))
        .unwrap();
    let bobs = bob.store(&name("crm")).unwrap();
    assert_eq!(bobs.purge_expired(NOW).unwrap(), vec![expired.name()]);
    bobs.delete(&source.name()).unwrap();
    bob.remove_system(&name("crm"), false).unwrap();

    let history = registry.history(&HistoryQuery::new()).unwrap();
    assert!(history.damaged.is_empty(), "{:?}", history.damaged);
    let summary: Vec<(String, &str, &str, Option<String>)> = history
        .records
        .iter()
        .map(|record| {
            (
                record.actor.clone(),
                record.action.as_str(),
                record.outcome.as_str(),
                record.certificate.map(|name| name.to_string()),
            )
        })
        .collect();
    let source_name = Some(source.name().to_string());
    let expired_name = Some(expired.name().to_string());
    assert_eq!(
        summary,
        vec![
            ("bob".into(), "remove_system", "removed", None),
            ("bob".into(), "delete", "removed", source_name.clone()),
            ("bob".into(), "purge", "removed", expired_name.clone()),
            ("alice".into(), "import", "added", expired_name.clone()),
            ("alice".into(), "import", "refused", expired_name),
            ("alice".into(), "import", "refused", None),
            (
                "alice".into(),
                "import",
                "already_present",
                source_name.clone()
            ),
            ("alice".into(), "import", "added", source_name),
            ("alice".into(), "create_system", "created", None),
        ]
    );
    for record in &history.records {
        assert_eq!(record.time, NOW);
        assert_eq!(record.system, Some(name("crm")));
    }
    let added = &history.records[7];
    assert_eq!(
        added.subject.as_deref(),
        Some("CN=orders-service.source.example,O=Orders Inc,C=DE")
    );
    assert!(
        history.records[5]
            .detail
            .starts_with("private_key: a private key (PKCS#8)"),
        "{}",
        history.records[5].detail
    );
    assert!(history.records[4]
        .detail
        .starts_with("expired (1 certificate(s) in the upload): certificate"));
    assert!(
        history.records[2].detail.starts_with("expired on "),
        "{}",
        history.records[2].detail
    );
    assert_eq!(history.records[0].detail, "with 0 certificate(s)");
    assert_eq!(
        history.records[8].to_string(),
        "2026-06-01T00:00:00Z alice create_system system crm: created: a source system"
    );

    // Filters: by system, by time, a limit.
    let limited = registry
        .history(&HistoryQuery::new().system(name("crm")).limit(2))
        .unwrap();
    assert_eq!(limited.records.len(), 2);
    assert_eq!(limited.records[0].action, AuditAction::RemoveSystem);
    assert_eq!(limited.records[1].action, AuditAction::Delete);
    let none = registry
        .history(&HistoryQuery::new().system(name("other")))
        .unwrap();
    assert!(none.records.is_empty());
    let later = registry
        .history(&HistoryQuery::new().since(NOW + Duration::seconds(1)))
        .unwrap();
    assert!(later.records.is_empty());
    // `since` is inclusive, `until` exclusive, to the microsecond and below.
    assert_eq!(
        registry
            .history(&HistoryQuery::new().since(NOW))
            .unwrap()
            .records
            .len(),
        9
    );
    assert!(registry
        .history(&HistoryQuery::new().since(NOW + Duration::nanoseconds(1)))
        .unwrap()
        .records
        .is_empty());
    assert!(registry
        .history(&HistoryQuery::new().until(NOW))
        .unwrap()
        .records
        .is_empty());
    assert_eq!(
        registry
            .history(&HistoryQuery::new().until(NOW + Duration::nanoseconds(1)))
            .unwrap()
            .records
            .len(),
        9
    );
    assert_eq!(history.records[3].outcome, AuditOutcome::Added);

    // A chain: the skipped CA is recorded, with why and the upload's name (issue 21).
    alice
        .create_system(&name("chains"), SystemKind::Proxy, NOW)
        .unwrap();
    let chain = crate::decode(FULLCHAIN).unwrap();
    let policy = crate::ImportPolicy::new(NOW).upload_name("fullchain.pem");
    alice
        .store(&name("chains"))
        .unwrap()
        .import_upload(FULLCHAIN, &policy)
        .unwrap();
    let records = registry
        .history(&HistoryQuery::new().system(name("chains")).limit(2))
        .unwrap()
        .records;
    let seen: Vec<(AuditOutcome, Option<crate::CertificateName>, &str)> = records
        .iter()
        .map(|r| (r.outcome, r.certificate, r.detail.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                AuditOutcome::Skipped,
                Some(chain[1].name()),
                "a CA certificate of the chain; a pinned client certificate needs no chain \
                 (upload fullchain.pem)"
            ),
            (
                AuditOutcome::Added,
                Some(chain[0].name()),
                "upload fullchain.pem"
            ),
        ]
    );
}

/// A certificate suspended in one system stays stored there but is not trusted by it
/// (`identify` leaves it out, `suspended_in` names it), while another system that holds it
/// still trusts it; a second suspend replaces the reason; a resume brings trust back; a
/// resume of a certificate not suspended, a suspend of one not held and a bad reason are
/// refused with their errors; a re-import keeps the suspension and a delete clears it;
/// every change is audited with its reason. On an empty registry (its clock set to [`NOW`]).
pub fn registry_suspends_and_resumes(registry: Registry) {
    let registry = registry.with_clock(|| NOW).acting_as("carol");
    let crm = system_name("crm");
    let gateway = system_name("gateway");
    let crm_system = registry
        .create_system(&crm, SystemKind::Source, NOW)
        .unwrap();
    let gateway_system = registry
        .create_system(&gateway, SystemKind::Proxy, NOW)
        .unwrap();
    let source = one(SOURCE);
    let name = source.name();
    let fingerprint = source.fingerprint();
    let store = registry.store(&crm).unwrap();
    store.import(&source, &policy()).unwrap();
    registry
        .store(&gateway)
        .unwrap()
        .import(&source, &policy())
        .unwrap();

    // Refusals change nothing.
    assert!(matches!(
        store.suspend(&name, " \t"),
        Err(StoreError::SuspensionReason(SuspensionReasonError::Empty))
    ));
    assert!(matches!(
        store.suspend(&name, "two\nlines"),
        Err(StoreError::SuspensionReason(
            SuspensionReasonError::ControlCharacter { position: 4 }
        ))
    ));
    assert!(matches!(
        store.suspend(&name, &"x".repeat(501)),
        Err(StoreError::SuspensionReason(
            SuspensionReasonError::TooLong { chars: 501 }
        ))
    ));
    let other = one(PROXY);
    let error = store.suspend(&other.name(), "leaked").unwrap_err();
    assert!(
        matches!(error, StoreError::NotFound(n) if n == other.name()),
        "{error:?}"
    );
    let error = store.resume(&name).unwrap_err();
    assert!(
        matches!(error, StoreError::NotSuspended(n) if n == name),
        "{error:?}"
    );
    assert_eq!(error.code(), "not_suspended");
    assert_eq!(store.suspension(&name).unwrap(), None);
    assert!(store.suspensions().unwrap().is_empty());

    // Suspended in crm: gateway still trusts it.
    let suspension = store.suspend(&name, "  key may have leaked ").unwrap();
    assert_eq!(suspension.reason(), "key may have leaked");
    assert_eq!(suspension.since(), NOW);
    assert_eq!(suspension.by(), "carol");
    assert_eq!(store.suspension(&name).unwrap(), Some(suspension.clone()));
    let again = registry.store(&crm).unwrap();
    assert_eq!(
        again.suspensions().unwrap().into_iter().collect::<Vec<_>>(),
        vec![(name, suspension.clone())]
    );
    assert_eq!(again.list().unwrap().certificates, vec![source.clone()]);
    assert_eq!(again.get(&name).unwrap(), Some(source.clone()));
    assert_eq!(
        registry.identify(&fingerprint).unwrap(),
        vec![gateway_system.clone()]
    );
    assert_eq!(
        registry.suspended_in(&fingerprint).unwrap(),
        vec![crm_system.clone()]
    );
    assert!(registry
        .store(&gateway)
        .unwrap()
        .suspension(&name)
        .unwrap()
        .is_none());

    // Suspended twice: the reason is replaced. Imported again: still suspended.
    let replaced = store.suspend(&name, "rotated by the vendor").unwrap();
    assert_eq!(store.suspension(&name).unwrap(), Some(replaced));
    store.import(&source, &policy()).unwrap();
    assert_eq!(
        registry.suspended_in(&fingerprint).unwrap(),
        vec![crm_system.clone()]
    );

    // Suspended in both: no system trusts it.
    registry
        .store(&gateway)
        .unwrap()
        .suspend(&name, "audit finding 12")
        .unwrap();
    assert!(registry.identify(&fingerprint).unwrap().is_empty());
    assert_eq!(
        registry.suspended_in(&fingerprint).unwrap(),
        vec![crm_system.clone(), gateway_system.clone()]
    );

    // Resumed in crm: trusted there again.
    let lifted = store.resume(&name).unwrap();
    assert_eq!(lifted.reason(), "rotated by the vendor");
    assert_eq!(store.suspension(&name).unwrap(), None);
    assert_eq!(
        registry.identify(&fingerprint).unwrap(),
        vec![crm_system.clone()]
    );

    // Deleted while suspended (in gateway), then imported again: trusted, not suspended.
    let gateways = registry.store(&gateway).unwrap();
    gateways.delete(&name).unwrap();
    assert!(registry.suspended_in(&fingerprint).unwrap().is_empty());
    gateways.import(&source, &policy()).unwrap();
    assert_eq!(gateways.suspension(&name).unwrap(), None);
    assert_eq!(
        registry.identify(&fingerprint).unwrap(),
        vec![crm_system.clone(), gateway_system.clone()]
    );

    // A system removed with a suspended certificate takes the suspension with it.
    store.suspend(&name, "leaving").unwrap();
    registry.remove_system(&crm, true).unwrap();
    registry
        .create_system(&crm, SystemKind::Source, NOW)
        .unwrap();
    let fresh = registry.store(&crm).unwrap();
    fresh.import(&source, &policy()).unwrap();
    assert_eq!(fresh.suspension(&name).unwrap(), None);
    assert!(registry.suspended_in(&fingerprint).unwrap().is_empty());

    // The trail: each suspend and resume, with its reason.
    let records = registry
        .history(&HistoryQuery::new().system(crm.clone()))
        .unwrap()
        .records;
    let seen: Vec<(AuditAction, AuditOutcome, String)> = records
        .iter()
        .filter(|r| matches!(r.action, AuditAction::Suspend | AuditAction::Resume))
        .map(|r| (r.action, r.outcome, r.detail.clone()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                AuditAction::Suspend,
                AuditOutcome::Suspended,
                "leaving".into()
            ),
            (
                AuditAction::Resume,
                AuditOutcome::Resumed,
                "suspended since 2026-06-01T00:00:00Z by carol for: rotated by the vendor".into()
            ),
            (
                AuditAction::Suspend,
                AuditOutcome::Suspended,
                "rotated by the vendor (replacing the suspension for: key may have leaked)".into()
            ),
            (
                AuditAction::Suspend,
                AuditOutcome::Suspended,
                "key may have leaked".into()
            ),
        ]
    );
    let suspend = records
        .iter()
        .find(|r| r.action == AuditAction::Suspend)
        .unwrap();
    assert_eq!(suspend.actor, "carol");
    assert_eq!(suspend.certificate, Some(name));
    assert_eq!(
        suspend.subject.as_deref(),
        Some("CN=orders-service.source.example,O=Orders Inc,C=DE")
    );
}
