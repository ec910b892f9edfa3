//! `system add`, `system grant`, `system revoke`, `system list` and `system remove`.

use std::process::ExitCode;

use inbound_certs::registry::Permission;
use inbound_certs::{ErrorReport, Registry, StoreError, System, SystemName};
use serde_json::Value;
use time::OffsetDateTime;

use super::{pretty, print_columns, rfc3339, Context, Failure, Outcome};
use crate::cli::SystemCommand;

pub(crate) fn run(context: &Context, command: SystemCommand) -> Outcome {
    match command {
        SystemCommand::Add {
            name,
            kind,
            permissions,
        } => {
            let name = parse(&name)?;
            let permissions = permissions
                .iter()
                .map(|text| parse_permission(text))
                .collect::<Result<Vec<_>, _>>()?;
            let registry = context.open_or_create(true)?;
            let system = registry.create_system_with(&name, kind, permissions, context.now)?;
            if system.permissions().is_empty() {
                out!("added system {system}");
            } else {
                out!(
                    "added system {system} with permissions {}",
                    permissions_text(&system)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        SystemCommand::Grant { name, permission } => {
            let name = parse(&name)?;
            let permission = parse_permission(&permission)?;
            let registry = context.open()?;
            if registry.grant_permission(&name, &permission)? {
                out!("granted {permission} to system {name}");
            } else {
                out!("system {name} holds {permission} already; nothing changed");
            }
            Ok(ExitCode::SUCCESS)
        }
        SystemCommand::Revoke { name, permission } => {
            let name = parse(&name)?;
            let permission = parse_permission(&permission)?;
            let registry = context.open()?;
            if registry.revoke_permission(&name, &permission)? {
                out!("revoked {permission} from system {name}");
            } else {
                out!("system {name} does not hold {permission}; nothing changed");
            }
            Ok(ExitCode::SUCCESS)
        }
        SystemCommand::List(arguments) => list(&context.open()?, context.now, arguments.json),
        SystemCommand::Remove {
            name,
            with_certificates,
        } => {
            let name = parse(&name)?;
            let registry = context.open()?;
            let removed = registry
                .remove_system(&name, with_certificates)
                .map_err(|error| match error {
                    StoreError::SystemNotEmpty { .. } => {
                        format!("{error} (--with-certificates)")
                    }
                    other => ErrorReport::new(&other).to_string(),
                })?;
            out!("removed system {name} and {removed} certificate(s)");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A system name given as an operand: parsed here rather than by clap, so that the message
/// is the name's own ("invalid system name …"), whatever clap would put around it.
fn parse(name: &str) -> Result<SystemName, Failure> {
    name.parse()
        .map_err(|error| Failure::Message(format!("{error}")))
}

/// A permission given as an operand or option, with the permission's own message.
fn parse_permission(text: &str) -> Result<Permission, Failure> {
    text.parse()
        .map_err(|error| Failure::Message(format!("{error}")))
}

/// A system's permissions as a column: `a,b`, or `-` for none.
fn permissions_text(system: &System) -> String {
    if system.permissions().is_empty() {
        return "-".to_string();
    }
    system
        .permissions()
        .iter()
        .map(Permission::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

/// Every system with its kind, its permissions and how many certificates are in each state.
pub(crate) fn list(registry: &Registry, now: OffsetDateTime, json: bool) -> Outcome {
    for damaged in registry.systems()?.damaged {
        eprintln!("warning: {damaged}");
    }
    let overview = registry.overview(now, crate::support::WARN_WITHIN)?;
    if json {
        let objects: Vec<Value> = overview
            .iter()
            .map(|o| {
                serde_json::json!({
                    "name": o.system.name().to_string(),
                    "kind": o.system.kind().as_str(),
                    "created": rfc3339(o.system.created()),
                    "permissions": o.system.permissions().iter().map(Permission::as_str).collect::<Vec<_>>(),
                    "valid": o.valid,
                    "expiring": o.expiring,
                    "expired": o.expired,
                    "damaged": o.damaged,
                    "suspended": o.suspended,
                })
            })
            .collect();
        out!("{}", pretty(&Value::Array(objects))?);
        return Ok(ExitCode::SUCCESS);
    }
    let header: Vec<String> = [
        "SYSTEM",
        "KIND",
        "PERMISSIONS",
        "VALID",
        "EXPIRING",
        "EXPIRED",
        "DAMAGED",
        "SUSPENDED",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let rows: Vec<Vec<String>> = overview
        .iter()
        .map(|o| {
            vec![
                o.system.name().to_string(),
                o.system.kind().to_string(),
                permissions_text(&o.system),
                o.valid.to_string(),
                o.expiring.to_string(),
                o.expired.to_string(),
                o.damaged.to_string(),
                o.suspended.to_string(),
            ]
        })
        .collect();
    print_columns(&header, &rows);
    if rows.is_empty() {
        out!("(no systems)");
    }
    Ok(ExitCode::SUCCESS)
}
