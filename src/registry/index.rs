//! The index of a [`Registry`](super::Registry) in memory or in a directory: which systems
//! trust which certificate, and the systems themselves. (On PostgreSQL the database's own
//! index, kept current by its listener, serves instead.)

use std::collections::{BTreeMap, HashMap};

use super::directory::{Directory, Stamp};
use crate::fingerprint::Fingerprint;
use crate::store::{CertificateStore, StoreError};
use crate::system::{System, SystemName};

/// Which systems trust which certificate, and the systems themselves.
#[derive(Debug, Default)]
pub(super) struct Index {
    /// For a directory: whether the index was built from the directory, and the change
    /// marker it was built from (none before the first change).
    pub(super) built: bool,
    pub(super) stamp: Option<Stamp>,
    pub(super) systems: BTreeMap<SystemName, System>,
    pub(super) trusted: HashMap<Fingerprint, Vec<SystemName>>,
}

impl Index {
    pub(super) fn trust(&mut self, fingerprint: Fingerprint, system: &SystemName) {
        let systems = self.trusted.entry(fingerprint).or_default();
        if let Err(position) = systems.binary_search(system) {
            systems.insert(position, system.clone());
        }
    }

    pub(super) fn distrust(&mut self, fingerprint: &Fingerprint, system: &SystemName) {
        if let Some(systems) = self.trusted.get_mut(fingerprint) {
            systems.retain(|name| name != system);
            if systems.is_empty() {
                self.trusted.remove(fingerprint);
            }
        }
    }

    /// The index of the systems in `directory` and their certificates, marked as built from
    /// the change marker `stamp`.
    pub(super) fn of_directory(
        directory: &Directory,
        stamp: Option<Stamp>,
    ) -> Result<Index, StoreError> {
        let mut index = Index {
            built: true,
            stamp,
            ..Index::default()
        };
        // Odd systems are reported by the listing and left out; one whose store cannot be
        // read (changed or removed since it was listed) trusts nothing until the next
        // rebuild, and never stops the others from being identified.
        for system in directory.systems()?.systems {
            let store = match directory.store(&system) {
                Ok(store) => store,
                Err(_) => continue,
            };
            if let Some(store) = store {
                let Ok(listing) = store.list() else {
                    continue;
                };
                for certificate in listing.certificates {
                    index.trust(certificate.fingerprint(), system.name());
                }
            }
            index.systems.insert(system.name().clone(), system);
        }
        Ok(index)
    }
}
