//! The in-memory backend: the systems in a map, each with its [`MemoryStore`] (none for a
//! target system), an index of which systems trust which certificate, and the newest
//! records of the audit trail. Nothing outlives the process.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};

use super::index::Index;
use super::{
    Identified, Marker, PermissionChange, RegistryBackend, Suspensions, SystemBackend,
    SystemListing,
};
use crate::audit::{AuditHistory, AuditRecord, HistoryQuery};
use crate::certificate::Certificate;
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::store::{
    Admitted, CertificateListing, CertificateStore, ImportOutcome, StoreBackend, StoreError,
    Suspension,
};
use crate::sync::{MutexExt, RwLockExt};
use crate::system::{System, SystemName};

mod store;

pub use store::MemoryStore;

/// Records an in-memory registry keeps; the oldest go first.
pub(crate) const MEMORY_RECORDS: usize = 10_000;

/// A system kept in memory, with its store (none for a target system).
type InMemory = (System, Option<Arc<MemoryStore>>);

/// A registry's systems, index and audit trail, in memory.
#[derive(Debug, Default)]
pub(crate) struct MemoryBackend {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    systems: Mutex<BTreeMap<SystemName, InMemory>>,
    index: RwLock<Index>,
    audit: Mutex<VecDeque<AuditRecord>>,
    /// The suspensions of each system's certificates (changed while `systems` is held).
    suspensions: Mutex<BTreeMap<SystemName, Suspensions>>,
}

impl Shared {
    fn push(&self, records: &[AuditRecord]) {
        let mut log = self.audit.locked();
        for record in records {
            if log.len() == MEMORY_RECORDS {
                log.pop_front();
            }
            log.push_back(record.bounded());
        }
    }
}

impl RegistryBackend for MemoryBackend {
    fn create_system(
        &self,
        system: &System,
        record: &dyn Fn() -> AuditRecord,
    ) -> Result<System, StoreError> {
        let mut systems = self.shared.systems.locked();
        if systems.contains_key(system.name()) {
            return Err(StoreError::SystemExists(system.name().clone()));
        }
        let kind = system.kind();
        let store = if kind.accepts_inbound() {
            Some(Arc::new(MemoryStore::new(kind)?))
        } else {
            None
        };
        systems.insert(system.name().clone(), (system.clone(), store));
        self.shared
            .index
            .writing()
            .systems
            .insert(system.name().clone(), system.clone());
        self.shared.push(&[record()]);
        Ok(system.clone())
    }

    fn remove_system(
        &self,
        name: &SystemName,
        with_certificates: bool,
        record: &dyn Fn(usize) -> AuditRecord,
    ) -> Result<usize, StoreError> {
        let mut systems = self.shared.systems.locked();
        let (_, store) = systems
            .get(name)
            .ok_or_else(|| StoreError::SystemNotFound(name.clone()))?;
        let held = match store {
            Some(store) => store.list()?.certificates.len(),
            None => 0,
        };
        if held > 0 && !with_certificates {
            return Err(StoreError::SystemNotEmpty {
                name: name.clone(),
                certificates: held,
            });
        }
        systems.remove(name);
        self.shared.suspensions.locked().remove(name);
        self.shared.index.writing().remove_system(name);
        self.shared.push(&[record(held)]);
        Ok(held)
    }

    fn change_permissions(
        &self,
        name: &SystemName,
        change: &dyn Fn(&System) -> Result<Option<PermissionChange>, StoreError>,
    ) -> Result<System, StoreError> {
        let mut systems = self.shared.systems.locked();
        let (system, _) = systems
            .get_mut(name)
            .ok_or_else(|| StoreError::SystemNotFound(name.clone()))?;
        let Some((permissions, record)) = change(system)? else {
            return Ok(system.clone());
        };
        *system = system.clone().with_permissions(permissions);
        let changed = system.clone();
        self.shared
            .index
            .writing()
            .systems
            .insert(name.clone(), changed.clone());
        self.shared.push(&[record]);
        Ok(changed)
    }

    fn systems(&self) -> Result<SystemListing, StoreError> {
        Ok(SystemListing {
            systems: self
                .shared
                .systems
                .locked()
                .values()
                .map(|(system, _)| system.clone())
                .collect(),
            damaged: Vec::new(),
        })
    }

    fn system(&self, name: &SystemName) -> Result<System, StoreError> {
        self.shared
            .systems
            .locked()
            .get(name)
            .map(|(system, _)| system.clone())
            .ok_or_else(|| StoreError::SystemNotFound(name.clone()))
    }

    fn store(&self, system: &System) -> Result<Option<Arc<dyn SystemBackend>>, StoreError> {
        let systems = self.shared.systems.locked();
        let (_, store) = systems
            .get(system.name())
            .ok_or_else(|| StoreError::SystemNotFound(system.name().clone()))?;
        Ok(store.as_ref().map(|store| {
            Arc::new(MemorySystem {
                name: system.name().clone(),
                store: Arc::clone(store),
                shared: Arc::clone(&self.shared),
            }) as Arc<dyn SystemBackend>
        }))
    }

    fn identify(&self, fingerprint: &Fingerprint) -> Result<Identified, StoreError> {
        Ok(self.shared.index.reading().identify(fingerprint))
    }

    fn marker(&self) -> Marker {
        Marker::Unshared
    }

    fn append(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        self.shared.push(records);
        Ok(())
    }

    fn history(&self, query: &HistoryQuery) -> Result<AuditHistory, StoreError> {
        let log = self.shared.audit.locked();
        Ok(AuditHistory {
            records: log
                .iter()
                .rev()
                .filter(|record| query.matches(record))
                .take(query.limit.unwrap_or(usize::MAX))
                .cloned()
                .collect(),
            ..AuditHistory::default()
        })
    }

    fn import_record(
        &self,
        system: &SystemName,
        certificate: &CertificateName,
    ) -> Result<Option<AuditRecord>, StoreError> {
        Ok(self
            .shared
            .audit
            .locked()
            .iter()
            .rev()
            .find(|record| record.is_import_of(system, certificate))
            .cloned())
    }

    fn legacy_certificates(&self) -> Result<usize, StoreError> {
        Ok(0)
    }

    fn adopt_legacy(&self, _system: &System) -> Result<usize, StoreError> {
        Ok(0)
    }
}

/// One system's store in memory, as the registry hands it out.
struct MemorySystem {
    name: SystemName,
    store: Arc<MemoryStore>,
    shared: Arc<Shared>,
}

impl SystemBackend for MemorySystem {
    fn load(&self, name: &CertificateName) -> Result<Option<Certificate>, StoreError> {
        self.store.load(name)
    }

    fn load_all(&self) -> Result<CertificateListing, StoreError> {
        self.store.load_all()
    }

    fn store_all(
        &self,
        admitted: Admitted<'_>,
        records: &dyn Fn(&[ImportOutcome]) -> Vec<AuditRecord>,
    ) -> Result<Vec<ImportOutcome>, StoreError> {
        // Held while storing, so that a removal of the system comes before or after; refused
        // if this store is no longer the system's (removed, or removed and created again).
        let systems = self.shared.systems.locked();
        let current = systems
            .get(&self.name)
            .and_then(|(_, store)| store.as_ref());
        if !current.is_some_and(|current| Arc::ptr_eq(current, &self.store)) {
            return Err(StoreError::SystemNotFound(self.name.clone()));
        }
        let outcomes = self.store.store_all(admitted)?;
        {
            let mut index = self.shared.index.writing();
            for certificate in admitted.certificates() {
                index.trust(certificate.fingerprint(), &self.name);
            }
        }
        // In memory the trail cannot fail: stored, then recorded as it happened.
        self.shared.push(&records(&outcomes));
        Ok(outcomes)
    }

    fn remove(
        &self,
        name: &CertificateName,
        records: &dyn Fn(Option<&Certificate>) -> Vec<AuditRecord>,
    ) -> Result<(), StoreError> {
        let systems = self.shared.systems.locked();
        let current = systems
            .get(&self.name)
            .and_then(|(_, store)| store.as_ref());
        if !current.is_some_and(|current| Arc::ptr_eq(current, &self.store)) {
            return Err(StoreError::NotFound(*name));
        }
        let certificate = self.store.load(name)?.ok_or(StoreError::NotFound(*name))?;
        self.store.remove(name)?;
        // A deleted certificate's suspension goes with it.
        if let Some(suspensions) = self.shared.suspensions.locked().get_mut(&self.name) {
            suspensions.remove(name);
        }
        self.shared
            .index
            .writing()
            .distrust(&name.fingerprint(), &self.name);
        self.shared.push(&records(Some(&certificate)));
        Ok(())
    }

    fn suspensions(&self) -> Result<Suspensions, StoreError> {
        let systems = self.shared.systems.locked();
        self.check_current(&systems)?;
        Ok(self
            .shared
            .suspensions
            .locked()
            .get(&self.name)
            .cloned()
            .unwrap_or_default())
    }

    fn suspend(
        &self,
        name: &CertificateName,
        suspension: &Suspension,
        records: &dyn Fn(&Certificate, Option<&Suspension>) -> Vec<AuditRecord>,
    ) -> Result<Suspension, StoreError> {
        let systems = self.shared.systems.locked();
        self.check_current(&systems)?;
        let certificate = self.store.load(name)?.ok_or(StoreError::NotFound(*name))?;
        let mut suspensions = self.shared.suspensions.locked();
        let held = suspensions.entry(self.name.clone()).or_default();
        let records = records(&certificate, held.get(name));
        held.insert(*name, suspension.clone());
        self.shared
            .index
            .writing()
            .suspend(name.fingerprint(), &self.name, true);
        self.shared.push(&records);
        Ok(suspension.clone())
    }

    fn resume(
        &self,
        name: &CertificateName,
        records: &dyn Fn(&Certificate, &Suspension) -> Vec<AuditRecord>,
    ) -> Result<Suspension, StoreError> {
        let systems = self.shared.systems.locked();
        self.check_current(&systems)?;
        let certificate = self.store.load(name)?.ok_or(StoreError::NotFound(*name))?;
        let mut suspensions = self.shared.suspensions.locked();
        let lifted = suspensions
            .get_mut(&self.name)
            .and_then(|held| held.remove(name))
            .ok_or(StoreError::NotSuspended(*name))?;
        self.shared
            .index
            .writing()
            .suspend(name.fingerprint(), &self.name, false);
        self.shared.push(&records(&certificate, &lifted));
        Ok(lifted)
    }
}

impl MemorySystem {
    /// [`StoreError::SystemNotFound`] if this store is no longer the system's (removed, or
    /// removed and created again), checked while the systems are held.
    fn check_current(&self, systems: &BTreeMap<SystemName, InMemory>) -> Result<(), StoreError> {
        let current = systems
            .get(&self.name)
            .and_then(|(_, store)| store.as_ref());
        if current.is_some_and(|current| Arc::ptr_eq(current, &self.store)) {
            Ok(())
        } else {
            Err(StoreError::SystemNotFound(self.name.clone()))
        }
    }
}
