//! What goes wrong in a store: [`StoreError`] for an operation, [`DamagedEntry`] and
//! [`EntryDamage`] for an entry that cannot be read as the certificate its name promises.

use std::path::PathBuf;

use time::OffsetDateTime;

use crate::clock::rfc3339;

use crate::error::DecodeError;
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::system::{SystemKind, SystemName};
#[cfg(doc)]
use crate::{backend::FileStore, store::StoreBackend};

/// An entry of a store that could not be read as the certificate its name promises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedEntry {
    /// Where it is: for the file store, the file's path; for the PostgreSQL store,
    /// `<schema>.client_certificates/<fingerprint as stored>`, and for a system of a registry
    /// on PostgreSQL, `<schema>.client_certificates/<system>/<fingerprint as stored>` (a row
    /// of the `systems` table that is not a system: `<schema>.systems/<name as stored>`).
    pub location: PathBuf,
    /// What is wrong.
    pub problem: EntryDamage,
}

impl std::fmt::Display for DamagedEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location.display(), self.problem)
    }
}

/// What is wrong with a damaged entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryDamage {
    /// The content's SHA-256 is not the fingerprint in the name (changed, truncated or foreign
    /// content).
    #[error("content does not match its name: its SHA-256 is {actual}")]
    FingerprintMismatch {
        /// The fingerprint of the content found.
        actual: Fingerprint,
    },
    /// The content matches its name but is not a certificate this crate accepts. The message
    /// holds the decoder's, with its causes (this is a description, not a wrapper: `source()`
    /// is `None`).
    #[error("not a valid certificate: {}", crate::error::ErrorReport::new(.0))]
    NotACertificate(DecodeError),
    /// The entry could not be read.
    #[error("cannot be read: {0}")]
    Unreadable(String),
    /// The entry is a symbolic link, which a store never follows (it could point anywhere,
    /// for instance at a device that blocks, or at a file another user controls).
    #[error("is a symbolic link, which a certificate store never follows; remove it and put the certificate (or the system's directory) itself there")]
    SymbolicLink,
    /// Someone the store does not trust could change the entry: it is writable by its group
    /// or by every user, or it belongs to another user.
    #[error("other users could change it: {0}")]
    Insecure(PermissionProblem),
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A store was created for, or an import made into, a *target* system.
    #[error("inbound certificates are supported for source and proxy systems only, not for a {0} system")]
    NotInbound(SystemKind),
    /// The import policy refused a certificate of the upload: nothing of it was imported.
    #[error("{0}")]
    Refused(ImportRefusal),
    /// No system with this name is registered.
    #[error("no system named {0} is registered")]
    SystemNotFound(SystemName),
    /// A system with this name is already registered.
    #[error("a system named {0} is already registered")]
    SystemExists(SystemName),
    /// The system still trusts certificates (or holds damaged entries), and its removal did
    /// not ask to remove them too.
    #[error("system {name} still holds {certificates} certificate(s); delete them first, or remove the system with its certificates")]
    SystemNotEmpty {
        /// The system.
        name: SystemName,
        /// How many certificates (and damaged entries) it holds.
        certificates: usize,
    },
    /// No certificate with this name is stored.
    #[error("certificate {0} not found")]
    NotFound(CertificateName),
    /// A permission was to be given to a *target* system, which is only ever called and so
    /// holds no permissions (at its creation, by a grant, or by a new set of permissions).
    #[error(
        "system {0} is a target system, which is only ever called: it cannot hold permissions"
    )]
    TargetPermissions(SystemName),
    /// A resume of a certificate that is not suspended in the system.
    #[error("certificate {0} is not suspended in this system; there is nothing to resume")]
    NotSuspended(CertificateName),
    /// A suspension's reason is refused (empty, too long, or not one line of text).
    #[error(transparent)]
    SuspensionReason(#[from] crate::store::SuspensionReasonError),
    /// The upload could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The stored entry for a name is damaged.
    #[error("stored certificate {location} is damaged: {problem}", location = .0.location.display(), problem = .0.problem)]
    Damaged(DamagedEntry),
    /// The store's directory, one of its parents, or the symbolic link the store's path is,
    /// could be changed by someone other than the process's user or root (see
    /// [`FileStore`]'s docs): the store is not opened.
    #[error("refusing to use {path} for a certificate store: {problem}", path = .path.display())]
    InsecurePermissions {
        /// The directory or link that is refused (the store's own, or one of its parents).
        path: PathBuf,
        /// Who could change it, and how to fix it.
        problem: PermissionProblem,
    },
    /// The store's directory does not exist or is not a directory.
    #[error("certificate store directory {0} does not exist or is not a directory")]
    NoDirectory(PathBuf),
    /// A delete found, under the certificate's name, a directory that is not empty: a store
    /// removes an empty directory found there (a damaged entry), never what is inside one.
    #[error("cannot delete {}: it is a directory holding other entries, not a certificate file; a store never deletes inside a directory: look at what it holds, empty it, then delete it again", .0.display())]
    DirectoryNotEmpty(PathBuf),
    /// A file operation failed (unreadable directory, full disk, read-only file system, …).
    #[error("cannot {operation} {path}", path = .path.display())]
    Io {
        /// What was being done, e.g. "write".
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A store backend broke the contract of [`StoreBackend`] (for instance, returned a
    /// number of outcomes other than the number of certificates): a bug in that backend.
    #[error("the certificate store broke its contract: {0}")]
    BackendContract(&'static str),
    /// The audit trail could not record a change (its file cannot be opened, locked or
    /// written: replaced by a directory or a FIFO, a full disk), so the change was not made.
    /// The store and the trail agree. The source says why the record could not be written.
    #[error("the change was not made, because its audit record could not be written")]
    NotAudited(#[source] Box<StoreError>),
    /// A database-backed store could not reach its database or a statement failed. A write
    /// that fails this way was not applied (if the connection broke while it committed, it
    /// may have been: the store's next sync shows which).
    #[error("cannot {operation}")]
    Database {
        /// What was being done, e.g. "connect to the database".
        operation: &'static str,
        /// The database client's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    /// The error for a failed file operation: `operation` ("write", "read directory", …) on
    /// `path`, for `map_err`.
    pub(crate) fn io(
        operation: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io {
            operation,
            path,
            source,
        }
    }
}

/// A certificate of an upload that the [`ImportPolicy`](crate::ImportPolicy) refused, and why:
/// nothing of the upload was imported. Each reason can be allowed by the policy
/// ([`RefusalReason`] says how).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportRefusal {
    /// The certificate's position (1-based) in the upload.
    pub position: usize,
    /// The refused certificate.
    pub name: CertificateName,
    /// Its subject (RFC 4514).
    pub subject: String,
    /// Why it was refused.
    pub reason: RefusalReason,
}

/// Why the import policy refused a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalReason {
    /// Its validity ended before the policy's `now` (allowed by
    /// [`allow_expired`](crate::ImportPolicy::allow_expired)).
    Expired {
        /// When it expired.
        not_after: OffsetDateTime,
    },
    /// Its extended key usage excludes TLS client authentication (allowed by
    /// [`allow_without_client_auth`](crate::ImportPolicy::allow_without_client_auth)).
    NotForClientAuth,
    /// It is a CA certificate (basicConstraints cA=TRUE) uploaded without a client
    /// certificate (allowed by [`allow_ca`](crate::ImportPolicy::allow_ca)).
    CaCertificate,
    /// Its key could never authenticate a client (allowed by
    /// [`allow_weak`](crate::ImportPolicy::allow_weak)).
    WeakKey(crate::summary::Weakness),
}

impl RefusalReason {
    /// A stable code for programs: `expired`, `not_for_client_auth`, `ca_certificate` or
    /// `weak_key` (the [`StoreError::code`] of the refusal).
    pub fn code(&self) -> &'static str {
        match self {
            RefusalReason::Expired { .. } => "expired",
            RefusalReason::NotForClientAuth => "not_for_client_auth",
            RefusalReason::CaCertificate => "ca_certificate",
            RefusalReason::WeakKey(_) => "weak_key",
        }
    }
}

impl std::fmt::Display for ImportRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ImportRefusal {
            position,
            name,
            subject,
            reason,
        } = self;
        match reason {
            RefusalReason::Expired { not_after } => write!(
                f,
                "certificate {name} ({subject}) expired on {}; it was not imported",
                rfc3339(*not_after)
            ),
            RefusalReason::NotForClientAuth => write!(
                f,
                "certificate {name} ({subject}) is not valid for TLS client authentication (its extended key usage lacks clientAuth); it was not imported"
            ),
            RefusalReason::CaCertificate => write!(
                f,
                "certificate {position} of the upload, {name} ({subject}), is a CA certificate (basicConstraints cA=TRUE); nothing was imported. Stored, it would trust only a client presenting this very certificate, not the certificates it issued: upload the client's own certificate, or allow CA certificates if you mean it"
            ),
            RefusalReason::WeakKey(weakness) => write!(
                f,
                "certificate {name} ({subject}) {weakness}; it was not imported"
            ),
        }
    }
}

// A code never changes once published; new variants get new codes (the `reason` label of
// refusal metrics, and the code an HTTP API returns beside the message).
impl StoreError {
    /// The error's stable code, e.g. `expired`, `not_inbound`, `system_not_found`; for an
    /// upload that could not be decoded, the decoder's code (`private_key`, …).
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotInbound(_) => "not_inbound",
            StoreError::Refused(refusal) => refusal.reason.code(),
            StoreError::SystemNotFound(_) => "system_not_found",
            StoreError::SystemExists(_) => "system_exists",
            StoreError::SystemNotEmpty { .. } => "system_not_empty",
            StoreError::NotFound(_) => "not_found",
            StoreError::NotSuspended(_) => "not_suspended",
            StoreError::TargetPermissions(_) => "target_permissions",
            StoreError::SuspensionReason(_) => "invalid_reason",
            StoreError::Decode(error) => error.code(),
            StoreError::Damaged(_) => "damaged",
            StoreError::InsecurePermissions { .. } => "insecure_permissions",
            StoreError::NoDirectory(_) => "no_directory",
            StoreError::DirectoryNotEmpty(_) => "directory_not_empty",
            StoreError::Io { .. } => "io",
            StoreError::BackendContract(_) => "backend_contract",
            StoreError::NotAudited(_) => "not_audited",
            StoreError::Database { .. } => "database",
        }
    }
}

/// Why a store's directory, one of its parents or the link leading to it is refused: someone
/// other than the process's user (or root, or a trusted group) could change what it trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PermissionProblem {
    /// Every user may write to it (mode `o+w`, without the sticky bit on a parent).
    WritableByOthers {
        /// The permission bits found.
        mode: u32,
    },
    /// Members of its group may write to it (mode `g+w`) and the store was not opened with
    /// [`FileStoreOptions::shared_group`](crate::backend::FileStoreOptions::shared_group).
    WritableByGroup {
        /// The permission bits found.
        mode: u32,
    },
    /// It belongs to a user other than the process's user or root (and, for a store opened
    /// with a shared group, its group is not one of the process's groups).
    OwnedByOtherUser {
        /// The owner's user id.
        owner: u32,
        /// The process's effective user id.
        user: u32,
    },
    /// The store's path is a symbolic link owned by a user other than the process's user or
    /// root: that user chose, and may change, the directory the store is in.
    LinkOwnedByOtherUser {
        /// The link's owner's user id.
        owner: u32,
        /// The process's effective user id.
        user: u32,
    },
}

impl std::fmt::Display for PermissionProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            PermissionProblem::WritableByOthers { mode } => write!(
                f,
                "every user may write to it (mode {mode:o}); make it writable by its owner only \
                 (chmod go-w)"
            ),
            PermissionProblem::WritableByGroup { mode } => write!(
                f,
                "its group may write to it (mode {mode:o}); make it writable by its owner only \
                 (chmod g-w), or open the store with a shared group (FileStoreOptions::shared_group) \
                 if every member of the group may change which clients are trusted"
            ),
            PermissionProblem::OwnedByOtherUser { owner, user } => write!(
                f,
                "it belongs to user {owner}, not to this process's user ({user}) or root; \
                 give it to the service's user (chown) or choose another directory"
            ),
            PermissionProblem::LinkOwnedByOtherUser { owner, user } => write!(
                f,
                "it is a symbolic link that belongs to user {owner}, not to this process's user \
                 ({user}) or root, so that user chooses where the store is; use the real \
                 directory's path"
            ),
        }
    }
}
