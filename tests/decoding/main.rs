//! Decoding and judging uploads: the decoder (`decode`, `fidelity`, `golden`, `properties`), every certificate of pyca's vectors (`pyca_vectors`), the fuzz corpora (`fuzz_corpus`), serde (`serde`) and the system trust store (`trust_store`).
//!
//! One test binary for what used to be 8: one link instead of 8.

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/hostile.rs"]
mod hostile;

mod decode;
mod fidelity;
mod fuzz_corpus;
mod golden;
mod properties;
mod pyca_vectors;
mod serde;
mod trust_store;
