//! `hotline bench calls`: concurrent simulated callers through the whole
//! menu against a real `hotline serve` process on loopback (no transcription
//! worker, so only the webhook path is measured): latency per webhook
//! (p50/p99), error rate, throughput and the server's peak memory.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::AsyncBufReadExt;

use crate::simulator::{self, CallOptions};

pub struct CallsReport {
    pub calls: usize,
    pub concurrency: usize,
    pub failed: usize,
    pub webhooks: usize,
    pub wall: Duration,
    /// route → sorted latencies.
    pub latencies: BTreeMap<String, Vec<Duration>>,
    pub server_peak_rss: Option<u64>,
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Peak RSS of another process, in bytes (Linux).
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

pub async fn run(
    calls: usize,
    concurrency: usize,
    database_url: &str,
) -> anyhow::Result<CallsReport> {
    let dir = tempfile::tempdir()?;
    // Every caller leaves a 3 s recording (a tone: nothing transcribes it here).
    let wav_path = dir.path().join("caller.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wav_path, spec)?;
    for i in 0..24_000 {
        w.write_sample(((i as f32 * 0.35).sin() * 8000.0) as i16)?;
    }
    w.finalize()?;
    let wav = Some(wav_path);
    let exe = std::env::current_exe()?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("serve")
        .env("HOTLINE_LISTEN", "127.0.0.1:0")
        .env("HOTLINE_DATA_DIR", dir.path())
        .env("HOTLINE_WORKER_IN_SERVER", "false")
        .env("HOTLINE_TWILIO_ACCOUNT_SID", "ACbench")
        .env("HOTLINE_TWILIO_AUTH_TOKEN", "bench-token")
        .env("RUST_LOG", "error")
        .env("HOTLINE_DATABASE_URL", database_url)
        .env_remove("DATABASE_URL")
        .env_remove("HOTLINE_PUBLIC_URL")
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    let mut server = cmd.spawn().context("starting hotline serve")?;
    let pid = server.id().context("server pid")?;
    let stdout = server.stdout.take().context("server stdout")?;
    let line = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::io::BufReader::new(stdout).lines().next_line(),
    )
    .await
    .context("server did not start")??
    .context("server exited")?;
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .context("no address in the server's first line")?
        .to_owned();

    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..calls {
        let permit = Arc::clone(&permits).acquire_owned().await?;
        let opts = CallOptions {
            server: base.clone(),
            account_sid: "ACbench".into(),
            auth_token: "bench-token".into(),
            from: format!("+48600{:06}", i),
            to: "+48126165555".into(),
            // Language, then a category, sometimes through the submenu.
            keys: if i % 3 == 0 {
                vec![Some("1".into()), Some("5".into()), Some("2".into())]
            } else {
                vec![
                    Some(((i % 3) + 1).to_string()),
                    Some(((i % 4) + 1).to_string()),
                ]
            },
            interactive: false,
            wav: wav.clone(),
            empty_recordings: 0,
            hangup_after: None,
            wait: Duration::ZERO,
            quiet: true,
            retry_for: Duration::ZERO,
            keep_serving: false,
            dial_outcome: "no-answer".into(),
        };
        tasks.spawn(async move {
            let _permit = permit;
            simulator::call(opts).await
        });
    }
    let mut report = CallsReport {
        calls,
        concurrency,
        failed: 0,
        webhooks: 0,
        wall: Duration::ZERO,
        latencies: BTreeMap::new(),
        server_peak_rss: None,
    };
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(log)) => {
                report.webhooks += log.timings.len();
                for (route, t) in log.timings {
                    report.latencies.entry(route).or_default().push(t);
                }
            }
            _ => report.failed += 1,
        }
    }
    report.wall = started.elapsed();
    report.server_peak_rss = peak_rss(pid);
    for v in report.latencies.values_mut() {
        v.sort();
    }
    let _ = server.kill().await;
    Ok(report)
}

pub fn print(r: &CallsReport) {
    println!(
        "{} calls, {} at a time, {} webhooks in {:.2} s ({:.0} webhooks/s)",
        r.calls,
        r.concurrency,
        r.webhooks,
        r.wall.as_secs_f64(),
        r.webhooks as f64 / r.wall.as_secs_f64()
    );
    println!(
        "failed calls: {} ({:.2} %)",
        r.failed,
        r.failed as f64 * 100.0 / r.calls.max(1) as f64
    );
    println!(
        "{:<22} {:>7} {:>10} {:>10} {:>10}",
        "webhook", "count", "p50 ms", "p99 ms", "max ms"
    );
    for (route, v) in &r.latencies {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:<22} {:>7} {:>10.1} {:>10.1} {:>10.1}",
            route,
            v.len(),
            ms(percentile(v, 0.5)),
            ms(percentile(v, 0.99)),
            ms(*v.last().unwrap_or(&Duration::ZERO))
        );
    }
    if let Some(b) = r.server_peak_rss {
        println!("server peak RSS: {:.0} MB", b as f64 / 1e6);
    }
}

/// The baseline: a bare axum server answering a fixed TwiML document, hit
/// by the same number of concurrent clients sending the same number of form
/// POSTs. The difference to `run` is hotline's own cost (signature checks,
/// the IVR, the database).
pub async fn baseline(
    requests: usize,
    concurrency: usize,
) -> anyhow::Result<(Duration, Vec<Duration>)> {
    use axum::routing::post;
    const TWIML: &str =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say>ok</Say></Response>";
    let app = axum::Router::new().route("/twilio/voice", post(|_body: String| async { TWIML }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/twilio/voice", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let per_task = requests.div_ceil(concurrency.max(1));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..concurrency.max(1) {
        let (client, url) = (client.clone(), url.clone());
        tasks.spawn(async move {
            let mut times = Vec::with_capacity(per_task);
            for j in 0..per_task {
                let t = Instant::now();
                let form = [
                    ("CallSid", format!("CA{i:016}{j:016}")),
                    ("From", "+48600100200".into()),
                    ("Digits", "1".into()),
                ];
                if client
                    .post(&url)
                    .form(&form)
                    .send()
                    .await
                    .and_then(|r| r.error_for_status())
                    .is_ok()
                {
                    times.push(t.elapsed());
                }
            }
            times
        });
    }
    let mut all = Vec::new();
    while let Some(t) = tasks.join_next().await {
        all.extend(t?);
    }
    let wall = started.elapsed();
    server.abort();
    all.sort();
    Ok((wall, all))
}

pub fn print_baseline(wall: Duration, times: &[Duration]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "bare axum baseline: {} requests in {:.2} s ({:.0} requests/s), p50 {:.2} ms, p99 {:.2} ms",
        times.len(),
        wall.as_secs_f64(),
        times.len() as f64 / wall.as_secs_f64(),
        ms(percentile(times, 0.5)),
        ms(percentile(times, 0.99))
    );
}
