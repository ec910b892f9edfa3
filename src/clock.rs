//! [`Clock`]: where the registry and the monitor take the time from.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Where a [`Monitor`](crate::Monitor) and a [`Registry`](crate::Registry)'s audit trail
/// take the time from. The library never reads the clock by itself: a monitor started with
/// [`Monitor::start`](crate::Monitor::start) uses [`SystemClock`]; tests pass a fixed or
/// stepped clock (any `Fn() -> OffsetDateTime`).
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;
}

/// The operating system's clock, in UTC.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

impl<F: Fn() -> OffsetDateTime + Send + Sync + 'static> Clock for F {
    fn now(&self) -> OffsetDateTime {
        self()
    }
}

/// An instant as RFC 3339 text (`2026-06-01T00:00:00Z`): the one text form of a time in the
/// crate's messages, files and JSON (`time`'s own formatting; an instant it cannot write,
/// past the year 9999, as `time` displays it).
pub(crate) fn rfc3339(instant: OffsetDateTime) -> String {
    instant
        .format(&Rfc3339)
        .unwrap_or_else(|_| instant.to_string())
}
