//! [`SystemStore`]: one system's certificates, keeping the registry's index and audit trail
//! current.

use super::*;

/// One system's certificates: a [`CertificateStore`](crate::CertificateStore) with everything a store has (import with
/// the policy, list, get, delete, expiry chores), that keeps the registry's index of which
/// systems trust which certificate up to date.
#[derive(Clone)]
pub struct SystemStore {
    pub(super) system: System,
    pub(super) store: Option<Arc<dyn StoreBackend>>,
    /// On PostgreSQL, the same store as `store`, whose writes insert their audit records in
    /// their own transaction.
    #[cfg(feature = "postgres")]
    pub(super) rows: Option<Arc<crate::store::postgres::SystemRows>>,
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

    /// A removed system's directory is gone: say which system, not which path.
    fn system_error(&self, error: StoreError) -> StoreError {
        match error {
            StoreError::NoDirectory(_) => StoreError::SystemNotFound(self.system.name().clone()),
            other => other,
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

    fn store_all(&self, admitted: Admitted<'_>) -> Result<Vec<Imported>, StoreError> {
        let Some(store) = &self.store else {
            return Err(StoreError::NotInbound(self.system.kind()));
        };
        let certificates = admitted.certificates();
        let store_all = || -> Result<Vec<Imported>, StoreError> {
            match &self.shared.backend {
                // Held while storing, so that a removal of the system comes before or after.
                Backend::Memory(memory) => memory.store_all(self.system.name(), store, admitted),
                // The file store checks, under its lock, that its directory is still the one
                // it opened.
                _ => store
                    .store_all(admitted)
                    .map_err(|error| self.system_error(error)),
            }
        };
        let outcomes = match &self.shared.backend {
            // Checked in the write's transaction, which inserts the records of the import;
            // the backend's own index follows.
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => {
                let Some(rows) = &self.rows else {
                    return Err(StoreError::NotInbound(self.system.kind()));
                };
                return self
                    .shared
                    .bumped(rows.store_all_audited(admitted, &|outcomes| {
                        self.records_of(StoreEvent::Imported {
                            certificates,
                            outcomes,
                            skipped: admitted.skipped(),
                            upload_name: admitted.upload_name(),
                        })
                    }));
            }
            // In memory the trail cannot fail: stored, then recorded as it happened.
            Backend::Memory(_) => {
                let outcomes = store_all()?;
                self.shared
                    .audit
                    .append(&self.records_of(StoreEvent::Imported {
                        certificates,
                        outcomes: &outcomes,
                        skipped: admitted.skipped(),
                        upload_name: admitted.upload_name(),
                    }))?;
                outcomes
            }
            // Recorded, then stored: under the trail's lock, which every writer of the
            // registry waits for, what the store holds cannot change, so the outcome each
            // certificate will have is known before it is stored (as the store decides it:
            // a certificate given twice is added once; a damaged entry is replaced).
            _ => self.shared.audit.record_then_change(
                || {
                    let mut seen = std::collections::HashSet::with_capacity(certificates.len());
                    let mut outcomes = Vec::with_capacity(certificates.len());
                    for certificate in certificates {
                        let name = certificate.name();
                        let added = seen.insert(name)
                            && match store.load(&name) {
                                Ok(None) | Err(StoreError::Damaged(_)) => true,
                                Ok(Some(_)) => false,
                                Err(error) => return Err(self.system_error(error)),
                            };
                        outcomes.push(if added {
                            Imported::Added(name)
                        } else {
                            Imported::AlreadyPresent(name)
                        });
                    }
                    Ok(self.records_of(StoreEvent::Imported {
                        certificates,
                        outcomes: &outcomes,
                        skipped: admitted.skipped(),
                        upload_name: admitted.upload_name(),
                    }))
                },
                store_all,
            )?,
        };
        // Certificates already present change nothing: no marker, no rebuild anywhere.
        if outcomes
            .iter()
            .any(|outcome| matches!(outcome, Imported::Added(_)))
        {
            self.shared.changed(|index| {
                for certificate in certificates {
                    index.trust(certificate.fingerprint(), self.system.name());
                }
            });
        }
        Ok(outcomes)
    }

    fn load(&self, name: &CertificateName) -> Result<Option<Certificate>, StoreError> {
        match &self.store {
            Some(store) => store.load(name).map_err(|error| self.system_error(error)),
            None => Ok(None),
        }
    }

    fn load_all(&self) -> Result<Listing, StoreError> {
        match &self.store {
            Some(store) => store.load_all().map_err(|error| self.system_error(error)),
            None => Ok(Listing::default()),
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
            StoreEvent::Refused { .. } => self.shared.audit.append(&self.records_of(event)),
            _ => Ok(()),
        }
    }
}

impl SystemStore {
    /// Removes a certificate (or damaged entry) and records it: as a purge of `expired`
    /// when given, as a delete otherwise. The record is written first, under the trail's
    /// lock, and taken back if the removal fails.
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
        // On PostgreSQL the delete's transaction inserts its record (the backend's own index
        // follows).
        #[cfg(feature = "postgres")]
        if let Some(rows) = &self.rows {
            let certificate = store.load(name).ok().flatten();
            return self
                .shared
                .bumped(rows.remove_audited(name, &|| records(certificate.as_ref())));
        }
        self.shared.audit.record_then_change(
            || {
                // Read under the lock: what is removed is what the record names. A damaged
                // entry is removed and recorded by its name alone.
                let certificate = match store.load(name) {
                    Ok(Some(certificate)) => Some(certificate),
                    Ok(None) => return Err(StoreError::NotFound(*name)),
                    Err(_) => None,
                };
                Ok(records(certificate.as_ref()))
            },
            || store.remove(name).map_err(|error| self.system_error(error)),
        )?;
        self.shared
            .changed(|index| index.distrust(&name.fingerprint(), self.system.name()));
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
                            Imported::Added(_) | Imported::Renewed { .. } => AuditOutcome::Added,
                            Imported::AlreadyPresent(_) => AuditOutcome::AlreadyPresent,
                            Imported::Skipped(..) => AuditOutcome::Skipped,
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
                    crate::store::rfc3339(certificate.summary().validity.not_after)
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
