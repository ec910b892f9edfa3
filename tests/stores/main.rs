//! The stores used alone: the conformance suite on every store (`store`), file modes (`file_modes`) and who may change a store's directory (`file_store_access`).
//!
//! One test binary for what used to be 3: one link instead of 3.

#[path = "../common/mod.rs"]
mod common;

mod file_modes;
mod file_store_access;
mod store;
