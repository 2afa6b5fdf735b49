//! Provider webhooks over HTTP on a real port: signatures, the IVR through
//! the caller simulator, retries that change nothing, hang-ups and empty
//! recordings. Both backends; no transcription engine needed here.

use crate::both_backends;
use crate::support;

use std::time::Duration;

use hotline::config::{Config, Secret};
use hotline::domain::ReportNumber;
use hotline::simulator::{self, CallLog, CallOptions};
use hotline::telephony::signature;
use hotline::worker::{Outcome, Step, Worker, WorkerOptions};
use support::db::TestDb;

const ACCOUNT: &str = "AC11111111111111111111111111111111";
const TOKEN: &str = "webhook-test-token";

struct Server {
    base: String,
    db: TestDb,
}

async fn start(db: TestDb) -> Server {
    let mut cfg = Config {
        data_dir: db.dir.path().to_owned(),
        ..Default::default()
    };
    cfg.telephony.account_sid = ACCOUNT.into();
    cfg.telephony.auth_token = Secret::new(TOKEN);
    cfg.telephony.telnyx_public_key = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        telnyx_key().verifying_key().to_bytes(),
    );
    let base = support::serve(cfg, db.store.clone()).await;
    Server { base, db }
}

fn options(s: &Server, keys: &[&str], wav: bool) -> CallOptions {
    CallOptions {
        server: s.base.clone(),
        account_sid: ACCOUNT.into(),
        auth_token: TOKEN.into(),
        from: "+48600100200".into(),
        to: "+48126165555".into(),
        keys: keys
            .iter()
            .map(|k| (*k != "-").then(|| (*k).to_owned()))
            .collect(),
        interactive: false,
        wav: wav.then(|| support::speech("pl/pl_art_001.wav")),
        empty_recordings: 0,
        hangup_after: None,
        wait: Duration::ZERO,
        quiet: true,
        retry_for: Duration::ZERO,
        keep_serving: false,
        dial_outcome: "no-answer".into(),
    }
}

fn heard(log: &CallLog, needle: &str) -> bool {
    log.heard.iter().any(|h| h.contains(needle))
}

/// The report number the caller heard (the first read-back).
fn number_heard(log: &CallLog) -> ReportNumber {
    let line = log
        .heard
        .iter()
        .find(|h| h.chars().filter(|c| c.is_ascii_digit()).count() == 7 && h.contains(", "))
        .expect("number read back");
    ReportNumber::parse(
        &line
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>(),
    )
    .unwrap()
}

async fn post(
    s: &Server,
    path: &str,
    params: &[(&str, &str)],
    sig: Option<String>,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{}{path}", s.base))
        .form(params);
    if let Some(sig) = sig {
        req = req.header("X-Twilio-Signature", sig);
    }
    req.send().await.unwrap()
}

/// `params` posted to `path`, signed as the provider signs them.
async fn signed(s: &Server, path: &str, params: &[(&str, &str)]) -> reqwest::Response {
    let url = format!("{}{path}", s.base);
    post(
        s,
        path,
        params,
        Some(signature::sign(TOKEN, &url, &owned(params))),
    )
    .await
}

fn owned(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

async fn a_full_call_files_a_report_and_reads_its_number_back(db: TestDb) {
    let s = start(db).await;
    let log = simulator::call(options(&s, &["1", "2"], true))
        .await
        .unwrap();
    assert!(heard(&log, "nagrywana"), "privacy notice");
    assert!(heard(&log, "Oświetlenie uliczne"));
    let number = number_heard(&log);
    let d =
        s.db.store
            .report_detail(&number)
            .await
            .unwrap()
            .expect("the number read back exists");
    assert_eq!(
        (
            d.report.category_code(),
            d.report.language.map_or("", |l| l.code())
        ),
        ("lighting", "pl")
    );
    assert_eq!(d.report.status, "awaiting_audio");
    assert_eq!(
        d.recordings.len(),
        1,
        "Record action and status callback: one recording"
    );
    assert_eq!(d.call.as_ref().unwrap().caller, "+48600100200");
    assert_eq!(d.call.as_ref().unwrap().menu_path, "language:1 > main:2");
    assert_eq!(
        d.call.as_ref().unwrap().outcome.as_deref(),
        Some("completed")
    );
    let counts = s.db.store.job_counts().await.unwrap();
    assert_eq!(
        counts,
        vec![("fetch_recording".to_owned(), "queued".to_owned(), 1)]
    );
}

async fn ukrainian_caller_hears_ukrainian(db: TestDb) {
    let s = start(db).await;
    let log = simulator::call(options(&s, &["2", "5", "1"], true))
        .await
        .unwrap();
    assert!(heard(&log, "[uk-UA] Оберіть тип звернення"));
    assert!(heard(&log, "[uk-UA] Дякуємо"));
    let r =
        s.db.store
            .report_detail(&number_heard(&log))
            .await
            .unwrap()
            .unwrap()
            .report;
    assert_eq!(
        (r.category_code(), r.language.map_or("", |l| l.code())),
        ("water", "uk")
    );
}

async fn hanging_up_in_the_menu_leaves_a_missed_call(db: TestDb) {
    let s = start(db).await;
    // Hung up in the submenu: no category yet.
    let mut o = options(&s, &["3", "5"], false);
    o.hangup_after = Some(3);
    simulator::call(o).await.unwrap();
    let reports = support::reports(&s.db.store).await;
    assert_eq!(reports.len(), 1);
    assert_eq!(
        (
            reports[0].status.as_str(),
            reports[0].category_code(),
            reports[0].language.map_or("", |l| l.code())
        ),
        ("missed_call", "", "en")
    );
    // Hung up at the recording prompt: the category is kept; the call is
    // missed once no recording arrived within the grace period.
    let mut o = options(&s, &["3", "4"], false);
    o.hangup_after = Some(3);
    simulator::call(o).await.unwrap();
    let r = support::reports(&s.db.store).await.remove(0);
    assert_eq!((r.status.as_str(), r.category_code()), ("open", "greenery"));
    let counts = s.db.store.job_counts().await.unwrap();
    assert!(
        counts.contains(&("finalize_call".to_owned(), "queued".to_owned(), 1)),
        "{counts:?}"
    );
    // The grace period passes on the store's clock; the real job runs.
    let cfg = Config {
        data_dir: s.db.dir.path().to_owned(),
        ..Default::default()
    };
    let pipeline = hotline::pipeline::Pipeline::new(s.db.store.clone(), None, cfg).unwrap();
    let opts = WorkerOptions::new(1, Duration::from_secs(30), Duration::from_millis(20));
    s.db.store
        .clock()
        .advance(hotline::jobs::kinds::RECORDING_GRACE_MS + 1_000);
    let worker = pipeline.register(Worker::new(s.db.store.clone(), opts));
    assert!(matches!(
        worker.step().await.unwrap(),
        Step::Ran {
            outcome: Outcome::Done,
            ..
        }
    ));
    let r = support::reports(&s.db.store).await.remove(0);
    assert_eq!(
        (r.status.as_str(), r.category_code()),
        ("missed_call", "greenery")
    );
}

async fn empty_recordings_get_a_retry_then_a_missed_call(db: TestDb) {
    let s = start(db).await;
    let log = simulator::call(options(&s, &["1", "1"], false))
        .await
        .unwrap();
    assert!(heard(&log, "Nie usłyszeliśmy wiadomości"));
    assert!(heard(&log, "Nie udało się nagrać"));
    let reports = support::reports(&s.db.store).await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].status, "missed_call");
    // The retry can work.
    let mut o = options(&s, &["1", "3"], true);
    o.empty_recordings = 1;
    let log = simulator::call(o).await.unwrap();
    assert!(heard(&log, "Nie usłyszeliśmy wiadomości"));
    let r =
        s.db.store
            .get_report(&number_heard(&log))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        (r.status.as_str(), r.category_code()),
        ("awaiting_audio", "litter")
    );
}

async fn retried_webhooks_change_nothing(db: TestDb) {
    let s = start(db).await;
    let url = format!("{}/twilio/voice", s.base);
    let p = owned(&[
        ("CallSid", "CA000000000000000000000000000000e1"),
        ("AccountSid", ACCOUNT),
        ("From", "+48600100200"),
        ("To", "+48126165555"),
        ("CallStatus", "ringing"),
    ]);
    let sig = signature::sign(TOKEN, &url, &p);
    let pairs: Vec<(&str, &str)> = p.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let first = post(&s, "/twilio/voice", &pairs, Some(sig.clone()))
        .await
        .text()
        .await
        .unwrap();
    let again = post(&s, "/twilio/voice", &pairs, Some(sig))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(first, again);
    // Choose Polish, then press 1 for roads three times (provider retries).
    let step = |step: u32, digit: &str| {
        let path = format!("/twilio/ivr?step={step}&ev=digits");
        let mut p = owned(&[
            ("CallSid", "CA000000000000000000000000000000e1"),
            ("AccountSid", ACCOUNT),
            ("Digits", digit),
        ]);
        p.sort();
        (path, p)
    };
    let (path, p) = step(1, "1");
    let sig = signature::sign(TOKEN, &format!("{}{path}", s.base), &p);
    let pairs: Vec<(&str, &str)> = p.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    post(&s, &path, &pairs, Some(sig)).await;
    let (path, p) = step(2, "2");
    let sig = signature::sign(TOKEN, &format!("{}{path}", s.base), &p);
    let pairs: Vec<(&str, &str)> = p.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(
            post(&s, &path, &pairs, Some(sig.clone()))
                .await
                .text()
                .await
                .unwrap(),
        );
    }
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "same answer every time"
    );
    assert!(answers[0].contains("<Record"));
    let reports = support::reports(&s.db.store).await;
    assert_eq!(reports.len(), 1, "one report, one number");
    assert_eq!(
        reports[0].number,
        format!("{:02}-00001", time::OffsetDateTime::now_utc().year() % 100)
    );
}

async fn signatures_are_enforced(db: TestDb) {
    let s = start(db).await;
    let path = "/twilio/voice";
    let params = [
        ("CallSid", "CA000000000000000000000000000005e9"),
        ("AccountSid", ACCOUNT),
        ("From", "+48600100200"),
        ("To", "+48126165555"),
    ];
    let url = format!("{}{path}", s.base);
    let good = signature::sign(TOKEN, &url, &owned(&params));
    // Missing header, garbage, wrong token, wrong URL, tampered parameter.
    let tampered = [
        ("CallSid", "CA000000000000000000000000000005e9"),
        ("AccountSid", ACCOUNT),
        ("From", "+48999999999"),
        ("To", "+48126165555"),
    ];
    let cases = [
        (None, &params[..]),
        (Some("garbage".to_owned()), &params[..]),
        (
            Some(signature::sign("other-token", &url, &owned(&params))),
            &params[..],
        ),
        (
            Some(signature::sign(
                TOKEN,
                &format!("{}/twilio/other", s.base),
                &owned(&params),
            )),
            &params[..],
        ),
        (Some(good.clone()), &tampered[..]),
    ];
    for (sig, p) in cases {
        let r = post(&s, path, p, sig.clone()).await;
        assert_eq!(r.status(), 403, "signature {sig:?}");
    }
    assert!(
        s.db.store
            .get_call(
                &hotline::domain::CallSid::parse("CA000000000000000000000000000005e9").unwrap()
            )
            .await
            .unwrap()
            .is_none(),
        "a refused webhook writes nothing"
    );
    // Another account's (correctly signed) request is refused too.
    let foreign = [
        ("CallSid", "CA000000000000000000000000000005e9"),
        ("AccountSid", "ACforeign"),
        ("From", "+48600100200"),
        ("To", "+48126165555"),
    ];
    let r = post(
        &s,
        path,
        &foreign,
        Some(signature::sign(TOKEN, &url, &owned(&foreign))),
    )
    .await;
    assert_eq!(r.status(), 403);
    // The genuine one passes, and so does SignalWire's header.
    assert_eq!(post(&s, path, &params, Some(good)).await.status(), 200);
    // SignalWire's call ids are UUIDs; a Twilio-shaped one under its header
    // is not one it sends.
    let signalwire = |sid: &'static str| {
        let p = [
            ("CallSid", sid),
            ("AccountSid", ACCOUNT),
            ("From", "+48600100200"),
            ("To", "+48126165555"),
        ];
        reqwest::Client::new()
            .post(&url)
            .header(
                "X-SignalWire-Signature",
                signature::sign(TOKEN, &url, &owned(&p)),
            )
            .form(&p)
            .send()
    };
    let sw = signalwire("9a1d3f0e-5b7c-4e2a-8f61-0c2b9d4e7a35")
        .await
        .unwrap();
    assert_eq!(sw.status(), 200);
    let sw = signalwire("CA000000000000000000000000000005ea")
        .await
        .unwrap();
    assert_eq!(sw.status(), 400);
}

fn telnyx_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[42u8; 32])
}

async fn telnyx_ed25519_signatures_are_checked(db: TestDb) {
    use ed25519_dalek::Signer;
    let s = start(db).await;
    let body =
        "CallSid=v3%3AT02llQxIyaRkhfRKxgAP8nY511EhFLiz&From=%2B48600100200&To=%2B48126165555";
    let send = |ts: i64, signed: &str| {
        let sig = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            telnyx_key()
                .sign(format!("{ts}|{signed}").as_bytes())
                .to_bytes(),
        );
        reqwest::Client::new()
            .post(format!("{}/twilio/voice", s.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("telnyx-signature-ed25519", sig)
            .header("telnyx-timestamp", ts.to_string())
            .body(body)
            .send()
    };
    let now = hotline::domain::now_ms() / 1000;
    assert_eq!(
        send(now - 3600, body).await.unwrap().status(),
        403,
        "replayed an hour later"
    );
    assert_eq!(
        send(now, "CallSid=v3%3Aother").await.unwrap().status(),
        403,
        "body changed"
    );
    assert_eq!(send(now, body).await.unwrap().status(), 200);
    assert!(s
        .db
        .store
        .get_call(&hotline::domain::CallSid::parse("v3:T02llQxIyaRkhfRKxgAP8nY511EhFLiz").unwrap())
        .await
        .unwrap()
        .is_some());
}

async fn malformed_webhooks_are_rejected_without_panicking(db: TestDb) {
    let s = start(db).await;
    let cases: [&[(&str, &str)]; 4] = [
        &[("AccountSid", ACCOUNT)],
        &[("CallSid", "../../etc/passwd"), ("AccountSid", ACCOUNT)],
        &[
            ("CallSid", "CAbad"),
            ("AccountSid", ACCOUNT),
            ("From", "<script>"),
        ],
        &[
            ("CallSid", "CAbad"),
            ("AccountSid", ACCOUNT),
            ("From", "+48600100200"),
            ("To", "\u{0}"),
        ],
    ];
    for p in cases {
        let url = format!("{}/twilio/voice", s.base);
        let r = post(
            &s,
            "/twilio/voice",
            p,
            Some(signature::sign(TOKEN, &url, &owned(p))),
        )
        .await;
        assert_eq!(r.status(), 400, "{p:?}");
    }
    let path = "/twilio/ivr?step=1&ev=digits";
    let p = [
        ("CallSid", "CA0000000000000000000000000000dead"),
        ("AccountSid", ACCOUNT),
        ("Digits", "1"),
    ];
    let r = post(
        &s,
        path,
        &p,
        Some(signature::sign(
            TOKEN,
            &format!("{}{path}", s.base),
            &owned(&p),
        )),
    )
    .await;
    assert_eq!(
        r.status(),
        200,
        "an unknown call gets an apology, not an error page"
    );
    assert!(r.text().await.unwrap().contains("<Hangup/>"));
    let huge = "x".repeat(100 * 1024);
    let r = post(&s, "/twilio/voice", &[("CallSid", huge.as_str())], None).await;
    assert_eq!(r.status(), 413, "body limit");
}

/// A captured Telnyx body and signature: a provider's retry to the same URL
/// is answered again, the same to another step is refused and moves
/// nothing.
async fn telnyx_signatures_are_bound_to_their_step(db: TestDb) {
    use ed25519_dalek::Signer;
    let s = start(db).await;
    let sid = "v3:T02llQxIyaRkhfRKxgAP8nY511EhFLizReplay";
    let send = |path: &'static str, body: String, ts: i64| {
        let sig = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            telnyx_key()
                .sign(format!("{ts}|{body}").as_bytes())
                .to_bytes(),
        );
        let base = s.base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}{path}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("telnyx-signature-ed25519", sig)
                .header("telnyx-timestamp", ts.to_string())
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let now = hotline::domain::now_ms() / 1000;
    let enc = sid.replace(':', "%3A");
    let r = send(
        "/twilio/voice",
        format!("CallSid={enc}&From=%2B48600100200&To=%2B48126165555"),
        now,
    )
    .await;
    assert_eq!(r.status(), 200);
    let key = format!("CallSid={enc}&Digits=1");
    let r = send("/twilio/ivr?step=1&ev=digits", key.clone(), now).await;
    assert_eq!(r.status(), 200);
    let state = |store: std::sync::Arc<hotline::store::Store>| async move {
        store
            .get_call(&hotline::domain::CallSid::parse(sid).unwrap())
            .await
            .unwrap()
            .unwrap()
            .ivr_state
    };
    let before = state(s.db.store.clone()).await;
    let retry = send("/twilio/ivr?step=1&ev=digits", key.clone(), now).await;
    assert_eq!(retry.status(), 200, "the provider's retry");
    let moved = send("/twilio/ivr?step=2&ev=digits", key.clone(), now).await;
    assert_eq!(moved.status(), 403, "the same signature at the next step");
    let timeout = send("/twilio/ivr?step=2&ev=timeout", key, now).await;
    assert_eq!(timeout.status(), 403, "or as another event");
    assert_eq!(state(s.db.store.clone()).await, before, "nothing moved");
}

/// Twilio's signature concatenates names and values without separators, so
/// a body cut differently carries the same signature. Signed with the real
/// algorithm, such forgeries are refused and write nothing.
async fn boundary_shifted_forgeries_are_refused(db: TestDb) {
    let s = start(db).await;
    let ca = "CA0123456789abcdef0123456789abc0de";
    let re = "RE0123456789abcdef0123456789abc0de";
    let forge = |path: &'static str,
                 genuine: Vec<(&'static str, String)>,
                 forged: Vec<(&'static str, String)>| {
        let base = s.base.clone();
        async move {
            let url = format!("{base}{path}");
            let own = |p: &[(&str, String)]| -> Vec<(String, String)> {
                p.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
            };
            let sig = signature::sign(TOKEN, &url, &own(&genuine));
            assert_eq!(
                sig,
                signature::sign(TOKEN, &url, &own(&forged)),
                "a real boundary forgery"
            );
            reqwest::Client::new()
                .post(url)
                .header("X-Twilio-Signature", sig)
                .form(&forged)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let acc = || ("AccountSid", ACCOUNT.to_owned());
    // A phantom call: CallStatus folded into the call id.
    let status = forge(
        "/twilio/voice",
        vec![
            ("CallSid", ca.into()),
            ("CallStatus", "ringing".into()),
            acc(),
            ("From", "+48600100200".into()),
        ],
        vec![
            ("CallSid", format!("{ca}CallStatusringing")),
            acc(),
            ("From", "+48600100200".into()),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(support::reports(&s.db.store).await.is_empty());
    assert!(s
        .db
        .store
        .get_call(&hotline::domain::CallSid::parse(&format!("{ca}CallStatusringing")).unwrap())
        .await
        .unwrap()
        .is_none());
    // A key press turned into a timeout: `Digits=1` as `Digit=s1`.
    let voice = [
        ("CallSid", ca),
        ("AccountSid", ACCOUNT),
        ("From", "+48600100200"),
        ("To", "+48126165555"),
    ];
    assert_eq!(signed(&s, "/twilio/voice", &voice).await.status(), 200);
    let sid = hotline::domain::CallSid::parse(ca).unwrap();
    let before = s.db.store.get_call(&sid).await.unwrap().unwrap().ivr_state;
    let status = forge(
        "/twilio/ivr?step=1&ev=digits",
        vec![("CallSid", ca.into()), acc(), ("Digits", "1".into())],
        vec![("CallSid", ca.into()), acc(), ("Digit", "s1".into())],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        s.db.store.get_call(&sid).await.unwrap().unwrap().ivr_state,
        before
    );
    // A second recording: RecordingSource folded into the recording id.
    let recording = |rec_sid: String, source: bool| {
        let mut p = vec![
            ("CallSid", ca.to_owned()),
            acc(),
            ("RecordingSid", rec_sid),
            ("RecordingUrl", "https://api.twilio.com/rec".to_owned()),
            ("RecordingStatus", "completed".to_owned()),
            ("RecordingDuration", "4".to_owned()),
        ];
        if source {
            p.push(("RecordingSource", "RecordVerb".to_owned()));
        }
        p
    };
    let status = forge(
        "/twilio/recording",
        recording(re.into(), true),
        recording(format!("{re}RecordingSourceRecordVerb"), false),
    )
    .await;
    assert_eq!(status, 400);
    // Even well-formed, a recording for a call still in the menu is refused.
    let genuine = recording(re.into(), true);
    let url = format!("{}/twilio/recording", s.base);
    let sig = signature::sign(
        TOKEN,
        &url,
        &genuine
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<Vec<_>>(),
    );
    let r = reqwest::Client::new()
        .post(url)
        .header("X-Twilio-Signature", sig)
        .form(&genuine)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "no recording was offered on this call");
    assert!(support::reports(&s.db.store).await.is_empty());
    // A repeated parameter with the same value is valid (signed as Twilio does).
    let repeated = [
        ("CallSid", ca),
        ("AccountSid", ACCOUNT),
        ("Digits", "1"),
        ("Digits", "1"),
    ];
    let r = signed(&s, "/twilio/ivr?step=1&ev=digits", &repeated).await;
    assert_eq!(r.status(), 200);
    assert_ne!(
        s.db.store.get_call(&sid).await.unwrap().unwrap().ivr_state,
        before
    );
}

/// A call whose final status never comes (lost callback, or a hang-up the
/// provider never reported) is closed by the worker's sweeper as a missed
/// call, so every caller ends with a report.
async fn calls_without_a_final_status_are_swept(db: TestDb) {
    let s = start(db).await;
    let ca = "CA0123456789abcdef0123456789abcdef";
    let voice = [
        ("CallSid", ca),
        ("AccountSid", ACCOUNT),
        ("From", "+48600100200"),
        ("To", "+48126165555"),
    ];
    assert_eq!(signed(&s, "/twilio/voice", &voice).await.status(), 200);
    let mut cfg = Config {
        data_dir: s.db.dir.path().to_owned(),
        stale_call_secs: 1,
        ..Default::default()
    };
    cfg.worker.lease_secs = 1;
    cfg.worker.poll_ms = 50;
    cfg.worker.transcribe = false;
    let worker = hotline::app::Application::work_on(cfg, s.db.store.clone())
        .await
        .unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(worker.run_until(stop.clone().cancelled_owned()));
    let sid = hotline::domain::CallSid::parse(ca).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let call = loop {
        let call = s.db.store.get_call(&sid).await.unwrap().unwrap();
        if call.ended_at.is_some() {
            break call;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the call was never closed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    stop.cancel();
    let _ = running.await;
    assert_eq!(call.outcome.as_deref(), Some("lost"));
    let reports = support::reports(&s.db.store).await;
    let missed = reports
        .iter()
        .find(|r| r.call_id == Some(call.id))
        .expect("a report");
    assert_eq!(missed.status, "missed_call");
}

/// Callback consent: asked after the read-back of a known number, stored
/// on the report and shown in the API; a withheld number is not asked.
async fn callback_consent_is_asked_and_stored(db: TestDb) {
    let s = start(db).await;
    // Language, category, keep the recording, agree.
    let mut yes = options(&s, &["1", "2", "1", "1"], true);
    yes.from = "+48600100201".into();
    let log = simulator::call(yes).await.unwrap();
    assert!(
        heard(&log, "może oddzwonić do Ciebie na ten numer"),
        "{:#?}",
        log.heard
    );
    assert!(heard(&log, "zapisaliśmy zgodę"));
    let agreed = number_heard(&log);
    let log = simulator::call(options(&s, &["1", "2"], true))
        .await
        .unwrap();
    let silent = number_heard(&log);
    let mut withheld = options(&s, &["1", "2"], true);
    withheld.from = "anonymous".into();
    let log = simulator::call(withheld).await.unwrap();
    assert!(
        !heard(&log, "oddzwonić do Ciebie"),
        "not asked: {:#?}",
        log.heard
    );
    let hidden = number_heard(&log);
    for (number, consent) in [(agreed, Some(true)), (silent, Some(false)), (hidden, None)] {
        let r = s.db.store.get_report(&number).await.unwrap().unwrap();
        assert_eq!(r.callback(), consent, "{number}");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["callback_consent"], serde_json::json!(consent));
    }
}

/// Status by phone: the caller types report numbers after pressing 8 and
/// hears each one's state; nothing else about the report is read out.
async fn callers_hear_their_reports_status_by_number(db: TestDb) {
    use hotline::store::Decision;
    let data = db.dir.path().to_owned();
    let store = db.store.clone();
    let draft = support::workspace::draft(&store, &data, 1, "Dziura w jezdni").await;
    let confirmed = support::workspace::draft(&store, &data, 2, "Nie świeci latarnia").await;
    let rejected = support::workspace::draft(&store, &data, 3, "Kosz przepełniony").await;
    for (number, decision) in [
        (&confirmed, Decision::Confirm),
        (
            &rejected,
            Decision::Reject {
                reason: hotline::domain::RejectReason::Silence,
                duplicate_of: None,
            },
        ),
    ] {
        let r = store
            .get_report(&ReportNumber::parse(number).unwrap())
            .await
            .unwrap()
            .unwrap();
        store
            .decide_report(r.id, r.version, &decision, "jan", store.now())
            .await
            .unwrap();
    }
    let missed_sid = support::start_call(&store, "CAstatusmissed", "+48600999888").await;
    let missed = store
        .call_ended(&missed_sid, "completed", store.now())
        .await
        .unwrap()
        .unwrap()
        .number
        .to_string();
    let s = start(db).await;
    let typed = |n: &str| n.replace('-', "");
    let spoken = |n: &str| {
        typed(n)
            .chars()
            .map(String::from)
            .collect::<Vec<_>>()
            .join(", ")
    };

    let keys = [
        "1",
        "8",
        &typed(&confirmed),
        &typed(&rejected),
        &typed(&draft),
    ];
    let log = simulator::call(options(&s, &keys, false)).await.unwrap();
    assert!(
        heard(&log, "sprawdzić, co dzieje się ze zgłoszeniem"),
        "offered in the menu"
    );
    let day = hotline::domain::local_date(s.db.store.now()).day();
    for (number, words) in [
        (&confirmed, format!("zostało sprawdzone {day} ")),
        (&rejected, "w nagraniu nie było wiadomości".to_owned()),
        (&draft, "czeka na konsultanta".to_owned()),
    ] {
        assert!(
            log.heard
                .iter()
                .any(|h| h.contains(&spoken(number)) && h.contains(&words)),
            "{number}: {words} in {:#?}",
            log.heard
        );
    }
    assert!(
        heard(&log, "najwyżej trzy zgłoszenia"),
        "three lookups a call"
    );
    assert!(
        !log.heard
            .iter()
            .filter(|h| h.starts_with('['))
            .any(|h| h.contains("Dziura") || h.contains("600100200")),
        "nothing of the report itself is read out"
    );

    let keys = ["1", "8", &typed(&missed), "2699999", "26", "*"];
    let log = simulator::call(options(&s, &keys, false)).await.unwrap();
    for words in [
        format!("{} zapisaliśmy połączenie bez wiadomości", spoken(&missed)),
        "Nie znaleźliśmy zgłoszenia o numerze 2, 6, 9, 9, 9, 9, 9".to_owned(),
        "Numer zgłoszenia ma siedem cyfr".to_owned(),
    ] {
        assert!(heard(&log, &words), "{words} in {:#?}", log.heard);
    }
    // After three lookups the menu again, so the call goes on as any other.
    let after = log
        .heard
        .iter()
        .position(|h| h.contains("najwyżej trzy"))
        .expect("the limit");
    assert!(log.heard[after..]
        .iter()
        .any(|h| h.contains("Wybierz rodzaj sprawy")));
}

/// Fetch jobs queued so far.
async fn fetches_queued(s: &Server) -> i64 {
    s.db.store
        .job_counts()
        .await
        .unwrap()
        .iter()
        .filter(|(kind, _, _)| kind == "fetch_recording")
        .map(|(_, _, n)| n)
        .sum()
}

/// Review before filing: `1` or silence keeps the recording, `2` records
/// it once more and only the second is fetched; a caller who hangs up
/// while reviewing keeps the first.
async fn callers_review_their_recording_before_it_is_filed(db: TestDb) {
    let s = start(db).await;
    for keys in [&["1", "2", "1"][..], &["1", "2"]] {
        let log = simulator::call(options(&s, keys, true)).await.unwrap();
        assert!(
            heard(&log, "Aby nagrać ją jeszcze raz, naciśnij dwa"),
            "{:#?}",
            log.heard
        );
        let d =
            s.db.store
                .report_detail(&number_heard(&log))
                .await
                .unwrap()
                .unwrap();
        assert_eq!(d.recordings.len(), 1, "{keys:?}");
        assert_eq!(d.recordings[0].recording_sid, log.recordings[0]);
        assert_eq!(d.recordings[0].fetch_status, "pending");
        assert_eq!(d.report.status, "awaiting_audio");
    }
    assert_eq!(fetches_queued(&s).await, 2);

    let log = simulator::call(options(&s, &["1", "2", "2"], true))
        .await
        .unwrap();
    assert!(heard(&log, "Nagraj wiadomość jeszcze raz"));
    assert_eq!(log.recordings.len(), 2, "{:#?}", log.heard);
    let d =
        s.db.store
            .report_detail(&number_heard(&log))
            .await
            .unwrap()
            .unwrap();
    let kept: Vec<&str> = d
        .recordings
        .iter()
        .map(|r| r.recording_sid.as_str())
        .collect();
    assert_eq!(kept, vec![log.recordings[1].as_str()], "only the second");
    assert_eq!(
        fetches_queued(&s).await,
        3,
        "one fetch for the two recordings"
    );
    assert_eq!(
        d.call.as_ref().unwrap().menu_path,
        "language:1 > main:2 > review:2"
    );
    assert!(d.audit.iter().any(|a| a.action == "recorded_again"));

    // Hanging up at the review question: the recording stands.
    let mut gone = options(&s, &["1", "2"], true);
    // voice, language, category, the recording and its callback.
    gone.hangup_after = Some(5);
    let log = simulator::call(gone).await.unwrap();
    assert!(
        !heard(&log, "zgłoszenie zostało przyjęte"),
        "{:#?}",
        log.heard
    );
    let sid = hotline::domain::CallSid::parse(&log.call_sid).unwrap();
    let call = s.db.store.get_call(&sid).await.unwrap().unwrap();
    let r = support::reports(&s.db.store)
        .await
        .into_iter()
        .find(|r| r.call_id == Some(call.id))
        .expect("a report");
    assert_eq!(r.status, "awaiting_audio");
    assert_eq!(fetches_queued(&s).await, 4);
}

/// The recording callback can come before the `<Record>` action: while the
/// caller may still review, it is held, not fetched.
async fn an_early_recording_callback_waits_for_the_review(db: TestDb) {
    let s = start(db).await;
    let sid = "CA0000000000000000000000000000beef";
    let call = |extra: &[(&'static str, &'static str)]| {
        let mut p = vec![
            ("CallSid", sid),
            ("AccountSid", ACCOUNT),
            ("From", "+48600100200"),
            ("To", "+48126165555"),
            ("CallStatus", "in-progress"),
        ];
        p.extend_from_slice(extra);
        p
    };
    assert_eq!(signed(&s, "/twilio/voice", &call(&[])).await.status(), 200);
    for (step, key) in [(1, "1"), (2, "2")] {
        let path = format!("/twilio/ivr?step={step}&ev=digits");
        let r = signed(&s, &path, &call(&[("Digits", key)])).await;
        assert_eq!(r.status(), 200);
    }
    let rec = [
        ("RecordingSid", "RE0000000000000000000000000000beef"),
        ("RecordingUrl", "http://127.0.0.1:9/Recordings/beef"),
        ("RecordingDuration", "12"),
    ];
    let mut cb = call(&rec);
    cb.push(("RecordingStatus", "completed"));
    let r = signed(&s, "/twilio/recording", &cb).await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        fetches_queued(&s).await,
        0,
        "held while the caller may review"
    );
    let r = signed(&s, "/twilio/ivr?step=3&ev=recorded", &call(&rec)).await;
    assert!(r.text().await.unwrap().contains("Aby zachować"));
    assert_eq!(fetches_queued(&s).await, 0);
    let mut end = call(&[("CallDuration", "60")]);
    end.retain(|(k, _)| *k != "CallStatus");
    end.push(("CallStatus", "completed"));
    assert_eq!(signed(&s, "/twilio/status", &end).await.status(), 204);
    assert_eq!(fetches_queued(&s).await, 1, "kept when the call ended");
}

both_backends!(
    callers_review_their_recording_before_it_is_filed,
    an_early_recording_callback_waits_for_the_review,
    callback_consent_is_asked_and_stored,
    callers_hear_their_reports_status_by_number,
    telnyx_signatures_are_bound_to_their_step,
    boundary_shifted_forgeries_are_refused,
    calls_without_a_final_status_are_swept,
    a_full_call_files_a_report_and_reads_its_number_back,
    ukrainian_caller_hears_ukrainian,
    hanging_up_in_the_menu_leaves_a_missed_call,
    empty_recordings_get_a_retry_then_a_missed_call,
    retried_webhooks_change_nothing,
    signatures_are_enforced,
    telnyx_ed25519_signatures_are_checked,
    malformed_webhooks_are_rejected_without_panicking,
);
