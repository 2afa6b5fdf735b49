//! The durable job queue: enqueue, claim with a lease, heartbeat, finish, fail, reap.

use super::types::*;
use super::{Result, Store, Tx};
use crate::domain::Millis;
use crate::jobs::kind::{BackgroundJob, NewJob};

impl Store {
    // Jobs.

    /// Enqueues a typed job due at `run_at`; `None` if one with the same
    /// key is already queued.
    pub async fn enqueue_job<J: BackgroundJob>(
        &self,
        job: &J,
        run_at: Millis,
    ) -> Result<Option<i64>> {
        self.enqueue(&job.to_new_job(run_at)).await
    }

    /// Enqueues a row of any kind (periodic jobs, benchmarks).
    pub async fn enqueue(&self, job: &NewJob) -> Result<Option<i64>> {
        let mut tx = self.begin().await?;
        let id = self.enqueue_in(&mut tx, job).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(super) async fn enqueue_in(&self, tx: &mut Tx, job: &NewJob) -> Result<Option<i64>> {
        let now = self.clock.now();
        let row: Option<(i64,)> = self
            .query_as(
                "INSERT INTO jobs (kind, dedup_key, payload, status, attempts, max_attempts, run_at, created_at, updated_at)
                 VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $6) ON CONFLICT (kind, dedup_key) DO NOTHING RETURNING id",
            )
            .bind(job.kind.clone())
            .bind(job.dedup_key.clone())
            .bind(job.payload.clone())
            .bind(job.max_attempts)
            .bind(job.run_at)
            .bind(now)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(row.map(|r| r.0))
    }

    /// Claims a job: one whose lease expired (its worker died), else a queued one that is due.
    /// `lock` is appended to the sub-select that picks the row (`FOR UPDATE
    /// SKIP LOCKED` on PostgreSQL). Each sub-select walks one partial index.
    pub async fn claim(
        &self,
        worker: &str,
        kinds: &[&str],
        now: Millis,
        lease_until: Millis,
        lock: &str,
    ) -> Result<Option<Job>> {
        let kinds_sql = (0..kinds.len())
            .map(|i| format!("${}", i + 4))
            .collect::<Vec<_>>()
            .join(", ");
        for pick in [
            // A job whose worker died waited longest: it goes first.
            "status = 'running' AND locked_until < $3 ORDER BY locked_until",
            "status = 'queued' AND run_at <= $3 ORDER BY run_at, id",
        ] {
            let sql = self.dynamic(format!(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2, updated_at = $3
                 WHERE id = (
                   SELECT id FROM jobs
                   WHERE kind IN ({kinds_sql}) AND attempts < max_attempts AND {pick} LIMIT 1 {lock})
                 RETURNING *"
            ));
            let mut q = sqlx::query_as::<_, Job>(&sql)
                .bind(worker.to_owned())
                .bind(lease_until)
                .bind(now);
            for k in kinds {
                q = q.bind((*k).to_owned());
            }
            if let Some(job) = q.fetch_optional(&self.pool).await? {
                return Ok(Some(job));
            }
        }
        Ok(None)
    }

    pub async fn heartbeat(&self, id: i64, worker: &str, lease_until: Millis) -> Result<bool> {
        Ok(self
            .query("UPDATE jobs SET locked_until = $3, updated_at = $4 WHERE id = $1 AND locked_by = $2 AND status = 'running'")
            .bind(id)
            .bind(worker.to_owned())
            .bind(lease_until)
            .bind(self.clock.now())
            .execute(&self.pool)
            .await?
            .rows_affected()
            == 1)
    }

    pub async fn complete_job(&self, id: i64, worker: &str) -> Result<()> {
        self.query(
            "UPDATE jobs SET status = 'done', locked_by = NULL, locked_until = NULL, updated_at = $3
             WHERE id = $1 AND locked_by = $2 AND status = 'running'",
        )
        .bind(id)
        .bind(worker.to_owned())
        .bind(self.clock.now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn fail_job(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        retry_at: Option<Millis>,
    ) -> Result<()> {
        let error: String = error.chars().take(2000).collect();
        let now = self.clock.now();
        let q = match retry_at {
            Some(at) => self
                .query(
                    "UPDATE jobs SET status = 'queued', run_at = $4, last_error = $3, locked_by = NULL, locked_until = NULL, updated_at = $5
                     WHERE id = $1 AND locked_by = $2 AND status = 'running'",
                )
                .bind(id)
                .bind(worker.to_owned())
                .bind(error)
                .bind(at)
                .bind(now),
            None => self
                .query(
                    "UPDATE jobs SET status = 'failed', last_error = $3, locked_by = NULL, locked_until = NULL, updated_at = $4
                     WHERE id = $1 AND locked_by = $2 AND status = 'running'",
                )
                .bind(id)
                .bind(worker.to_owned())
                .bind(error)
                .bind(now),
        };
        q.execute(&self.pool).await?;
        Ok(())
    }

    pub async fn reap_dead_jobs(&self, now: Millis) -> Result<Vec<Job>> {
        Ok(self
            .query_as(
                "UPDATE jobs SET status = 'failed', locked_by = NULL, locked_until = NULL, updated_at = $1,
                   last_error = COALESCE(last_error, 'worker died') || ' (lease expired on the last attempt)'
                 WHERE status = 'running' AND locked_until < $1 AND attempts >= max_attempts
                 RETURNING *",
            )
            .bind(now)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn release_jobs(&self, worker: &str) -> Result<u64> {
        Ok(self
            .query(
                "UPDATE jobs SET status = 'queued', attempts = attempts - 1, locked_by = NULL, locked_until = NULL, updated_at = $2
                 WHERE locked_by = $1 AND status = 'running'",
            )
            .bind(worker.to_owned())
            .bind(self.clock.now())
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    pub async fn get_job(&self, id: i64) -> Result<Option<Job>> {
        Ok(self
            .query_as("SELECT * FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn job_counts(&self) -> Result<Vec<(String, String, i64)>> {
        Ok(self
            .query_as("SELECT kind, status, COUNT(*) FROM jobs GROUP BY kind, status ORDER BY kind, status")
            .fetch_all(&self.pool)
            .await?)
    }
}
