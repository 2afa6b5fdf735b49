//! The store's contract, run against SQLite and PostgreSQL alike.

use crate::both_backends;
use crate::support;

use std::collections::HashSet;
use std::sync::Arc;

use hotline::domain::{now_ms, CallSid, Language, RecordingSid, ReportNumber, ReportStatus};
use hotline::jobs::kinds::{FetchRecording, FinalizeCall, Transcribe};
use hotline::jobs::{BackgroundJob, NewJob};
use hotline::store::{IvrUpdate, NewRecording, NewTranscript, ReportFilter, Store, StoredAudio};
use support::db::TestDb;

fn sid(n: u32) -> CallSid {
    CallSid::parse(&format!("CA{n:032x}")).unwrap()
}

async fn call(store: &Arc<Store>, n: u32) -> CallSid {
    support::start_call(store, sid(n).as_str(), "+48600100200").await
}

fn recording(n: u32) -> NewRecording {
    NewRecording {
        sid: RecordingSid::parse(&format!("RE{n:032x}")).unwrap(),
        url: format!("http://127.0.0.1:9/recordings/RE{n}"),
        duration_secs: Some(12),
        category: "roads".into(),
        language: Language::Pl,
        at: now_ms(),
    }
}

fn transcript(text: &str, no_speech: Option<&str>) -> NewTranscript {
    NewTranscript {
        text: text.into(),
        segments_json: "[]".into(),
        language: Language::Pl,
        model_id: "base@test".into(),
        avg_logprob: Some(-0.3),
        no_speech: no_speech.map(str::to_owned),
        quality_json: "{}".into(),
        urgency: None,
        escalate: None,
        at: now_ms(),
    }
}

async fn jobs_of(store: &Arc<Store>, kind: &str) -> i64 {
    store
        .job_counts()
        .await
        .unwrap()
        .iter()
        .filter(|(k, _, _)| k == kind)
        .map(|(_, _, n)| n)
        .sum()
}

async fn calls_are_idempotent(db: TestDb) {
    let s = &db.store;
    let a = call(s, 1).await;
    let again = call(s, 1).await;
    assert_eq!(a, again);
    let c = s.get_call(&a).await.unwrap().unwrap();
    assert_eq!(c.caller, "+48600100200");
    s.save_ivr(
        &a,
        &IvrUpdate {
            state: "{\"step\":3}".into(),
            language: Some(Language::Uk),
            category: Some("lighting".into()),
            menu_path: "2>2".into(),
        },
    )
    .await
    .unwrap();
    let c = s.get_call(&a).await.unwrap().unwrap();
    assert_eq!(
        (
            c.language.map(|l| l.code()),
            c.category.as_deref(),
            c.menu_path.as_str()
        ),
        (Some("uk"), Some("lighting"), "2>2")
    );
}

async fn report_numbers_are_unique_and_sequential(db: TestDb) {
    let s = &db.store;
    let mut handles = Vec::new();
    for n in 0..20 {
        let s = Arc::clone(s);
        handles.push(tokio::spawn(async move {
            let c = call(&s, 100 + n).await;
            s.open_report(&c, "roads", Language::Pl).await.unwrap()
        }));
    }
    let mut numbers = HashSet::new();
    for h in handles {
        let r = h.await.unwrap();
        assert!(
            ReportNumber::parse(r.number.as_str()).is_ok(),
            "{}",
            r.number
        );
        numbers.insert(r.number.to_string());
    }
    assert_eq!(numbers.len(), 20, "every report got its own number");
    let year = time::OffsetDateTime::now_utc().year() % 100;
    for n in 1..=20 {
        assert!(
            numbers.contains(&format!("{year:02}-{n:05}")),
            "sequence has no gaps: {n}"
        );
    }
    // Asking again for the same call returns the same report.
    let c = sid(100);
    let r1 = s.open_report(&c, "roads", Language::Pl).await.unwrap();
    let r2 = s.open_report(&c, "other", Language::En).await.unwrap();
    assert_eq!(r1.id, r2.id);
}

async fn repeated_recording_callbacks_make_one_recording_and_one_job(db: TestDb) {
    let s = &db.store;
    let c = call(s, 2).await;
    let mut created = Vec::new();
    for _ in 0..3 {
        let a = s.recording_announced(&c, &recording(2)).await.unwrap();
        created.push(a.created);
        assert_eq!(a.report.status, "awaiting_audio");
        assert_eq!(a.report.audio_status, "pending");
    }
    assert_eq!(created, vec![true, false, false]);
    assert_eq!(jobs_of(s, FetchRecording::NAME).await, 1);
    let all = support::reports(s).await;
    assert_eq!(all.len(), 1);
}

async fn pipeline_moves_report_to_draft_once(db: TestDb) {
    let s = &db.store;
    let c = call(s, 3).await;
    let a = s.recording_announced(&c, &recording(3)).await.unwrap();
    let stored = StoredAudio {
        sha256: "ab".repeat(32),
        bytes: 1234,
        local_path: "recordings/ab/x.wav".into(),
        at: now_ms(),
    };
    s.recording_stored(a.recording.id, &stored).await.unwrap();
    s.recording_stored(a.recording.id, &stored).await.unwrap();
    assert_eq!(
        jobs_of(s, Transcribe::NAME).await,
        1,
        "transcription enqueued once"
    );
    let r = s.get_report_by_id(a.report.id).await.unwrap().unwrap();
    assert_eq!(
        (r.status.as_str(), r.audio_status.as_str()),
        ("awaiting_transcript", "stored")
    );
    assert!(s
        .transcript_saved(
            a.recording.id,
            &transcript("Dziura w jezdni na Długiej.", None)
        )
        .await
        .unwrap());
    assert!(!s
        .transcript_saved(a.recording.id, &transcript("something else", None))
        .await
        .unwrap());
    let number = ReportNumber::parse(r.number.as_str()).unwrap();
    let d = s.report_detail(&number).await.unwrap().unwrap();
    assert_eq!(d.report.status, "draft");
    assert_eq!(
        d.report.text.as_deref(),
        Some("Dziura w jezdni na Długiej.")
    );
    assert_eq!(d.transcript.unwrap().model_id, "base@test");
    assert_eq!(s.transcripts_for_report(r.id).await.unwrap().len(), 1);
    let actions: Vec<&str> = d.audit.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"audio_stored") && actions.contains(&"transcribed"),
        "{actions:?}"
    );
}

async fn no_speech_becomes_a_missed_call(db: TestDb) {
    let s = &db.store;
    let c = call(s, 4).await;
    let a = s.recording_announced(&c, &recording(4)).await.unwrap();
    s.recording_stored(
        a.recording.id,
        &StoredAudio {
            sha256: "cd".repeat(32),
            bytes: 10,
            local_path: "x".into(),
            at: now_ms(),
        },
    )
    .await
    .unwrap();
    s.transcript_saved(
        a.recording.id,
        &transcript("", Some("speech gate: silence")),
    )
    .await
    .unwrap();
    let r = s.get_report_by_id(a.report.id).await.unwrap().unwrap();
    assert_eq!(r.status, "missed_call");
    assert_eq!(r.text, None, "no phantom text");
    assert!(r.note.unwrap().contains("silence"));
}

async fn failed_download_still_files_the_report(db: TestDb) {
    let s = &db.store;
    let c = call(s, 5).await;
    let a = s.recording_announced(&c, &recording(5)).await.unwrap();
    s.recording_unavailable(a.recording.id, "provider answered 404 Not Found")
        .await
        .unwrap();
    let r = s.get_report_by_id(a.report.id).await.unwrap().unwrap();
    assert_eq!(
        (r.status.as_str(), r.audio_status.as_str()),
        ("draft", "unavailable")
    );
    assert_eq!(r.caller, "+48600100200", "the caller can be called back");
    assert_eq!(r.category_code(), "roads");
}

async fn hang_ups_become_missed_calls(db: TestDb) {
    let s = &db.store;
    // Hung up in the menu, category already chosen.
    let c = call(s, 6).await;
    s.save_ivr(
        &c,
        &IvrUpdate {
            state: String::new(),
            language: Some(Language::En),
            category: Some("greenery".into()),
            menu_path: "3>4".into(),
        },
    )
    .await
    .unwrap();
    let r = s
        .call_ended(&c, "completed", now_ms())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (r.status.as_str(), r.category.as_deref(), r.language),
        ("missed_call", Some("greenery"), Some(Language::En))
    );
    // Reached the recording step: a grace period first, then missed.
    let c = call(s, 7).await;
    s.open_report(&c, "litter", Language::Pl).await.unwrap();
    let r = s
        .call_ended(&c, "completed", now_ms())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, "open");
    assert_eq!(jobs_of(s, FinalizeCall::NAME).await, 1);
    let r = s
        .recording_absent(&c, "no recording arrived")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, "missed_call");
    // A late recording rescues it.
    let a = s.recording_announced(&c, &recording(7)).await.unwrap();
    assert_eq!(a.report.status, "awaiting_audio");
    // Hung up before choosing: no category or language is invented.
    let c = call(s, 8).await;
    let r = s
        .call_ended(&c, "no-answer", now_ms())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (r.status.as_str(), r.category, r.language),
        ("missed_call", None, None)
    );
}

async fn job_leases_expire_and_attempts_count(db: TestDb) {
    let s = &db.store;
    let job = NewJob {
        kind: "test".into(),
        dedup_key: Some("k1".into()),
        payload: "{}".into(),
        max_attempts: 2,
        run_at: now_ms(),
    };
    assert!(s.enqueue(&job).await.unwrap().is_some());
    assert!(s.enqueue(&job).await.unwrap().is_none(), "dedup key");
    let t0 = now_ms();
    let j = s
        .claim_job("w1", &["test"], t0, t0 + 1000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((j.attempts, j.locked_by.as_deref()), (1, Some("w1")));
    assert!(
        s.claim_job("w2", &["test"], t0 + 500, t0 + 1500)
            .await
            .unwrap()
            .is_none(),
        "leased"
    );
    assert!(s.heartbeat(j.id, "w1", t0 + 2000).await.unwrap());
    assert!(
        s.claim_job("w2", &["test"], t0 + 1500, t0 + 2500)
            .await
            .unwrap()
            .is_none(),
        "heartbeat extended the lease"
    );
    // w1 dies; after the lease w2 takes over.
    let j2 = s
        .claim_job("w2", &["test"], t0 + 2001, t0 + 3000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((j2.id, j2.attempts), (j.id, 2));
    assert!(
        !s.heartbeat(j.id, "w1", t0 + 5000).await.unwrap(),
        "the dead worker lost its lease"
    );
    // w2 dies too on the last attempt: nobody may claim it, the reaper fails it.
    assert!(s
        .claim_job("w3", &["test"], t0 + 4000, t0 + 5000)
        .await
        .unwrap()
        .is_none());
    let dead = s.reap_dead_jobs(t0 + 4000).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(s.get_job(j.id).await.unwrap().unwrap().status, "failed");
}

async fn retries_wait_for_their_time(db: TestDb) {
    let s = &db.store;
    let id = s
        .enqueue(&NewJob {
            kind: "test".into(),
            dedup_key: None,
            payload: "{}".into(),
            max_attempts: 5,
            run_at: now_ms(),
        })
        .await
        .unwrap()
        .unwrap();
    let t0 = now_ms();
    let j = s
        .claim_job("w", &["test"], t0, t0 + 60_000)
        .await
        .unwrap()
        .unwrap();
    s.fail_job(j.id, "w", "HTTP 503", Some(t0 + 10_000))
        .await
        .unwrap();
    let after = s.get_job(id).await.unwrap().unwrap();
    assert_eq!(
        (after.status.as_str(), after.last_error.as_deref()),
        ("queued", Some("HTTP 503"))
    );
    assert!(s
        .claim_job("w", &["test"], t0 + 5000, t0 + 9000)
        .await
        .unwrap()
        .is_none());
    assert!(s
        .claim_job("w", &["test"], t0 + 10_000, t0 + 70_000)
        .await
        .unwrap()
        .is_some());
    // Other kinds are not claimed.
    assert!(s
        .claim_job("w", &["other"], t0 + 99_000, t0 + 100_000)
        .await
        .unwrap()
        .is_none());
    // A released job keeps its attempt count.
    assert_eq!(s.release_jobs("w").await.unwrap(), 1);
    assert_eq!(s.get_job(id).await.unwrap().unwrap().attempts, 1);
}

async fn concurrent_workers_claim_each_job_once(db: TestDb) {
    let s = &db.store;
    for i in 0..60 {
        s.enqueue(&NewJob {
            kind: "test".into(),
            dedup_key: Some(format!("j{i}")),
            payload: "{}".into(),
            max_attempts: 1,
            run_at: now_ms(),
        })
        .await
        .unwrap();
    }
    let mut handles = Vec::new();
    for w in 0..4 {
        let s = Arc::clone(s);
        handles.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let now = now_ms();
                match s
                    .claim_job(&format!("w{w}"), &["test"], now, now + 60_000)
                    .await
                    .unwrap()
                {
                    Some(j) => {
                        s.complete_job(j.id, &format!("w{w}")).await.unwrap();
                        got.push(j.id);
                    }
                    None => return got,
                }
            }
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(
        (all.len(), unique.len()),
        (60, 60),
        "every job exactly once"
    );
    let counts = s.job_counts().await.unwrap();
    assert_eq!(counts, vec![("test".to_owned(), "done".to_owned(), 60)]);
}

async fn reports_filter_and_order(db: TestDb) {
    let s = &db.store;
    for n in 0..5 {
        let c = call(s, 200 + n).await;
        let a = s
            .recording_announced(&c, &recording(200 + n))
            .await
            .unwrap();
        if n % 2 == 0 {
            s.recording_unavailable(a.recording.id, "gone")
                .await
                .unwrap();
        }
    }
    let drafts = s
        .list_reports(&ReportFilter {
            status: Some(ReportStatus::Draft),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(drafts.len(), 3);
    let oldest = s
        .list_reports(&ReportFilter {
            oldest_first: true,
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(oldest[0].id < oldest[1].id);
    let none = s
        .list_reports(&ReportFilter {
            category: Some("lighting".into()),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    let hostile = s
        .list_reports(&ReportFilter {
            category: Some("x' OR '1'='1".into()),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(hostile.is_empty(), "filters are bound, not spliced");
    let counts = s.count_reports().await.unwrap();
    assert!(counts.contains(&("draft".to_owned(), 3)));
}

/// A call connected onwards ends with a completed transfer and no report,
/// whichever of the provider's two callbacks comes first; one whose
/// connection never reported back becomes a missed call after the grace.
async fn transfers_end_calls_without_a_report(db: TestDb) {
    use hotline::store::DialKind;
    let s = &db.store;
    // The Dial's own callback first, then the call's status.
    let c = call(s, 20).await;
    s.dial_started(&c, DialKind::Consultants, "+48126160000", None, now_ms())
        .await
        .unwrap();
    s.dial_ended(&c, "completed", Some(42), now_ms())
        .await
        .unwrap();
    assert!(s
        .call_ended(&c, "completed", now_ms())
        .await
        .unwrap()
        .is_none());
    // The call's status first: decided after a grace period.
    let c = call(s, 21).await;
    s.dial_started(&c, DialKind::Referral, "994", Some("water"), now_ms())
        .await
        .unwrap();
    assert!(s
        .call_ended(&c, "completed", now_ms())
        .await
        .unwrap()
        .is_none());
    assert_eq!(jobs_of(s, FinalizeCall::NAME).await, 1);
    s.dial_ended(&c, "completed", Some(10), now_ms())
        .await
        .unwrap();
    assert!(s
        .recording_absent(&c, "no recording")
        .await
        .unwrap()
        .is_none());
    // The connection never reported back: a missed call.
    let c = call(s, 22).await;
    s.dial_started(&c, DialKind::Consultants, "+48126160000", None, now_ms())
        .await
        .unwrap();
    assert!(s
        .call_ended(&c, "completed", now_ms())
        .await
        .unwrap()
        .is_none());
    let r = s
        .recording_absent(&c, "no recording")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, "missed_call");
    // Not answered: the caller hung up before the intake: a missed call at once.
    let c = call(s, 23).await;
    s.dial_started(&c, DialKind::Consultants, "+48126160000", None, now_ms())
        .await
        .unwrap();
    s.dial_ended(&c, "no-answer", None, now_ms()).await.unwrap();
    let r = s
        .call_ended(&c, "completed", now_ms())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, "missed_call");
    assert_eq!(
        support::reports(s).await.len(),
        2,
        "two missed calls, no report for the transfers"
    );
    let d = s
        .dials(s.get_call(&c).await.unwrap().unwrap().id)
        .await
        .unwrap();
    assert_eq!((d.len(), d[0].outcome.as_deref()), (1, Some("no-answer")));
}

/// A transcript in which an urgent phrase was heard marks its report urgent
/// (the reason kept, audited), and urgent drafts lead the queue.
async fn urgent_transcripts_lead_the_queue(db: TestDb) {
    let s = &db.store;
    let mut ids = Vec::new();
    for (n, text, urgent) in [
        (30, "Dziura w chodniku na Długiej.", None),
        (31, "Na Długiej czuć gaz.", Some("czuć gaz")),
        (32, "Nie świeci latarnia.", None),
    ] {
        let c = call(s, n).await;
        let a = s.recording_announced(&c, &recording(n)).await.unwrap();
        let stored = StoredAudio {
            sha256: format!("{n:064}"),
            bytes: 1234,
            local_path: format!("recordings/{n}.wav"),
            at: now_ms(),
        };
        s.recording_stored(a.recording.id, &stored).await.unwrap();
        let mut t = transcript(text, None);
        t.urgency = urgent.map(|reason| hotline::domain::urgency::Urgency {
            kind: hotline::domain::urgency::UrgentKind::Heard,
            reason: reason.to_owned(),
        });
        assert!(s.transcript_saved(a.recording.id, &t).await.unwrap());
        ids.push(a.report.id);
    }
    let queue = s
        .list_reports(&ReportFilter {
            status: Some(ReportStatus::Draft),
            oldest_first: true,
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let order: Vec<i64> = queue.iter().map(|r| r.id).collect();
    assert_eq!(
        order,
        vec![ids[1], ids[0], ids[2]],
        "the urgent draft first, then the oldest"
    );
    assert_eq!(queue[0].urgent_reason.as_deref(), Some("czuć gaz"));
    assert!(queue[1].urgent_reason.is_none());
    let d = s.report_detail(&queue[0].number).await.unwrap().unwrap();
    assert!(d.audit.iter().any(|e| e.action == "marked_urgent"));
}

both_backends!(
    urgent_transcripts_lead_the_queue,
    transfers_end_calls_without_a_report,
    calls_are_idempotent,
    report_numbers_are_unique_and_sequential,
    repeated_recording_callbacks_make_one_recording_and_one_job,
    pipeline_moves_report_to_draft_once,
    no_speech_becomes_a_missed_call,
    failed_download_still_files_the_report,
    hang_ups_become_missed_calls,
    job_leases_expire_and_attempts_count,
    retries_wait_for_their_time,
    concurrent_workers_claim_each_job_once,
    reports_filter_and_order,
);

/// A database of the release before missed calls lost their invented
/// category (migrations up to 0010) migrates with every row and reference
/// kept: SQLite rebuilds `reports` (foreign keys checked after), and a
/// missed call whose caller never chose has no category or language.
#[tokio::test]
async fn an_older_sqlite_database_migrates_with_its_rows() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("migrations");
    std::fs::create_dir(&old).unwrap();
    for entry in std::fs::read_dir("migrations/sqlite").unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.as_str() < "0011" {
            std::fs::copy(&path, old.join(&name)).unwrap();
        }
    }
    let file = dir.path().join("old.db");
    let url = format!("sqlite://{}", file.display());
    let mut conn = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc"))
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(old.as_path())
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();
    sqlx::raw_sql(
        "INSERT INTO calls (id, call_sid, caller, called, started_at, updated_at, category, language)
           VALUES (1, 'CAold1', '+48600100200', '+48126165555', 1, 1, NULL, NULL),
                  (2, 'CAold2', '+48600100201', '+48126165555', 2, 2, 'roads', 'uk');
         INSERT INTO reports (id, number, call_id, category, language, caller, status, created_at, updated_at)
           VALUES (1, '20-00001', 1, 'other', 'pl', '+48600100200', 'missed_call', 1, 1),
                  (2, '20-00002', 2, 'roads', 'uk', '+48600100201', 'draft', 2, 2);
         UPDATE reports SET text = 'Dziura', duplicate_of = 1 WHERE id = 2;
         INSERT INTO recordings (report_id, recording_sid, url, created_at) VALUES (2, 'REold', 'http://127.0.0.1:9/r', 2);
         INSERT INTO audit_log (report_id, actor, action, at) VALUES (1, 'system', 'missed_call', 1);",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let store = hotline::store::open(&url).await.expect("migrates");
    let missed = store
        .get_report(&ReportNumber::parse("20-00001").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((missed.category, missed.language), (None, None));
    let n2 = ReportNumber::parse("20-00002").unwrap();
    let d = store.report_detail(&n2).await.unwrap().unwrap();
    assert_eq!(
        (
            d.report.category_code(),
            d.report.language,
            d.report.duplicate_of,
            d.report.text.as_deref()
        ),
        ("roads", Some(Language::Uk), Some(1), Some("Dziura"))
    );
    assert_eq!(d.recordings.len(), 1, "the recording still belongs to it");
    assert_eq!(d.call.map(|c| c.id), Some(2));
    // New reports go on after the old ones.
    let c = call(&store, 9).await;
    let r = store.open_report(&c, "litter", Language::Pl).await.unwrap();
    assert!(r.id > 2);
}
