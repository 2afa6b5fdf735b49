//! Calls the provider never said were over: a lost final status callback,
//! a caller who hung up mid-menu without the provider telling us. Every
//! maintenance round, each worker closes calls with no webhook for
//! `stale_call_secs` exactly as a final status would: a missed call, or
//! (when a recording was started) its report filed after the grace period.
//! Closing is idempotent, so workers may race.

use std::sync::Arc;

use tracing::{info, info_span, Instrument};

use crate::domain::Millis;
use crate::store::Store;
use crate::worker::Chore;

/// The outcome recorded for calls closed this way.
pub const LOST: &str = "lost";

pub struct Sweeper {
    pub store: Arc<Store>,
    pub stale_ms: Millis,
}

impl Sweeper {
    /// Closes what is due; returns how many calls.
    pub async fn sweep(&self, now: Millis) -> anyhow::Result<usize> {
        if self.stale_ms <= 0 {
            return Ok(0);
        }
        let stale = self.store.stale_calls(now - self.stale_ms, 200).await?;
        for sid in &stale {
            let closed = self
                .store
                .call_ended(sid, LOST, now)
                .instrument(info_span!("sweep", call = %sid))
                .await?;
            crate::metrics::call_ended(LOST);
            info!(call = %sid, report = closed.map(|r| r.number.to_string()).unwrap_or_default(), "call without a final status closed");
        }
        crate::metrics::calls_swept(stale.len());
        Ok(stale.len())
    }
}

#[async_trait::async_trait]
impl Chore for Sweeper {
    fn name(&self) -> &'static str {
        "sweep stale calls"
    }

    async fn run(&self, now: Millis) -> anyhow::Result<()> {
        self.sweep(now).await?;
        // Body-only webhook signatures are kept for twice their
        // timestamps' validity, then forgotten.
        self.store
            .forget_signatures(now - 2 * crate::telephony::signature::TELNYX_MAX_AGE_SECS * 1000)
            .await?;
        Ok(())
    }
}
