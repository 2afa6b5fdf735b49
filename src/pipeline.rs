//! The pipeline's jobs: recording announced → download → transcription →
//! draft report (or missed call), and the grace-period check that turns a
//! call that never produced a recording into a missed call.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tracing::{info, warn};

use crate::audio::{self, DecodeOptions};
use crate::config::Config;
use crate::domain::urgency::Urgency;
use crate::domain::{CallSid, Language};
use crate::engine::{Engine, LanguageChoice};
use crate::jobs::kinds::{FetchRecording, FinalizeCall, Transcribe};
use crate::storage::{Storage, StorageError};
use crate::store::{Escalate, Job, NewTranscript, Recording, Report, Store, StoredAudio};
use crate::worker::{Outcome, Perform, Worker};

/// Everything the pipeline's jobs need.
pub struct Pipeline {
    pub store: Arc<Store>,
    pub engine: Option<Arc<Engine>>,
    pub http: reqwest::Client,
    pub cfg: Config,
    /// Where recordings are kept (a directory or object storage).
    pub storage: Storage,
    pub streets: crate::address::Streets,
    /// Urgent phrases per language, and which categories may be urgent.
    pub urgent: crate::urgent::UrgentPhrases,
    pub menu: crate::ivr::Menu,
    /// Staffed hours: urgent reports are escalated outside them (by default).
    pub schedule: crate::domain::schedule::Schedule,
}

impl Pipeline {
    pub fn new(
        store: Arc<Store>,
        engine: Option<Arc<Engine>>,
        cfg: Config,
    ) -> anyhow::Result<Arc<Self>> {
        let streets = crate::address::Streets::load(&cfg.prompt_source())?;
        let menu = crate::ivr::Menu::load(&cfg.prompt_source())?;
        let urgent = crate::urgent::UrgentPhrases::load(&cfg.prompt_source())?;
        let schedule = crate::line::load_schedule(&cfg.prompt_source())?;
        let storage = Storage::from_config(&cfg)?;
        Ok(Arc::new(Self {
            store,
            engine,
            http: http_client(&cfg)?,
            storage,
            cfg,
            streets,
            urgent,
            menu,
            schedule,
        }))
    }

    /// The urgent phrase heard in a transcript, in a category that may be
    /// urgent.
    pub fn urgency(&self, category: &str, lang: Language, text: &str) -> Option<String> {
        if !self.menu.category(category).is_some_and(|c| c.urgent) {
            return None;
        }
        self.urgent.find(lang, text).map(|m| m.phrase)
    }

    /// Whether a report is urgent ([`crate::domain::urgency`]) and whether
    /// the on-call officer is told now.
    async fn triage(
        &self,
        report: &Report,
        lang: Language,
        text: &str,
    ) -> anyhow::Result<(Option<Urgency>, Option<Escalate>)> {
        use crate::domain::urgency;
        let call = match report.call_id {
            Some(id) => self
                .store
                .get_call_by_id(id)
                .await
                .context("reading the call")?,
            None => None,
        };
        let declined = call
            .filter(|c| urgency::declined_referral(&c.menu_path))
            .and_then(|_| self.menu.referral(report.category_code()))
            .map(|r| r.name(Language::Pl).to_owned());
        let allows = self
            .menu
            .category(report.category_code())
            .is_some_and(|c| c.urgent);
        let heard = self.urgent.find(lang, text).map(|m| m.phrase);
        let Some(found) = urgency::urgency(allows, heard, declined) else {
            return Ok((None, None));
        };
        let now = self.store.now();
        let (line, _) = crate::line::state(&self.store, &self.schedule, now)
            .await
            .context("reading the line's state")?;
        let esc = &self.cfg.escalation;
        let escalate = urgency::escalates(esc.when, line.staffed).then(|| Escalate {
            email: esc.smtp_url.is_some() && !esc.recipients(report.category_code()).is_empty(),
        });
        Ok((Some(found), escalate))
    }

    /// Registers the pipeline's handlers (transcription only with an engine).
    pub fn register(self: &Arc<Self>, worker: Worker) -> Worker {
        let worker = worker
            .register::<FetchRecording, _>(Arc::clone(self))
            .register::<FinalizeCall, _>(Arc::clone(self));
        if self.engine.is_some() {
            worker.register::<Transcribe, _>(Arc::clone(self))
        } else {
            worker
        }
    }

    async fn recording(&self, recording_id: i64) -> Result<Recording, Outcome> {
        match self.store.get_recording(recording_id).await {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(Outcome::GiveUp(format!(
                "recording {recording_id} does not exist"
            ))),
            Err(e) => Err(Outcome::Retry(e.to_string())),
        }
    }
}

/// One client for all provider downloads: connect and overall timeouts,
/// no redirects to other schemes.
pub fn http_client(cfg: &Config) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(
            cfg.recordings.fetch_timeout_secs.max(1),
        ))
        .user_agent(concat!("hotline/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()?)
}

/// The media URL to download, in the format each provider serves best:
/// Twilio's and SignalWire's recording URLs name no format and serve both
/// `.wav` (8 kHz 16-bit PCM, lossless) and `.mp3`, so `.wav` is asked for;
/// Telnyx sends a link to the file it made (MP3 by default, `.wav` when so
/// configured), usually signed, so it is used as it is, as is any URL that
/// already names a format or carries a query. Whatever arrives is decoded
/// by its content, not by the name.
pub fn media_url(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let has_ext = [".wav", ".mp3", ".WAV"].iter().any(|e| path.ends_with(e));
    if has_ext || url.contains('?') {
        url.to_owned()
    } else {
        format!("{url}.wav")
    }
}

#[async_trait]
impl Perform<FetchRecording> for Pipeline {
    async fn perform(&self, job: FetchRecording, _: &Job) -> Outcome {
        let rec = match self.recording(job.recording_id).await {
            Ok(r) => r,
            Err(o) => return o,
        };
        tracing::Span::current().record("report_id", rec.report_id);
        if rec.fetch_status == "stored" {
            return Outcome::Done;
        }
        match download(self, &rec).await {
            Ok(stored) => {
                info!(
                    recording_id = rec.id,
                    report_id = rec.report_id,
                    bytes = stored.bytes,
                    "recording stored"
                );
                if let Err(e) = self.store.recording_stored(rec.id, &stored).await {
                    return Outcome::Retry(e.to_string());
                }
                if self.cfg.recordings.delete_from_provider {
                    delete_from_provider(self, &rec.url).await;
                }
                Outcome::Done
            }
            Err(e) => e,
        }
    }

    async fn gave_up(&self, job: FetchRecording, _: &Job, error: &str) {
        if let Ok(rec) = self.recording(job.recording_id).await {
            warn!(
                recording_id = rec.id,
                report_id = rec.report_id,
                error,
                "recording unavailable: filing the report without audio"
            );
            if let Err(e) = self.store.recording_unavailable(rec.id, error).await {
                warn!(error = %e, "could not flag the report");
            }
        }
    }
}

/// Streams the recording to a staging file (hashing it on the way), then
/// into the recordings storage under its content address
/// (`recordings/ab/abcdef….wav` or `.mp3`, by content), never overwriting
/// one. The database references it only after this returns.
pub async fn download(p: &Pipeline, rec: &Recording) -> Result<StoredAudio, Outcome> {
    let url = media_url(&rec.url);
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Outcome::GiveUp(format!(
            "recording URL is not HTTP(S): {url:.60}"
        )));
    }
    let mut req = p.http.get(&url);
    let t = &p.cfg.telephony;
    // A signed link (Telnyx's, to its object storage) carries its own
    // authorisation: a second one in a header would be refused.
    if !t.account_sid.is_empty() && !t.auth_token.is_empty() && !url.contains('?') {
        req = req.basic_auth(&t.account_sid, Some(t.auth_token.expose()));
    }
    let mut resp = req.send().await.map_err(|e| {
        crate::metrics::fetch_failed(if e.is_timeout() {
            "timeout"
        } else {
            "connection"
        });
        Outcome::Retry(format!("request failed: {e}"))
    })?;
    let status = resp.status();
    if !status.is_success() {
        crate::metrics::fetch_failed(if status.is_server_error() {
            "5xx"
        } else {
            "4xx"
        });
        // 404 right after the call is common (the file is still being
        // written): retry everything; attempts are bounded.
        return Err(Outcome::Retry(format!("provider answered {status}")));
    }
    let max = p.cfg.recordings.max_bytes;
    if resp.content_length().is_some_and(|n| n > max) {
        return Err(Outcome::GiveUp(format!(
            "recording is larger than the {max}-byte cap"
        )));
    }
    let dir = p.cfg.scratch_dir();
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| Outcome::Retry(format!("{}: {e}", dir.display())))?;
    let tmp = Staged(dir.join(format!(".part-{}-{}", rec.id, rand::random::<u32>())));
    let (sha, bytes) = stream_to(&mut resp, &tmp.0, max).await?;
    let head = read_head(&tmp.0)
        .await
        .map_err(|e| Outcome::Retry(format!("reading the download: {e}")))?;
    let key = crate::storage::key_for(&sha, &head);
    p.storage
        .put_file(&key, &tmp.0)
        .await
        .map_err(|e| Outcome::Retry(format!("storing the recording: {e}")))?;
    Ok(StoredAudio {
        sha256: sha,
        bytes: bytes as i64,
        local_path: key,
        at: p.store.now(),
    })
}

/// A staging file, removed when dropped (stored or failed alike).
struct Staged(PathBuf);

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The first bytes of a file, to tell what it holds.
async fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt as _;
    let mut head = vec![0u8; 16];
    let mut file = tokio::fs::File::open(path).await?;
    let n = file.read(&mut head).await?;
    head.truncate(n);
    Ok(head)
}

async fn stream_to(
    resp: &mut reqwest::Response,
    path: &Path,
    max: u64,
) -> Result<(String, u64), Outcome> {
    let io = |e: std::io::Error| Outcome::Retry(format!("writing {}: {e}", path.display()));
    let mut file = tokio::fs::File::create(path).await.map_err(io)?;
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| Outcome::Retry(format!("download interrupted: {e}")))?
    {
        bytes += chunk.len() as u64;
        if bytes > max {
            return Err(Outcome::GiveUp(format!(
                "recording is larger than the {max}-byte cap"
            )));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io)?;
    }
    if bytes == 0 {
        return Err(Outcome::Retry("provider sent an empty body".into()));
    }
    file.sync_all().await.map_err(io)?;
    Ok((hex::encode(hasher.finalize()), bytes))
}

/// Deletes the provider's copy (only after a verified, committed download).
async fn delete_from_provider(p: &Pipeline, url: &str) {
    if url.contains('?') {
        // A signed link to a file (Telnyx) is not the provider's API: its
        // copy expires with the link's storage policy.
        info!("provider's copy is behind a signed link: not deleted from here");
        return;
    }
    let base = url
        .split('?')
        .next()
        .unwrap_or(url)
        .trim_end_matches(".wav")
        .trim_end_matches(".mp3");
    let mut req = p.http.delete(base);
    let t = &p.cfg.telephony;
    if !t.account_sid.is_empty() {
        req = req.basic_auth(&t.account_sid, Some(t.auth_token.expose()));
    }
    match req.send().await {
        Ok(r) if r.status().is_success() => info!("provider's copy of the recording deleted"),
        Ok(r) => warn!(status = %r.status(), "provider refused to delete its copy"),
        Err(e) => warn!(error = %e, "could not delete the provider's copy"),
    }
}

#[async_trait]
impl Perform<Transcribe> for Pipeline {
    async fn perform(&self, job: Transcribe, _: &Job) -> Outcome {
        let p = self;
        let rec = match p.recording(job.recording_id).await {
            Ok(r) => r,
            Err(o) => return o,
        };
        tracing::Span::current().record("report_id", rec.report_id);
        let Some(engine) = &p.engine else {
            return Outcome::Retry("no transcription engine in this worker".into());
        };
        let Some(key) = rec.local_path.clone() else {
            return Outcome::GiveUp("recording has no stored file".into());
        };
        let report = match p.store.get_report_by_id(rec.report_id).await {
            Ok(Some(r)) => r,
            Ok(None) => return Outcome::GiveUp(format!("report {} is gone", rec.report_id)),
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        // A worker on another machine pulls the object to a scratch file,
        // checked against the hash it was stored under.
        let scratch =
            p.cfg
                .scratch_dir()
                .join(format!(".read-{}-{}", rec.id, rand::random::<u32>()));
        let expected = rec.sha256.clone().unwrap_or_default();
        let copy = match p.storage.local_copy(&key, &scratch, &expected).await {
            Ok(c) => c,
            Err(e @ StorageError::Corrupt { .. }) => {
                warn!(recording_id = rec.id, error = %e, "stored recording does not match its checksum");
                // Flagged with its reason: done (giving up would file it
                // again as undecodable).
                return match p.store.recording_corrupt(rec.id, &e.to_string()).await {
                    Ok(()) => Outcome::Done,
                    Err(e) => Outcome::Retry(e.to_string()),
                };
            }
            Err(e) => return Outcome::Retry(format!("reading the recording: {e}")),
        };
        let path = copy.path.clone();
        let opts = DecodeOptions {
            max_duration: Duration::from_secs(p.cfg.model.max_audio_secs),
            lenient: true,
        };
        let decoded =
            match tokio::task::spawn_blocking(move || audio::decode_file(&path, &opts)).await {
                Ok(Ok(d)) => d,
                Ok(Err(audio::AudioError::Io(e))) => {
                    return Outcome::Retry(format!("reading the recording: {e}"))
                }
                Ok(Err(e)) => {
                    // Decoding is deterministic: no retry. The agent can still listen.
                    warn!(error = %e, "recording cannot be decoded");
                    return match p.store.recording_undecodable(rec.id, &e.to_string()).await {
                        Ok(()) => Outcome::Done,
                        Err(e) => Outcome::Retry(e.to_string()),
                    };
                }
                Err(e) => return Outcome::Retry(format!("decoder task: {e}")),
            };
        drop(copy);
        let t = match engine
            .transcribe(
                Arc::new(decoded.samples),
                report
                    .language
                    .map_or(LanguageChoice::Auto, LanguageChoice::Forced),
            )
            .await
        {
            Ok(t) => t,
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        info!(
            report_id = rec.report_id,
            speech = t.has_speech(),
            audio_ms = t.timings.audio_ms,
            whisper_ms = t.timings.whisper_ms,
            "transcribed"
        );
        let quality = serde_json::json!({
            "gate": t.gate, "dropped": t.dropped, "unclear": t.unclear, "chunks": t.chunks,
            "coverage": t.coverage, "timings": t.timings, "truncated": decoded.truncated,
        });
        let timeline = t.timeline();
        // The draft marks speech that gave no text where it was, for the
        // agent to listen to; a recording with no text at all stays a
        // missed call.
        let text = if t.has_speech() {
            crate::domain::draft_text(timeline.iter().map(|s| match s.unclear {
                Some(_) => crate::domain::DraftPiece::Unclear {
                    start_ms: s.start_ms,
                    end_ms: s.end_ms,
                },
                None => crate::domain::DraftPiece::Words(&s.text),
            }))
        } else {
            String::new()
        };
        let (urgency, escalate) = match p.triage(&report, t.language, &t.text).await {
            Ok(found) => found,
            Err(e) => return Outcome::Retry(format!("{e:#}")),
        };
        let new = NewTranscript {
            text,
            segments_json: serde_json::to_string(&timeline).unwrap_or_else(|_| "[]".into()),
            language: t.language,
            model_id: t.model_id.clone(),
            avg_logprob: t.avg_logprob.map(f64::from),
            no_speech: t.no_speech.clone(),
            quality_json: quality.to_string(),
            urgency,
            escalate,
            at: self.store.now(),
        };
        crate::metrics::transcribed(&t);
        // Address hints: best effort, the report is filed either way; saved
        // first, so the urgent e-mail the transcript may queue names them.
        let found = p.streets.find(&t.text);
        if !found.is_empty() {
            if let Err(e) = p
                .store
                .save_address_candidates(rec.report_id, &found, self.store.now())
                .await
            {
                warn!(error = %e, "could not save address hints");
            }
        }
        match p.store.transcript_saved(rec.id, &new).await {
            Ok(true) => {
                if let Some(u) = &new.urgency {
                    info!(
                        kind = u.kind.as_str(),
                        escalated = new.escalate.is_some(),
                        "urgent report"
                    );
                    crate::metrics::urgent_found(u.kind);
                }
                Outcome::Done
            }
            Ok(false) => Outcome::Done,
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }

    async fn gave_up(&self, job: Transcribe, _: &Job, error: &str) {
        if let Ok(rec) = self.recording(job.recording_id).await {
            if let Err(e) = self
                .store
                .recording_undecodable(rec.id, &format!("transcription failed: {error}"))
                .await
            {
                warn!(error = %e, "could not flag the report");
            }
        }
    }
}

#[async_trait]
impl Perform<FinalizeCall> for Pipeline {
    async fn perform(&self, job: FinalizeCall, _: &Job) -> Outcome {
        let Ok(sid) = CallSid::parse(&job.call_sid) else {
            return Outcome::GiveUp(format!("not a call id: {:?}", job.call_sid));
        };
        match self
            .store
            .recording_absent(&sid, "no recording arrived after the call ended")
            .await
        {
            Ok(_) => Outcome::Done,
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::media_url;

    #[test]
    fn each_provider_is_asked_for_the_format_it_serves_best() {
        // Twilio and SignalWire: the lossless WAV of a bare recording URL.
        assert_eq!(
            media_url("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"),
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1.wav"
        );
        assert_eq!(
            media_url("https://kck.signalwire.com/api/laml/2010-04-01/Accounts/a/Recordings/b"),
            "https://kck.signalwire.com/api/laml/2010-04-01/Accounts/a/Recordings/b.wav"
        );
        // Telnyx: its signed link to the file, untouched.
        let signed = "https://s3.amazonaws.com/rec/abc.mp3?X-Amz-Signature=f00&X-Amz-Expires=600";
        assert_eq!(media_url(signed), signed);
        // A URL that names its format keeps it.
        assert_eq!(media_url("https://x/r/RE1.mp3"), "https://x/r/RE1.mp3");
        assert_eq!(media_url("https://x/r/RE1.wav"), "https://x/r/RE1.wav");
    }
}
