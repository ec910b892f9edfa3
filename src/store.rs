//! The [`CertificateStore`] trait: import, list, get and delete inbound client certificates,
//! and the validity chores built on them; the [`StoreBackend`] trait that backends implement
//! under it; the [`ImportPolicy`] every import goes through. Stores: [`MemoryStore`] and
//! [`FileStore`] (and `PostgresStore`, feature `postgres`), kept by the backends.
//!
//! [`MemoryStore`]: crate::backend::MemoryStore
//! [`FileStore`]: crate::backend::FileStore

mod error;
mod policy;
mod suspension;

pub use error::{
    DamagedEntry, EntryDamage, ImportRefusal, PermissionProblem, RefusalReason, StoreError,
};
pub use policy::{ImportPolicy, SkipReason, Verdict};
pub use suspension::{check_reason, Suspension, SuspensionReasonError, MAX_REASON_CHARS};

use time::{Duration, OffsetDateTime};

use crate::certificate::Certificate;
use crate::decode::decode_with;
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::system::SystemKind;

/// The outcome of importing one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImportOutcome {
    /// The certificate was stored under this name.
    Added(CertificateName),
    /// A certificate with this name (the same DER) was already stored; nothing changed.
    AlreadyPresent(CertificateName),
    /// The certificate was left out of the import (a CA certificate of the client's chain),
    /// which stored the others.
    Skipped(CertificateName, SkipReason),
    /// The certificate was stored, and it renews one the store held already
    /// ([`Certificate::renews`]: the same client, a later end), which stays stored until it is
    /// retired (deleted).
    Renewed {
        /// The new certificate.
        name: CertificateName,
        /// The certificate it renews (of those it renews, the one that ends last).
        renews: CertificateName,
        /// When the renewed certificate's validity ends.
        renews_not_after: OffsetDateTime,
    },
}

impl ImportOutcome {
    /// The certificate's name.
    pub fn name(&self) -> CertificateName {
        match self {
            ImportOutcome::Added(name)
            | ImportOutcome::AlreadyPresent(name)
            | ImportOutcome::Skipped(name, _)
            | ImportOutcome::Renewed { name, .. } => *name,
        }
    }

    /// `added`, `renewed` (added too), `already_present` or `skipped`.
    pub fn code(&self) -> &'static str {
        match self {
            ImportOutcome::Added(_) => "added",
            ImportOutcome::Renewed { .. } => "renewed",
            ImportOutcome::AlreadyPresent(_) => "already_present",
            ImportOutcome::Skipped(..) => "skipped",
        }
    }
}

/// Everything a store holds: the healthy certificates, sorted by name, and the entries that
/// could not be read (never hidden, never deleted).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CertificateListing {
    /// Healthy certificates, sorted by name.
    pub certificates: Vec<Certificate>,
    /// Entries that are damaged, truncated, foreign or unreadable.
    pub damaged: Vec<DamagedEntry>,
}

/// Certificates an import has admitted: the system accepts inbound certificates and the
/// [`ImportPolicy`] accepted each of them. Only [`CertificateStore`]'s import operations make
/// one, so a [`StoreBackend`] is never handed a certificate that skipped those checks.
///
/// Nobody else can make one:
///
/// ```compile_fail,E0451
/// let admitted = inbound_certs::store::Admitted { certificates: &[], skipped: &[], upload_name: None };
/// ```
///
/// and no backend can replace the checks, since every backend's `CertificateStore` is the
/// blanket implementation:
///
/// ```compile_fail,E0119
/// use inbound_certs::store::{Admitted, CertificateListing, StoreBackend};
/// use inbound_certs::{Certificate, CertificateName, CertificateStore, ImportOutcome};
/// use inbound_certs::{StoreError, SystemKind};
///
/// struct Lenient;
/// impl StoreBackend for Lenient {
///     fn system_kind(&self) -> SystemKind { SystemKind::Source }
///     fn store_all(&self, _: Admitted<'_>) -> Result<Vec<ImportOutcome>, StoreError> { Ok(vec![]) }
///     fn load(&self, _: &CertificateName) -> Result<Option<Certificate>, StoreError> { Ok(None) }
///     fn load_all(&self) -> Result<CertificateListing, StoreError> { Ok(CertificateListing::default()) }
///     fn remove(&self, _: &CertificateName) -> Result<(), StoreError> { Ok(()) }
/// }
/// impl CertificateStore for Lenient {} // conflicts with the blanket implementation
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Admitted<'a> {
    // Crate-visible only, so that nothing outside the crate can make one.
    pub(crate) certificates: &'a [Certificate],
    pub(crate) skipped: &'a [(Certificate, SkipReason)],
    pub(crate) upload_name: Option<&'a str>,
}

impl<'a> Admitted<'a> {
    /// The admitted certificates, in the order the import gave them (a name may repeat).
    pub fn certificates(&self) -> &'a [Certificate] {
        self.certificates
    }

    /// The certificates of the upload that the import leaves out, and why: not to be stored,
    /// but a backend that records its changes records them too.
    pub fn skipped(&self) -> &'a [(Certificate, SkipReason)] {
        self.skipped
    }

    /// The upload's name ([`ImportPolicy::upload_name`]), for the records of the import.
    pub fn upload_name(&self) -> Option<&'a str> {
        self.upload_name
    }
}

/// What a backend implements: a place that keeps certificates by name. Services use the
/// backends through [`CertificateStore`], which every `StoreBackend` implements and which
/// holds the import checks, the policy and the validity chores, the same for every backend.
///
/// A backend of your own implements these five methods and proves itself with the
/// conformance suite (`conformance`, feature `test-util`). Every method must be safe
/// to call from many threads at once.
///
/// Its verbs are the primitives (`load`, `load_all`, `store_all`, `remove`); services call
/// [`CertificateStore`]'s (`get`, `list`, `import`, `delete`), which add the checks and the
/// records. The two layers keep their own names on purpose: every type that implements one
/// implements the other, and a method name shared by both would be ambiguous wherever both
/// traits are in scope. A service imports only `CertificateStore`.
pub trait StoreBackend: Send + Sync {
    /// The kind of system this store serves (never [`SystemKind::Target`] for the backends of
    /// this crate, which refuse to be created for one).
    fn system_kind(&self) -> SystemKind;

    /// Stores all the admitted certificates or none of them. Returns one outcome per
    /// certificate, in order; a certificate given twice is `Added` once, then
    /// `AlreadyPresent`. An outcome is an acknowledgement: once returned, an `Added` or
    /// `AlreadyPresent` certificate stays stored until it is deleted.
    fn store_all(&self, admitted: Admitted<'_>) -> Result<Vec<ImportOutcome>, StoreError>;

    /// The certificate with this name, or `None`: the call a TLS handshake makes, answered
    /// without scanning the store.
    fn load(&self, name: &CertificateName) -> Result<Option<Certificate>, StoreError>;

    /// Every certificate, sorted by name, with the damaged entries reported beside them.
    fn load_all(&self) -> Result<CertificateListing, StoreError>;

    /// Removes the certificate (or damaged entry) with this name; [`StoreError::NotFound`] if
    /// there is none.
    fn remove(&self, name: &CertificateName) -> Result<(), StoreError>;

    /// Removes an expired certificate for [`CertificateStore::purge_expired`] (and a
    /// registry's monitor), which then [records](Self::record) a [`StoreEvent::Purged`]. By
    /// default, [`remove`](Self::remove); a backend that writes its audit records in the
    /// change's own transaction (a registry's system store on PostgreSQL) overrides it to
    /// record a purge there rather than a delete.
    fn remove_expired(&self, certificate: &Certificate) -> Result<(), StoreError> {
        self.remove(&certificate.name())
    }

    /// Records what an operation did (a registry's system store appends it to the audit
    /// trail), before the operation returns: an error here fails the operation. Called by
    /// [`CertificateStore`]'s operations; records nothing unless a backend says otherwise. It
    /// observes, and can change nothing of what the checks decided.
    fn record(&self, event: StoreEvent<'_>) -> Result<(), StoreError> {
        let _ = event;
        Ok(())
    }
}

/// What a [`CertificateStore`] operation did, as [`StoreBackend::record`] is told.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum StoreEvent<'a> {
    /// The certificates were stored (or were there already): one outcome each, in order.
    Imported {
        /// The certificates stored.
        certificates: &'a [Certificate],
        /// What happened to each.
        outcomes: &'a [ImportOutcome],
        /// The certificates of the upload left out, and why.
        skipped: &'a [(Certificate, SkipReason)],
        /// The upload's name, if the import gave one.
        upload_name: Option<&'a str>,
    },
    /// An import was refused before anything was stored.
    Refused {
        /// Why.
        error: &'a StoreError,
        /// The certificates of the refused import (none when the upload could not be
        /// decoded).
        certificates: &'a [Certificate],
        /// The upload's name, if the import gave one.
        upload_name: Option<&'a str>,
    },
    /// A certificate (or damaged entry) was deleted.
    Deleted {
        /// Its name.
        name: &'a CertificateName,
        /// The certificate, if it could be read before it was deleted.
        certificate: Option<&'a Certificate>,
    },
    /// An expired certificate was deleted by a purge.
    Purged {
        /// The certificate.
        certificate: &'a Certificate,
    },
}

impl<T: StoreBackend + ?Sized> StoreBackend for std::sync::Arc<T> {
    fn system_kind(&self) -> SystemKind {
        (**self).system_kind()
    }
    fn store_all(&self, admitted: Admitted<'_>) -> Result<Vec<ImportOutcome>, StoreError> {
        (**self).store_all(admitted)
    }
    fn load(&self, name: &CertificateName) -> Result<Option<Certificate>, StoreError> {
        (**self).load(name)
    }
    fn load_all(&self) -> Result<CertificateListing, StoreError> {
        (**self).load_all()
    }
    fn remove(&self, name: &CertificateName) -> Result<(), StoreError> {
        (**self).remove(name)
    }
    fn remove_expired(&self, certificate: &Certificate) -> Result<(), StoreError> {
        (**self).remove_expired(certificate)
    }
    fn record(&self, event: StoreEvent<'_>) -> Result<(), StoreError> {
        (**self).record(event)
    }
}

/// A place that keeps the client certificates trusted for inbound connections: what a
/// service calls. Every [`StoreBackend`] is a `CertificateStore` (a blanket implementation,
/// which no backend can replace), so the import checks and the policy hold for every backend
/// and cannot be skipped. Certificates are named `cert_client_<fingerprint>`; every method is
/// safe to call from many threads at once.
///
/// ```
/// use inbound_certs::{CertificateStore, ImportPolicy, SystemKind, backend::MemoryStore};
/// use time::macros::datetime;
///
/// let store = MemoryStore::new(SystemKind::Source)?;
/// // bundle.pem holds an intermediate CA beside four client certificates.
/// let policy = ImportPolicy::new(datetime!(2026-06-01 0:00 UTC)).allow_ca(true);
/// let upload = std::fs::read("tests/data/bundle.pem")?;
/// let imported = store.import_upload(&upload, &policy)?;
/// assert_eq!(imported.len(), 5);
///
/// let name = imported[0].name();
/// let certificate = store.get(&name)?.expect("just imported");
/// assert_eq!(certificate.name(), name);
///
/// store.delete(&name)?;
/// assert!(store.get(&name)?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait CertificateStore: Send + Sync {
    /// The kind of system this store serves.
    fn system_kind(&self) -> SystemKind;

    /// The certificate with this name, or `None`. This is the call a TLS handshake makes:
    /// backends answer it without scanning the store.
    fn get(&self, name: &CertificateName) -> Result<Option<Certificate>, StoreError>;

    /// Every certificate, sorted by name, with the damaged entries reported beside them.
    fn list(&self) -> Result<CertificateListing, StoreError>;

    /// Removes the certificate with this name; [`StoreError::NotFound`] if there is none.
    fn delete(&self, name: &CertificateName) -> Result<(), StoreError>;

    /// Imports one certificate after checking the policy and the system kind.
    fn import(
        &self,
        certificate: &Certificate,
        policy: &ImportPolicy,
    ) -> Result<ImportOutcome, StoreError>;

    /// Imports certificates all or nothing: if the system is a target system or the policy
    /// refuses one, none is stored.
    fn import_all(
        &self,
        certificates: &[Certificate],
        policy: &ImportPolicy,
    ) -> Result<Vec<ImportOutcome>, StoreError>;

    /// Decodes an upload (any format [`decode`](fn@crate::decode) accepts, a bundle included) and
    /// imports every certificate in it, all or nothing.
    fn import_upload(
        &self,
        upload: &[u8],
        policy: &ImportPolicy,
    ) -> Result<Vec<ImportOutcome>, StoreError>;

    /// The certificate with this fingerprint, or `None`.
    fn get_by_fingerprint(
        &self,
        fingerprint: &Fingerprint,
    ) -> Result<Option<Certificate>, StoreError>;

    /// The certificates valid at `now` whose validity ends within `within` of it (including
    /// those not yet valid whose end is that close), sorted by name.
    fn expiring_within(
        &self,
        now: OffsetDateTime,
        within: Duration,
    ) -> Result<Vec<Certificate>, StoreError>;

    /// The certificates whose validity ended before `now`, sorted by name.
    fn expired(&self, now: OffsetDateTime) -> Result<Vec<Certificate>, StoreError>;

    /// Deletes every certificate expired at `now` and returns their names. A certificate
    /// deleted meanwhile by someone else is not an error and is not returned.
    fn purge_expired(&self, now: OffsetDateTime) -> Result<Vec<CertificateName>, StoreError>;
}

impl<T: StoreBackend + ?Sized> CertificateStore for T {
    fn system_kind(&self) -> SystemKind {
        StoreBackend::system_kind(self)
    }

    fn get(&self, name: &CertificateName) -> Result<Option<Certificate>, StoreError> {
        self.load(name)
    }

    fn list(&self) -> Result<CertificateListing, StoreError> {
        self.load_all()
    }

    fn delete(&self, name: &CertificateName) -> Result<(), StoreError> {
        // Read first, so that the record can name what was deleted.
        let certificate = self.load(name).ok().flatten();
        self.remove(name)?;
        metrics::counter!("inbound_certs_deletes_total").increment(1);
        self.record(StoreEvent::Deleted {
            name,
            certificate: certificate.as_ref(),
        })
    }

    fn import(
        &self,
        certificate: &Certificate,
        policy: &ImportPolicy,
    ) -> Result<ImportOutcome, StoreError> {
        let outcomes = self.import_all(std::slice::from_ref(certificate), policy)?;
        match outcomes.as_slice() {
            [outcome] => Ok(*outcome),
            _ => Err(StoreError::BackendContract(
                "a store returned other than one outcome for one certificate",
            )),
        }
    }

    fn import_all(
        &self,
        certificates: &[Certificate],
        policy: &ImportPolicy,
    ) -> Result<Vec<ImportOutcome>, StoreError> {
        let kind = StoreBackend::system_kind(self);
        if !kind.accepts_inbound() {
            return Err(refused(
                self,
                StoreError::NotInbound(kind),
                certificates,
                policy,
            ));
        }
        let mut admitted = Vec::with_capacity(certificates.len());
        let mut skipped = Vec::new();
        for (certificate, verdict) in certificates.iter().zip(policy.judge(certificates)) {
            match verdict {
                Verdict::Import => admitted.push(certificate.clone()),
                Verdict::Skip(reason) => skipped.push((certificate.clone(), reason)),
                Verdict::Refuse(refusal) => {
                    let error = StoreError::Refused(refusal);
                    return Err(refused(self, error, certificates, policy));
                }
            }
        }
        let stored = self.store_all(Admitted {
            certificates: &admitted,
            skipped: &skipped,
            upload_name: policy.upload(),
        })?;
        if stored.len() != admitted.len() {
            return Err(StoreError::BackendContract(
                "a store returned a number of outcomes other than the number of certificates",
            ));
        }
        self.record(StoreEvent::Imported {
            certificates: &admitted,
            outcomes: &stored,
            skipped: &skipped,
            upload_name: policy.upload(),
        })?;
        let stored = with_renewals(self, &admitted, stored);
        // One outcome per certificate of the upload, in its order.
        let mut stored = stored.into_iter();
        let mut skipped = skipped.into_iter().peekable();
        let outcomes: Vec<ImportOutcome> = certificates
            .iter()
            .filter_map(
                |certificate| match skipped.next_if(|(first, _)| first == certificate) {
                    Some((_, reason)) => Some(ImportOutcome::Skipped(certificate.name(), reason)),
                    None => stored.next(),
                },
            )
            .collect();
        for outcome in &outcomes {
            metrics::counter!("inbound_certs_imports_total", "outcome" => outcome.code())
                .increment(1);
        }
        Ok(outcomes)
    }

    fn import_upload(
        &self,
        upload: &[u8],
        policy: &ImportPolicy,
    ) -> Result<Vec<ImportOutcome>, StoreError> {
        let certificates = decode_with(upload, &policy.decode)
            .map_err(|error| refused(self, error.into(), &[], policy))?;
        self.import_all(&certificates, policy)
    }

    fn get_by_fingerprint(
        &self,
        fingerprint: &Fingerprint,
    ) -> Result<Option<Certificate>, StoreError> {
        self.load(&CertificateName::from(*fingerprint))
    }

    fn expiring_within(
        &self,
        now: OffsetDateTime,
        within: Duration,
    ) -> Result<Vec<Certificate>, StoreError> {
        let listing = self.load_all()?;
        Ok(listing
            .certificates
            .into_iter()
            .filter(|c| c.summary().validity.ends_within(now, within))
            .collect())
    }

    fn expired(&self, now: OffsetDateTime) -> Result<Vec<Certificate>, StoreError> {
        let listing = self.load_all()?;
        Ok(listing
            .certificates
            .into_iter()
            .filter(|c| c.summary().validity.is_expired_at(now))
            .collect())
    }

    fn purge_expired(&self, now: OffsetDateTime) -> Result<Vec<CertificateName>, StoreError> {
        let mut purged = Vec::new();
        for certificate in self.expired(now)? {
            match self.remove_expired(&certificate) {
                Ok(()) => {
                    metrics::counter!("inbound_certs_purges_total").increment(1);
                    self.record(StoreEvent::Purged {
                        certificate: &certificate,
                    })?;
                    purged.push(certificate.name());
                }
                Err(StoreError::NotFound(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(purged)
    }
}

/// The outcomes of an import with each added certificate that renews one the store held
/// already reported as [`ImportOutcome::Renewed`]. Read after the import, in one pass over the
/// store: a store that cannot be read now leaves the outcomes as they are (the import is
/// done).
fn with_renewals<S: StoreBackend + ?Sized>(
    store: &S,
    admitted: &[Certificate],
    outcomes: Vec<ImportOutcome>,
) -> Vec<ImportOutcome> {
    use std::collections::{HashMap, HashSet};
    if !outcomes
        .iter()
        .any(|o| matches!(o, ImportOutcome::Added(_)))
    {
        return outcomes;
    }
    let Ok(listing) = store.load_all() else {
        return outcomes;
    };
    let uploaded: HashSet<CertificateName> = admitted.iter().map(Certificate::name).collect();
    // For each client (subject and issuer; public key), the stored certificate ending last.
    let mut by_names: HashMap<(&[u8], &[u8]), &Certificate> = HashMap::new();
    let mut by_key: HashMap<&[u8], &Certificate> = HashMap::new();
    let later = |a: &Certificate, b: &Certificate| {
        a.summary().validity.not_after > b.summary().validity.not_after
    };
    for old in &listing.certificates {
        if uploaded.contains(&old.name()) {
            continue;
        }
        let summary = old.summary();
        let names = (summary.subject.der(), summary.issuer.der());
        let slot = by_names.entry(names).or_insert(old);
        if later(old, slot) {
            *slot = old;
        }
        if let Some(key) = crate::der::subject_public_key_info(old.der()) {
            let slot = by_key.entry(key.raw).or_insert(old);
            if later(old, slot) {
                *slot = old;
            }
        }
    }
    outcomes
        .into_iter()
        .zip(admitted)
        .map(|(outcome, certificate)| {
            let ImportOutcome::Added(name) = outcome else {
                return outcome;
            };
            let summary = certificate.summary();
            let by_key = crate::der::subject_public_key_info(certificate.der())
                .and_then(|key| by_key.get(key.raw));
            let renewed = [
                by_names.get(&(summary.subject.der(), summary.issuer.der())),
                by_key,
            ]
            .into_iter()
            .flatten()
            .filter(|old| certificate.renews(old))
            .max_by_key(|old| old.summary().validity.not_after);
            match renewed {
                Some(old) => ImportOutcome::Renewed {
                    name,
                    renews: old.name(),
                    renews_not_after: old.summary().validity.not_after,
                },
                None => outcome,
            }
        })
        .collect()
}

/// Counts and records an import refused before anything was stored; the refusal, or the
/// error of recording it.
fn refused<S: StoreBackend + ?Sized>(
    store: &S,
    error: StoreError,
    certificates: &[Certificate],
    policy: &ImportPolicy,
) -> StoreError {
    metrics::counter!("inbound_certs_refusals_total", "reason" => error.code()).increment(1);
    match store.record(StoreEvent::Refused {
        error: &error,
        certificates,
        upload_name: policy.upload(),
    }) {
        Ok(()) => error,
        Err(recording) => recording,
    }
}

/// Refuses target systems; shared by the backends' constructors.
pub(crate) fn require_inbound(kind: SystemKind) -> Result<(), StoreError> {
    if kind.accepts_inbound() {
        Ok(())
    } else {
        Err(StoreError::NotInbound(kind))
    }
}
