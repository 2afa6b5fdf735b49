//! The peer in `bench transcribe --peer`: faster-whisper (CTranslate2,
//! int8, beam 5, 2 CPU threads, language forced) on the same CTranslate2
//! model hotline converts, fed the same decoded 16 kHz audio.
//!
//! faster-whisper is installed from PyPI into a virtualenv in hotline's
//! cache the first time (unless the system Python already has it).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use super::channel::Channel;
use super::transcribe::{result, RefClip, RunReport};
use crate::model::{cache_dir, fetch};

const SCRIPT: &str = include_str!("peer.py");
const PACKAGE: &str = "faster-whisper==1.2.1";

/// A Python that can `import faster_whisper`.
fn python() -> anyhow::Result<PathBuf> {
    let system =
        PathBuf::from(std::env::var("HOTLINE_PYTHON").unwrap_or_else(|_| "python3".into()));
    let venv = cache_dir().join("peer-venv");
    let venv_python = venv.join("bin/python");
    for candidate in [&venv_python, &system] {
        let ok = Command::new(candidate)
            .args(["-c", "import faster_whisper"])
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return Ok(candidate.clone());
        }
    }
    eprintln!(
        "Installing {PACKAGE} into {} (first --peer run only)…",
        venv.display()
    );
    let status = Command::new(&system)
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .context("creating a virtualenv")?;
    if !status.success() {
        bail!("python3 -m venv failed (install python3-venv)");
    }
    let status = Command::new(&venv_python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            PACKAGE,
        ])
        .status()
        .context("pip install faster-whisper")?;
    if !status.success() {
        bail!("pip install {PACKAGE} failed");
    }
    Ok(venv_python)
}

pub fn run(
    model: &str,
    threads: usize,
    clips: &[RefClip],
    channel: Channel,
) -> anyhow::Result<RunReport> {
    let ct2_dir = fetch::ct2_export(model)?;
    let python = python()?;
    let tmp = tempfile::tempdir().context("temporary directory")?;
    let mut job_clips = Vec::new();
    let mut lengths = Vec::with_capacity(clips.len());
    for (i, clip) in clips.iter().enumerate() {
        let samples = super::channel::decode(clip, channel)?;
        lengths.push(samples.len());
        let raw = tmp.path().join(format!("{i}.f32"));
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        std::fs::write(&raw, bytes)?;
        job_clips.push(serde_json::json!({"raw": raw, "language": clip.language.code()}));
    }
    let job =
        serde_json::json!({"model": ct2_dir, "threads": threads, "beam": 5, "clips": job_clips});
    let script = tmp.path().join("peer.py");
    std::fs::write(&script, SCRIPT)?;
    let mut child = Command::new(&python)
        .arg(&script)
        // Everything is local: never let the tokenizer reach for a model hub.
        .env("HF_HUB_OFFLINE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting faster-whisper")?;
    child
        .stdin
        .take()
        .context("peer stdin")?
        .write_all(job.to_string().as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("faster-whisper peer failed ({})", out.status);
    }
    #[derive(serde::Deserialize)]
    struct PeerClip {
        text: String,
        secs: f64,
    }
    #[derive(serde::Deserialize)]
    struct PeerOut {
        load_secs: f64,
        clips: Vec<PeerClip>,
        wall_secs: f64,
        peak_rss_bytes: u64,
    }
    let parsed: PeerOut =
        serde_json::from_slice(&out.stdout).context("parsing the peer's output")?;
    let results = clips
        .iter()
        .zip(lengths)
        .zip(parsed.clips)
        .map(|((clip, samples), p)| result(clip, samples, p.text, p.secs))
        .collect();
    Ok(RunReport::from_clips(
        format!("faster-whisper 1.2.1 (CTranslate2 {model}, int8, beam 5, {threads} threads)"),
        results,
        parsed.load_secs,
        parsed.wall_secs,
        Some(parsed.peak_rss_bytes),
    ))
}
