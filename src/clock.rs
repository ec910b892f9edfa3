//! [`Clock`]: where the registry and the monitor take the time from.

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
