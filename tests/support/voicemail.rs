//! Voicemails assembled from the dev clips, as callers leave them: sentences
//! with pauses between them over a faint line hiss.
#![allow(dead_code)]

use super::signals::{mix, silence, white_noise};

/// A voicemail assembled from dev clips: the sentences with `pauses_s[i]`
/// of silence before sentence `i` (and the last value after the last one),
/// light line hiss over all of it. Returns the samples and each sentence's
/// spoken span in ms.
pub fn assemble(clips: &[&str], pauses_s: &[f32]) -> (Vec<f32>, Vec<(i64, i64)>) {
    let mut samples = Vec::new();
    let mut spans = Vec::new();
    for (i, clip) in clips.iter().enumerate() {
        samples.extend(silence(pauses_s[i]));
        let pcm = hotline::audio::decode_file(&super::speech(clip), &Default::default()).unwrap();
        let start = samples.len() as i64 / 16;
        samples.extend(&pcm.samples);
        spans.push((start, samples.len() as i64 / 16));
    }
    samples.extend(silence(pauses_s[clips.len()]));
    let hiss = white_noise(samples.len() as f32 / 16_000.0, 0.002, 77);
    (mix(&samples, &hiss), spans)
}

/// Three sentences 4 s apart, the middle one "Ile to kosztuje" (which
/// [`prompts_blocking`] can make a known hallucination); their spans in ms.
pub fn with_a_blocked_sentence() -> (Vec<f32>, Vec<(i64, i64)>) {
    assemble(
        &[
            "pl/pl_neon_001.wav",
            "pl/pl_neon_005.wav",
            "pl/pl_neon_002.wav",
        ],
        &[1.0, 4.0, 4.0, 1.0],
    )
}

/// A copy of the built-in prompts in which `phrase` is a known Polish
/// hallucination: a caller who says it has said something the guards reject.
pub fn prompts_blocking(phrase: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let builtin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
    copy_dir(&builtin, dir.path());
    let blocklist = dir.path().join("pl/hallucinations.txt");
    let mut lines = std::fs::read_to_string(&blocklist).unwrap();
    lines.push_str(&format!("\n{phrase}\n"));
    std::fs::write(&blocklist, lines).unwrap();
    dir
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
