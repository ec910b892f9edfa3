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
    let name = super::resolve::resolve(&store, system, &arguments.name)?;
    let replaced = store.suspension(&name)?;
    let suspension = store.suspend(&name, &arguments.reason)?;
    let verb = if replaced.is_some() {
        "suspension replaced"
    } else {
        "suspended"
    };
    out!(
        "{verb}: {name} in {system} since {} by {}: {}",
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
    let name = super::resolve::resolve(&store, system, &arguments.name)?;
    let lifted = store.resume(&name)?;
    out!(
        "resumed: {name} in {system} (suspended since {} by {}: {})",
        rfc3339(lifted.since()),
        Visible::new(lifted.by()),
        Visible::new(lifted.reason())
    );
    Ok(ExitCode::SUCCESS)
}
