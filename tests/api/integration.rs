//! Integration and operations: Open311 output (JSON and XML, field by
//! field), signed outbound webhooks with retries, address hints, metrics,
//! retention and backups. Both backends where a database is involved.

use crate::both_backends;
use crate::support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hotline::address::Streets;
use hotline::config::{Config, Secret, WebhookTarget};
use hotline::domain::{now_ms, ReportNumber};
use hotline::prompts::PromptSource;
use hotline::store::{Decision, Report, ReportEdit};
use hotline::worker::{Step, Worker, WorkerOptions};
use serde_json::Value;
use support::db::TestDb;
use support::workspace;

async fn get(url: &str) -> (StatusCode, String, String) {
    let r = reqwest::get(url).await.unwrap();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status(), ct, r.text().await.unwrap())
}

async fn report(db: &TestDb, number: &str) -> Report {
    db.store
        .get_report(&ReportNumber::parse(number).unwrap())
        .await
        .unwrap()
        .unwrap()
}

/// Confirms the first draft (with text and address) and rejects the second.
async fn decide(db: &TestDb, w: &workspace::Workspace) -> (Report, Report) {
    let a = report(db, &w.drafts[0]).await;
    let a = db
        .store
        .edit_report(
            a.id,
            a.version,
            &ReportEdit {
                text: Some("Dziura w jezdni na Długiej 12".into()),
                address: Some("Długa 12".into()),
                category: None,
            },
            "jan",
            hotline::domain::now_ms(),
        )
        .await
        .unwrap();
    let a = db
        .store
        .decide_report(
            a.id,
            a.version,
            &Decision::Confirm,
            "jan",
            hotline::domain::now_ms(),
        )
        .await
        .unwrap();
    let b = report(db, &w.drafts[1]).await;
    let b = db
        .store
        .decide_report(
            b.id,
            b.version,
            &Decision::Reject {
                reason: hotline::domain::RejectReason::NotCity,
                duplicate_of: None,
            },
            "jan",
            hotline::domain::now_ms(),
        )
        .await
        .unwrap();
    (a, b)
}

async fn open311_output_follows_georeport_v2(db: TestDb) {
    let w = workspace::start(db).await;
    let (confirmed, rejected) = decide(&w.db, &w).await;

    let (status, ct, body) = get(&format!("{}/open311/v2/services.json", w.base)).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/json"));
    let services: Value = serde_json::from_str(&body).unwrap();
    let roads = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_code"] == "roads")
        .unwrap();
    for field in [
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    ] {
        assert!(roads.get(field).is_some(), "service field {field}");
    }
    assert_eq!(roads["service_name"], "Uszkodzenia jezdni i chodników");
    assert_eq!(roads["metadata"], false);
    assert_eq!(roads["type"], "realtime");
    assert_eq!(services.as_array().unwrap().len(), 11);

    let (_, ct, xml) = get(&format!("{}/open311/v2/services.xml", w.base)).await;
    assert!(ct.starts_with("text/xml"));
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "services");
    let first = doc
        .root_element()
        .children()
        .find(|n| n.is_element())
        .unwrap();
    assert_eq!(first.tag_name().name(), "service");
    assert!(first
        .children()
        .any(|c| c.tag_name().name() == "service_code"));

    let (_, _, body) = get(&format!("{}/open311/v2/requests.json", w.base)).await;
    let requests: Value = serde_json::from_str(&body).unwrap();
    let list = requests.as_array().unwrap();
    assert_eq!(list.len(), 2, "only decided reports: {body}");
    let open = list
        .iter()
        .find(|r| r["service_request_id"] == confirmed.number.as_str())
        .unwrap();
    let fields = [
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    ];
    for f in fields {
        assert!(open.get(f).is_some(), "request field {f}");
    }
    assert_eq!(open["status"], "open");
    assert_eq!(open["service_code"], "roads");
    assert_eq!(open["description"], "Dziura w jezdni na Długiej 12");
    assert_eq!(open["address"], "Długa 12");
    assert_eq!(open["media_url"], Value::Null, "no audio");
    let requested = open["requested_datetime"].as_str().unwrap();
    assert!(
        hotline::domain::parse_instant(requested).is_some()
            && (requested.ends_with("+01:00") || requested.ends_with("+02:00")),
        "{requested}"
    );
    let closed = list
        .iter()
        .find(|r| r["service_request_id"] == rejected.number.as_str())
        .unwrap();
    assert_eq!(closed["status"], "closed");
    // A rejected report carries its public reason, not the caller's words.
    assert_eq!(closed["status_notes"], "Sprawa nie należy do zadań miasta.");
    assert_eq!(closed["description"], closed["status_notes"]);
    assert_eq!(closed["address"], "");
    assert!(
        !body.contains("+48600100200") && !body.contains("jan"),
        "no personal data: {body}"
    );

    // Filters.
    let (_, _, body) = get(&format!(
        "{}/open311/v2/requests.json?status=closed",
        w.base
    ))
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&body)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (_, _, body) = get(&format!(
        "{}/open311/v2/requests.json?service_code=lighting,greenery",
        w.base
    ))
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&body)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let tomorrow = hotline::domain::local_iso(now_ms() + 24 * 3600 * 1000);
    let (_, _, body) = get(&format!(
        "{}/open311/v2/requests.json?start_date={}",
        w.base,
        urlencode(&tomorrow)
    ))
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&body)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let (status, _, _) = get(&format!(
        "{}/open311/v2/requests.json?start_date=yesterday",
        w.base
    ))
    .await;
    assert_eq!(status, 400);

    // One request, both formats; drafts are not public.
    let (status, _, xml) = get(&format!(
        "{}/open311/v2/requests/{}.xml",
        w.base, confirmed.number
    ))
    .await;
    assert_eq!(status, 200);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "service_requests");
    let req = doc
        .descendants()
        .find(|n| n.tag_name().name() == "request")
        .unwrap();
    let text = |name: &str| {
        req.children()
            .find(|c| c.tag_name().name() == name)
            .and_then(|c| c.text())
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(text("service_request_id"), confirmed.number.as_str());
    assert_eq!(text("status"), "open");
    assert_eq!(text("address"), "Długa 12");
    let (status, _, body) = get(&format!("{}/open311/v2/requests/{}.json", w.base, w.missed)).await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()[0]["code"],
        404
    );
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Default)]
struct Receiver {
    failures_left: usize,
    got: Vec<(String, Value)>,
    bad_signatures: usize,
}

const SECRET: &str = "city-webhook-secret";

async fn receive(
    State(r): State<Arc<Mutex<Receiver>>>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let mut r = r.lock().unwrap();
    let ts: i64 = headers["x-hotline-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let sig = headers["x-hotline-signature"].to_str().unwrap();
    // What a receiver does: recompute, compare, refuse stale timestamps.
    if sig != hotline::outbound::signature(SECRET, ts, body.as_bytes())
        || (now_ms() / 1000 - ts).abs() > 300
    {
        r.bad_signatures += 1;
        return StatusCode::UNAUTHORIZED;
    }
    if r.failures_left > 0 {
        r.failures_left -= 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    r.got.push((
        headers["x-hotline-event"].to_str().unwrap().to_owned(),
        serde_json::from_str(&body).unwrap(),
    ));
    StatusCode::NO_CONTENT
}

async fn outbound_webhooks_are_signed_and_retried(db: TestDb) {
    let w = workspace::start(db).await;
    let state = Arc::new(Mutex::new(Receiver {
        failures_left: 2,
        ..Default::default()
    }));
    let app = axum::Router::new()
        .route("/hook", post(receive))
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut cfg = Config {
        data_dir: w.db.dir.path().to_owned(),
        ..Default::default()
    };
    cfg.webhooks = vec![WebhookTarget {
        url: url.clone(),
        secret: Secret::new(SECRET),
        include_caller: false,
    }];
    let outbound = hotline::outbound::Outbound::new(
        w.db.store.clone(),
        cfg.webhooks.clone(),
        reqwest::Client::new(),
        cfg.public_base(),
    );
    let mut opts = WorkerOptions::new(1, Duration::from_secs(30), Duration::from_millis(10));
    opts.backoff = Some(Duration::from_millis(10));
    let worker = outbound.register(Worker::new(w.db.store.clone(), opts));

    let (confirmed, rejected) = decide(&w.db, &w).await;
    // City systems hear of a decision once it can no longer be undone.
    assert_eq!(worker.step().await.unwrap(), Step::Idle);
    w.db.store
        .clock()
        .advance(hotline::domain::lifecycle::UNDO_MS + 1_000);
    let mut idle = 0;
    while idle < 50 {
        match worker.step().await.unwrap() {
            Step::Idle => {
                idle += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Step::Ran { .. } => idle = 0,
        }
    }
    let (bad_signatures, got) = {
        let r = state.lock().unwrap();
        (r.bad_signatures, r.got.clone())
    };
    assert_eq!(bad_signatures, 0);
    let events: Vec<&str> = got.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(events.len(), 2, "each decision delivered once: {events:?}");
    assert!(events.contains(&"report.confirmed") && events.contains(&"report.rejected"));
    let (_, body) = got.iter().find(|(e, _)| e == "report.confirmed").unwrap();
    assert_eq!(body["report"]["number"], confirmed.number.as_str());
    assert_eq!(body["report"]["address"], "Długa 12");
    assert_eq!(
        body["report"]["caller"],
        Value::Null,
        "no caller number unless configured"
    );
    let deliveries = w.db.store.recent_deliveries(50).await.unwrap();
    assert_eq!(
        deliveries.len(),
        4,
        "two failed attempts and two deliveries are logged"
    );
    assert_eq!(deliveries.iter().filter(|d| d.error.is_some()).count(), 2);
    assert!(deliveries.iter().all(|d| d.endpoint == url));
    let _ = rejected;
    // The administrator reads them in words: what, for which report, and
    // what came of it; the technical error only behind "szczegóły".
    let (_, _, admin) =
        support::server::login(&w.base, workspace::ADMIN.0, workspace::ADMIN.1, None).await;
    let html = admin
        .get(format!("{}/admin", w.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let table = &html[html.find("id=\"deliveries-h\"").unwrap()..];
    let table = &table[..table.find("</section>").unwrap()];
    for words in [
        "zgłoszenie potwierdzone",
        "zgłoszenie odrzucone",
        "dostarczono (HTTP 204)",
        "odbiorca odrzucił (HTTP 500)",
        confirmed.number.as_str(),
    ] {
        assert!(table.contains(words), "{words}: {table}");
    }
    assert!(
        !table.contains("report.confirmed"),
        "no event codes: {table}"
    );
}

#[test]
fn addresses_are_recognised_in_realistic_phrasings() {
    let streets = Streets::load(&PromptSource::builtin()).unwrap();
    assert!(streets.len() > 150);
    let cases: &[(&str, Option<&str>)] = &[
        (
            "Dzień dobry, jest dziura w jezdni na ulicy Długiej 12.",
            Some("Długa 12"),
        ),
        (
            "Na Długiej przy numerze pięć nie świeci latarnia",
            Some("Długa"),
        ),
        ("ul. Wielicka 25, przy przystanku", Some("Wielicka 25")),
        (
            "Przy alei Mickiewicza naprzeciwko AGH leży drzewo",
            Some("al. Adama Mickiewicza"),
        ),
        (
            "na rondzie Mogilskim zepsuta sygnalizacja",
            Some("Rondo Mogilskie"),
        ),
        (
            "Na osiedlu Piastów koło bloku 20 są śmieci",
            Some("os. Piastów"),
        ),
        ("Zalana piwnica na Karmelickiej 45", Some("Karmelicka 45")),
        (
            "Śmieci na placu Bohaterów Getta",
            Some("pl. Bohaterów Getta"),
        ),
        ("Na ulicy Dietla 50 jest wyrwa", Some("Dietla 50")),
        ("Na ulicy Dłógiej 3 nie świeci lampa", Some("Długa 3")),
        ("na Rynku Głównym przy Sukiennicach", Some("Rynek Główny")),
        ("Przy Zakopiańskiej zerwana sieć", Some("Zakopiańska")),
        ("Nie świeci latarnia, proszę coś z tym zrobić.", None),
        ("Dziękuję bardzo, do widzenia.", None),
    ];
    for (text, want) in cases {
        let found = streets.find(text);
        match want {
            Some(want) => {
                let best = found
                    .first()
                    .unwrap_or_else(|| panic!("nothing found in {text:?}"));
                assert_eq!(best.address(), *want, "{text:?}: {found:?}");
                assert!(best.score >= 0.75);
            }
            None => assert!(found.is_empty(), "{text:?} gave {found:?}"),
        }
    }
}

async fn duplicates_are_suggested_and_hints_shown(db: TestDb) {
    let w = workspace::start(db).await;
    let streets = Streets::load(&PromptSource::builtin()).unwrap();
    for n in &w.drafts {
        let r = report(&w.db, n).await;
        w.db.store
            .save_address_candidates(
                r.id,
                &streets.find(r.text.as_deref().unwrap()),
                hotline::domain::now_ms(),
            )
            .await
            .unwrap();
    }
    let first = report(&w.db, &w.drafts[0]).await;
    let dups =
        w.db.store
            .likely_duplicates(&first, 7 * 24 * 3600 * 1000)
            .await
            .unwrap();
    assert_eq!(
        dups.iter().map(|r| r.number.clone()).collect::<Vec<_>>(),
        vec![w.drafts[1].clone()],
        "same category, same street"
    );
    let other =
        w.db.store
            .edit_report(
                dups[0].id,
                dups[0].version,
                &ReportEdit {
                    category: Some("lighting".into()),
                    ..Default::default()
                },
                "t",
                hotline::domain::now_ms(),
            )
            .await
            .unwrap();
    assert!(
        w.db.store
            .likely_duplicates(&first, 7 * 24 * 3600 * 1000)
            .await
            .unwrap()
            .is_empty(),
        "another category is no duplicate"
    );
    let _ = other;
}

async fn metrics_are_exposed_and_move(db: TestDb) {
    let mut cfg = Config {
        data_dir: db.dir.path().to_owned(),
        ..Default::default()
    };
    cfg.telephony.account_sid = "ACmetrics".into();
    cfg.telephony.auth_token = Secret::new("metrics-token");
    let base = support::serve(cfg, db.store.clone()).await;
    let calls = |m: &str| -> f64 {
        m.lines()
            .filter(|l| {
                l.starts_with("hotline_calls_total{") && l.contains("outcome=\"completed\"")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let (_, _, before) = get(&format!("{base}/metrics")).await;
    let opts = hotline::simulator::CallOptions {
        server: base.clone(),
        account_sid: "ACmetrics".into(),
        auth_token: "metrics-token".into(),
        from: "+48600100200".into(),
        to: "+48126165555".into(),
        keys: vec![Some("1".into()), Some("1".into())],
        interactive: false,
        wav: Some(support::speech("pl/pl_art_001.wav")),
        empty_recordings: 0,
        hangup_after: None,
        wait: Duration::ZERO,
        quiet: true,
        retry_for: Duration::ZERO,
        keep_serving: false,
        dial_outcome: "no-answer".into(),
    };
    hotline::simulator::call(opts).await.unwrap();
    let (status, ct, after) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/plain"));
    assert!(
        calls(&after) >= calls(&before) + 1.0,
        "calls counter moved:\n{after}"
    );
    assert!(
        after.contains("hotline_webhook_seconds_bucket{route=\"ivr\""),
        "webhook latency histogram:\n{after}"
    );
    assert!(
        after.contains("hotline_jobs{kind=\"fetch_recording\",status=\"queued\"} 1"),
        "queue depth by kind:\n{after}"
    );
    assert!(after.contains("hotline_reports{status=\"awaiting_audio\"}"));
    let (ready, _, text) = get(&format!("{base}/readyz")).await;
    assert_eq!(ready, 200, "{text}");
}

async fn retention_deletes_only_what_it_should(db: TestDb) {
    let w = workspace::start(db).await;
    let third = workspace::draft(&w.db.store, w.db.dir.path(), 3, "Przewrócone drzewo").await;
    let (confirmed, rejected) = decide(&w.db, &w).await;
    let path_of = |number: String| {
        let store = w.db.store.clone();
        async move {
            store
                .report_detail(&ReportNumber::parse(&number).unwrap())
                .await
                .unwrap()
                .unwrap()
                .recordings[0]
                .local_path
                .clone()
        }
    };
    let confirmed_file =
        w.db.dir
            .path()
            .join(path_of(confirmed.number.to_string()).await.unwrap());
    let draft_file = w.db.dir.path().join(path_of(third.clone()).await.unwrap());
    let r = hotline::retention::Retention {
        store: w.db.store.clone(),
        storage: hotline::storage::Storage::directory(w.db.dir.path()).unwrap(),
        audio_days: 30,
    };
    assert_eq!(
        r.sweep(now_ms()).await.unwrap(),
        0,
        "nothing is old enough yet"
    );
    assert!(confirmed_file.exists());
    let later = now_ms() + 31 * 24 * 3600 * 1000;
    assert_eq!(
        r.sweep(later).await.unwrap(),
        2,
        "the confirmed and the rejected report"
    );
    assert!(!confirmed_file.exists(), "audio file deleted");
    assert!(
        draft_file.exists(),
        "audio of a draft waiting for an agent is kept"
    );
    let c = report(&w.db, confirmed.number.as_str()).await;
    assert_eq!(
        (c.audio_status.as_str(), c.text.as_deref()),
        ("deleted", Some("Dziura w jezdni na Długiej 12")),
        "text stays"
    );
    assert_eq!(
        report(&w.db, rejected.number.as_str()).await.audio_status,
        "deleted"
    );
    assert_eq!(report(&w.db, &third).await.audio_status, "stored");
    assert_eq!(report(&w.db, &w.missed).await.status, "missed_call");
    assert_eq!(r.sweep(later).await.unwrap(), 0, "idempotent");
    let disabled = hotline::retention::Retention { audio_days: 0, ..r };
    assert_eq!(
        disabled.sweep(later * 2).await.unwrap(),
        0,
        "0 keeps audio forever"
    );
    let d =
        w.db.store
            .report_detail(&confirmed.number)
            .await
            .unwrap()
            .unwrap();
    assert!(d
        .audit
        .iter()
        .any(|e| e.action == "audio_deleted_retention"));
}

both_backends!(
    open311_output_follows_georeport_v2,
    outbound_webhooks_are_signed_and_retried,
    duplicates_are_suggested_and_hints_shown,
    metrics_are_exposed_and_move,
    retention_deletes_only_what_it_should,
);

#[test]
fn sqlite_backup_is_a_consistent_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
            .args(args)
            .env("HOTLINE_DATA_DIR", &data)
            .env_remove("DATABASE_URL")
            .env_remove("HOTLINE_DATABASE_URL")
            .output()
            .unwrap()
    };
    let mut add = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(["agent", "add", "ola", "--password-stdin"])
        .env("HOTLINE_DATA_DIR", &data)
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    add.stdin
        .take()
        .unwrap()
        .write_all(b"a-long-password\n")
        .unwrap();
    assert!(add.wait().unwrap().success());
    let copy = tmp.path().join("copy.db");
    let out = run(&["backup", "--out", copy.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = run(&["backup", "--out", copy.to_str().unwrap()]);
    assert!(!again.status.success(), "never overwrites");
    // The copy is a working database with the agent in it.
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(["agent", "list"])
        .env(
            "HOTLINE_DATABASE_URL",
            format!("sqlite://{}", copy.display()),
        )
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains("ola"));
}
