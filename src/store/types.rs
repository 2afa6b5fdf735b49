//! Rows and inputs of the store.

use serde::Serialize;

use sqlx::{any::AnyRow, FromRow, Row};

use crate::auth::Role;
use crate::domain::urgency::{Urgency, UrgentKind};
use crate::domain::{
    string_enum, AudioStatus, CallSid, Language, Millis, ReportNumber, ReportStatus,
};

#[derive(Debug, Clone, Serialize)]
pub struct Call {
    pub id: i64,
    pub call_sid: CallSid,
    pub caller: String,
    pub called: String,
    pub started_at: Millis,
    pub ended_at: Option<Millis>,
    /// The caller's language, once chosen.
    pub language: Option<Language>,
    /// The caller's category, once chosen.
    pub category: Option<String>,
    pub menu_path: String,
    pub ivr_state: String,
    /// How the call ended, in the provider's words (`completed`, `busy`, …).
    pub outcome: Option<String>,
    pub updated_at: Millis,
}

fn corrupt(column: &str, e: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(e),
    }
}

/// The row's `language`, none while unknown.
fn language_of(row: &AnyRow) -> sqlx::Result<Option<Language>> {
    let raw: Option<String> = row.try_get("language")?;
    raw.map(|l| l.parse::<Language>())
        .transpose()
        .map_err(|e| corrupt("language", e))
}

// By hand: sqlx's `try_from` cannot read a nullable column into an
// `Option` of a domain type.
impl FromRow<'_, AnyRow> for Call {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        let sid: String = row.try_get("call_sid")?;
        Ok(Self {
            id: row.try_get("id")?,
            call_sid: CallSid::parse(&sid).map_err(|e| corrupt("call_sid", e))?,
            caller: row.try_get("caller")?,
            called: row.try_get("called")?,
            started_at: row.try_get("started_at")?,
            ended_at: row.try_get("ended_at")?,
            language: language_of(row)?,
            category: row.try_get("category")?,
            menu_path: row.try_get("menu_path")?,
            ivr_state: row.try_get("ivr_state")?,
            outcome: row.try_get("outcome")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

string_enum!(
    /// Where a job is in the queue.
    JobStatus {
        /// Waiting for its time and a worker.
        Queued = "queued",
        /// Leased by a worker.
        Running = "running",
        Done = "done",
        /// Gave up (out of attempts, or could never succeed).
        Failed = "failed",
    }
);

string_enum!(
    /// Where a recording's download is.
    FetchStatus {
        /// Announced while the caller reviews it: not fetched yet.
        Held = "held",
        /// The caller recorded again: never fetched.
        Discarded = "discarded",
        Pending = "pending",
        /// Downloaded and verified.
        Stored = "stored",
        /// Failed for good.
        Failed = "failed",
        /// Stored, then found not to match its checksum: no longer
        /// referenced, never served.
        Damaged = "damaged",
    }
);

/// What the recordings storage holds, for the administrator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordingStats {
    /// Recordings whose audio is kept.
    pub stored: i64,
    /// Distinct objects they use (identical audio is stored once).
    pub objects: i64,
    pub bytes: i64,
    /// Announced or held, not downloaded yet.
    pub waiting: i64,
    /// The provider's copy could not be downloaded.
    pub unavailable: i64,
    pub damaged: i64,
    /// Deleted after the retention period.
    pub deleted: i64,
}

impl RecordingStats {
    /// Counts `n` recordings of `status` whose audio is (or is no longer)
    /// kept.
    pub fn add(&mut self, status: FetchStatus, kept: bool, n: i64) {
        let bucket = match (status, kept) {
            (_, true) => &mut self.stored,
            (FetchStatus::Held | FetchStatus::Pending, false) => &mut self.waiting,
            (FetchStatus::Failed, false) => &mut self.unavailable,
            (FetchStatus::Damaged, false) => &mut self.damaged,
            (FetchStatus::Stored, false) => &mut self.deleted,
            (FetchStatus::Discarded, false) => return,
        };
        *bucket += n;
    }
}

/// What the IVR saves after each step.
#[derive(Debug, Clone, Default)]
pub struct IvrUpdate {
    pub state: String,
    pub language: Option<Language>,
    pub category: Option<String>,
    pub menu_path: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub id: i64,
    pub number: ReportNumber,
    /// The call it came from; none for a report an agent filed after
    /// calling a missed call back (see `follows_up`).
    pub call_id: Option<i64>,
    /// None until known: a caller who hung up before choosing.
    pub category: Option<String>,
    /// None until known, as the category.
    pub language: Option<Language>,
    pub caller: String,
    pub status: ReportStatus,
    pub audio_status: AudioStatus,
    pub text: Option<String>,
    pub address: Option<String>,
    pub note: Option<String>,
    pub reject_reason: Option<String>,
    pub duplicate_of: Option<i64>,
    pub version: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub decided_at: Option<Millis>,
    pub decided_by: Option<String>,
    /// A recording arrived after the decision (kept, for an agent to see).
    pub late_recording_at: Option<Millis>,
    /// Why the report is urgent (the phrase of `urgent.txt` heard, or the
    /// 24/7 service the caller turned down); none for an ordinary one.
    pub urgent_reason: Option<String>,
    /// What `urgent_reason` is ([`UrgentKind`]); read it with
    /// [`Report::urgency`].
    pub urgent_kind: Option<String>,
    /// The caller may be called back on their number (pressed 1 after the
    /// read-back: 1), or not (0); none when not asked. Read it with
    /// [`Report::callback`]; a boolean in JSON.
    #[serde(serialize_with = "consent_json")]
    pub callback_consent: Option<i64>,
    /// What came of the last callback of a missed call
    /// ([`crate::domain::CallbackOutcome`]); none when not called back.
    pub callback_outcome: Option<String>,
    /// How many times an agent called the missed call back.
    pub callback_attempts: i64,
    pub called_back_at: Option<Millis>,
    /// The missed call this report was filed from, after a callback.
    pub follows_up: Option<i64>,
}

// By hand, as `Call`: the language is a nullable domain type.
impl FromRow<'_, AnyRow> for Report {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        fn parsed<T: TryFrom<String>>(row: &AnyRow, column: &str) -> sqlx::Result<T>
        where
            T::Error: std::error::Error + Send + Sync + 'static,
        {
            let raw: String = row.try_get(column)?;
            T::try_from(raw).map_err(|e| corrupt(column, e))
        }
        Ok(Self {
            id: row.try_get("id")?,
            number: parsed(row, "number")?,
            call_id: row.try_get("call_id")?,
            category: row.try_get("category")?,
            language: language_of(row)?,
            caller: row.try_get("caller")?,
            status: parsed(row, "status")?,
            audio_status: parsed(row, "audio_status")?,
            text: row.try_get("text")?,
            address: row.try_get("address")?,
            note: row.try_get("note")?,
            reject_reason: row.try_get("reject_reason")?,
            duplicate_of: row.try_get("duplicate_of")?,
            version: row.try_get("version")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            decided_at: row.try_get("decided_at")?,
            decided_by: row.try_get("decided_by")?,
            late_recording_at: row.try_get("late_recording_at")?,
            urgent_reason: row.try_get("urgent_reason")?,
            urgent_kind: row.try_get("urgent_kind")?,
            callback_consent: row.try_get("callback_consent")?,
            callback_outcome: row.try_get("callback_outcome")?,
            callback_attempts: row.try_get("callback_attempts")?,
            called_back_at: row.try_get("called_back_at")?,
            follows_up: row.try_get("follows_up")?,
        })
    }
}

fn consent_json<S: serde::Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(n) => s.serialize_bool(*n != 0),
        None => s.serialize_none(),
    }
}

impl Report {
    /// The category's code; `""` (no category of any menu) while unknown.
    pub fn category_code(&self) -> &str {
        self.category.as_deref().unwrap_or_default()
    }

    /// Whether the caller agreed to be called back; none when not asked.
    pub fn callback(&self) -> Option<bool> {
        self.callback_consent.map(|n| n != 0)
    }

    /// Why the report is urgent, if it is.
    pub fn urgency(&self) -> Option<Urgency> {
        let reason = self.urgent_reason.clone()?;
        let kind = self
            .urgent_kind
            .as_deref()
            .and_then(|k| k.parse().ok())
            .unwrap_or(UrgentKind::Heard);
        Some(Urgency { kind, reason })
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Recording {
    pub id: i64,
    pub report_id: i64,
    pub recording_sid: String,
    pub url: String,
    pub duration_secs: Option<i64>,
    pub sha256: Option<String>,
    pub bytes: Option<i64>,
    pub local_path: Option<String>,
    #[sqlx(try_from = "String")]
    pub fetch_status: FetchStatus,
    pub fetch_error: Option<String>,
    pub created_at: Millis,
    pub fetched_at: Option<Millis>,
}

/// A verified download.
#[derive(Debug, Clone)]
pub struct StoredAudio {
    pub sha256: String,
    pub bytes: i64,
    /// Relative to the data directory.
    pub local_path: String,
    pub at: Millis,
}

/// A missed call called back: the call as it now stands and, when the
/// caller told the agent what to report, the new draft that follows it.
#[derive(Debug, Clone, Serialize)]
pub struct CalledBack {
    pub missed: Report,
    pub filed: Option<Report>,
}

/// The result of announcing a recording.
#[derive(Debug, Clone)]
pub struct Announced {
    pub report: Report,
    pub recording: Recording,
    /// False when the provider repeated an announcement already stored.
    pub created: bool,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TranscriptRow {
    pub id: i64,
    pub recording_id: i64,
    pub report_id: i64,
    pub text: String,
    /// JSON array of segments.
    pub segments: String,
    pub language: String,
    pub model_id: String,
    pub avg_logprob: Option<f64>,
    pub no_speech: Option<String>,
    /// JSON: gate figures, dropped segments, timings.
    pub quality: String,
    pub created_at: Millis,
}

/// An urgent report goes out now: `report.urgent` to city systems, and
/// an e-mail to the on-call officer if `email`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escalate {
    pub email: bool,
}

/// A transcript to save.
#[derive(Debug, Clone)]
pub struct NewTranscript {
    pub text: String,
    pub segments_json: String,
    pub language: Language,
    pub model_id: String,
    pub avg_logprob: Option<f64>,
    /// Why there is no speech (the report becomes a missed call).
    pub no_speech: Option<String>,
    pub quality_json: String,
    /// Why the report is urgent, if it is ([`crate::domain::urgency`]).
    pub urgency: Option<Urgency>,
    /// For an urgent report: whether the on-call officer is told now.
    pub escalate: Option<Escalate>,
    pub at: Millis,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub report_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub at: Millis,
}

#[derive(Debug, Clone)]
pub struct NewAudit {
    pub report_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub at: Millis,
}

/// Everything about one report, for `reports show` and the agent UI.
#[derive(Debug, Clone, Serialize)]
pub struct ReportDetail {
    pub report: Report,
    /// None for a report filed by phone after a callback.
    pub call: Option<Call>,
    /// The missed call this report follows (its number).
    pub follows: Option<String>,
    /// Reports filed by phone after calling this missed call back.
    pub followed_by: Vec<String>,
    pub recordings: Vec<Recording>,
    /// The first recording's transcript.
    pub transcript: Option<TranscriptRow>,
    /// Every recording's transcript, in the order they arrived.
    pub transcripts: Vec<TranscriptRow>,
    pub audit: Vec<AuditEntry>,
    /// The call's connections onwards (consultants, 24/7 services).
    pub dials: Vec<super::Dial>,
}

#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub status: Option<ReportStatus>,
    pub category: Option<String>,
    pub language: Option<Language>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    /// Urgent reports only.
    pub urgent_only: bool,
    /// Oldest first (the agents' queue) instead of newest first.
    pub oldest_first: bool,
    /// A report number, part of a phone number (3 digits or more), or words
    /// of the text or address (each must occur; case and Polish capitals
    /// folded).
    pub search: Option<String>,
    /// Keyset paging: only reports after this one in the list's order.
    pub after: Option<Cursor>,
    pub limit: i64,
    pub offset: i64,
}

/// A place in a list of reports: where the last one shown stands in the
/// list's order (urgent first in the queue, then time, then id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// 0 for an urgent report, 1 for another (the queue's first key).
    pub ordinary: i64,
    pub created_at: Millis,
    pub id: i64,
}

impl Cursor {
    pub fn of(r: &Report) -> Self {
        Self {
            ordinary: i64::from(r.urgent_reason.is_none()),
            created_at: r.created_at,
            id: r.id,
        }
    }

    /// As a URL parameter: `ordinary.created_at.id`.
    pub fn token(&self) -> String {
        format!("{}.{}.{}", self.ordinary, self.created_at, self.id)
    }

    pub fn parse(token: &str) -> Option<Self> {
        let mut parts = token.split('.').map(str::parse::<i64>);
        let cursor = Self {
            ordinary: parts.next()?.ok()?,
            created_at: parts.next()?.ok()?,
            id: parts.next()?.ok()?,
        };
        parts.next().is_none().then_some(cursor)
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub dedup_key: Option<String>,
    pub payload: String,
    #[sqlx(try_from = "String")]
    pub status: JobStatus,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: Millis,
    pub locked_by: Option<String>,
    pub locked_until: Option<Millis>,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AgentRow {
    pub id: i64,
    pub name: String,
    #[serde(skip)]
    pub password_hash: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub created_at: Millis,
    pub disabled_at: Option<Millis>,
}

impl AgentRow {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// What a login attempt may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAttempt {
    /// Check the password: this is attempt number `attempt` of the window.
    Allowed { attempt: i64 },
    /// Refused without checking anything, until then.
    Locked { until: Millis },
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub token_hash: String,
    pub agent_id: i64,
    pub csrf_token: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApiTokenRow {
    pub id: i64,
    pub agent_id: i64,
    #[serde(skip)]
    pub token_hash: String,
    pub label: String,
    pub created_at: Millis,
    pub revoked_at: Option<Millis>,
    pub last_used: Option<Millis>,
}

/// An agent's corrections to a draft (`None`: unchanged).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ReportEdit {
    pub text: Option<String>,
    pub category: Option<String>,
    pub address: Option<String>,
}

impl ReportEdit {
    /// Some field holds a control character (see
    /// [`crate::domain::has_stray_controls`]).
    pub fn has_stray_controls(&self) -> bool {
        [&self.text, &self.category, &self.address]
            .into_iter()
            .flatten()
            .any(|v| crate::domain::has_stray_controls(v))
    }

    /// The same edit with such characters removed.
    pub fn without_stray_controls(self) -> Self {
        let clean = |v: Option<String>| v.map(|v| crate::domain::strip_stray_controls(&v));
        Self {
            text: clean(self.text),
            category: clean(self.category),
            address: clean(self.address),
        }
    }
}

/// An agent's decision on a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Confirm,
    Reject {
        reason: crate::domain::RejectReason,
        duplicate_of: Option<i64>,
    },
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AddressCandidateRow {
    pub id: i64,
    pub report_id: i64,
    pub street: String,
    pub house: Option<String>,
    pub score: f64,
    pub heard: String,
    pub created_at: Millis,
}

impl AddressCandidateRow {
    /// `Długa 12`, or the street alone.
    pub fn display(&self) -> String {
        match &self.house {
            Some(h) => format!("{} {h}", self.street),
            None => self.street.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub report_id: i64,
    pub event: String,
    pub endpoint: String,
    pub attempt: i64,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub at: Millis,
}
