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

#[cfg(all(test, unix))]
mod tests {
    use crate::registry::Registry;
    use crate::store::{CertificateStore, ImportPolicy};
    use crate::system::SystemKind;
    use std::fs;
    use std::path::Path;
    use time::macros::datetime;

    /// A system directory replaced by a link (here to the very same directory, moved away)
    /// after the index was built, with no change marker rewritten: the certificate the
    /// verifier asks for is not read through the link, and the handshake finds no trust.
    #[test]
    fn a_system_replaced_by_a_link_is_never_read_through_it() {
        let scratch = std::env::temp_dir().join(format!(
            "inbound-certs-unit-swapped-system-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&scratch);
        let dir = scratch.join("registry");
        let now = datetime!(2026-06-01 0:00 UTC);
        let registry = Registry::create(&dir).unwrap();
        let crm = "crm".parse().unwrap();
        registry
            .create_system(&crm, SystemKind::Source, now)
            .unwrap();
        let upload =
            fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sample_source.pem"))
                .unwrap();
        let imported = registry
            .store(&crm)
            .unwrap()
            .import_upload(&upload, &ImportPolicy::new(now))
            .unwrap();
        let name = imported[0].name();
        assert!(registry.find_trusted(&name, |_| true).unwrap().is_some());

        let moved = scratch.join("moved");
        fs::rename(dir.join("systems/crm"), &moved).unwrap();
        std::os::unix::fs::symlink(&moved, dir.join("systems/crm")).unwrap();
        assert!(registry.find_trusted(&name, |_| true).unwrap().is_none());
        fs::remove_dir_all(&scratch).unwrap();
    }
}
