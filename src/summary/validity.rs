//! Validity periods and the status of a certificate at an instant.

use super::*;

/// When a certificate is valid: from `not_before` to `not_after`, both inclusive (RFC 5280).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Validity {
    /// The first instant the certificate is valid.
    #[cfg_attr(feature = "serde", serde(with = "time::serde::rfc3339"))]
    pub not_before: OffsetDateTime,
    /// The last instant the certificate is valid.
    #[cfg_attr(feature = "serde", serde(with = "time::serde::rfc3339"))]
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// Whether the validity ended before `now`.
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        now > self.not_after
    }

    /// Whether the validity has not ended at `now` but ends within `within` of it (a
    /// certificate that is not valid yet counts too, by its end).
    pub fn ends_within(&self, now: OffsetDateTime, within: Duration) -> bool {
        !self.is_expired_at(now) && self.not_after - now <= within
    }

    /// The status at `now`, warning when at most `warn_within` is left. The library never
    /// reads the clock itself: pass `OffsetDateTime::now_utc()` for the current status.
    ///
    /// ```
    /// use inbound_certs::summary::{Validity, ValidityStatus};
    /// use time::{macros::datetime, Duration};
    ///
    /// let validity = Validity {
    ///     not_before: datetime!(2025-01-01 0:00 UTC),
    ///     not_after: datetime!(2026-01-01 0:00 UTC),
    /// };
    /// let warn = Duration::days(30);
    /// assert_eq!(
    ///     validity.status_at(datetime!(2025-12-22 0:00 UTC), warn),
    ///     ValidityStatus::ExpiringSoon { remaining: Duration::days(10) }
    /// );
    /// assert!(validity.status_at(datetime!(2026-01-02 0:00 UTC), warn).is_expired());
    /// ```
    pub fn status_at(&self, now: OffsetDateTime, warn_within: Duration) -> ValidityStatus {
        if now < self.not_before {
            ValidityStatus::NotYetValid {
                starts_in: self.not_before - now,
            }
        } else if self.is_expired_at(now) {
            ValidityStatus::Expired {
                since: now - self.not_after,
            }
        } else {
            let remaining = self.not_after - now;
            if remaining <= warn_within {
                ValidityStatus::ExpiringSoon { remaining }
            } else {
                ValidityStatus::Valid { remaining }
            }
        }
    }
}

/// Where an instant falls in a certificate's validity period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValidityStatus {
    /// Before `not_before`.
    NotYetValid {
        /// Time until it becomes valid.
        starts_in: Duration,
    },
    /// Valid, with more than the warning window left.
    Valid {
        /// Time until `not_after`.
        remaining: Duration,
    },
    /// Valid, with at most the warning window left.
    ExpiringSoon {
        /// Time until `not_after`.
        remaining: Duration,
    },
    /// After `not_after`.
    Expired {
        /// Time since `not_after`.
        since: Duration,
    },
}

impl ValidityStatus {
    /// `"not_yet_valid"`, `"valid"`, `"expiring"` or `"expired"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ValidityStatus::NotYetValid { .. } => "not_yet_valid",
            ValidityStatus::Valid { .. } => "valid",
            ValidityStatus::ExpiringSoon { .. } => "expiring",
            ValidityStatus::Expired { .. } => "expired",
        }
    }

    /// Whether the certificate has expired.
    pub fn is_expired(&self) -> bool {
        matches!(self, ValidityStatus::Expired { .. })
    }
}

impl fmt::Display for ValidityStatus {
    /// E.g. `valid (412 days left)`, `expired (3 days ago)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn span(duration: Duration) -> String {
            let days = duration.whole_days();
            if days >= 1 {
                format!("{days} day{}", if days == 1 { "" } else { "s" })
            } else {
                let hours = duration.whole_hours();
                format!("{hours} hour{}", if hours == 1 { "" } else { "s" })
            }
        }
        match self {
            ValidityStatus::NotYetValid { starts_in } => {
                write!(f, "not yet valid (starts in {})", span(*starts_in))
            }
            ValidityStatus::Valid { remaining } => write!(f, "valid ({} left)", span(*remaining)),
            ValidityStatus::ExpiringSoon { remaining } => {
                write!(f, "expiring soon ({} left)", span(*remaining))
            }
            ValidityStatus::Expired { since } => write!(f, "expired ({} ago)", span(*since)),
        }
    }
}
