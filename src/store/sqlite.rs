//! SQLite: the embedded default, a file in the data directory in WAL mode.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;

use sqlx::AnyPool;

use super::Result;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Opens (creating if needed) the database at `url` (`sqlite://path`) and
/// migrates it.
pub(super) async fn connect(url: &str) -> Result<AnyPool> {
    // Validate and create the file (and its folder) with sqlite's own options.
    let opts = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
    if let Some(dir) = opts
        .get_filename()
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| sqlx::Error::Configuration(format!("{}: {e}", dir.display()).into()))?;
    }
    let url = opts.to_url_lossy().to_string();
    let url = if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    };
    let pool = AnyPoolOptions::new()
        // One connection: SQLite has one writer anyway, and queueing in
        // the pool is fair and fast where SQLite's busy-wait sleeps.
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _| {
            Box::pin(async move {
                // WAL: readers never block the writer; the busy timeout
                // makes concurrent writers queue instead of failing.
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("PRAGMA busy_timeout = 10000")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("PRAGMA synchronous = NORMAL")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("PRAGMA foreign_keys = ON")
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Runs the migrations with foreign keys off, as SQLite asks for schema
/// changes that rebuild a table (sqlite.org/lang_altertable.html), then
/// checks every reference before turning them back on.
async fn migrate(pool: &AnyPool) -> Result<()> {
    let mut conn = pool.acquire().await?;
    sqlx::query("PRAGMA foreign_keys = OFF")
        .execute(&mut *conn)
        .await?;
    MIGRATOR.run(&mut *conn).await?;
    let broken: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&mut *conn)
        .await?;
    sqlx::query("PRAGMA foreign_keys = ON")
        .execute(&mut *conn)
        .await?;
    if let Some((table,)) = broken.first() {
        return Err(sqlx::Error::Protocol(format!(
            "after migrating, {} row(s) of {table} refer to rows that do not exist",
            broken.len()
        ))
        .into());
    }
    Ok(())
}
