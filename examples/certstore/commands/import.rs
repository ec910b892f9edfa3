//! `import`: files into a system, as one upload.

use std::collections::BTreeSet;
use std::process::ExitCode;

use inbound_certs::{
    store::{ImportRefusal, RefusalReason, Verdict},
    summary::Visible,
    Certificate, CertificateStore, ErrorReport, ImportOutcome, ImportPolicy, StoreError,
};

use super::{Context, Outcome};
use crate::cli::ImportArgs;

pub(crate) fn run(context: &Context, arguments: &ImportArgs) -> Outcome {
    let policy = ImportPolicy::new(context.now)
        .allow_expired(arguments.allow_expired)
        .allow_without_client_auth(arguments.allow_without_client_auth)
        .allow_ca(arguments.allow_ca)
        .allow_weak(arguments.allow_weak);
    // Before the registry is opened: a missing --system is the mistake to report first.
    context.system()?;
    let registry = context.open()?;
    let store = context.store(&registry)?;
    Ok(import(&store, &arguments.files, &policy))
}

/// Imports `files` as one bundle: all their certificates or none (the CA certificates of
/// a chain are skipped, as the policy says). Every problem is reported on stderr with its
/// file before anything is stored; the store refuses the upload too, and records each
/// refusal with the files' names.
pub(crate) fn import(
    store: &dyn CertificateStore,
    files: &[String],
    policy: &ImportPolicy,
) -> ExitCode {
    let (decoded, mut refused_files) = read_all(store, files, policy);
    let certificates: Vec<Certificate> = decoded.iter().map(|(_, c)| c.clone()).collect();
    let mut refused = false;
    for ((file, _), verdict) in decoded.iter().zip(policy.judge(&certificates)) {
        if let Verdict::Refuse(refusal) = verdict {
            eprintln!("error: {file}: {}", with_flag(&refusal));
            refused_files.insert(*file);
            refused = true;
        }
    }
    let policy = policy.clone().upload_name(files.join(", "));
    if !refused_files.is_empty() {
        if refused {
            // Recorded: the store refuses the certificates the policy refused.
            let _ = store.import_all(&certificates, &policy);
        }
        eprintln!(
            "error: nothing imported: {} of {} files refused",
            refused_files.len(),
            files.len()
        );
        return ExitCode::FAILURE;
    }
    match store.import_all(&certificates, &policy) {
        Ok(outcomes) => {
            for (outcome, certificate) in outcomes.iter().zip(&certificates) {
                match outcome {
                    ImportOutcome::Added(name) => out!("imported {name}"),
                    ImportOutcome::Renewed {
                        name,
                        renews,
                        renews_not_after,
                    } => out!(
                        "imported {name}, renewing {renews} (which ends {}): delete that one once no client presents it",
                        renews_not_after.date()
                    ),
                    ImportOutcome::AlreadyPresent(name) => out!("already present {name}"),
                    ImportOutcome::Skipped(name, reason) => {
                        let subject = certificate.summary().subject.to_string();
                        out!("skipped {name} ({}): {reason}", Visible::new(&subject))
                    }
                    other => out!("{} {}", other.code(), other.name()),
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

/// Reads and decodes every file: each certificate with the file it came from, and the files
/// that could not be read or decoded. Each of those is reported on stderr and offered to the
/// store, which refuses it too and records the refusal with the file's name.
fn read_all<'a>(
    store: &dyn CertificateStore,
    files: &'a [String],
    policy: &ImportPolicy,
) -> (Vec<(&'a str, Certificate)>, BTreeSet<&'a str>) {
    let mut certificates = Vec::new();
    let mut refused = BTreeSet::new();
    for file in files {
        let bytes = match std::fs::read(file) {
            Ok(bytes) => bytes,
            Err(error) => {
                eprintln!("error: {file}: {error}");
                refused.insert(file.as_str());
                continue;
            }
        };
        // `decode` uses the default limits, which are those of `ImportPolicy::new`.
        match inbound_certs::decode(&bytes) {
            Ok(found) => certificates.extend(found.into_iter().map(|c| (file.as_str(), c))),
            Err(error) => {
                eprintln!("error: {file}: {}", ErrorReport::new(&error));
                refused.insert(file.as_str());
                let _ = store.import_upload(&bytes, &policy.clone().upload_name(file.as_str()));
            }
        }
    }
    (certificates, refused)
}

/// An import error; a refusal of the policy with the flag that would allow it.
fn refusal(error: &StoreError) -> String {
    match error {
        StoreError::Refused(refusal) => with_flag(refusal),
        other => ErrorReport::new(other).to_string(),
    }
}

/// A refusal of the policy, with the flag that would allow it.
fn with_flag(refusal: &ImportRefusal) -> String {
    let flag = match refusal.reason {
        RefusalReason::Expired { .. } => "--allow-expired",
        RefusalReason::NotForClientAuth => "--allow-without-client-auth",
        RefusalReason::CaCertificate => "--allow-ca",
        RefusalReason::WeakKey(_) => "--allow-weak",
        _ => return refusal.to_string(),
    };
    format!("{refusal} (to import it anyway: {flag})")
}
