//! [`SystemOverview`]: how many certificates of each system are valid, expiring, expired,
//! damaged or suspended at an instant.

use time::{Duration, OffsetDateTime};

use super::Registry;
use crate::certificate::Certificate;
use crate::store::{CertificateStore, StoreError};
use crate::summary::ValidityStatus;
use crate::system::System;

/// A system with how many of its certificates are in each state at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SystemOverview {
    /// The system.
    pub system: System,
    /// Certificates valid (or not yet valid) beyond the warning window.
    pub valid: usize,
    /// Certificates valid now whose validity ends within the warning window.
    pub expiring: usize,
    /// Certificates past their `notAfter`.
    pub expired: usize,
    /// Entries of the system's store that could not be read.
    pub damaged: usize,
    /// Certificates [suspended](crate::SystemStore::suspend) in the system, whatever their
    /// validity (counted here only, and not among the due).
    pub suspended: usize,
    /// The expired and expiring certificates, the soonest end first: those that need an
    /// administrator.
    pub due: Vec<Certificate>,
}

impl Registry {
    /// Every system with the number of its certificates in each state at `now`, a
    /// certificate whose validity ends within `warn_within` counting as expiring.
    pub fn overview(
        &self,
        now: OffsetDateTime,
        warn_within: Duration,
    ) -> Result<Vec<SystemOverview>, StoreError> {
        let mut overviews = Vec::new();
        for system in self.systems()?.systems {
            let store = self.store(system.name())?;
            let listing = store.list()?;
            let suspended = store.suspensions()?;
            let mut overview = SystemOverview {
                system,
                valid: 0,
                expiring: 0,
                expired: 0,
                damaged: listing.damaged.len(),
                suspended: 0,
                due: Vec::new(),
            };
            for certificate in listing.certificates {
                if suspended.contains_key(&certificate.name()) {
                    overview.suspended += 1;
                    continue;
                }
                match certificate.summary().validity.status_at(now, warn_within) {
                    ValidityStatus::Expired { .. } => overview.expired += 1,
                    ValidityStatus::ExpiringSoon { .. } => overview.expiring += 1,
                    _ => {
                        overview.valid += 1;
                        continue;
                    }
                }
                overview.due.push(certificate);
            }
            overview
                .due
                .sort_by_key(|certificate| certificate.summary().validity.not_after);
            overviews.push(overview);
        }
        Ok(overviews)
    }
}
