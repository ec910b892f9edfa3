//! The directory backend:
//!
//! ```text
//! DIR/.lock                               creators and removers of systems take turns on it
//! DIR/.changes                            rewritten (new inode) after every change
//! DIR/systems/<name>/system               manifest: kind, creation time, permissions
//! DIR/systems/<name>/cert_client_….der    the system's certificates (a FileStore)
//! DIR/systems/<name>/cert_client_….suspended  a certificate's suspension (see suspensions.rs)
//! DIR/systems/.new-…, .removed-…          a system being made or removed; never listed
//! DIR/audit/…                             the audit trail: JSON Lines files
//! ```
//!
//! [`systems`] keeps the systems, [`store`] one system's certificates, [`audit`] the trail;
//! this module ties them together: every change is recorded, then made, under the trail's
//! lock, and the index of which systems trust which certificate follows every change (this
//! process's at once, other processes' through the change marker).

use std::path::Path;
use std::sync::{Arc, RwLock};

use super::index::Index;
use super::{
    Identified, Marker, PermissionChange, RegistryBackend, Suspensions, SystemBackend,
    SystemListing,
};
use crate::audit::{AuditHistory, AuditRecord, HistoryQuery};
use crate::certificate::Certificate;
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::store::{
    Admitted, CertificateListing, ImportOutcome, StoreBackend, StoreError, Suspension,
};
use crate::sync::RwLockExt;
use crate::system::{System, SystemName};

mod audit;
pub(crate) mod store;
mod suspensions;
mod systems;
mod usage;

use audit::AuditFiles;
pub use store::{FileStore, FileStoreOptions};
use systems::{Directory, Stamp, Touched};

/// A registry's systems, index and audit trail in a directory.
#[derive(Debug)]
pub(crate) struct FsBackend {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    directory: Directory,
    audit: AuditFiles,
    index: RwLock<Indexed>,
    usage: usage::UsageFiles,
}

/// The index, and where the directory stood when it was built.
#[derive(Debug, Default)]
struct Indexed {
    index: Index,
    /// Whether the index was built from the directory, and the change marker it was built
    /// from (none before the first change).
    built: bool,
    stamp: Option<Stamp>,
}

impl FsBackend {
    /// Opens (or with [`FileStoreOptions::create`], creates) the registry in a directory,
    /// and builds its index.
    pub(crate) fn open(dir: &Path, options: &FileStoreOptions) -> Result<Self, StoreError> {
        let directory = Directory::open(dir, options)?;
        let audit = AuditFiles::open(dir, options.is_shared_group(), audit::ROTATE_AT)?;
        let backend = FsBackend {
            shared: Arc::new(Shared {
                directory,
                audit,
                index: RwLock::new(Indexed::default()),
                usage: usage::UsageFiles::new(dir, options.is_shared_group()),
            }),
        };
        backend.shared.refresh(true)?;
        Ok(backend)
    }
}

impl Shared {
    /// Records a change, then makes it, so that the change and the trail agree. Under the
    /// trail's lock (which every change of the registry takes, in every process, and holds
    /// until it is recorded: nothing changes meanwhile, and the trail's order is the order
    /// of the changes), `records` says what the change will do (or refuses it, and nothing
    /// is written); they are written and synced (if they cannot be, the change is not made:
    /// [`StoreError::NotAudited`]); then `change` is made; if it fails, the records are
    /// taken back (the file cut back to where they began) and the change's error returned.
    /// A crash between the record and the change leaves a record of a change that was not
    /// made, never a change without its record.
    fn record_then_change<T>(
        &self,
        records: impl FnOnce() -> Result<Vec<AuditRecord>, StoreError>,
        change: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut append = self
            .audit
            .begin()
            .map_err(|error| StoreError::NotAudited(Box::new(error)))?;
        let records = records()?;
        append
            .write(&records)
            .map_err(|error| StoreError::NotAudited(Box::new(error)))?;
        match change() {
            Ok(value) => {
                self.audit.finish(append, &records);
                Ok(value)
            }
            Err(error) => {
                // If even this fails, the trail keeps a record of a change that was not
                // made: the safe side.
                let _ = append.take_back();
                Err(error)
            }
        }
    }

    /// Rebuilds the index from the directory if another process changed the registry (or
    /// `always`).
    fn refresh(&self, always: bool) -> Result<(), StoreError> {
        let stamp = self.directory.stamp();
        {
            let indexed = self.index.reading();
            if !always && indexed.built && indexed.stamp == stamp {
                return Ok(());
            }
        }
        // Built from a stamp taken before reading: a change made during the rebuild moves
        // the marker again, and the next call rebuilds once more.
        let rebuilt = Indexed {
            index: self.index_of_directory()?,
            built: true,
            stamp,
        };
        *self.index.writing() = rebuilt;
        Ok(())
    }

    /// The index of the systems in the directory and their certificates.
    fn index_of_directory(&self) -> Result<Index, StoreError> {
        let mut index = Index::default();
        // Odd systems are reported by the listing and left out; one whose store cannot be
        // read (changed or removed since it was listed) trusts nothing until the next
        // rebuild, and never stops the others from being identified.
        for system in self.directory.systems()?.systems {
            let store = match self.directory.store(&system) {
                Ok(store) => store,
                Err(_) => continue,
            };
            if let Some(store) = store {
                let Ok(listing) = store.load_all() else {
                    continue;
                };
                for certificate in &listing.certificates {
                    index.trust(certificate.fingerprint(), system.name());
                }
                // A system whose suspensions cannot be listed trusts nothing until the next
                // rebuild: never a suspended certificate.
                let Ok(suspended) = suspensions::read_all(store.dir(), store.shares_group()) else {
                    for certificate in &listing.certificates {
                        index.distrust(&certificate.fingerprint(), system.name());
                    }
                    continue;
                };
                for name in suspended.keys() {
                    if holds(&listing, name) {
                        index.suspend(name.fingerprint(), system.name(), true);
                    }
                }
            }
            index.systems.insert(system.name().clone(), system);
        }
        Ok(index)
    }

    /// After a change through this process: tells the other processes sharing the registry
    /// and applies the change to the index (`update`), as [`record_change`] does.
    ///
    /// [`record_change`]: Self::record_change
    fn changed(&self, update: impl FnOnce(&mut Index)) {
        // Written before the index is locked: `identify` never waits for a file system call.
        let touched = self.directory.touch();
        self.record_change(touched, update);
    }

    /// Applies a change made through this process to the index (`update`). The index then
    /// carries the marker this process wrote (`touched`), so its own next `identify` does
    /// not rebuild, unless the marker it replaced is not the one the index was built from
    /// (another process changed the registry meanwhile, or a rebuild from an older marker
    /// raced with this change).
    fn record_change(&self, touched: Option<Touched>, update: impl FnOnce(&mut Index)) {
        let mut indexed = self.index.writing();
        update(&mut indexed.index);
        if let Some(touched) = touched {
            if indexed.built && touched.replaced == Some(indexed.stamp) {
                indexed.stamp = Some(touched.written);
            }
        }
    }

    /// The certificates of the system with this name (none for a target system), as a
    /// listing.
    fn holdings(&self, name: &SystemName) -> Result<CertificateListing, StoreError> {
        let system = self.directory.system(name)?;
        match self.directory.store(&system)? {
            Some(store) => store.load_all().map_err(|error| system_error(name, error)),
            None => Ok(CertificateListing::default()),
        }
    }
}

/// Whether a listing (its certificates sorted by name) holds this certificate.
fn holds(listing: &CertificateListing, name: &CertificateName) -> bool {
    listing
        .certificates
        .binary_search_by_key(name, Certificate::name)
        .is_ok()
}

/// A removed system's directory is gone: say which system, not which path.
fn system_error(system: &SystemName, error: StoreError) -> StoreError {
    match error {
        StoreError::NoDirectory(_) => StoreError::SystemNotFound(system.clone()),
        other => other,
    }
}

impl RegistryBackend for FsBackend {
    fn create_system(
        &self,
        system: &System,
        record: &dyn Fn() -> AuditRecord,
    ) -> Result<System, StoreError> {
        let shared = &self.shared;
        let name = system.name();
        // Recorded, then made: a name already taken is refused before anything is written.
        let touched = shared.record_then_change(
            || match shared.directory.system(name) {
                Err(StoreError::SystemNotFound(_)) => Ok(vec![record()]),
                Ok(_) | Err(StoreError::Damaged(_)) => Err(StoreError::SystemExists(name.clone())),
                Err(error) => Err(error),
            },
            || shared.directory.create_system(system),
        )?;
        shared.record_change(touched, |index| {
            index.systems.insert(name.clone(), system.clone());
        });
        Ok(system.clone())
    }

    fn remove_system(
        &self,
        name: &SystemName,
        with_certificates: bool,
        record: &dyn Fn(usize) -> AuditRecord,
    ) -> Result<usize, StoreError> {
        let shared = &self.shared;
        // Recorded, then removed: under the trail's lock nothing is imported meanwhile, so
        // the count recorded is the count removed.
        let (removed, touched) = shared.record_then_change(
            || {
                let held = shared.holdings(name)?;
                let count = held.certificates.len();
                if !with_certificates && count + held.damaged.len() > 0 {
                    return Err(StoreError::SystemNotEmpty {
                        name: name.clone(),
                        certificates: count + held.damaged.len(),
                    });
                }
                Ok(vec![record(count)])
            },
            || shared.directory.remove_system(name, with_certificates),
        )?;
        shared.audit.forget_system(name);
        shared.record_change(touched, |index| index.remove_system(name));
        Ok(removed)
    }

    fn change_permissions(
        &self,
        name: &SystemName,
        change: &dyn Fn(&System) -> Result<Option<PermissionChange>, StoreError>,
    ) -> Result<System, StoreError> {
        let shared = &self.shared;
        // The system as it will be, and whether its manifest is to be rewritten: decided
        // under the trail's lock, which every change in every process takes.
        let planned: std::cell::RefCell<Option<(System, bool)>> = std::cell::RefCell::new(None);
        let touched = shared.record_then_change(
            || {
                let system = shared.directory.system(name)?;
                Ok(match change(&system)? {
                    Some((permissions, record)) => {
                        *planned.borrow_mut() = Some((system.with_permissions(permissions), true));
                        vec![record]
                    }
                    None => {
                        *planned.borrow_mut() = Some((system, false));
                        Vec::new()
                    }
                })
            },
            || match &*planned.borrow() {
                Some((system, true)) => shared.directory.write_manifest(system).map(Some),
                _ => Ok(None),
            },
        )?;
        let Some((system, changed)) = planned.into_inner() else {
            return Err(StoreError::SystemNotFound(name.clone()));
        };
        if changed {
            shared.record_change(touched.flatten(), |index| {
                index.systems.insert(name.clone(), system.clone());
            });
        }
        Ok(system)
    }

    fn systems(&self) -> Result<SystemListing, StoreError> {
        self.shared.directory.systems()
    }

    fn system(&self, name: &SystemName) -> Result<System, StoreError> {
        self.shared.directory.system(name)
    }

    fn store(&self, system: &System) -> Result<Option<Arc<dyn SystemBackend>>, StoreError> {
        Ok(self.shared.directory.store(system)?.map(|store| {
            Arc::new(FsSystem {
                name: system.name().clone(),
                store,
                shared: Arc::clone(&self.shared),
            }) as Arc<dyn SystemBackend>
        }))
    }

    fn identify(&self, fingerprint: &Fingerprint) -> Result<Identified, StoreError> {
        self.shared.refresh(false)?;
        Ok(self.shared.index.reading().index.identify(fingerprint))
    }

    fn marker(&self) -> Marker {
        Marker::File(self.shared.directory.stamp().map(Stamp::parts))
    }

    fn append(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut append = self.shared.audit.begin()?;
        append.write(records)?;
        self.shared.audit.finish(append, records);
        Ok(())
    }

    fn history(&self, query: &HistoryQuery) -> Result<AuditHistory, StoreError> {
        Ok(self
            .shared
            .audit
            .history(query, query.limit.unwrap_or(usize::MAX)))
    }

    fn import_record(
        &self,
        system: &SystemName,
        certificate: &CertificateName,
    ) -> Result<Option<AuditRecord>, StoreError> {
        Ok(self.shared.audit.import_record(system, certificate))
    }

    fn legacy_certificates(&self) -> Result<usize, StoreError> {
        Ok(self.shared.directory.legacy_files()?.len())
    }

    fn adopt_legacy(&self, system: &System) -> Result<usize, StoreError> {
        let moved = self.shared.directory.adopt_legacy(system)?;
        self.shared.refresh(true)?;
        Ok(moved)
    }

    fn write_usage(&self, batch: &crate::backend::usage::UsageBatch) -> Result<(), StoreError> {
        self.shared.usage.write(batch)
    }

    fn read_usage(
        &self,
        system: &SystemName,
    ) -> Result<crate::backend::usage::SystemUsage, StoreError> {
        self.shared.usage.read(system)
    }

    fn forget_usage(&self, system: &SystemName) -> Result<(), StoreError> {
        self.shared.usage.forget(system)
    }
}

/// One system's store in a directory, as the registry hands it out.
struct FsSystem {
    name: SystemName,
    store: Arc<FileStore>,
    shared: Arc<Shared>,
}

impl SystemBackend for FsSystem {
    fn load(&self, name: &CertificateName) -> Result<Option<Certificate>, StoreError> {
        self.store
            .load(name)
            .map_err(|error| system_error(&self.name, error))
    }

    fn load_all(&self) -> Result<CertificateListing, StoreError> {
        self.store
            .load_all()
            .map_err(|error| system_error(&self.name, error))
    }

    fn store_all(
        &self,
        admitted: Admitted<'_>,
        records: &dyn Fn(&[ImportOutcome]) -> Vec<AuditRecord>,
    ) -> Result<Vec<ImportOutcome>, StoreError> {
        let certificates = admitted.certificates();
        // Recorded, then stored: under the trail's lock, which every writer of the registry
        // waits for, what the store holds cannot change, so the outcome each certificate
        // will have is known before it is stored (as the store decides it: a certificate
        // given twice is added once; a damaged entry is replaced). The file store checks,
        // under its own lock, that its directory is still the one it opened.
        let outcomes = self.shared.record_then_change(
            || {
                let mut seen = std::collections::HashSet::with_capacity(certificates.len());
                let mut outcomes = Vec::with_capacity(certificates.len());
                for certificate in certificates {
                    let name = certificate.name();
                    let added = seen.insert(name)
                        && match self.store.load(&name) {
                            Ok(None) | Err(StoreError::Damaged(_)) => true,
                            Ok(Some(_)) => false,
                            Err(error) => return Err(system_error(&self.name, error)),
                        };
                    outcomes.push(if added {
                        ImportOutcome::Added(name)
                    } else {
                        ImportOutcome::AlreadyPresent(name)
                    });
                }
                Ok(records(&outcomes))
            },
            || {
                self.store
                    .store_all(admitted)
                    .map_err(|error| system_error(&self.name, error))
            },
        )?;
        // A certificate added (not held before) starts trusted, as on every backend: a
        // suspension file left behind by a delete that crashed before removing it is removed
        // now. If it cannot be, the certificate stays suspended (the safe side), and the
        // index says so.
        let still_suspended: Vec<CertificateName> = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, ImportOutcome::Added(_)))
            .map(ImportOutcome::name)
            .filter(|name| suspensions::remove(self.store.dir(), name).is_err())
            .collect();
        // Certificates already present change nothing: no marker, no rebuild anywhere.
        if outcomes
            .iter()
            .any(|outcome| matches!(outcome, ImportOutcome::Added(_)))
        {
            self.shared.changed(|index| {
                for certificate in certificates {
                    index.trust(certificate.fingerprint(), &self.name);
                }
                for name in &still_suspended {
                    index.suspend(name.fingerprint(), &self.name, true);
                }
            });
        }
        Ok(outcomes)
    }

    fn remove(
        &self,
        name: &CertificateName,
        records: &dyn Fn(Option<&Certificate>) -> Vec<AuditRecord>,
    ) -> Result<(), StoreError> {
        self.shared.record_then_change(
            || {
                // Read under the lock: what is removed is what the record names. A damaged
                // entry is removed and recorded by its name alone.
                let certificate = match self.store.load(name) {
                    Ok(Some(certificate)) => Some(certificate),
                    Ok(None) => return Err(StoreError::NotFound(*name)),
                    Err(_) => None,
                };
                Ok(records(certificate.as_ref()))
            },
            || {
                self.store
                    .remove(name)
                    .map_err(|error| system_error(&self.name, error))?;
                // A deleted certificate's suspension goes with it (a crash before this leaves
                // it behind, suspending nothing, until an import of the certificate removes
                // it).
                suspensions::remove(self.store.dir(), name)
                    .map_err(|error| system_error(&self.name, error))
            },
        )?;
        self.shared
            .changed(|index| index.distrust(&name.fingerprint(), &self.name));
        Ok(())
    }

    fn suspensions(&self) -> Result<Suspensions, StoreError> {
        let held = self.load_all()?;
        let mut suspensions = suspensions::read_all(self.store.dir(), self.store.shares_group())
            .map_err(|error| system_error(&self.name, error))?;
        // Only those of certificates the system holds (one left behind by a crash during a
        // delete suspends nothing, and is removed when its certificate is imported again).
        suspensions.retain(|name, _| holds(&held, name));
        Ok(suspensions)
    }

    fn suspension(&self, name: &CertificateName) -> Result<Option<Suspension>, StoreError> {
        if self.load(name)?.is_none() {
            return Ok(None);
        }
        Ok(suspensions::read_one(
            self.store.dir(),
            name,
            self.store.shares_group(),
        ))
    }

    fn suspend(
        &self,
        name: &CertificateName,
        suspension: &Suspension,
        records: &dyn Fn(&Certificate, Option<&Suspension>) -> Vec<AuditRecord>,
    ) -> Result<Suspension, StoreError> {
        self.shared.record_then_change(
            || {
                let certificate = self.load(name)?.ok_or(StoreError::NotFound(*name))?;
                let previous = self.suspension(name)?;
                Ok(records(&certificate, previous.as_ref()))
            },
            || {
                self.store
                    .while_locked(|store| {
                        suspensions::write(store.dir(), name, suspension, store.shares_group())
                    })
                    .map_err(|error| system_error(&self.name, error))
            },
        )?;
        self.shared
            .changed(|index| index.suspend(name.fingerprint(), &self.name, true));
        Ok(suspension.clone())
    }

    fn resume(
        &self,
        name: &CertificateName,
        records: &dyn Fn(&Certificate, &Suspension) -> Vec<AuditRecord>,
    ) -> Result<Suspension, StoreError> {
        let mut lifted = None;
        self.shared.record_then_change(
            || {
                let certificate = self.load(name)?.ok_or(StoreError::NotFound(*name))?;
                let suspension = self
                    .suspension(name)?
                    .ok_or(StoreError::NotSuspended(*name))?;
                let records = records(&certificate, &suspension);
                lifted = Some(suspension);
                Ok(records)
            },
            || {
                self.store
                    .while_locked(|store| suspensions::remove(store.dir(), name))
                    .map_err(|error| system_error(&self.name, error))
            },
        )?;
        self.shared
            .changed(|index| index.suspend(name.fingerprint(), &self.name, false));
        lifted.ok_or(StoreError::NotSuspended(*name))
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
        assert!(matches!(
            registry.find_trusted(&name, |_| true).unwrap(),
            crate::registry::Trusted::By(..)
        ));

        let moved = scratch.join("moved");
        fs::rename(dir.join("systems/crm"), &moved).unwrap();
        std::os::unix::fs::symlink(&moved, dir.join("systems/crm")).unwrap();
        assert!(matches!(
            registry.find_trusted(&name, |_| true).unwrap(),
            crate::registry::Trusted::Not
        ));
        fs::remove_dir_all(&scratch).unwrap();
    }
}
