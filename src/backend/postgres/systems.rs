//! The systems of a [`Registry`](crate::Registry) on PostgreSQL, and the rows of one system as
//! a store: every write is one transaction under the revision lock, like any other write, so
//! that creating, removing and importing into systems are applied in one order by every
//! replica. Reads answer from the index.

use std::path::PathBuf;
use std::sync::Arc;

use time::OffsetDateTime;

use super::writer::WriteError;
use super::{Database, Shared};
use crate::audit::AuditRecord;
use crate::backend::{Identified, PermissionChange, Suspensions};
use crate::certificate::Certificate;
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::store::{
    Admitted, CertificateListing, DamagedEntry, EntryDamage, ImportOutcome, StoreBackend,
    StoreError, Suspension,
};
use crate::system::{Permission, System, SystemKind, SystemName};

/// The rows of one system: the rows of a registered system, or (`system` empty) those of a
/// [`PostgresStore`](super::PostgresStore), which belong to no system.
pub(crate) struct SystemRows {
    shared: Arc<Shared>,
    /// The system's name as stored; empty for a `PostgresStore`.
    system: String,
    /// The registered system and the id of its row when this store was made: writes check,
    /// in their transaction, that the system is still this one.
    registered: Option<(SystemName, i64)>,
    kind: SystemKind,
}

impl SystemRows {
    /// The rows of no system: a `PostgresStore`'s.
    pub(super) fn unassigned(shared: Arc<Shared>, kind: SystemKind) -> Self {
        SystemRows {
            shared,
            system: String::new(),
            registered: None,
            kind,
        }
    }

    /// While a registered system is read: `SystemNotFound` when it was removed (or removed
    /// and created again) since this store was made.
    fn check_current(&self, index: &super::index::Index) -> Result<(), StoreError> {
        if let Some((name, id)) = &self.registered {
            if index.systems.get(name).map(|current| current.id) != Some(*id) {
                return Err(StoreError::SystemNotFound(name.clone()));
            }
        }
        Ok(())
    }

    /// In a write's transaction: the same check against the systems table.
    fn check_current_in(
        &self,
        transaction: &mut postgres::Transaction<'_>,
    ) -> Result<(), WriteError> {
        if let Some((name, id)) = &self.registered {
            let current =
                transaction.query_opt(&self.shared.statements.system_id, &[&name.as_str()])?;
            let current: Option<i64> = current.map(|row| row.try_get(0)).transpose()?;
            if current != Some(*id) {
                return Err(WriteError::Refused(StoreError::SystemNotFound(
                    name.clone(),
                )));
            }
        }
        Ok(())
    }

    /// Stores the admitted certificates, and in the same transaction the audit records
    /// `records` makes of the outcomes (none for a `PostgresStore`).
    pub(crate) fn store_all_audited(
        &self,
        admitted: Admitted<'_>,
        records: &dyn Fn(&[ImportOutcome]) -> Vec<AuditRecord>,
    ) -> Result<Vec<ImportOutcome>, StoreError> {
        let certificates = admitted.certificates();
        self.shared
            .write("import into the database", |transaction, shared, log| {
                self.check_current_in(transaction)?;
                let insert = &shared.statements.insert_certificate;
                let mut outcomes = Vec::with_capacity(certificates.len());
                for certificate in certificates {
                    let name = certificate.name();
                    let key = certificate.fingerprint().to_string();
                    let der = certificate.der();
                    if transaction
                        .query_opt(insert, &[&self.system, &key, &der])?
                        .is_some()
                    {
                        log.record(transaction, &self.system, &key, true)?;
                        outcomes.push(ImportOutcome::Added(name));
                    } else {
                        outcomes.push(ImportOutcome::AlreadyPresent(name));
                    }
                }
                log.audit(transaction, &records(&outcomes))?;
                Ok(outcomes)
            })
    }

    /// Deletes the row of this certificate, and in the same transaction inserts the records
    /// `records` makes (none for a `PostgresStore`), under the revision lock: their time is
    /// the change's.
    pub(crate) fn remove_audited(
        &self,
        name: &CertificateName,
        records: &dyn Fn() -> Vec<AuditRecord>,
    ) -> Result<(), StoreError> {
        let key = name.fingerprint().to_string();
        self.shared
            .write("delete from the database", |transaction, shared, log| {
                self.check_current_in(transaction)?;
                let deleted = transaction
                    .query_opt(&shared.statements.delete_certificate, &[&self.system, &key])?;
                if deleted.is_none() {
                    return Err(WriteError::Refused(StoreError::NotFound(*name)));
                }
                // A deleted certificate's suspension goes with it.
                transaction.execute(&shared.statements.delete_suspension, &[&self.system, &key])?;
                log.record(transaction, &self.system, &key, false)?;
                log.audit(transaction, &records())?;
                Ok(())
            })
    }
}

impl SystemRows {
    /// The suspensions of the system's certificates, from the index (only those of
    /// certificates it holds).
    pub(crate) fn suspensions(&self) -> Result<Suspensions, StoreError> {
        let index = self.shared.read_index();
        self.check_current(&index)?;
        let held = index.stores.get(&self.system);
        Ok(index
            .suspensions
            .get(&self.system)
            .map(|suspensions| {
                suspensions
                    .iter()
                    .filter(|(name, _)| {
                        held.is_some_and(|rows| rows.certificates.contains_key(name))
                    })
                    .map(|(name, suspension)| (*name, suspension.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Suspends a certificate the system holds (or replaces its suspension), and in the
    /// same transaction inserts the records `records` makes. Returns the suspension as kept:
    /// its time to the microsecond.
    pub(crate) fn suspend(
        &self,
        name: &CertificateName,
        suspension: &Suspension,
        records: &dyn Fn(&Certificate, Option<&Suspension>) -> Vec<AuditRecord>,
    ) -> Result<Suspension, StoreError> {
        let key = name.fingerprint().to_string();
        let since = to_microseconds(suspension.since());
        let kept = Suspension::stored(
            suspension.reason().to_string(),
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(since) * 1000)
                .unwrap_or(suspension.since()),
            suspension.by().to_string(),
        );
        let certificate = self.held(name)?;
        self.shared
            .write("suspend in the database", |transaction, shared, log| {
                self.check_current_in(transaction)?;
                self.check_held_in(transaction, name, &key)?;
                let previous = self.suspension_in(transaction, &key)?;
                transaction.execute(
                    &shared.statements.upsert_suspension,
                    &[
                        &self.system,
                        &key,
                        &suspension.reason(),
                        &since,
                        &suspension.by(),
                    ],
                )?;
                // Logged as a change of the system: every replica reads the suspensions
                // again when their hash moved.
                log.record(transaction, &self.system, "", true)?;
                log.audit(transaction, &records(&certificate, previous.as_ref()))?;
                Ok(())
            })?;
        Ok(kept)
    }

    /// Lifts a certificate's suspension, and in the same transaction inserts the records
    /// `records` makes. Returns the suspension lifted.
    pub(crate) fn resume(
        &self,
        name: &CertificateName,
        records: &dyn Fn(&Certificate, &Suspension) -> Vec<AuditRecord>,
    ) -> Result<Suspension, StoreError> {
        let key = name.fingerprint().to_string();
        let certificate = self.held(name)?;
        self.shared
            .write("resume in the database", |transaction, shared, log| {
                self.check_current_in(transaction)?;
                self.check_held_in(transaction, name, &key)?;
                let lifted = self
                    .suspension_in(transaction, &key)?
                    .ok_or(WriteError::Refused(StoreError::NotSuspended(*name)))?;
                transaction.execute(&shared.statements.delete_suspension, &[&self.system, &key])?;
                log.record(transaction, &self.system, "", false)?;
                log.audit(transaction, &records(&certificate, &lifted))?;
                Ok(lifted)
            })
    }

    /// The certificate, from the index: [`StoreError::NotFound`] if the system does not
    /// hold it (a damaged row is not a certificate one can suspend).
    fn held(&self, name: &CertificateName) -> Result<Certificate, StoreError> {
        match StoreBackend::load(self, name) {
            Ok(Some(certificate)) => Ok(certificate),
            Ok(None) | Err(StoreError::Damaged(_)) => Err(StoreError::NotFound(*name)),
            Err(error) => Err(error),
        }
    }

    /// In a write's transaction: [`StoreError::NotFound`] unless the system holds a row of
    /// this certificate.
    fn check_held_in(
        &self,
        transaction: &mut postgres::Transaction<'_>,
        name: &CertificateName,
        key: &str,
    ) -> Result<(), WriteError> {
        let held: bool = transaction
            .query_one(
                &self.shared.statements.has_certificate,
                &[&self.system, &key],
            )?
            .try_get(0)?;
        if held {
            Ok(())
        } else {
            Err(WriteError::Refused(StoreError::NotFound(*name)))
        }
    }

    /// In a write's transaction: the certificate's suspension, if any.
    fn suspension_in(
        &self,
        transaction: &mut postgres::Transaction<'_>,
        key: &str,
    ) -> Result<Option<Suspension>, WriteError> {
        let Some(row) =
            transaction.query_opt(&self.shared.statements.suspension, &[&self.system, &key])?
        else {
            return Ok(None);
        };
        let reason: String = row.try_get(0)?;
        let since: i64 = row.try_get(1)?;
        let actor: String = row.try_get(2)?;
        let since = OffsetDateTime::from_unix_timestamp_nanos(i128::from(since) * 1000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Ok(Some(Suspension::stored(reason, since, actor)))
    }
}

impl StoreBackend for SystemRows {
    fn system_kind(&self) -> SystemKind {
        self.kind
    }

    fn store_all(&self, admitted: Admitted<'_>) -> Result<Vec<ImportOutcome>, StoreError> {
        self.store_all_audited(admitted, &|_| Vec::new())
    }

    fn load(&self, name: &CertificateName) -> Result<Option<Certificate>, StoreError> {
        let index = self.shared.read_index();
        self.check_current(&index)?;
        let Some(rows) = index.stores.get(&self.system) else {
            return Ok(None);
        };
        if let Some(certificate) = rows.certificates.get(name) {
            return Ok(Some(certificate.clone()));
        }
        match rows.damaged.get(&name.fingerprint().to_string()) {
            Some((damaged, _)) => Err(StoreError::Damaged(damaged.clone())),
            None => Ok(None),
        }
    }

    fn load_all(&self) -> Result<CertificateListing, StoreError> {
        let index = self.shared.read_index();
        self.check_current(&index)?;
        let Some(rows) = index.stores.get(&self.system) else {
            return Ok(CertificateListing::default());
        };
        Ok(CertificateListing {
            certificates: rows.certificates.values().cloned().collect(),
            damaged: rows
                .damaged
                .values()
                .map(|(damaged, _)| damaged.clone())
                .collect(),
        })
    }

    fn remove(&self, name: &CertificateName) -> Result<(), StoreError> {
        self.remove_audited(name, &Vec::new)
    }
}

/// The system a row of the systems table holds, or what is wrong with the row (a hand-made
/// row: every row the library writes is a system).
pub(super) fn system_of_row(
    name: SystemName,
    kind: &str,
    created: i64,
    permissions: &[String],
) -> Result<System, String> {
    let kind = kind
        .parse::<SystemKind>()
        .map_err(|error| error.to_string())?;
    let created = OffsetDateTime::from_unix_timestamp_nanos(i128::from(created) * 1000)
        .map_err(|error| format!("its creation time: {error}"))?;
    let permissions = permissions
        .iter()
        .map(|text| text.parse::<Permission>())
        .collect::<Result<std::collections::BTreeSet<_>, _>>()
        .map_err(|error| format!("its permissions: {error}"))?;
    if !kind.accepts_inbound() && !permissions.is_empty() {
        return Err("a target system, holding permissions".to_string());
    }
    Ok(System::new(name, kind, created).with_permissions(permissions))
}

/// A creation time as PostgreSQL keeps it: to the microsecond.
fn to_microseconds(instant: OffsetDateTime) -> i64 {
    let microseconds = instant.unix_timestamp_nanos() / 1000;
    i64::try_from(microseconds).unwrap_or(if microseconds < 0 { i64::MIN } else { i64::MAX })
}

impl Database {
    /// Registers a system (its creation time kept to the microsecond, as returned), and in
    /// the same transaction inserts the record `record` makes.
    pub(crate) fn create_system(
        &self,
        system: &System,
        record: &dyn Fn() -> AuditRecord,
    ) -> Result<System, StoreError> {
        let (name, kind, created) = (system.name(), system.kind(), system.created());
        let permissions: Vec<&str> = system
            .permissions()
            .iter()
            .map(Permission::as_str)
            .collect();
        let microseconds = to_microseconds(created);
        let created = OffsetDateTime::from_unix_timestamp_nanos(i128::from(microseconds) * 1000)
            .unwrap_or(created);
        self.shared
            .write("create the system", |transaction, shared, log| {
                let inserted = transaction.query_opt(
                    &shared.statements.insert_system,
                    &[&name.as_str(), &kind.as_str(), &microseconds, &permissions],
                )?;
                if inserted.is_none() {
                    return Err(WriteError::Refused(StoreError::SystemExists(name.clone())));
                }
                log.record(transaction, name.as_str(), "", true)?;
                log.audit(transaction, &[record()])?;
                Ok(())
            })?;
        Ok(System::new(name.clone(), kind, created).with_permissions(system.permissions().clone()))
    }

    /// Changes a system's permissions in one transaction, with the row of the system locked:
    /// `change` is handed the system as the row holds it, and the transaction inserts the
    /// record it makes.
    pub(crate) fn change_permissions(
        &self,
        name: &SystemName,
        change: &dyn Fn(&System) -> Result<Option<PermissionChange>, StoreError>,
    ) -> Result<System, StoreError> {
        self.shared
            .write("change the permissions", |transaction, shared, log| {
                let row = transaction
                    .query_opt(&shared.statements.system_for_update, &[&name.as_str()])?
                    .ok_or_else(|| WriteError::Refused(StoreError::SystemNotFound(name.clone())))?;
                let kind: String = row.try_get(0)?;
                let created: i64 = row.try_get(1)?;
                let permissions: Vec<String> = row.try_get(3)?;
                let system = system_of_row(name.clone(), &kind, created, &permissions).map_err(
                    |problem| {
                        WriteError::Refused(StoreError::Damaged(DamagedEntry {
                            location: PathBuf::from(format!("{}.systems/{name}", shared.schema)),
                            problem: EntryDamage::Unreadable(problem),
                        }))
                    },
                )?;
                let Some((permissions, record)) = change(&system).map_err(WriteError::Refused)?
                else {
                    return Ok(system);
                };
                let texts: Vec<&str> = permissions.iter().map(Permission::as_str).collect();
                transaction.execute(
                    &shared.statements.set_permissions,
                    &[&name.as_str(), &texts],
                )?;
                // Logged as a change of the system: every replica reads the systems again.
                log.record(transaction, name.as_str(), "", true)?;
                log.audit(transaction, &[record])?;
                Ok(system.with_permissions(permissions))
            })
    }

    /// The registered systems, sorted by name; the rows of the systems table that are not
    /// readable systems, and the certificate rows of systems that are not registered (made
    /// by hand: every removal deletes a system's rows with it), never hidden.
    pub(crate) fn systems(&self) -> (Vec<System>, Vec<DamagedEntry>) {
        let index = self.shared.read_index();
        let mut damaged = index.damaged_systems.clone();
        for (system, rows) in &index.stores {
            let registered = system
                .parse::<SystemName>()
                .is_ok_and(|name| index.systems.contains_key(&name));
            if !system.is_empty() && !registered {
                damaged.push(DamagedEntry {
                    location: PathBuf::from(format!(
                        "{}.client_certificates/{system}",
                        self.shared.schema
                    )),
                    problem: EntryDamage::Unreadable(format!(
                        "{} row(s) of a system that is not registered (create the system to see them, or delete them)",
                        rows.certificates.len() + rows.damaged.len()
                    )),
                });
            }
        }
        damaged.sort_by(|a, b| a.location.cmp(&b.location));
        (
            index
                .systems
                .values()
                .map(|registered| registered.system.clone())
                .collect(),
            damaged,
        )
    }

    /// The system with this name.
    pub(crate) fn system(&self, name: &SystemName) -> Result<System, StoreError> {
        self.shared
            .read_index()
            .systems
            .get(name)
            .map(|registered| registered.system.clone())
            .ok_or_else(|| StoreError::SystemNotFound(name.clone()))
    }

    /// The system with this name and its rows as a store (none for a target system).
    pub(crate) fn store(
        &self,
        name: &SystemName,
    ) -> Result<(System, Option<Arc<SystemRows>>), StoreError> {
        let registered = self
            .shared
            .read_index()
            .systems
            .get(name)
            .cloned()
            .ok_or_else(|| StoreError::SystemNotFound(name.clone()))?;
        let system = registered.system;
        if !system.kind().accepts_inbound() {
            return Ok((system, None));
        }
        let rows = SystemRows {
            shared: Arc::clone(&self.shared),
            system: name.as_str().to_string(),
            registered: Some((name.clone(), registered.id)),
            kind: system.kind(),
        };
        Ok((system, Some(Arc::new(rows))))
    }

    /// Removes a system, in one transaction: refused while it holds rows unless
    /// `with_certificates`, which deletes them with it. Returns how many rows went. The
    /// transaction inserts the audit record `record` makes of that number.
    pub(crate) fn remove_system(
        &self,
        name: &SystemName,
        with_certificates: bool,
        record: &dyn Fn(usize) -> AuditRecord,
    ) -> Result<usize, StoreError> {
        self.shared
            .write("remove the system", |transaction, shared, log| {
                let found =
                    transaction.query_opt(&shared.statements.lock_system, &[&name.as_str()])?;
                if found.is_none() {
                    return Err(WriteError::Refused(StoreError::SystemNotFound(
                        name.clone(),
                    )));
                }
                let held: i64 = transaction
                    .query_one(&shared.statements.count_certificates, &[&name.as_str()])?
                    .try_get(0)?;
                let held = usize::try_from(held).unwrap_or(usize::MAX);
                if held > 0 && !with_certificates {
                    return Err(WriteError::Refused(StoreError::SystemNotEmpty {
                        name: name.clone(),
                        certificates: held,
                    }));
                }
                let deleted =
                    transaction.query(&shared.statements.delete_certificates, &[&name.as_str()])?;
                for row in &deleted {
                    let key: String = row.try_get(0)?;
                    log.record(transaction, name.as_str(), &key, false)?;
                }
                transaction.execute(&shared.statements.delete_suspensions, &[&name.as_str()])?;
                transaction.execute(&shared.statements.delete_system, &[&name.as_str()])?;
                log.record(transaction, name.as_str(), "", false)?;
                log.audit(transaction, &[record(deleted.len())])?;
                Ok(deleted.len())
            })
    }

    /// How many rows belong to no system (a `PostgresStore`'s, or those of a table made
    /// before registries).
    pub(crate) fn legacy_certificates(&self) -> usize {
        self.shared
            .read_index()
            .stores
            .get("")
            .map_or(0, |rows| rows.certificates.len() + rows.damaged.len())
    }

    /// Moves every row of no system into the registered system `name`, in one transaction. A
    /// row the system already holds (the same fingerprint) is not duplicated: the legacy row
    /// is deleted. Returns how many rows were moved.
    pub(crate) fn adopt_legacy(&self, name: &SystemName) -> Result<usize, StoreError> {
        let (system, _) = self.store(name)?;
        if !system.kind().accepts_inbound() {
            return Err(StoreError::NotInbound(system.kind()));
        }
        let id = self
            .shared
            .read_index()
            .systems
            .get(name)
            .map(|registered| registered.id);
        self.shared
            .write("adopt the rows of no system", |transaction, shared, log| {
                let current =
                    transaction.query_opt(&shared.statements.system_id, &[&name.as_str()])?;
                let current: Option<i64> = current.map(|row| row.try_get(0)).transpose()?;
                if current.is_none() || current != id {
                    return Err(WriteError::Refused(StoreError::SystemNotFound(
                        name.clone(),
                    )));
                }
                let duplicates = transaction.query(
                    &shared.statements.delete_adopted_duplicates,
                    &[&name.as_str()],
                )?;
                for row in &duplicates {
                    let key: String = row.try_get(0)?;
                    log.record(transaction, "", &key, false)?;
                }
                let moved =
                    transaction.query(&shared.statements.adopt_legacy, &[&name.as_str()])?;
                for row in &moved {
                    let key: String = row.try_get(0)?;
                    log.record(transaction, "", &key, false)?;
                    log.record(transaction, name.as_str(), &key, true)?;
                }
                Ok(moved.len())
            })
    }

    /// The systems that hold a healthy row of this certificate, sorted by name, those that
    /// trust it and those that suspended it: one lookup in the index. Rows of a target
    /// system (only a hand-made row can be one) trust nothing, as a target system has no
    /// store.
    pub(crate) fn identify(&self, fingerprint: &Fingerprint) -> Identified {
        let index = self.shared.read_index();
        let name = CertificateName::from(*fingerprint);
        let mut identified = Identified::default();
        for system in index
            .trusted
            .get(fingerprint)
            .into_iter()
            .flatten()
            .filter_map(|name| index.systems.get(name))
            .map(|registered| &registered.system)
            .filter(|system| system.kind().accepts_inbound())
        {
            if index.is_suspended(system.name().as_str(), &name) {
                identified.suspended.push(system.clone());
            } else {
                identified.trusting.push(system.clone());
            }
        }
        identified
    }
}
