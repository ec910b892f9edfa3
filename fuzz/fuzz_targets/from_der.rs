#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| inbound_certs_fuzz::checks::from_der(data));
