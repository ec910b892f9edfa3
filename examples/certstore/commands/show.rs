//! `show`: one certificate of a system, in full.

use std::process::ExitCode;

use inbound_certs::{summary::Visible, CertificateStore, StoreError};
use serde_json::Value;

use super::{imported, pretty, Context, Outcome};
use crate::cli::ShowArgs;

pub(crate) fn run(context: &Context, arguments: &ShowArgs) -> Outcome {
    let system = context.system()?;
    let registry = context.open()?;
    let store = context.store(&registry)?;
    let name = super::resolve::resolve(&store, system, &arguments.name)?;
    let certificate = store
        .get(&name)?
        .ok_or_else(|| format!("{} in system {system}", StoreError::NotFound(name)))?;
    let imported =
        imported(&registry, system, &certificate.name()).map(|(at, by)| format!("{at} by {by}"));
    let suspension = store.suspension(&name)?;
    let last_used = super::usage::of_system(&registry, system).get(&certificate.name());
    if arguments.json {
        let mut object = crate::support::json_object(&certificate, context.now);
        object.insert("system".into(), Value::String(system.to_string()));
        object.insert(
            "imported".into(),
            imported.map_or(Value::Null, Value::String),
        );
        object.insert(
            "suspension".into(),
            suspension
                .as_ref()
                .map_or(Value::Null, super::list::suspension_json),
        );
        super::usage::insert_json(&mut object, last_used);
        out!("{}", pretty(&Value::Object(object))?);
    } else {
        out!("System:              {system}");
        // Who imported it is read from the audit trail, a file others may have written:
        // shown by the rule the certificate's own text is.
        out!(
            "Imported:            {}",
            Visible::new(imported.as_deref().unwrap_or("(not in the audit trail)"))
        );
        if let Some(suspension) = &suspension {
            out!(
                "Suspended:           since {} by {}: {}",
                super::rfc3339(suspension.since()),
                Visible::new(suspension.by()),
                Visible::new(suspension.reason())
            );
        }
        out!("Last used:           {}", super::usage::text(last_used));
        if let Some(last) = last_used {
            out!("First used:          {}", super::rfc3339(last.first));
        }
        out!(
            "{}",
            crate::support::readable_block(&certificate, context.now)
        );
    }
    Ok(ExitCode::SUCCESS)
}
