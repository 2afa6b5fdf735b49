//! The scale-out picture a city runs, with no shared disk: PostgreSQL and
//! an S3-compatible store (SeaweedFS on loopback); server A (webhooks only,
//! `HOTLINE_WORKER_IN_SERVER=false`), server B (the agents' side, its
//! in-server worker without a model) and one `hotline worker`, each with
//! its own empty data directory. Ten calls through A; the worker is killed
//! (`kill -9`) while recordings are being fetched and stored, and started
//! again; every call becomes a draft with a transcript, every object in
//! the bucket is a whole recording that a report references, an agent on
//! B plays each with a Range request, and retention empties the bucket.
//! Uses the fast tiny.en model (English calls).

use crate::support;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hotline::config::Config;
use hotline::simulator::{self, CallOptions};
use hotline::storage::Storage;
use hotline::store::Decision;

const ACCOUNT: &str = "ACscale";
const TOKEN: &str = "scale-token";

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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn running(db: &support::db::TestDb, kind: &str) -> bool {
    db.store
        .job_counts()
        .await
        .unwrap()
        .iter()
        .any(|(k, s, _)| k == kind && s == "running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_and_a_worker_share_only_the_database_and_the_bucket() {
    let _one_at_a_time = crate::EXCLUSIVE.lock().await;
    let Some(db) = support::db::postgres().await else {
        return;
    };
    let model = hotline::model::models_dir().join("ggml-tiny.en.bin");
    assert!(
        model.exists(),
        "run `hotline model fetch tiny.en` (scripts/test does)"
    );
    let s3 = support::s3::S3Server::start().await;
    let bucket = s3.bucket("kck-recordings").await;
    let recordings_url = format!("s3://{bucket}/hotline");
    let common = vec![
        ("HOTLINE_DATABASE_URL", db.url.clone()),
        ("HOTLINE_TWILIO_ACCOUNT_SID", ACCOUNT.to_owned()),
        ("HOTLINE_TWILIO_AUTH_TOKEN", TOKEN.to_owned()),
        ("HOTLINE_RECORDINGS_URL", recordings_url.clone()),
        ("HOTLINE_S3_ENDPOINT", s3.endpoint.clone()),
        ("AWS_ACCESS_KEY_ID", "hotline".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "any-key-will-do".to_owned()),
        ("HOTLINE_MODEL", model.display().to_string()),
        ("HOTLINE_LEASE_SECS", "2".to_owned()),
        ("HOTLINE_POLL_MS", "50".to_owned()),
    ];
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let with = |dir: usize, extra: &[(&'static str, String)]| {
        let mut env = common.clone();
        env.push(("HOTLINE_DATA_DIR", dirs[dir].path().display().to_string()));
        env.extend_from_slice(extra);
        env
    };
    let (port_a, port_b) = (free_port(), free_port());
    let (base_a, base_b) = (
        format!("http://127.0.0.1:{port_a}"),
        format!("http://127.0.0.1:{port_b}"),
    );
    let _a = spawn(
        &["serve"],
        &with(
            0,
            &[
                ("HOTLINE_LISTEN", format!("127.0.0.1:{port_a}")),
                ("HOTLINE_PUBLIC_URL", base_a.clone()),
                ("HOTLINE_WORKER_IN_SERVER", "false".into()),
            ],
        ),
    );
    let _b = spawn(
        &["serve"],
        &with(
            1,
            &[
                ("HOTLINE_LISTEN", format!("127.0.0.1:{port_b}")),
                ("HOTLINE_PUBLIC_URL", base_b.clone()),
                ("HOTLINE_WORKER_TRANSCRIBE", "false".into()),
            ],
        ),
    );
    support::server::healthy(&base_a).await;
    support::server::healthy(&base_b).await;
    let worker_env = with(2, &[]);
    let mut worker = spawn(&["worker"], &worker_env);

    let wav = support::speech("en/en_ast8k_002.wav");
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..10u64 {
        let opts = CallOptions {
            server: base_a.clone(),
            account_sid: ACCOUNT.into(),
            auth_token: TOKEN.into(),
            from: format!("+48600{i:06}"),
            to: "+48126165555".into(),
            keys: vec![Some("3".into()), Some(((i % 4) + 1).to_string())],
            interactive: false,
            wav: Some(wav.clone()),
            empty_recordings: 0,
            hangup_after: None,
            // Served throughout: a download cut by the kill is fetched again.
            wait: Duration::from_secs(25),
            keep_serving: true,
            quiet: true,
            retry_for: Duration::from_secs(10),
            dial_outcome: "no-answer".into(),
        };
        calls.spawn(async move {
            tokio::time::sleep(Duration::from_millis(100 * i)).await;
            simulator::call(opts).await
        });
    }
    // Killed while recordings are being fetched and stored.
    let t = Instant::now();
    while !running(&db, "fetch_recording").await {
        assert!(t.elapsed() < Duration::from_secs(60), "no download started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    worker.0.kill().unwrap();
    worker.0.wait().unwrap();
    worker = spawn(&["worker"], &worker_env);

    // Every call becomes a draft with a transcript.
    let t = Instant::now();
    let drafts = loop {
        let reports = support::reports(&db.store).await;
        let drafts: Vec<_> = reports
            .iter()
            .filter(|r| r.status == "draft")
            .cloned()
            .collect();
        if drafts.len() == 10 {
            break drafts;
        }
        assert!(
            t.elapsed() < Duration::from_secs(240),
            "drafts: {} of 10; jobs {:?}",
            drafts.len(),
            db.store.job_counts().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    while let Some(done) = calls.join_next().await {
        done.unwrap().expect("every call completes");
    }
    drop(worker);
    for r in &drafts {
        assert!(
            r.text.as_deref().is_some_and(|t| !t.trim().is_empty()),
            "{} has a transcript",
            r.number
        );
    }
    // Nothing on any process's disk; every object whole and referenced.
    for d in &dirs {
        assert!(!d.path().join("recordings").exists(), "no local recordings");
    }
    let recordings = db.store.stored_recordings().await.unwrap();
    assert_eq!(recordings.len(), 10);
    let mut cfg = Config::default();
    cfg.recordings.url = Some(recordings_url.clone());
    cfg.recordings.s3.endpoint = Some(s3.endpoint.clone());
    cfg.data_dir = dirs[2].path().to_owned();
    let storage = Storage::from_config(&cfg).unwrap();
    let mut keys = s3.keys(&bucket, "hotline/").await;
    keys.sort();
    let mut referenced: Vec<String> = recordings
        .iter()
        .map(|r| format!("hotline/{}", r.local_path.as_deref().unwrap()))
        .collect();
    referenced.sort();
    referenced.dedup();
    assert_eq!(
        keys, referenced,
        "the bucket holds what reports reference, no more"
    );
    for r in &recordings {
        let key = r.local_path.as_deref().unwrap();
        assert_eq!(
            storage.checksum(key).await.unwrap().as_str(),
            r.sha256.as_deref().unwrap(),
            "{key} is whole"
        );
    }

    // An agent on server B plays every recording, seeking.
    let agent = db
        .store
        .create_agent(
            "ewa",
            &hotline::auth::hash_password("long enough pw").unwrap(),
            "agent",
            hotline::domain::now_ms(),
        )
        .await
        .unwrap();
    let (token, hash) = hotline::auth::new_token();
    db.store
        .create_api_token(agent.id, &hash, "test", hotline::domain::now_ms())
        .await
        .unwrap();
    let http = reqwest::Client::new();
    for r in &drafts {
        let resp = http
            .get(format!("{base_b}/api/v1/reports/{}/audio", r.number))
            .bearer_auth(&token)
            .header("range", "bytes=1000-1999")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 206, "{}", r.number);
        assert_eq!(resp.bytes().await.unwrap().len(), 1000);
    }

    // Decided, and past retention: the bucket is emptied.
    for r in &drafts {
        db.store
            .decide_report(
                r.id,
                r.version,
                &Decision::Confirm,
                "ewa",
                hotline::domain::now_ms(),
            )
            .await
            .unwrap();
    }
    let retention = hotline::retention::Retention {
        store: Arc::clone(&db.store),
        storage,
        audio_days: 30,
    };
    let later = hotline::domain::now_ms() + 31 * 24 * 3600 * 1000;
    assert_eq!(retention.sweep(later).await.unwrap(), 10);
    assert!(s3.keys(&bucket, "hotline/").await.is_empty());
}
