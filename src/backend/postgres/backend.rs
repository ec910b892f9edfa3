//! The registry's backend on PostgreSQL: [`Database`] and [`SystemRows`] behind the
//! backend traits. Every change is one transaction that inserts its audit records.

use std::sync::Arc;

use super::{Database, SystemRows};
use crate::audit::{AuditHistory, AuditRecord, HistoryQuery};
use crate::backend::{
    Identified, Marker, RegistryBackend, Suspensions, SystemBackend, SystemListing,
};
use crate::certificate::Certificate;
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::store::{
    Admitted, CertificateListing, ImportOutcome, StoreBackend, StoreError, Suspension,
};
use crate::system::{System, SystemName};

impl RegistryBackend for Database {
    fn create_system(
        &self,
        system: &System,
        record: &dyn Fn() -> AuditRecord,
    ) -> Result<System, StoreError> {
        Database::create_system(self, system, record)
    }

    fn change_permissions(
        &self,
        name: &SystemName,
        change: &dyn Fn(&System) -> Result<Option<crate::backend::PermissionChange>, StoreError>,
    ) -> Result<System, StoreError> {
        Database::change_permissions(self, name, change)
    }

    fn remove_system(
        &self,
        name: &SystemName,
        with_certificates: bool,
        record: &dyn Fn(usize) -> AuditRecord,
    ) -> Result<usize, StoreError> {
        Database::remove_system(self, name, with_certificates, record)
    }

    fn systems(&self) -> Result<SystemListing, StoreError> {
        let (systems, damaged) = Database::systems(self);
        Ok(SystemListing { systems, damaged })
    }

    fn system(&self, name: &SystemName) -> Result<System, StoreError> {
        Database::system(self, name)
    }

    fn store(&self, system: &System) -> Result<Option<Arc<dyn SystemBackend>>, StoreError> {
        let (_, rows) = Database::store(self, system.name())?;
        Ok(rows.map(|rows| rows as Arc<dyn SystemBackend>))
    }

    fn identify(&self, fingerprint: &Fingerprint) -> Result<Identified, StoreError> {
        Ok(Database::identify(self, fingerprint))
    }

    fn marker(&self) -> Marker {
        Marker::Revision(self.revision())
    }

    fn append(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        self.audit_table().append(records)
    }

    fn history(&self, query: &HistoryQuery) -> Result<AuditHistory, StoreError> {
        self.audit_table().history(query)
    }

    fn import_record(
        &self,
        system: &SystemName,
        certificate: &CertificateName,
    ) -> Result<Option<AuditRecord>, StoreError> {
        Ok(self
            .audit_table()
            .history(&HistoryQuery::new().system(system.clone()))?
            .records
            .into_iter()
            .find(|record| record.is_import_of(system, certificate)))
    }

    fn legacy_certificates(&self) -> Result<usize, StoreError> {
        Ok(Database::legacy_certificates(self))
    }

    fn write_usage(&self, batch: &crate::backend::usage::UsageBatch) -> Result<(), StoreError> {
        Database::write_usage(self, batch)
    }

    fn read_usage(
        &self,
        system: &SystemName,
    ) -> Result<crate::backend::usage::SystemUsage, StoreError> {
        Database::read_usage(self, system)
    }

    fn forget_usage(&self, system: &SystemName) -> Result<(), StoreError> {
        Database::forget_usage(self, system)
    }

    fn adopt_legacy(&self, system: &System) -> Result<usize, StoreError> {
        Database::adopt_legacy(self, system.name())
    }
}

impl SystemBackend for SystemRows {
    fn load(&self, name: &CertificateName) -> Result<Option<Certificate>, StoreError> {
        StoreBackend::load(self, name)
    }

    fn load_all(&self) -> Result<CertificateListing, StoreError> {
        StoreBackend::load_all(self)
    }

    fn store_all(
        &self,
        admitted: Admitted<'_>,
        records: &dyn Fn(&[ImportOutcome]) -> Vec<AuditRecord>,
    ) -> Result<Vec<ImportOutcome>, StoreError> {
        self.store_all_audited(admitted, records)
    }

    fn remove(
        &self,
        name: &CertificateName,
        records: &dyn Fn(Option<&Certificate>) -> Vec<AuditRecord>,
    ) -> Result<(), StoreError> {
        // The delete's transaction inserts the records, under the revision lock.
        let certificate = StoreBackend::load(self, name).ok().flatten();
        self.remove_audited(name, &|| records(certificate.as_ref()))
    }

    fn suspensions(&self) -> Result<Suspensions, StoreError> {
        SystemRows::suspensions(self)
    }

    fn suspend(
        &self,
        name: &CertificateName,
        suspension: &Suspension,
        records: &dyn Fn(&Certificate, Option<&Suspension>) -> Vec<AuditRecord>,
    ) -> Result<Suspension, StoreError> {
        SystemRows::suspend(self, name, suspension, records)
    }

    fn resume(
        &self,
        name: &CertificateName,
        records: &dyn Fn(&Certificate, &Suspension) -> Vec<AuditRecord>,
    ) -> Result<Suspension, StoreError> {
        SystemRows::resume(self, name, records)
    }
}
