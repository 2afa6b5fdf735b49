//! `hotline schedule …` and `hotline announce …`: what the line does at a
//! moment, administrators' overrides, staff announcements.

use std::process::ExitCode;

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};

use crate::app;
use crate::config::Config;
use crate::domain::schedule::Override;
use crate::domain::{local_iso, parse_instant, Millis};

use super::ServerArgs;

/// Actor written to the audit log for changes made from the command line.
const ACTOR: &str = "cli";

#[derive(Clone, Copy, ValueEnum)]
pub(super) enum Format {
    Text,
    Json,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(super) struct ScheduleArgs {
    /// The moment to ask about (RFC 3339, e.g. 2027-03-29T10:00:00+02:00; default: now).
    #[arg(long)]
    at: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(subcommand)]
    command: Option<ScheduleCommand>,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Subcommand)]
pub(super) enum ScheduleCommand {
    /// Override the schedule until a moment: `--closed-until …` or
    /// `--staffed-until …`; `--clear` ends the override in force.
    Override {
        #[arg(long, conflicts_with_all = ["staffed_until", "clear"])]
        closed_until: Option<String>,
        #[arg(long, conflicts_with = "clear")]
        staffed_until: Option<String>,
        #[arg(long)]
        clear: bool,
        /// Why (kept in the audit log and shown to administrators).
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Subcommand)]
pub(super) enum AnnounceCommand {
    /// Add an announcement, played to callers after the language choice.
    Add {
        /// The Polish text (required).
        #[arg(long)]
        pl: String,
        #[arg(long, default_value = "")]
        uk: String,
        #[arg(long, default_value = "")]
        en: String,
        /// When it starts (RFC 3339; default: now).
        #[arg(long)]
        from: Option<String>,
        /// When it ends (RFC 3339).
        #[arg(long)]
        until: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Announcements not over yet, in the order callers hear them.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// End an announcement now.
    End {
        id: i64,
        #[command(flatten)]
        server: ServerArgs,
    },
}

fn instant(s: &str) -> anyhow::Result<Millis> {
    parse_instant(s).ok_or_else(|| anyhow!("{s:?} is not a moment like 2027-03-29T10:00:00+02:00"))
}

pub(super) async fn schedule(a: ScheduleArgs) -> anyhow::Result<ExitCode> {
    if let Some(ScheduleCommand::Override {
        closed_until,
        staffed_until,
        clear,
        note,
        server,
    }) = a.command
    {
        return set_override(closed_until, staffed_until, clear, &note, server).await;
    }
    let cfg = Config::load(a.server.config.as_deref())?;
    let schedule = crate::line::load_schedule(&cfg.prompt_source())?;
    let store = app::open_store(&cfg).await?;
    let at = match &a.at {
        Some(s) => instant(s)?,
        None => store.now(),
    };
    let (line, _) = crate::line::state(&store, &schedule, at).await?;
    let next = line.next_change.map(local_iso);
    match a.format {
        Format::Json => println!(
            "{}",
            serde_json::json!({
                "staffed": line.staffed,
                "reason": line.reason.to_string(),
                "next_change": next,
            })
        ),
        Format::Text => {
            let what = if line.staffed {
                "staffed"
            } else {
                "not staffed"
            };
            println!("{}: {what} ({})", local_iso(at), line.reason);
            match next {
                Some(n) => println!("changes at {n}"),
                None => println!("no change within a year and a half"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn set_override(
    closed_until: Option<String>,
    staffed_until: Option<String>,
    clear: bool,
    note: &str,
    server: ServerArgs,
) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(server.config.as_deref())?;
    let store = app::open_store(&cfg).await?;
    let now = store.now();
    let rule = match (closed_until, staffed_until, clear) {
        (_, _, true) => {
            let cleared = store.clear_override(ACTOR, now).await?;
            println!(
                "{}",
                if cleared {
                    "override ended"
                } else {
                    "no override in force"
                }
            );
            return Ok(ExitCode::SUCCESS);
        }
        (Some(until), None, _) => Override {
            staffed: false,
            until: instant(&until)?,
        },
        (None, Some(until), _) => Override {
            staffed: true,
            until: instant(&until)?,
        },
        _ => bail!("say --closed-until, --staffed-until or --clear"),
    };
    if rule.until <= now {
        bail!(
            "the override would end before it starts ({} is past)",
            local_iso(rule.until)
        );
    }
    store.set_override(rule, note, ACTOR, now).await?;
    let what = if rule.staffed { "staffed" } else { "closed" };
    println!("{what} until {}", local_iso(rule.until));
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn announce(c: AnnounceCommand) -> anyhow::Result<ExitCode> {
    match c {
        AnnounceCommand::Add {
            pl,
            uk,
            en,
            from,
            until,
            server,
        } => {
            let cfg = Config::load(server.config.as_deref())?;
            let store = app::open_store(&cfg).await?;
            let now = store.now();
            let starts = match from {
                Some(f) => instant(&f)?,
                None => now,
            };
            let new = crate::line::announcement([&pl, &uk, &en], starts, instant(&until)?, now)?;
            let a = store.add_announcement(&new, ACTOR, now).await?;
            println!(
                "announcement {} from {} until {}",
                a.id,
                local_iso(a.starts_at),
                local_iso(a.ends_at)
            );
        }
        AnnounceCommand::List { server } => {
            let cfg = Config::load(server.config.as_deref())?;
            let store = app::open_store(&cfg).await?;
            let now = store.now();
            for a in store.announcements(now).await? {
                let playing = if a.is_active(now) {
                    "playing"
                } else {
                    "scheduled"
                };
                println!(
                    "{}\t{playing}\t{} – {}\t{}\t{}",
                    a.id,
                    local_iso(a.starts_at),
                    local_iso(a.ends_at),
                    a.created_by,
                    a.text_pl
                );
            }
        }
        AnnounceCommand::End { id, server } => {
            let cfg = Config::load(server.config.as_deref())?;
            let store = app::open_store(&cfg).await?;
            if !store.end_announcement(id, ACTOR, store.now()).await? {
                bail!("no announcement {id} still to end");
            }
            println!("announcement {id} ended");
        }
    }
    Ok(ExitCode::SUCCESS)
}
