//! `hotline bench transcribe`: per-language WER and CER on reference clips,
//! wall time, real-time factor and peak RSS; with `--peer`, faster-whisper
//! on the same CTranslate2 model and the same decoded audio, side by side.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};

use super::{char_errors, peak_rss_bytes, word_errors, Errors};
use crate::audio::{self, DecodeOptions};
use crate::domain::Language;
use crate::engine::{Engine, EngineConfig, LanguageChoice};

/// One reference clip.
#[derive(Debug, Clone)]
pub struct RefClip {
    pub path: PathBuf,
    pub reference: String,
    pub language: Language,
}

/// Reference files found by default: `$HOTLINE_SPEECH_DIR/*/refs.tsv`, else
/// `../shared/speech/*/refs.tsv` (the dev set next to the checkout).
pub fn default_refs() -> Vec<PathBuf> {
    let root = std::env::var_os("HOTLINE_SPEECH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/speech"));
    Language::ALL
        .iter()
        .map(|l| root.join(l.code()).join("refs.tsv"))
        .filter(|p| p.exists())
        .collect()
}

/// Reads `file<TAB>reference[<TAB>…]` rows (a header row starting with
/// `file` is skipped). The language is the folder's name (`pl/refs.tsv`) or
/// the clip name's prefix (`pl_art_001.wav`).
pub fn load_refs(files: &[PathBuf]) -> anyhow::Result<Vec<RefClip>> {
    let mut clips = Vec::new();
    for file in files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let dir = file.parent().unwrap_or(Path::new("."));
        let dir_lang = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<Language>().ok());
        for (i, line) in text.lines().enumerate() {
            let mut cols = line.split('\t');
            let (Some(name), Some(reference)) = (cols.next(), cols.next()) else {
                continue;
            };
            if i == 0 && name == "file" {
                continue;
            }
            let language = dir_lang
                .or_else(|| name.split(['_', '-']).next().and_then(|p| p.parse().ok()))
                .with_context(|| {
                    format!(
                        "{}:{}: cannot tell the language of {name}",
                        file.display(),
                        i + 1
                    )
                })?;
            clips.push(RefClip {
                path: dir.join(name),
                reference: reference.to_owned(),
                language,
            });
        }
    }
    if clips.is_empty() {
        bail!("no reference clips found (give --refs FILE.tsv)");
    }
    Ok(clips)
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ClipResult {
    pub file: String,
    pub language: Language,
    pub reference: String,
    pub hypothesis: String,
    pub words: Errors,
    pub chars: Errors,
    pub audio_secs: f64,
    pub secs: f64,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LangScore {
    pub clips: usize,
    pub words: Errors,
    pub chars: Errors,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RunReport {
    pub system: String,
    pub clips: Vec<ClipResult>,
    pub per_language: BTreeMap<Language, LangScore>,
    pub load_secs: f64,
    pub wall_secs: f64,
    pub audio_secs: f64,
    pub peak_rss_bytes: Option<u64>,
}

impl RunReport {
    pub fn rtf(&self) -> f64 {
        self.wall_secs / self.audio_secs.max(1e-9)
    }

    pub fn from_clips(
        system: String,
        clips: Vec<ClipResult>,
        load_secs: f64,
        wall_secs: f64,
        peak_rss_bytes: Option<u64>,
    ) -> Self {
        let mut per_language: BTreeMap<Language, LangScore> = BTreeMap::new();
        for c in &clips {
            let s = per_language.entry(c.language).or_default();
            s.clips += 1;
            s.words += c.words;
            s.chars += c.chars;
        }
        let audio_secs = clips.iter().map(|c| c.audio_secs).sum();
        Self {
            system,
            clips,
            per_language,
            load_secs,
            wall_secs,
            audio_secs,
            peak_rss_bytes,
        }
    }
}

/// What the clips pass through before they are transcribed (nothing by
/// default).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Channel {
    /// White noise at this signal-to-noise ratio (dB, over the whole clip),
    /// added first, as street noise around a caller would be.
    pub noise_snr_db: Option<f32>,
    /// Then a telephone line: 8 kHz, G.711 μ-law, back to 16 kHz, as a
    /// caller's recording reaches the engine.
    pub phone: bool,
}

/// A clip as 16 kHz mono (the decoder and the noise are deterministic, so
/// both systems and every run get identical input; clips are decoded one
/// at a time, as in production).
pub fn decode(clip: &RefClip, channel: Channel) -> anyhow::Result<Vec<f32>> {
    let mut samples = audio::decode_file(&clip.path, &DecodeOptions::default())
        .map(|p| p.samples)
        .with_context(|| format!("decoding {}", clip.path.display()))?;
    if let Some(snr_db) = channel.noise_snr_db {
        let name = clip.path.file_name().unwrap_or_default();
        add_white_noise(&mut samples, snr_db, seed_of(name.as_encoded_bytes()));
    }
    if channel.phone {
        samples = through_phone_line(&samples)
            .with_context(|| format!("phone line for {}", clip.path.display()))?;
    }
    Ok(samples)
}

/// FNV-1a: a clip's noise depends on its file name only.
fn seed_of(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Mean of the squared samples.
fn mean_power(samples: &[f32]) -> f64 {
    samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len().max(1) as f64
}

/// Adds Gaussian white noise `snr_db` below the samples' mean power (the
/// same noise for the same `seed`), keeping the result within full scale.
pub fn add_white_noise(samples: &mut [f32], snr_db: f32, seed: u64) {
    if samples.is_empty() {
        return;
    }
    let sd = (mean_power(samples) / 10f64.powf(f64::from(snr_db) / 10.0)).sqrt();
    // Box-Muller (u is never 0, so ln(u) is finite)
    let mut rng = super::Rng::new(seed);
    for s in samples.iter_mut() {
        let (u, v) = (rng.unit(), rng.unit());
        let gauss = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
        *s = (f64::from(*s) + sd * gauss).clamp(-1.0, 1.0) as f32;
    }
}

/// 16 kHz samples through an 8 kHz μ-law telephone channel and back
/// (band-limited both ways by the resampler).
pub fn through_phone_line(samples: &[f32]) -> anyhow::Result<Vec<f32>> {
    use audio::g711::{linear_to_ulaw, ulaw_to_linear};
    let rate = audio::WHISPER_RATE;
    let narrow = audio::resample::resample(samples, rate, 8_000)?;
    let coded: Vec<f32> = narrow
        .iter()
        .map(|&s| {
            let linear = (s * 32768.0).clamp(-32768.0, 32767.0) as i16;
            f32::from(ulaw_to_linear(linear_to_ulaw(linear))) / 32768.0
        })
        .collect();
    Ok(audio::resample::resample(&coded, 8_000, rate)?)
}

/// Runs hotline's engine over the clips, one at a time (as in production).
pub async fn run_hotline(
    cfg: EngineConfig,
    clips: &[RefClip],
    channel: Channel,
) -> anyhow::Result<RunReport> {
    let t = Instant::now();
    let engine = Arc::new(tokio::task::spawn_blocking(move || Engine::load(cfg)).await??);
    let load_secs = t.elapsed().as_secs_f64();
    let system = format!(
        "hotline ({}, {:?}, {:?}, {}, lexicon {})",
        engine.model_id(),
        engine.config().search,
        engine.config().audio_ctx,
        crate::engine::kernels::matrix_kernels(),
        engine.lexicon_summary()
    );
    let mut results = Vec::new();
    let mut wall = 0.0;
    for clip in clips {
        let samples = Arc::new(decode(clip, channel)?);
        let t = Instant::now();
        let tr = engine
            .transcribe(Arc::clone(&samples), LanguageChoice::Forced(clip.language))
            .await?;
        let secs = t.elapsed().as_secs_f64();
        wall += secs;
        results.push(result(clip, samples.len(), tr.text, secs));
    }
    Ok(RunReport::from_clips(
        system,
        results,
        load_secs,
        wall,
        peak_rss_bytes(),
    ))
}

pub fn result(clip: &RefClip, samples: usize, hypothesis: String, secs: f64) -> ClipResult {
    ClipResult {
        file: clip
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        language: clip.language,
        words: word_errors(&clip.reference, &hypothesis),
        chars: char_errors(&clip.reference, &hypothesis),
        reference: clip.reference.clone(),
        hypothesis,
        audio_secs: samples as f64 / 16_000.0,
        secs,
    }
}

/// Prints one report, or two side by side with ratios.
pub fn print(ours: &RunReport, peer: Option<&RunReport>, verbose: bool) {
    if verbose {
        for (i, c) in ours.clips.iter().enumerate() {
            println!(
                "{}  [{}] WER {:.2}  {:.2}s",
                c.file,
                c.language,
                c.words.rate(),
                c.secs
            );
            println!("    ref:  {}", c.reference);
            println!("    ours: {}", c.hypothesis);
            if let Some(p) = peer.and_then(|p| p.clips.get(i)) {
                println!("    peer: {}  (WER {:.2})", p.hypothesis, p.words.rate());
            }
        }
        println!();
    }
    let mb = |b: Option<u64>| {
        b.map(|b| format!("{:.0} MB", b as f64 / 1e6))
            .unwrap_or_else(|| "?".into())
    };
    println!("system: {}", ours.system);
    if let Some(p) = peer {
        println!("peer:   {}", p.system);
    }
    println!();
    println!(
        "{:<6} {:>5} {:>8} {:>8} {:>10} {:>10}",
        "lang", "clips", "WER", "CER", "peer WER", "peer CER"
    );
    for (lang, s) in &ours.per_language {
        let p = peer.and_then(|p| p.per_language.get(lang));
        let fmt = |e: Option<Errors>| {
            e.map(|e| format!("{:.3}", e.rate()))
                .unwrap_or_else(|| "-".into())
        };
        println!(
            "{:<6} {:>5} {:>8.3} {:>8.3} {:>10} {:>10}",
            lang.code(),
            s.clips,
            s.words.rate(),
            s.chars.rate(),
            fmt(p.map(|p| p.words)),
            fmt(p.map(|p| p.chars))
        );
    }
    println!();
    println!("{:<22} {:>12} {:>12} {:>8}", "", "hotline", "peer", "ratio");
    let row = |name: &str, a: f64, b: Option<f64>, unit: &str| match b {
        Some(b) => println!(
            "{:<22} {:>10.2}{unit} {:>10.2}{unit} {:>8.2}",
            name,
            a,
            b,
            a / b.max(1e-9)
        ),
        None => println!("{:<22} {:>10.2}{unit}", name, a),
    };
    row(
        "wall time (s)",
        ours.wall_secs,
        peer.map(|p| p.wall_secs),
        "  ",
    );
    row("real-time factor", ours.rtf(), peer.map(|p| p.rtf()), "  ");
    row(
        "model load (s)",
        ours.load_secs,
        peer.map(|p| p.load_secs),
        "  ",
    );
    println!(
        "{:<22} {:>12} {:>12}",
        "peak RSS",
        mb(ours.peak_rss_bytes),
        peer.map(|p| mb(p.peak_rss_bytes)).unwrap_or_default()
    );
    println!(
        "audio: {:.1} s in {} clips",
        ours.audio_secs,
        ours.clips.len()
    );
}

#[cfg(test)]
mod tests {
    use super::{add_white_noise, mean_power as power};

    #[test]
    fn white_noise_lands_at_the_asked_ratio_and_repeats_with_its_seed() {
        let tone: Vec<f32> = (0..16_000)
            .map(|i| 0.3 * (i as f32 * 0.0785).sin())
            .collect();
        for snr in [0.0f32, 15.0, 30.0] {
            let mut noisy = tone.clone();
            add_white_noise(&mut noisy, snr, 7);
            let noise: Vec<f32> = noisy.iter().zip(&tone).map(|(a, b)| a - b).collect();
            let got = 10.0 * (power(&tone) / power(&noise)).log10();
            assert!(
                (got - f64::from(snr)).abs() < 0.2,
                "asked {snr} dB, got {got:.2}"
            );
            let mut again = tone.clone();
            add_white_noise(&mut again, snr, 7);
            assert_eq!(noisy, again);
            let mut other = tone.clone();
            add_white_noise(&mut other, snr, 8);
            assert_ne!(noisy, other);
        }
        // Silence stays silent, and nothing leaves full scale.
        let mut quiet = vec![0.0f32; 100];
        add_white_noise(&mut quiet, 10.0, 1);
        assert!(quiet.iter().all(|&s| s == 0.0));
        let mut loud = vec![0.99f32; 1000];
        add_white_noise(&mut loud, -10.0, 1);
        assert!(loud.iter().all(|s| (-1.0..=1.0).contains(s)));
    }
}
