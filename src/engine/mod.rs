//! The transcription engine: one shared whisper.cpp context, a bounded pool
//! of decoding states, and the guards that keep invented text out of
//! reports.
//!
//! Whisper runs on blocking threads (never on the async runtime), at most
//! `workers` clips at a time, each with `threads` CPU threads. Before Whisper
//! runs, the speech [`gate`] rejects silence, noise and tones and finds the
//! speech; a recording is decoded in [`chunks`] cut at its pauses
//! ([`longform`]), each judged by the [`guard`]s; speech that yields no
//! text is listed as unclear, with its time span and reason.

pub mod chunks;
mod decode;
pub mod gate;
pub mod guard;
pub mod kernels;
pub mod lexicon;
pub mod load;
mod longform;
mod transcript;

pub use transcript::{
    ChunkReport, Coverage, Dropped, PieceKind, Segment, Timings, Transcript, Unclear,
};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Semaphore;
use tracing::{debug, Instrument};
use whisper_rs::{WhisperContext, WhisperContextParameters, WhisperState};

use crate::domain::Language;
use crate::prompts::WhisperPrompts;
use chunks::ChunkConfig;
use gate::{Gate, GateConfig, GateReport};
pub use guard::{collapse_repeats, is_loop};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("model file {0} not found: run `hotline model fetch` first")]
    ModelMissing(PathBuf),
    #[error("whisper.cpp could not load {path}: {reason}")]
    Load { path: PathBuf, reason: String },
    #[error("whisper.cpp failed: {0}")]
    Whisper(String),
    #[error("transcription task failed: {0}")]
    Task(String),
}

/// The widest beam whisper.cpp runs (`WHISPER_MAX_DECODERS`).
pub const MAX_BEAM: u8 = 8;

/// How the decoder searches.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Search {
    Greedy,
    Beam(u8),
}

/// How much of Whisper's 30 s encoder window to use.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AudioCtx {
    /// Always the full 30 s window (1500 positions).
    #[default]
    Full,
    /// The clip plus this much, in ms (clips near 30 s use the full window).
    Fit { margin_ms: u32 },
}

/// Whisper's own hallucination thresholds.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Thresholds {
    pub no_speech: f32,
    pub logprob: f32,
    pub entropy: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            no_speech: 0.6,
            logprob: -1.0,
            entropy: 2.4,
        }
    }
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub model: PathBuf,
    /// CPU threads per transcription.
    pub threads: usize,
    /// Pieces of one recording decoded at a time, each on its own
    /// whisper.cpp state with `threads / lanes` threads (at most `threads`;
    /// 1: one piece at a time on all threads; 0: decided per recording by
    /// how busy the cores are, see [`longform`]).
    pub lanes: usize,
    /// Transcriptions at a time (states in the pool).
    pub workers: usize,
    /// Languages auto-detection may choose from.
    pub languages: Vec<Language>,
    pub search: Search,
    pub audio_ctx: AudioCtx,
    /// Bias decoding with the per-language initial prompt.
    pub use_prompt: bool,
    /// Retry with higher temperatures when decoding fails the thresholds.
    pub temperature_fallback: bool,
    /// Predict segment timestamps (off: one segment per 30 s window).
    pub timestamps: bool,
    /// whisper.cpp's flash attention (less memory; speed varies by CPU).
    pub flash_attn: bool,
    pub thresholds: Thresholds,
    pub gate: GateConfig,
    /// How a recording is cut into pieces at its pauses.
    pub chunks: ChunkConfig,
    pub prompts: WhisperPrompts,
    /// Word lists that steer decoding towards real words.
    pub lexicon: LexiconSettings,
}

/// Where each language's words come from and how hard they steer.
#[derive(Debug, Clone)]
pub struct LexiconSettings {
    /// Logit penalty per word the lexicon lacks (0 turns the bias off).
    pub penalty: f32,
    /// The system word list per language, one word per line; languages
    /// without one (or with an empty path) are decoded unbiased.
    pub word_lists: HashMap<Language, PathBuf>,
    /// Where compiled word lists are kept.
    pub cache_dir: PathBuf,
}

impl Default for LexiconSettings {
    fn default() -> Self {
        Self {
            penalty: lexicon::DEFAULT_PENALTY,
            word_lists: lexicon::default_word_lists(),
            cache_dir: crate::model::cache_dir().join("lexicons"),
        }
    }
}

impl EngineConfig {
    pub fn new(model: PathBuf, prompts: WhisperPrompts) -> Self {
        Self {
            model,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            workers: 1,
            lanes: 0,
            languages: Language::ALL.to_vec(),
            search: Search::Beam(5),
            audio_ctx: AudioCtx::Full,
            use_prompt: true,
            temperature_fallback: true,
            timestamps: true,
            flash_attn: false,
            thresholds: Thresholds::default(),
            gate: GateConfig::default(),
            chunks: ChunkConfig::default(),
            prompts,
            lexicon: LexiconSettings::default(),
        }
    }
}

/// The language to transcribe in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LanguageChoice {
    /// The caller chose it in the menu.
    Forced(Language),
    /// Detect it, but only among the configured languages.
    Auto,
}

/// Each configured language's lexicon: its system word list (compiled on
/// first use) plus the city's words from the prompts. A language whose list
/// is missing is decoded unbiased, with a warning: the city's words alone
/// would count every other word as unknown.
fn load_lexicons(cfg: &EngineConfig) -> HashMap<Language, lexicon::Lexicon> {
    let mut out = HashMap::new();
    if cfg.lexicon.penalty <= 0.0 {
        return out;
    }
    for lang in Language::ALL {
        let Some(list) = cfg.lexicon.word_lists.get(&lang) else {
            continue;
        };
        if list.as_os_str().is_empty() {
            continue; // switched off for this language
        }
        let mut lex = lexicon::Lexicon::new();
        let loaded = lexicon::compile(list, &cfg.lexicon.cache_dir)
            .and_then(|compiled| lex.add_compiled(&compiled));
        if let Err(e) = loaded {
            tracing::warn!(language = %lang, error = %e, "no lexicon: decoding without word-list bias (scripts/bootstrap installs the word lists)");
            continue;
        }
        if let Some(words) = cfg.prompts.words.get(&lang) {
            lex.add_text(words);
        }
        out.insert(lang, lex);
    }
    out
}

/// Shortest input whisper.cpp transcribes (it skips anything under 1 s).
const MIN_SAMPLES: usize = 16_000 + 4_000;

pub struct Engine {
    ctx: WhisperContext,
    states: Mutex<Vec<WhisperState>>,
    permits: Arc<Semaphore>,
    gate: Gate,
    cfg: EngineConfig,
    model_id: String,
    multilingual: bool,
    tokens: lexicon::TokenTable,
    lexicons: HashMap<Language, lexicon::Lexicon>,
}

impl Engine {
    /// Loads the model (blocking: call from a blocking context or at start-up).
    pub fn load(cfg: EngineConfig) -> Result<Self, EngineError> {
        install_log_hooks();
        if !cfg.model.exists() {
            return Err(EngineError::ModelMissing(cfg.model.clone()));
        }
        // Reject a wrong file with a message rather than an abort in C++.
        let header = std::fs::File::open(&cfg.model)
            .map_err(|e| e.to_string())
            .and_then(|f| {
                crate::model::ggml::read_header(std::io::BufReader::new(f))
                    .map_err(|e| e.to_string())
            })
            .map_err(|reason| EngineError::Load {
                path: cfg.model.clone(),
                reason,
            })?;
        let path = cfg.model.to_string_lossy().into_owned();
        let mut params = WhisperContextParameters::default();
        params.flash_attn(cfg.flash_attn);
        let ctx =
            WhisperContext::new_with_params(&path, params).map_err(|e| EngineError::Load {
                path: cfg.model.clone(),
                reason: e.to_string(),
            })?;
        let workers = cfg.workers.max(1);
        let lexicons = load_lexicons(&cfg);
        Ok(Self {
            tokens: lexicon::TokenTable::new(&ctx),
            lexicons,
            ctx,
            states: Mutex::new(Vec::with_capacity(workers)),
            permits: Arc::new(Semaphore::new(workers)),
            gate: Gate::new(cfg.gate.clone()),
            model_id: crate::model::model_id(&cfg.model),
            multilingual: header.is_multilingual(),
            cfg,
        })
    }

    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// Words in each language's lexicon (languages decoded unbiased are
    /// absent).
    pub fn lexicon_sizes(&self) -> Vec<(Language, usize)> {
        let mut sizes: Vec<_> = self.lexicons.iter().map(|(l, x)| (*l, x.len())).collect();
        sizes.sort();
        sizes
    }

    /// The word-list bias in a few words, for logs and benchmark headers:
    /// "pl 4.3M uk 1.5M en 0.1M words, penalty 5" or "off".
    pub fn lexicon_summary(&self) -> String {
        let sizes = self.lexicon_sizes();
        if sizes.is_empty() {
            return "off".to_owned();
        }
        let lists: Vec<String> = sizes
            .iter()
            .map(|(l, n)| format!("{l} {:.1}M", *n as f64 / 1e6))
            .collect();
        format!(
            "{} words, penalty {}",
            lists.join(" "),
            self.cfg.lexicon.penalty
        )
    }

    /// Transcribes 16 kHz mono samples off the async runtime, waiting for a
    /// free slot of the pool.
    pub async fn transcribe(
        self: &Arc<Self>,
        samples: Arc<Vec<f32>>,
        lang: LanguageChoice,
    ) -> Result<Transcript, EngineError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| EngineError::Task(e.to_string()))?;
        let engine = Arc::clone(self);
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            span.in_scope(|| engine.transcribe_blocking(&samples, lang))
        })
        .instrument(tracing::Span::current())
        .await
        .map_err(|e| EngineError::Task(e.to_string()))?
    }

    /// Transcribes on the calling thread. Callers that are not the CLI go
    /// through [`Engine::transcribe`], which bounds concurrency.
    pub fn transcribe_blocking(
        &self,
        samples: &[f32],
        lang: LanguageChoice,
    ) -> Result<Transcript, EngineError> {
        let started = Instant::now();
        let mut timings = Timings {
            audio_ms: (samples.len() as u64 * 1000) / 16_000,
            ..Default::default()
        };
        let (gate, activity) = self.gate.analyse_frames(samples);
        timings.gate_ms = started.elapsed().as_millis() as u64;
        let fallback_lang = match lang {
            LanguageChoice::Forced(l) => l,
            LanguageChoice::Auto => self.cfg.languages.first().copied().unwrap_or(Language::Pl),
        };
        if let Some(reason) = gate.rejected.clone() {
            debug!(%reason, voiced_ms = gate.voiced_ms, "speech gate: no speech");
            timings.total_ms = started.elapsed().as_millis() as u64;
            let mut t = self.empty(
                fallback_lang,
                format!("speech gate: {reason}"),
                gate,
                timings,
            );
            t.coverage.skipped_ms = activity.duration_ms();
            return Ok(t);
        }
        let plan = chunks::plan(&activity, &self.cfg.chunks);
        let (language, language_probability) = match lang {
            LanguageChoice::Forced(l) => (l, None),
            LanguageChoice::Auto => {
                let t = Instant::now();
                // Detected on the first chunk: speech, not the silence before it.
                let first = plan.chunks.first().map_or(0..samples.len(), |c| {
                    let a = (c.span.start_ms as usize * 16).min(samples.len());
                    a..(c.span.end_ms as usize * 16).clamp(a, samples.len())
                });
                let (l, p) = self.detect_language(&samples[first])?;
                timings.detect_ms = t.elapsed().as_millis() as u64;
                (l, Some(p))
            }
        };
        let t = Instant::now();
        let mut state = self.take_state()?;
        let result = self.decode_chunks(&mut state, samples, &activity, &plan, language);
        self.return_state(state);
        let decoded = result?;
        timings.whisper_ms = t.elapsed().as_millis() as u64;
        timings.total_ms = started.elapsed().as_millis() as u64;
        let coverage = Coverage::of(&activity, &plan, &decoded);
        let no_speech_prob = decoded
            .chunks
            .iter()
            .filter_map(|c| c.no_speech_prob)
            .reduce(f32::min);
        let longform::Decoded {
            segments,
            dropped,
            unclear,
            chunks,
        } = decoded;
        let mut t = self.empty(language, String::new(), gate, timings);
        t.language_probability = language_probability;
        t.no_speech_prob = no_speech_prob;
        t.dropped = dropped;
        t.coverage = coverage;
        if segments.is_empty() {
            t.no_speech = Some(
                chunks
                    .iter()
                    .find_map(|c| c.rejected.clone())
                    .unwrap_or_else(|| "no speech regions (only noise without a voice)".into()),
            );
            t.unclear = unclear;
            t.chunks = chunks;
            return Ok(t);
        }
        t.no_speech = None;
        t.avg_logprob =
            Some(segments.iter().map(|s| s.avg_logprob).sum::<f32>() / segments.len() as f32);
        t.text = segments
            .iter()
            .map(|s| s.text.trim())
            .collect::<Vec<_>>()
            .join(" ");
        t.segments = segments;
        t.unclear = unclear;
        t.chunks = chunks;
        Ok(t)
    }

    fn empty(
        &self,
        language: Language,
        reason: String,
        gate: GateReport,
        timings: Timings,
    ) -> Transcript {
        Transcript {
            text: String::new(),
            segments: Vec::new(),
            language,
            language_probability: None,
            model_id: self.model_id.clone(),
            no_speech: Some(reason),
            dropped: Vec::new(),
            unclear: Vec::new(),
            chunks: Vec::new(),
            coverage: Coverage::default(),
            gate,
            avg_logprob: None,
            no_speech_prob: None,
            timings,
        }
    }

    fn take_state(&self) -> Result<WhisperState, EngineError> {
        let pooled = self.states.lock().map(|mut s| s.pop()).unwrap_or(None);
        match pooled {
            Some(s) => Ok(s),
            None => self
                .ctx
                .create_state()
                .map_err(|e| EngineError::Whisper(format!("create state: {e}"))),
        }
    }

    fn return_state(&self, state: WhisperState) {
        if let Ok(mut s) = self.states.lock() {
            s.push(state);
        }
    }

    /// Detects the language among the configured ones. Uses a fresh state:
    /// a pooled one keeps the previous clip's `audio_ctx`, which whisper.cpp
    /// would reuse for detection.
    fn detect_language(&self, samples: &[f32]) -> Result<(Language, f32), EngineError> {
        if !self.multilingual {
            return Ok((Language::En, 1.0));
        }
        let padded;
        let samples = if samples.len() < MIN_SAMPLES {
            padded = [samples, &vec![0.0; MIN_SAMPLES - samples.len()]].concat();
            &padded[..]
        } else {
            samples
        };
        let mut state = self
            .ctx
            .create_state()
            .map_err(|e| EngineError::Whisper(format!("create state: {e}")))?;
        state
            .pcm_to_mel(samples, self.cfg.threads.max(1))
            .map_err(|e| EngineError::Whisper(format!("mel: {e}")))?;
        let (_, probs) = state
            .lang_detect(0, self.cfg.threads.max(1))
            .map_err(|e| EngineError::Whisper(format!("language detection: {e}")))?;
        let candidates = if self.cfg.languages.is_empty() {
            Language::ALL.to_vec()
        } else {
            self.cfg.languages.clone()
        };
        let scored: Vec<(Language, f32)> = candidates
            .iter()
            .filter_map(|&l| {
                let id = whisper_rs::get_lang_id(l.code())?;
                probs.get(usize::try_from(id).ok()?).map(|&p| (l, p))
            })
            .collect();
        let total: f32 = scored.iter().map(|(_, p)| p).sum();
        let best = scored
            .iter()
            .copied()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((candidates[0], 0.0));
        debug!(language = %best.0, ?scored, "language detected among configured ones");
        Ok((best.0, if total > 0.0 { best.1 / total } else { 0.0 }))
    }
}

/// Routes whisper.cpp's own logging into `tracing` (target `whisper_rs`).
fn install_log_hooks() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(whisper_rs::install_logging_hooks);
}
