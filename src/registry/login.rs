//! Refused logins to the administration console, in the audit trail beside the changes.

use super::Registry;
use crate::audit::{AuditAction, AuditOutcome, AuditRecord};
use crate::store::StoreError;

impl Registry {
    // Only the console (feature `admin`) logs in.
    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    /// Appends the record of a refused console login, at the registry's time: `client` is
    /// who tried (the client's address, or `anonymous` when the server did not say), `detail`
    /// why it was refused. No system is named: nothing changed.
    pub(crate) fn record_refused_login(
        &self,
        client: &str,
        detail: String,
    ) -> Result<(), StoreError> {
        let record = AuditRecord {
            time: self.shared.now(),
            actor: client.to_owned(),
            system: None,
            action: AuditAction::Login,
            certificate: None,
            subject: None,
            outcome: AuditOutcome::Refused,
            detail,
        };
        self.shared.backend.append(&[record])
    }
}
