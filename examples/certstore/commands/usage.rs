//! When each certificate was last used (issue 23), as `list`, `show` and
//! `check --unused-days` show it. The CLI records no use of its own (it accepts no
//! handshake), so it has nothing to flush before it exits; what it shows is what the
//! servers sharing the registry flushed.

use std::collections::BTreeMap;

use inbound_certs::registry::{LastUse, SystemUsage};
use inbound_certs::{summary::Visible, CertificateName, Registry, SystemName};
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use super::rfc3339;

/// The last uses of each of `systems`' certificates; a usage record that cannot be read
/// is warned about (and its certificates shown as never used), never fatal.
pub(crate) fn of_systems<'a>(
    registry: &Registry,
    systems: impl IntoIterator<Item = &'a SystemName>,
) -> BTreeMap<SystemName, SystemUsage> {
    systems
        .into_iter()
        .map(|system| (system.clone(), of_system(registry, system)))
        .collect()
}

/// The last uses of one system's certificates (see [`of_systems`]).
pub(crate) fn of_system(registry: &Registry, system: &SystemName) -> SystemUsage {
    match registry.usage(system) {
        Ok(usage) => {
            for damaged in &usage.damaged {
                eprintln!(
                    "warning: system {system}: usage record {}",
                    Visible::new(&damaged.to_string())
                );
            }
            usage
        }
        Err(error) => {
            eprintln!(
                "warning: system {system}: cannot read when its certificates were used: {error}"
            );
            SystemUsage::default()
        }
    }
}

/// `last used <time> from <address>`, `last used <time>` or `never used`.
pub(crate) fn text(last: Option<LastUse>) -> String {
    match last {
        None => "never used".into(),
        Some(LastUse { at, peer: None, .. }) => format!("last used {}", rfc3339(at)),
        Some(LastUse {
            at,
            peer: Some(peer),
            ..
        }) => format!("last used {} from {peer}", rfc3339(at)),
    }
}

/// The JSON keys `last_used` (RFC 3339 or null), `last_used_from` (an address or null) and
/// `first_used` (RFC 3339 or null).
pub(crate) fn insert_json(object: &mut Map<String, Value>, last: Option<LastUse>) {
    object.insert(
        "last_used".into(),
        last.map_or(Value::Null, |last| Value::String(rfc3339(last.at))),
    );
    object.insert(
        "last_used_from".into(),
        last.and_then(|last| last.peer)
            .map_or(Value::Null, |peer| Value::String(peer.to_string())),
    );
    object.insert(
        "first_used".into(),
        last.map_or(Value::Null, |last| Value::String(rfc3339(last.first))),
    );
}

/// The last use of a system's certificate, from the uses read for `list`.
pub(crate) fn of(
    usages: &BTreeMap<SystemName, SystemUsage>,
    system: &SystemName,
    name: &CertificateName,
) -> Option<LastUse> {
    usages.get(system).and_then(|usage| usage.get(name))
}

/// Whether a certificate with this last use is unused: never used, or not within `days`
/// of `now`.
pub(crate) fn is_unused(last: Option<LastUse>, now: OffsetDateTime, days: u32) -> bool {
    last.is_none_or(|last| last.at < now - Duration::days(i64::from(days)))
}

/// A `LAST USED` cell of `list`'s table: the date, or `never`; with `--wide`, the instant
/// and the address (`<time> from <address>`).
pub(crate) fn cell(last: Option<LastUse>, wide: bool) -> String {
    match last {
        None => "never".into(),
        Some(LastUse { at, .. }) if !wide => at.date().to_string(),
        Some(LastUse { at, peer: None, .. }) => rfc3339(at),
        Some(LastUse {
            at,
            peer: Some(peer),
            ..
        }) => format!("{} from {peer}", rfc3339(at)),
    }
}
