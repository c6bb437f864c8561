#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| meanfield_fuzz_targets::ensemble_new(data));
