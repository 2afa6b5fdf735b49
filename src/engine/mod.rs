//! The transcription engine: one shared whisper.cpp context, a bounded pool
//! of decoding states, and the guards that keep invented text out of
//! reports.
//!
//! Whisper runs on blocking threads (never on the async runtime), at most
//! `workers` clips at a time, each with `threads` CPU threads. Before Whisper
//! runs, the speech [`gate`] rejects silence, noise and tones; after it,
//! segments that whisper itself marks as no-speech, that repeat a known
//! hallucination (`prompts/<lang>/hallucinations.txt`) or that echo the
//! initial prompt are dropped.

pub mod gate;
pub mod kernels;
pub mod lexicon;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Semaphore;
use tracing::{debug, Instrument};
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

use crate::domain::Language;
use crate::prompts::{normalize, WhisperPrompts};
use gate::{Gate, GateConfig, GateReport};

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
            languages: Language::ALL.to_vec(),
            search: Search::Beam(5),
            audio_ctx: AudioCtx::Full,
            use_prompt: true,
            temperature_fallback: true,
            timestamps: true,
            flash_attn: false,
            thresholds: Thresholds::default(),
            gate: GateConfig::default(),
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

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Segment {
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
    pub avg_logprob: f32,
    pub no_speech_prob: f32,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Timings {
    pub audio_ms: u64,
    pub gate_ms: u64,
    pub detect_ms: u64,
    pub whisper_ms: u64,
    pub total_ms: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Transcript {
    pub text: String,
    pub segments: Vec<Segment>,
    pub language: Language,
    /// Detection probability (auto mode only).
    pub language_probability: Option<f32>,
    pub model_id: String,
    /// Why there is no text, if there is none.
    pub no_speech: Option<String>,
    /// Segments the guards removed, with the reason.
    pub dropped: Vec<(String, String)>,
    pub gate: GateReport,
    pub avg_logprob: Option<f32>,
    /// Probability of Whisper's no-speech token at the start of the clip
    /// (clips of one 30 s window only).
    pub no_speech_prob: Option<f32>,
    pub timings: Timings,
}

impl Transcript {
    pub fn has_speech(&self) -> bool {
        self.no_speech.is_none()
    }
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
        let gate = self.gate.analyse(samples);
        timings.gate_ms = started.elapsed().as_millis() as u64;
        let fallback_lang = match lang {
            LanguageChoice::Forced(l) => l,
            LanguageChoice::Auto => self.cfg.languages.first().copied().unwrap_or(Language::Pl),
        };
        if let Some(reason) = gate.rejected.clone() {
            debug!(%reason, voiced_ms = gate.voiced_ms, "speech gate: no speech");
            timings.total_ms = started.elapsed().as_millis() as u64;
            return Ok(self.empty(
                fallback_lang,
                format!("speech gate: {reason}"),
                gate,
                Vec::new(),
                timings,
            ));
        }
        let padded;
        let samples = if samples.len() < MIN_SAMPLES {
            padded = [samples, &vec![0.0; MIN_SAMPLES - samples.len()]].concat();
            &padded[..]
        } else {
            samples
        };
        let (language, language_probability) = match lang {
            LanguageChoice::Forced(l) => (l, None),
            LanguageChoice::Auto => {
                let t = Instant::now();
                let (l, p) = self.detect_language(samples)?;
                timings.detect_ms = t.elapsed().as_millis() as u64;
                (l, Some(p))
            }
        };
        let t = Instant::now();
        let mut state = self.take_state()?;
        let result = self.run_whisper(&mut state, samples, language);
        self.return_state(state);
        let (raw, no_speech_prob) = result?;
        timings.whisper_ms = t.elapsed().as_millis() as u64;
        timings.total_ms = started.elapsed().as_millis() as u64;
        let (segments, mut dropped) = self.guard(raw, language);
        let avg_logprob = (!segments.is_empty())
            .then(|| segments.iter().map(|s| s.avg_logprob).sum::<f32>() / segments.len() as f32);
        // OpenAI's rule (likely no speech and a shaky decode), with the
        // no-speech probability measured where the model predicts it; plus
        // likely no speech and text that mostly repeats the initial prompt
        // (the prompt makes an invented decode look confident).
        let th = self.cfg.thresholds;
        let text = segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let echo = self.cfg.use_prompt && self.prompt_overlap(&text, language) >= 0.5;
        let silent = match (no_speech_prob, avg_logprob) {
            (Some(p), Some(lp)) => p > th.no_speech && (lp < th.logprob || echo),
            _ => false,
        };
        let (segments, no_speech_reason) = if silent {
            let p = no_speech_prob.unwrap_or_default();
            dropped.extend(
                segments
                    .into_iter()
                    .map(|s| (s.text, "whisper no-speech probability".to_owned())),
            );
            (
                Vec::new(),
                Some(format!("whisper no-speech probability {p:.2}")),
            )
        } else {
            (segments, None)
        };
        if segments.is_empty() {
            let reason = no_speech_reason.unwrap_or_else(|| match dropped.first() {
                None => "whisper found no speech".to_owned(),
                Some((_, why)) => format!("only hallucinated text ({why})"),
            });
            let mut t = self.empty(language, reason, gate, dropped, timings);
            t.no_speech_prob = no_speech_prob;
            return Ok(t);
        }
        let text = segments
            .iter()
            .map(|s| s.text.trim())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Transcript {
            text,
            segments,
            language,
            language_probability,
            model_id: self.model_id.clone(),
            no_speech: None,
            dropped,
            gate,
            avg_logprob,
            no_speech_prob,
            timings,
        })
    }

    fn empty(
        &self,
        language: Language,
        reason: String,
        gate: GateReport,
        dropped: Vec<(String, String)>,
        timings: Timings,
    ) -> Transcript {
        Transcript {
            text: String::new(),
            segments: Vec::new(),
            language,
            language_probability: None,
            model_id: self.model_id.clone(),
            no_speech: Some(reason),
            dropped,
            gate,
            avg_logprob: None,
            no_speech_prob: None,
            timings,
        }
    }

    /// Share of the words of `text` that occur in the language's initial prompt.
    fn prompt_overlap(&self, text: &str, language: Language) -> f32 {
        let Some(prompt) = self.cfg.prompts.initial.get(&language) else {
            return 0.0;
        };
        let prompt = normalize(prompt);
        let vocab: std::collections::HashSet<&str> = prompt.split(' ').collect();
        let text = normalize(text);
        let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
        if words.is_empty() {
            return 0.0;
        }
        words.iter().filter(|w| vocab.contains(*w)).count() as f32 / words.len() as f32
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

    fn run_whisper(
        &self,
        state: &mut WhisperState,
        samples: &[f32],
        language: Language,
    ) -> Result<(Vec<Segment>, Option<f32>), EngineError> {
        let strategy = match self.cfg.search {
            Search::Greedy => SamplingStrategy::Greedy { best_of: 1 },
            Search::Beam(n) => SamplingStrategy::BeamSearch {
                beam_size: i32::from(n.max(1)),
                patience: -1.0,
            },
        };
        let mut params = FullParams::new(strategy);
        params.set_n_threads(self.cfg.threads.max(1) as i32);
        // An English-only model writes English whatever the caller chose.
        let written = if self.multilingual {
            language
        } else {
            Language::En
        };
        params.set_language(Some(written.code()));
        params.set_detect_language(false);
        params.set_translate(false);
        params.set_no_context(true);
        params.set_no_timestamps(!self.cfg.timestamps);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        params.set_temperature(0.0);
        params.set_temperature_inc(if self.cfg.temperature_fallback {
            0.2
        } else {
            0.0
        });
        params.set_no_speech_thold(self.cfg.thresholds.no_speech);
        params.set_logprob_thold(self.cfg.thresholds.logprob);
        params.set_entropy_thold(self.cfg.thresholds.entropy);
        if let AudioCtx::Fit { margin_ms } = self.cfg.audio_ctx {
            let ms = samples.len() as u64 * 1000 / 16_000 + u64::from(margin_ms);
            // 50 encoder positions per second; past ~30 s the full window is used.
            let ctx = (ms * 50).div_ceil(1000);
            if ctx < 1500 {
                params.set_audio_ctx(ctx as i32);
            }
        }
        if self.cfg.use_prompt {
            if let Some(prompt) = self.cfg.prompts.initial.get(&language) {
                params.set_initial_prompt(prompt);
            }
        }
        let bias = self
            .lexicons
            .get(&written)
            .map(|lexicon| lexicon::LexiconBias {
                lexicon,
                tokens: &self.tokens,
                penalty: self.cfg.lexicon.penalty,
                window: self.cfg.lexicon.penalty + lexicon::WINDOW_MARGIN,
            });
        if let Some(bias) = &bias {
            // SAFETY: `bias` outlives `full` below, which is the only user
            // of the callback and its data.
            unsafe {
                params.set_filter_logits_callback(Some(lexicon::LexiconBias::callback));
                params.set_filter_logits_callback_user_data(
                    bias as *const lexicon::LexiconBias<'_> as *mut std::ffi::c_void,
                );
            }
        }
        state
            .full(params, samples)
            .map_err(|e| EngineError::Whisper(e.to_string()))?;
        let eot = self.ctx.token_eot();
        // whisper.cpp ends a last segment that has no closing timestamp at
        // its 30 s window; segments are kept within the recording.
        let audio_ms = samples.len() as i64 * 1000 / i64::from(crate::audio::WHISPER_RATE);
        let mut out = Vec::new();
        for seg in state.as_iter() {
            let text = seg
                .to_str_lossy()
                .map(|s| s.into_owned())
                .unwrap_or_default();
            let logprobs: Vec<f32> = (0..seg.n_tokens())
                .filter_map(|i| seg.get_token(i))
                .filter(|t| t.token_id() < eot)
                .map(|t| t.token_data().plog)
                .collect();
            let avg_logprob = if logprobs.is_empty() {
                0.0
            } else {
                logprobs.iter().sum::<f32>() / logprobs.len() as f32
            };
            out.push(Segment {
                start_ms: (seg.start_timestamp() * 10).min(audio_ms),
                end_ms: (seg.end_timestamp() * 10).min(audio_ms),
                text: collapse_repeats(text.trim()),
                avg_logprob,
                no_speech_prob: seg.no_speech_probability(),
            });
        }
        let no_speech = if samples.len() <= 30 * 16_000 {
            self.no_speech_prob(state)
        } else {
            None
        };
        Ok((out, no_speech))
    }

    /// P(no-speech) as OpenAI computes it: the model's prediction right
    /// after start-of-transcript, over the window just encoded. (whisper.cpp
    /// reports it one position later, where it is always close to zero.)
    fn no_speech_prob(&self, state: &mut WhisperState) -> Option<f32> {
        state
            .decode(&[self.ctx.token_sot()], 0, self.cfg.threads.max(1))
            .ok()?;
        let logits = state.get_logits().ok()?;
        let nosp = usize::try_from(self.ctx.token_nosp()).ok()?;
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = logits.iter().map(|l| (l - max).exp()).sum();
        logits.get(nosp).map(|l| (l - max).exp() / sum)
    }

    /// Drops segments that are not speech; returns kept and dropped ones.
    fn guard(
        &self,
        raw: Vec<Segment>,
        language: Language,
    ) -> (Vec<Segment>, Vec<(String, String)>) {
        let blocklist = self.cfg.prompts.blocklist.get(&language);
        let prompt = self
            .cfg
            .prompts
            .initial
            .get(&language)
            .map(|p| normalize(p));
        let mut kept = Vec::new();
        let mut dropped = Vec::new();
        let mut previous = String::new();
        for seg in raw {
            let norm = normalize(&seg.text);
            let reason = if norm.is_empty() {
                Some("empty")
            } else if norm == previous {
                Some("repeats the previous segment")
            } else if is_loop(&seg.text) {
                Some("repetition loop")
            } else if blocklist.is_some_and(|b| b.matches(&seg.text)) {
                Some("known hallucination phrase")
            } else if self.cfg.use_prompt
                && norm.split(' ').count() >= 3
                && prompt.as_ref().is_some_and(|p| p.contains(&norm))
            {
                Some("echo of the initial prompt")
            } else {
                None
            };
            match reason {
                Some(r) => {
                    debug!(reason = r, text = %seg.text, "segment dropped");
                    dropped.push((seg.text, r.to_owned()));
                }
                None => {
                    previous = norm;
                    kept.push(seg);
                }
            }
        }
        (kept, dropped)
    }
}

/// Routes whisper.cpp's own logging into `tracing` (target `whisper_rs`).
fn install_log_hooks() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(whisper_rs::install_logging_hooks);
}

/// Removes decoding loops: a run of words repeated back to back is kept
/// once when it is three or more words repeated twice ("Proszę przyjechać
/// na Długą. Proszę przyjechać na Długą.") or one or two words repeated
/// three times or more. "bardzo, bardzo" stays: people say that.
pub fn collapse_repeats(text: &str) -> String {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    let keys: Vec<String> = words.iter().map(|w| normalize(w)).collect();
    let mut keys = keys;
    let mut i = 0;
    while i < words.len() {
        let mut removed = false;
        for period in (1..=(words.len() - i) / 2).rev() {
            let copies = (1..)
                .take_while(|c| {
                    let start = i + c * period;
                    start + period <= words.len()
                        && (0..period).all(|k| keys[i + k] == keys[start + k])
                })
                .count();
            let loop_found = if period >= 3 {
                copies >= 1
            } else {
                copies >= 2
            };
            if loop_found && keys[i..i + period].iter().any(|k| !k.is_empty()) {
                words.drain(i + period..i + period * (copies + 1));
                keys.drain(i + period..i + period * (copies + 1));
                removed = true;
                break;
            }
        }
        if !removed {
            i += 1;
        }
    }
    words.join(" ")
}

/// Text that is mostly the same few characters or words over and over
/// (what is left when a loop sits inside one word: "Osososososos…").
pub fn is_loop(text: &str) -> bool {
    let norm = normalize(text);
    let chars: Vec<char> = norm.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() >= 24 {
        let grams: std::collections::HashSet<&[char]> = chars.windows(4).collect();
        if (grams.len() as f32) < chars.len() as f32 * 0.2 {
            return true;
        }
    }
    let words: Vec<&str> = norm.split(' ').collect();
    if words.len() >= 8 {
        let distinct: std::collections::HashSet<&&str> = words.iter().collect();
        return (distinct.len() as f32) < words.len() as f32 * 0.25;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_collapse_and_natural_repeats_stay() {
        assert_eq!(
            collapse_repeats("Ile to kosztuje? Ile to kosztuje? Ile to kosztuje?"),
            "Ile to kosztuje?"
        );
        assert_eq!(
            collapse_repeats("iletokostuje iletokostuje iletokostuje"),
            "iletokostuje"
        );
        assert_eq!(
            collapse_repeats("Dzień dobry, nielegalnie, nielegalnie, nielegalnie."),
            "Dzień dobry, nielegalnie,"
        );
        assert_eq!(
            collapse_repeats("bardzo, bardzo proszę"),
            "bardzo, bardzo proszę"
        );
        assert_eq!(
            collapse_repeats("na ulicy Długiej 12"),
            "na ulicy Długiej 12"
        );
        assert!(is_loop(&"os".repeat(100)));
        assert!(!is_loop(
            "Dziura w jezdni na ulicy Długiej naprzeciwko numeru dwanaście, bardzo głęboka."
        ));
    }
}
