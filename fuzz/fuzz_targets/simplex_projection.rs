#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| meanfield_fuzz_targets::simplex_projection(data));
