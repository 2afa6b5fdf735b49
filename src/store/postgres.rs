//! PostgreSQL: the scale-out backend (several webhook servers and workers on
//! different machines against one database).

use std::time::Duration;

use async_trait::async_trait;
use sqlx::any::AnyPoolOptions;

use super::{Backend, Job, Result, Sql, Store};
use crate::domain::Millis;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub struct PostgresStore {
    sql: Sql,
}

impl PostgresStore {
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            sql: Sql::new(pool, Backend::Postgres),
        })
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn sql(&self) -> &Sql {
        &self.sql
    }

    /// Row-locks the chosen job and skips rows other workers hold, so many
    /// workers claim concurrently without waiting on each other.
    async fn claim_job(
        &self,
        worker: &str,
        kinds: &[&str],
        now: Millis,
        lease_until: Millis,
    ) -> Result<Option<Job>> {
        self.sql
            .claim(worker, kinds, now, lease_until, "FOR UPDATE SKIP LOCKED")
            .await
    }
}
