//! Recordings in S3-compatible object storage: a real SeaweedFS server on
//! loopback (`weed mini`), both database backends. Downloads land in the
//! bucket under their content address (MP3 named by its bytes, whatever
//! the URL says), the agents' player reads them with ranged GETs,
//! retention deletes them, an unreachable store makes `/readyz` say so,
//! and `hotline recordings migrate` copies a directory to the bucket,
//! verified, idempotently, flagging an object whose bytes are damaged.

use crate::both_backends;
use crate::support;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use hotline::config::{Config, Secret};
use hotline::domain::{now_ms, Language, RecordingSid};
use hotline::pipeline::Pipeline;
use hotline::storage::Storage;
use hotline::store::{Decision, NewRecording, NewTranscript, Store};
use hotline::worker::{Step, Worker, WorkerOptions};
use support::db::TestDb;
use support::media::{self, Behaviour, MediaServer};
use support::s3::S3Server;

fn config(db: &TestDb, s3: &S3Server, bucket: &str) -> Config {
    let mut cfg = Config {
        data_dir: db.dir.path().to_owned(),
        ..Default::default()
    };
    cfg.telephony.account_sid = media::ACCOUNT.into();
    cfg.telephony.auth_token = Secret::new(media::TOKEN);
    cfg.recordings.url = Some(format!("s3://{bucket}/city"));
    cfg.recordings.s3.endpoint = Some(s3.endpoint.clone());
    cfg.recordings.s3.access_key_id = "hotline".into();
    cfg.recordings.s3.secret_access_key = Secret::new("any-key-will-do");
    cfg
}

async fn announce(
    store: &Arc<Store>,
    server: &MediaServer,
    name: &str,
) -> hotline::store::Announced {
    let sid = support::start_call(store, &format!("CA{name}"), "+48600100200").await;
    let rec = NewRecording {
        sid: RecordingSid::parse(&format!("RE{name}")).unwrap(),
        url: server.url(name),
        duration_secs: Some(3),
        category: "lighting".into(),
        language: Language::Pl,
        at: now_ms(),
    };
    store.recording_announced(&sid, &rec).await.unwrap()
}

async fn drain(w: &Worker) {
    let mut idle = 0;
    while idle < 30 {
        match w.step().await.unwrap() {
            Step::Idle => {
                idle += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            _ => idle = 0,
        }
    }
}

async fn recordings_live_in_the_bucket(db: TestDb) {
    let s3 = S3Server::start().await;
    let bucket = s3.bucket("hotline").await;
    let cfg = config(&db, &s3, &bucket);
    let provider = media::start().await;
    // The provider's URL asks for `.wav`; the bytes are MP3.
    let bytes = support::wav::tone_mp3(2.0);
    provider.media.set("REs3", Behaviour::Ok(bytes.clone()));
    let a = announce(&db.store, &provider, "REs3").await;
    let pipeline = Pipeline::new(Arc::clone(&db.store), None, cfg.clone()).unwrap();
    let mut opts = WorkerOptions::new(1, Duration::from_secs(30), Duration::from_millis(20));
    opts.backoff = Some(Duration::from_millis(10));
    let w = pipeline.register(Worker::new(Arc::clone(&db.store), opts));
    drain(&w).await;

    let rec = db
        .store
        .get_recording(a.recording.id)
        .await
        .unwrap()
        .unwrap();
    let key = rec.local_path.clone().expect("stored");
    assert!(
        key.starts_with("recordings/") && key.ends_with(".mp3"),
        "{key}"
    );
    assert_eq!(s3.keys(&bucket, "city/").await, vec![format!("city/{key}")]);
    assert!(
        !db.dir.path().join(&key).exists(),
        "nothing of it on this machine's disk"
    );
    assert!(
        std::fs::read_dir(db.dir.path().join("tmp"))
            .map(|d| d.count())
            .unwrap_or(0)
            == 0,
        "no staging file left behind"
    );

    // The agents' player: ranged reads from the bucket.
    let base = support::serve(cfg.clone(), Arc::clone(&db.store)).await;
    let password = hotline::auth::hash_password("long enough pw").unwrap();
    let agent = db
        .store
        .create_agent("ewa", &password, "agent", now_ms())
        .await
        .unwrap();
    let (token, hash) = hotline::auth::new_token();
    db.store
        .create_api_token(agent.id, &hash, "test", now_ms())
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!("{base}/api/v1/reports/{}/audio", a.report.number);
    let r = http
        .get(&url)
        .bearer_auth(&token)
        .header("range", "bytes=100-299")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-type"], "audio/mpeg");
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 100-299/{}", bytes.len()).as_str()
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), &bytes[100..300]);
    let r = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let r = http
        .get(&url)
        .bearer_auth(&token)
        .header("range", format!("bytes={}-", bytes.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);

    // Decided and past retention: the object leaves the bucket.
    db.store
        .transcript_saved(
            rec.id,
            &NewTranscript {
                text: "Nie świeci latarnia".into(),
                segments_json: "[]".into(),
                language: Language::Pl,
                model_id: "test".into(),
                avg_logprob: None,
                no_speech: None,
                quality_json: "{}".into(),
                urgency: None,
                escalate: None,
                at: now_ms(),
            },
        )
        .await
        .unwrap();
    let report = db
        .store
        .get_report_by_id(a.report.id)
        .await
        .unwrap()
        .unwrap();
    db.store
        .decide_report(
            report.id,
            report.version,
            &Decision::Confirm,
            "ewa",
            now_ms(),
        )
        .await
        .unwrap();
    let retention = hotline::retention::Retention {
        store: Arc::clone(&db.store),
        storage: pipeline.storage.clone(),
        audio_days: 30,
    };
    let later = now_ms() + 31 * 24 * 3600 * 1000;
    assert_eq!(retention.sweep(later).await.unwrap(), 1);
    assert!(
        s3.keys(&bucket, "city/").await.is_empty(),
        "deleted from the bucket"
    );
}

/// The store unreachable: `/readyz` says which part is not ready, and a
/// download is retried rather than lost.
async fn an_unreachable_store_is_said_and_retried(db: TestDb) {
    let mut cfg = Config {
        data_dir: db.dir.path().to_owned(),
        ..Default::default()
    };
    cfg.recordings.url = Some("s3://nowhere/city".into());
    // A loopback port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    cfg.recordings.s3.endpoint = Some(format!("http://127.0.0.1:{port}"));
    cfg.telephony.account_sid = media::ACCOUNT.into();
    cfg.telephony.auth_token = Secret::new(media::TOKEN);
    let base = support::serve(cfg.clone(), Arc::clone(&db.store)).await;
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("recordings storage unavailable"));
    let html = admin_page(&db, cfg.clone()).await;
    assert!(
        html.contains("nie odpowiada — nagrania czekają w kolejce"),
        "the admin page says so"
    );

    let provider = media::start().await;
    provider
        .media
        .set("REdown", Behaviour::Ok(support::wav::tone_mp3(2.0)));
    let a = announce(&db.store, &provider, "REdown").await;
    let pipeline = Pipeline::new(Arc::clone(&db.store), None, cfg).unwrap();
    let opts = WorkerOptions::new(1, Duration::from_secs(30), Duration::from_millis(20));
    let w = pipeline.register(Worker::new(Arc::clone(&db.store), opts));
    let step = w.step().await.unwrap();
    assert!(
        matches!(&step, Step::Ran { outcome: hotline::worker::Outcome::Retry(m), .. } if m.contains("storing the recording")),
        "{step:?}"
    );
    let rec = db
        .store
        .get_recording(a.recording.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (rec.fetch_status.as_str(), rec.local_path),
        ("pending", None)
    );
}

/// `hotline recordings migrate --to s3://…`: every recording of the data
/// directory copied and verified; a second run copies nothing; a recording
/// whose file no longer matches its hash is flagged, never copied, and no
/// longer served.
async fn recordings_migrate_to_the_bucket(db: TestDb) {
    let s3 = S3Server::start().await;
    let bucket = s3.bucket("archive").await;
    let data = db.dir.path();
    let mut numbers = Vec::new();
    for (n, text) in [
        (1, "Dziura w jezdni"),
        (2, "Nie świeci latarnia"),
        (3, "Przepełniony kosz"),
    ] {
        numbers.push(support::workspace::draft(&db.store, data, 900 + n, text).await);
    }
    // The workspace's drafts carry made-up hashes: give them their real ones,
    // then damage the third file.
    let recs = db.store.stored_recordings().await.unwrap();
    for rec in &recs {
        let key = rec.local_path.clone().unwrap();
        let sha = hotline::storage::file_checksum(&data.join(&key))
            .await
            .unwrap();
        db.store
            .recording_stored(
                rec.id,
                &hotline::store::StoredAudio {
                    sha256: sha,
                    bytes: rec.bytes.unwrap_or(0),
                    local_path: key,
                    at: now_ms(),
                },
            )
            .await
            .unwrap();
    }
    let damaged = recs[2].local_path.clone().unwrap();
    std::fs::write(data.join(&damaged), b"RIFF not the recording any more").unwrap();

    let run = || {
        Command::new(env!("CARGO_BIN_EXE_hotline"))
            .args([
                "recordings",
                "migrate",
                "--to",
                &format!("s3://{bucket}/kck"),
            ])
            .env("HOTLINE_DATABASE_URL", &db.url)
            .env("HOTLINE_DATA_DIR", data)
            .env("HOTLINE_S3_ENDPOINT", &s3.endpoint)
            .env("AWS_ACCESS_KEY_ID", "hotline")
            .env("AWS_SECRET_ACCESS_KEY", "any-key-will-do")
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let first = run();
    let out = String::from_utf8_lossy(&first.stdout);
    assert!(!first.status.success(), "a failure is reported: {out}");
    assert!(out.contains("copied 2, already there 0, failed 1"), "{out}");
    let mut keys = s3.keys(&bucket, "kck/").await;
    keys.sort();
    let mut want: Vec<String> = recs[..2]
        .iter()
        .map(|r| format!("kck/{}", r.local_path.as_deref().unwrap()))
        .collect();
    want.sort();
    assert_eq!(keys, want);
    let flagged = db.store.get_recording(recs[2].id).await.unwrap().unwrap();
    assert_eq!(
        (flagged.fetch_status.as_str(), flagged.local_path),
        ("damaged", None)
    );

    assert_eq!(
        db.store.recordings_store().await.unwrap(),
        None,
        "not switched while something failed"
    );

    let second = run();
    let out = String::from_utf8_lossy(&second.stdout);
    assert!(second.status.success(), "{out}");
    assert!(out.contains("copied 0, already there 2, failed 0"), "{out}");
    assert!(out.contains("HOTLINE_RECORDINGS_URL="), "{out}");
    // Switched: a process still set to the directory refuses to start.
    assert_eq!(
        db.store.recordings_store().await.unwrap().as_deref(),
        Some(format!("s3://{bucket}/kck").as_str())
    );
    let mut old = Config {
        data_dir: data.to_owned(),
        ..Default::default()
    };
    old.listen = "127.0.0.1:0".parse().unwrap();
    old.worker.in_server = false;
    let refused = hotline::app::Application::serve_on(old.clone(), Arc::clone(&db.store))
        .await
        .err()
        .expect("a server on the old store refuses to start")
        .to_string();
    assert!(
        refused.contains(&format!("keeps its recordings in s3://{bucket}/kck")),
        "{refused}"
    );
    assert!(
        hotline::app::Application::work_on(old, Arc::clone(&db.store))
            .await
            .is_err()
    );

    // Served from the bucket once the setting is switched.
    let mut cfg = Config {
        data_dir: data.join("elsewhere"),
        ..Default::default()
    };
    cfg.recordings.url = Some(format!("s3://{bucket}/kck"));
    cfg.recordings.s3.endpoint = Some(s3.endpoint.clone());
    let storage = Storage::from_config(&cfg).unwrap();
    let key = recs[0].local_path.clone().unwrap();
    let original = std::fs::read(data.join(&key)).unwrap();
    assert_eq!(
        storage.size(&key).await.unwrap(),
        Some(original.len() as u64)
    );

    // The administrator sees where recordings are, that the store answers,
    // what it holds, and which report's audio was found damaged.
    let html = admin_page(&db, cfg).await;
    let section = &html[html.find("id=\"storage\"").expect("storage section")..];
    let section = section[..section.find("</section>").unwrap()].replace("&#x2f;", "/");
    assert!(
        section.contains(&format!(
            "magazyn obiektów zgodny z S3: s3://{bucket}/kck (adres {})",
            s3.endpoint
        )),
        "{section}"
    );
    assert!(section.contains("<dd>odpowiada</dd>"), "{section}");
    assert!(
        section.contains("Przechowywane nagrania</dt><dd>2</dd>"),
        "{section}"
    );
    assert!(
        section.contains(&format!(
            "<a class=\"num\" href=\"/reports/{0}\">{0}</a>",
            numbers[2]
        )),
        "the damaged recording's report: {section}"
    );
    assert!(!section.contains("damaged"), "no internal codes: {section}");
}

/// The admin page of a server on `cfg`, as a freshly created administrator.
async fn admin_page(db: &TestDb, cfg: Config) -> String {
    let base = support::serve(cfg, Arc::clone(&db.store)).await;
    let password = hotline::auth::hash_password("long enough pw").unwrap();
    db.store
        .create_agent("admin", &password, "admin", now_ms())
        .await
        .unwrap();
    let (status, _, c) = support::server::login(&base, "admin", "long enough pw", None).await;
    assert_eq!(status, 303, "logged in");
    let r = c.get(format!("{base}/admin")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

both_backends!(
    recordings_live_in_the_bucket,
    an_unreachable_store_is_said_and_retried,
    recordings_migrate_to_the_bucket,
);
