//! Login throttling: how many token guesses a client (and everyone together) may make.
//!
//! Each limit is a "generic cell rate" bucket: a burst of attempts, then one per interval.
//! An attempt is counted before the token is checked (the answer of a throttled attempt
//! must not say whether the token was right) and given back when the token was right, so
//! administrators who log in are never slowed down by their own logins.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use time::{Duration, OffsetDateTime};

/// Attempts a client may make at once.
pub(super) const CLIENT_BURST: u32 = 5;

/// After its burst, a client may try once per this interval.
pub(super) const CLIENT_INTERVAL: Duration = Duration::seconds(10);

/// Attempts all clients together may make at once.
pub(super) const OVERALL_BURST: u32 = 30;

/// After the burst, all clients together may try once per this interval.
pub(super) const OVERALL_INTERVAL: Duration = Duration::seconds(1);

/// Most clients remembered; past it, those whose bucket is full again are forgotten, then
/// the one that tried longest ago (the overall bucket still holds).
const MAX_CLIENTS: usize = 10_000;

/// Who is trying: an IPv4 address, an IPv6 /64 network (one host has many addresses of its
/// network), or every client the server did not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Client {
    V4([u8; 4]),
    V6Network([u8; 8]),
    Unknown,
}

impl Client {
    pub(super) fn of(address: Option<SocketAddr>) -> Client {
        match address.map(|address| address.ip().to_canonical()) {
            Some(IpAddr::V4(ip)) => Client::V4(ip.octets()),
            Some(IpAddr::V6(ip)) => {
                let mut network = [0u8; 8];
                for (target, source) in network.iter_mut().zip(ip.octets()) {
                    *target = source;
                }
                Client::V6Network(network)
            }
            None => Client::Unknown,
        }
    }
}

/// One limit: the instant its next attempt is due ("theoretical arrival time").
#[derive(Debug, Clone, Copy)]
struct Bucket {
    due: OffsetDateTime,
}

impl Bucket {
    /// The bucket after one more attempt at `now`, or how long until one is allowed.
    fn after_attempt(
        self,
        now: OffsetDateTime,
        interval: Duration,
        burst: u32,
    ) -> Result<Bucket, Duration> {
        let due = self.due.max(now);
        let tolerance = interval * burst.saturating_sub(1);
        let ahead = due - now;
        if ahead > tolerance {
            Err(ahead - tolerance)
        } else {
            Ok(Bucket {
                due: due.checked_add(interval).unwrap_or(due),
            })
        }
    }

    /// Gives one attempt back.
    fn refund(&mut self, now: OffsetDateTime, interval: Duration) {
        self.due = self.due.checked_sub(interval).unwrap_or(now).max(now);
    }

    fn is_full(&self, now: OffsetDateTime) -> bool {
        self.due <= now
    }
}

/// The buckets of every client, and of all together.
#[derive(Debug)]
pub(super) struct Throttle {
    clients: HashMap<Client, Bucket>,
    overall: Bucket,
}

impl Throttle {
    pub(super) fn new() -> Self {
        Throttle {
            clients: HashMap::new(),
            overall: Bucket {
                due: OffsetDateTime::UNIX_EPOCH,
            },
        }
    }

    /// Counts an attempt by `client` at `now`, or says how long until it may try again.
    pub(super) fn attempt(&mut self, client: Client, now: OffsetDateTime) -> Result<(), Duration> {
        let current = self
            .clients
            .get(&client)
            .copied()
            .unwrap_or(Bucket { due: now });
        let client_next = current.after_attempt(now, CLIENT_INTERVAL, CLIENT_BURST);
        let overall_next = self
            .overall
            .after_attempt(now, OVERALL_INTERVAL, OVERALL_BURST);
        match (client_next, overall_next) {
            (Ok(client_next), Ok(overall_next)) => {
                self.remember(client, client_next, now);
                self.overall = overall_next;
                Ok(())
            }
            (Err(wait), Ok(_)) | (Ok(_), Err(wait)) => Err(wait),
            (Err(a), Err(b)) => Err(a.max(b)),
        }
    }

    /// Gives back the attempt of a client whose token was right.
    pub(super) fn forgive(&mut self, client: Client, now: OffsetDateTime) {
        if let Some(bucket) = self.clients.get_mut(&client) {
            bucket.refund(now, CLIENT_INTERVAL);
        }
        self.overall.refund(now, OVERALL_INTERVAL);
    }

    fn remember(&mut self, client: Client, bucket: Bucket, now: OffsetDateTime) {
        if self.clients.len() >= MAX_CLIENTS && !self.clients.contains_key(&client) {
            self.clients.retain(|_, bucket| !bucket.is_full(now));
            if self.clients.len() >= MAX_CLIENTS {
                let oldest = self
                    .clients
                    .iter()
                    .min_by_key(|(_, bucket)| bucket.due)
                    .map(|(client, _)| *client);
                if let Some(oldest) = oldest {
                    self.clients.remove(&oldest);
                }
            }
        }
        self.clients.insert(client, bucket);
    }
}

/// Seconds for a `Retry-After` header: whole, rounded up, at least one.
pub(super) fn retry_after_seconds(wait: Duration) -> i64 {
    let whole = wait.whole_seconds();
    let rounded = if wait > Duration::seconds(whole) {
        whole.saturating_add(1)
    } else {
        whole
    };
    rounded.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: OffsetDateTime = time::macros::datetime!(2026-06-01 12:00 UTC);

    fn client(last: u8) -> Client {
        Client::of(Some(SocketAddr::from(([192, 0, 2, last], 40000))))
    }

    #[test]
    fn a_client_gets_its_burst_then_one_attempt_per_interval() {
        let mut throttle = Throttle::new();
        for _ in 0..CLIENT_BURST {
            assert_eq!(throttle.attempt(client(1), NOW), Ok(()));
        }
        assert_eq!(throttle.attempt(client(1), NOW), Err(CLIENT_INTERVAL));
        // Another client is not held back by the first.
        assert_eq!(throttle.attempt(client(2), NOW), Ok(()));
        let later = NOW + CLIENT_INTERVAL;
        assert_eq!(throttle.attempt(client(1), later), Ok(()));
        assert!(throttle.attempt(client(1), later).is_err());
    }

    #[test]
    fn all_clients_together_get_the_overall_burst_then_one_per_interval() {
        let mut throttle = Throttle::new();
        let mut allowed = 0;
        for last in 0..=255u8 {
            if throttle.attempt(client(last), NOW).is_ok() {
                allowed += 1;
            }
        }
        assert_eq!(allowed, OVERALL_BURST);
        // An hour of guesses from ever new addresses: one a second gets through.
        let mut allowed = 0;
        for second in 1..=3600i64 {
            for attempt in 0..10u8 {
                let who = Client::of(Some(SocketAddr::from((
                    [10, (second % 250) as u8, attempt, 1],
                    1,
                ))));
                if throttle
                    .attempt(who, NOW + Duration::seconds(second))
                    .is_ok()
                {
                    allowed += 1;
                }
            }
        }
        assert_eq!(allowed, 3600);
    }

    #[test]
    fn a_right_token_gives_its_attempt_back() {
        let mut throttle = Throttle::new();
        for _ in 0..100 {
            assert_eq!(throttle.attempt(client(1), NOW), Ok(()));
            throttle.forgive(client(1), NOW);
        }
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_network() {
        let a: SocketAddr = "[2001:db8:1:2:aaaa::1]:1"
            .parse()
            .unwrap_or(SocketAddr::from(([0; 4], 0)));
        let b: SocketAddr = "[2001:db8:1:2:bbbb::2]:1"
            .parse()
            .unwrap_or(SocketAddr::from(([0; 4], 0)));
        assert_eq!(Client::of(Some(a)), Client::of(Some(b)));
        assert_eq!(retry_after_seconds(Duration::milliseconds(1)), 1);
        assert_eq!(retry_after_seconds(Duration::milliseconds(10_001)), 11);
    }
}
