//! The README's quick start, with real processes: `hotline serve` on the
//! embedded defaults (SQLite, in-server worker, the real model), a call
//! placed with `hotline call`, the draft seen in `hotline reports list`, and
//! a graceful shutdown on SIGTERM.

use crate::support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One server with the model at a time: ggml's threads spin, two crawl.
static EXCLUSIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn hotline(data: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hotline"));
    c.env("HOTLINE_DATA_DIR", data)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("HOTLINE_DATABASE_URL");
    c
}

#[test]
fn serve_call_and_list() {
    let _one_at_a_time = EXCLUSIVE.blocking_lock();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = hotline(&data)
        .arg("serve")
        .env("HOTLINE_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();

    let wav = support::speech("pl/pl_neon_005.wav");
    let call = hotline(&data)
        .args(["call", "--server", &url, "--digits", "1,2", "--wav"])
        .arg(&wav)
        .output()
        .unwrap();
    let heard = String::from_utf8_lossy(&call.stdout);
    assert!(
        call.status.success(),
        "{heard}\n{}",
        String::from_utf8_lossy(&call.stderr)
    );
    assert!(
        heard.contains("Oświetlenie uliczne") && heard.contains("Dziękujemy"),
        "{heard}"
    );

    let t = Instant::now();
    let report = loop {
        let out = hotline(&data)
            .args(["reports", "list", "--format", "json"])
            .output()
            .unwrap();
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let r = list[0].clone();
        if r["status"] == "draft" {
            break r;
        }
        assert!(
            t.elapsed() < Duration::from_secs(90),
            "no draft in time: {list}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(report["category"], "lighting");
    let text = hotline::prompts::normalize(report["text"].as_str().unwrap());
    assert_eq!(text, "ile to kosztuje");
    let number = report["number"].as_str().unwrap();
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let spoken: String = digits
        .chars()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    assert!(
        heard.contains(&spoken),
        "the caller heard {number} read back"
    );

    let show = hotline(&data)
        .args(["reports", "show", number])
        .output()
        .unwrap();
    let show = String::from_utf8_lossy(&show.stdout);
    assert!(
        show.contains("transcribed") && show.contains("+48600100200"),
        "{show}"
    );

    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let t = Instant::now();
    loop {
        if let Some(status) = server.try_wait().unwrap() {
            assert!(
                status.success(),
                "graceful shutdown exits cleanly: {status}"
            );
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A provider that records MP3 in two channels (Telnyx's default): the
/// caller on one side, the prompts' beep on the other, served at the
/// `.wav` URL all the same. It becomes a draft with the caller's words,
/// stored under an `.mp3` key.
#[test]
fn a_dual_channel_mp3_recording_becomes_a_draft() {
    let _one_at_a_time = EXCLUSIVE.blocking_lock();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let speech =
        hotline::audio::decode_file(&support::speech("pl/pl_neon_005.wav"), &Default::default())
            .unwrap()
            .samples;
    let mut beep: Vec<f32> = (0..8_000)
        .map(|i| 0.4 * (i as f32 * 2.0 * std::f32::consts::PI * 1_000.0 / 16_000.0).sin())
        .collect();
    beep.resize(speech.len(), 0.0);
    let wav = support::wav::pcm16_channels(16_000, &[&beep, &speech]);
    let mp3 = tmp.path().join("call.mp3");
    std::fs::write(&mp3, support::wav::mp3(&wav, &["-m", "s", "-b", "64"])).unwrap();

    let mut server = hotline(&data)
        .arg("serve")
        .env("HOTLINE_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();
    let call = hotline(&data)
        .args(["call", "--server", &url, "--digits", "1,2", "--wav"])
        .arg(&mp3)
        .output()
        .unwrap();
    assert!(
        call.status.success(),
        "{}",
        String::from_utf8_lossy(&call.stderr)
    );
    let t = Instant::now();
    let report = loop {
        let out = hotline(&data)
            .args(["reports", "list", "--format", "json"])
            .output()
            .unwrap();
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if list[0]["status"] == "draft" {
            break list[0].clone();
        }
        assert!(
            t.elapsed() < Duration::from_secs(90),
            "no draft in time: {list}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    let text = hotline::prompts::normalize(report["text"].as_str().unwrap());
    assert_eq!(text, "ile to kosztuje");
    let show = hotline(&data)
        .args(["reports", "show", report["number"].as_str().unwrap()])
        .output()
        .unwrap();
    let show = String::from_utf8_lossy(&show.stdout);
    assert!(show.contains(".mp3"), "stored as MP3: {show}");
    let _ = server.kill();
    let _ = server.wait();
}

/// SIGTERM in the middle of a transcription: the server stops accepting,
/// the running job finishes (or is handed back), and nothing stays leased.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_leaves_no_job_stuck() {
    let _one_at_a_time = EXCLUSIVE.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = hotline(&data)
        .arg("serve")
        .env("HOTLINE_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();
    // 40 s of speech: a transcription that takes a while.
    let jfk =
        hotline::audio::decode_file(&support::speech("en/en_jfk_001.wav"), &Default::default())
            .unwrap();
    let long: Vec<f32> = jfk
        .samples
        .iter()
        .copied()
        .cycle()
        .take(16_000 * 40)
        .collect();
    let wav = tmp.path().join("long.wav");
    std::fs::write(&wav, support::wav::pcm16(16_000, &long)).unwrap();
    let call = hotline(&data)
        .args(["call", "--server", &url, "--digits", "3,1", "--wav"])
        .arg(&wav)
        .output()
        .unwrap();
    assert!(
        call.status.success(),
        "{}",
        String::from_utf8_lossy(&call.stderr)
    );

    let store = hotline::store::open(&format!("sqlite://{}", data.join("hotline.db").display()))
        .await
        .unwrap();
    let running = |counts: &[(String, String, i64)]| {
        counts
            .iter()
            .any(|(k, s, _)| k == "transcribe" && s == "running")
    };
    let t = Instant::now();
    while !running(&store.job_counts().await.unwrap()) {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "transcription never started: {:?}",
            store.job_counts().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap()
        .success());
    let t = Instant::now();
    let status = loop {
        if let Some(s) = server.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "server did not stop");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status}");
    let counts = store.job_counts().await.unwrap();
    assert!(
        !counts.iter().any(|(_, s, _)| s == "running"),
        "a job was left leased: {counts:?}"
    );
    let reports = support::reports(&store).await;
    assert!(
        matches!(reports[0].status.as_str(), "draft" | "awaiting_transcript"),
        "{}",
        reports[0].status
    );
}

#[test]
fn a_setting_out_of_range_stops_serve_with_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    for (key, value, named) in [
        ("HOTLINE_LEXICON_PENALTY", "-1", "model.lexicon_penalty"),
        (
            "HOTLINE_LEXICON_PENALTY",
            "strong",
            "HOTLINE_LEXICON_PENALTY",
        ),
        ("HOTLINE_BEAM", "9", "model.beam"),
    ] {
        let out = hotline(&tmp.path().join("data"))
            .arg("serve")
            .env("HOTLINE_LISTEN", "127.0.0.1:0")
            .env(key, value)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{key}={value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(named), "{key}={value}: {err}");
    }
}
