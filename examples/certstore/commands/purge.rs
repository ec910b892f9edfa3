//! `purge-expired`: delete the expired certificates of one system or of every one.

use std::process::ExitCode;

use inbound_certs::CertificateStore;

use super::{Context, Outcome};

pub(crate) fn run(context: &Context) -> Outcome {
    let registry = context.open()?;
    let mut purged = 0;
    for system in context.systems(&registry)? {
        let store = registry.store(system.name())?;
        for name in store.purge_expired(context.now)? {
            out!("deleted {name} from {}", system.name());
            purged += 1;
        }
    }
    // Silence would leave the reader wondering whether anything ran.
    if purged == 0 {
        match context.only_system() {
            Some(system) => out!("nothing to purge: no expired certificates in {system}"),
            None => out!("nothing to purge: no expired certificates in any system"),
        }
    }
    Ok(ExitCode::SUCCESS)
}
