//! Killing a `hotline worker` process (SIGKILL) in the middle of a
//! transcription: the lease expires, another worker runs the job again,
//! and there is exactly one transcript and one report result. Real model,
//! real processes, both backends.

use crate::both_backends;
use crate::support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hotline::domain::{now_ms, Language, RecordingSid};
use hotline::jobs::kinds::Transcribe;
use hotline::jobs::BackgroundJob;
use hotline::store::NewRecording;
use support::db::TestDb;
use support::media::{self, Behaviour};

fn spawn_worker(db: &TestDb) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hotline"))
        .arg("worker")
        .env("HOTLINE_DATABASE_URL", &db.url)
        .env("HOTLINE_DATA_DIR", db.dir.path())
        .env("HOTLINE_TWILIO_ACCOUNT_SID", media::ACCOUNT)
        .env("HOTLINE_TWILIO_AUTH_TOKEN", media::TOKEN)
        .env("HOTLINE_LEASE_SECS", "2")
        .env("HOTLINE_POLL_MS", "50")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

async fn job_status(db: &TestDb, kind: &str) -> Vec<(String, i64)> {
    db.store
        .job_counts()
        .await
        .unwrap()
        .into_iter()
        .filter(|(k, _, _)| k == kind)
        .map(|(_, s, n)| (s, n))
        .collect()
}

async fn wait_for(db: &TestDb, status: &str, timeout: Duration) {
    let t = Instant::now();
    while !job_status(db, Transcribe::NAME)
        .await
        .iter()
        .any(|(s, _)| s == status)
    {
        assert!(
            t.elapsed() < timeout,
            "transcription never became {status}: {:?}",
            job_status(db, Transcribe::NAME).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn killed_worker_mid_transcription(db: TestDb) {
    let _one_at_a_time = crate::EXCLUSIVE.lock().await;
    // ~55 s of real speech: long enough to be killed in the middle.
    let jfk =
        hotline::audio::decode_file(&support::speech("en/en_jfk_001.wav"), &Default::default())
            .unwrap();
    let long: Vec<f32> = jfk
        .samples
        .iter()
        .copied()
        .cycle()
        .take(16_000 * 55)
        .collect();
    let server = media::start().await;
    server
        .media
        .set("REkill", Behaviour::Ok(support::wav::pcm16(16_000, &long)));

    let sid = support::start_call(&db.store, "CAkill", "+48600100200").await;
    let announced = db
        .store
        .recording_announced(
            &sid,
            &NewRecording {
                sid: RecordingSid::parse("REkill").unwrap(),
                url: server.url("REkill"),
                duration_secs: Some(55),
                category: "roads".into(),
                language: Language::En,
                at: now_ms(),
            },
        )
        .await
        .unwrap();

    let mut first = spawn_worker(&db);
    wait_for(&db, "running", Duration::from_secs(120)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(
        job_status(&db, Transcribe::NAME).await,
        vec![("running".to_owned(), 1)],
        "killed mid-job"
    );
    assert!(db
        .store
        .transcripts_for_report(announced.report.id)
        .await
        .unwrap()
        .is_empty());

    let mut second = spawn_worker(&db);
    wait_for(&db, "done", Duration::from_secs(180)).await;
    second.kill().unwrap();
    second.wait().unwrap();

    let transcripts = db
        .store
        .transcripts_for_report(announced.report.id)
        .await
        .unwrap();
    assert_eq!(transcripts.len(), 1, "exactly one transcript");
    assert!(
        transcripts[0]
            .text
            .to_lowercase()
            .contains("what your country can do for you"),
        "{:?}",
        transcripts[0]
    );
    let r = db
        .store
        .get_report_by_id(announced.report.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, "draft");
    let jobs = db.store.job_counts().await.unwrap();
    assert_eq!(
        jobs.iter()
            .filter(|(k, _, _)| k == Transcribe::NAME)
            .count(),
        1,
        "one transcription job: {jobs:?}"
    );
}

both_backends!(killed_worker_mid_transcription);
