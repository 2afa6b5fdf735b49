#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hotline::fuzzing::mp3_decode(data));
