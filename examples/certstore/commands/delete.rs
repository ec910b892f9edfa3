//! `delete`: certificates of a system, by name or fingerprint.

use std::process::ExitCode;

use inbound_certs::{CertificateName, CertificateStore, ErrorReport, StoreError};

use super::{Context, Failure, Outcome};
use crate::cli::DeleteArgs;

/// Every name is looked up before anything is deleted: when one is unknown (a typo), nothing
/// is deleted, so the command can be run again, corrected, with the same names.
pub(crate) fn run(context: &Context, arguments: &DeleteArgs) -> Outcome {
    let system = context.system()?;
    let registry = context.open()?;
    let store = context.store(&registry)?;
    let mut names: Vec<CertificateName> = Vec::new();
    for argument in &arguments.names {
        let name = super::resolve::resolve(&store, system, argument)?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let mut unknown = Vec::new();
    for name in &names {
        match store.get(name) {
            Ok(Some(_)) => {}
            Ok(None) => unknown.push(name),
            // A damaged file is there, and deleting it is how it is cleaned up.
            Err(StoreError::Damaged(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    if !unknown.is_empty() {
        for name in &unknown {
            eprintln!("error: {} in system {system}", StoreError::NotFound(**name));
        }
        return Err(Failure::Message(format!(
            "nothing deleted: {} of {} certificate(s) not found",
            unknown.len(),
            names.len()
        )));
    }
    let mut failed = 0;
    for name in &names {
        match store.delete(name) {
            Ok(()) => out!("deleted {name} from {system}"),
            // Deleted by someone else since it was looked up, or a failure of the store.
            Err(error) => {
                eprintln!("error: {name}: {}", ErrorReport::new(&error));
                failed += 1;
            }
        }
    }
    if failed > 0 {
        return Err(Failure::Message(format!(
            "{} of {} certificate(s) deleted, {failed} not",
            names.len() - failed,
            names.len()
        )));
    }
    Ok(ExitCode::SUCCESS)
}
