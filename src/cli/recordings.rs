//! `hotline recordings migrate --to URL`: the stored recordings copied to
//! another store (a directory to S3-compatible object storage, typically).

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;

use crate::app;
use crate::config::Config;
use crate::storage::{Storage, StorageError};

use super::ServerArgs;

#[derive(Subcommand)]
pub(super) enum RecordingsCommand {
    /// Copy every stored recording to another store (`s3://bucket/prefix`
    /// or `file:///path`), verifying each copy's sha256. Idempotent and
    /// resumable: what is there already, verified, is skipped. Keys are the
    /// same in every store, so once it reports no failure, set
    /// HOTLINE_RECORDINGS_URL to the new store on every server and worker.
    Migrate {
        /// The store to copy to.
        #[arg(long)]
        to: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

pub(super) async fn run(c: RecordingsCommand) -> anyhow::Result<ExitCode> {
    match c {
        RecordingsCommand::Migrate { to, server } => migrate(&to, server).await,
    }
}

/// What became of one recording.
enum Copied {
    Copied,
    AlreadyThere,
}

async fn migrate(to: &str, a: ServerArgs) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(a.config.as_deref())?;
    let store = app::open_store(&cfg).await?;
    let from = Storage::from_config(&cfg).context("the current recordings store")?;
    let target =
        Storage::open(to, &cfg.data_dir, &cfg.recordings.s3).context("the target store")?;
    target
        .check()
        .await
        .with_context(|| format!("reaching {}", target.describe))?;
    println!(
        "copying recordings from {} to {}",
        from.describe, target.describe
    );
    let recordings = store.stored_recordings().await?;
    let scratch = cfg.scratch_dir();
    let (mut copied, mut there, mut failed) = (0usize, 0usize, 0usize);
    let mut seen = std::collections::HashSet::new();
    for rec in &recordings {
        let (Some(key), Some(sha)) = (rec.local_path.as_deref(), rec.sha256.as_deref()) else {
            continue;
        };
        if !seen.insert(key.to_owned()) {
            continue;
        }
        match copy_one(
            &from,
            &target,
            key,
            sha,
            &scratch.join(format!(".migrate-{}", rec.id)),
        )
        .await
        {
            Ok(Copied::Copied) => copied += 1,
            Ok(Copied::AlreadyThere) => there += 1,
            Err(e @ StorageError::Corrupt { .. }) => {
                failed += 1;
                eprintln!("recording {} ({key}): {e}; flagged, not copied", rec.id);
                store.recording_corrupt(rec.id, &e.to_string()).await?;
            }
            Err(e) => {
                failed += 1;
                eprintln!("recording {} ({key}): {e}", rec.id);
            }
        }
        let done = copied + there + failed;
        if done % 100 == 0 {
            println!("  {done} of {}", seen.len().max(done));
        }
    }
    println!(
        "copied {copied}, already there {there}, failed {failed} (of {} objects)",
        seen.len()
    );
    if failed > 0 {
        println!("run it again to retry what failed");
        return Ok(ExitCode::FAILURE);
    }
    // The switch: the database names the new store, and a process still
    // set to the old one refuses to start rather than store elsewhere.
    store
        .set_recordings_store(target.shared_url(), false)
        .await
        .context("recording the new store in the database")?;
    println!(
        "every recording is in {}: set HOTLINE_RECORDINGS_URL={to} on every server and worker \
         and restart them (a process still set to the old store refuses to start)",
        target.describe
    );
    Ok(ExitCode::SUCCESS)
}

/// Copies `key` unless the target has it already with the right checksum;
/// a copy is read back and its checksum compared.
async fn copy_one(
    from: &Storage,
    to: &Storage,
    key: &str,
    sha: &str,
    scratch: &std::path::Path,
) -> Result<Copied, StorageError> {
    if to.size(key).await?.is_some() && to.checksum(key).await? == sha {
        return Ok(Copied::AlreadyThere);
    }
    // Checked against its hash whichever store it comes from.
    let local = from.local_copy(key, scratch, sha).await?;
    to.put_file(key, &local.path).await?;
    let actual = to.checksum(key).await?;
    if actual != sha {
        to.delete(key).await?;
        return Err(StorageError::Corrupt {
            key: key.to_owned(),
            actual,
        });
    }
    Ok(Copied::Copied)
}
