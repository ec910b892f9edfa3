//! The index of a registry in memory or in a directory: which systems trust which
//! certificate, and the systems themselves. (On PostgreSQL the database's own index, kept
//! current by its listener, serves instead.)

use std::collections::{BTreeMap, HashMap, HashSet};

use super::Identified;
use crate::fingerprint::Fingerprint;
use crate::system::{System, SystemName};

/// Which systems trust which certificate, and the systems themselves.
#[derive(Debug, Default)]
pub(super) struct Index {
    pub(super) systems: BTreeMap<SystemName, System>,
    pub(super) trusted: HashMap<Fingerprint, Vec<SystemName>>,
    /// The certificates suspended in a system that holds them.
    pub(super) suspended: HashSet<(Fingerprint, SystemName)>,
}

impl Index {
    pub(super) fn trust(&mut self, fingerprint: Fingerprint, system: &SystemName) {
        let systems = self.trusted.entry(fingerprint).or_default();
        if let Err(position) = systems.binary_search(system) {
            systems.insert(position, system.clone());
        }
    }

    /// Marks a certificate the system holds as suspended there (`true`) or not.
    pub(super) fn suspend(
        &mut self,
        fingerprint: Fingerprint,
        system: &SystemName,
        suspended: bool,
    ) {
        if suspended {
            self.suspended.insert((fingerprint, system.clone()));
        } else {
            self.suspended.remove(&(fingerprint, system.clone()));
        }
    }

    pub(super) fn distrust(&mut self, fingerprint: &Fingerprint, system: &SystemName) {
        self.suspended.remove(&(*fingerprint, system.clone()));
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
        self.suspended.retain(|(_, system)| system != name);
        self.trusted.retain(|_, systems| {
            systems.retain(|system| system != name);
            !systems.is_empty()
        });
    }

    /// The systems that hold the certificate with this fingerprint, sorted by name: those
    /// that trust it and those that suspended it.
    pub(super) fn identify(&self, fingerprint: &Fingerprint) -> Identified {
        let mut identified = Identified::default();
        for name in self.trusted.get(fingerprint).into_iter().flatten() {
            if let Some(system) = self.systems.get(name) {
                if self.suspended.contains(&(*fingerprint, name.clone())) {
                    identified.suspended.push(system.clone());
                } else {
                    identified.trusting.push(system.clone());
                }
            }
        }
        identified
    }
}
