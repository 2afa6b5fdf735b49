//! hotline: the after-hours phone line of the Kraków Contact Centre.
//!
//! Modules, one line each. Layers, imports pointing down only (README,
//! "Architecture"): `cli` → `app` (the composition root) → `web` →
//! application (`pipeline`, `worker`, `outbound`, `escalation`, `retention`,
//! `sweeper`, `accounts`, `line`) → adapters (`store`, `storage`, `engine`, `telephony`) → `domain`,
//! `ivr`, `jobs`.
//! - [`accounts`]: unlocking, disabling and enabling agents, audited.
//! - [`address`]: street mentions in transcripts matched to the register.
//! - [`app`]: the composition root: [`app::Application`] builds the server or a worker.
//! - [`audio`]: WAV (PCM, float, G.711) or MP3 in, the caller's channel → 16 kHz mono f32.
//! - [`auth`]: password hashes, bounded password checks, tokens.
//! - [`bench`]: word/character error rates and the benchmarks.
//! - [`category_hints`]: a category suggested from the transcript (`prompts/<lang>/categories.txt`).
//! - [`cli`]: the `hotline` command.
//! - [`config`]: defaults → TOML → environment.
//! - [`domain`]: typed values and the report's rules (lifecycle, drafts, schedule and holidays).
//! - [`engine`]: whisper.cpp behind a bounded pool, with hallucination guards.
//! - [`escalation`]: urgent reports e-mailed to the on-call officer (SMTP), once.
//! - [`fuzzing`]: entry points of the fuzz targets.
//! - [`ivr`]: the phone menu as a pure state machine.
//! - [`jobs`]: the job kinds of the durable queue, one file each.
//! - [`line`]: what the line does now (schedule, override), announcements checked.
//! - [`metrics`]: Prometheus families, described and zeroed at start.
//! - [`model`]: fetching Whisper models and converting CTranslate2 → ggml.
//! - [`outbound`]: signed webhooks to city systems.
//! - [`phrases`]: phrases in a transcript despite inflection and transcription errors.
//! - [`pipeline`]: download → transcription → draft, as jobs.
//! - [`prompts`]: texts from `prompts/` (initial prompts, blocklists, IVR).
//! - [`retention`]: deleting decided reports' audio after its time.
//! - [`simulator`]: `hotline call`, a caller as the provider would send it.
//! - [`storage`]: where recordings live: a directory or S3-compatible object storage.
//! - [`store`]: one store on SQLite or PostgreSQL, split by table group.
//! - [`sweeper`]: closing calls whose final status never came.
//! - [`telemetry`]: logging, human-readable or JSON.
//! - [`telephony`]: webhook forms, strict checks, signatures, TwiML.
//! - [`urgent`]: urgent phrases in a transcript (`prompts/<lang>/urgent.txt`).
//! - [`web`]: the HTTP server: webhooks, the agents' workspace, Open311, health, metrics.
//! - [`worker`]: claims and runs queued jobs under a lease; periodic jobs and chores.
//! - [`xml`]: XML text escaping (TwiML, Open311).

pub mod accounts;
pub mod address;
pub mod app;
pub mod audio;
pub mod auth;
pub mod bench;
pub mod category_hints;
pub mod cli;
pub mod config;
pub mod domain;
pub mod engine;
pub mod escalation;
#[doc(hidden)]
pub mod fuzzing;
pub mod ivr;
pub mod jobs;
pub mod line;
pub mod metrics;
pub mod model;
pub mod outbound;
pub mod phrases;
pub mod pipeline;
pub mod prompts;
pub mod retention;
pub mod simulator;
pub mod storage;
pub mod store;
pub mod sweeper;
pub mod telemetry;
pub mod telephony;
pub mod urgent;
pub mod web;
pub mod worker;
pub mod xml;
