//! Agents, sessions, API tokens and login throttling.

use super::types::*;
use super::{Result, Store, StoreError};
use crate::domain::Millis;

impl Store {
    // Agents, sessions and tokens.

    pub async fn create_agent(
        &self,
        name: &str,
        password_hash: &str,
        role: &str,
        at: Millis,
    ) -> Result<AgentRow> {
        let inserted = self
            .query("INSERT INTO agents (name, password_hash, role, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING")
            .bind(name.to_owned())
            .bind(password_hash.to_owned())
            .bind(role.to_owned())
            .bind(at)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Conflict(format!("agent {name} exists")));
        }
        self.agent_by_name(name)
            .await?
            .ok_or_else(|| StoreError::NotFound(name.to_owned()))
    }

    /// A new password; every session of the agent ends (whoever knew the
    /// old one is logged out).
    pub async fn set_agent_password(&self, name: &str, password_hash: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let changed = self
            .query("UPDATE agents SET password_hash = $2 WHERE name = $1")
            .bind(name.to_owned())
            .bind(password_hash.to_owned())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        self.query("DELETE FROM sessions WHERE agent_id = (SELECT id FROM agents WHERE name = $1)")
            .bind(name.to_owned())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Disables (`Some(at)`) or enables (`None`) an agent. Disabling ends
    /// its sessions at once; its API tokens stop working while it is
    /// disabled (they are checked against the agent on every request).
    pub async fn set_agent_disabled(&self, name: &str, at: Option<Millis>) -> Result<bool> {
        let mut tx = self.begin().await?;
        let changed = self
            .query("UPDATE agents SET disabled_at = $2 WHERE name = $1")
            .bind(name.to_owned())
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if at.is_some() {
            self.query(
                "DELETE FROM sessions WHERE agent_id = (SELECT id FROM agents WHERE name = $1)",
            )
            .bind(name.to_owned())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    pub async fn agent_by_name(&self, name: &str) -> Result<Option<AgentRow>> {
        Ok(self
            .query_as("SELECT * FROM agents WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn list_agents(&self) -> Result<Vec<AgentRow>> {
        Ok(self
            .query_as("SELECT * FROM agents ORDER BY name")
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn create_session(&self, s: &SessionRow) -> Result<()> {
        self.query("INSERT INTO sessions (token_hash, agent_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(s.token_hash.clone())
            .bind(s.agent_id)
            .bind(s.csrf_token.clone())
            .bind(s.created_at)
            .bind(s.expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The live session with this token hash, and its (enabled) agent.
    pub async fn session(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> Result<Option<(SessionRow, AgentRow)>> {
        let Some(s): Option<SessionRow> = self
            .query_as("SELECT * FROM sessions WHERE token_hash = $1 AND expires_at > $2")
            .bind(token_hash.to_owned())
            .bind(now)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let agent: Option<AgentRow> = self
            .query_as("SELECT * FROM agents WHERE id = $1 AND disabled_at IS NULL")
            .bind(s.agent_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(agent.map(|a| (s, a)))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn create_api_token(
        &self,
        agent_id: i64,
        token_hash: &str,
        label: &str,
        at: Millis,
    ) -> Result<i64> {
        let (id,): (i64,) = self
            .query_as("INSERT INTO api_tokens (agent_id, token_hash, label, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(agent_id)
            .bind(token_hash.to_owned())
            .bind(label.to_owned())
            .bind(at)
            .fetch_one(&self.pool)
            .await?;
        Ok(id)
    }

    /// The agent of an unrevoked API token (and notes its use).
    pub async fn api_token_agent(&self, token_hash: &str, now: Millis) -> Result<Option<AgentRow>> {
        let Some(t): Option<ApiTokenRow> = self
            .query_as("SELECT * FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(token_hash.to_owned())
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        self.query("UPDATE api_tokens SET last_used = $2 WHERE id = $1")
            .bind(t.id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(self
            .query_as("SELECT * FROM agents WHERE id = $1 AND disabled_at IS NULL")
            .bind(t.agent_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn revoke_api_token(&self, id: i64, at: Millis) -> Result<bool> {
        Ok(self
            .query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(at)
            .execute(&self.pool)
            .await?
            .rows_affected()
            == 1)
    }

    pub async fn list_api_tokens(&self) -> Result<Vec<ApiTokenRow>> {
        Ok(self
            .query_as("SELECT * FROM api_tokens ORDER BY id")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Takes one login attempt for `key`, atomically, before the password
    /// is checked: the `max`-th attempt within `window` is the last one
    /// allowed, later ones are refused until the window (or a lock set by
    /// [`Self::login_lock`]) has passed. One statement, so concurrent
    /// attempts are counted one by one whatever their number: a burst of 40
    /// guesses gets `max` of them checked.
    pub async fn login_attempt(
        &self,
        key: &str,
        now: Millis,
        window: Millis,
        max: i64,
    ) -> Result<LoginAttempt> {
        let mut tx = self.begin().await?;
        self.query(
            "INSERT INTO login_failures (key, failures, first_at) VALUES ($1, 0, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key.to_owned())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // Locked: nothing changes. Otherwise a count older than the window
        // starts again at this attempt.
        let (attempts, locked_until): (i64, Option<i64>) = self
            .query_as(
                "UPDATE login_failures SET
                   failures = CASE WHEN locked_until > $2 THEN failures
                                   WHEN first_at < $3 THEN 1 ELSE failures + 1 END,
                   first_at = CASE WHEN locked_until > $2 THEN first_at
                                   WHEN first_at < $3 THEN $2 ELSE first_at END,
                   locked_until = CASE WHEN locked_until > $2 THEN locked_until ELSE NULL END
                 WHERE key = $1 RETURNING failures, locked_until",
            )
            .bind(key.to_owned())
            .bind(now)
            .bind(now - window)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(match locked_until {
            Some(until) => LoginAttempt::Locked { until },
            None if attempts > max => LoginAttempt::Locked {
                until: now + window,
            },
            None => LoginAttempt::Allowed { attempt: attempts },
        })
    }

    /// Locks `key` until `until` (after the last allowed attempt failed).
    pub async fn login_lock(&self, key: &str, until: Millis) -> Result<()> {
        self.query("UPDATE login_failures SET locked_until = $2 WHERE key = $1")
            .bind(key.to_owned())
            .bind(until)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn login_succeeded(&self, key: &str) -> Result<()> {
        self.query("DELETE FROM login_failures WHERE key = $1")
            .bind(key.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
