//! The monitor's report of certificates not used for a while ([`super::ValidityEvent::Unused`]).

use std::collections::HashSet;
use std::fmt;

use time::{Duration, OffsetDateTime};

use super::{CertificateEvent, ValidityEvent};
use crate::clock::rfc3339;
use crate::fingerprint::CertificateName;
use crate::registry::{LastUse, Registry};
use crate::store::{CertificateStore, StoreError};
use crate::system::SystemName;

/// Adds an event for each certificate unused for `after` at `now` and not in `reported`;
/// returns every certificate unused now (reported before or now).
pub(super) fn check(
    registry: &Registry,
    now: OffsetDateTime,
    after: Duration,
    reported: &HashSet<(SystemName, CertificateName)>,
    events: &mut Vec<ValidityEvent>,
) -> Result<HashSet<(SystemName, CertificateName)>, StoreError> {
    let mut unused = HashSet::new();
    for system in registry.systems()?.systems {
        let store = match registry.store(system.name()) {
            Ok(store) => store,
            Err(StoreError::SystemNotFound(_)) => continue,
            Err(error) => return Err(error),
        };
        let usage = registry.usage(system.name())?;
        for certificate in store.list()?.certificates {
            let name = certificate.name();
            let last_used = usage.get(&name);
            let since = match last_used {
                Some(last) => Some(last.at),
                None => registry
                    .import_record(system.name(), &name)?
                    .map(|record| record.time),
            };
            if since.is_some_and(|since| now - since < after) {
                continue;
            }
            let key = (system.name().clone(), name);
            if !reported.contains(&key) {
                let summary = certificate.summary();
                events.push(ValidityEvent::Unused {
                    event: CertificateEvent {
                        system: system.name().clone(),
                        certificate: name,
                        subject: summary.subject.to_string(),
                        not_after: summary.validity.not_after,
                    },
                    last_used,
                });
            }
            unused.insert(key);
        }
    }
    Ok(unused)
}

/// The text of an unused certificate's event.
pub(super) fn describe(
    f: &mut fmt::Formatter<'_>,
    event: &CertificateEvent,
    last_used: Option<&LastUse>,
) -> fmt::Result {
    write!(
        f,
        "certificate {} ({:?}) of system {} ",
        event.certificate, event.subject, event.system
    )?;
    match last_used {
        None => write!(f, "was never used"),
        Some(LastUse { at, peer: None, .. }) => write!(f, "was last used {}", rfc3339(*at)),
        Some(LastUse {
            at,
            peer: Some(peer),
            ..
        }) => write!(f, "was last used {} from {peer}", rfc3339(*at)),
    }
}
