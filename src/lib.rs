//! hotline: the after-hours phone line of the Kraków Contact Centre.
//!
//! Layout:
//! - [`audio`]: WAV in (PCM, float, G.711) → 16 kHz mono f32.
//! - [`model`]: fetching Whisper models and converting CTranslate2 → ggml.
//! - [`engine`]: whisper.cpp behind a bounded pool, with hallucination guards.
//! - [`bench`]: word/character error rates and the transcription benchmark.
//! - [`domain`]: typed values shared by everything else.
//! - [`prompts`]: texts from `prompts/` (initial prompts, blocklists, IVR).
//! - [`cli`]: the `hotline` command.

pub mod address;
pub mod agent;
pub mod audio;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod config;
pub mod domain;
pub mod engine;
#[doc(hidden)]
pub mod fuzzing;
pub mod ivr;
pub mod jobs;
pub mod metrics;
pub mod model;
pub mod open311;
pub mod outbound;
pub mod pipeline;
pub mod prompts;
pub mod retention;
pub mod simulator;
pub mod startup;
pub mod store;
pub mod sweeper;
pub mod telemetry;
pub mod telephony;
pub mod web;
