//! `hotline serve` as a separate process (its own memory, its own metrics),
//! the CLI against the same database, and the login form.
#![allow(dead_code)]

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::db::TestDb;

pub struct Server {
    pub base: String,
    pub child: Child,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory, in MB, from /proc.
    pub fn rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap();
        kb / 1024.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn env_of(db: &TestDb) -> Vec<(String, String)> {
    vec![
        ("HOTLINE_DATABASE_URL".into(), db.url.clone()),
        (
            "HOTLINE_DATA_DIR".into(),
            db.dir.path().display().to_string(),
        ),
    ]
}

/// `hotline serve` on a free port, without the model (no worker in it),
/// with `extra` environment; returns once it answers.
pub async fn spawn(db: &TestDb, extra: &[(&str, &str)]) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut c = Command::new(env!("CARGO_BIN_EXE_hotline"));
    c.arg("serve")
        .env("RUST_LOG", "error")
        .env_remove("DATABASE_URL")
        .env("HOTLINE_LISTEN", format!("127.0.0.1:{port}"))
        .env("HOTLINE_PUBLIC_URL", &base)
        .env("HOTLINE_WORKER_IN_SERVER", "false")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    for (k, v) in env_of(db) {
        c.env(k, v);
    }
    for (k, v) in extra {
        c.env(k, v);
    }
    let server = Server {
        base: base.clone(),
        child: c.spawn().unwrap(),
    };
    healthy(&base).await;
    server
}

/// Returns once `base` answers `/healthz` (at most 30 s).
pub async fn healthy(base: &str) {
    let t = Instant::now();
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `hotline <args>` on the test's database, `stdin` written to it.
pub fn cli(db: &TestDb, args: &[&str], stdin: &str) -> Output {
    cli_with(db, &[], args, stdin)
}

/// [`cli`] with more environment (`HOTLINE_CLOCK_START`, …).
pub fn cli_with(db: &TestDb, env: &[(&str, &str)], args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut c = Command::new(env!("CARGO_BIN_EXE_hotline"));
    c.args(args)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env_of(db) {
        c.env(k, v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `hotline <args>`, which must succeed.
pub fn cli_ok(db: &TestDb, args: &[&str], stdin: &str) -> String {
    let out = cli(db, args, stdin);
    assert!(
        out.status.success(),
        "hotline {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of one sample line of `/metrics` (`name{labels}`), or 0.
pub async fn metric(base: &str, series: &str) -> f64 {
    let body = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    body.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// A login attempt with a fresh form (its CSRF cookie) and, when given, an
/// `X-Forwarded-For`. Returns the status and the page.
pub async fn login(
    base: &str,
    name: &str,
    password: &str,
    forwarded: Option<&str>,
) -> (u16, String, reqwest::Client) {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = c
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = page[at..at + page[at..].find('"').unwrap()].to_owned();
    let mut req = c.post(format!("{base}/login")).form(&[
        ("name", name),
        ("password", password),
        ("csrf", &csrf),
    ]);
    if let Some(ip) = forwarded {
        req = req.header("X-Forwarded-For", ip);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default(), c)
}
