//! Urgent reports to the on-call officer: an e-mail through a real SMTP
//! server (aiosmtpd on loopback) that refuses the first attempt, and the
//! signed `report.urgent` webhook, each once per report, on both backends.
//! The whole path from a phone call with real speech is in
//! `tests/crash/escalation.rs`.

use crate::both_backends;
use crate::support;

use std::sync::Arc;
use std::time::Duration;

use hotline::config::{Config, Secret, WebhookTarget};
use hotline::domain::urgency::{Urgency, UrgentKind};
use hotline::domain::{now_ms, Language, RecordingSid};
use hotline::store::{Escalate, NewRecording, NewTranscript, Store, StoredAudio};
use hotline::worker::{Step, Worker, WorkerOptions};
use support::db::TestDb;
use support::hooks::{self, SECRET};
use support::smtp::SmtpServer;

/// A report whose transcript `text` was saved with `urgency`, escalated
/// by e-mail when urgent. Returns its id and number.
pub(crate) async fn report(
    store: &Arc<Store>,
    n: u32,
    text: &str,
    urgency: Option<Urgency>,
) -> (i64, String, NewTranscript, i64) {
    let sid = support::start_call(store, &format!("CAurg{n}"), "+48600100200").await;
    let a = store
        .recording_announced(
            &sid,
            &NewRecording {
                sid: RecordingSid::parse(&format!("REurg{n}")).unwrap(),
                url: "http://127.0.0.1:9/x".into(),
                duration_secs: Some(9),
                category: "other".into(),
                language: Language::Pl,
                at: now_ms(),
            },
        )
        .await
        .unwrap();
    store
        .recording_stored(
            a.recording.id,
            &StoredAudio {
                sha256: format!("{n:064}"),
                bytes: 100,
                local_path: format!("recordings/{n}.wav"),
                at: now_ms(),
            },
        )
        .await
        .unwrap();
    let escalate = urgency.as_ref().map(|_| Escalate { email: true });
    let t = NewTranscript {
        text: text.into(),
        segments_json: "[]".into(),
        language: Language::Pl,
        model_id: "base@test".into(),
        avg_logprob: Some(-0.3),
        no_speech: None,
        quality_json: "{}".into(),
        urgency,
        escalate,
        at: now_ms(),
    };
    assert!(store.transcript_saved(a.recording.id, &t).await.unwrap());
    (a.report.id, a.report.number.to_string(), t, a.recording.id)
}

pub(crate) fn heard(phrase: &str) -> Option<Urgency> {
    Some(Urgency {
        kind: UrgentKind::Heard,
        reason: phrase.into(),
    })
}

/// A worker sending e-mails and webhooks as `cfg` says, retrying after
/// `backoff` (doubling).
fn escalation_worker(store: &Arc<Store>, cfg: &Config, backoff: Duration) -> Worker {
    let mut opts = WorkerOptions::new(1, Duration::from_secs(30), Duration::from_millis(10));
    opts.backoff = Some(backoff);
    let menu = hotline::ivr::Menu::load(&cfg.prompt_source()).unwrap();
    let escalation = hotline::escalation::Escalation::new(
        store.clone(),
        cfg.escalation.clone(),
        menu,
        cfg.public_base(),
    )
    .unwrap();
    let outbound = hotline::outbound::Outbound::new(
        store.clone(),
        cfg.webhooks.clone(),
        reqwest::Client::new(),
        cfg.public_base(),
    );
    escalation.register(outbound.register(Worker::new(store.clone(), opts)))
}

/// Runs the worker until it has been idle for a while.
async fn drain(worker: &Worker) {
    let mut idle = 0;
    while idle < 40 {
        match worker.step().await.unwrap() {
            Step::Idle => {
                idle += 1;
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Step::Ran { .. } => idle = 0,
        }
    }
}

async fn urgent_reports_reach_the_oncall_officer_once(db: TestDb) {
    let smtp = SmtpServer::start(1);
    let (hook, got) = hooks::receiver().await;
    let mut cfg = Config {
        data_dir: db.dir.path().to_owned(),
        public_url: Some("https://hotline.kck.example".into()),
        ..Default::default()
    };
    cfg.escalation.smtp_url = Some(Secret::new(smtp.url()));
    cfg.escalation.from = "hotline KCK <hotline@kck.example>".into();
    cfg.escalation.oncall = vec!["dyzurny@czk.example".into(), "zastepca@czk.example".into()];
    cfg.webhooks = vec![WebhookTarget {
        url: hook.clone(),
        secret: Secret::new(SECRET),
        include_caller: false,
    }];
    let store = db.store.clone();

    let (gas_id, gas, gas_t, gas_rec) = report(
        &store,
        1,
        "Dzień dobry, na ulicy Długiej czuć gaz, bardzo mocno.",
        heard("czuć gaz"),
    )
    .await;
    store
        .save_address_candidates(
            gas_id,
            &[hotline::domain::AddressCandidate {
                street: "Długa".into(),
                house: Some("12".into()),
                score: 0.9,
                heard: "Długiej".into(),
            }],
            now_ms(),
        )
        .await
        .unwrap();
    let (_, ordinary, _, _) = report(&store, 2, "Nie świeci latarnia przy Długiej.", None).await;
    // The provider's retried callback transcribed again: nothing new queued.
    assert!(!store.transcript_saved(gas_rec, &gas_t).await.unwrap());
    // A report e-mailed by a worker that died before marking its job done.
    let (sent_id, sent, _, _) = report(&store, 3, "Pożar śmietnika.", heard("pożar")).await;
    store
        .log_delivery(
            sent_id,
            "report.urgent",
            "mailto:dyzurny@czk.example",
            1,
            Some(250),
            None,
            now_ms(),
        )
        .await
        .unwrap();

    let worker = escalation_worker(&store, &cfg, Duration::from_millis(10));
    drain(&worker).await;

    let mails = smtp.mails();
    assert_eq!(
        mails.len(),
        1,
        "one e-mail for the gas report, none for the ordinary one nor again for the one sent before: {mails:#?}"
    );
    let mail = &mails[0];
    assert_eq!(mail.to, ["dyzurny@czk.example", "zastepca@czk.example"]);
    assert_eq!(mail.message_id(), format!("urgent-{gas}@kck.example"));
    assert_eq!(
        mail.subject(),
        format!("PILNE zgłoszenie {gas}: Inne sprawy („czuć gaz”)")
    );
    let (text, html) = (mail.text(), mail.html());
    for needle in [
        format!("Numer zgłoszenia: {gas}"),
        "Kategoria: Inne sprawy".into(),
        "Dlaczego pilne: w nagraniu padło „czuć gaz”".into(),
        "Adres (podpowiedź z nagrania): Długa 12".into(),
        "na ulicy Długiej czuć gaz, bardzo mocno".into(),
        format!("https://hotline.kck.example/reports/{gas}"),
    ] {
        assert!(text.contains(&needle), "the e-mail says {needle}: {text}");
    }
    assert!(
        html.contains("<th align=\"left\">Numer zgłoszenia</th>")
            && html.contains(&format!(
                "href=\"https://hotline.kck.example/reports/{gas}\""
            )),
        "{html}"
    );
    assert!(
        !text.contains("600100200"),
        "no caller number unless configured"
    );
    let deliveries = store.recent_deliveries(50).await.unwrap();
    let mailed: Vec<_> = deliveries
        .iter()
        .filter(|d| d.endpoint.starts_with("mailto:") && d.report_id == gas_id)
        .collect();
    assert_eq!(mailed.len(), 2, "the refusal and the delivery are logged");
    assert_eq!(mailed.iter().filter(|d| d.error.is_some()).count(), 1);
    assert!(mailed.iter().any(|d| d.status == Some(451)));

    let urgent = hooks::events(&got, "report.urgent");
    assert_eq!(urgent.len(), 2, "gas and the fire, once each: {urgent:?}");
    let g = urgent
        .iter()
        .find(|v| v["report"]["number"] == gas.as_str())
        .unwrap();
    assert_eq!(g["report"]["urgent"], true);
    assert_eq!(g["report"]["urgent_reason"], "czuć gaz");
    assert_eq!(g["report"]["address_hints"][0], "Długa 12");
    assert!(!got
        .lock()
        .unwrap()
        .iter()
        .any(|(_, v)| v["report"]["number"] == ordinary.as_str()));

    let d = store
        .report_detail(&hotline::domain::ReportNumber::parse(&gas).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(d.audit.iter().any(|e| e.action == "escalated_email"));
    let _ = sent;
}

async fn a_refusing_server_gives_up_and_says_so(db: TestDb) {
    // A permanent refusal (the address does not exist) is not retried; the
    // report's history says the officer could not be told.
    let mut cfg = Config {
        data_dir: db.dir.path().to_owned(),
        ..Default::default()
    };
    // Nothing listens on port 9 (discard) on loopback: a connection error,
    // retried; after the attempts the failure is audited.
    cfg.escalation.smtp_url = Some(Secret::new("smtp://127.0.0.1:9"));
    cfg.escalation.oncall = vec!["dyzurny@czk.example".into()];
    let store = db.store.clone();
    let (id, number, _, _) = report(
        &store,
        4,
        "Drzewo przewróciło się na jezdnię.",
        heard("drzewo przewróciło się"),
    )
    .await;
    let worker = escalation_worker(&store, &cfg, Duration::from_millis(1));
    drain(&worker).await;
    let d = store
        .report_detail(&hotline::domain::ReportNumber::parse(&number).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        d.audit.iter().any(|e| e.action == "escalation_failed"),
        "{:?}",
        d.audit
    );
    let tries = store
        .recent_deliveries(50)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.report_id == id)
        .count();
    assert_eq!(tries as i64, 10, "every attempt logged");
}

both_backends!(
    urgent_reports_reach_the_oncall_officer_once,
    a_refusing_server_gives_up_and_says_so
);
