//! The in-memory backend of a [`Registry`](super::Registry): the systems in a map, each with
//! its [`MemoryStore`] (none for a target system). Nothing outlives the process.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::SystemListing;
use crate::store::{Admitted, CertificateStore, Imported, MemoryStore, StoreBackend, StoreError};
use crate::sync::MutexExt;
use crate::system::{System, SystemName};

/// A system kept in memory, with its store (none for a target system).
type InMemory = (System, Option<Arc<MemoryStore>>);

/// The systems of a registry in memory.
#[derive(Debug, Default)]
pub(super) struct Memory {
    systems: Mutex<BTreeMap<SystemName, InMemory>>,
}

impl Memory {
    /// Registers `system`, with an empty store if it accepts inbound certificates.
    pub(super) fn create_system(&self, system: &System) -> Result<(), StoreError> {
        let mut systems = self.systems.locked();
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
        Ok(())
    }

    /// Every system, sorted by name (none is ever damaged).
    pub(super) fn systems(&self) -> SystemListing {
        SystemListing {
            systems: self
                .systems
                .locked()
                .values()
                .map(|(system, _)| system.clone())
                .collect(),
            damaged: Vec::new(),
        }
    }

    /// The system with this name.
    pub(super) fn system(&self, name: &SystemName) -> Result<System, StoreError> {
        self.store(name).map(|(system, _)| system)
    }

    /// The system with this name and its store (none for a target system).
    pub(super) fn store(
        &self,
        name: &SystemName,
    ) -> Result<(System, Option<Arc<dyn StoreBackend>>), StoreError> {
        let systems = self.systems.locked();
        let (system, store) = systems
            .get(name)
            .ok_or_else(|| StoreError::SystemNotFound(name.clone()))?;
        Ok((
            system.clone(),
            store.clone().map(|store| store as Arc<dyn StoreBackend>),
        ))
    }

    /// Stores `admitted` into `store`, the store of system `name`, while no removal of the
    /// system can happen: refused with [`StoreError::SystemNotFound`] if `store` is no longer
    /// that system's (removed, or removed and created again).
    pub(super) fn store_all(
        &self,
        name: &SystemName,
        store: &Arc<dyn StoreBackend>,
        admitted: Admitted<'_>,
    ) -> Result<Vec<Imported>, StoreError> {
        let systems = self.systems.locked();
        let current = systems.get(name).and_then(|(_, current)| current.as_ref());
        if !current.is_some_and(|current| {
            std::ptr::eq(
                Arc::as_ptr(current).cast::<()>(),
                Arc::as_ptr(store).cast::<()>(),
            )
        }) {
            return Err(StoreError::SystemNotFound(name.clone()));
        }
        store.store_all(admitted)
    }

    /// Removes a system: refused while it holds certificates unless `with_certificates`.
    /// Returns how many certificates went with it.
    pub(super) fn remove_system(
        &self,
        name: &SystemName,
        with_certificates: bool,
    ) -> Result<usize, StoreError> {
        let mut systems = self.systems.locked();
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
        Ok(held)
    }
}
