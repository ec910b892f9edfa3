//! `import`: files into a system, as one upload.

use std::process::ExitCode;

use inbound_certs::{
    Certificate, CertificateStore, ErrorReport, ImportPolicy, Imported, StoreError,
};

use super::{Context, Outcome};
use crate::cli::ImportArgs;

pub(crate) fn run(context: &Context, arguments: &ImportArgs) -> Outcome {
    let policy = ImportPolicy::new(context.now)
        .allow_expired(arguments.allow_expired)
        .allow_without_client_auth(arguments.allow_without_client_auth)
        .allow_ca(arguments.allow_ca);
    // Before the registry is opened: a missing --system is the mistake to report first.
    context.system()?;
    let registry = context.open()?;
    let store = context.store(&registry)?;
    Ok(import(&store, &arguments.files, &policy))
}

/// Imports `files` as one bundle: all their certificates or none.
pub(crate) fn import(
    store: &dyn CertificateStore,
    files: &[String],
    policy: &ImportPolicy,
) -> ExitCode {
    match read_all(store, files, policy) {
        Some(certificates) => import_all(store, &certificates, policy),
        None => ExitCode::FAILURE,
    }
}

/// Reads and decodes every file and checks each certificate against `policy`, before anything
/// is stored. Every problem is reported on stderr with its file, and each refused file is
/// offered to the store, which refuses it too and records the refusal in the audit trail;
/// then the result is `None`.
fn read_all(
    store: &dyn CertificateStore,
    files: &[String],
    policy: &ImportPolicy,
) -> Option<Vec<Certificate>> {
    let mut certificates = Vec::new();
    let mut refused = 0;
    for file in files {
        let bytes = std::fs::read(file);
        // `decode` uses the default limits, which are those of `ImportPolicy::new`.
        let decoded = bytes.as_ref().map_err(|e| e.to_string()).and_then(|bytes| {
            inbound_certs::decode(bytes).map_err(|e| ErrorReport::new(&e).to_string())
        });
        let problems: Vec<String> = match &decoded {
            Ok(found) => found
                .iter()
                .enumerate()
                .filter_map(|(index, certificate)| {
                    policy.check_in_upload(certificate, index + 1).err()
                })
                .map(|error| refusal(&error))
                .collect(),
            Err(error) => vec![error.clone()],
        };
        for problem in &problems {
            eprintln!("error: {file}: {problem}");
        }
        match decoded {
            Ok(found) if problems.is_empty() => certificates.extend(found),
            _ => {
                refused += 1;
                if let Ok(bytes) = &bytes {
                    // Refused again, by the store this time, which records why.
                    let _ = store.import_upload(bytes, policy);
                }
            }
        }
    }
    if refused > 0 {
        eprintln!(
            "error: nothing imported: {refused} of {} files refused",
            files.len()
        );
        return None;
    }
    Some(certificates)
}

/// An import error, with the flag that would allow what the policy refused.
fn refusal(error: &StoreError) -> String {
    let flag = match error {
        StoreError::Expired { .. } => "--allow-expired",
        StoreError::NotForClientAuth { .. } => "--allow-without-client-auth",
        StoreError::CaCertificate { .. } => "--allow-ca",
        other => return ErrorReport::new(other).to_string(),
    };
    format!("{error} (to import it anyway: {flag})")
}

/// Stores `certificates` all or nothing, and prints what happened to each.
fn import_all(
    store: &dyn CertificateStore,
    certificates: &[Certificate],
    policy: &ImportPolicy,
) -> ExitCode {
    match store.import_all(certificates, policy) {
        Ok(outcomes) => {
            for outcome in outcomes {
                match outcome {
                    Imported::Added(name) => out!("imported {name}"),
                    Imported::AlreadyPresent(name) => out!("already present {name}"),
                }
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {}", refusal(&error));
            eprintln!("error: nothing imported");
            ExitCode::FAILURE
        }
    }
}
