//! `check`: expired and expiring certificates of every system (and with `--unused-days`,
//! unused ones), with the exit status of a monitoring plugin.

use std::process::ExitCode;

use inbound_certs::{
    summary::{TlsKeyTypes, Weakness},
    Certificate, CertificateStore, SystemName,
};
use serde_json::Value;
use time::Duration;

use super::{pretty, Context, Outcome};
use crate::cli::CheckArgs;

/// Every system's expired certificates, those expiring within the window, and those whose
/// key could never authenticate a client (and with `--unused-days N`, those not used for N
/// days); the exit status says the worst (0 none, 1 expiring, unusable or unused, 2
/// expired), as monitoring plugins do.
pub(crate) fn run(context: &Context, arguments: &CheckArgs) -> Outcome {
    let registry = context.open()?;
    let now = context.now;
    let within = Duration::days(i64::from(arguments.within_days));
    let mut findings: Vec<(SystemName, Certificate, &'static str)> = Vec::new();
    let mut unused: Vec<(SystemName, Certificate, &'static str)> = Vec::new();
    for system in registry.systems()?.systems {
        let store = registry.store(system.name())?;
        let usage = arguments
            .unused_days
            .map(|_| super::usage::of_system(&registry, system.name()));
        for certificate in store.list()?.certificates {
            if let (Some(days), Some(usage)) = (arguments.unused_days, &usage) {
                if super::usage::is_unused(usage.get(&certificate.name()), now, days) {
                    unused.push((system.name().clone(), certificate.clone(), "unused"));
                }
            }
            let summary = certificate.summary();
            let validity = &summary.validity;
            let unusable = summary
                .weaknesses(&TlsKeyTypes::common())
                .iter()
                .any(Weakness::prevents_authentication);
            let state = if validity.is_expired_at(now) {
                "expired"
            } else if validity.ends_within(now, within) {
                "expiring"
            } else if unusable {
                "unusable"
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
    let unusable = findings
        .iter()
        .filter(|(_, _, state)| *state == "unusable")
        .count();
    let expiring = findings.len() - expired - unusable;
    let unused_count = unused.len();
    findings.extend(unused);
    if arguments.json {
        let objects: Vec<Value> = findings
            .iter()
            .map(|(system, certificate, state)| {
                let mut object = crate::support::json_object(certificate, now);
                object.insert("system".into(), Value::String(system.to_string()));
                object.insert("check".into(), Value::String((*state).to_string()));
                if *state == "unused" {
                    super::usage::insert_json(
                        &mut object,
                        registry
                            .last_used(system, &certificate.name())
                            .ok()
                            .flatten(),
                    );
                }
                Value::Object(object)
            })
            .collect();
        out!("{}", pretty(&Value::Array(objects))?);
    } else {
        for (system, certificate, state) in &findings {
            let summary = certificate.summary();
            if *state == "unused" {
                out!(
                    "UNUSED: system {system}: {} ({}) {}",
                    summary.name,
                    summary.subject,
                    super::usage::text(
                        registry
                            .last_used(system, &certificate.name())
                            .ok()
                            .flatten()
                    )
                );
                continue;
            }
            if *state == "unusable" {
                let why: Vec<String> = summary
                    .weaknesses(&TlsKeyTypes::common())
                    .iter()
                    .filter(|weakness| weakness.prevents_authentication())
                    .map(ToString::to_string)
                    .collect();
                out!(
                    "UNUSABLE: system {system}: {} ({}) {}",
                    summary.name,
                    summary.subject,
                    why.join("; ")
                );
                continue;
            }
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
        let unusable = if unusable > 0 {
            format!(", {unusable} that could never authenticate")
        } else {
            String::new()
        };
        let unused = match arguments.unused_days {
            Some(days) => format!(", {unused_count} unused for {days} days"),
            None => String::new(),
        };
        out!(
            "{expired} expired, {expiring} expiring within {} days{unusable}{unused}",
            within.whole_days()
        );
    }
    Ok(ExitCode::from(if expired > 0 {
        2
    } else if expiring > 0 || unusable > 0 || unused_count > 0 {
        1
    } else {
        0
    }))
}
