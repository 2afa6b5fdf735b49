//! Webhook signatures seen (replay protection) and outbound deliveries.

use super::types::*;
use super::{Result, Store};
use crate::domain::Millis;

impl Store {
    /// Records that `signature` was used for `target`; false if it was
    /// used before for another target (a replay).
    pub async fn signature_used(&self, signature: &str, target: &str, now: Millis) -> Result<bool> {
        self.query(
            "INSERT INTO webhook_signatures (signature, target, seen_at) VALUES ($1, $2, $3)
             ON CONFLICT (signature) DO NOTHING",
        )
        .bind(signature.to_owned())
        .bind(target.to_owned())
        .bind(now)
        .execute(&self.pool)
        .await?;
        let (first,): (String,) = self
            .query_as("SELECT target FROM webhook_signatures WHERE signature = $1")
            .bind(signature.to_owned())
            .fetch_one(&self.pool)
            .await?;
        Ok(first == target)
    }

    /// Forgets signatures first seen before `before` (the sweeper's chore,
    /// off the webhooks' path).
    pub async fn forget_signatures(&self, before: Millis) -> Result<()> {
        self.query("DELETE FROM webhook_signatures WHERE seen_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // Outbound webhooks.

    #[allow(clippy::too_many_arguments)]
    pub async fn log_delivery(
        &self,
        report_id: i64,
        event: &str,
        endpoint: &str,
        attempt: i64,
        status: Option<i64>,
        error: Option<&str>,
        at: Millis,
    ) -> Result<()> {
        self.query("INSERT INTO webhook_deliveries (report_id, event, endpoint, attempt, status, error, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(report_id)
            .bind(event.to_owned())
            .bind(endpoint.to_owned())
            .bind(attempt)
            .bind(status)
            .bind(error.map(str::to_owned))
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether `event` of the report already reached an endpoint starting
    /// with `endpoint` (a retried job after its worker died sends nothing).
    pub async fn delivered(
        &self,
        report_id: i64,
        event: &str,
        endpoint: &str,
        since: Millis,
    ) -> Result<bool> {
        let reached: Vec<(String,)> = self
            .query_as(
                "SELECT endpoint FROM webhook_deliveries WHERE report_id = $1 AND event = $2 AND error IS NULL AND at >= $3",
            )
            .bind(report_id)
            .bind(event.to_owned())
            .bind(since)
            .fetch_all(&self.pool)
            .await?;
        Ok(reached.iter().any(|(e,)| e.starts_with(endpoint)))
    }

    pub async fn recent_deliveries(&self, limit: i64) -> Result<Vec<DeliveryRow>> {
        Ok(self
            .query_as("SELECT * FROM webhook_deliveries ORDER BY at DESC, id DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }
}
