//! The clock: where every time-dependent rule reads "now". System time,
//! optionally shifted (tests step a worker past a grace period; a
//! deployment can be started at a chosen instant to rehearse a night).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use super::Millis;

/// Milliseconds since the Unix epoch, by the system clock.
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// System time plus an offset; clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that reads `at` now and runs on from there.
    pub fn starting_at(at: Millis) -> Self {
        let c = Self::default();
        c.set(at);
        c
    }

    pub fn now(&self) -> Millis {
        now_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Sets this clock (and its clones) to read `at` now.
    pub fn set(&self, at: Millis) {
        self.offset_ms.store(at - now_ms(), Ordering::Relaxed);
    }

    /// Moves this clock (and its clones) `ms` ahead.
    pub fn advance(&self, ms: Millis) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_advances_with_its_clones() {
        let c = Clock::starting_at(1_000_000);
        assert!((c.now() - 1_000_000).abs() < 1_000);
        let d = c.clone();
        d.advance(60_000);
        assert!((c.now() - 1_060_000).abs() < 1_000);
        assert!((Clock::system().now() - now_ms()).abs() < 1_000);
    }
}
