//! [`MemoryStore`]: certificates in a map, for tests and for services that load them from
//! elsewhere.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::RwLock;

use crate::certificate::Certificate;
use crate::fingerprint::CertificateName;
use crate::store::{
    require_inbound, Admitted, CertificateListing, ImportOutcome, StoreBackend, StoreError,
};
use crate::sync::RwLockExt;
use crate::system::SystemKind;

/// A thread-safe in-memory store: `get` is a map lookup (O(log n)) returning a cheap clone.
///
/// ```
/// use inbound_certs::{CertificateStore, SystemKind, backend::MemoryStore};
///
/// let store = MemoryStore::new(SystemKind::Proxy)?;
/// assert!(store.list()?.certificates.is_empty());
/// assert!(MemoryStore::new(SystemKind::Target).is_err());
/// # Ok::<(), inbound_certs::StoreError>(())
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    kind: SystemKind,
    certificates: RwLock<BTreeMap<CertificateName, Certificate>>,
}

impl MemoryStore {
    /// An empty store for a source or proxy system; [`StoreError::NotInbound`] for a target.
    pub fn new(kind: SystemKind) -> Result<Self, StoreError> {
        require_inbound(kind)?;
        Ok(MemoryStore {
            kind,
            certificates: RwLock::new(BTreeMap::new()),
        })
    }
}

impl StoreBackend for MemoryStore {
    fn system_kind(&self) -> SystemKind {
        self.kind
    }

    fn store_all(&self, admitted: Admitted<'_>) -> Result<Vec<ImportOutcome>, StoreError> {
        // A panic elsewhere cannot leave the map half-updated: every write below is one insert.
        let mut map = self.certificates.writing();
        Ok(admitted
            .certificates()
            .iter()
            .map(|certificate| {
                let name = certificate.name();
                match map.entry(name) {
                    Entry::Occupied(_) => ImportOutcome::AlreadyPresent(name),
                    Entry::Vacant(slot) => {
                        slot.insert(certificate.clone());
                        ImportOutcome::Added(name)
                    }
                }
            })
            .collect())
    }

    fn load(&self, name: &CertificateName) -> Result<Option<Certificate>, StoreError> {
        let map = self.certificates.reading();
        Ok(map.get(name).cloned())
    }

    fn load_all(&self) -> Result<CertificateListing, StoreError> {
        let map = self.certificates.reading();
        Ok(CertificateListing {
            certificates: map.values().cloned().collect(),
            damaged: Vec::new(),
        })
    }

    fn remove(&self, name: &CertificateName) -> Result<(), StoreError> {
        let mut map = self.certificates.writing();
        match map.remove(name) {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound(*name)),
        }
    }
}
