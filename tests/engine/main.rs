//! Audio, model conversion, the lexicon and transcription through the real model; fuzz regressions.
//!
//! One test binary (linking whisper.cpp once) with a module per area.

#[path = "../support/mod.rs"]
mod support;

mod audio;
mod converter;
mod fuzz_regressions;
mod lexicon;
mod transcribe;
