//! HTTP on real ports, the CLI, the store on both backends, the browser: the server's behaviour through its public interfaces.
//!
//! One test binary (linking whisper.cpp once) with a module per area.

#[path = "../support/mod.rs"]
mod support;

mod agent;
mod browser;
mod categories;
mod escalation;
mod integration;
mod ivr;
mod line;
mod pipeline;
mod quickstart;
mod security;
mod storage;
mod store;
mod webhooks;
