//! [`SystemListing`]: what a registry's backend lists.

use crate::store::DamagedEntry;
use crate::system::System;

/// The systems of a registry, sorted by name, and the entries that are not readable systems
/// (a directory without a valid manifest), never hidden.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SystemListing {
    /// The systems, sorted by name.
    pub systems: Vec<System>,
    /// Entries that could not be read as systems.
    pub damaged: Vec<DamagedEntry>,
}
