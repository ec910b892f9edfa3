//! [`Registry`]: the systems a service trusts inbound clients for, each with its own
//! certificates, and which systems trust a given client.

mod directory;
mod index;
mod login;
mod memory;
mod overview;
mod system_store;

use index::Index;
pub use overview::SystemOverview;
pub use system_store::SystemStore;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use time::OffsetDateTime;

use crate::audit::{
    AuditAction, AuditFiles, AuditLog, AuditOutcome, AuditRecord, History, HistoryQuery,
};
use crate::certificate::Certificate;
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::monitor::{Clock, SystemClock};
use crate::store::{
    Admitted, DamagedEntry, FileStoreOptions, Imported, Listing, StoreBackend, StoreError,
    StoreEvent,
};
use crate::sync::RwLockExt;
use crate::system::{System, SystemKind, SystemName};

/// The registry of systems: the front door of the crate for a service with several source
/// and proxy systems. Each system has a name, a kind and its own certificates (a
/// [`SystemStore`], which is a [`CertificateStore`](crate::CertificateStore) with everything a store has), and
/// [`identify`](Registry::identify) says which systems trust the certificate a client
/// presented, from an index kept in memory.
///
/// Backends: [`Registry::in_memory`], and a directory ([`Registry::create`],
/// [`Registry::open`]) with one subdirectory per system, `DIR/systems/<name>/`, holding a
/// manifest (`system`: kind and creation time, written atomically) and the system's
/// certificate files, with every guarantee of [`FileStore`](crate::FileStore). Processes that
/// share a directory see each other's changes: every change through a registry rewrites the
/// marker `DIR/.changes`, and `identify` rebuilds its index when the marker is not the one it
/// last saw (one `stat` per call otherwise); an import or a delete made through this registry
/// updates its own index in place, so its own next `identify` rebuilds nothing. A system
/// directory that is a symbolic link, that others could change, or whose manifest cannot be
/// read is listed as damaged and trusts nothing; the others are served as usual. With the feature `postgres`, a PostgreSQL
/// database shared by every replica of a service ([`Registry::connect`]).
///
/// ```
/// use inbound_certs::{CertificateStore, ImportPolicy, Registry, SystemKind};
/// use time::macros::datetime;
///
/// let now = datetime!(2026-06-01 0:00 UTC);
/// let registry = Registry::in_memory();
/// let crm = registry.create_system(&"crm".parse()?, SystemKind::Source, now)?;
/// let gateway = registry.create_system(&"gateway".parse()?, SystemKind::Proxy, now)?;
///
/// let upload = std::fs::read("tests/data/sample_source.pem")?;
/// let imported = registry.store(crm.name())?.import_upload(&upload, &ImportPolicy::new(now))?;
/// let fingerprint = imported[0].name().fingerprint();
///
/// // After a handshake: which system called?
/// assert_eq!(registry.identify(&fingerprint)?, vec![crm.clone()]);
/// registry.store(gateway.name())?.import_upload(&upload, &ImportPolicy::new(now))?;
/// assert_eq!(registry.identify(&fingerprint)?.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Registry {
    shared: Arc<Shared>,
    /// Who the changes made through this handle are recorded as made by.
    actor: Arc<str>,
}

struct Shared {
    backend: Backend,
    index: RwLock<Index>,
    audit: AuditLog,
    /// The time of the audit trail's records.
    clock: RwLock<Arc<dyn Clock>>,
    /// How many times the registry changed as this process saw it: a change made through
    /// it, or a rebuild of the index after another process's change.
    changes: AtomicU64,
}

/// Where a registry stands, for a [`Monitor`](crate::Monitor) that re-checks after every
/// change: two generations differ when the registry changed between them (through this
/// process, or, on a directory, through any process: its change marker is part of it; on
/// PostgreSQL, through any replica: the revision its index reflects is part of it).
/// Cheap to take: one atomic load, plus one `stat` of the marker on a directory or a read
/// lock on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Generation {
    changes: u64,
    marker: Option<directory::Stamp>,
    /// On PostgreSQL, the revision of the database the index reflects.
    revision: Option<i64>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("backend", &self.backend)
            .field("audit", &self.audit)
            .finish_non_exhaustive()
    }
}

/// The actor of changes made through a registry handle that was not given one.
const UNKNOWN_ACTOR: &str = "unknown";

#[derive(Debug)]
enum Backend {
    Memory(memory::Memory),
    Directory(directory::Directory),
    /// Keeps its own index, current by its listener; the registry's is not used.
    #[cfg(feature = "postgres")]
    Postgres(crate::store::postgres::Database),
}

/// The systems of a registry, sorted by name, and the entries that are not readable systems
/// (a directory without a valid manifest), never hidden.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SystemListing {
    /// The systems, sorted by name.
    pub systems: Vec<System>,
    /// Entries that could not be read as systems.
    pub damaged: Vec<DamagedEntry>,
}

impl Registry {
    /// An empty registry kept in memory, for tests and for services that load their systems
    /// from elsewhere.
    pub fn in_memory() -> Self {
        Self::with_backend(
            Backend::Memory(memory::Memory::default()),
            AuditLog::memory(),
        )
    }

    /// Opens the registry in an existing directory (see [`FileStore`](crate::FileStore) for
    /// the checks of who may change it).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(dir, &FileStoreOptions::new())
    }

    /// Creates the registry's directory (mode 0700, whatever the umask) if needed, then opens
    /// it.
    pub fn create(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(dir, &FileStoreOptions::new().create(true))
    }

    /// Opens (or with [`FileStoreOptions::create`], creates) the registry in a directory.
    pub fn open_with(
        dir: impl AsRef<Path>,
        options: &FileStoreOptions,
    ) -> Result<Self, StoreError> {
        let directory = directory::Directory::open(dir.as_ref(), options)?;
        let audit = AuditLog::Files(AuditFiles::open(
            dir.as_ref(),
            options.is_shared_group(),
            crate::audit::ROTATE_AT,
        )?);
        let registry = Self::with_backend(Backend::Directory(directory), audit);
        registry.refresh(true)?;
        Ok(registry)
    }

    /// Connects to a registry in a PostgreSQL database (feature `postgres`), creating its
    /// tables in the schema of `options` if they are missing, and upgrading in place the
    /// tables a [`PostgresStore`](crate::PostgresStore) of an earlier version made there (its
    /// certificates become [legacy certificates](Self::legacy_certificates), kept until
    /// [adopted](Self::adopt_legacy_store)). The URL and the options (TLS included) are those
    /// of [`PostgresStore::connect_with`](crate::PostgresStore::connect_with).
    ///
    /// Tables: `systems (name, kind, created, id)` and one `client_certificates` table for
    /// all systems, keyed by `(system, fingerprint)`. Every replica keeps the systems and
    /// their certificates in memory, kept current by one listener thread for all systems as
    /// [`PostgresStore`](crate::PostgresStore) does: [`identify`](Self::identify),
    /// [`systems`](Self::systems), [`system`](Self::system) and the stores' `get` and `list`
    /// never wait for the database; creating and removing systems and every write to a
    /// system's store are transactions applied in one order by every replica, and seen by
    /// the others as soon as the notification arrives. Creation times are kept to the
    /// microsecond.
    ///
    /// The audit trail is the table `audit (id bigserial, time timestamptz, actor, system,
    /// action, certificate, subject, outcome, detail)`: the records of an import (one per
    /// certificate, added or already present), a delete, a purge, or a system's creation or
    /// removal are inserted by the very transaction that makes the change, under its revision
    /// lock, so a change that rolls back (a bundle refused by a trigger in the database, say)
    /// leaves no record and a committed change always has its records; a refusal, which
    /// changes nothing, is inserted in a transaction of its own before the refusal is
    /// returned. Ids are drawn under the revision lock: [`history`](Self::history) returns
    /// the records newest first by id, the order every replica applied the changes in (a
    /// refusal's place among changes made at the same instant is where its insert landed).
    /// Times are kept to the microsecond.
    ///
    /// The `postgres` crate blocks: from async code, call this and the writes from
    /// `tokio::task::spawn_blocking`.
    ///
    /// ```no_run
    /// use inbound_certs::{PostgresOptions, Registry, SystemKind};
    /// use time::OffsetDateTime;
    ///
    /// let registry = Registry::connect("postgres://app@db.internal/service", &PostgresOptions::default())?;
    /// registry.create_system(&"crm".parse()?, SystemKind::Source, OffsetDateTime::now_utc())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "postgres")]
    pub fn connect(url: &str, options: &crate::store::PostgresOptions) -> Result<Self, StoreError> {
        let database = crate::store::postgres::Database::connect(url, options)?;
        let audit = AuditLog::Postgres(database.audit_table());
        Ok(Self::with_backend(Backend::Postgres(database), audit))
    }

    fn with_backend(backend: Backend, audit: AuditLog) -> Self {
        Registry {
            shared: Arc::new(Shared {
                backend,
                index: RwLock::new(Index::default()),
                audit,
                clock: RwLock::new(Arc::new(SystemClock)),
                changes: AtomicU64::new(0),
            }),
            actor: UNKNOWN_ACTOR.into(),
        }
    }

    /// A handle on the same registry whose changes are recorded in the audit trail as made by
    /// `actor` (the console's logged-in administrator, the CLI's `--actor`); without one,
    /// `unknown`.
    pub fn acting_as(&self, actor: impl Into<String>) -> Registry {
        Registry {
            shared: Arc::clone(&self.shared),
            actor: actor.into().into(),
        }
    }

    /// The time by the registry's clock (see [`with_clock`](Self::with_clock)).
    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    pub(crate) fn now(&self) -> OffsetDateTime {
        self.shared.now()
    }

    /// Where the registry stands now (see [`Generation`]). On PostgreSQL the other replicas'
    /// changes move it once this process's listener has seen them.
    pub(crate) fn generation(&self) -> Generation {
        let (marker, revision) = match &self.shared.backend {
            Backend::Directory(directory) => (directory.stamp(), None),
            #[cfg(feature = "postgres")]
            Backend::Postgres(database) => (None, Some(database.revision())),
            Backend::Memory(_) => (None, None),
        };
        Generation {
            changes: self.shared.changes.load(Ordering::Acquire),
            marker,
            revision,
        }
    }

    /// Takes the time of audit records from `clock` (by default the system clock), for every
    /// handle on this registry.
    pub fn with_clock(self, clock: impl Clock) -> Registry {
        *self.shared.clock.writing() = Arc::new(clock);
        self
    }

    /// The audit trail, newest first: every import (added, already present or refused, with
    /// the reason), delete, purge and system change, with its time, actor, system,
    /// certificate and subject. Lines of the trail that cannot be read (a record torn by a
    /// crash; on PostgreSQL, a row of the `audit` table made by hand that is not a record)
    /// are reported beside the records, never hidden. On PostgreSQL the filters and the limit
    /// are applied by the database (a query on the writer connection).
    pub fn history(&self, query: &HistoryQuery) -> Result<History, StoreError> {
        self.shared.audit.history(query)
    }

    /// The record of the import that added this certificate to this system (who imported
    /// it, when), the latest if it was added more than once; `None` if the trail has none (an
    /// in-memory registry keeps only its newest records). On a registry directory it is kept
    /// in an index beside the trail, so the lookup does not read the trail.
    pub fn import_record(
        &self,
        system: &SystemName,
        certificate: &CertificateName,
    ) -> Result<Option<AuditRecord>, StoreError> {
        self.shared.audit.import_record(system, certificate)
    }

    /// The record of a change of a system made through this handle, now.
    fn system_record(
        &self,
        system: &SystemName,
        action: AuditAction,
        outcome: AuditOutcome,
        detail: String,
    ) -> AuditRecord {
        AuditRecord {
            time: self.shared.now(),
            actor: self.actor.to_string(),
            system: Some(system.clone()),
            action,
            certificate: None,
            subject: None,
            outcome,
            detail,
        }
    }

    /// Registers a system. `created` is recorded as its creation time (the library never
    /// reads the clock). [`StoreError::SystemExists`] if the name is taken.
    pub fn create_system(
        &self,
        name: &SystemName,
        kind: SystemKind,
        created: OffsetDateTime,
    ) -> Result<System, StoreError> {
        let system = System::new(name.clone(), kind, created);
        let record = || {
            self.system_record(
                name,
                AuditAction::CreateSystem,
                AuditOutcome::Created,
                format!("a {kind} system"),
            )
        };
        let touched = match &self.shared.backend {
            Backend::Memory(memory) => self
                .shared
                .audit
                .record_then_change(|| Ok(vec![record()]), || memory.create_system(&system))
                .map(|()| None)?,
            // Recorded, then made: a name already taken is refused before anything is written.
            Backend::Directory(directory) => self.shared.audit.record_then_change(
                || match directory.system(name) {
                    Err(StoreError::SystemNotFound(_)) => Ok(vec![record()]),
                    Ok(_) | Err(StoreError::Damaged(_)) => {
                        Err(StoreError::SystemExists(name.clone()))
                    }
                    Err(error) => Err(error),
                },
                || directory.create_system(&system),
            )?,
            #[cfg(feature = "postgres")]
            Backend::Postgres(database) => {
                // The database keeps its own index; its clock keeps microseconds. The record
                // is written by the creation's transaction.
                return self
                    .shared
                    .bumped(database.create_system(name, kind, created, &record));
            }
        };
        self.shared.record_change(touched, |index| {
            index.systems.insert(name.clone(), system.clone());
        });
        Ok(system)
    }

    /// Every system, sorted by name, with the entries that are not readable systems.
    pub fn systems(&self) -> Result<SystemListing, StoreError> {
        match &self.shared.backend {
            Backend::Memory(memory) => Ok(memory.systems()),
            Backend::Directory(directory) => directory.systems(),
            #[cfg(feature = "postgres")]
            Backend::Postgres(database) => {
                let (systems, damaged) = database.systems();
                Ok(SystemListing { systems, damaged })
            }
        }
    }

    /// The system with this name; [`StoreError::SystemNotFound`] if there is none.
    pub fn system(&self, name: &SystemName) -> Result<System, StoreError> {
        match &self.shared.backend {
            Backend::Memory(memory) => memory.system(name),
            Backend::Directory(directory) => directory.system(name),
            #[cfg(feature = "postgres")]
            Backend::Postgres(database) => database.system(name),
        }
    }

    /// The certificate store of the system with this name. A target system's store holds
    /// nothing and refuses imports with [`StoreError::NotInbound`].
    pub fn store(&self, name: &SystemName) -> Result<SystemStore, StoreError> {
        let (system, store): (System, Option<Arc<dyn StoreBackend>>) = match &self.shared.backend {
            Backend::Memory(memory) => memory.store(name)?,
            Backend::Directory(directory) => {
                let system = directory.system(name)?;
                let store = directory
                    .store(&system)?
                    .map(|store| store as Arc<dyn StoreBackend>);
                (system, store)
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres(database) => {
                let (system, rows) = database.store(name)?;
                return Ok(SystemStore {
                    system,
                    store: rows.clone().map(|rows| rows as Arc<dyn StoreBackend>),
                    rows,
                    shared: Arc::clone(&self.shared),
                    actor: Arc::clone(&self.actor),
                });
            }
        };
        Ok(SystemStore {
            system,
            store,
            #[cfg(feature = "postgres")]
            rows: None,
            shared: Arc::clone(&self.shared),
            actor: Arc::clone(&self.actor),
        })
    }

    /// Removes a system. While it still holds certificates (or damaged entries) the removal
    /// is refused with [`StoreError::SystemNotEmpty`], unless `with_certificates`, which
    /// removes them too. Returns how many certificates were removed with it.
    pub fn remove_system(
        &self,
        name: &SystemName,
        with_certificates: bool,
    ) -> Result<usize, StoreError> {
        let record = |removed: usize| {
            self.system_record(
                name,
                AuditAction::RemoveSystem,
                AuditOutcome::Removed,
                format!("with {removed} certificate(s)"),
            )
        };
        let (removed, touched) = match &self.shared.backend {
            Backend::Memory(memory) => {
                let removed = memory.remove_system(name, with_certificates)?;
                self.shared.audit.append(&[record(removed)])?;
                (removed, None)
            }
            // Recorded, then removed: under the trail's lock nothing is imported meanwhile,
            // so the count recorded is the count removed.
            Backend::Directory(directory) => self.shared.audit.record_then_change(
                || {
                    let held = self.store(name)?.load_all()?;
                    let count = held.certificates.len();
                    if !with_certificates && count + held.damaged.len() > 0 {
                        return Err(StoreError::SystemNotEmpty {
                            name: name.clone(),
                            certificates: count + held.damaged.len(),
                        });
                    }
                    Ok(vec![record(count)])
                },
                || directory.remove_system(name, with_certificates),
            )?,
            // The database keeps its own index; the record is written by the removal's
            // transaction.
            #[cfg(feature = "postgres")]
            Backend::Postgres(database) => {
                return self.shared.bumped(database.remove_system(
                    name,
                    with_certificates,
                    &record,
                ));
            }
        };
        self.shared.audit.forget_system(name);
        self.shared.record_change(touched, |index| {
            index.systems.remove(name);
            index.trusted.retain(|_, systems| {
                systems.retain(|system| system != name);
                !systems.is_empty()
            });
        });
        Ok(removed)
    }

    /// How many certificate files lie directly in the registry's directory: a store made by
    /// [`FileStore`](crate::FileStore) before registries existed, waiting for
    /// [`adopt_legacy_store`](Self::adopt_legacy_store). Always 0 for a registry in memory.
    /// On PostgreSQL: the rows of no system, those of a
    /// [`PostgresStore`](crate::PostgresStore) (an earlier version's, or one still in use on
    /// the same schema), healthy or damaged.
    pub fn legacy_certificates(&self) -> Result<usize, StoreError> {
        match &self.shared.backend {
            Backend::Memory(_) => Ok(0),
            Backend::Directory(directory) => Ok(directory.legacy_files()?.len()),
            #[cfg(feature = "postgres")]
            Backend::Postgres(database) => Ok(database.legacy_certificates()),
        }
    }

    /// Moves the certificates of a store made by [`FileStore`](crate::FileStore) in the
    /// registry's directory (files directly in it) into the system `name`, creating the
    /// system if it does not exist. Each file is moved with one atomic rename, so a crash
    /// loses none; running it again finishes what a crash interrupted. Returns how many were
    /// moved. On PostgreSQL, the rows of no system (see
    /// [`legacy_certificates`](Self::legacy_certificates)) are moved in one transaction; a
    /// certificate the system already holds is not duplicated.
    pub fn adopt_legacy_store(
        &self,
        name: &SystemName,
        kind: SystemKind,
        created: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        #[cfg(feature = "postgres")]
        if let Backend::Postgres(database) = &self.shared.backend {
            if let Err(error) = self.create_system(name, kind, created) {
                if !matches!(error, StoreError::SystemExists(_)) {
                    return Err(error);
                }
            }
            return self.shared.bumped(database.adopt_legacy(name));
        }
        let Backend::Directory(directory) = &self.shared.backend else {
            return Ok(0);
        };
        let system = match self.create_system(name, kind, created) {
            Ok(system) => system,
            Err(StoreError::SystemExists(_)) => self.system(name)?,
            Err(error) => return Err(error),
        };
        let moved = directory.adopt_legacy(&system)?;
        self.refresh(true)?;
        Ok(moved)
    }

    /// The systems that trust the certificate with this fingerprint, sorted by name (none:
    /// an empty vector). One lookup in an index kept in memory; for a directory registry,
    /// plus one `stat` of the change marker, and a rebuild of the index when another process
    /// changed the registry; on PostgreSQL, the index its listener keeps current (no database
    /// round trip).
    pub fn identify(&self, fingerprint: &Fingerprint) -> Result<Vec<System>, StoreError> {
        #[cfg(feature = "postgres")]
        if let Backend::Postgres(database) = &self.shared.backend {
            return Ok(database.identify(fingerprint));
        }
        self.refresh(false)?;
        let index = self.shared.index.reading();
        Ok(index
            .trusted
            .get(fingerprint)
            .map(|names| {
                names
                    .iter()
                    .filter_map(|name| index.systems.get(name).cloned())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The systems that trust this certificate.
    pub fn identify_certificate(
        &self,
        certificate: &Certificate,
    ) -> Result<Vec<System>, StoreError> {
        self.identify(&certificate.fingerprint())
    }

    /// The systems that trust the certificate whose DER this is (as a TLS peer presented it:
    /// nothing is parsed, the DER is hashed).
    pub fn identify_der(&self, der: &[u8]) -> Result<Vec<System>, StoreError> {
        self.identify(&Fingerprint::of_der(der))
    }

    /// The certificate with this name and the systems that trust it, among those `accept`
    /// accepts (and that accept inbound certificates at all): what a TLS verifier needs. The
    /// index says which systems; the certificate is read from the first system's store, so
    /// the store's own checks (a file changed in place, a damaged entry) apply.
    #[cfg_attr(not(feature = "rustls"), allow(dead_code))]
    pub(crate) fn find_trusted(
        &self,
        name: &CertificateName,
        accept: impl Fn(&System) -> bool,
    ) -> Result<Option<(Certificate, Vec<System>)>, StoreError> {
        let systems: Vec<System> = self
            .identify(&name.fingerprint())?
            .into_iter()
            .filter(|system| system.kind().accepts_inbound() && accept(system))
            .collect();
        for system in &systems {
            let store: Option<Arc<dyn StoreBackend>> = match &self.shared.backend {
                Backend::Memory(memory) => match memory.store(system.name()) {
                    Ok((_, store)) => store,
                    // Removed since the index was built.
                    Err(StoreError::SystemNotFound(_)) => None,
                    Err(error) => return Err(error),
                },
                Backend::Directory(directory) => match directory.store(system) {
                    Ok(store) => store.map(|store| store as Arc<dyn StoreBackend>),
                    // Removed, or made odd (a link, a mode others may write), since the index
                    // was built: it trusts nothing, and the other systems are still asked.
                    Err(StoreError::SystemNotFound(_) | StoreError::Damaged(_)) => None,
                    Err(error) => return Err(error),
                },
                #[cfg(feature = "postgres")]
                Backend::Postgres(database) => match database.store(system.name()) {
                    Ok((_, store)) => store.map(|store| store as Arc<dyn StoreBackend>),
                    Err(StoreError::SystemNotFound(_)) => None,
                    Err(error) => return Err(error),
                },
            };
            if let Some(certificate) = store.map(|store| store.load(name)).transpose()?.flatten() {
                return Ok(Some((certificate, systems)));
            }
        }
        Ok(None)
    }

    /// Rebuilds the index from the backend if another process changed the registry (or
    /// `always`).
    fn refresh(&self, always: bool) -> Result<(), StoreError> {
        let Backend::Directory(directory) = &self.shared.backend else {
            return Ok(());
        };
        let stamp = directory.stamp();
        {
            let index = self.shared.index.reading();
            if !always && index.built && index.stamp == stamp {
                return Ok(());
            }
        }
        // Built from a stamp taken before reading: a change made during the rebuild moves
        // the marker again, and the next call rebuilds once more.
        let rebuilt = Index::of_directory(directory, stamp)?;
        *self.shared.index_mut() = rebuilt;
        self.shared.bump();
        Ok(())
    }
}

impl Shared {
    fn now(&self) -> OffsetDateTime {
        self.clock.reading().now()
    }

    fn index_mut(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.writing()
    }

    /// After a change through this process: applies it to the index (`update`) and tells
    /// the other processes sharing the registry. The index then carries the marker this
    /// process wrote, so its own next `identify` does not rebuild, unless the marker it
    /// replaced is not the one the index was built from (another process changed the
    /// registry meanwhile, or a rebuild from an older marker raced with this change).
    fn changed(&self, update: impl FnOnce(&mut Index)) {
        // Written before the index is locked: `identify` never waits for a file system call.
        let touched = match &self.backend {
            Backend::Directory(directory) => directory.touch(),
            _ => None,
        };
        self.record_change(touched, update);
    }

    /// Applies a change made through this process to the index (`update`), and records the
    /// marker it wrote (`touched`) as [`changed`](Self::changed) does.
    fn record_change(&self, touched: Option<directory::Touched>, update: impl FnOnce(&mut Index)) {
        {
            let mut index = self.index_mut();
            update(&mut index);
            if let Some(touched) = touched {
                if index.built && touched.replaced == Some(index.stamp) {
                    index.stamp = Some(touched.written);
                }
            }
        }
        self.bump();
    }

    /// Moves the [`Generation`] on, after a change is made and visible.
    fn bump(&self) {
        self.changes.fetch_add(1, Ordering::Release);
    }

    /// Moves the generation on if `result` says a change was made (on PostgreSQL, whose
    /// own index follows the change without the registry's).
    #[cfg(feature = "postgres")]
    fn bumped<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if result.is_ok() {
            self.bump();
        }
        result
    }
}
