//! The last uses of certificates as backends keep them (see `Registry::record_use`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use time::OffsetDateTime;

use crate::fingerprint::{CertificateName, Fingerprint};
use crate::store::DamagedEntry;
use crate::system::SystemName;

/// The last accepted use of a certificate by a system: when, and from which address when
/// the server said ([`Registry::record_use`](crate::Registry::record_use)), and when it was
/// first used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastUse {
    /// When (by the registry's clock), to the microsecond.
    pub at: OffsetDateTime,
    /// The peer's address, if the caller of [`Registry::record_use`](crate::Registry::record_use) knew it.
    pub peer: Option<IpAddr>,
    /// When it was first used, as far as the record goes back: the earliest use any
    /// process recorded (a record written before first uses were kept starts at its last
    /// use then). Never after [`at`](Self::at).
    pub first: OffsetDateTime,
}

impl LastUse {
    /// The newer of two uses (on a tie `other`, the later news: a use recorded since a
    /// flush, or added to what was kept), with the earlier of their first uses.
    pub(crate) fn newest(self, other: LastUse) -> LastUse {
        let first = self.first.min(other.first);
        let newest = if other.at >= self.at { other } else { self };
        LastUse { first, ..newest }
    }
}

/// The last uses of one system's certificates, as flushed to the backend and merged with
/// what this process recorded since, and the lines of the backend's record that could not
/// be read (reported, never hidden).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemUsage {
    /// The last use of each certificate used at least once.
    pub uses: BTreeMap<Fingerprint, LastUse>,
    /// Lines or rows of the record that could not be read.
    pub damaged: Vec<DamagedEntry>,
}

impl SystemUsage {
    /// The last use of this certificate, if it was ever used.
    pub fn get(&self, certificate: &CertificateName) -> Option<LastUse> {
        self.uses.get(&certificate.fingerprint()).copied()
    }

    /// Adds a use, keeping the newest of a certificate's (the one added, on a tie).
    pub(crate) fn merge(&mut self, fingerprint: Fingerprint, last: LastUse) {
        self.uses
            .entry(fingerprint)
            .and_modify(|kept| *kept = kept.newest(last))
            .or_insert(last);
    }
}

/// One flush's uses: for each system, its certificates' last uses.
pub(crate) type UsageBatch = BTreeMap<SystemName, Vec<(Fingerprint, LastUse)>>;

/// An instant as microseconds since the Unix epoch (saturating far outside any handshake).
pub(crate) fn to_micros(at: OffsetDateTime) -> i64 {
    let micros = at.unix_timestamp_nanos() / 1000;
    i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX })
}

/// The instant of microseconds since the Unix epoch.
pub(crate) fn from_micros(micros: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000).ok()
}
