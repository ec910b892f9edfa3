//! `suspend` and `resume`: a certificate of a system stays stored, but the system does not
//! trust it until it is resumed.

use std::process::ExitCode;

use inbound_certs::summary::Visible;

use super::{rfc3339, Context, Outcome};
use crate::cli::{ResumeArgs, SuspendArgs};

pub(crate) fn suspend(context: &Context, arguments: &SuspendArgs) -> Outcome {
    let system = context.system()?;
    let registry = context.open()?;
    let store = context.store(&registry)?;
    let replaced = store.suspension(&arguments.name)?;
    let suspension = store.suspend(&arguments.name, &arguments.reason)?;
    let verb = if replaced.is_some() {
        "suspension replaced"
    } else {
        "suspended"
    };
    out!(
        "{verb}: {} in {system} since {} by {}: {}",
        arguments.name,
        rfc3339(suspension.since()),
        Visible::new(suspension.by()),
        Visible::new(suspension.reason())
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn resume(context: &Context, arguments: &ResumeArgs) -> Outcome {
    let system = context.system()?;
    let registry = context.open()?;
    let store = context.store(&registry)?;
    let lifted = store.resume(&arguments.name)?;
    out!(
        "resumed: {} in {system} (suspended since {} by {}: {})",
        arguments.name,
        rfc3339(lifted.since()),
        Visible::new(lifted.by()),
        Visible::new(lifted.reason())
    );
    Ok(ExitCode::SUCCESS)
}
