//! The `hotline` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use std::time::Duration;

use crate::app::{self, Application};
use crate::config::Config;

mod agents;
mod benches;
mod line;
mod models;
mod recordings;
mod reports;

use agents::{AgentCommand, TokenCommand};
use benches::BenchCommand;
use models::{ModelCommand, TranscribeArgs};
use recordings::RecordingsCommand;
use reports::ReportsCommand;

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
    /// Transcribe WAV or MP3 files with the local model.
    Transcribe(TranscribeArgs),
    /// Benchmarks that print figures.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run job workers only (scale-out: any number of them, on any machine).
    Worker(ServerArgs),
    /// Reports in the store.
    #[command(subcommand)]
    Reports(ReportsCommand),
    /// Stored recordings: `migrate --to s3://bucket/prefix` copies them to another store.
    #[command(subcommand)]
    Recordings(RecordingsCommand),
    /// Agent accounts of the web workspace.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// What the line does at a moment (staffed or not, why, until when);
    /// `schedule override` sets or ends an administrator's override.
    Schedule(line::ScheduleArgs),
    /// Staff announcements played to callers.
    #[command(subcommand)]
    Announce(line::AnnounceCommand),
    /// An online, consistent copy of the SQLite database.
    Backup {
        /// The copy to write (must not exist).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// Where the configuration comes from.
#[derive(Args, Clone)]
pub struct ServerArgs {
    /// TOML config file (default: $HOTLINE_CONFIG; environment variables override it).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
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
    /// The WAV or MP3 file the caller "says" (omit for an empty recording).
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
    /// How every `<Dial>` (consultants, 24/7 services) ends; nothing is dialled.
    #[arg(long, value_parser = ["completed", "no-answer", "busy", "failed"], default_value = "no-answer")]
    dial_outcome: String,
    #[command(flatten)]
    server_args: ServerArgs,
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
        Command::Worker(a) => worker(a).await,
        Command::Call(a) => call(a).await,
        Command::Backup { out, server } => backup(&out, server).await,
        Command::Agent(c) => agents::agent_command(c).await,
        Command::Token(c) => agents::token_command(c).await,
        Command::Model(c) => models::run(c).await,
        Command::Transcribe(a) => models::transcribe(a).await,
        Command::Bench(c) => benches::run(c).await,
        Command::Reports(c) => reports::run(c).await,
        Command::Recordings(c) => recordings::run(c).await,
        Command::Schedule(a) => line::schedule(a).await,
        Command::Announce(c) => line::announce(c).await,
    }
}

async fn worker(a: ServerArgs) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(a.config.as_deref())?;
    Application::build_worker(cfg)
        .await?
        .run_until_stopped()
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
        keep_serving: false,
        dial_outcome: a.dial_outcome,
    })
    .await?;
    for (to, outcome) in &log.transfers {
        println!("(transfer to {to}: {outcome})");
    }
    if let Some(secs) = log.secs_before_first_key {
        println!(
            "(about {secs:.1} s of speech before the first key can be pressed, at {} characters a second)",
            crate::simulator::SAY_CHARS_PER_SEC
        );
    }
    println!(
        "(call {} ended after {} webhooks)",
        log.call_sid, log.webhooks
    );
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
