//! Fresh databases for tests: a SQLite file in a temporary folder, or a new
//! PostgreSQL database per test on the server named by
//! `HOTLINE_TEST_DATABASE_URL` (scripts/test and .ci/run set it).
#![allow(dead_code)]

use std::sync::Arc;

use hotline::store::{self, Store};
use sqlx::{Connection, Executor};

pub struct TestDb {
    pub store: Arc<Store>,
    pub url: String,
    /// Keeps the SQLite folder alive.
    pub dir: tempfile::TempDir,
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("hotline.db").display());
    let store = store::open(&url).await.expect("open sqlite");
    TestDb { store, url, dir }
}

/// The PostgreSQL server for tests. Missing configuration is a failure, not
/// a skip: set HOTLINE_TEST_SKIP_POSTGRES=1 to run without it on purpose.
pub fn pg_admin_url() -> Option<String> {
    if std::env::var("HOTLINE_TEST_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
        return None;
    }
    Some(std::env::var("HOTLINE_TEST_DATABASE_URL").expect(
        "HOTLINE_TEST_DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test); \
         set HOTLINE_TEST_SKIP_POSTGRES=1 to skip the PostgreSQL runs deliberately",
    ))
}

pub async fn postgres() -> Option<TestDb> {
    let admin = pg_admin_url()?;
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to the test PostgreSQL");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Databases of earlier runs older than an hour are dropped here.
    let old: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'hotline_t_%'")
            .fetch_all(&mut conn)
            .await
            .unwrap_or_default();
    for (name,) in old {
        let ts: u64 = name
            .split('_')
            .nth(2)
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        if ts + 3600 < now {
            let _ = conn
                .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                .await;
        }
    }
    let name = format!("hotline_t_{now}_{:08x}", rand::random::<u32>());
    conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await
        .expect("create test database");
    let mut url = reqwest::Url::parse(&admin).expect("database URL");
    url.set_path(&format!("/{name}"));
    let url = url.to_string();
    let store = store::open(&url).await.expect("open postgres");
    Some(TestDb {
        store,
        url,
        dir: tempfile::tempdir().expect("tempdir"),
    })
}

/// Runs an async contract case against both backends.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::support::db::sqlite().await;
                    super::$name(db).await;
                }
            )+
        }
        mod postgres_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::support::db::postgres().await {
                        super::$name(db).await;
                    }
                }
            )+
        }
    };
}
