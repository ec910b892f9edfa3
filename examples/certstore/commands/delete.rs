//! `delete`: certificates of a system, by name or fingerprint.

use std::process::ExitCode;

use inbound_certs::CertificateStore;

use super::{Context, Outcome};
use crate::cli::DeleteArgs;

pub(crate) fn run(context: &Context, arguments: &DeleteArgs) -> Outcome {
    let system = context.system()?;
    let registry = context.open()?;
    let store = context.store(&registry)?;
    let mut code = ExitCode::SUCCESS;
    for name in &arguments.names {
        match store.delete(name) {
            Ok(()) => out!("deleted {name} from {system}"),
            Err(error) => {
                eprintln!("error: {error}");
                code = ExitCode::FAILURE;
            }
        }
    }
    Ok(code)
}
