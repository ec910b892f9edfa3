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

    /// The current instant as microseconds since the Unix epoch: what the hot path of
    /// [`Registry::record_use`](crate::Registry::record_use) keeps. By default from
    /// [`now`](Self::now); a clock that can say it without building a date (as
    /// [`SystemClock`] does) saves most of the cost of a recorded use.
    fn now_unix_micros(&self) -> i64 {
        let micros = self.now().unix_timestamp_nanos() / 1000;
        i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX })
    }
}

/// The operating system's clock, in UTC.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    /// The coarse real-time clock where there is one (Linux's `CLOCK_REALTIME_COARSE`:
    /// a few nanoseconds to read, to the millisecond or so, plenty for a last use), else
    /// the system time.
    fn now_unix_micros(&self) -> i64 {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
            now.tv_sec
                .saturating_mul(1_000_000)
                .saturating_add(now.tv_nsec / 1_000)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_micros()).unwrap_or(i64::MAX),
            Err(before) => {
                i64::try_from(before.duration().as_micros()).map_or(i64::MIN, |micros| -micros)
            }
        }
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
