//! `history`: the audit trail, newest first.

use std::process::ExitCode;

use inbound_certs::{HistoryQuery, Registry};
use serde_json::Value;

use super::{pretty, rfc3339, Context, Outcome};
use crate::cli::HistoryArgs;

pub(crate) fn run(context: &Context, arguments: &HistoryArgs) -> Outcome {
    let mut query = HistoryQuery::new();
    if let Some(system) = context.only_system() {
        query = query.system(system.clone());
    }
    if let Some(since) = arguments.since {
        query = query.since(since);
    }
    if let Some(limit) = arguments.limit {
        query = query.limit(limit);
    }
    history(&context.open()?, &query, arguments.json)
}

/// The records `query` selects, one a line (or a JSON array).
pub(crate) fn history(registry: &Registry, query: &HistoryQuery, json: bool) -> Outcome {
    let history = registry.history(query)?;
    for damaged in &history.damaged {
        eprintln!("warning: audit trail: {damaged}");
    }
    if json {
        let objects: Vec<Value> = history
            .records
            .iter()
            .map(|record| {
                serde_json::json!({
                    "time": rfc3339(record.time),
                    "actor": record.actor,
                    "system": record.system.as_ref().map(ToString::to_string),
                    "action": record.action.as_str(),
                    "certificate": record.certificate.map(|name| name.to_string()),
                    "subject": record.subject,
                    "outcome": record.outcome.as_str(),
                    "detail": record.detail,
                })
            })
            .collect();
        out!("{}", pretty(&Value::Array(objects))?);
    } else {
        for record in &history.records {
            out!("{record}");
        }
        if history.records.is_empty() {
            out!("(no records)");
        }
    }
    Ok(ExitCode::SUCCESS)
}
