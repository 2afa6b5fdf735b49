//! Hostile input as tests: forged and replayed webhooks, path traversal,
//! hostile API parameters, oversized bodies on every route, slow clients.

mod support;

use std::time::Duration;

use hotline::config::{Config, Secret};
use hotline::telephony::signature;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ACCOUNT: &str = "ACsecurity";
const TOKEN: &str = "security-token";

async fn start(timeout_secs: u64) -> (String, support::db::TestDb) {
    let db = support::db::sqlite().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut cfg = Config {
        public_url: Some(base.clone()),
        data_dir: db.dir.path().to_owned(),
        http_timeout_secs: timeout_secs,
        ..Default::default()
    };
    cfg.telephony.account_sid = ACCOUNT.into();
    cfg.telephony.auth_token = Secret::new(TOKEN);
    let state = hotline::web::AppState::new(db.store.clone(), cfg).unwrap();
    tokio::spawn(hotline::web::serve(state, listener, std::future::pending()));
    (base, db)
}

fn owned(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

async fn signed_post(base: &str, path: &str, p: &[(&str, &str)]) -> reqwest::Response {
    let sig = signature::sign(TOKEN, &format!("{base}{path}"), &owned(p));
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("X-Twilio-Signature", sig)
        .form(p)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn replayed_webhooks_change_nothing() {
    let (base, db) = start(15).await;
    let call = [
        ("CallSid", "CAreplay"),
        ("AccountSid", ACCOUNT),
        ("From", "+48600100200"),
        ("To", "+48126165555"),
    ];
    let first = signed_post(&base, "/twilio/voice", &call)
        .await
        .text()
        .await
        .unwrap();
    let lang = [
        ("CallSid", "CAreplay"),
        ("AccountSid", ACCOUNT),
        ("Digits", "1"),
    ];
    signed_post(&base, "/twilio/ivr?step=1&ev=digits", &lang).await;
    let cat = [
        ("CallSid", "CAreplay"),
        ("AccountSid", ACCOUNT),
        ("Digits", "2"),
    ];
    let recorded = signed_post(&base, "/twilio/ivr?step=2&ev=digits", &cat)
        .await
        .text()
        .await
        .unwrap();
    assert!(recorded.contains("<Record"));
    let sid = hotline::domain::CallSid::parse("CAreplay").unwrap();
    let before = db.store.get_call(&sid).await.unwrap().unwrap();
    // An attacker who captured earlier requests replays them verbatim.
    let again = signed_post(&base, "/twilio/voice", &call)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        again.contains("<Response>") && !again.contains("Dzień dobry"),
        "no new call, no restart of the menu"
    );
    assert!(first.contains("Dzień dobry"));
    let replay = signed_post(&base, "/twilio/ivr?step=1&ev=digits", &lang)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !replay.contains("Wybierz rodzaj sprawy") && replay.contains("<Record"),
        "a replay does not rewind the menu"
    );
    let after = db.store.get_call(&sid).await.unwrap().unwrap();
    assert_eq!(
        (before.ivr_state, before.category),
        (after.ivr_state, after.category),
        "nothing changed"
    );
    // Replayed with a new digit (a forgery): the signature no longer matches.
    let forged = [
        ("CallSid", "CAreplay"),
        ("AccountSid", ACCOUNT),
        ("Digits", "5"),
    ];
    let sig = signature::sign(
        TOKEN,
        &format!("{base}/twilio/ivr?step=2&ev=digits"),
        &owned(&cat),
    );
    let r = reqwest::Client::new()
        .post(format!("{base}/twilio/ivr?step=2&ev=digits"))
        .header("X-Twilio-Signature", sig)
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A step from the future is refused.
    let r = signed_post(&base, "/twilio/ivr?step=9&ev=digits", &cat).await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn path_traversal_finds_nothing() {
    let (base, _db) = start(15).await;
    let c = reqwest::Client::new();
    for path in [
        "/prompts/audio/pl/..%2F..%2F..%2Fetc%2Fpasswd",
        "/prompts/audio/pl/../../Cargo.toml",
        "/prompts/audio/..%2F..%2Fsrc/main.rs",
        "/prompts/audio/pl/greeting.wav",
        "/static/..%2F..%2FCargo.toml",
        "/open311/v2/requests/..%2F..%2Fetc%2Fpasswd.json",
    ] {
        let r = c.get(format!("{base}{path}")).send().await.unwrap();
        assert!(
            matches!(r.status().as_u16(), 400 | 404),
            "{path}: {}",
            r.status()
        );
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("root:") && !body.contains("[package]"),
            "{path} leaked a file"
        );
    }
}

#[tokio::test]
async fn every_route_has_a_body_limit() {
    let (base, _db) = start(15).await;
    let huge = "x".repeat(200 * 1024);
    let c = reqwest::Client::new();
    for (method, path) in [
        ("POST", "/twilio/voice"),
        ("POST", "/twilio/ivr?step=0&ev=digits"),
        ("POST", "/twilio/status"),
        ("POST", "/twilio/recording"),
        ("POST", "/login"),
        ("POST", "/logout"),
        ("POST", "/reports/26-00001"),
        ("PATCH", "/api/v1/reports/26-00001"),
        ("POST", "/api/v1/reports/26-00001/confirm"),
    ] {
        let r = c
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("a={huge}"))
            .send()
            .await
            .unwrap();
        // Either refused as too large, or refused as unauthenticated before
        // the body is read: never accepted.
        assert!(
            matches!(r.status().as_u16(), 413 | 401 | 303 | 403),
            "{method} {path}: {}",
            r.status()
        );
    }
    let r = c
        .post(format!("{base}/twilio/voice"))
        .body(format!("a={huge}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn hostile_api_parameters_are_refused() {
    let (base, db) = start(15).await;
    db.store
        .create_agent(
            "api",
            &hotline::auth::hash_password("api-password-1").unwrap(),
            "agent",
        )
        .await
        .unwrap();
    let a = db.store.agent_by_name("api").await.unwrap().unwrap();
    let (token, hash) = hotline::auth::new_token();
    db.store.create_api_token(a.id, &hash, "t").await.unwrap();
    let c = reqwest::Client::new();
    for q in [
        "status='; DROP TABLE reports; --",
        "language=xx",
        "category=%00",
        "limit=abc",
        "since=yesterday",
        "offset=-5&limit=999999999999999999999",
    ] {
        let r = c
            .get(format!("{base}/api/v1/reports?{q}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert!(
            matches!(r.status().as_u16(), 200 | 400),
            "{q}: {}",
            r.status()
        );
    }
    let ok = c
        .get(format!("{base}/api/v1/reports?limit=-1&offset=-3"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200, "out-of-range numbers are clamped");
    let r = c
        .patch(format!("{base}/api/v1/reports/26-00001"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(matches!(r.status().as_u16(), 400 | 404));
    let r = c
        .get(format!("{base}/api/v1/reports/%2e%2e%2f%2e%2e"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        db.store.list_reports(&Default::default()).await.is_ok(),
        "the table is still there"
    );
}

#[tokio::test]
async fn slow_clients_are_cut_off() {
    let (base, _db) = start(1).await;
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    // Headers promise a body that never comes (a slowloris upload).
    s.write_all(b"POST /twilio/voice HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nCallSid=CA").await.unwrap();
    let mut buf = vec![0u8; 1024];
    let started = std::time::Instant::now();
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("the server answered")
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
