//! The line by the clock over HTTP: the server's clock set in one place
//! (the store's), calls placed by the caller simulator as the provider
//! would, `<Dial>` outcomes chosen by the simulator (nothing is dialled),
//! overrides and announcements through the CLI. Both backends.

use crate::both_backends;
use crate::support;

use std::time::Duration;

use hotline::config::{Config, Secret};
use hotline::domain::parse_instant;
use hotline::simulator::{self, CallLog, CallOptions};
use hotline::telephony::{signature, twiml};
use support::db::TestDb;

const ACCOUNT: &str = "AC22222222222222222222222222222222";
const TOKEN: &str = "line-test-token";
const CONSULTANTS: &str = "+48126160000";

/// Thursday 3 December 2026, 10:00 in Kraków: staffed hours.
const STAFFED: &str = "2026-12-03T10:00:00+01:00";
/// The same day, 20:00: closed.
const EVENING: &str = "2026-12-03T20:00:00+01:00";
/// Easter Monday 2027, 10:00: a holiday.
const EASTER_MONDAY: &str = "2027-03-29T10:00:00+02:00";

struct Line {
    base: String,
    db: TestDb,
}

async fn start(db: TestDb, at: &str, consultants: bool) -> Line {
    db.store.clock().set(parse_instant(at).unwrap());
    let mut cfg = Config {
        data_dir: db.dir.path().to_owned(),
        ..Default::default()
    };
    cfg.telephony.account_sid = ACCOUNT.into();
    cfg.telephony.auth_token = Secret::new(TOKEN);
    cfg.consultants.destination = consultants.then(|| CONSULTANTS.to_owned());
    let base = support::serve(cfg, db.store.clone()).await;
    Line { base, db }
}

async fn call(l: &Line, keys: &[&str], dial_outcome: &str) -> CallLog {
    simulator::call(CallOptions {
        server: l.base.clone(),
        account_sid: ACCOUNT.into(),
        auth_token: TOKEN.into(),
        from: "+48600100200".into(),
        to: "+48126165555".into(),
        keys: keys.iter().map(|k| Some((*k).to_owned())).collect(),
        interactive: false,
        wav: Some(support::speech("pl/pl_art_001.wav")),
        empty_recordings: 0,
        hangup_after: None,
        wait: Duration::ZERO,
        quiet: true,
        retry_for: Duration::ZERO,
        keep_serving: false,
        dial_outcome: dial_outcome.into(),
    })
    .await
    .unwrap()
}

/// `hotline <args>` on the test's database, its clock where the server's is.
fn cli_at(l: &Line, args: &[&str]) -> std::process::Output {
    let now = hotline::domain::local_iso(l.db.store.now());
    support::server::cli_with(&l.db, &[("HOTLINE_CLOCK_START", &now)], args, "")
}

fn cli_at_ok(l: &Line, args: &[&str]) -> String {
    let out = cli_at(l, args);
    assert!(
        out.status.success(),
        "hotline {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn heard(log: &CallLog, needle: &str) -> bool {
    log.heard.iter().any(|h| h.contains(needle))
}

async fn dials(l: &Line, log: &CallLog) -> Vec<hotline::store::Dial> {
    let sid = hotline::domain::CallSid::parse(&log.call_sid).unwrap();
    let call = l.db.store.get_call(&sid).await.unwrap().unwrap();
    l.db.store.dials(call.id).await.unwrap()
}

/// A signed provider POST; the TwiML answered.
async fn signed(base: &str, path: &str, params: &[(&str, &str)]) -> String {
    let url = format!("{base}{path}");
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let r = reqwest::Client::new()
        .post(&url)
        .header("X-Twilio-Signature", signature::sign(TOKEN, &url, &owned))
        .form(&owned)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

async fn staffed_calls_are_dialled_and_a_no_answer_files_one_report(db: TestDb) {
    let l = start(db, STAFFED, true).await;
    // The first TwiML and the Dial, as the provider reads them.
    let sid = "CA00000000000000000000000000001801";
    let first = signed(
        &l.base,
        "/twilio/voice",
        &[
            ("CallSid", sid),
            ("AccountSid", ACCOUNT),
            ("From", "+48600100200"),
            ("To", "+48126165555"),
        ],
    )
    .await;
    let verbs = twiml::parse(&first).unwrap();
    assert!(
        matches!(&verbs[0], twiml::Verb::Say { language, text } if language == "pl-PL" && text.contains("112")),
        "{first}"
    );
    let twiml::Verb::Gather { prompts, .. } = &verbs[1] else {
        panic!("{first}")
    };
    assert!(prompts.iter().any(|p| matches!(p, twiml::Verb::Say { language, text } if language == "uk-UA" && text.contains("112"))));
    assert!(prompts
        .iter()
        .any(|p| matches!(p, twiml::Verb::Say { language, .. } if language == "en-GB")));
    let dial = signed(
        &l.base,
        "/twilio/ivr?step=1&ev=digits",
        &[("CallSid", sid), ("AccountSid", ACCOUNT), ("Digits", "1")],
    )
    .await;
    let dial_verb = twiml::parse(&dial)
        .unwrap()
        .into_iter()
        .find(|v| matches!(v, twiml::Verb::Dial { .. }))
        .unwrap_or_else(|| panic!("staffed: connected to the consultants: {dial}"));
    assert_eq!(
        dial_verb,
        twiml::Verb::Dial {
            action: format!("{}/twilio/ivr?step=2&ev=dialled", l.base),
            timeout_secs: 25,
            caller_id: Some("+48600100200".into()),
            to: CONSULTANTS.into(),
        }
    );

    // Nobody answers: the caller is told so, leaves a report, hears its number.
    let log = call(&l, &["1", "2"], "no-answer").await;
    assert_eq!(
        log.transfers,
        vec![(CONSULTANTS.to_owned(), "no-answer".to_owned())]
    );
    assert!(
        heard(&log, "Wszyscy konsultanci są teraz zajęci"),
        "{:?}",
        log.heard
    );
    assert!(heard(&log, "numer to"), "a report number read back");
    let reports = support::reports(&l.db.store).await;
    let of_call: Vec<_> = reports
        .iter()
        .filter(|r| r.category_code() == "lighting")
        .collect();
    assert_eq!(of_call.len(), 1, "exactly one report: {reports:?}");
    let d = dials(&l, &log).await;
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].kind.as_str(), d[0].outcome.as_deref()),
        ("consultants", Some("no-answer"))
    );
    assert_eq!(d[0].target, CONSULTANTS);
    let detail =
        l.db.store
            .report_detail(&of_call[0].number)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(detail.dials, d, "agents see the attempt with the report");
    // Busy and failed end the same way.
    for outcome in ["busy", "failed"] {
        let log = call(&l, &["2", "3"], outcome).await;
        assert!(
            heard(&log, "Усі консультанти") || heard(&log, "консультанти"),
            "{outcome}: {:?}",
            log.heard
        );
        assert_eq!(dials(&l, &log).await[0].outcome.as_deref(), Some(outcome));
    }
    assert_eq!(
        support::reports(&l.db.store).await.len(),
        3,
        "every unanswered caller left a report"
    );
}

async fn a_completed_transfer_ends_the_call_with_nothing_filed(db: TestDb) {
    let l = start(db, STAFFED, true).await;
    let log = call(&l, &["1"], "completed").await;
    assert_eq!(log.transfers.len(), 1);
    assert!(heard(&log, "Łączymy"));
    assert!(
        support::reports(&l.db.store).await.is_empty(),
        "nothing filed"
    );
    let sid = hotline::domain::CallSid::parse(&log.call_sid).unwrap();
    let c = l.db.store.get_call(&sid).await.unwrap().unwrap();
    assert_eq!(
        c.outcome.as_deref(),
        Some("completed"),
        "the call is logged with its outcome"
    );
    let d = dials(&l, &log).await;
    assert_eq!(
        (d[0].outcome.as_deref(), d[0].seconds),
        (Some("completed"), Some(42))
    );
    let m = support::server::metric(
        &l.base,
        "hotline_dials_total{kind=\"consultants\",outcome=\"completed\"}",
    )
    .await;
    assert!(m >= 1.0, "counted: {m}");
}

async fn closed_hours_holidays_and_overrides_take_reports(db: TestDb) {
    let l = start(db, EVENING, true).await;
    let log = call(&l, &["1", "2"], "completed").await;
    assert!(log.transfers.is_empty(), "never dialled when closed");
    assert!(heard(&log, "Biuro jest teraz zamknięte"), "{:?}", log.heard);
    assert!(
        heard(&log, "nagrywana") && heard(&log, "dziewięć"),
        "the layered privacy notice"
    );
    assert_eq!(support::reports(&l.db.store).await.len(), 1);

    l.db.store
        .clock()
        .set(parse_instant(EASTER_MONDAY).unwrap());
    let log = call(&l, &["3", "2"], "completed").await;
    assert!(log.transfers.is_empty());
    assert!(heard(&log, "Easter Monday"), "{:?}", log.heard);

    // Staffed hours, but an administrator closed the line for the morning.
    l.db.store.clock().set(parse_instant(STAFFED).unwrap());
    let until = "2026-12-03T12:00:00+01:00";
    let out = cli_at_ok(
        &l,
        &[
            "schedule",
            "override",
            "--closed-until",
            until,
            "--note",
            "szkolenie",
        ],
    );
    assert!(
        out.contains("closed until 2026-12-03T12:00:00+01:00"),
        "{out}"
    );
    let log = call(&l, &["1", "2"], "completed").await;
    assert!(log.transfers.is_empty(), "the override closes the line");
    assert!(heard(&log, "Biuro jest teraz zamknięte"));
    // It expires on its own.
    l.db.store.clock().advance(2 * 3600 * 1000);
    let log = call(&l, &["1"], "completed").await;
    assert_eq!(log.transfers.len(), 1, "staffed again after the override");
    let audit = l.db.store.audit_log(20).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "line_override" && e.actor == "cli"));
}

async fn announcements_play_after_the_language_in_order(db: TestDb) {
    let l = start(db, EVENING, false).await;
    let from = "2026-12-03T19:00:00+01:00";
    let until = "2026-12-04T08:00:00+01:00";
    cli_at_ok(
        &l,
        &[
            "announce",
            "add",
            "--pl",
            "MPEC wie o awarii ciepła na Podgórzu, zgłoszenia przyjmuje 993.",
            "--en",
            "MPEC knows of the heating failure in Podgórze.",
            "--from",
            from,
            "--until",
            until,
        ],
    );
    cli_at_ok(
        &l,
        &[
            "announce",
            "add",
            "--pl",
            "Druga <informacja> & \"cudzysłów\"",
            "--from",
            "2026-12-03T19:30:00+01:00",
            "--until",
            until,
        ],
    );
    cli_at_ok(
        &l,
        &[
            "announce",
            "add",
            "--pl",
            "Jutrzejsza informacja",
            "--from",
            "2026-12-04T09:00:00+01:00",
            "--until",
            "2026-12-05T09:00:00+01:00",
        ],
    );
    let listed = cli_at_ok(&l, &["announce", "list"]);
    assert_eq!(listed.lines().count(), 3, "{listed}");
    assert!(
        listed.contains("scheduled") && listed.contains("playing"),
        "{listed}"
    );

    let log = call(&l, &["1", "2"], "completed").await;
    let said: Vec<&String> = log
        .heard
        .iter()
        .filter(|h| h.contains("Komunikat"))
        .collect();
    assert_eq!(said.len(), 2, "only the playing ones: {said:?}");
    assert!(
        said[0].contains("MPEC wie") && said[1].contains("Druga <informacja> & \"cudzysłów\""),
        "in order, escaped and read back whole: {said:?}"
    );
    let log = call(&l, &["3", "2"], "completed").await;
    assert!(heard(&log, "MPEC knows"), "in the caller's language");
    assert!(
        heard(&log, "Druga <informacja>"),
        "Polish when there is no translation"
    );
    // Ended: not played any more.
    let id = listed
        .lines()
        .next()
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_owned();
    cli_at_ok(&l, &["announce", "end", &id]);
    let log = call(&l, &["1", "2"], "completed").await;
    assert!(!heard(&log, "MPEC wie"));
    // Too long: refused with a clear error, nothing stored.
    let long = "a".repeat(301);
    let out = cli_at(&l, &["announce", "add", "--pl", &long, "--until", until]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("300"));
}

async fn a_water_report_offers_994(db: TestDb) {
    let l = start(db, EVENING, true).await;
    // Polish, submenu 5, water 1; 1 connects to the 24/7 service.
    let log = call(&l, &["1", "5", "1", "1"], "completed").await;
    assert!(
        heard(&log, "Pogotowie wodociągowe") || heard(&log, "Wodociąg"),
        "{:?}",
        log.heard
    );
    assert_eq!(
        log.transfers,
        vec![("994".to_owned(), "completed".to_owned())]
    );
    assert!(
        support::reports(&l.db.store).await.is_empty(),
        "connected: nothing filed"
    );
    let d = dials(&l, &log).await;
    assert_eq!(
        (d[0].kind.as_str(), d[0].category.as_deref()),
        ("referral", Some("water"))
    );
    // A failed transfer returns the caller to the report.
    let log = call(&l, &["1", "5", "1", "1"], "failed").await;
    assert!(heard(&log, "Nie udało się"), "{:?}", log.heard);
    let reports = support::reports(&l.db.store).await;
    assert_eq!((reports.len(), reports[0].category_code()), (1, "water"));
    // 2: straight to the report.
    let log = call(&l, &["1", "5", "1", "2"], "completed").await;
    assert!(log.transfers.is_empty());
    assert_eq!(support::reports(&l.db.store).await.len(), 2);
}

both_backends!(
    staffed_calls_are_dialled_and_a_no_answer_files_one_report,
    a_completed_transfer_ends_the_call_with_nothing_filed,
    closed_hours_holidays_and_overrides_take_reports,
    announcements_play_after_the_language_in_order,
    a_water_report_offers_994,
);

#[test]
fn schedule_answers_in_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        support::stdout_of(
            std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
                .args(args)
                .env("HOTLINE_DATA_DIR", dir.path())
                .env_remove("DATABASE_URL")
                .env_remove("HOTLINE_DATABASE_URL")
                .env("RUST_LOG", "error"),
        )
    };
    let json: serde_json::Value = serde_json::from_str(
        run(&[
            "schedule",
            "--at",
            "2027-03-29T10:00:00+02:00",
            "--format",
            "json",
        ])
        .trim(),
    )
    .unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "staffed": false,
            "reason": "holiday: Poniedziałek Wielkanocny",
            "next_change": "2027-03-30T07:40:00+02:00",
        })
    );
    let text = run(&["schedule", "--at", "2026-12-03T10:00:00+01:00"]);
    assert!(
        text.contains("staffed (staffed hours)")
            && text.contains("changes at 2026-12-03T15:30:00+01:00"),
        "{text}"
    );
    let text = run(&[
        "schedule",
        "--at",
        "2026-12-05T10:00:00+01:00",
        "--format",
        "text",
    ]);
    assert!(
        text.contains("not staffed (outside hours)") && text.contains("2026-12-07T07:40:00+01:00"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hotline_call_prints_transfers_and_the_seconds_before_the_first_key() {
    let l = start(support::db::sqlite().await, STAFFED, true).await;
    let out = support::stdout_of(
        std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
            .args([
                "call",
                "--server",
                &l.base,
                "--digits",
                "1,2",
                "--dial-outcome",
                "busy",
                "--wait",
                "0",
            ])
            .env_remove("HOTLINE_DATABASE_URL")
            .env("HOTLINE_DATA_DIR", l.db.dir.path())
            .env("HOTLINE_TWILIO_ACCOUNT_SID", ACCOUNT)
            .env("HOTLINE_TWILIO_AUTH_TOKEN", TOKEN)
            .env("RUST_LOG", "error"),
    );
    assert!(
        out.contains(&format!("(transfer to {CONSULTANTS}: busy)")),
        "{out}"
    );
    let secs: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("(about "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no estimate in {out}"));
    assert!(
        secs > 3.0 && secs <= 12.0,
        "the shipped prompts keep it within 12 s: {secs}"
    );
}
