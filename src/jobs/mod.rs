//! The durable job queue's typed jobs and the worker that runs them.
//!
//! A job kind is one file in `kinds/` implementing [`BackgroundJob`] (name,
//! serde payload, de-duplication key, retry policy); the service that does
//! the work implements [`Perform`] for it, and the composition root
//! registers it with [`Worker::register`]. The store enqueues typed jobs
//! inside the transaction that causes them.
//!
//! A job that panics fails that attempt, not the worker. A worker that dies
//! (kill -9, power cut) leaves leases that expire; another worker then
//! claims the job again. Handlers must therefore be idempotent, which the
//! store's unique keys make them.

pub mod kind;
pub mod kinds;
mod worker;

pub use kind::{BackgroundJob, NewJob};
pub use worker::{backoff, Chore, Outcome, Perform, Step, Worker, WorkerOptions};
