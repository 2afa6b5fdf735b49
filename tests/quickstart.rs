//! The README's quick start, with real processes: `hotline serve` on the
//! embedded defaults (SQLite, in-server worker, the real model), a call
//! placed with `hotline call`, the draft seen in `hotline reports list`, and
//! a graceful shutdown on SIGTERM.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn hotline(data: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hotline"));
    c.env("HOTLINE_DATA_DIR", data)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("HOTLINE_DATABASE_URL");
    c
}

#[test]
fn serve_call_and_list() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = hotline(&data)
        .arg("serve")
        .env("HOTLINE_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();

    let wav = support::speech("pl/pl_neon_005.wav");
    let call = hotline(&data)
        .args(["call", "--server", &url, "--digits", "1,2", "--wav"])
        .arg(&wav)
        .output()
        .unwrap();
    let heard = String::from_utf8_lossy(&call.stdout);
    assert!(
        call.status.success(),
        "{heard}\n{}",
        String::from_utf8_lossy(&call.stderr)
    );
    assert!(
        heard.contains("Oświetlenie uliczne") && heard.contains("Dziękujemy"),
        "{heard}"
    );

    let t = Instant::now();
    let report = loop {
        let out = hotline(&data)
            .args(["reports", "list", "--format", "json"])
            .output()
            .unwrap();
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let r = list[0].clone();
        if r["status"] == "draft" {
            break r;
        }
        assert!(
            t.elapsed() < Duration::from_secs(90),
            "no draft in time: {list}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(report["category"], "lighting");
    let text = hotline::prompts::normalize(report["text"].as_str().unwrap());
    assert_eq!(text, "ile to kosztuje");
    let number = report["number"].as_str().unwrap();
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let spoken: String = digits
        .chars()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    assert!(
        heard.contains(&spoken),
        "the caller heard {number} read back"
    );

    let show = hotline(&data)
        .args(["reports", "show", number])
        .output()
        .unwrap();
    let show = String::from_utf8_lossy(&show.stdout);
    assert!(
        show.contains("transcribed") && show.contains("+48600100200"),
        "{show}"
    );

    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let t = Instant::now();
    loop {
        if let Some(status) = server.try_wait().unwrap() {
            assert!(
                status.success(),
                "graceful shutdown exits cleanly: {status}"
            );
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
