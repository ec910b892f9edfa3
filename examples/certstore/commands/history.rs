//! `history`: the audit trail, newest first.

use std::process::ExitCode;

use inbound_certs::{
    audit::{AuditAction, AuditOutcome, AuditRecord, HistoryQuery},
    summary::Visible,
    Registry,
};
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
    if history.more_damaged > 0 {
        eprintln!(
            "warning: audit trail: {} more damaged line(s)",
            history.more_damaged
        );
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
            out!("{}", describe(record));
        }
        if history.records.is_empty() {
            out!("(no records)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A record in words, for people: `2026-12-03T10:00:00Z alice: imported cert_client_… (CN=…)
/// into system crm`. The JSON output keeps the codes, for programs. The actor, subject and
/// detail come from a trail others may have written: shown escaped, as certificate text is.
pub(crate) fn describe(record: &AuditRecord) -> String {
    let time = rfc3339(record.time);
    let actor = Visible::new(&record.actor);
    let system = record
        .system
        .as_ref()
        .map_or_else(String::new, |name| format!("system {name}"));
    let certificate = match (&record.certificate, &record.subject) {
        (Some(name), Some(subject)) => format!("{name} ({})", Visible::new(subject)),
        (Some(name), None) => name.to_string(),
        (None, _) => String::new(),
    };
    let detail = Visible::new(&record.detail).to_string();
    let in_brackets = if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    };
    let what = match (record.action, record.outcome) {
        (AuditAction::CreateSystem, AuditOutcome::Created) => {
            format!("{system} created{in_brackets}")
        }
        (AuditAction::RemoveSystem, AuditOutcome::Removed) => {
            format!("{system} removed{in_brackets}")
        }
        (AuditAction::Import, AuditOutcome::Added) => {
            format!("imported {certificate} into {system}{in_brackets}")
        }
        (AuditAction::Import, AuditOutcome::AlreadyPresent) => {
            format!("already present: {certificate} in {system}{in_brackets}")
        }
        (AuditAction::Import, AuditOutcome::Skipped) => {
            format!("skipped {certificate}, not imported into {system}{in_brackets}")
        }
        // The refusal's message names the certificate, when it is about one.
        (AuditAction::Import, AuditOutcome::Refused) => {
            format!("import into {system} refused: {}", refusal(&detail))
        }
        (AuditAction::Delete, AuditOutcome::Removed) => {
            format!("deleted {certificate} from {system}{in_brackets}")
        }
        (AuditAction::Purge, AuditOutcome::Removed) => {
            format!("purged {certificate} from {system}{in_brackets}")
        }
        (AuditAction::Login, AuditOutcome::Refused) => format!("login refused{in_brackets}"),
        (AuditAction::Grant, AuditOutcome::Granted) => {
            format!("permission granted to {system}{in_brackets}")
        }
        (AuditAction::Revoke, AuditOutcome::Revoked) => {
            format!("permission revoked from {system}{in_brackets}")
        }
        (AuditAction::SetPermissions, AuditOutcome::Changed) => {
            format!("permissions of {system} set{in_brackets}")
        }
        (action, outcome) => {
            let mut text = words(action.as_str());
            for part in [certificate.as_str(), system.as_str()] {
                if !part.is_empty() {
                    text.push(' ');
                    text.push_str(part);
                }
            }
            format!("{text}: {}{in_brackets}", words(outcome.as_str()))
        }
    };
    format!("{time} {actor}: {what}")
}

/// A refusal's detail, `code[ (n certificate(s) in the upload)]: message` as the registry
/// writes it, with the code in words; any other text as it is.
fn refusal(detail: &str) -> String {
    let Some((head, message)) = detail.split_once(": ") else {
        return detail.to_string();
    };
    let (code, count) = head.split_once(' ').unwrap_or((head, ""));
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return detail.to_string();
    }
    let reason = match code {
        "expired" => "expired".to_string(),
        "not_for_client_auth" => "not valid for client authentication".to_string(),
        "ca_certificate" => "a CA certificate".to_string(),
        "not_inbound" => "the system takes no inbound certificates".to_string(),
        "private_key" => "a private key".to_string(),
        "certificate_request" => "a certificate signing request".to_string(),
        "revocation_list" => "a certificate revocation list".to_string(),
        "public_key" => "a public key".to_string(),
        "pkcs12" => "a PKCS#12 file".to_string(),
        "utf16_text" => "UTF-16 text".to_string(),
        "too_large" => "too large".to_string(),
        "too_many_certificates" => "too many certificates".to_string(),
        "no_certificate" => "no certificate".to_string(),
        other => words(other),
    };
    let count = if count.is_empty() {
        String::new()
    } else {
        format!(" {count}")
    };
    format!("{reason}{count}: {message}")
}

/// A code with its underscores as spaces.
fn words(code: &str) -> String {
    code.replace('_', " ")
}
