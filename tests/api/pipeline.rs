//! The background pipeline against a real HTTP media server on loopback:
//! downloads with basic auth, retries on 500 and timeouts, a report filed
//! without audio when the provider never delivers, panics that fail an
//! attempt but not the worker. Both backends.

use crate::both_backends;
use crate::support;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hotline::config::{Config, Secret};
use hotline::domain::{now_ms, Language, RecordingSid};
use hotline::jobs::kinds::{FetchRecording, FinalizeCall, Transcribe};
use hotline::jobs::BackgroundJob;
use hotline::pipeline::Pipeline;
use hotline::store::{Job, NewRecording, Store};
use hotline::worker::{Outcome, Perform, Step, Worker, WorkerOptions};
use support::db::TestDb;
use support::media::{self, Behaviour, MediaServer};

fn config(db: &TestDb) -> Config {
    let mut cfg = Config {
        data_dir: db.dir.path().to_owned(),
        ..Default::default()
    };
    cfg.telephony.account_sid = media::ACCOUNT.into();
    cfg.telephony.auth_token = Secret::new(media::TOKEN);
    cfg.recordings.fetch_timeout_secs = 1;
    cfg
}

fn worker(db: &TestDb, cfg: &Config) -> Worker {
    let pipeline = Pipeline::new(Arc::clone(&db.store), None, cfg.clone()).unwrap();
    let mut opts = WorkerOptions::new(1, Duration::from_secs(30), Duration::from_millis(20));
    opts.backoff = Some(Duration::from_millis(10));
    pipeline.register(Worker::new(Arc::clone(&db.store), opts))
}

async fn announce(store: &Arc<Store>, server: &MediaServer, name: &str) -> i64 {
    let sid = support::start_call(store, &format!("CA{name}"), "+48600100200").await;
    let rec = NewRecording {
        sid: RecordingSid::parse(&format!("RE{name}")).unwrap(),
        url: server.url(name),
        duration_secs: Some(3),
        category: "lighting".into(),
        language: Language::Pl,
        at: now_ms(),
    };
    store
        .recording_announced(&sid, &rec)
        .await
        .unwrap()
        .report
        .id
}

/// Steps the worker until the queue has nothing runnable of its kinds (or
/// `max` steps), waiting out backoff delays.
async fn drain(w: &Worker, max: usize) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut idle = 0;
    while steps.len() < max && idle < 50 {
        match w.step().await.unwrap() {
            Step::Idle => {
                idle += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            s => {
                idle = 0;
                steps.push(s);
            }
        }
    }
    steps
}

fn wav() -> Vec<u8> {
    support::wav::pcm16(8000, &support::signals::tone(&[440.0], 1.0, 0.3))
}

async fn download_is_verified_stored_and_queued_for_transcription(db: TestDb) {
    let server = media::start().await;
    server.media.set("RE1", Behaviour::Ok(wav()));
    let cfg = config(&db);
    let report = announce(&db.store, &server, "RE1").await;
    let w = worker(&db, &cfg);
    let steps = drain(&w, 5).await;
    assert!(
        matches!(&steps[..], [Step::Ran { kind, outcome: Outcome::Done, .. }] if kind == FetchRecording::NAME),
        "{steps:?}"
    );
    assert_eq!(
        server.media.requested.lock().unwrap().as_slice(),
        ["RE1.wav"],
        "Twilio-style URL gets .wav"
    );
    let r = db.store.get_report_by_id(report).await.unwrap().unwrap();
    assert_eq!(
        (r.status.as_str(), r.audio_status.as_str()),
        ("awaiting_transcript", "stored")
    );
    let rec = &db
        .store
        .report_detail(&r.number)
        .await
        .unwrap()
        .unwrap()
        .recordings[0];
    let path = db.dir.path().join(rec.local_path.as_ref().unwrap());
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes, wav());
    let sha = rec.sha256.clone().unwrap();
    assert!(
        path.ends_with(format!("{}/{sha}.wav", &sha[..2])),
        "content-addressed: {}",
        path.display()
    );
    let counts = db.store.job_counts().await.unwrap();
    assert!(
        counts.contains(&(Transcribe::NAME.to_owned(), "queued".to_owned(), 1)),
        "{counts:?}"
    );
}

async fn server_errors_are_retried_until_the_file_arrives(db: TestDb) {
    let server = media::start().await;
    server.media.set("RE2", Behaviour::FailThen(3, wav()));
    let cfg = config(&db);
    let report = announce(&db.store, &server, "RE2").await;
    let steps = drain(&worker(&db, &cfg), 10).await;
    let outcomes: Vec<&Outcome> = steps
        .iter()
        .map(|s| match s {
            Step::Ran { outcome, .. } => outcome,
            Step::Idle => unreachable!(),
        })
        .collect();
    assert_eq!(outcomes.len(), 4, "{outcomes:?}");
    assert!(matches!(outcomes[0], Outcome::Retry(e) if e.contains("500")));
    assert_eq!(outcomes[3], &Outcome::Done);
    assert_eq!(server.media.hits.load(Ordering::SeqCst), 4);
    let r = db.store.get_report_by_id(report).await.unwrap().unwrap();
    assert_eq!(r.audio_status, "stored");
}

async fn missing_recording_still_files_the_report(db: TestDb) {
    let server = media::start().await;
    server.media.set("RE3", Behaviour::NotFound);
    let cfg = config(&db);
    let report = announce(&db.store, &server, "RE3").await;
    let steps = drain(&worker(&db, &cfg), 10).await;
    assert_eq!(steps.len(), 6, "every allowed attempt is made: {steps:?}");
    let r = db.store.get_report_by_id(report).await.unwrap().unwrap();
    assert_eq!(
        (r.status.as_str(), r.audio_status.as_str()),
        ("draft", "unavailable")
    );
    assert!(r.note.as_deref().unwrap().contains("404"));
    assert_eq!(
        (r.caller.as_str(), r.category_code()),
        ("+48600100200", "lighting")
    );
    let counts = db.store.job_counts().await.unwrap();
    assert!(counts.contains(&(FetchRecording::NAME.to_owned(), "failed".to_owned(), 1)));
}

async fn timeouts_are_retried(db: TestDb) {
    let server = media::start().await;
    server.media.set("RE4", Behaviour::Hang);
    let cfg = config(&db);
    announce(&db.store, &server, "RE4").await;
    let w = worker(&db, &cfg);
    let started = std::time::Instant::now();
    let step = w.step().await.unwrap();
    assert!(
        matches!(&step, Step::Ran { outcome: Outcome::Retry(e), .. } if e.contains("request failed") || e.contains("interrupted")),
        "{step:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the client gave up on time"
    );
    // The provider recovers.
    server.media.set("RE4", Behaviour::Ok(wav()));
    let steps = drain(&w, 5).await;
    assert!(matches!(
        steps.last(),
        Some(Step::Ran {
            outcome: Outcome::Done,
            ..
        })
    ));
}

async fn wrong_credentials_are_not_accepted_silently(db: TestDb) {
    let server = media::start().await;
    server.media.set("RE5", Behaviour::Ok(wav()));
    let mut cfg = config(&db);
    cfg.telephony.auth_token = Secret::new("wrong");
    announce(&db.store, &server, "RE5").await;
    let step = worker(&db, &cfg).step().await.unwrap();
    assert!(
        matches!(&step, Step::Ran { outcome: Outcome::Retry(e), .. } if e.contains("401")),
        "{step:?}"
    );
}

async fn provider_copy_is_deleted_after_a_verified_download_when_asked(db: TestDb) {
    let server = media::start().await;
    server.media.set("RE6", Behaviour::Ok(wav()));
    let mut cfg = config(&db);
    cfg.recordings.delete_from_provider = true;
    announce(&db.store, &server, "RE6").await;
    drain(&worker(&db, &cfg), 3).await;
    assert_eq!(server.media.deletes.load(Ordering::SeqCst), 1);
}

/// Telnyx sends a signed link to its MP3: fetched as it is, without the
/// account's credentials (a signed link refuses a second authorisation),
/// stored as MP3 by its content, and never DELETEd (it is not an API URL).
async fn a_signed_mp3_link_is_fetched_as_it_is(db: TestDb) {
    let server = media::start().await;
    let mp3 = support::wav::tone_mp3(1.0);
    server.media.set("RE7", Behaviour::Ok(mp3.clone()));
    let mut cfg = config(&db);
    cfg.recordings.delete_from_provider = true;
    let sid = support::start_call(&db.store, "CARE7", "+48600100200").await;
    let rec = NewRecording {
        sid: RecordingSid::parse("6f2f8b1c-1f3e-4a57-9c1e-2d9f0a7b5c31").unwrap(),
        url: format!(
            "{}.mp3?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=600&X-Amz-Signature=f00d",
            server.url("RE7")
        ),
        duration_secs: Some(1),
        category: "lighting".into(),
        language: Language::Pl,
        at: now_ms(),
    };
    let a = db.store.recording_announced(&sid, &rec).await.unwrap();
    let steps = drain(&worker(&db, &cfg), 3).await;
    assert!(
        matches!(
            &steps[..],
            [Step::Ran {
                outcome: Outcome::Done,
                ..
            }]
        ),
        "{steps:?}"
    );
    assert_eq!(
        server.media.requested.lock().unwrap().as_slice(),
        ["RE7.mp3"],
        "the link as sent, no .wav added"
    );
    let stored = db
        .store
        .get_recording(a.recording.id)
        .await
        .unwrap()
        .unwrap();
    let key = stored.local_path.unwrap();
    assert!(key.ends_with(".mp3"), "{key}");
    assert_eq!(std::fs::read(db.dir.path().join(&key)).unwrap(), mp3);
    assert_eq!(server.media.deletes.load(Ordering::SeqCst), 0);
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Panics;

impl BackgroundJob for Panics {
    const NAME: &'static str = "panics";
    const MAX_ATTEMPTS: i64 = 3;

    fn dedup_key(&self) -> Option<String> {
        None
    }
}

struct PanicsFirst;

#[async_trait]
impl Perform<Panics> for PanicsFirst {
    async fn perform(&self, _: Panics, job: &Job) -> Outcome {
        if job.attempts == 1 {
            panic!("boom in attempt {}", job.attempts);
        }
        Outcome::Done
    }
}

async fn a_panicking_job_fails_its_attempt_not_the_worker(db: TestDb) {
    let mut opts = WorkerOptions::new(1, Duration::from_secs(30), Duration::from_millis(10));
    opts.backoff = Some(Duration::from_millis(5));
    let w = Worker::new(Arc::clone(&db.store), opts).register::<Panics, _>(Arc::new(PanicsFirst));
    let id = db
        .store
        .enqueue_job(&Panics, now_ms())
        .await
        .unwrap()
        .unwrap();
    let steps = drain(&w, 3).await;
    assert!(
        matches!(&steps[0], Step::Ran { outcome: Outcome::Retry(e), .. } if e.contains("panicked: boom")),
        "{steps:?}"
    );
    assert!(matches!(
        &steps[1],
        Step::Ran {
            outcome: Outcome::Done,
            ..
        }
    ));
    let job = db.store.get_job(id).await.unwrap().unwrap();
    assert_eq!((job.status.as_str(), job.attempts), ("done", 2));
    assert!(job.last_error.unwrap().contains("boom"));
}

/// Rows as an older hotline wrote them (the payloads' JSON by hand): a
/// call's grace period runs the real `finalize_call` once the worker's
/// clock has passed it, and the call becomes a missed call; a row that no
/// longer fits its kind fails for good with a reason an operator can read.
async fn queued_rows_of_an_older_binary_run_or_fail_clearly(db: TestDb) {
    let ended = now_ms();
    let mut calls = Vec::new();
    for sid in ["CAgrace", "CAolder"] {
        let sid = support::start_call(&db.store, sid, "+48600100200").await;
        db.store
            .open_report(&sid, "litter", Language::Pl)
            .await
            .unwrap();
        db.store.call_ended(&sid, "completed", ended).await.unwrap();
        calls.push(sid);
    }
    // The payload of a grace-period job as an older binary wrote it, due now.
    let raw = |kind: &str, key: &str, payload: &str| hotline::jobs::NewJob {
        kind: kind.into(),
        dedup_key: Some(key.into()),
        payload: payload.into(),
        max_attempts: 5,
        run_at: ended,
    };
    let older = raw("finalize_call", "older", r#"{"call_sid":"CAolder"}"#);
    db.store.enqueue(&older).await.unwrap();
    let broken = raw("fetch_recording", "broken", r#"{"recording":"RE1"}"#);
    let broken = db.store.enqueue(&broken).await.unwrap().unwrap();
    let pipeline = Pipeline::new(Arc::clone(&db.store), None, config(&db)).unwrap();
    let opts = WorkerOptions::new(1, Duration::from_secs(30), Duration::from_millis(20));
    let w = pipeline.register(Worker::new(Arc::clone(&db.store), opts));
    let status = |i: usize| {
        let (store, sid) = (Arc::clone(&db.store), calls[i].clone());
        async move {
            let call = store.get_call(&sid).await.unwrap().unwrap();
            let reports = support::reports(&store).await;
            let r = reports
                .into_iter()
                .find(|r| r.call_id == Some(call.id))
                .unwrap();
            r.status
        }
    };

    // The older row and the broken one run; the calls' own grace periods
    // have not passed.
    let steps = drain(&w, 5).await;
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert_eq!(status(1).await, "missed_call", "the older row ran");
    assert_eq!(status(0).await, "open", "still within its grace period");
    let job = db.store.get_job(broken).await.unwrap().unwrap();
    assert_eq!(job.status, "failed");
    let reason = job.last_error.unwrap();
    assert!(
        reason.contains("does not fit a fetch_recording job") && reason.contains("recording_id"),
        "{reason}"
    );

    // Past the grace period the real job closes the call as missed.
    db.store
        .clock()
        .advance(hotline::jobs::kinds::RECORDING_GRACE_MS + 1_000);
    let steps = drain(&w, 3).await;
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert!(
        steps.iter().all(|s| matches!(s, Step::Ran { kind, outcome: Outcome::Done, .. } if kind == FinalizeCall::NAME)),
        "{steps:?}"
    );
    assert_eq!(status(0).await, "missed_call");
}

/// A voicemail whose middle sentence the guards reject (made a known
/// hallucination by the prompts), through the real model: the draft keeps
/// the other sentences and marks the rejected one where it was, for the
/// agent to listen to; the stored timeline lists it.
async fn speech_without_text_is_marked_in_the_draft(db: TestDb) {
    let prompts = support::voicemail::prompts_blocking("Ile to kosztuje");
    let (samples, spans) = support::voicemail::with_a_blocked_sentence();
    let server = media::start().await;
    server
        .media
        .set("RE9", Behaviour::Ok(support::wav::pcm16(16_000, &samples)));
    let engine_prompts = hotline::prompts::WhisperPrompts::load(
        &hotline::prompts::PromptSource::dir(prompts.path().to_owned()),
    )
    .unwrap();
    let engine = hotline::engine::Engine::load(hotline::engine::EngineConfig::new(
        hotline::model::default_model_path(),
        engine_prompts,
    ))
    .unwrap();
    let cfg = config(&db);
    let report = announce(&db.store, &server, "RE9").await;
    let pipeline = Pipeline::new(Arc::clone(&db.store), Some(Arc::new(engine)), cfg).unwrap();
    let w = pipeline.register(Worker::new(
        Arc::clone(&db.store),
        WorkerOptions::new(1, Duration::from_secs(60), Duration::from_millis(20)),
    ));
    drain(&w, 4).await;
    let r = db.store.get_report_by_id(report).await.unwrap().unwrap();
    assert_eq!(r.status.as_str(), "draft");
    let text = r.text.clone().unwrap_or_default();
    assert!(
        text.starts_with("Ile przewodów")
            && text.contains("[niezrozumiałe 0:0")
            && text.contains("średnica"),
        "{text}"
    );
    assert!(!text.contains("kosztuje"), "{text}");
    let detail = db.store.report_detail(&r.number).await.unwrap().unwrap();
    let segments: serde_json::Value =
        serde_json::from_str(&detail.transcript.unwrap().segments).unwrap();
    let (start, end) = spans[1];
    assert!(
        segments
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["unclear"].is_string()
                && s["start_ms"].as_i64().unwrap() < end
                && s["end_ms"].as_i64().unwrap() > start),
        "{segments:#}"
    );
}

/// A stored file damaged before it is transcribed (a disk fault, a bad
/// copy): the worker checks its sha256, flags it, never transcribes or
/// serves it, and the report still reaches the agents, saying why there is
/// no audio.
async fn a_damaged_stored_recording_is_flagged_not_transcribed(db: TestDb) {
    let server = media::start().await;
    server.media.set("RE10", Behaviour::Ok(wav()));
    let cfg = config(&db);
    let report = announce(&db.store, &server, "RE10").await;
    drain(&worker(&db, &cfg), 3).await;
    let number = db
        .store
        .get_report_by_id(report)
        .await
        .unwrap()
        .unwrap()
        .number;
    let rec = db
        .store
        .report_detail(&number)
        .await
        .unwrap()
        .unwrap()
        .recordings[0]
        .clone();
    let key = rec.local_path.clone().expect("stored");
    std::fs::write(db.dir.path().join(&key), b"RIFF\0\0\0\0WAVE damaged").unwrap();

    let engine = hotline::engine::Engine::load(hotline::engine::EngineConfig::new(
        hotline::model::default_model_path(),
        hotline::prompts::WhisperPrompts::load(&hotline::prompts::PromptSource::builtin()).unwrap(),
    ))
    .unwrap();
    let pipeline = Pipeline::new(Arc::clone(&db.store), Some(Arc::new(engine)), cfg).unwrap();
    let w = pipeline.register(Worker::new(
        Arc::clone(&db.store),
        WorkerOptions::new(1, Duration::from_secs(60), Duration::from_millis(20)),
    ));
    let steps = drain(&w, 3).await;
    assert!(
        matches!(&steps[..], [Step::Ran { kind, outcome: Outcome::Done, .. }]
            if kind == Transcribe::NAME),
        "{steps:?}"
    );
    let flagged = db.store.get_recording(rec.id).await.unwrap().unwrap();
    assert_eq!(
        (flagged.fetch_status.as_str(), flagged.local_path),
        ("damaged", None),
        "no longer referenced"
    );
    let r = db.store.get_report_by_id(report).await.unwrap().unwrap();
    assert_eq!(
        (r.status.as_str(), r.audio_status.as_str()),
        ("draft", "unavailable"),
        "the report reaches the agents without audio"
    );
    let detail = db.store.report_detail(&number).await.unwrap().unwrap();
    assert!(detail.transcript.is_none(), "never transcribed");
    assert!(
        detail.audit.iter().any(|e| e.action == "audio_unavailable"
            && e.after_json.as_deref().unwrap_or("").contains("damaged")),
        "the history says why: {:?}",
        detail.audit
    );
}

both_backends!(
    speech_without_text_is_marked_in_the_draft,
    a_damaged_stored_recording_is_flagged_not_transcribed,
    download_is_verified_stored_and_queued_for_transcription,
    server_errors_are_retried_until_the_file_arrives,
    missing_recording_still_files_the_report,
    timeouts_are_retried,
    wrong_credentials_are_not_accepted_silently,
    provider_copy_is_deleted_after_a_verified_download_when_asked,
    a_signed_mp3_link_is_fetched_as_it_is,
    a_panicking_job_fails_its_attempt_not_the_worker,
    queued_rows_of_an_older_binary_run_or_fail_clearly,
);

/// The pipeline's triage: an urgent phrase in a category that may be urgent.
#[test]
fn urgency_needs_a_phrase_in_an_urgent_category() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt
        .block_on(hotline::store::open(&format!(
            "sqlite://{}/t.db?mode=rwc",
            dir.path().display()
        )))
        .unwrap();
    let cfg = hotline::config::Config {
        data_dir: dir.path().to_owned(),
        ..Default::default()
    };
    let p = hotline::pipeline::Pipeline::new(store, None, cfg).unwrap();
    assert_eq!(
        p.urgency("roads", Language::Pl, "Na Długiej czuć gas, bardzo mocno.")
            .as_deref(),
        Some("czuć gaz")
    );
    assert_eq!(
        p.urgency("roads", Language::Pl, "Dziura w chodniku na Długiej."),
        None
    );
    assert_eq!(
        p.urgency("unknown", Language::Pl, "czuć gaz"),
        None,
        "not a category"
    );
}
