//! The monitor's rule for a certificate whose renewal is already in use: its coming expiry
//! is not worth a warning (issue 23).

use std::collections::BTreeMap;

use crate::certificate::Certificate;
use crate::fingerprint::CertificateName;
use crate::registry::{Registry, SystemUsage};
use crate::store::{StoreError, Suspension};
use crate::system::SystemName;

/// A system's suspended certificates.
type Suspensions = BTreeMap<CertificateName, Suspension>;

/// What the monitor knows of one system while it checks it: its certificates and
/// suspensions, and its usage, read at the first certificate that needs it.
pub(super) struct Renewals<'a> {
    registry: &'a Registry,
    system: &'a SystemName,
    certificates: &'a [Certificate],
    suspended: &'a Suspensions,
    usage: Option<SystemUsage>,
}

impl<'a> Renewals<'a> {
    pub(super) fn new(
        registry: &'a Registry,
        system: &'a SystemName,
        certificates: &'a [Certificate],
        suspended: &'a Suspensions,
    ) -> Self {
        Renewals {
            registry,
            system,
            certificates,
            suspended,
            usage: None,
        }
    }

    /// Whether the system holds a certificate that [renews](Certificate::renews) `old`, is
    /// not suspended, and was used since it was imported into the system (any recorded use
    /// of it, if the trail no longer has its import).
    pub(super) fn in_use(&mut self, old: &Certificate) -> Result<bool, StoreError> {
        for renewal in self.certificates {
            if !renewal.renews(old) || self.suspended.contains_key(&renewal.name()) {
                continue;
            }
            let usage = match &mut self.usage {
                Some(usage) => usage,
                slot => slot.insert(self.registry.usage(self.system)?),
            };
            let Some(last) = usage.get(&renewal.name()) else {
                continue;
            };
            let imported = self.registry.import_record(self.system, &renewal.name())?;
            if imported.is_none_or(|record| last.at >= record.time) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
