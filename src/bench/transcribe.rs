//! `hotline bench transcribe`: per-language WER and CER on reference clips,
//! wall time, real-time factor and peak RSS; with `--peer`, faster-whisper
//! on the same CTranslate2 model and the same decoded audio, side by side.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};

use super::channel::{decode, Channel};
pub use super::channel::{Assembly, RefClip, Source};
use super::{char_errors, peak_rss_bytes, word_errors, Errors};
use crate::audio;
use crate::domain::Language;
use crate::engine::{Coverage, Engine, EngineConfig, LanguageChoice};

/// Which clips of the reference files a benchmark runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Set {
    /// Short clips (under 25 s) other than nEMO's: the dev set every
    /// earlier figure was measured on.
    #[default]
    Dev,
    /// nEMO's short clips of nine speakers in six emotions.
    Nemo,
    /// Voicemail-length recordings: files of 25 s or more (`pl_call_*`),
    /// and Ukrainian and English ones assembled from the dev clips with
    /// pauses.
    Long,
    /// All of them.
    All,
}

/// Recordings of at least this length are voicemails, not clips.
const LONG_MS: u64 = 25_000;

/// The clips of `set` among `clips` (loaded from reference files).
pub fn select(clips: Vec<RefClip>, set: Set) -> anyhow::Result<Vec<RefClip>> {
    let mut long = Vec::with_capacity(clips.len());
    for clip in &clips {
        long.push(match &clip.source {
            Source::File(path) => audio::duration_ms(path)
                .with_context(|| format!("reading {}", path.display()))?
                .is_some_and(|ms| ms >= LONG_MS),
            Source::Assembled(_) => true,
        });
    }
    let mut out = Vec::new();
    for (clip, &long) in clips.iter().zip(&long) {
        let keep = match set {
            Set::Dev => !long && !clip.is_nemo(),
            Set::Nemo => clip.is_nemo(),
            Set::Long => long,
            Set::All => true,
        };
        if keep {
            out.push(clip.clone());
        }
    }
    if matches!(set, Set::Long | Set::All) {
        let has_long: Vec<Language> = clips
            .iter()
            .zip(&long)
            .filter(|(_, &l)| l)
            .map(|(c, _)| c.language)
            .collect();
        out.extend(assembled_long(&clips, &has_long));
    }
    if out.is_empty() {
        bail!("no clips of the {set:?} set in the reference files");
    }
    Ok(out)
}

/// Two long recordings per language that has no long files of its own,
/// from its short non-nEMO clips (in order, then in another order), with
/// pauses of 0.4–2.5 s, one of 3–6 s, 0.5–1.5 s of silence at both ends
/// and line noise 40 dB down.
fn assembled_long(clips: &[RefClip], has_long: &[Language]) -> Vec<RefClip> {
    let mut out = Vec::new();
    for lang in Language::ALL {
        if has_long.contains(&lang) {
            continue;
        }
        let short: Vec<&RefClip> = clips
            .iter()
            .filter(|c| c.language == lang && !c.is_nemo())
            .filter(|c| matches!(c.source, Source::File(_)))
            .collect();
        if short.len() < 3 {
            continue;
        }
        let orders: [Vec<usize>; 2] = [
            (0..short.len()).collect(),
            (0..short.len())
                .map(|i| (i * 2 + 1) % short.len())
                .collect(),
        ];
        for (n, order) in orders.iter().enumerate() {
            let seed = 0x5eed_0000 + (lang as u64) * 16 + n as u64;
            let mut rng = super::Rng::new(seed);
            let mut between = |lo: f64, hi: f64| (lo + (hi - lo) * rng.unit()) as u32;
            let mut pauses_ms = vec![between(500.0, 1500.0)];
            let long_pause = order.len() / 2;
            for i in 1..order.len() {
                pauses_ms.push(if i == long_pause {
                    between(3000.0, 6000.0)
                } else {
                    between(400.0, 2500.0)
                });
            }
            pauses_ms.push(between(500.0, 1500.0));
            let parts: Vec<&RefClip> = order.iter().map(|&i| short[i]).collect();
            out.push(RefClip {
                name: format!("{}_long_{:03} (assembled)", lang.code(), n + 1),
                source: Source::Assembled(Assembly {
                    parts: parts
                        .iter()
                        .filter_map(|c| match &c.source {
                            Source::File(p) => Some(p.clone()),
                            Source::Assembled(_) => None,
                        })
                        .collect(),
                    pauses_ms,
                    noise_below_db: 40.0,
                    seed,
                }),
                reference: parts
                    .iter()
                    .map(|c| c.reference.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                language: lang,
            });
        }
    }
    out
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
            clips.push(RefClip::file(
                dir.join(name),
                reference.to_owned(),
                language,
            ));
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
    /// What hotline's engine did with the clip (absent for the peer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
    /// Pieces decoded (chunks and retries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pieces: Option<usize>,
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
        let mut r = result(clip, samples.len(), tr.text, secs);
        r.pieces = Some(tr.chunks.len());
        r.coverage = Some(tr.coverage);
        results.push(r);
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
        file: clip.name.clone(),
        language: clip.language,
        words: word_errors(&clip.reference, &hypothesis),
        chars: char_errors(&clip.reference, &hypothesis),
        reference: clip.reference.clone(),
        hypothesis,
        audio_secs: samples as f64 / 16_000.0,
        secs,
        coverage: None,
        pieces: None,
    }
}

/// Prints one report, or two side by side with ratios.
pub fn print(ours: &RunReport, peer: Option<&RunReport>, verbose: bool) {
    if verbose {
        for (i, c) in ours.clips.iter().enumerate() {
            println!(
                "{}  [{}] WER {:.2}  deleted {:.2}  {:.2}s",
                c.file,
                c.language,
                c.words.rate(),
                c.words.deletion_rate(),
                c.secs
            );
            println!("    ref:  {}", c.reference);
            println!("    ours: {}", c.hypothesis);
            if let (Some(cov), Some(pieces)) = (&c.coverage, c.pieces) {
                println!(
                    "          {pieces} piece(s) ({} decoded again), {} window(s), {} fallback(s), {:.1} s not decoded, {:.1} s unclear",
                    cov.retries,
                    cov.windows,
                    cov.fallbacks,
                    f64::from(cov.skipped_ms) / 1000.0,
                    f64::from(cov.unclear_ms) / 1000.0
                );
            }
            if let Some(p) = peer.and_then(|p| p.clips.get(i)) {
                println!(
                    "    peer: {}  (WER {:.2}, deleted {:.2}, {:.2}s)",
                    p.hypothesis,
                    p.words.rate(),
                    p.words.deletion_rate(),
                    p.secs
                );
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
        "{:<6} {:>5} {:>7} {:>7} {:>7} {:>9} {:>9} {:>9}",
        "lang", "clips", "WER", "del", "CER", "peer WER", "peer del", "peer CER"
    );
    for (lang, s) in &ours.per_language {
        let p = peer.and_then(|p| p.per_language.get(lang));
        let fmt = |e: Option<f64>| e.map(|e| format!("{e:.3}")).unwrap_or_else(|| "-".into());
        println!(
            "{:<6} {:>5} {:>7.3} {:>7.3} {:>7.3} {:>9} {:>9} {:>9}",
            lang.code(),
            s.clips,
            s.words.rate(),
            s.words.deletion_rate(),
            s.chars.rate(),
            fmt(p.map(|p| p.words.rate())),
            fmt(p.map(|p| p.words.deletion_rate())),
            fmt(p.map(|p| p.chars.rate()))
        );
    }
    let worst = |r: &RunReport| {
        r.clips
            .iter()
            .max_by(|a, b| a.words.deletion_rate().total_cmp(&b.words.deletion_rate()))
            .map(|c| format!("{:.2} ({})", c.words.deletion_rate(), c.file))
            .unwrap_or_default()
    };
    println!();
    println!("most words lost in one clip: {}", worst(ours));
    if let Some(p) = peer {
        println!("                      peer: {}", worst(p));
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
