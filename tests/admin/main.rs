//! The administration console: its API and pages through `tower` (`api`, `bounds`, `damaged`, `login`, `text`), its server (`serve`) and a real browser (`browser`).
//!
//! One test binary for what used to be 7: one link instead of 7.

#[path = "../common/admin.rs"]
mod admin_common;
#[path = "../common/mod.rs"]
mod common;
#[path = "../common/hostile_text.rs"]
mod hostile_text;

mod api;
mod bounds;
mod browser;
mod damaged;
mod login;
mod serve;
mod text;
