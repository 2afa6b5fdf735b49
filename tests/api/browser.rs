//! The workspace in a real headless Chromium (Debian's chromium and
//! chromium-driver, installed by scripts/bootstrap), driven over WebDriver:
//! log in → open a draft → play the audio → seek from the transcript → edit
//! the text → confirm → the report is confirmed in the store; an
//! administrator closes the line for a while and posts an announcement.
//! Screenshots of the queue, the draft view and the line's administration
//! are saved in target/browser/.

use crate::support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use support::workspace::{self, ADMIN, AGENT};

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

/// A headless Chromium session (its profile folder kept alive with it).
async fn browser(url: &str) -> (fantoccini::Client, tempfile::TempDir) {
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
        .connect(url)
        .await
        .expect("WebDriver session");
    (c, profile)
}

/// Types `text` into the field `css`.
async fn type_into(c: &fantoccini::Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

async fn click(c: &fantoccini::Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Logs in on the login page the browser is at, and waits until the
/// browser has left it (a navigation started earlier would cancel the
/// login's POST).
async fn log_in(c: &fantoccini::Client, who: (&str, &str)) {
    type_into(c, "#name", who.0).await;
    type_into(c, "#password", who.1).await;
    click(c, "form button[type=submit]").await;
    let t = Instant::now();
    while c.current_url().await.unwrap().path().ends_with("/login") {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "still on the login page"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn screenshots() -> std::path::PathBuf {
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&shots).unwrap();
    shots
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_closes_the_line_and_posts_an_announcement_in_chromium() {
    let w = workspace::start(support::db::sqlite().await).await;
    let (_driver, url) = chromedriver().await;
    let (c, _profile) = browser(&url).await;
    c.goto(&format!("{}/admin", w.base)).await.unwrap();
    log_in(&c, ADMIN).await;
    c.goto(&format!("{}/admin", w.base)).await.unwrap();
    c.wait()
        .for_element(Locator::Css("#override-form"))
        .await
        .unwrap();
    let now = w.db.store.now();
    let until = now + 2 * 3600 * 1000;
    // A datetime-local field's typing order depends on the locale; its value is set as a browser would.
    let set = |css: &'static str, ms: i64| {
        let c = c.clone();
        async move {
            c.execute(
                "document.querySelector(arguments[0]).value = arguments[1];",
                vec![
                    serde_json::json!(css),
                    serde_json::json!(hotline::domain::local_input(ms)),
                ],
            )
            .await
            .unwrap();
        }
    };
    set("#override-until", until).await;
    type_into(&c, "#override-note", "awaria centrali").await;
    click(&c, "#override-form button[type=submit]").await;
    // The page after the post: it offers to end the override.
    c.wait()
        .for_element(Locator::Css("button[value=clear]"))
        .await
        .unwrap();
    let html = c.source().await.unwrap();
    assert!(
        html.contains("Zamknięte do") && html.contains("awaria centrali"),
        "the override is shown"
    );

    type_into(
        &c,
        "#ann-pl",
        "MPEC wie o awarii ciepła na Podgórzu, zgłoszenia przyjmuje 993.",
    )
    .await;
    type_into(
        &c,
        "#ann-en",
        "MPEC knows of the heating failure in Podgórze.",
    )
    .await;
    set("#ann-until", until).await;
    click(&c, "#announcement-form button[type=submit]").await;
    c.wait()
        .for_element(Locator::Css("#line table"))
        .await
        .unwrap();
    std::fs::write(
        screenshots().join("admin-line.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    c.close().await.unwrap();

    let over =
        w.db.store
            .active_override(w.db.store.now())
            .await
            .unwrap()
            .expect("an override in force");
    assert!(!over.staffed);
    assert_eq!(over.set_by, ADMIN.0);
    assert!(
        (over.until - until).abs() < 60_000,
        "until the minute given"
    );
    let playing =
        w.db.store
            .active_announcements(w.db.store.now())
            .await
            .unwrap();
    assert_eq!(playing.len(), 1);
    assert!(
        playing[0].text_pl.starts_with("MPEC wie") && playing[0].text_en.starts_with("MPEC knows")
    );
    let audit = w.db.store.audit_log(10).await.unwrap();
    for action in ["line_override", "announcement_added"] {
        assert!(
            audit
                .iter()
                .any(|e| e.action == action && e.actor == ADMIN.0),
            "{action} audited"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_confirms_a_draft_in_chromium() {
    let w = workspace::start(support::db::sqlite().await).await;
    let (_driver, url) = chromedriver().await;
    let (c, _profile) = browser(&url).await;
    let shots = screenshots();

    c.goto(&format!("{}/queue", w.base)).await.unwrap();
    assert!(
        c.current_url().await.unwrap().path().ends_with("/login"),
        "anonymous agents are sent to the login page"
    );
    log_in(&c, AGENT).await;
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

    // An urgent draft arrives: first in the queue with its badge, and
    // counted in the header.
    let (_, gas, _, _) = crate::escalation::report(
        &w.db.store,
        9,
        "Czuć gaz na klatce przy Długiej.",
        crate::escalation::heard("czuć gaz"),
    )
    .await;
    c.goto(&format!("{}/queue", w.base)).await.unwrap();
    let first_row = c
        .wait()
        .for_element(Locator::Css("table.reports tbody tr"))
        .await
        .unwrap();
    let row = first_row.text().await.unwrap();
    assert!(row.contains(&gas) && row.contains("Pilne"), "{row}");
    let badge = c.find(Locator::Css("tbody tr .tag.urgent")).await.unwrap();
    assert!(badge.is_displayed().await.unwrap());
    assert_eq!(
        badge.attr("title").await.unwrap().as_deref(),
        Some("w nagraniu padło „czuć gaz”")
    );
    let count = c.find(Locator::Css("#urgent-count")).await.unwrap();
    assert!(count.is_displayed().await.unwrap());
    assert_eq!(count.text().await.unwrap(), "Pilne: 1");
    std::fs::write(
        shots.join("queue-urgent.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();

    // A draft the caller left under "other": one click takes the
    // category the transcript suggests.
    let unsorted = workspace::draft_in(
        &w.db.store,
        w.db.dir.path(),
        10,
        "Nie świeci latarnia przy przystanku",
        "other",
    )
    .await;
    c.goto(&format!("{}/reports/{unsorted}", w.base))
        .await
        .unwrap();
    let offer = c
        .wait()
        .for_element(Locator::Css("#suggest"))
        .await
        .unwrap();
    assert_eq!(offer.text().await.unwrap(), "Oświetlenie uliczne");
    offer.click().await.unwrap();
    let chosen = c
        .execute("return document.getElementById('category').value", vec![])
        .await
        .unwrap();
    assert_eq!(chosen, "lighting");
    std::fs::write(
        shots.join("draft-suggestion.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    click(&c, "#confirm").await;
    let t = Instant::now();
    loop {
        let r = support::reports(&w.db.store)
            .await
            .into_iter()
            .find(|r| r.number == unsorted)
            .unwrap();
        if r.status == "confirmed" {
            assert_eq!(r.category_code(), "lighting");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "not confirmed");
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

/// Waits until the page's text holds `needle`.
async fn until_text(c: &fantoccini::Client, needle: &str) {
    let t = Instant::now();
    loop {
        // A page being replaced answers with a stale element: read again.
        let body = match c.find(Locator::Css("body")).await {
            Ok(b) => b.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if body.contains(needle) {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the page never said {needle:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Decisions by keyboard: Ctrl+Enter on an emptied draft is refused in
/// words and saves nothing; Ctrl+Shift+X moves to the reason, Enter there
/// rejects; the next draft names the decision and Ctrl+Z undoes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_by_keyboard_with_undo_in_chromium() {
    use fantoccini::key::Key;
    let w = workspace::start(support::db::sqlite().await).await;
    let (_driver, url) = chromedriver().await;
    let (c, _profile) = browser(&url).await;
    let shots = screenshots();
    let first = &w.drafts[0];
    let number = hotline::domain::ReportNumber::parse(first).unwrap();
    c.goto(&format!("{}/reports/{first}", w.base))
        .await
        .unwrap();
    log_in(&c, AGENT).await;
    c.goto(&format!("{}/reports/{first}", w.base))
        .await
        .unwrap();
    let text = c.wait().for_element(Locator::Css("#text")).await.unwrap();
    text.clear().await.unwrap();
    text.send_keys(&(Key::Control + &Key::Enter)).await.unwrap();
    until_text(&c, "Aby potwierdzić, wpisz treść zgłoszenia.").await;
    std::fs::write(
        shots.join("confirm-refused.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    let r = w.db.store.get_report(&number).await.unwrap().unwrap();
    assert_eq!(r.status, "draft");
    assert!(
        r.text.is_some_and(|t| t.contains("Dziura w jezdni")),
        "nothing saved"
    );

    let text = c.find(Locator::Css("#text")).await.unwrap();
    text.send_keys("Martwy ptak na chodniku").await.unwrap();
    text.send_keys(&(Key::Control + &Key::Shift + "x"))
        .await
        .unwrap();
    let active = c.active_element().await.unwrap();
    assert_eq!(active.attr("id").await.unwrap().as_deref(), Some("reason"));
    // The fourth reason: not a city matter.
    for _ in 0..4 {
        active.send_keys(&Key::Down.to_string()).await.unwrap();
    }
    active.send_keys(&Key::Enter.to_string()).await.unwrap();
    until_text(&c, &format!("Zgłoszenie {first}: odrzucone.")).await;
    let r = w.db.store.get_report(&number).await.unwrap().unwrap();
    assert_eq!(
        (r.status.as_str(), r.reject_reason.as_deref()),
        ("rejected", Some("not_city"))
    );
    std::fs::write(
        shots.join("decided-undo.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    let undo = c.find(Locator::Css("#undo")).await.unwrap();
    undo.send_keys(&(Key::Control + "z")).await.unwrap();
    until_text(&c, "Decyzja cofnięta").await;
    let r = w.db.store.get_report(&number).await.unwrap().unwrap();
    assert_eq!(r.status, "draft");

    // A typical draft with an address heard: counted from the open page,
    // one click on the hint and Ctrl+Enter confirm it.
    let second = &w.drafts[1];
    let r2 =
        w.db.store
            .get_report(&hotline::domain::ReportNumber::parse(second).unwrap())
            .await
            .unwrap()
            .unwrap();
    w.db.store
        .save_address_candidates(
            r2.id,
            &[hotline::domain::AddressCandidate {
                street: "Długa".into(),
                house: None,
                score: 0.9,
                heard: "Długiej".into(),
            }],
            w.db.store.now(),
        )
        .await
        .unwrap();
    c.goto(&format!("{}/reports/{second}", w.base))
        .await
        .unwrap();
    let mut actions = 0;
    c.wait()
        .for_element(Locator::Css("button.cand"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    actions += 1;
    c.active_element()
        .await
        .unwrap()
        .send_keys(&(Key::Control + &Key::Enter))
        .await
        .unwrap();
    actions += 1;
    until_text(&c, &format!("Zgłoszenie {second}: potwierdzone.")).await;
    let r2 = w.db.store.get_report(&r2.number).await.unwrap().unwrap();
    assert_eq!(
        (r2.status.as_str(), r2.address.as_deref()),
        ("confirmed", Some("Długa"))
    );
    println!("actions to confirm a draft with an address hint: {actions} (target ≤ 3)");
    assert!(actions <= 3);

    // Time from the login form to the first draft on screen (a browser of
    // its own: logged out, a cold profile).
    let fresh = workspace::draft(&w.db.store, w.db.dir.path(), 40, "Dziura w chodniku").await;
    let (c2, _profile2) = browser(&url).await;
    c2.goto(&format!("{}/queue", w.base)).await.unwrap();
    let started = Instant::now();
    log_in(&c2, AGENT).await;
    c2.wait()
        .for_element(Locator::LinkText(&fresh))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c2.wait().for_element(Locator::Css("#text")).await.unwrap();
    println!(
        "login to the first draft on screen: {} ms",
        started.elapsed().as_millis()
    );
    c2.close().await.unwrap();
    c.close().await.unwrap();
}

/// Beyond the happy path, in Chromium: the next page of a long queue, a
/// search by number typed into the box, a missed call called back and
/// filed as a new linked draft, and an administrator reopening a decision
/// once the undo is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_search_callbacks_and_reopen_in_chromium() {
    use fantoccini::key::Key;
    let w = workspace::start(support::db::sqlite().await).await;
    for n in 0..52 {
        workspace::draft(&w.db.store, w.db.dir.path(), 300 + n, "Dziura w chodniku").await;
    }
    let (_driver, url) = chromedriver().await;
    let (c, _profile) = browser(&url).await;
    let shots = screenshots();
    let numbers = |c: fantoccini::Client| async move {
        let mut out = Vec::new();
        for cell in c.find_all(Locator::Css("td.number a")).await.unwrap() {
            out.push(cell.text().await.unwrap());
        }
        out
    };
    c.goto(&format!("{}/queue", w.base)).await.unwrap();
    log_in(&c, ADMIN).await;
    c.goto(&format!("{}/queue", w.base)).await.unwrap();
    until_text(&c, "Pokazano 50 z 54.").await;
    let first = numbers(c.clone()).await;
    assert_eq!(first.len(), 50);
    click(&c, "#next-page").await;
    until_text(&c, "Pokazano 4 z 54.").await;
    let second = numbers(c.clone()).await;
    assert_eq!(second.len(), 4);
    assert!(second.iter().all(|n| !first.contains(n)), "no report twice");

    // The number as an agent types it, without the dash.
    let wanted = &w.drafts[1];
    let search = c.find(Locator::Css("#search")).await.unwrap();
    search.send_keys(&wanted.replace('-', "")).await.unwrap();
    search.send_keys(&Key::Enter.to_string()).await.unwrap();
    until_text(&c, "Pokazano 1 z 1.").await;
    assert_eq!(numbers(c.clone()).await, vec![wanted.clone()]);
    std::fs::write(shots.join("search.png"), c.screenshot().await.unwrap()).unwrap();

    // A missed call: called back, the caller tells, a new draft opens.
    c.goto(&format!("{}/reports/{}", w.base, w.missed))
        .await
        .unwrap();
    click(&c, "button[value='callback:filed']").await;
    until_text(&c, "Nowe zgłoszenie przyjęte przez telefon").await;
    let follows = c.find(Locator::Css("#follows a")).await.unwrap();
    assert_eq!(follows.text().await.unwrap(), w.missed);
    std::fs::write(
        shots.join("callback-filed.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    let missed = hotline::domain::ReportNumber::parse(&w.missed).unwrap();
    let m = w.db.store.get_report(&missed).await.unwrap().unwrap();
    assert_eq!(m.status, "closed");

    // Reopen: an administrator's, after the 30 s undo.
    let n0 = &w.drafts[0];
    c.goto(&format!("{}/reports/{n0}", w.base)).await.unwrap();
    c.wait()
        .for_element(Locator::Css("#text"))
        .await
        .unwrap()
        .send_keys(&(Key::Control + &Key::Enter))
        .await
        .unwrap();
    until_text(&c, &format!("Zgłoszenie {n0}: potwierdzone.")).await;
    w.db.store.clock().advance(31_000);
    c.goto(&format!("{}/reports/{n0}", w.base)).await.unwrap();
    click(&c, "#reopen").await;
    until_text(&c, "Zgłoszenie otwarte ponownie").await;
    let number = hotline::domain::ReportNumber::parse(n0).unwrap();
    let r = w.db.store.get_report(&number).await.unwrap().unwrap();
    assert_eq!(r.status, "draft");
    c.close().await.unwrap();
}

/// axe-core (installed by scripts/bootstrap) injected into the page:
/// its violations as (rule, impact, nodes, help).
async fn axe(c: &fantoccini::Client) -> Vec<(String, String, u64, String)> {
    let dir = std::env::var_os("HOTLINE_AXE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/hotline/axe")
        });
    let source = std::fs::read_to_string(dir.join("node_modules/axe-core/axe.min.js"))
        .expect("axe-core is missing: run scripts/bootstrap");
    c.execute(&format!("{source}\nreturn true;"), vec![])
        .await
        .unwrap();
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] }).then(r => done(r.violations.map(v =>
               [v.id, v.impact || 'minor', v.nodes.length, v.help])));",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(found).unwrap()
}

/// Every page at 1366 and 390 px (a phone), in Polish and English: the
/// queue is a list of cards and the draft one column at 390 px (no page
/// scrolls sideways), and axe-core finds no serious or critical
/// violation (the rest are printed). Screenshots of each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_fit_a_phone_and_pass_axe_in_chromium() {
    let w = workspace::start(support::db::sqlite().await).await;
    let (_driver, url) = chromedriver().await;
    let (c, _profile) = browser(&url).await;
    let shots = screenshots();
    let mut report = Vec::new();
    c.goto(&format!("{}/login", w.base)).await.unwrap();
    for (rule, impact, nodes, help) in axe(&c).await {
        report.push(format!("login: {impact} {rule} ({nodes}): {help}"));
    }
    log_in(&c, ADMIN).await;
    let pages = [
        ("queue", "/queue?status=all".to_owned()),
        ("draft", format!("/reports/{}", w.drafts[0])),
        ("missed", format!("/reports/{}", w.missed)),
        ("missed-list", "/missed".to_owned()),
        ("admin", "/admin".to_owned()),
    ];
    for ui in ["pl", "en"] {
        for (width, height) in [(1366, 900), (390, 844)] {
            c.set_window_size(width, height).await.unwrap();
            for (name, path) in &pages {
                let sep = if path.contains('?') { '&' } else { '?' };
                c.goto(&format!("{}{path}{sep}ui={ui}", w.base))
                    .await
                    .unwrap();
                c.wait().for_element(Locator::Css("main h1")).await.unwrap();
                let fits = c
                    .execute(
                        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
                        vec![],
                    )
                    .await
                    .unwrap();
                let (scroll, client) = (fits[0].as_i64().unwrap(), fits[1].as_i64().unwrap());
                assert!(
                    scroll <= client,
                    "{name} ({ui}) at {width} px scrolls sideways: {scroll} > {client}"
                );
                if *name == "draft" && width == 390 {
                    let on_top = c
                        .execute(
                            "return document.querySelector('#player').getBoundingClientRect().top \
                               < document.querySelector('.facts').getBoundingClientRect().top;",
                            vec![],
                        )
                        .await
                        .unwrap();
                    assert_eq!(on_top, true, "the player above the facts on a phone");
                }
                for (rule, impact, nodes, help) in axe(&c).await {
                    report.push(format!(
                        "{name} {ui} {width}: {impact} {rule} ({nodes}): {help}"
                    ));
                }
                let shot = shots.join(format!("{name}-{ui}-{width}.png"));
                std::fs::write(shot, c.screenshot().await.unwrap()).unwrap();
            }
        }
    }
    c.close().await.unwrap();
    println!("axe-core: {} violations", report.len());
    for r in &report {
        println!("  {r}");
    }
    let grave: Vec<&String> = report
        .iter()
        .filter(|r| r.contains(": serious ") || r.contains(": critical "))
        .collect();
    assert!(grave.is_empty(), "serious or critical: {grave:#?}");
}
