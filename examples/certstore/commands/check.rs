//! `check`: expired and expiring certificates of every system, with the exit status of a
//! monitoring plugin.

use std::process::ExitCode;

use inbound_certs::{Certificate, CertificateStore, SystemName};
use serde_json::Value;
use time::Duration;

use super::{pretty, Context, Outcome};
use crate::cli::CheckArgs;

/// Every system's expired certificates and those expiring within the window; the exit status
/// says the worst (0 none, 1 expiring, 2 expired), as monitoring plugins do.
pub(crate) fn run(context: &Context, arguments: &CheckArgs) -> Outcome {
    let registry = context.open()?;
    let now = context.now;
    let within = Duration::days(i64::from(arguments.within_days));
    let mut findings: Vec<(SystemName, Certificate, &'static str)> = Vec::new();
    for system in registry.systems()?.systems {
        let store = registry.store(system.name())?;
        for certificate in store.list()?.certificates {
            let validity = &certificate.summary().validity;
            let state = if validity.is_expired_at(now) {
                "expired"
            } else if validity.ends_within(now, within) {
                "expiring"
            } else {
                continue;
            };
            findings.push((system.name().clone(), certificate, state));
        }
    }
    let expired = findings
        .iter()
        .filter(|(_, _, state)| *state == "expired")
        .count();
    let expiring = findings.len() - expired;
    if arguments.json {
        let objects: Vec<Value> = findings
            .iter()
            .map(|(system, certificate, state)| {
                let mut object = crate::support::json_object(certificate, now);
                object.insert("system".into(), Value::String(system.to_string()));
                object.insert("check".into(), Value::String((*state).to_string()));
                Value::Object(object)
            })
            .collect();
        out!("{}", pretty(&Value::Array(objects))?);
    } else {
        for (system, certificate, state) in &findings {
            let summary = certificate.summary();
            out!(
                "{}: system {system}: {} ({}) {} {}",
                state.to_uppercase(),
                summary.name,
                summary.subject,
                if *state == "expired" {
                    "expired on"
                } else {
                    "expires on"
                },
                summary.validity.not_after.date()
            );
        }
        out!(
            "{expired} expired, {expiring} expiring within {} days",
            within.whole_days()
        );
    }
    Ok(ExitCode::from(if expired > 0 {
        2
    } else if expiring > 0 {
        1
    } else {
        0
    }))
}
