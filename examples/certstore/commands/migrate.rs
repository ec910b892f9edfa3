//! `migrate`: a directory of the earlier layout (one store, files directly in DIR) into a
//! system.

use std::process::ExitCode;

use super::{Context, Outcome};
use crate::cli::MigrateArgs;

pub(crate) fn run(context: &Context, arguments: &MigrateArgs) -> Outcome {
    let system = context.system()?;
    let registry = context.open()?;
    let moved = registry.adopt_legacy_store(system, arguments.kind, context.now)?;
    out!(
        "moved {moved} certificate(s) into system {system} ({})",
        arguments.kind
    );
    Ok(ExitCode::SUCCESS)
}
