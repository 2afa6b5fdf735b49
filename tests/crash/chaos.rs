//! The crash test: a webhook server and a separate worker on PostgreSQL, 50
//! concurrent simulated calls, `kill -9` of the server and of the worker in
//! the middle, both restarted. Afterwards every call has exactly one report
//! (a draft or a missed call), every recording a transcript or a flagged
//! failure, and no job is stuck. Uses the fast tiny.en model (English calls).

use crate::support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hotline::simulator::{self, CallOptions};

const ACCOUNT: &str = "ACchaos";
const TOKEN: &str = "chaos-token";

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str], env: &[(&str, String)]) -> Proc {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hotline"));
    c.args(args)
        .env("RUST_LOG", "error")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    Proc(c.spawn().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_calls_survive_killed_server_and_worker() {
    let Some(db) = support::db::postgres().await else {
        return;
    };
    let model = hotline::model::models_dir().join("ggml-tiny.en.bin");
    assert!(
        model.exists(),
        "run `hotline model fetch tiny.en` (scripts/test does)"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let env = vec![
        ("HOTLINE_DATABASE_URL", db.url.clone()),
        ("HOTLINE_DATA_DIR", db.dir.path().display().to_string()),
        ("HOTLINE_TWILIO_ACCOUNT_SID", ACCOUNT.to_owned()),
        ("HOTLINE_TWILIO_AUTH_TOKEN", TOKEN.to_owned()),
        ("HOTLINE_PUBLIC_URL", base.clone()),
        ("HOTLINE_LISTEN", format!("127.0.0.1:{port}")),
        ("HOTLINE_WORKER_IN_SERVER", "false".to_owned()),
        ("HOTLINE_MODEL", model.display().to_string()),
        ("HOTLINE_LEASE_SECS", "2".to_owned()),
        ("HOTLINE_POLL_MS", "50".to_owned()),
    ];
    let mut server = spawn(&["serve"], &env);
    support::server::healthy(&base).await;
    let mut worker = spawn(&["worker"], &env);

    let wav = support::speech("en/en_ast8k_002.wav");
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..50 {
        let opts = CallOptions {
            server: base.clone(),
            account_sid: ACCOUNT.into(),
            auth_token: TOKEN.into(),
            from: format!("+48600{i:06}"),
            to: "+48126165555".into(),
            keys: vec![Some("3".into()), Some(((i % 4) + 1).to_string())],
            interactive: false,
            wav: Some(wav.clone()),
            empty_recordings: 0,
            hangup_after: None,
            // Serve the recording until the worker has fetched it.
            wait: Duration::from_secs(90),
            quiet: true,
            retry_for: Duration::from_secs(30),
            keep_serving: false,
            dial_outcome: "no-answer".into(),
        };
        calls.spawn(async move {
            tokio::time::sleep(Duration::from_millis(40 * i)).await;
            simulator::call(opts).await
        });
    }
    // Mid-flight: the server dies and comes back on the same port …
    tokio::time::sleep(Duration::from_millis(900)).await;
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server = spawn(&["serve"], &env);
    support::server::healthy(&base).await;
    // … then the worker, in the middle of transcriptions.
    let t = Instant::now();
    while !db
        .store
        .job_counts()
        .await
        .unwrap()
        .iter()
        .any(|(k, s, _)| k == "transcribe" && s == "running")
    {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "no transcription started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.0.kill().unwrap();
    worker.0.wait().unwrap();
    worker = spawn(&["worker"], &env);

    let mut ok = 0;
    while let Some(done) = calls.join_next().await {
        let log = done
            .unwrap()
            .expect("every call completes despite the crashes");
        assert!(
            log.heard.iter().any(|h| h.contains("Its number is")),
            "the caller heard a number"
        );
        ok += 1;
    }
    assert_eq!(ok, 50);

    // Let the pipeline drain.
    let t = Instant::now();
    loop {
        let counts = db.store.job_counts().await.unwrap();
        let busy = counts
            .iter()
            .any(|(k, s, _)| k != "finalize_call" && (s == "queued" || s == "running"));
        if !busy {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(180),
            "queue never drained: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(worker);
    drop(server);

    let reports = support::reports(&db.store).await;
    assert_eq!(reports.len(), 50, "exactly one report per call");
    let mut numbers: Vec<&str> = reports.iter().map(|r| r.number.as_str()).collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), 50, "unique numbers");
    for r in &reports {
        let d = db.store.report_detail(&r.number).await.unwrap().unwrap();
        assert_eq!(d.recordings.len(), 1, "{}: one recording", r.number);
        let transcripts = db.store.transcripts_for_report(r.id).await.unwrap();
        let flagged = matches!(r.audio_status.as_str(), "unavailable" | "undecodable");
        assert!(
            transcripts.len() == 1 || flagged,
            "{}: a transcript or a flagged failure ({} transcripts, audio {})",
            r.number,
            transcripts.len(),
            r.audio_status
        );
        assert!(
            matches!(r.status.as_str(), "draft" | "missed_call"),
            "{}: {}",
            r.number,
            r.status
        );
    }
    let counts = db.store.job_counts().await.unwrap();
    assert!(
        !counts.iter().any(|(_, s, _)| s == "running"),
        "a job is stuck: {counts:?}"
    );
}
