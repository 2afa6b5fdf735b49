#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hotline::fuzzing::webhook_form(data));
