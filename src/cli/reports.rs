//! `hotline reports list|show`.

use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};

use crate::app::{self};
use crate::config::Config;
use crate::domain::{format_ms, Language, PhoneNumber, ReportNumber, ReportStatus};
use crate::store::ReportFilter;

use super::ServerArgs;

#[derive(Subcommand)]
pub(super) enum ReportsCommand {
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
pub(super) enum ListFormat {
    Table,
    Json,
}

pub(super) async fn reports_list(
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
                    r.category.as_deref().unwrap_or("-"),
                    r.language.map_or("-", Language::code),
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

pub(super) async fn reports_show(
    a: ServerArgs,
    number: &str,
    format: ListFormat,
) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(a.config.as_deref())?;
    let store = app::open_store(&cfg).await?;
    let number = ReportNumber::parse(number)?;
    let Some(d) = store.report_detail(&number).await? else {
        eprintln!("no report {number}");
        return Ok(ExitCode::FAILURE);
    };
    match format {
        ListFormat::Json => {
            let mut v = serde_json::to_value(&d)?;
            v["urgent"] = serde_json::json!(d.report.urgent_reason.is_some());
            v["urgent_reason"] = serde_json::json!(d.report.urgent_reason);
            println!("{}", serde_json::to_string_pretty(&v)?)
        }
        ListFormat::Table => {
            let r = &d.report;
            println!("report    {}", r.number);
            println!("status    {} (audio: {})", r.status, r.audio_status);
            println!(
                "category  {}   language {}",
                r.category.as_deref().unwrap_or("-"),
                r.language.map_or("-", Language::code)
            );
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

pub(super) async fn run(cmd: ReportsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ReportsCommand::List {
            status,
            format,
            limit,
            server,
        } => reports_list(server, status, format, limit).await,
        ReportsCommand::Show {
            number,
            format,
            server,
        } => reports_show(server, &number, format).await,
    }
}
