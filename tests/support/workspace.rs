//! A running server with agents and reports in every state, for the agent
//! workspace's HTTP and browser tests.
#![allow(dead_code)]

use std::sync::Arc;

use hotline::config::Config;
use hotline::domain::{now_ms, Language, RecordingSid};
use hotline::store::{NewRecording, NewTranscript, Store, StoredAudio};

use super::db::TestDb;

pub const ADMIN: (&str, &str) = ("ala.admin", "admin-password-1");
pub const AGENT: (&str, &str) = ("jan.kowalski", "agent-password-1");
pub const AGENT2: (&str, &str) = ("ewa.nowak", "agent-password-2");

pub struct Workspace {
    pub base: String,
    pub db: TestDb,
    /// Report numbers: two drafts (the first with audio), a missed call.
    pub drafts: Vec<String>,
    pub missed: String,
}

/// A draft with a real recording and a transcript with one low-confidence
/// segment and one stretch of speech without text.
pub async fn draft(store: &Arc<Store>, data: &std::path::Path, n: u32, text: &str) -> String {
    draft_in(store, data, n, text, "roads").await
}

/// A [`draft`] filed under `category`.
pub async fn draft_in(
    store: &Arc<Store>,
    data: &std::path::Path,
    n: u32,
    text: &str,
    category: &str,
) -> String {
    let sid = super::start_call(store, &format!("CAws{n}"), "+48600100200").await;
    let rec = NewRecording {
        sid: RecordingSid::parse(&format!("REws{n}")).unwrap(),
        url: "http://127.0.0.1:9/x".into(),
        duration_secs: Some(3),
        category: category.into(),
        language: Language::Pl,
        at: now_ms(),
    };
    let a = store.recording_announced(&sid, &rec).await.unwrap();
    let wav = std::fs::read(super::speech("pl/pl_art_001.wav")).unwrap();
    let rel = format!("recordings/ws/{n}.wav");
    std::fs::create_dir_all(data.join("recordings/ws")).unwrap();
    std::fs::write(data.join(&rel), &wav).unwrap();
    store
        .recording_stored(
            a.recording.id,
            &StoredAudio {
                sha256: format!("{n:064}"),
                bytes: wav.len() as i64,
                local_path: rel,
                at: now_ms(),
            },
        )
        .await
        .unwrap();
    let segments = serde_json::json!([
        { "start_ms": 0, "end_ms": 1200, "text": text, "avg_logprob": -0.2, "no_speech_prob": 0.01 },
        { "start_ms": 1200, "end_ms": 2500, "text": "na ulicy Długiej", "avg_logprob": -1.3, "no_speech_prob": 0.01 },
        // Speech the guards rejected: the agent sees a marker, not the reason.
        { "start_ms": 62_400, "end_ms": 65_100, "text": "", "avg_logprob": 0.0, "no_speech_prob": 0.0, "unclear": "known hallucination phrase" }
    ]);
    store
        .transcript_saved(
            a.recording.id,
            &NewTranscript {
                text: format!("{text} na ulicy Długiej"),
                segments_json: segments.to_string(),
                language: Language::Pl,
                model_id: "base@test".into(),
                avg_logprob: Some(-0.7),
                no_speech: None,
                quality_json: "{}".into(),
                urgency: None,
                escalate: None,
                at: now_ms(),
            },
        )
        .await
        .unwrap();
    a.report.number.to_string()
}

/// A caller who hung up in the greeting: a missed call (its number), the
/// `n`th of the test.
pub async fn missed_call(store: &Arc<Store>, n: u32) -> String {
    let sid = super::start_call(store, &format!("CAwsmissed{n}"), "+48600999888").await;
    store
        .call_ended(&sid, "completed", now_ms())
        .await
        .unwrap()
        .unwrap()
        .number
        .to_string()
}

pub async fn start(db: TestDb) -> Workspace {
    start_with(db, |_| {}).await
}

/// [`start`] with the server's configuration adjusted by `tweak`.
pub async fn start_with(db: TestDb, tweak: impl FnOnce(&mut Config)) -> Workspace {
    let store = db.store.clone();
    for (name, pw, role) in [
        (ADMIN.0, ADMIN.1, "admin"),
        (AGENT.0, AGENT.1, "agent"),
        (AGENT2.0, AGENT2.1, "agent"),
    ] {
        store
            .create_agent(
                name,
                &hotline::auth::hash_password(pw).unwrap(),
                role,
                hotline::domain::now_ms(),
            )
            .await
            .unwrap();
    }
    let data = db.dir.path().to_owned();
    let drafts = vec![
        draft(&store, &data, 1, "Dziura w jezdni").await,
        draft(&store, &data, 2, "Nie świeci latarnia").await,
    ];
    let missed = missed_call(&store, 0).await;

    let mut cfg = Config {
        data_dir: data,
        ..Default::default()
    };
    tweak(&mut cfg);
    let base = super::serve(cfg, store).await;
    Workspace {
        base,
        db,
        drafts,
        missed,
    }
}
