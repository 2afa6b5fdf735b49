//! Processes killed mid-work (kill -9 of server and worker): nothing is lost.
//!
//! One test binary (linking whisper.cpp once) with a module per area.

#[path = "../support/mod.rs"]
mod support;

mod chaos;
mod crash_test;
mod escalation;
mod scaleout;

/// One transcription at a time: ggml's threads spin, two at once crawl.
static EXCLUSIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
