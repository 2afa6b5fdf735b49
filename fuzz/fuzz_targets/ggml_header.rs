#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hotline::fuzzing::ggml_header(data));
