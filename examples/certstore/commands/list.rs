//! `list`: the certificates of one system or of every one, as a table or JSON.

use std::process::ExitCode;

use inbound_certs::{Certificate, CertificateStore, Registry, System, SystemName};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::{imported, pretty, print_columns, Context, Outcome};
use crate::cli::ListArgs;

pub(crate) fn run(context: &Context, arguments: &ListArgs) -> Outcome {
    let registry = context.open()?;
    let systems = context.systems(&registry)?;
    let within = arguments
        .expiring_within
        .map(|days| Duration::days(i64::from(days)));
    list(
        &registry,
        &systems,
        context.only_system().is_none(),
        context.now,
        within,
        arguments.json,
    )
}

/// The certificates of `systems`; with `per_system`, each row says its system.
pub(crate) fn list(
    registry: &Registry,
    systems: &[System],
    per_system: bool,
    now: OffsetDateTime,
    within: Option<Duration>,
    json: bool,
) -> Outcome {
    let mut rows: Vec<(SystemName, Certificate)> = Vec::new();
    for system in systems {
        let listing = registry.store(system.name())?.list()?;
        for damaged in &listing.damaged {
            eprintln!("warning: system {}: {damaged}", system.name());
        }
        rows.extend(
            listing
                .certificates
                .into_iter()
                .filter(|c| {
                    within.is_none_or(|within| c.summary().validity.ends_within(now, within))
                })
                .map(|certificate| (system.name().clone(), certificate)),
        );
    }
    if json {
        let objects: Vec<Value> = rows
            .iter()
            .map(|(system, certificate)| {
                let mut object = crate::support::json_object(certificate, now);
                object.insert("system".into(), Value::String(system.to_string()));
                let when_and_who = imported(registry, system, &certificate.name());
                let when_and_who = when_and_who.as_ref();
                object.insert(
                    "imported_at".into(),
                    when_and_who.map_or(Value::Null, |(at, _)| Value::String(at.clone())),
                );
                object.insert(
                    "imported_by".into(),
                    when_and_who.map_or(Value::Null, |(_, by)| Value::String(by.clone())),
                );
                Value::Object(object)
            })
            .collect();
        out!("{}", pretty(&Value::Array(objects))?);
    } else {
        print_table(&rows, per_system, now);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(rows: &[(SystemName, Certificate)], per_system: bool, now: OffsetDateTime) {
    let mut header = vec![
        "NAME",
        "SUBJECT",
        "ISSUER",
        "NOT AFTER",
        "KEY",
        "CA",
        "STATUS",
    ];
    if per_system {
        header.insert(0, "SYSTEM");
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|(system, c)| {
            let s = c.summary();
            let mut row = vec![
                s.name.to_string(),
                s.subject.to_string(),
                s.issuer.to_string(),
                s.validity.not_after.date().to_string(),
                s.public_key.to_string(),
                if s.is_ca { "yes" } else { "no" }.to_string(),
                s.validity
                    .status_at(now, crate::support::WARN_WITHIN)
                    .as_str()
                    .to_string(),
            ];
            if per_system {
                row.insert(0, system.to_string());
            }
            row
        })
        .collect();
    let header: Vec<String> = header.into_iter().map(String::from).collect();
    print_columns(&header, &cells);
    if rows.is_empty() {
        out!("(no certificates)");
    }
}
