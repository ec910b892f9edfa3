//! `purge-expired`: delete the expired certificates of one system or of every one.

use std::process::ExitCode;

use inbound_certs::CertificateStore;

use super::{Context, Outcome};

pub(crate) fn run(context: &Context) -> Outcome {
    let registry = context.open()?;
    for system in context.systems(&registry)? {
        let store = registry.store(system.name())?;
        for name in store.purge_expired(context.now)? {
            out!("deleted {name} from {}", system.name());
        }
    }
    Ok(ExitCode::SUCCESS)
}
