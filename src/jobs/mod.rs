//! The durable job queue's typed jobs (the worker that runs them is
//! [`crate::worker`]).
//!
//! A job kind is one file in `kinds/` implementing [`BackgroundJob`] (name,
//! serde payload, de-duplication key, retry policy); the service that does
//! the work implements [`crate::worker::Perform`] for it, and the
//! composition root registers it with [`crate::worker::Worker::register`]. The store enqueues typed jobs
//! inside the transaction that causes them.

pub mod kind;
pub mod kinds;

pub use kind::{BackgroundJob, NewJob};
