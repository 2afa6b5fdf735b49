//! The workspace in a real headless Chromium (Debian's chromium and
//! chromium-driver, installed by scripts/bootstrap), driven over WebDriver:
//! log in → open a draft → play the audio → seek from the transcript → edit
//! the text → confirm → the report is confirmed in the store. Screenshots of
//! the queue and the draft view are saved in target/browser/.

use crate::support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use support::workspace::{self, AGENT};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn chromedriver() -> (Driver, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian package chromium-driver; scripts/bootstrap installs it)");
    let url = format!("http://127.0.0.1:{port}");
    let t = Instant::now();
    while reqwest::get(format!("{url}/status")).await.is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (Driver(child), url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_confirms_a_draft_in_chromium() {
    let w = workspace::start(support::db::sqlite().await).await;
    let (_driver, url) = chromedriver().await;
    let profile = tempfile::tempdir().unwrap();
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", "--disable-quic", "--no-first-run", "--disable-component-update",
                "--disable-sync", "--autoplay-policy=no-user-gesture-required", "--window-size=1366,900",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }
    });
    let caps = caps.as_object().unwrap().clone();
    let http = hyper_util::client::legacy::connect::HttpConnector::new();
    let c = ClientBuilder::new(http)
        .capabilities(caps)
        .connect(&url)
        .await
        .expect("WebDriver session");
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&shots).unwrap();

    c.goto(&format!("{}/queue", w.base)).await.unwrap();
    assert!(
        c.current_url().await.unwrap().path().ends_with("/login"),
        "anonymous agents are sent to the login page"
    );
    c.find(Locator::Css("#name"))
        .await
        .unwrap()
        .send_keys(AGENT.0)
        .await
        .unwrap();
    c.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(AGENT.1)
        .await
        .unwrap();
    c.find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("table.reports"))
        .await
        .unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/queue"));
    std::fs::write(shots.join("queue.png"), c.screenshot().await.unwrap()).unwrap();

    let first = &w.drafts[0];
    c.find(Locator::LinkText(first))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Css("#player")).await.unwrap();
    // Play, then seek by clicking the second transcript segment (starts at 1.2 s).
    c.execute(
        "return document.getElementById('player').play().then(() => true)",
        vec![],
    )
    .await
    .unwrap();
    let t = Instant::now();
    loop {
        let v = c.execute("const p = document.getElementById('player'); return [p.paused, p.currentTime, p.duration];", vec![]).await.unwrap();
        if v[0] == false && v[1].as_f64().unwrap_or(0.0) > 0.1 {
            assert!(v[2].as_f64().unwrap() > 2.0, "the recording loaded: {v}");
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "audio never played: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.find(Locator::Css("button.seg.low"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let at = c
        .execute(
            "return document.getElementById('player').currentTime",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        at.as_f64().unwrap() >= 1.2,
        "clicking a segment seeks: {at}"
    );
    std::fs::write(shots.join("draft.png"), c.screenshot().await.unwrap()).unwrap();

    let text = c.find(Locator::Css("#text")).await.unwrap();
    text.clear().await.unwrap();
    text.send_keys("Głęboka dziura w jezdni, ulica Długa 12.")
        .await
        .unwrap();
    c.find(Locator::Css("#address"))
        .await
        .unwrap()
        .send_keys("Długa 12")
        .await
        .unwrap();
    c.find(Locator::Css("#confirm"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // On to the next draft.
    let t = Instant::now();
    while !c
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with(&w.drafts[1])
    {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "did not move on after confirming"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.close().await.unwrap();

    let r =
        w.db.store
            .get_report(&hotline::domain::ReportNumber::parse(first).unwrap())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(r.status, "confirmed");
    assert_eq!(
        r.text.as_deref(),
        Some("Głęboka dziura w jezdni, ulica Długa 12.")
    );
    assert_eq!(r.address.as_deref(), Some("Długa 12"));
    assert_eq!(r.decided_by.as_deref(), Some(AGENT.0));
}
