//! `hotline bench …`: the benchmarks that print figures.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};

use crate::bench;
use crate::config::Config;
use crate::model::{self};

use super::models::{parse_snr, EngineArgs};

#[derive(Subcommand)]
pub(super) enum BenchCommand {
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
    /// Recordings fetched from a provider on loopback, stored and served back:
    /// a local directory, and S3-compatible storage given `--s3`.
    Storage {
        #[arg(long, default_value_t = 100)]
        recordings: usize,
        /// Also an S3 store, `s3://bucket/prefix` (endpoint and keys from
        /// HOTLINE_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
        #[arg(long)]
        s3: Option<String>,
        /// The recording (default: 60 s of 8 kHz 16-bit PCM, as Twilio serves a minute's message).
        #[arg(long)]
        wav: Option<PathBuf>,
    },
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
pub(super) struct BenchQueueArgs {
    #[arg(long, default_value_t = 10_000)]
    pub(super) jobs: usize,
    /// Workers draining concurrently.
    #[arg(long, default_value_t = 4)]
    pub(super) workers: usize,
    #[command(flatten)]
    pub(super) backends: BenchBackends,
}

/// Which databases a benchmark runs on.
#[derive(Args)]
pub(super) struct BenchBackends {
    #[arg(long, value_enum, default_value_t = BenchBackend::Both)]
    pub(super) backend: BenchBackend,
    /// PostgreSQL server to create a scratch database on.
    #[arg(
        long,
        env = "HOTLINE_TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pub(super) postgres: String,
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
pub(super) enum BenchBackend {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Args)]
pub(super) struct BenchTranscribeArgs {
    /// Reference files (`file<TAB>text` rows; default: ../shared/speech/*/refs.tsv).
    #[arg(long = "refs")]
    pub(super) refs: Vec<PathBuf>,
    /// Which of their clips: the short dev clips, nEMO's emotional clips,
    /// voicemail-length recordings (with Ukrainian and English ones
    /// assembled from the dev clips), or all.
    #[arg(long, value_enum, default_value_t = bench::transcribe::Set::Dev)]
    pub(super) set: bench::transcribe::Set,
    /// Keep this many busy processes spinning beside each system's run, as
    /// on a shared machine.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(super) contention: usize,
    /// Also run faster-whisper on the same model and audio, side by side.
    #[arg(long)]
    pub(super) peer: bool,
    /// Print every clip's reference and hypotheses.
    #[arg(long, short)]
    pub(super) verbose: bool,
    /// Print the figures as JSON instead of tables.
    #[arg(long)]
    pub(super) json: bool,
    /// Pass every clip through a telephone line first (8 kHz, G.711 μ-law,
    /// back to 16 kHz), for both systems.
    #[arg(long)]
    pub(super) phone: bool,
    /// Add white noise at this signal-to-noise ratio in dB (over the whole
    /// clip, the same noise on every run) to every clip first, for both systems.
    #[arg(long, value_name = "DB", value_parser = parse_snr, allow_negative_numbers = true)]
    pub(super) noise_snr: Option<f32>,
    #[command(flatten)]
    pub(super) engine: EngineArgs,
}

pub(super) async fn bench_transcribe(a: BenchTranscribeArgs) -> anyhow::Result<ExitCode> {
    let refs = if a.refs.is_empty() {
        bench::transcribe::default_refs()
    } else {
        a.refs
    };
    let clips = bench::transcribe::select(bench::transcribe::load_refs(&refs)?, a.set)?;
    let cfg = a.engine.config()?;
    let threads = cfg.threads;
    let busy = a.contention;
    let channel = bench::channel::Channel {
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

pub(super) async fn bench_queue(a: BenchQueueArgs) -> anyhow::Result<ExitCode> {
    a.backends
        .each(|name, url| async move {
            bench::queue::print(&bench::queue::run(&url, name, a.jobs, a.workers).await?);
            Ok(())
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn run(cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Transcribe(a) => bench_transcribe(a).await,
        BenchCommand::Queue(a) => bench_queue(a).await,
        BenchCommand::Storage {
            recordings,
            s3,
            wav,
        } => bench_storage(recordings, s3, wav).await,
        BenchCommand::Kernels { reps, threads } => {
            let threads = threads.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            });
            let timings =
                tokio::task::spawn_blocking(move || bench::kernels::run(threads, reps)).await?;
            bench::kernels::print(threads, &timings);
            Ok(ExitCode::SUCCESS)
        }
        BenchCommand::Burn => {
            bench::contention::burn();
            Ok(ExitCode::SUCCESS)
        }
        BenchCommand::Calls {
            calls,
            concurrency,
            backends,
        } => {
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
    }
}

async fn bench_storage(
    n: usize,
    s3: Option<String>,
    wav: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let wav = match wav {
        Some(p) => std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?,
        None => bench::storage::default_recording()?,
    };
    let dir = tempfile::tempdir()?;
    let mut stores = vec![None];
    stores.extend(s3.map(Some));
    for url in stores {
        let mut cfg = Config::load(None)?;
        cfg.data_dir = dir.path().to_owned();
        cfg.recordings.url = url;
        cfg.recordings.fetch_timeout_secs = bench::storage::FETCH_TIMEOUT.as_secs();
        let mut report = bench::storage::run(cfg, n, wav.clone()).await?;
        bench::storage::print(&mut report);
    }
    Ok(ExitCode::SUCCESS)
}
