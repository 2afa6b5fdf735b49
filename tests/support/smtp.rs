//! A real SMTP server on loopback for the escalation tests: aiosmtpd
//! (PyPI, in the virtualenv `scripts/bootstrap` prepares) running
//! `smtp_server.py`, which stores each accepted message as a file and can
//! refuse the first ones with a temporary error.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SmtpServer {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

/// One received message: its envelope recipients and its text.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub raw: String,
}

impl Mail {
    fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(self.raw.as_bytes())
            .expect("a MIME message")
    }

    /// The subject as a mail client shows it.
    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_owned()
    }

    /// The Message-ID, without its angle brackets.
    pub fn message_id(&self) -> String {
        self.parsed().message_id().unwrap_or_default().to_owned()
    }

    /// The plain-text part, decoded.
    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }

    /// The HTML part, decoded.
    pub fn html(&self) -> String {
        self.parsed()
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }
}

fn python() -> PathBuf {
    let venv = std::env::var_os("HOTLINE_SMTP_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/hotline/aiosmtpd")
        });
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/bootstrap (it installs aiosmtpd)",
        python.display()
    );
    python
}

impl SmtpServer {
    /// Starts a server that refuses the first `refuse_first` messages.
    pub fn start(refuse_first: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(dir.path())
            .arg(refuse_first.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the SMTP server's port");
        Self { port, dir, child }
    }

    /// `smtp://127.0.0.1:<port>` (no TLS offered: plain, as on loopback).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages accepted so far, in order.
    pub fn mails(&self) -> Vec<Mail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| {
                let raw = std::fs::read_to_string(p).unwrap();
                let (first, rest) = raw.split_once("\r\n").unwrap();
                Mail {
                    to: first
                        .trim_start_matches("X-Envelope-To: ")
                        .split(',')
                        .map(str::to_owned)
                        .collect(),
                    raw: rest.to_owned(),
                }
            })
            .collect()
    }

    /// Waits until `n` messages arrived (or `timeout` passed) and returns
    /// them.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Mail> {
        let t = Instant::now();
        loop {
            let mails = self.mails();
            if mails.len() >= n || t.elapsed() > timeout {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
