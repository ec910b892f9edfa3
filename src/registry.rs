//! [`Registry`]: the systems a service trusts inbound clients for, each with its own
//! certificates, and which systems trust a given client.

pub(crate) mod authorize;
mod login;
mod overview;
mod system_store;
mod usage;

pub use crate::backend::listing::SystemListing;
pub use crate::backend::usage::{LastUse, SystemUsage};
pub use crate::system::Permission;
pub use authorize::Unauthorized;
pub use overview::SystemOverview;
pub use system_store::SystemStore;
pub use usage::{UsageFlusher, DEFAULT_FLUSH_INTERVAL};

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use time::OffsetDateTime;

use crate::audit::{AuditAction, AuditHistory, AuditOutcome, AuditRecord, HistoryQuery};
use crate::backend::fs::{FileStoreOptions, FsBackend};
use crate::backend::memory::MemoryBackend;
use crate::backend::{Marker, RegistryBackend, SystemBackend};
use crate::certificate::Certificate;
use crate::clock::{Clock, SystemClock};
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::store::{
    Admitted, CertificateListing, ImportOutcome, StoreBackend, StoreError, StoreEvent, Suspension,
};
use crate::sync::RwLockExt;
use crate::system::{permissions_text, System, SystemKind, SystemName};

/// The registry of systems: the front door of the crate for a service with several source
/// and proxy systems. Each system has a name, a kind, the [`Permission`]s the service gave it
/// ([`grant_permission`](Registry::grant_permission), [`revoke_permission`](Registry::revoke_permission),
/// [`set_permissions`](Registry::set_permissions)) and its own certificates (a
/// [`SystemStore`], which is a [`CertificateStore`](crate::CertificateStore) with everything a store has), and
/// [`identify`](Registry::identify) says which systems trust the certificate a client
/// presented, with their permissions, from an index kept in memory.
///
/// Backends: [`Registry::in_memory`], and a directory ([`Registry::create`],
/// [`Registry::open`]) with one subdirectory per system, `DIR/systems/<name>/`, holding a
/// manifest (`system`: kind, creation time and permissions, written atomically) and the system's
/// certificate files, with every guarantee of [`FileStore`](crate::backend::FileStore). Processes that
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
    backend: Box<dyn RegistryBackend>,
    /// The time of the audit trail's records.
    clock: RwLock<Arc<dyn Clock>>,
    /// How many times the registry changed through this process.
    changes: AtomicU64,
    /// The uses recorded since the registry was opened (see [`Registry::record_use`]).
    usage: usage::Recorder,
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
    marker: Marker,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// The actor of changes made through a registry handle that was not given one.
const UNKNOWN_ACTOR: &str = "unknown";

impl Registry {
    /// An empty registry kept in memory, for tests and for services that load their systems
    /// from elsewhere.
    pub fn in_memory() -> Self {
        Self::with_backend(Box::new(MemoryBackend::default()))
    }

    /// Opens the registry in an existing directory (see [`FileStore`](crate::backend::FileStore) for
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
        let backend = FsBackend::open(dir.as_ref(), options)?;
        Ok(Self::with_backend(Box::new(backend)))
    }

    /// Connects to a registry in a PostgreSQL database (feature `postgres`), creating its
    /// tables in the schema of `options` if they are missing, and upgrading in place the
    /// tables a [`PostgresStore`](crate::backend::PostgresStore) of an earlier version made there (its
    /// certificates become [legacy certificates](Self::legacy_certificates), kept until
    /// [adopted](Self::adopt_legacy_store)). The URL and the options (TLS included) are those
    /// of [`PostgresStore::connect_with`](crate::backend::PostgresStore::connect_with).
    ///
    /// Tables: `systems (name, kind, created, id, permissions text[])` (the permissions column
    /// added in place to the table of a version without it, every system holding none) and one `client_certificates` table for
    /// all systems, keyed by `(system, fingerprint)`; `suspensions (system, fingerprint,
    /// reason, since, actor)` (added in place to the tables of a version without it), whose
    /// rows every replica keeps in its index beside the certificates, so that
    /// [`identify`](Self::identify) and the verifier never wait for the database. Every replica keeps the systems and
    /// their certificates in memory, kept current by one listener thread for all systems as
    /// [`PostgresStore`](crate::backend::PostgresStore) does: [`identify`](Self::identify),
    /// [`systems`](Self::systems), [`system`](Self::system) and the stores' `get` and `list`
    /// never wait for the database; creating and removing systems and every write to a
    /// system's store are transactions applied in one order by every replica, and seen by
    /// the others as soon as the notification arrives. Creation times are kept to the
    /// microsecond.
    ///
    /// The audit trail is the table `audit (id bigserial, time timestamptz, actor, system,
    /// action, certificate, subject, outcome, detail)`: the records of an import (one per
    /// certificate, added or already present), a delete, a purge, a system's creation or
    /// removal, or a change of its permissions are inserted by the very transaction that makes the change, under its revision
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
    /// use inbound_certs::{Registry, SystemKind, backend::PostgresOptions};
    /// use time::OffsetDateTime;
    ///
    /// let registry = Registry::connect("postgres://app@db.internal/service", &PostgresOptions::default())?;
    /// registry.create_system(&"crm".parse()?, SystemKind::Source, OffsetDateTime::now_utc())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "postgres")]
    pub fn connect(
        url: &str,
        options: &crate::backend::postgres::PostgresOptions,
    ) -> Result<Self, StoreError> {
        let database = crate::backend::postgres::Database::connect(url, options)?;
        Ok(Self::with_backend(Box::new(database)))
    }

    fn with_backend(backend: Box<dyn RegistryBackend>) -> Self {
        Registry {
            shared: Arc::new(Shared {
                backend,
                clock: RwLock::new(Arc::new(SystemClock)),
                changes: AtomicU64::new(0),
                usage: usage::Recorder::default(),
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
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn now(&self) -> OffsetDateTime {
        self.shared.now()
    }

    /// Where the registry stands now (see [`Generation`]). On PostgreSQL the other replicas'
    /// changes move it once this process's listener has seen them.
    pub(crate) fn generation(&self) -> Generation {
        Generation {
            changes: self.shared.changes.load(Ordering::Acquire),
            marker: self.shared.backend.marker(),
        }
    }

    /// Takes the time of audit records from `clock` (by default the system clock), for every
    /// handle on this registry.
    pub fn with_clock(self, clock: impl Clock) -> Registry {
        *self.shared.clock.writing() = Arc::new(clock);
        self.shared.usage.clock_replaced();
        self
    }

    /// The audit trail, newest first: every import (added, already present or refused, with
    /// the reason), delete, purge, suspend, resume, system change and change of a system's
    /// permissions, with its time, actor, system, certificate and subject. Lines of the trail that cannot be read (a record torn by a
    /// crash; on PostgreSQL, a row of the `audit` table made by hand that is not a record)
    /// are reported beside the records, never hidden. On PostgreSQL the filters and the limit
    /// are applied by the database (a query on the writer connection).
    pub fn history(&self, query: &HistoryQuery) -> Result<AuditHistory, StoreError> {
        self.shared.backend.history(query)
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
        self.shared.backend.import_record(system, certificate)
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

    /// Registers a system holding no permissions. `created` is recorded as its creation time
    /// (the library never reads the clock). [`StoreError::SystemExists`] if the name is
    /// taken.
    pub fn create_system(
        &self,
        name: &SystemName,
        kind: SystemKind,
        created: OffsetDateTime,
    ) -> Result<System, StoreError> {
        self.create_system_with(name, kind, [], created)
    }

    /// Registers a system holding these permissions, as [`create_system`](Self::create_system)
    /// does; one audit record says its kind and permissions. A target system holds none:
    /// [`StoreError::TargetPermissions`] if any is given for one (nothing is registered).
    ///
    /// ```
    /// use inbound_certs::{Registry, SystemKind};
    /// use inbound_certs::registry::Permission;
    /// use time::macros::datetime;
    ///
    /// let registry = Registry::in_memory().acting_as("alice");
    /// let realtime_api: Permission = "realtime-api".parse()?;
    /// let crm = registry.create_system_with(
    ///     &"crm".parse()?,
    ///     SystemKind::Source,
    ///     [realtime_api.clone()],
    ///     datetime!(2026-06-01 0:00 UTC),
    /// )?;
    /// assert!(crm.has_permission(&realtime_api));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_system_with(
        &self,
        name: &SystemName,
        kind: SystemKind,
        permissions: impl IntoIterator<Item = Permission>,
        created: OffsetDateTime,
    ) -> Result<System, StoreError> {
        let permissions: BTreeSet<Permission> = permissions.into_iter().collect();
        if !kind.accepts_inbound() && !permissions.is_empty() {
            return Err(StoreError::TargetPermissions(name.clone()));
        }
        let detail = if permissions.is_empty() {
            format!("a {kind} system")
        } else {
            format!(
                "a {kind} system; permissions: {}",
                permissions_text(&permissions)
            )
        };
        let system = System::new(name.clone(), kind, created).with_permissions(permissions);
        let record = || {
            self.system_record(
                name,
                AuditAction::CreateSystem,
                AuditOutcome::Created,
                detail.clone(),
            )
        };
        let system = self.shared.backend.create_system(&system, &record)?;
        self.shared.bump();
        Ok(system)
    }

    /// Grants a permission to a system: from the next request on, in this process at once
    /// (the index in memory is updated), in others sharing a directory at their next look at
    /// the change marker, in other PostgreSQL replicas once their listener hears of it.
    /// Returns whether it changed anything: granting a permission the system holds already
    /// succeeds, changes nothing and leaves no record (so a retry is harmless). Otherwise one
    /// audit record (action `grant`, outcome `granted`, the permission and the system's
    /// permissions before and after) is made durable before the grant is.
    ///
    /// Errors: [`StoreError::SystemNotFound`]; [`StoreError::TargetPermissions`] for a target
    /// system.
    ///
    /// ```
    /// use inbound_certs::{Registry, SystemKind};
    /// use time::macros::datetime;
    ///
    /// let registry = Registry::in_memory().acting_as("alice");
    /// let gateway = registry.create_system(&"gateway".parse()?, SystemKind::Proxy, datetime!(2026-06-01 0:00 UTC))?;
    /// let proxy_api = "proxy-api".parse()?;
    /// assert!(registry.grant_permission(gateway.name(), &proxy_api)?);
    /// assert!(!registry.grant_permission(gateway.name(), &proxy_api)?); // held already
    /// assert!(registry.system(gateway.name())?.has_permission(&proxy_api));
    /// assert!(registry.revoke_permission(gateway.name(), &proxy_api)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn grant_permission(
        &self,
        system: &SystemName,
        permission: &Permission,
    ) -> Result<bool, StoreError> {
        self.change_permissions(system, AuditAction::Grant, Some(permission), |held| {
            let mut after = held.clone();
            after.insert(permission.clone());
            after
        })
        .map(|(_, changed)| changed)
    }

    /// Revokes a permission from a system: the next request that needs it is refused, as for
    /// [`grant_permission`](Self::grant_permission). Returns whether it changed anything:
    /// revoking a permission the system does not hold succeeds, changes nothing and leaves no
    /// record. Otherwise one audit record (action `revoke`, outcome `revoked`) is made
    /// durable before the revocation is. [`StoreError::SystemNotFound`] if there is no such
    /// system.
    pub fn revoke_permission(
        &self,
        system: &SystemName,
        permission: &Permission,
    ) -> Result<bool, StoreError> {
        self.change_permissions(system, AuditAction::Revoke, Some(permission), |held| {
            let mut after = held.clone();
            after.remove(permission);
            after
        })
        .map(|(_, changed)| changed)
    }

    /// Replaces a system's permissions by `permissions` (the console's and the API's edit),
    /// as one change with one audit record (action `set_permissions`, outcome `changed`, the
    /// permissions before and after), durable before the change is; the same set as held
    /// changes nothing and leaves no record. Returns the system as kept after.
    ///
    /// Errors: [`StoreError::SystemNotFound`]; [`StoreError::TargetPermissions`] for a target
    /// system and a set that is not empty.
    pub fn set_permissions(
        &self,
        system: &SystemName,
        permissions: impl IntoIterator<Item = Permission>,
    ) -> Result<System, StoreError> {
        let permissions: BTreeSet<Permission> = permissions.into_iter().collect();
        self.change_permissions(system, AuditAction::SetPermissions, None, |_| {
            permissions.clone()
        })
        .map(|(system, _)| system)
    }

    /// Changes a system's permissions to what `after` makes of those it holds, with a record
    /// of `action` (about `permission`, for a grant or a revocation); the system as kept
    /// after, and whether anything changed.
    fn change_permissions(
        &self,
        name: &SystemName,
        action: AuditAction,
        permission: Option<&Permission>,
        after: impl Fn(&BTreeSet<Permission>) -> BTreeSet<Permission>,
    ) -> Result<(System, bool), StoreError> {
        let changed = std::cell::Cell::new(false);
        let system = self.shared.backend.change_permissions(name, &|system| {
            let before = system.permissions();
            let after = after(before);
            changed.set(false);
            if after == *before {
                return Ok(None);
            }
            if !system.kind().accepts_inbound() {
                return Err(StoreError::TargetPermissions(name.clone()));
            }
            let outcome = match action {
                AuditAction::Grant => AuditOutcome::Granted,
                AuditAction::Revoke => AuditOutcome::Revoked,
                _ => AuditOutcome::Changed,
            };
            let change = format!(
                "before: {}; after: {}",
                permissions_text(before),
                permissions_text(&after)
            );
            let detail = match permission {
                Some(permission) => format!("permission {permission}; {change}"),
                None => change,
            };
            changed.set(true);
            Ok(Some((
                after,
                self.system_record(name, action, outcome, detail),
            )))
        })?;
        if changed.get() {
            self.shared.bump();
        }
        Ok((system, changed.get()))
    }

    /// Every system, sorted by name, with the entries that are not readable systems.
    pub fn systems(&self) -> Result<SystemListing, StoreError> {
        self.shared.backend.systems()
    }

    /// The system with this name; [`StoreError::SystemNotFound`] if there is none.
    pub fn system(&self, name: &SystemName) -> Result<System, StoreError> {
        self.shared.backend.system(name)
    }

    /// The certificate store of the system with this name. A target system's store holds
    /// nothing and refuses imports with [`StoreError::NotInbound`].
    pub fn store(&self, name: &SystemName) -> Result<SystemStore, StoreError> {
        let system = self.shared.backend.system(name)?;
        let store = self.shared.backend.store(&system)?;
        Ok(SystemStore {
            system,
            store,
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
        let removed = self
            .shared
            .backend
            .remove_system(name, with_certificates, &record)?;
        self.shared.bump();
        // The system is gone whatever happens to its uses: a file or rows left behind are
        // only read for a system of that name, which trusts nothing yet.
        let _ = self.shared.backend.forget_usage(name);
        Ok(removed)
    }

    /// How many certificate files lie directly in the registry's directory: a store made by
    /// [`FileStore`](crate::backend::FileStore) before registries existed, waiting for
    /// [`adopt_legacy_store`](Self::adopt_legacy_store). Always 0 for a registry in memory.
    /// On PostgreSQL: the rows of no system, those of a
    /// [`PostgresStore`](crate::backend::PostgresStore) (an earlier version's, or one still in use on
    /// the same schema), healthy or damaged.
    pub fn legacy_certificates(&self) -> Result<usize, StoreError> {
        self.shared.backend.legacy_certificates()
    }

    /// Moves the certificates of a store made by [`FileStore`](crate::backend::FileStore) in the
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
        let system = match self.create_system(name, kind, created) {
            Ok(system) => system,
            Err(StoreError::SystemExists(_)) => self.system(name)?,
            Err(error) => return Err(error),
        };
        let moved = self.shared.backend.adopt_legacy(&system)?;
        self.shared.bump();
        Ok(moved)
    }

    /// The systems that trust the certificate with this fingerprint, sorted by name (none:
    /// an empty vector). One lookup in an index kept in memory; for a directory registry,
    /// plus one `stat` of the change marker, and a rebuild of the index when another process
    /// changed the registry; on PostgreSQL, the index its listener keeps current (no database
    /// round trip).
    ///
    /// A system that holds the certificate but [suspended](SystemStore::suspend) it is left
    /// out (see [`suspended_in`](Self::suspended_in)).
    pub fn identify(&self, fingerprint: &Fingerprint) -> Result<Vec<System>, StoreError> {
        Ok(self.shared.backend.identify(fingerprint)?.trusting)
    }

    /// The systems that trust the certificate with this fingerprint and those that suspended
    /// it, by one lookup in the index [`identify`](Self::identify) reads: what the front door
    /// asks on every request.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn identified(
        &self,
        fingerprint: &Fingerprint,
    ) -> Result<crate::backend::Identified, StoreError> {
        self.shared.backend.identify(fingerprint)
    }

    /// The systems that hold the certificate with this fingerprint but
    /// [suspended](SystemStore::suspend) it, sorted by name: the systems
    /// [`identify`](Self::identify) leaves out for it. From the same index, as cheap.
    pub fn suspended_in(&self, fingerprint: &Fingerprint) -> Result<Vec<System>, StoreError> {
        Ok(self.shared.backend.identify(fingerprint)?.suspended)
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
    /// the store's own checks (a file changed in place, a damaged entry) apply. When no
    /// system trusts it but some accepted system holds it suspended:
    /// [`Trusted::Suspended`].
    #[cfg_attr(not(feature = "rustls"), allow(dead_code))]
    pub(crate) fn find_trusted(
        &self,
        name: &CertificateName,
        accept: impl Fn(&System) -> bool,
    ) -> Result<Trusted, StoreError> {
        let identified = self.shared.backend.identify(&name.fingerprint())?;
        let accepted = |system: &System| system.kind().accepts_inbound() && accept(system);
        let systems: Vec<System> = identified
            .trusting
            .into_iter()
            .filter(|system| accepted(system))
            .collect();
        for system in &systems {
            let store = match self.shared.backend.store(system) {
                Ok(store) => store,
                // Removed, or made odd (a link, a mode others may write), since the index
                // was built: it trusts nothing, and the other systems are still asked.
                Err(StoreError::SystemNotFound(_) | StoreError::Damaged(_)) => None,
                Err(error) => return Err(error),
            };
            if let Some(certificate) = store.map(|store| store.load(name)).transpose()?.flatten() {
                return Ok(Trusted::By(certificate));
            }
        }
        let suspended: Vec<System> = identified
            .suspended
            .into_iter()
            .filter(|system| accepted(system))
            .collect();
        if suspended.is_empty() {
            Ok(Trusted::Not)
        } else {
            Ok(Trusted::Suspended(suspended))
        }
    }
}

/// What [`Registry::find_trusted`] found.
#[cfg_attr(not(feature = "rustls"), allow(dead_code))]
#[derive(Debug)]
pub(crate) enum Trusted {
    /// The certificate, which an accepted system trusts.
    By(Certificate),
    /// No system trusts it, and these systems hold it suspended.
    Suspended(Vec<System>),
    /// No system holds it (or none that was accepted).
    Not,
}

impl Shared {
    fn now(&self) -> OffsetDateTime {
        self.clock.reading().now()
    }

    /// Moves the [`Generation`] on, after a change is made and visible.
    fn bump(&self) {
        self.changes.fetch_add(1, Ordering::Release);
    }
}
