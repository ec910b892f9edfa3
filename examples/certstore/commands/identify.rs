//! `identify`: which systems trust a certificate.

use std::path::Path;
use std::process::ExitCode;

use inbound_certs::{Certificate, CertificateName, Fingerprint, Registry};

use super::{Context, Outcome};
use crate::cli::IdentifyArgs;

pub(crate) fn run(context: &Context, arguments: &IdentifyArgs) -> Outcome {
    identify(&context.open()?, &arguments.what)
}

/// The systems that trust a certificate (from a file, or given by name or fingerprint), one
/// per line; exit 1 when none does.
pub(crate) fn identify(registry: &Registry, what: &str) -> Outcome {
    let fingerprints: Vec<Fingerprint> = if Path::new(what).is_file() {
        let bytes = std::fs::read(what).map_err(|e| format!("{what}: {e}"))?;
        inbound_certs::decode(&bytes)
            .map_err(|e| format!("{what}: {e}"))?
            .iter()
            .map(Certificate::fingerprint)
            .collect()
    } else {
        vec![crate::cli::certificate_name(what)?.fingerprint()]
    };
    let mut found = false;
    for fingerprint in &fingerprints {
        let systems = registry.identify(fingerprint)?;
        found |= !systems.is_empty();
        for system in systems {
            if fingerprints.len() == 1 {
                out!("{system}");
            } else {
                out!("{}: {system}", CertificateName::from(*fingerprint));
            }
        }
    }
    if !found {
        eprintln!("no system trusts {what}");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
