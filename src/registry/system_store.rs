//! [`SystemStore`]: one system's certificates, keeping the registry's index and audit trail
//! current.

use super::*;

/// One system's certificates: a [`CertificateStore`](crate::CertificateStore) with everything a store has (import with
/// the policy, list, get, delete, expiry chores), that keeps the registry's index of which
/// systems trust which certificate up to date.
///
/// Every write through it is recorded in the registry's audit trail with the change; the
/// backend's own store of a system, which could change it without a record, is never
/// handed out:
///
/// ```compile_fail,E0603
/// use inbound_certs::backend::SystemBackend;
/// ```
#[derive(Clone)]
pub struct SystemStore {
    pub(super) system: System,
    /// The backend's store of the system, which records every write with it (none for a
    /// target system).
    pub(super) store: Option<Arc<dyn SystemBackend>>,
    pub(super) shared: Arc<Shared>,
    pub(super) actor: Arc<str>,
}

impl std::fmt::Debug for SystemStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemStore")
            .field("system", &self.system)
            .finish_non_exhaustive()
    }
}

impl SystemStore {
    /// The system whose certificates these are.
    pub fn system(&self) -> &System {
        &self.system
    }

    /// Suspends a certificate the system holds: it stays stored (listed, shown, counted), but
    /// the system no longer trusts it: [`Registry::identify`] leaves the system out for it,
    /// and the verifier refuses it when every system that holds it suspended it. The reason
    /// is checked by [`check_reason`](crate::store::check_reason) (1 to 500 characters, one
    /// line); the time is the registry's clock's (PostgreSQL keeps it to the microsecond: the
    /// suspension returned is the one kept), the actor this handle's. Recorded in the
    /// audit trail (`suspend`, the reason in the detail) as one with the change, kept as
    /// durably as an import.
    ///
    /// Suspending a certificate that is suspended already replaces its suspension (a new
    /// reason, time and actor; the record's detail names the reason replaced). A delete
    /// clears the suspension (a certificate imported again after it is trusted); importing
    /// a certificate the system still holds changes nothing, so it stays suspended.
    ///
    /// Errors: [`StoreError::SuspensionReason`] for a refused reason (nothing recorded),
    /// [`StoreError::NotFound`] if the system does not hold the certificate (a target
    /// system holds none).
    ///
    /// ```
    /// use inbound_certs::{CertificateStore, ImportPolicy, Registry, SystemKind};
    /// use time::macros::datetime;
    ///
    /// let now = datetime!(2026-06-01 0:00 UTC);
    /// let registry = Registry::in_memory().with_clock(move || now).acting_as("alice");
    /// let crm = registry.create_system(&"crm".parse()?, SystemKind::Source, now)?;
    /// let store = registry.store(crm.name())?;
    /// let upload = std::fs::read("tests/data/sample_source.pem")?;
    /// let name = store.import_upload(&upload, &ImportPolicy::new(now))?[0].name();
    ///
    /// let suspension = store.suspend(&name, "key may have leaked")?;
    /// assert_eq!((suspension.reason(), suspension.by(), suspension.since()), ("key may have leaked", "alice", now));
    /// assert!(registry.identify(&name.fingerprint())?.is_empty());
    /// assert_eq!(registry.suspended_in(&name.fingerprint())?, vec![crm.clone()]);
    ///
    /// store.resume(&name)?;
    /// assert_eq!(registry.identify(&name.fingerprint())?, vec![crm]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn suspend(&self, name: &CertificateName, reason: &str) -> Result<Suspension, StoreError> {
        let suspension = Suspension::new(reason, self.shared.now(), self.actor.to_string())?;
        let Some(store) = &self.store else {
            return Err(StoreError::NotFound(*name));
        };
        let kept = store.suspend(name, &suspension, &|certificate, previous| {
            let detail = match previous {
                Some(previous) => format!(
                    "{} (replacing the suspension for: {})",
                    suspension.reason(),
                    previous.reason()
                ),
                None => suspension.reason().to_string(),
            };
            vec![self.audit_record(
                AuditAction::Suspend,
                Some(certificate),
                AuditOutcome::Suspended,
                detail,
            )]
        })?;
        self.shared.bump();
        Ok(kept)
    }

    /// Lifts a certificate's suspension: the system trusts it again. Recorded in the audit
    /// trail (`resume`, the detail saying what the suspension was) as one with the change.
    /// Returns the suspension lifted.
    ///
    /// Errors: [`StoreError::NotSuspended`] if the certificate is not suspended in this
    /// system, [`StoreError::NotFound`] if the system does not hold it.
    pub fn resume(&self, name: &CertificateName) -> Result<Suspension, StoreError> {
        let Some(store) = &self.store else {
            return Err(StoreError::NotFound(*name));
        };
        let lifted = store.resume(name, &|certificate, lifted| {
            vec![self.audit_record(
                AuditAction::Resume,
                Some(certificate),
                AuditOutcome::Resumed,
                format!(
                    "suspended since {} by {} for: {}",
                    crate::clock::rfc3339(lifted.since()),
                    lifted.by(),
                    lifted.reason()
                ),
            )]
        })?;
        self.shared.bump();
        Ok(lifted)
    }

    /// The suspension of a certificate the system holds; `None` if it is not suspended (or
    /// not held).
    pub fn suspension(&self, name: &CertificateName) -> Result<Option<Suspension>, StoreError> {
        match &self.store {
            Some(store) => store.suspension(name),
            None => Ok(None),
        }
    }

    /// Every suspended certificate of the system, by name, with its suspension.
    pub fn suspensions(&self) -> Result<BTreeMap<CertificateName, Suspension>, StoreError> {
        match &self.store {
            Some(store) => store.suspensions(),
            None => Ok(BTreeMap::new()),
        }
    }
}

/// Every change through a system store is recorded by the store itself, under the audit
/// trail's lock, whichever way it is called (through [`CertificateStore`] or straight through
/// these methods): no public path changes a system without its record.
///
/// [`CertificateStore`]: crate::CertificateStore
impl StoreBackend for SystemStore {
    fn system_kind(&self) -> SystemKind {
        self.system.kind()
    }

    fn store_all(&self, admitted: Admitted<'_>) -> Result<Vec<ImportOutcome>, StoreError> {
        let Some(store) = &self.store else {
            return Err(StoreError::NotInbound(self.system.kind()));
        };
        let outcomes = store.store_all(admitted, &|outcomes| {
            self.records_of(StoreEvent::Imported {
                certificates: admitted.certificates(),
                outcomes,
                skipped: admitted.skipped(),
                upload_name: admitted.upload_name(),
            })
        })?;
        // Certificates already present change nothing.
        if outcomes
            .iter()
            .any(|outcome| matches!(outcome, ImportOutcome::Added(_)))
        {
            self.shared.bump();
        }
        Ok(outcomes)
    }

    fn load(&self, name: &CertificateName) -> Result<Option<Certificate>, StoreError> {
        match &self.store {
            Some(store) => store.load(name),
            None => Ok(None),
        }
    }

    fn load_all(&self) -> Result<CertificateListing, StoreError> {
        match &self.store {
            Some(store) => store.load_all(),
            None => Ok(CertificateListing::default()),
        }
    }

    fn remove(&self, name: &CertificateName) -> Result<(), StoreError> {
        self.remove_recorded(name, None)
    }

    fn remove_expired(&self, certificate: &Certificate) -> Result<(), StoreError> {
        self.remove_recorded(&certificate.name(), Some(certificate))
    }

    fn record(&self, event: StoreEvent<'_>) -> Result<(), StoreError> {
        // What changed was recorded by the change itself (above); a refusal changed nothing
        // and is appended on its own.
        match event {
            StoreEvent::Refused { .. } => self.shared.backend.append(&self.records_of(event)),
            _ => Ok(()),
        }
    }
}

impl SystemStore {
    /// Removes a certificate (or damaged entry) and records it: as a purge of `expired`
    /// when given, as a delete otherwise, as one with the removal (see
    /// [`SystemBackend::remove`]).
    fn remove_recorded(
        &self,
        name: &CertificateName,
        expired: Option<&Certificate>,
    ) -> Result<(), StoreError> {
        let Some(store) = &self.store else {
            return Err(StoreError::NotFound(*name));
        };
        let records = |certificate: Option<&Certificate>| match expired {
            Some(certificate) => self.records_of(StoreEvent::Purged { certificate }),
            None => self.records_of(StoreEvent::Deleted { name, certificate }),
        };
        store.remove(name, &|certificate| records(certificate))?;
        self.shared.bump();
        Ok(())
    }

    /// The audit records of what a store operation did, made through this handle, now.
    fn records_of(&self, event: StoreEvent<'_>) -> Vec<AuditRecord> {
        match event {
            StoreEvent::Imported {
                certificates,
                outcomes,
                skipped,
                upload_name,
            } => {
                let from = |text: String| match upload_name {
                    Some(upload) if text.is_empty() => format!("upload {upload}"),
                    Some(upload) => format!("{text} (upload {upload})"),
                    None => text,
                };
                let stored = certificates
                    .iter()
                    .zip(outcomes)
                    .map(|(certificate, outcome)| {
                        let outcome = match outcome {
                            ImportOutcome::Added(_) | ImportOutcome::Renewed { .. } => {
                                AuditOutcome::Added
                            }
                            ImportOutcome::AlreadyPresent(_) => AuditOutcome::AlreadyPresent,
                            ImportOutcome::Skipped(..) => AuditOutcome::Skipped,
                        };
                        self.audit_record(
                            AuditAction::Import,
                            Some(certificate),
                            outcome,
                            from(String::new()),
                        )
                    });
                let skipped = skipped.iter().map(|(certificate, reason)| {
                    self.audit_record(
                        AuditAction::Import,
                        Some(certificate),
                        AuditOutcome::Skipped,
                        from(reason.to_string()),
                    )
                });
                stored.chain(skipped).collect()
            }
            StoreEvent::Refused {
                error,
                certificates,
                upload_name,
            } => {
                // The certificate the refusal is about, when it names one.
                let named = match error {
                    StoreError::Refused(refusal) => {
                        certificates.iter().find(|c| c.name() == refusal.name)
                    }
                    _ => None,
                };
                let about = match (certificates.len(), upload_name) {
                    (0, None) => String::new(),
                    (0, Some(upload)) => format!(" (upload {upload})"),
                    (count, None) => format!(" ({count} certificate(s) in the upload)"),
                    (count, Some(upload)) => {
                        format!(" ({count} certificate(s) in upload {upload})")
                    }
                };
                vec![self.audit_record(
                    AuditAction::Import,
                    named,
                    AuditOutcome::Refused,
                    format!(
                        "{}{about}: {}",
                        error.code(),
                        crate::ErrorReport::new(error)
                    ),
                )]
            }
            StoreEvent::Deleted { name, certificate } => {
                let mut record = self.audit_record(
                    AuditAction::Delete,
                    certificate,
                    AuditOutcome::Removed,
                    String::new(),
                );
                record.certificate = Some(*name);
                vec![record]
            }
            StoreEvent::Purged { certificate } => vec![self.audit_record(
                AuditAction::Purge,
                Some(certificate),
                AuditOutcome::Removed,
                format!(
                    "expired on {}",
                    crate::clock::rfc3339(certificate.summary().validity.not_after)
                ),
            )],
        }
    }

    fn audit_record(
        &self,
        action: AuditAction,
        certificate: Option<&Certificate>,
        outcome: AuditOutcome,
        detail: String,
    ) -> AuditRecord {
        AuditRecord {
            time: self.shared.now(),
            actor: self.actor.to_string(),
            system: Some(self.system.name().clone()),
            action,
            certificate: certificate.map(Certificate::name),
            subject: certificate.map(|c| c.summary().subject.to_string()),
            outcome,
            detail,
        }
    }
}
