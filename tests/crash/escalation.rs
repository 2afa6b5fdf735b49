//! An urgent call at night, end to end: a caller says "na klatce schodowej
//! ulatnia się gaz" (speech synthesised by espeak-ng, which
//! `scripts/bootstrap` installs; Whisper base hears its "czuć gaz" as
//! "czuj kasz"), the webhook server files it, a `hotline worker` process
//! transcribes it with the real model and is killed with SIGKILL in the
//! middle, a second worker finishes; the on-call officer gets exactly one
//! e-mail through a real SMTP server that refuses the first attempt, and
//! city systems exactly one `report.urgent`. An ordinary call in the same
//! night sends nothing. Both backends.

use crate::both_backends;
use crate::support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hotline::config::{Config, Secret};
use hotline::jobs::kinds::Transcribe;
use hotline::jobs::BackgroundJob;
use hotline::simulator::{self, CallOptions};
use support::db::TestDb;
use support::hooks;
use support::smtp::SmtpServer;

const ACCOUNT: &str = "ACurgent";
const TOKEN: &str = "urgent-token";
/// A Saturday night: outside staffed hours, when urgent reports go out.
const NIGHT: &str = "2026-12-05T23:10:00+01:00";

/// `text` spoken in Polish by espeak-ng, as a WAV file in `dir`.
fn synthesise(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let status = Command::new("espeak-ng")
        .args(["-v", "pl", "-s", "140", "-w"])
        .arg(&path)
        .arg(text)
        .status()
        .expect("espeak-ng (scripts/bootstrap installs it)");
    assert!(status.success());
    path
}

fn spawn_worker(db: &TestDb, smtp: &SmtpServer, hook: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hotline"))
        .arg("worker")
        .env_remove("DATABASE_URL")
        .env("HOTLINE_DATABASE_URL", &db.url)
        .env("HOTLINE_DATA_DIR", db.dir.path())
        .env("HOTLINE_TWILIO_ACCOUNT_SID", ACCOUNT)
        .env("HOTLINE_TWILIO_AUTH_TOKEN", TOKEN)
        .env("HOTLINE_LEASE_SECS", "2")
        .env("HOTLINE_POLL_MS", "50")
        .env("HOTLINE_CLOCK_START", NIGHT)
        .env("HOTLINE_SMTP_URL", smtp.url())
        .env("HOTLINE_SMTP_FROM", "hotline KCK <hotline@kck.example>")
        .env("HOTLINE_ONCALL_EMAIL", "dyzurny@czk.example")
        .env("HOTLINE_WEBHOOK_URL", hook)
        .env("HOTLINE_WEBHOOK_SECRET", hooks::SECRET)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

async fn transcriptions(db: &TestDb, status: &str) -> i64 {
    db.store
        .job_counts()
        .await
        .unwrap()
        .into_iter()
        .filter(|(k, s, _)| k == Transcribe::NAME && s == status)
        .map(|(_, _, n)| n)
        .sum()
}

async fn wait_until(what: &str, timeout: Duration, mut done: impl AsyncFnMut() -> bool) {
    let t = Instant::now();
    while !done().await {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn an_urgent_call_at_night_reaches_the_oncall_officer_once(db: TestDb) {
    let _one_at_a_time = crate::EXCLUSIVE.lock().await;
    let smtp = SmtpServer::start(1);
    let (hook, got) = hooks::receiver().await;
    let mut cfg = Config {
        data_dir: db.dir.path().to_owned(),
        ..Default::default()
    };
    cfg.telephony.account_sid = ACCOUNT.into();
    cfg.telephony.auth_token = Secret::new(TOKEN);
    let base = support::serve(cfg, db.store.clone()).await;

    let speech = tempfile::tempdir().unwrap();
    let calls = [
        (
            synthesise(
                speech.path(),
                "gas.wav",
                "Dzień dobry, dzwonię z ulicy Długiej. Na klatce schodowej ulatnia się gaz, bardzo mocno śmierdzi gazem.",
            ),
            // Polish, "more" (5), "other matters" (3): no 24/7 service offered.
            ["1", "5", "3"],
        ),
        (
            synthesise(
                speech.path(),
                "lamp.wav",
                "Dzień dobry. Na ulicy Krótkiej od tygodnia nie świeci latarnia.",
            ),
            ["1", "2", "-"],
        ),
    ];
    // The calls keep serving their recordings while the workers fetch them.
    let mut running = Vec::new();
    for (n, (wav, keys)) in calls.iter().enumerate() {
        let opts = CallOptions {
            server: base.clone(),
            account_sid: ACCOUNT.into(),
            auth_token: TOKEN.into(),
            from: format!("+4860010020{n}"),
            to: "+48126165555".into(),
            keys: keys
                .iter()
                .map(|k| (*k != "-").then(|| (*k).to_owned()))
                .collect(),
            interactive: false,
            wav: Some(wav.clone()),
            empty_recordings: 0,
            hangup_after: None,
            wait: Duration::from_secs(240),
            quiet: true,
            retry_for: Duration::ZERO,
            keep_serving: false,
            dial_outcome: "no-answer".into(),
        };
        running.push(tokio::spawn(simulator::call(opts)));
    }
    wait_until(
        "both recordings announced",
        Duration::from_secs(30),
        async || {
            db.store
                .job_counts()
                .await
                .unwrap()
                .iter()
                .any(|(k, _, n)| k == "fetch_recording" && *n == 2)
        },
    )
    .await;
    let recorded = Instant::now();

    // The first worker dies in the middle of a transcription.
    let mut first = spawn_worker(&db, &smtp, &hook);
    wait_until(
        "a transcription running",
        Duration::from_secs(120),
        async || transcriptions(&db, "running").await > 0,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.kill().unwrap();
    first.wait().unwrap();

    let mut second = spawn_worker(&db, &smtp, &hook);
    smtp.wait_for(1, Duration::from_secs(300)).await;
    println!(
        "recording callback to the e-mail's arrival: {:.1} s (a worker killed, one refusal retried)",
        recorded.elapsed().as_secs_f64()
    );
    wait_until(
        "both transcriptions done",
        Duration::from_secs(300),
        async || transcriptions(&db, "done").await == 2,
    )
    .await;
    // Time for anything that would go out twice.
    tokio::time::sleep(Duration::from_secs(8)).await;
    second.kill().unwrap();
    second.wait().unwrap();
    for call in running {
        call.abort();
    }

    let mails = smtp.mails();
    assert_eq!(
        mails.len(),
        1,
        "exactly one e-mail: {mails:#?}; jobs {:?}; reports {:#?}",
        db.store.job_counts().await.unwrap(),
        support::reports(&db.store).await
    );
    let reports = support::reports(&db.store).await;
    let gas = reports
        .iter()
        .find(|r| r.category_code() == "other")
        .expect("the gas report");
    assert!(
        gas.text
            .as_deref()
            .unwrap_or("")
            .to_lowercase()
            .contains("gaz"),
        "{gas:?}"
    );
    assert_eq!(
        gas.urgent_reason.as_deref(),
        Some("ulatnia się gaz"),
        "{gas:?}"
    );
    let lamp = reports
        .iter()
        .find(|r| r.category_code() == "lighting")
        .unwrap();
    assert!(lamp.urgent_reason.is_none(), "{lamp:?}");
    assert!(mails[0].subject().contains(gas.number.as_str()));
    assert_eq!(mails[0].to, ["dyzurny@czk.example"]);
    let urgent = hooks::events(&got, "report.urgent");
    assert_eq!(urgent.len(), 1, "exactly one report.urgent: {urgent:?}");
    assert_eq!(urgent[0]["report"]["number"], gas.number.as_str());
}

both_backends!(an_urgent_call_at_night_reaches_the_oncall_officer_once);
