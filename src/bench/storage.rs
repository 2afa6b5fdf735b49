//! `hotline bench storage`: 100 recordings fetched from a provider on
//! loopback, stored and served back, through the pipeline's own download
//! ([`crate::pipeline::download`]: streamed to a staging file, hashed,
//! uploaded) and the player's reads ([`Storage::size`] and a ranged read),
//! for a local directory and, given an endpoint, S3-compatible storage.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::routing::get;

use crate::config::Config;
use crate::pipeline::Pipeline;
use crate::storage::Storage;
use crate::store::{FetchStatus, Recording};

pub struct StorageReport {
    pub store: String,
    pub recordings: usize,
    pub bytes: u64,
    /// Per recording: download + hash + store.
    pub store_ms: Vec<f64>,
    /// Per recording: size + a ranged read of the whole object.
    pub serve_ms: Vec<f64>,
    pub store_secs: f64,
    pub serve_secs: f64,
}

/// The `q` quantile of `v` (sorted in place).
pub fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 - 1.0) * q).round() as usize)
        .copied()
        .unwrap_or(0.0)
}

/// Serves `n` different recordings (`/r/{i}.wav`) made from `wav` (each
/// with its own last sample, so each has its own hash); returns the base URL.
async fn provider(wav: Vec<u8>) -> anyhow::Result<String> {
    let wav = Arc::new(wav);
    let app = axum::Router::new().route(
        "/r/{file}",
        get(move |Path(file): Path<String>| {
            let wav = Arc::clone(&wav);
            async move {
                let i: u16 = file.trim_end_matches(".wav").parse().unwrap_or(0);
                let mut body = wav.as_ref().clone();
                let at = body.len().saturating_sub(2);
                body[at..].copy_from_slice(&i.to_le_bytes());
                ([("content-type", "audio/x-wav")], body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(base)
}

/// Runs the benchmark against `cfg`'s recordings store.
pub async fn run(cfg: Config, n: usize, wav: Vec<u8>) -> anyhow::Result<StorageReport> {
    let db = tempfile::tempdir()?;
    let store = crate::store::open(&format!(
        "sqlite://{}",
        db.path().join("bench.db").display()
    ))
    .await?;
    let pipeline = Pipeline::new(store, None, cfg)?;
    let base = provider(wav).await?;
    let mut store_ms = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    let mut bytes = 0u64;
    let started = Instant::now();
    for i in 0..n {
        let rec = Recording {
            id: i as i64,
            report_id: 0,
            recording_sid: format!("REbench{i}"),
            url: format!("{base}/r/{i}"),
            duration_secs: None,
            sha256: None,
            bytes: None,
            local_path: None,
            fetch_status: FetchStatus::Pending,
            fetch_error: None,
            created_at: 0,
            fetched_at: None,
        };
        let t = Instant::now();
        let stored = crate::pipeline::download(&pipeline, &rec)
            .await
            .map_err(|o| anyhow::anyhow!("recording {i}: {o:?}"))?;
        store_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        bytes += stored.bytes as u64;
        keys.push(stored.local_path);
    }
    let store_secs = started.elapsed().as_secs_f64();
    let storage: &Storage = &pipeline.storage;
    let mut serve_ms = Vec::with_capacity(n);
    let started = Instant::now();
    for key in &keys {
        use futures_util::StreamExt;
        let t = Instant::now();
        let size = storage.size(key).await?.unwrap_or(0);
        let mut stream = storage.range(key, 0..size).await?;
        let mut got = 0u64;
        while let Some(chunk) = stream.next().await {
            got += chunk?.len() as u64;
        }
        anyhow::ensure!(got == size, "{key}: read {got} of {size} bytes");
        serve_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let serve_secs = started.elapsed().as_secs_f64();
    for key in &keys {
        storage.delete(key).await?;
    }
    Ok(StorageReport {
        store: storage.describe.clone(),
        recordings: n,
        bytes,
        store_ms,
        serve_ms,
        store_secs,
        serve_secs,
    })
}

pub fn print(r: &mut StorageReport) {
    let mb = r.bytes as f64 / 1e6;
    println!("{}", r.store);
    println!(
        "  fetch + store: {} recordings ({mb:.1} MB) in {:.2} s: {:.0} recordings/s, {:.1} MB/s; per recording p50 {:.1} ms, p95 {:.1} ms",
        r.recordings,
        r.store_secs,
        r.recordings as f64 / r.store_secs.max(1e-9),
        mb / r.store_secs.max(1e-9),
        quantile(&mut r.store_ms, 0.5),
        quantile(&mut r.store_ms, 0.95),
    );
    println!(
        "  serve:         {} recordings in {:.2} s: {:.0} recordings/s, {:.1} MB/s; per recording p50 {:.1} ms, p95 {:.1} ms",
        r.recordings,
        r.serve_secs,
        r.recordings as f64 / r.serve_secs.max(1e-9),
        mb / r.serve_secs.max(1e-9),
        quantile(&mut r.serve_ms, 0.5),
        quantile(&mut r.serve_ms, 0.95),
    );
}

/// A minute of 8 kHz 16-bit mono PCM (960 kB, what a provider serves for
/// a one-minute message): a seeded, speech-band signal.
pub fn default_recording() -> anyhow::Result<Vec<u8>> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut out, spec)?;
    let mut rng = super::Rng::new(2026);
    for i in 0..8_000 * 60 {
        let t = f64::from(i) / 8_000.0;
        let v = 0.3 * (2.0 * std::f64::consts::PI * 220.0 * t).sin() + 0.05 * (rng.unit() - 0.5);
        w.write_sample((v * 32_767.0) as i16)?;
    }
    w.finalize()?;
    Ok(out.into_inner())
}

/// Timeout for the provider requests of the benchmark's pipeline.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
