//! The index of a registry in memory or in a directory: which systems trust which
//! certificate, and the systems themselves. (On PostgreSQL the database's own index, kept
//! current by its listener, serves instead.)

use std::collections::{BTreeMap, HashMap};

use crate::fingerprint::Fingerprint;
use crate::system::{System, SystemName};

/// Which systems trust which certificate, and the systems themselves.
#[derive(Debug, Default)]
pub(super) struct Index {
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

    /// Forgets a removed system and every trust it gave.
    pub(super) fn remove_system(&mut self, name: &SystemName) {
        self.systems.remove(name);
        self.trusted.retain(|_, systems| {
            systems.retain(|system| system != name);
            !systems.is_empty()
        });
    }

    /// The systems that trust the certificate with this fingerprint, sorted by name.
    pub(super) fn identify(&self, fingerprint: &Fingerprint) -> Vec<System> {
        self.trusted
            .get(fingerprint)
            .map(|names| {
                names
                    .iter()
                    .filter_map(|name| self.systems.get(name).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }
}
