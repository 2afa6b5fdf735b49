//! The line by the clock: administrators' overrides of the schedule, staff
//! announcements, and the connections (`<Dial>`) a call was put through.
//! Every change by a person is written to the audit log.

use serde::Serialize;

use super::{Result, Store};
use crate::domain::schedule::Override;
use crate::domain::{CallSid, Millis};

/// An override in force: "staffed until …" or "closed until …".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverrideRow {
    pub id: i64,
    pub staffed: bool,
    pub until: Millis,
    pub note: String,
    pub set_by: String,
    pub set_at: Millis,
}

impl OverrideRow {
    pub fn rule(&self) -> Override {
        Override {
            staffed: self.staffed,
            until: self.until,
        }
    }
}

type OverrideTuple = (i64, i64, i64, String, String, Millis);

fn override_row((id, staffed, until, note, set_by, set_at): OverrideTuple) -> OverrideRow {
    OverrideRow {
        id,
        staffed: staffed != 0,
        until,
        note,
        set_by,
        set_at,
    }
}

/// A staff announcement (texts per language; an empty one is not played
/// in that language).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Announcement {
    pub id: i64,
    pub text_pl: String,
    pub text_uk: String,
    pub text_en: String,
    pub starts_at: Millis,
    pub ends_at: Millis,
    pub created_by: String,
    pub created_at: Millis,
    pub ended_by: Option<String>,
    pub ended_at: Option<Millis>,
}

impl Announcement {
    pub fn is_active(&self, at: Millis) -> bool {
        self.starts_at <= at && at < self.ends_at
    }
}

/// A new announcement, already checked ([`crate::line::announcement`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewAnnouncement {
    pub text_pl: String,
    pub text_uk: String,
    pub text_en: String,
    pub starts_at: Millis,
    pub ends_at: Millis,
}

crate::domain::string_enum!(
    /// Where a call was connected onwards.
    DialKind {
        /// KCK's consultants, in staffed hours.
        Consultants = "consultants",
        /// A category's 24/7 service, at the caller's request.
        Referral = "referral",
    }
);

/// One connection attempt of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Dial {
    pub id: i64,
    pub call_id: i64,
    pub kind: String,
    pub target: String,
    pub category: Option<String>,
    pub outcome: Option<String>,
    pub seconds: Option<i64>,
    pub started_at: Millis,
    pub ended_at: Option<Millis>,
}

impl Store {
    /// Sets the override in force (replacing any other), audited.
    pub async fn set_override(
        &self,
        rule: Override,
        note: &str,
        actor: &str,
        at: Millis,
    ) -> Result<OverrideRow> {
        let mut tx = self.begin().await?;
        self.query("UPDATE line_overrides SET cleared_at = $1 WHERE cleared_at IS NULL")
            .bind(at)
            .execute(&mut *tx)
            .await?;
        let row: OverrideTuple = self
            .query_as(
                "INSERT INTO line_overrides (staffed, until_at, note, set_by, set_at)
                 VALUES ($1, $2, $3, $4, $5)
                 RETURNING id, staffed, until_at, note, set_by, set_at",
            )
            .bind(i64::from(rule.staffed))
            .bind(rule.until)
            .bind(note.to_owned())
            .bind(actor.to_owned())
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
        let row = override_row(row);
        let after =
            serde_json::json!({ "staffed": row.staffed, "until": row.until, "note": row.note });
        self.audit_in(
            &mut tx,
            None,
            actor,
            "line_override",
            None,
            Some(after.to_string()),
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Ends the override in force, audited; false if there was none.
    pub async fn clear_override(&self, actor: &str, at: Millis) -> Result<bool> {
        let mut tx = self.begin().await?;
        let cleared = self
            .query("UPDATE line_overrides SET cleared_at = $1 WHERE cleared_at IS NULL AND until_at > $1")
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if cleared > 0 {
            self.audit_in(
                &mut tx,
                None,
                actor,
                "line_override_cleared",
                None,
                None,
                at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(cleared > 0)
    }

    /// The override in force at `at`, if any.
    pub async fn active_override(&self, at: Millis) -> Result<Option<OverrideRow>> {
        let row: Option<OverrideTuple> = self
            .query_as(
                "SELECT id, staffed, until_at, note, set_by, set_at FROM line_overrides
                 WHERE cleared_at IS NULL AND until_at > $1 ORDER BY set_at DESC, id DESC LIMIT 1",
            )
            .bind(at)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(override_row))
    }

    /// Adds an announcement, audited.
    pub async fn add_announcement(
        &self,
        a: &NewAnnouncement,
        actor: &str,
        at: Millis,
    ) -> Result<Announcement> {
        let mut tx = self.begin().await?;
        let row: Announcement = self
            .query_as(
                "INSERT INTO announcements (text_pl, text_uk, text_en, starts_at, ends_at, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
            )
            .bind(a.text_pl.clone())
            .bind(a.text_uk.clone())
            .bind(a.text_en.clone())
            .bind(a.starts_at)
            .bind(a.ends_at)
            .bind(actor.to_owned())
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
        let after = serde_json::to_string(&row).ok();
        self.audit_in(&mut tx, None, actor, "announcement_added", None, after, at)
            .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Ends an announcement now (if it has not ended), audited; false if
    /// there is no such announcement still to end.
    pub async fn end_announcement(&self, id: i64, actor: &str, at: Millis) -> Result<bool> {
        let mut tx = self.begin().await?;
        let ended = self
            .query(
                "UPDATE announcements SET ends_at = $2, ended_by = $3, ended_at = $2
                 WHERE id = $1 AND ends_at > $2",
            )
            .bind(id)
            .bind(at)
            .bind(actor.to_owned())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if ended > 0 {
            let after = serde_json::json!({ "id": id }).to_string();
            self.audit_in(
                &mut tx,
                None,
                actor,
                "announcement_ended",
                None,
                Some(after),
                at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(ended > 0)
    }

    /// Announcements not over at `at` (current and future), in the order
    /// callers hear them: earliest start first.
    pub async fn announcements(&self, at: Millis) -> Result<Vec<Announcement>> {
        Ok(self
            .query_as(
                "SELECT * FROM announcements WHERE ends_at > $1 ORDER BY starts_at, id LIMIT 100",
            )
            .bind(at)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Those of [`Store::announcements`] playing at `at`.
    pub async fn active_announcements(&self, at: Millis) -> Result<Vec<Announcement>> {
        let mut all = self.announcements(at).await?;
        all.retain(|a| a.is_active(at));
        Ok(all)
    }

    /// A call is being connected onwards.
    pub async fn dial_started(
        &self,
        sid: &CallSid,
        kind: DialKind,
        target: &str,
        category: Option<&str>,
        at: Millis,
    ) -> Result<()> {
        self.query(
            "INSERT INTO call_dials (call_id, kind, target, category, started_at)
             SELECT id, $2, $3, $4, $5 FROM calls WHERE call_sid = $1",
        )
        .bind(sid.as_str().to_owned())
        .bind(kind.as_str())
        .bind(target.to_owned())
        .bind(category.map(str::to_owned))
        .bind(at)
        .execute(&self.pool)
        .await?;
        self.touch_call(sid, at).await
    }

    /// The call's open connection attempt ended (`outcome` as the provider
    /// says it); idempotent for a retried webhook.
    pub async fn dial_ended(
        &self,
        sid: &CallSid,
        outcome: &str,
        seconds: Option<i64>,
        at: Millis,
    ) -> Result<()> {
        self.query(
            "UPDATE call_dials SET outcome = $2, seconds = $3, ended_at = $4
             WHERE id = (SELECT d.id FROM call_dials d JOIN calls c ON c.id = d.call_id
                         WHERE c.call_sid = $1 AND d.ended_at IS NULL
                         ORDER BY d.started_at DESC, d.id DESC LIMIT 1)",
        )
        .bind(sid.as_str().to_owned())
        .bind(outcome.to_owned())
        .bind(seconds)
        .bind(at)
        .execute(&self.pool)
        .await?;
        self.touch_call(sid, at).await
    }

    /// A webhook for the call came at `at` (the sweeper's measure).
    async fn touch_call(&self, sid: &CallSid, at: Millis) -> Result<()> {
        self.query("UPDATE calls SET updated_at = $2 WHERE call_sid = $1")
            .bind(sid.as_str().to_owned())
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The call's connection attempts, oldest first.
    pub async fn dials(&self, call_id: i64) -> Result<Vec<Dial>> {
        Ok(self
            .query_as("SELECT * FROM call_dials WHERE call_id = $1 ORDER BY started_at, id")
            .bind(call_id)
            .fetch_all(&self.pool)
            .await?)
    }
}
