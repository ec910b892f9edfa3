//! Where a [`Registry`](crate::Registry) keeps its systems, their certificates and its
//! audit trail: in memory ([`Registry::in_memory`](crate::Registry::in_memory)), in a
//! directory ([`Registry::open`](crate::Registry::open)) or in PostgreSQL
//! (`Registry::connect`, feature `postgres`).
//!
//! The stores these backends keep one system's certificates in are public as building
//! blocks: [`MemoryStore`], [`FileStore`] and `PostgresStore` each hold the certificates of
//! one system of one kind, with every guarantee of its backend, but **no audit trail and no
//! index across systems**. A service that manages systems, or must answer who changed what,
//! uses the [`Registry`](crate::Registry); a store alone suits a service with one system, or
//! a test.

// Inside the crate: one folder per backend, each holding its store, its systems and its
// audit trail behind `RegistryBackend` (what the registry asks) and `SystemBackend` (one
// system's certificates, every write recorded with it):
//
//   registry ──> backend::{memory, fs, postgres} ──> store (trait, policy, errors) ──> certificate
//
// - memory: maps in the process; nothing outlives it.
// - fs: a directory of systems, each a directory of DER files, and JSON Lines audit files;
//   several processes may share it.
// - postgres: tables shared by every replica, each keeping an index current by one listener.
//
// A backend records every change in its audit trail as one with the change (the record
// closures it is handed), so that no public path changes a system without its record; the
// registry decides what the records say.

use std::fmt;
use std::sync::Arc;

use crate::audit::{AuditHistory, AuditRecord, HistoryQuery};
use crate::certificate::Certificate;
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::store::{Admitted, CertificateListing, ImportOutcome, StoreError, Suspension};
use crate::system::{Permission, System, SystemName};
use usage::{SystemUsage, UsageBatch};

pub(crate) mod fs;
mod index;
pub(crate) mod listing;
pub(crate) mod memory;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod usage;

pub use fs::{FileStore, FileStoreOptions};
pub(crate) use listing::SystemListing;
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{PostgresOptions, PostgresStore, PostgresTlsError};

/// Where a backend stands: two markers differ when the backend changed between them, by
/// any process or replica (a directory's change marker, a database's revision).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    /// The backend is never changed by anyone else (memory).
    Unshared,
    /// A directory's change marker: its inode and change time (none before the first
    /// change).
    File(Option<(u64, i64, i64)>),
    /// The revision of the database a replica's index reflects.
    #[cfg(feature = "postgres")]
    Revision(i64),
}

/// The systems that hold one certificate, as an index in memory says: those that trust it,
/// and those that suspended it; each sorted by name.
#[derive(Debug, Default, Clone)]
pub(crate) struct Identified {
    pub(crate) trusting: Vec<System>,
    pub(crate) suspended: Vec<System>,
}

/// The suspensions of one system's certificates, by certificate.
pub(crate) type Suspensions = std::collections::BTreeMap<CertificateName, Suspension>;

/// A system's new permissions and the record of their change.
pub(crate) type PermissionChange = (std::collections::BTreeSet<Permission>, AuditRecord);

/// What a registry asks of where it keeps its systems.
pub(crate) trait RegistryBackend: Send + Sync + fmt::Debug {
    /// Registers `system`, with the record `record` makes, as one change:
    /// [`StoreError::SystemExists`] if its name is taken (nothing recorded). Returns the
    /// system as kept (PostgreSQL keeps its creation time to the microsecond).
    fn create_system(
        &self,
        system: &System,
        record: &dyn Fn() -> AuditRecord,
    ) -> Result<System, StoreError>;

    /// Removes a system, refused with [`StoreError::SystemNotEmpty`] while it holds
    /// certificates (or damaged entries) unless `with_certificates`; with the record
    /// `record` makes of how many certificates went with it. Returns that number.
    fn remove_system(
        &self,
        name: &SystemName,
        with_certificates: bool,
        record: &dyn Fn(usize) -> AuditRecord,
    ) -> Result<usize, StoreError>;

    /// Changes the permissions of the system `name` ([`StoreError::SystemNotFound`] if there
    /// is none) as one change with its record: `change` is handed the system as kept now,
    /// while every other change of the registry waits (in every process or replica), and
    /// says its new permissions and the record of the change, or `None` when nothing changes
    /// (nothing is written), or refuses (nothing is written). Returns the system as kept
    /// after.
    fn change_permissions(
        &self,
        name: &SystemName,
        change: &dyn Fn(&System) -> Result<Option<PermissionChange>, StoreError>,
    ) -> Result<System, StoreError>;

    /// Every system, with the entries that are not readable systems.
    fn systems(&self) -> Result<SystemListing, StoreError>;

    /// The system with this name; [`StoreError::SystemNotFound`] if there is none.
    fn system(&self, name: &SystemName) -> Result<System, StoreError>;

    /// The certificates of `system` (`None` for a target system, which keeps none).
    fn store(&self, system: &System) -> Result<Option<Arc<dyn SystemBackend>>, StoreError>;

    /// The systems that hold the certificate with this fingerprint, those that trust it and
    /// those that suspended it, from an index kept in memory.
    fn identify(&self, fingerprint: &Fingerprint) -> Result<Identified, StoreError>;

    /// Where the backend stands now (cheap: at most one `stat`).
    fn marker(&self) -> Marker;

    /// Appends, durably, records of something that changed nothing (a refusal).
    fn append(&self, records: &[AuditRecord]) -> Result<(), StoreError>;

    /// The audit trail, newest first, filtered by `query`.
    fn history(&self, query: &HistoryQuery) -> Result<AuditHistory, StoreError>;

    /// The record of the import that added this certificate to this system, the latest if
    /// it was added more than once.
    fn import_record(
        &self,
        system: &SystemName,
        certificate: &CertificateName,
    ) -> Result<Option<AuditRecord>, StoreError>;

    /// How many certificates of a store made before registries existed wait to be adopted.
    fn legacy_certificates(&self) -> Result<usize, StoreError>;

    /// Moves those certificates into `system`; returns how many were moved.
    fn adopt_legacy(&self, system: &System) -> Result<usize, StoreError>;

    /// Writes one flush of last uses, each system's merged with what is kept (the newest
    /// of a certificate's wins). In memory there is nothing to write: the registry's record
    /// in memory is all there is.
    fn write_usage(&self, batch: &UsageBatch) -> Result<(), StoreError> {
        let _ = batch;
        Ok(())
    }

    /// The last uses kept for a system, and what of them could not be read.
    fn read_usage(&self, system: &SystemName) -> Result<SystemUsage, StoreError> {
        let _ = system;
        Ok(SystemUsage::default())
    }

    /// Forgets the last uses of a removed system, so that a system made later with its
    /// name starts with none.
    fn forget_usage(&self, system: &SystemName) -> Result<(), StoreError> {
        let _ = system;
        Ok(())
    }
}

/// One system's certificates as a backend keeps them. Every write is recorded with the
/// records its closure makes, as one with the change: both are made, or neither (on a
/// directory, a crash between the two leaves the record of a change that was not made,
/// never a change without its record).
pub(crate) trait SystemBackend: Send + Sync {
    /// The certificate with this name, if the system holds it.
    fn load(&self, name: &CertificateName) -> Result<Option<Certificate>, StoreError>;

    /// Every certificate of the system, and its damaged entries.
    fn load_all(&self) -> Result<CertificateListing, StoreError>;

    /// Stores the admitted certificates and the records `records` makes of their outcomes.
    fn store_all(
        &self,
        admitted: Admitted<'_>,
        records: &dyn Fn(&[ImportOutcome]) -> Vec<AuditRecord>,
    ) -> Result<Vec<ImportOutcome>, StoreError>;

    /// Removes a certificate (or damaged entry) and the records `records` makes of what was
    /// removed (the certificate, when it could be read).
    fn remove(
        &self,
        name: &CertificateName,
        records: &dyn Fn(Option<&Certificate>) -> Vec<AuditRecord>,
    ) -> Result<(), StoreError>;

    /// Every suspension of the system's certificates. (A suspension the backend cannot read
    /// is reported as one, so that the certificate stays refused: the safe side.)
    fn suspensions(&self) -> Result<Suspensions, StoreError>;

    /// The suspension of this certificate, if it is suspended.
    fn suspension(&self, name: &CertificateName) -> Result<Option<Suspension>, StoreError> {
        Ok(self.suspensions()?.remove(name))
    }

    /// Suspends a certificate the system holds ([`StoreError::NotFound`] otherwise), or
    /// replaces its suspension, with the records `records` makes of the certificate and the
    /// suspension replaced, as one change. Returns the suspension as kept (PostgreSQL keeps
    /// its time to the microsecond).
    fn suspend(
        &self,
        name: &CertificateName,
        suspension: &Suspension,
        records: &dyn Fn(&Certificate, Option<&Suspension>) -> Vec<AuditRecord>,
    ) -> Result<Suspension, StoreError>;

    /// Lifts the suspension of a certificate ([`StoreError::NotSuspended`] if it has none;
    /// [`StoreError::NotFound`] if the system does not hold it), with the records `records`
    /// makes of the certificate and the suspension lifted, as one change. Returns the
    /// suspension lifted.
    fn resume(
        &self,
        name: &CertificateName,
        records: &dyn Fn(&Certificate, &Suspension) -> Vec<AuditRecord>,
    ) -> Result<Suspension, StoreError>;
}
