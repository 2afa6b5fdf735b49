//! The agents' workspace over HTTP on a real port: access control, CSRF,
//! roles, login throttling, conflicts, the audit trail, audio ranges and
//! the JSON API. Both backends.

use crate::both_backends;
use crate::support;

use hotline::store::ReportEdit;
use reqwest::header;
use reqwest::redirect::Policy;
use serde_json::{json, Value};
use support::db::TestDb;
use support::workspace::{self, Workspace, ADMIN, AGENT, AGENT2};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The value of `name="…" value="…"` in a page.
fn field(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no field {name}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

async fn login(w: &Workspace, who: (&str, &str)) -> reqwest::Client {
    let c = client();
    let page = c
        .get(format!("{}/login", w.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = c
        .post(format!("{}/login", w.base))
        .form(&[
            ("name", who.0),
            ("password", who.1),
            ("csrf", &field(&page, "csrf")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "login of {}", who.0);
    let cookie = r
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("hotline_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    c
}

/// An API request with the bearer `token` and an optional JSON body.
async fn api(
    w: &Workspace,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", w.base))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

async fn page(c: &reqwest::Client, url: &str) -> (u16, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn report(w: &Workspace, number: &str) -> hotline::store::Report {
    w.db.store
        .get_report(&hotline::domain::ReportNumber::parse(number).unwrap())
        .await
        .unwrap()
        .unwrap()
}

async fn every_route_refuses_anonymous_access(db: TestDb) {
    let w = workspace::start(db).await;
    let c = client();
    let n = &w.drafts[0];
    for path in [
        "/",
        "/queue",
        "/missed",
        &format!("/reports/{n}"),
        &format!("/reports/{n}/audio"),
        "/events",
        "/admin",
    ] {
        let r = c.get(format!("{}{path}", w.base)).send().await.unwrap();
        assert_eq!(r.status(), 303, "GET {path}");
        let to = r.headers()[header::LOCATION].to_str().unwrap().to_owned();
        assert!(
            to == "/login" || (path == "/" && to == "/queue"),
            "{path} → {to}"
        );
    }
    for path in [format!("/reports/{n}"), "/logout".into()] {
        let r = c
            .post(format!("{}{path}", w.base))
            .form(&[("action", "confirm"), ("version", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "POST {path}");
    }
    let api = [
        ("GET", "/api/v1/reports".to_owned()),
        ("GET", format!("/api/v1/reports/{n}")),
        ("GET", format!("/api/v1/reports/{n}/audio")),
        ("PATCH", format!("/api/v1/reports/{n}")),
        ("POST", format!("/api/v1/reports/{n}/confirm")),
        ("POST", format!("/api/v1/reports/{n}/reject")),
        ("GET", "/api/v1/openapi.json".to_owned()),
    ];
    for (method, path) in &api {
        let r = c
            .request(method.parse().unwrap(), format!("{}{path}", w.base))
            .json(&json!({"version": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{method} {path}");
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let bad = c
            .request(method.parse().unwrap(), format!("{}{path}", w.base))
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 401, "{method} {path} with a bad token");
    }
    assert_eq!(report(&w, n).await.status, "draft", "nothing changed");
}

async fn queue_and_draft_pages_show_what_agents_need(db: TestDb) {
    let w = workspace::start(db).await;
    let c = login(&w, AGENT).await;
    let (status, html) = page(&c, &format!("{}/queue", w.base)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Zgłoszenia do sprawdzenia")
            && html.contains(&w.drafts[0])
            && html.contains(&w.drafts[1])
    );
    assert!(
        html.find(&w.drafts[0]).unwrap() < html.find(&w.drafts[1]).unwrap(),
        "oldest first"
    );
    assert!(html.contains("Uszkodzenia jezdni i chodników"));
    let (_, missed) = page(&c, &format!("{}/missed", w.base)).await;
    assert!(
        missed.contains(&w.missed) && missed.contains("tel:+48600999888"),
        "call-back number"
    );
    let (_, filtered) = page(&c, &format!("{}/queue?category=lighting", w.base)).await;
    assert!(!filtered.contains(&w.drafts[0]));
    let (_, html) = page(&c, &format!("{}/reports/{}", w.base, w.drafts[0])).await;
    assert!(html.contains("<audio") && html.contains(&format!("/reports/{}/audio", w.drafts[0])));
    assert!(
        html.contains("class=\"seg low\""),
        "low-confidence segment highlighted"
    );
    assert!(html.contains("data-start=\"1200\""));
    // Speech without text: a marker in Polish at its place, a click away,
    // and no internal reason.
    assert!(
        html.contains("class=\"seg unclear\" data-start=\"62400\"")
            && html.contains("[niezrozumiałe 1:02–1:05]"),
        "unclear marker"
    );
    assert!(!html.contains("hallucination"), "internal reason shown");
    assert!(
        html.contains("Ctrl+Enter") && html.contains("Alt+K"),
        "shortcuts shown"
    );
    assert!(
        html.contains("<label for=\"text\">") && html.contains("<label for=\"category\">"),
        "labelled fields"
    );
    assert!(
        html.contains(&format!("href=\"/reports/{}\"", w.drafts[1])),
        "next draft link"
    );
    // Scripts in templates are escaped.
    let r0 = report(&w, &w.drafts[0]).await;
    w.db.store
        .edit_report(
            r0.id,
            r0.version,
            &hotline::store::ReportEdit {
                text: Some("<script>alert(1)</script>".into()),
                ..Default::default()
            },
            "t",
            hotline::domain::now_ms(),
        )
        .await
        .unwrap();
    let (_, html) = page(&c, &format!("{}/reports/{}", w.base, w.drafts[0])).await;
    assert!(!html.contains("<script>alert(1)") && html.contains("&lt;script&gt;"));
    // English on request, remembered.
    let (_, en) = page(&c, &format!("{}/queue?ui=en", w.base)).await;
    assert!(en.contains("Drafts to review"));
    let (_, again) = page(&c, &format!("{}/queue", w.base)).await;
    assert!(again.contains("Drafts to review"));
}

async fn csrf_is_enforced(db: TestDb) {
    let w = workspace::start(db).await;
    let c = login(&w, AGENT).await;
    let n = &w.drafts[0];
    let version = report(&w, n).await.version;
    for csrf in ["", "forged"] {
        let r = c
            .post(format!("{}/reports/{n}", w.base))
            .form(&[
                ("csrf", csrf),
                ("action", "confirm"),
                ("version", &version.to_string()),
                ("text", "x"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "csrf {csrf:?}");
    }
    assert_eq!(report(&w, n).await.version, version, "nothing written");
    // The session's cookie cannot write through the API without the header.
    let r = c
        .patch(format!("{}/api/v1/reports/{n}", w.base))
        .json(&json!({"version": version, "text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (_, html) = page(&c, &format!("{}/queue", w.base)).await;
    let token = field(&html, "csrf");
    let r = c
        .patch(format!("{}/api/v1/reports/{n}", w.base))
        .header("X-CSRF-Token", &token)
        .json(&json!({"version": version, "address": "Długa 12"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Logout needs it too.
    let r = c
        .post(format!("{}/logout", w.base))
        .form(&[("csrf", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .post(format!("{}/logout", w.base))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        c.get(format!("{}/queue", w.base))
            .send()
            .await
            .unwrap()
            .status(),
        303,
        "session gone"
    );
    // Login itself is protected against cross-site posts.
    let r = client()
        .post(format!("{}/login", w.base))
        .form(&[("name", AGENT.0), ("password", AGENT.1), ("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

async fn roles_are_enforced(db: TestDb) {
    let w = workspace::start(db).await;
    let agent = login(&w, AGENT).await;
    let (status, _) = page(&agent, &format!("{}/admin", w.base)).await;
    assert_eq!(status, 403);
    let (_, q) = page(&agent, &format!("{}/queue", w.base)).await;
    assert!(!q.contains("href=\"/admin\""), "no admin link for agents");
    let admin = login(&w, ADMIN).await;
    let (status, html) = page(&admin, &format!("{}/admin", w.base)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(AGENT.0) && html.contains("Nagranie pobrane"),
        "the history in words"
    );
    assert!(!html.contains("audio_stored"), "no internal codes");
    // Where the recordings are and what they take, in words.
    let kept = w.db.store.stored_recordings().await.unwrap().len();
    assert!(kept > 0);
    assert!(
        html.contains("katalog na serwerze: ")
            && html.contains("<dd>odpowiada</dd>")
            && html.contains(&format!("Przechowywane nagrania</dt><dd>{kept}</dd>")),
        "the recordings storage in words"
    );
}

async fn logins_are_throttled(db: TestDb) {
    let w = workspace::start(db).await;
    let c = client();
    let try_login = |pw: &'static str| {
        let c = c.clone();
        let base = w.base.clone();
        async move {
            let page = c
                .get(format!("{base}/login"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            c.post(format!("{base}/login"))
                .form(&[
                    ("name", AGENT.0),
                    ("password", pw),
                    ("csrf", &field(&page, "csrf")),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for _ in 0..4 {
        assert_eq!(try_login("wrong-password").await, 401);
    }
    assert_eq!(
        try_login("wrong-password").await,
        429,
        "fifth failure locks"
    );
    assert_eq!(
        try_login(AGENT.1).await,
        429,
        "locked even with the right password"
    );
    let other = client();
    let unknown = {
        let page = other
            .get(format!("{}/login", w.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        other
            .post(format!("{}/login", w.base))
            .form(&[
                ("name", "nobody"),
                ("password", "whatever-password"),
                ("csrf", &field(&page, "csrf")),
            ])
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(unknown, 429, "the address is locked out too");
}

async fn second_save_on_the_same_draft_is_a_conflict(db: TestDb) {
    let w = workspace::start(db).await;
    let n = &w.drafts[0];
    let a = login(&w, AGENT).await;
    let b = login(&w, AGENT2).await;
    let (_, pa) = page(&a, &format!("{}/reports/{n}", w.base)).await;
    let (_, pb) = page(&b, &format!("{}/reports/{n}", w.base)).await;
    let save = |c: &reqwest::Client, html: &str, text: &str| {
        c.post(format!("{}/reports/{n}", w.base))
            .form(&[
                ("csrf", field(html, "csrf")),
                ("version", field(html, "version")),
                ("action", "save".into()),
                ("text", text.into()),
                ("category", "roads".into()),
                ("address", "".into()),
            ])
            .send()
    };
    let first = save(&a, &pa, "Dziura w jezdni na Długiej 12")
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let second = save(&b, &pb, "Latarnia przy Długiej").await.unwrap();
    assert_eq!(second.status(), 409);
    let body = second.text().await.unwrap();
    assert!(
        body.contains("Ktoś inny zmienił to zgłoszenie") && body.contains("Latarnia przy Długiej"),
        "the loser's text is shown, not lost"
    );
    let r = report(&w, n).await;
    assert_eq!(r.text.as_deref(), Some("Dziura w jezdni na Długiej 12"));
    // The API detects it as well.
    let token = api_token(&w, AGENT2.0).await;
    let stale_version = field(&pb, "version");
    let stale = api(
        &w,
        &token,
        "PATCH",
        &format!("/api/v1/reports/{n}"),
        Some(json!({"version": stale_version.parse::<i64>().unwrap(), "text": "x"})),
    )
    .await;
    assert_eq!(stale.status(), 409);
}

async fn api_token(w: &Workspace, agent: &str) -> String {
    let a = w.db.store.agent_by_name(agent).await.unwrap().unwrap();
    let (token, hash) = hotline::auth::new_token();
    w.db.store
        .create_api_token(a.id, &hash, "test", hotline::domain::now_ms())
        .await
        .unwrap();
    token
}

async fn confirm_reject_and_duplicate_are_audited(db: TestDb) {
    let w = workspace::start(db).await;
    let c = login(&w, AGENT).await;
    let n0 = &w.drafts[0];
    let (_, html) = page(&c, &format!("{}/reports/{n0}", w.base)).await;
    let r = c
        .post(format!("{}/reports/{n0}", w.base))
        .form(&[
            ("csrf", field(&html, "csrf")),
            ("version", field(&html, "version")),
            ("action", "confirm".into()),
            ("text", "Dziura w jezdni, Długa 12".into()),
            ("category", "roads".into()),
            ("address", "Długa 12".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "on to the next draft");
    assert_eq!(
        r.headers()[header::LOCATION],
        format!("/reports/{}?done={n0}", w.drafts[1]).as_str()
    );
    let confirmed = report(&w, n0).await;
    assert_eq!(
        (
            confirmed.status.as_str(),
            confirmed.address.as_deref(),
            confirmed.decided_by.as_deref()
        ),
        ("confirmed", Some("Długa 12"), Some(AGENT.0))
    );
    let d =
        w.db.store
            .report_detail(&confirmed.number)
            .await
            .unwrap()
            .unwrap();
    let edited = d
        .audit
        .iter()
        .find(|e| e.action == "edited")
        .expect("edit audited");
    assert_eq!(edited.actor, AGENT.0);
    assert!(edited
        .before_json
        .as_ref()
        .unwrap()
        .contains("Dziura w jezdni na ulicy Długiej"));
    assert!(edited.after_json.as_ref().unwrap().contains("Długa 12"));
    assert!(d
        .audit
        .iter()
        .any(|e| e.action == "confirmed" && e.after_json.as_ref().unwrap().contains("confirmed")));
    // Mark the other draft as a duplicate of the first.
    let n1 = &w.drafts[1];
    let (_, html) = page(&c, &format!("{}/reports/{n1}", w.base)).await;
    let r = c
        .post(format!("{}/reports/{n1}", w.base))
        .form(&[
            ("csrf", field(&html, "csrf")),
            ("version", field(&html, "version")),
            ("action", "reject".into()),
            ("reason", "spam".into()),
            ("duplicate_of", n0.clone()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let dup = report(&w, n1).await;
    assert_eq!(
        (
            dup.status.as_str(),
            dup.reject_reason.as_deref(),
            dup.duplicate_of
        ),
        ("rejected", Some("duplicate"), Some(confirmed.id))
    );
    // A decided report cannot be confirmed again.
    let token = api_token(&w, AGENT.0).await;
    let again = api(
        &w,
        &token,
        "POST",
        &format!("/api/v1/reports/{n0}/confirm"),
        Some(json!({"version": confirmed.version})),
    )
    .await;
    assert_eq!(again.status(), 409);
    // Missed calls can be rejected through the API.
    let m = report(&w, &w.missed).await;
    let r = api(
        &w,
        &token,
        "POST",
        &format!("/api/v1/reports/{}/reject", w.missed),
        Some(json!({"version": m.version, "reason": "silence"})),
    )
    .await;
    assert_eq!(r.status(), 200);
    let bad = api(
        &w,
        &token,
        "POST",
        &format!("/api/v1/reports/{}/reject", n1),
        Some(json!({"version": 99, "reason": "because"})),
    )
    .await;
    assert_eq!(bad.status(), 400);
}

async fn api_lists_filters_and_serves_audio_ranges(db: TestDb) {
    let w = workspace::start(db).await;
    let token = api_token(&w, AGENT.0).await;
    let c = reqwest::Client::new();
    let list: Value = api(&w, &token, "GET", "/api/v1/reports?status=draft", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["reports"].as_array().unwrap().len(), 2);
    let bad = api(&w, &token, "GET", "/api/v1/reports?status=lost", None).await;
    assert_eq!(bad.status(), 400);
    let hostile = api(
        &w,
        &token,
        "GET",
        "/api/v1/reports?category=x%27%20OR%201%3D1",
        None,
    )
    .await;
    assert_eq!(hostile.status(), 400);
    let one: Value = api(
        &w,
        &token,
        "GET",
        &format!("/api/v1/reports/{}", w.drafts[0]),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(one["transcript"]["segments"][1]["start_ms"], 1200);
    let spec: Value = api(&w, &token, "GET", "/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(spec["paths"]["/reports/{number}/reject"]["post"].is_object());
    let range = c
        .get(format!("{}/api/v1/reports/{}/audio", w.base, w.drafts[0]))
        .bearer_auth(&token)
        .header(header::RANGE, "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(range.status(), 206);
    assert!(range.headers()[header::CONTENT_RANGE]
        .to_str()
        .unwrap()
        .starts_with("bytes 0-99/"));
    assert_eq!(range.bytes().await.unwrap().len(), 100);
    let whole = api(
        &w,
        &token,
        "GET",
        &format!("/api/v1/reports/{}/audio", w.drafts[0]),
        None,
    )
    .await;
    assert_eq!(whole.headers()[header::CONTENT_TYPE], "audio/wav");
    assert!(whole.bytes().await.unwrap().starts_with(b"RIFF"));
    let none = api(
        &w,
        &token,
        "GET",
        &format!("/api/v1/reports/{}/audio", w.missed),
        None,
    )
    .await;
    assert_eq!(none.status(), 404);
    // A revoked token stops working.
    let id = w.db.store.list_api_tokens().await.unwrap()[0].id;
    w.db.store
        .revoke_api_token(id, hotline::domain::now_ms())
        .await
        .unwrap();
    assert_eq!(
        api(&w, &token, "GET", "/api/v1/reports", None)
            .await
            .status(),
        401
    );
}

async fn live_updates_arrive_as_server_sent_events(db: TestDb) {
    let w = workspace::start(db).await;
    let c = login(&w, AGENT).await;
    let mut r = c.get(format!("{}/events", w.base)).send().await.unwrap();
    assert_eq!(r.headers()[header::CONTENT_TYPE], "text/event-stream");
    let first = tokio::time::timeout(std::time::Duration::from_secs(5), r.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&first);
    assert!(
        text.contains("event: queue") && text.contains("\"drafts\":2"),
        "{text}"
    );
    // A new draft arrives: the stream says so.
    workspace::draft(&w.db.store, w.db.dir.path(), 9, "Zalana piwnica").await;
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains("\"drafts\":3") {
        assert!(std::time::Instant::now() < deadline, "no update: {seen}");
        if let Ok(Ok(Some(chunk))) =
            tokio::time::timeout(std::time::Duration::from_secs(5), r.chunk()).await
        {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// The report page names the caller's choices and connection attempts in
/// words, never as the IVR's internal path.
async fn the_report_page_names_the_callers_choices(db: TestDb) {
    let w = workspace::start(db).await;
    let n = &w.drafts[0];
    let d =
        w.db.store
            .report_detail(&hotline::domain::ReportNumber::parse(n).unwrap())
            .await
            .unwrap()
            .unwrap();
    let update = hotline::store::IvrUpdate {
        state: d.call.as_ref().unwrap().ivr_state.clone(),
        language: Some(hotline::domain::Language::Pl),
        category: Some("water".into()),
        menu_path: "language:1 > main:5 > more:1 > referral:1".into(),
    };
    w.db.store
        .save_ivr(&d.call.as_ref().unwrap().call_sid, &update)
        .await
        .unwrap();
    let now = w.db.store.now();
    w.db.store
        .dial_started(
            &d.call.as_ref().unwrap().call_sid,
            hotline::store::DialKind::Referral,
            "994",
            Some("water"),
            now,
        )
        .await
        .unwrap();
    w.db.store
        .dial_ended(&d.call.as_ref().unwrap().call_sid, "busy", None, now)
        .await
        .unwrap();
    let c = login(&w, AGENT).await;
    let (_, html) = page(&c, &format!("{}/reports/{n}", w.base)).await;
    assert!(
        html.contains("polski → Woda, ogrzewanie, gaz, prąd, śnieg i inne sprawy → Woda, kanalizacja i podtopienia → połączenie z całodobową służbą"),
        "{}",
        &html[html.find("Wybory").unwrap_or(0)..][..400.min(html.len())]
    );
    assert!(html.contains("Pogotowie wodociągowe Wodociągów Miasta Krakowa (994): zajęte"));
    assert!(
        !html.contains("main:5") && !html.contains("referral:1"),
        "no internal codes"
    );
}

/// Urgent drafts: a count in the header (hidden when none), a filter in
/// the queue and in the API.
async fn urgent_drafts_are_counted_and_filtered(db: TestDb) {
    let w = workspace::start(db).await;
    let c = login(&w, AGENT).await;
    let page = |path: &'static str| {
        let c = c.clone();
        let url = format!("{}{path}", w.base);
        async move { c.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let queue = page("/queue").await;
    assert!(
        queue.contains("id=\"urgent-count\" class=\"urgent-link\" hidden"),
        "none yet"
    );
    let (_, gas, _, _) = crate::escalation::report(
        &w.db.store,
        7,
        "Czuć gaz na Długiej.",
        crate::escalation::heard("czuć gaz"),
    )
    .await;
    let queue = page("/queue").await;
    assert!(
        queue.contains("id=\"urgent-count\" class=\"urgent-link\" >Pilne: <strong>1</strong>"),
        "{queue}"
    );
    let urgent = page("/queue?urgent=1").await;
    assert!(urgent.contains(&gas), "{urgent}");
    for other in &w.drafts {
        assert!(queue.contains(other.as_str()) && !urgent.contains(other.as_str()));
    }
    assert!(urgent.contains("w nagraniu padło „czuć gaz”"));
    let api: serde_json::Value = c
        .get(format!("{}/api/v1/reports?urgent=true", w.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let numbers: Vec<&str> = api["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, [gas.as_str()]);
}

/// The draft lists the same caller's other reports of the last 90 days,
/// matched by a keyed hash: never the hash or the number in a URL.
async fn a_draft_lists_the_same_callers_other_reports(db: TestDb) {
    let w = workspace::start(db).await;
    let c = login(&w, AGENT).await;
    let page = |number: String| {
        let c = c.clone();
        let url = format!("{}/reports/{number}", w.base);
        async move { c.get(url).send().await.unwrap().text().await.unwrap() }
    };
    // Both drafts came from +48600100200, the missed call from another number.
    let second = page(w.drafts[1].clone()).await;
    let listed = &second[second.find("id=\"same-caller\"").expect("listed")..];
    let listed = &listed[..listed.find("</div>").unwrap()];
    assert!(
        listed.contains(&format!("href=\"/reports/{}\"", w.drafts[0])),
        "{listed}"
    );
    assert!(!listed.contains(&w.missed) && !listed.contains(&w.drafts[1]));
    let missed = page(w.missed.clone()).await;
    assert!(
        !missed.contains("id=\"same-caller\""),
        "nobody else called from that number"
    );
    // A withheld number is nobody in particular.
    for n in 0..2 {
        let sid = support::start_call(&w.db.store, &format!("CAanon{n}"), "anonymous").await;
        w.db.store
            .call_ended(&sid, "completed", w.db.store.now())
            .await
            .unwrap();
    }
    let anon = support::reports(&w.db.store)
        .await
        .into_iter()
        .find(|r| r.caller == "anonymous")
        .unwrap();
    let anon = page(anon.number.to_string()).await;
    assert!(!anon.contains("id=\"same-caller\""));
    assert!(
        !listed.contains("600100200"),
        "the list never shows the number"
    );
}

/// A draft filed under the default category is offered the category its
/// transcript speaks of; a draft the caller sorted is not.
async fn default_category_drafts_get_a_suggested_category(db: TestDb) {
    let w = workspace::start(db).await;
    let c = login(&w, AGENT).await;
    let page = |number: String| {
        let c = c.clone();
        let url = format!("{}/reports/{number}", w.base);
        async move { c.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let data = w.db.dir.path();
    let unsorted = workspace::draft_in(
        &w.db.store,
        data,
        20,
        "Od rana nie ma ciepłej wody i kaloryfery są zimne",
        "other",
    )
    .await;
    let html = page(unsorted.clone()).await;
    let offer = &html[html.find("id=\"suggest\"").expect("a suggestion")..];
    assert!(
        offer.contains("data-category=\"heating\""),
        "{}",
        &offer[..200]
    );
    assert!(offer.contains("Awarie ogrzewania i ciepłej wody"));
    let vague = workspace::draft_in(&w.db.store, data, 21, "Mam pytanie o urząd", "other").await;
    assert!(!page(vague).await.contains("id=\"suggest\""));
    // Sorted by the caller ("roads"), even with the words of another.
    assert!(!page(w.drafts[0].clone()).await.contains("id=\"suggest\""));
}

/// Posts the report form of `number` as the page offers it, with `extra`
/// fields; returns the status, the redirect target and the page.
async fn submit(
    w: &Workspace,
    c: &reqwest::Client,
    number: &str,
    extra: &[(&str, &str)],
) -> (u16, String, String) {
    let (_, html) = page(c, &format!("{}/reports/{number}", w.base)).await;
    let mut form = vec![
        ("csrf".to_owned(), field(&html, "csrf")),
        ("version".to_owned(), field(&html, "version")),
    ];
    form.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let r = c
        .post(format!("{}/reports/{number}", w.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    let to = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status().as_u16(), to, r.text().await.unwrap())
}

/// A decision is checked as a whole before anything is saved: confirm
/// needs text and a category, a duplicate another existing report, a
/// rejection its reason; the workspace and the API say what is missing in
/// words, and the agent's edits are kept on the page, not saved.
async fn decisions_are_checked_before_anything_is_saved(db: TestDb) {
    let w = workspace::start(db).await;
    let c = login(&w, AGENT).await;
    let n0 = &w.drafts[0];
    let before = report(&w, n0).await;
    // The form's fields, and the words the page must say.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: [Case; 5] = [
        (
            &[("action", "confirm"), ("text", "   ")],
            &["Aby potwierdzić, wpisz treść zgłoszenia."],
        ),
        (
            &[
                ("action", "reject"),
                ("text", "Zmieniony tekst"),
                ("reason", ""),
            ],
            &["Wybierz powód odrzucenia."],
        ),
        (
            &[
                ("action", "reject"),
                ("text", "Zmieniony tekst"),
                ("reason", "duplicate"),
            ],
            &["Podaj numer zgłoszenia, którego to jest duplikat."],
        ),
        (
            &[
                ("action", "reject"),
                ("text", "Zmieniony tekst"),
                ("reason", "duplicate"),
                ("duplicate_of", n0),
            ],
            &["nie może być duplikatem samego siebie"],
        ),
        (
            &[
                ("action", "reject"),
                ("text", "Zmieniony tekst"),
                ("reason", "spam"),
                ("duplicate_of", "26-99999"),
            ],
            &["Nie ma zgłoszenia o takim numerze."],
        ),
    ];
    for (form, words) in cases {
        let (status, _, html) = submit(&w, &c, n0, form).await;
        assert_eq!(status, 422, "{form:?}");
        for word in words {
            assert!(html.contains(word), "{form:?}: {word}");
        }
        assert!(html.contains("Nic nie zapisano."));
        if form
            .iter()
            .any(|(k, v)| *k == "text" && v.contains("Zmieniony"))
        {
            assert!(
                html.contains(">Zmieniony tekst</textarea>"),
                "the edit stays on the page"
            );
        }
        let now = report(&w, n0).await;
        assert_eq!(
            (now.status.as_str(), now.version),
            ("draft", before.version),
            "{form:?}"
        );
        assert_eq!(now.text, before.text, "nothing saved: {form:?}");
    }
    // The API refuses the same, in words (409: the report lacks them).
    let token = api_token(&w, AGENT.0).await;
    let n1 = &w.drafts[1];
    let v = report(&w, n1).await.version;
    for (path, body, says) in [
        (
            "reject",
            json!({ "version": v, "reason": "duplicate" }),
            "names the report it duplicates",
        ),
        (
            "reject",
            json!({ "version": v, "reason": "duplicate", "duplicate_of": n1 }),
            "cannot duplicate itself",
        ),
        (
            "reject",
            json!({ "version": v, "reason": "duplicate", "duplicate_of": "26-99999" }),
            "does not exist",
        ),
    ] {
        let r = api(
            &w,
            &token,
            "POST",
            &format!("/api/v1/reports/{n1}/{path}"),
            Some(body),
        )
        .await;
        assert_eq!(r.status(), 409);
        let problem: serde_json::Value = r.json().await.unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{problem}"
        );
    }
    let empty = report(&w, n1).await;
    w.db.store
        .edit_report(
            empty.id,
            empty.version,
            &ReportEdit {
                text: Some(String::new()),
                category: None,
                address: None,
            },
            "jan",
            w.db.store.now(),
        )
        .await
        .unwrap();
    let v = report(&w, n1).await.version;
    let r = api(
        &w,
        &token,
        "POST",
        &format!("/api/v1/reports/{n1}/confirm"),
        Some(json!({ "version": v })),
    )
    .await;
    assert_eq!(r.status(), 409);
    assert_eq!(report(&w, n1).await.status, "draft");
}

/// After a decision the next page names the report and its new status,
/// with an undo for 30 seconds for the agent who made it; afterwards only
/// an administrator can reopen it. Both are audited; an undone decision's
/// news never leaves for city systems.
async fn decisions_can_be_undone_then_reopened_by_administrators(db: TestDb) {
    let w = workspace::start(db).await;
    let jan = login(&w, AGENT).await;
    let n0 = &w.drafts[0];
    let (status, to, _) = submit(&w, &jan, n0, &[("action", "confirm")]).await;
    assert_eq!(status, 303);
    assert_eq!(to, format!("/reports/{}?done={n0}", w.drafts[1]));
    let (_, next) = page(&jan, &format!("{}{to}", w.base)).await;
    assert!(
        next.contains(&format!("Zgłoszenie {n0}: potwierdzone.")),
        "the flash names it"
    );
    assert!(next.contains(&format!("action=\"/reports/{n0}/undo\"")));
    let queued = |w: &Workspace| {
        let store = w.db.store.clone();
        async move {
            store
                .job_counts()
                .await
                .unwrap()
                .iter()
                .filter(|(k, st, _)| k == "report_decided" && st == "queued")
                .map(|(_, _, n)| n)
                .sum::<i64>()
        }
    };
    assert_eq!(queued(&w).await, 1, "the news waits out the undo window");
    // Another agent cannot undo it.
    let ewa = login(&w, AGENT2).await;
    let undo = |c: reqwest::Client, version: i64| {
        let url = format!("{}/reports/{n0}/undo", w.base);
        let html_url = format!("{}/reports/{n0}", w.base);
        async move {
            let (_, html) = page(&c, &html_url).await;
            c.post(url)
                .form(&[
                    ("csrf", field(&html, "csrf")),
                    ("version", version.to_string()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let v = report(&w, n0).await.version;
    assert_eq!(undo(ewa.clone(), v).await.status(), 403);
    let r = undo(jan.clone(), v).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Decyzja cofnięta"));
    let back = report(&w, n0).await;
    assert_eq!(
        (back.status.as_str(), back.decided_by.as_deref()),
        ("draft", None)
    );
    assert_eq!(queued(&w).await, 0, "the decision's news withdrawn");

    // Rejected again; 31 s later the undo is gone, a reopen is the admin's.
    let (status, _, _) = submit(
        &w,
        &jan,
        n0,
        &[("action", "reject"), ("reason", "not_city")],
    )
    .await;
    assert_eq!(status, 303);
    w.db.store.clock().advance(31_000);
    let (_, html) = page(&jan, &format!("{}/reports/{n0}", w.base)).await;
    assert!(!html.contains("id=\"undo\"") && !html.contains("id=\"reopen\""));
    assert!(
        !html.contains("Ctrl+Enter"),
        "no decision shortcuts on a decided report"
    );
    let v = report(&w, n0).await.version;
    let late = undo(jan.clone(), v).await;
    assert_eq!(late.status(), 403);
    assert!(late.text().await.unwrap().contains("tylko przez 30 sekund"));
    let admin = login(&w, ADMIN).await;
    let (_, html) = page(&admin, &format!("{}/reports/{n0}", w.base)).await;
    assert!(html.contains("id=\"reopen\""));
    let r = admin
        .post(format!("{}/reports/{n0}/reopen", w.base))
        .form(&[("csrf", field(&html, "csrf")), ("version", v.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let reopened = report(&w, n0).await;
    assert_eq!(reopened.status, "draft");
    assert_eq!(reopened.reject_reason, None);
    let d =
        w.db.store
            .report_detail(&reopened.number)
            .await
            .unwrap()
            .unwrap();
    let actions: Vec<(&str, &str)> = d
        .audit
        .iter()
        .map(|e| (e.actor.as_str(), e.action.as_str()))
        .collect();
    assert!(
        actions.contains(&(AGENT.0, "undone")) && actions.contains(&(ADMIN.0, "reopened")),
        "{actions:?}"
    );
    // The administrator's history names the report and the change in words.
    let (_, admin_page) = page(&admin, &format!("{}/admin", w.base)).await;
    let audit = &admin_page[admin_page.find("id=\"audit\"").unwrap()..];
    assert!(audit.contains(&format!("<a href=\"/reports/{n0}\">{n0}</a>")));
    assert!(
        audit.contains("status: odrzucone → do sprawdzenia"),
        "{audit}"
    );
    assert!(audit.contains("Otwarte ponownie"));
    // An agent may not reopen.
    let (status, _, _) = submit(&w, &jan, n0, &[("action", "reject"), ("reason", "spam")]).await;
    assert_eq!(status, 303);
    w.db.store.clock().advance(31_000);
    let (_, html) = page(&jan, &format!("{}/reports/{n0}", w.base)).await;
    let v = report(&w, n0).await.version;
    let r = jan
        .post(format!("{}/reports/{n0}/reopen", w.base))
        .form(&[("csrf", field(&html, "csrf")), ("version", v.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

/// A missed call is called back: no answer (counted, still waiting),
/// no callback needed (closed, with an undo), or a report taken by phone
/// (the missed call becomes a draft to fill in and confirm). A call that
/// ended in the greeting shows no category or language it never had.
async fn missed_calls_are_called_back_and_closed(db: TestDb) {
    let w = workspace::start(db).await;
    let c = login(&w, AGENT).await;
    let m = w.missed.clone();
    let (_, html) = page(&c, &format!("{}/reports/{m}", w.base)).await;
    assert!(html.contains("id=\"callback-outcomes\""));
    assert!(html.contains("nie wybrano w menu"));
    let (status, _, html) = submit(&w, &c, &m, &[("action", "callback:no_answer")]).await;
    assert_eq!(status, 200);
    assert!(html.contains("nikt nie odebrał"));
    let r = report(&w, &m).await;
    assert_eq!((r.status.as_str(), r.callback_attempts), ("missed_call", 1));
    let (_, list) = page(&c, &format!("{}/missed", w.base)).await;
    assert!(
        list.contains("Oddzwonienie: 1"),
        "the attempt shows in the list"
    );

    // The API records callbacks of missed calls only.
    let token = api_token(&w, AGENT.0).await;
    let d0 = report(&w, &w.drafts[0]).await;
    let r = api(
        &w,
        &token,
        "POST",
        &format!("/api/v1/reports/{}/callback", w.drafts[0]),
        Some(json!({ "version": d0.version, "outcome": "filed" })),
    )
    .await;
    assert_eq!(r.status(), 409);

    let (status, to, _) = submit(&w, &c, &m, &[("action", "callback:not_needed")]).await;
    assert_eq!(status, 303);
    assert_eq!(to, format!("/missed?done={m}"));
    let (_, list) = page(&c, &format!("{}{to}", w.base)).await;
    assert!(
        list.contains(&format!("Zgłoszenie {m}: zamknięte (bez zgłoszenia).")),
        "{list}"
    );
    assert!(list.contains(&format!("action=\"/reports/{m}/undo\"")));
    let r = report(&w, &m).await;
    assert_eq!((r.status.as_str(), r.callback_attempts), ("closed", 2));
    let r = c
        .post(format!("{}/reports/{m}/undo", w.base))
        .form(&[
            ("csrf", field(&list, "csrf")),
            ("version", r.version.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(report(&w, &m).await.status, "missed_call", "undone");

    // Called back and told: the missed call is closed and a new draft,
    // pre-filled from it (what the agent typed first) and linked to it,
    // opens to be filled in and confirmed as usual.
    let (status, to, _) = submit(
        &w,
        &c,
        &m,
        &[("action", "callback:filed"), ("address", "Długa 5")],
    )
    .await;
    assert_eq!(status, 303);
    let missed = report(&w, &m).await;
    assert_eq!(
        (missed.status.as_str(), missed.callback_outcome.as_deref()),
        ("closed", Some("filed"))
    );
    let n = to
        .strip_prefix("/reports/")
        .and_then(|t| t.strip_suffix("?filed=1"))
        .unwrap_or_else(|| panic!("to the new draft: {to}"))
        .to_owned();
    assert_ne!(n, m.to_string());
    let filed = report(&w, &n).await;
    assert_eq!(
        (
            filed.status.as_str(),
            filed.follows_up,
            filed.call_id,
            filed.address.as_deref(),
            filed.caller == missed.caller,
        ),
        ("draft", Some(missed.id), None, Some("Długa 5"), true)
    );
    let (_, html) = page(&c, &format!("{}{to}", w.base)).await;
    assert!(
        html.contains("Nowe zgłoszenie przyjęte przez telefon"),
        "{html}"
    );
    assert!(html.contains(&format!("id=\"follows\"><a href=\"/reports/{m}\">")));
    assert!(
        html.contains("— wybierz kategorię —"),
        "no category invented"
    );
    let (_, html) = page(&c, &format!("{}/reports/{m}", w.base)).await;
    assert!(html.contains(&format!("id=\"followed-by\"><a href=\"/reports/{n}\">")));
    // Confirm still needs what it always needs.
    let (status, _, html) = submit(&w, &c, &n, &[("action", "confirm")]).await;
    assert_eq!(status, 422, "{html}");
    let (status, _, _) = submit(
        &w,
        &c,
        &n,
        &[
            ("action", "confirm"),
            ("text", "Przewrócony kosz na Długiej"),
            ("category", "litter"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let r = report(&w, &n).await;
    assert_eq!(
        (r.status.as_str(), r.category_code()),
        ("confirmed", "litter")
    );
    let actions = |n: String| {
        let store = std::sync::Arc::clone(&w.db.store);
        async move {
            let n = hotline::domain::ReportNumber::parse(&n).unwrap();
            let d = store.report_detail(&n).await.unwrap().unwrap();
            d.audit.iter().map(|e| e.action.clone()).collect::<Vec<_>>()
        }
    };
    let of_missed = actions(m.to_string()).await;
    for a in [
        "called_back_no_answer",
        "called_back_not_needed",
        "undone",
        "called_back_filed",
    ] {
        assert!(of_missed.iter().any(|x| x == a), "{a}: {of_missed:?}");
    }
    assert_eq!(
        actions(n.clone()).await,
        ["filed_by_phone", "edited", "confirmed"]
    );

    // The API answers with both: the missed call and the new draft.
    let other = workspace::missed_call(&w.db.store, 77).await;
    let v = report(&w, &other).await.version;
    let r = api(
        &w,
        &token,
        "POST",
        &format!("/api/v1/reports/{other}/callback"),
        Some(json!({ "version": v, "outcome": "filed" })),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["report"]["status"], "closed");
    assert_eq!(body["filed"]["status"], "draft");
    assert_eq!(body["filed"]["follows_up"], body["report"]["id"]);
    assert_eq!(body["report"]["category"], Value::Null);
}

/// The queue finds a report by its number, part of the caller's number or
/// words of its text (Polish capitals folded), lists every status on
/// request, and pages by keyset: 50 a page, the total said, no report
/// twice or missed.
async fn the_queue_searches_and_pages(db: TestDb) {
    let w = workspace::start(db).await;
    let c = login(&w, AGENT).await;
    let data = w.db.dir.path().to_owned();
    let lag = workspace::draft(&w.db.store, &data, 30, "Łagiewniki: zepsuta ławka").await;
    let rows = |html: &str| -> Vec<String> {
        html.match_indices("<td class=\"number\"")
            .map(|(at, _)| {
                let cell = &html[at..];
                let from = cell.find("href=\"/reports/").unwrap() + 15;
                cell[from..from + 8].to_owned()
            })
            .collect()
    };
    let find = |q: &str| {
        let url = format!("{}/queue?q={}", w.base, q.replace(' ', "+"));
        let c = c.clone();
        async move { page(&c, &url).await.1 }
    };
    assert_eq!(
        rows(&find(&w.drafts[1].replace('-', "")).await),
        vec![w.drafts[1].clone()],
        "by number"
    );
    assert_eq!(
        rows(&find("łagiewniki ławka").await),
        vec![lag.clone()],
        "by words, capitals folded"
    );
    let by_phone = rows(&find("600 100").await);
    assert!(
        by_phone.contains(&w.drafts[0]) && by_phone.contains(&lag),
        "{by_phone:?}"
    );
    assert!(rows(&find("nic takiego").await).is_empty());
    let (_, all) = page(&c, &format!("{}/queue?status=all", w.base)).await;
    assert!(
        rows(&all).contains(&w.missed),
        "all statuses list the missed call too"
    );
    assert!(
        all.contains("<h1>Wszystkie zgłoszenia</h1>"),
        "the heading says so"
    );
    let (_, rejected) = page(&c, &format!("{}/queue?status=rejected", w.base)).await;
    assert!(rejected.contains("<h1>Zgłoszenia: odrzucone</h1>"));

    // The API searches alike, and says how many match.
    let token = api_token(&w, AGENT.0).await;
    let listed = |q: &str| {
        let url = format!("/api/v1/reports?q={}", q.replace(' ', "+"));
        let (w, token) = (&w, &token);
        async move {
            let r = api(w, token, "GET", &url, None).await;
            assert_eq!(r.status(), 200, "{url}");
            let body: Value = r.json().await.unwrap();
            let numbers: Vec<String> = body["reports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["number"].as_str().unwrap().to_owned())
                .collect();
            (numbers, body["total"].as_i64().unwrap())
        }
    };
    assert_eq!(listed("łagiewniki ławka").await, (vec![lag.clone()], 1));
    assert_eq!(listed(&w.drafts[1]).await, (vec![w.drafts[1].clone()], 1));
    assert_eq!(listed("nic takiego").await, (vec![], 0));
    let r = api(&w, &token, "GET", "/api/v1/reports?q=%01", None).await;
    assert_eq!(r.status(), 400);

    // 60 more drafts: two pages.
    for n in 0..60 {
        workspace::draft(&w.db.store, &data, 100 + n, "Dziura w chodniku").await;
    }
    let (_, first) = page(&c, &format!("{}/queue", w.base)).await;
    assert!(first.contains("Pokazano 50 z 63."), "the total said");
    let one = rows(&first);
    assert_eq!(one.len(), 50);
    let at = first.find("id=\"next-page\"").expect("a next page");
    let href_at = first[..at].rfind("href=\"").unwrap() + 6;
    let href = first[href_at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let (_, second) = page(&c, &format!("{}/queue{href}", w.base)).await;
    let two = rows(&second);
    assert_eq!(two.len(), 13);
    assert!(!second.contains("id=\"next-page\""));
    let mut both = [one, two].concat();
    let count = both.len();
    both.sort();
    both.dedup();
    assert_eq!(both.len(), count, "no report twice");
    let listed = support::reports(&w.db.store)
        .await
        .iter()
        .filter(|r| r.status == "draft")
        .count();
    assert_eq!(count, listed, "none missed");
}

both_backends!(
    the_queue_searches_and_pages,
    missed_calls_are_called_back_and_closed,
    decisions_are_checked_before_anything_is_saved,
    decisions_can_be_undone_then_reopened_by_administrators,
    default_category_drafts_get_a_suggested_category,
    a_draft_lists_the_same_callers_other_reports,
    urgent_drafts_are_counted_and_filtered,
    the_report_page_names_the_callers_choices,
    every_route_refuses_anonymous_access,
    queue_and_draft_pages_show_what_agents_need,
    csrf_is_enforced,
    roles_are_enforced,
    logins_are_throttled,
    second_save_on_the_same_draft_is_a_conflict,
    confirm_reject_and_duplicate_are_audited,
    api_lists_filters_and_serves_audio_ranges,
    live_updates_arrive_as_server_sent_events,
    one_address_does_not_lock_out_the_office,
    disabling_and_new_passwords_end_sessions_and_streams,
    control_characters_never_reach_the_database,
    api_errors_are_problem_documents,
    late_recordings_never_rewrite_decisions,
    the_api_keeps_to_its_openapi_document,
);

/// Behind a trusted proxy the throttle keys on the client it names: one
/// address's failures do not lock out an agent at another. From an
/// untrusted peer a forged `X-Forwarded-For` changes nothing.
async fn one_address_does_not_lock_out_the_office(db: TestDb) {
    use support::server::login as attempt;
    let w = workspace::start_with(db, |cfg| {
        cfg.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let attacker = Some("198.51.100.66");
    for i in 0..5 {
        let (status, _, _) =
            attempt(&w.base, &format!("nobody{i}"), "guess-password", attacker).await;
        assert_eq!(status, if i < 4 { 401 } else { 429 }, "attempt {i}");
    }
    let (status, page, _) = attempt(&w.base, "nobody9", "guess-password", attacker).await;
    assert_eq!(status, 429, "the attacker's address is locked");
    assert!(page.contains("o godz."), "the message says until when");
    let (status, _, _) = attempt(&w.base, AGENT.0, AGENT.1, Some("198.51.100.10")).await;
    assert_eq!(status, 303, "an agent behind the same proxy logs in");

    let db2 = if w.db.url.starts_with("sqlite") {
        support::db::sqlite().await
    } else {
        support::db::postgres().await.unwrap()
    };
    let open = workspace::start(db2).await;
    for i in 0..5 {
        let forged = format!("203.0.113.{i}");
        attempt(
            &open.base,
            &format!("nobody{i}"),
            "guess-password",
            Some(&forged),
        )
        .await;
    }
    let (status, _, _) = attempt(
        &open.base,
        "nobody9",
        "guess-password",
        Some("203.0.113.99"),
    )
    .await;
    assert_eq!(
        status, 429,
        "a forged header from an untrusted peer changes nothing"
    );
}

/// Reads the event stream until it ends; panics if it is still open after
/// `secs`.
async fn stream_ends_within(mut r: reqwest::Response, secs: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match tokio::time::timeout(left, r.chunk()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) | Ok(Err(_)) => return,
            Err(_) => panic!("the event stream was still open after {secs} s"),
        }
    }
}

async fn open_stream(c: &reqwest::Client, w: &Workspace) -> reqwest::Response {
    let mut r = c.get(format!("{}/events", w.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let first = r.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("queue"));
    r
}

/// Disabling an agent (admin page or CLI) ends its sessions, event streams
/// and API tokens at once; a new password ends its sessions; logging out
/// ends the stream.
async fn disabling_and_new_passwords_end_sessions_and_streams(db: TestDb) {
    use support::server::cli_ok;
    let w = workspace::start(db).await;
    let n = &w.drafts[0];
    // Disabled on the admin page.
    let agent = login(&w, AGENT).await;
    let stream = open_stream(&agent, &w).await;
    let token = api_token(&w, AGENT.0).await;
    let admin = login(&w, ADMIN).await;
    let (_, html) = page(&admin, &format!("{}/admin", w.base)).await;
    assert!(html.contains("Wyłącz konto"), "the admin page offers it");
    let r = admin
        .post(format!("{}/admin/agents/{}", w.base, AGENT.0))
        .form(&[("csrf", field(&html, "csrf")), ("action", "disable".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    stream_ends_within(stream, 5).await;
    let (status, _) = page(&agent, &format!("{}/reports/{n}", w.base)).await;
    assert_eq!(status, 303, "the session is gone");
    let listed = api(&w, &token, "GET", "/api/v1/reports", None).await;
    assert_eq!(listed.status(), 401, "and the token stops");
    let (status, _, _) = support::server::login(&w.base, AGENT.0, AGENT.1, None).await;
    assert_eq!(status, 401, "a disabled agent cannot log in");
    let (_, html) = page(&admin, &format!("{}/admin", w.base)).await;
    assert!(html.contains("wyłączone od"), "the admin page says so");
    let audit = w.db.store.audit_log(20).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "agent_disabled" && e.actor == ADMIN.0));

    // Enabled and disabled again from the CLI.
    cli_ok(&w.db, &["agent", "enable", AGENT.0], "");
    let agent = login(&w, AGENT).await;
    let stream = open_stream(&agent, &w).await;
    cli_ok(&w.db, &["agent", "disable", AGENT.0], "");
    stream_ends_within(stream, 5).await;
    cli_ok(&w.db, &["agent", "enable", AGENT.0], "");

    // A new password ends every session of the agent.
    let first = login(&w, AGENT).await;
    let second = login(&w, AGENT).await;
    let stream = open_stream(&second, &w).await;
    let out = cli_ok(
        &w.db,
        &["agent", "passwd", AGENT.0, "--password-stdin"],
        "a-brand-new-password\n",
    );
    assert!(out.contains("sessions have ended"), "{out}");
    stream_ends_within(stream, 5).await;
    for c in [&first, &second] {
        let (status, _) = page(c, &format!("{}/queue", w.base)).await;
        assert_eq!(status, 303);
    }
    let (status, _, _) =
        support::server::login(&w.base, AGENT.0, "a-brand-new-password", None).await;
    assert_eq!(status, 303);

    // Logging out ends the stream.
    let c = login(&w, AGENT2).await;
    let stream = open_stream(&c, &w).await;
    let (_, html) = page(&c, &format!("{}/queue", w.base)).await;
    let r = c
        .post(format!("{}/logout", w.base))
        .form(&[("csrf", field(&html, "csrf"))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    stream_ends_within(stream, 5).await;
}

/// NUL and other control characters: the API refuses them, a form's text
/// is stored without them; the same on both backends.
async fn control_characters_never_reach_the_database(db: TestDb) {
    let w = workspace::start(db).await;
    let n = &w.drafts[0];
    let token = api_token(&w, AGENT.0).await;
    let version = report(&w, n).await.version;
    let r = api(
        &w,
        &token,
        "PATCH",
        &format!("/api/v1/reports/{n}"),
        Some(
            json!({"version": version, "text": "Dziura\u{0} w jezdni", "address": "Długa\u{1b}12"}),
        ),
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let c = login(&w, AGENT).await;
    let (_, html) = page(&c, &format!("{}/reports/{n}", w.base)).await;
    let r = c
        .post(format!("{}/reports/{n}", w.base))
        .form(&[
            ("csrf", field(&html, "csrf")),
            ("version", field(&html, "version")),
            ("action", "save".into()),
            ("text", "Dziura\u{0} w jezdni".into()),
            ("category", "roads".into()),
            ("address", "Długa\u{0} 12".into()),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_redirection() || r.status().is_success(),
        "{}",
        r.status()
    );
    let saved = report(&w, n).await;
    assert_eq!(saved.text.as_deref(), Some("Dziura w jezdni"));
    assert_eq!(saved.address.as_deref(), Some("Długa 12"));
}

/// Errors made outside the handlers are problem documents too.
async fn api_errors_are_problem_documents(db: TestDb) {
    let w = workspace::start(db).await;
    let n = &w.drafts[0];
    let token = api_token(&w, AGENT.0).await;
    // The server closes a connection whose body it refused unread: no
    // connection is reused between the cases.
    let c = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let huge = format!("{{\"version\":1,\"text\":\"{}\"}}", "x".repeat(100 * 1024));
    let cases = [
        (
            c.patch(format!("{}/api/v1/reports/{n}", w.base))
                .header("content-type", "application/json")
                .body(huge),
            413,
        ),
        (
            c.get(format!("{}/api/v1/reports/{n}/audio", w.base))
                .header("range", "bytes=99999999-"),
            416,
        ),
        (c.get(format!("{}/api/v1/reports?since=abc", w.base)), 400),
        (c.get(format!("{}/api/v1/reports?offset=-1", w.base)), 400),
        (c.get(format!("{}/api/v1/nowhere", w.base)), 404),
    ];
    for (req, status) in cases {
        let r = req.bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), status);
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{status}"
        );
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["status"], status);
    }
    let spec: Value = api(&w, &token, "GET", "/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let codes = spec["components"]["schemas"]["Category"]["enum"]
        .as_array()
        .unwrap();
    assert!(codes.iter().any(|c| c == "roads"), "{codes:?}");
    assert!(spec["paths"]["/reports/{number}/confirm"]["post"]["responses"]["400"].is_object());
}

/// A second recording of the same call: a decided report keeps its text
/// (in the database and in Open311) and shows the late recording to
/// agents; an undecided one gets its text as a paragraph of its own and
/// each recording its own part on the page. Open311 never shows a
/// rejected report's words.
async fn late_recordings_never_rewrite_decisions(db: TestDb) {
    use hotline::domain::{now_ms, CallSid, Language, RecordingSid};
    use hotline::store::{NewRecording, NewTranscript};
    let w = workspace::start(db).await;
    let (n0, n1) = (&w.drafts[0], &w.drafts[1]);
    let token = api_token(&w, AGENT.0).await;
    let c = reqwest::Client::new();
    let confirmed_text = report(&w, n0).await.text.unwrap();
    let r = api(
        &w,
        &token,
        "POST",
        &format!("/api/v1/reports/{n0}/confirm"),
        Some(json!({ "version": report(&w, n0).await.version })),
    )
    .await;
    assert_eq!(r.status(), 200);
    let decided = report(&w, n0).await;
    let second = |n: u32, text: &'static str| {
        let store = w.db.store.clone();
        async move {
            let rec = NewRecording {
                sid: RecordingSid::parse(&format!("REws{n}late")).unwrap(),
                url: "http://127.0.0.1:9/late".into(),
                duration_secs: Some(4),
                category: "roads".into(),
                language: Language::Pl,
                at: now_ms(),
            };
            let sid = CallSid::parse(&format!("CAws{n}")).unwrap();
            let a = store.recording_announced(&sid, &rec).await.unwrap();
            let segments = json!([{ "start_ms": 0, "end_ms": 2000, "text": text, "avg_logprob": -0.3, "no_speech_prob": 0.01 }]);
            assert!(store
                .transcript_saved(
                    a.recording.id,
                    &NewTranscript {
                        text: text.into(),
                        segments_json: segments.to_string(),
                        language: Language::Pl,
                        model_id: "base@test".into(),
                        avg_logprob: Some(-0.3),
                        no_speech: None,
                        quality_json: "{}".into(),
                        urgency: None,
                        escalate: None,
                        at: now_ms(),
                    },
                )
                .await
                .unwrap());
        }
    };
    second(1, "Jeszcze jedno: mój numer domu to 7").await;
    let after = report(&w, n0).await;
    assert_eq!(after.status, "confirmed");
    assert_eq!(
        after.text.as_deref(),
        Some(confirmed_text.as_str()),
        "text unchanged"
    );
    assert_eq!(
        after.version, decided.version,
        "nothing an agent decided moved"
    );
    assert_eq!(after.updated_at, decided.updated_at);
    assert!(after.late_recording_at.is_some());
    let open311: Value = c
        .get(format!("{}/open311/v2/requests/{n0}.json", w.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(open311[0]["description"], confirmed_text.as_str());
    let detail: Value = api(&w, &token, "GET", &format!("/api/v1/reports/{n0}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["transcripts"].as_array().unwrap().len(), 2);
    assert!(detail["report"]["late_recording_at"].is_i64());
    let agent = login(&w, AGENT).await;
    let (_, html) = page(&agent, &format!("{}/reports/{n0}", w.base)).await;
    assert!(
        html.contains("nagranie po decyzji"),
        "the late recording is shown"
    );
    assert!(html.contains("mój numer domu to 7"));
    let audio = agent
        .get(format!("{}/reports/{n0}/audio?recording=3", w.base))
        .send()
        .await
        .unwrap();
    assert_eq!(audio.status(), 404);

    // Undecided: a paragraph of its own, two parts on the page.
    second(2, "Dodam, że latarnia miga od tygodnia").await;
    let draft = report(&w, n1).await;
    let text = draft.text.unwrap();
    assert!(
        text.ends_with("\n\nDodam, że latarnia miga od tygodnia"),
        "{text:?}"
    );
    let (_, html) = page(&agent, &format!("{}/reports/{n1}", w.base)).await;
    assert!(html.contains("Nagranie 1 / 2") && html.contains("Nagranie 2 / 2"));

    // Rejected as a duplicate: Open311 says so and names the original,
    // never the caller's words.
    let r = api(&w, &token, "POST", &format!("/api/v1/reports/{n1}/reject"), Some(json!({ "version": report(&w, n1).await.version, "reason": "duplicate", "duplicate_of": n0 }))).await;
    assert_eq!(r.status(), 200);
    let all = c
        .get(format!("{}/open311/v2/requests.json", w.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(all.contains(&format!("Duplikat zgłoszenia {n0}.")), "{all}");
    assert!(
        !all.contains("latarnia"),
        "no words of a rejected report: {all}"
    );
    let xml = c
        .get(format!(
            "{}/open311/v2/requests.xml?status=closed&status=open",
            w.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        xml.status(),
        400,
        "a repeated parameter is an Open311 error"
    );
    assert!(xml
        .text()
        .await
        .unwrap()
        .contains("<errors><error><code>400</code>"));
}

/// The API against its own OpenAPI document, by schemathesis (`--checks
/// all`: status codes and content types documented, responses matching
/// their schemas, schema-valid requests accepted, invalid ones refused),
/// on a workspace with drafts, a missed call and audio. scripts/bootstrap
/// installs it (pinned) into ~/.cache/hotline/schemathesis.
async fn the_api_keeps_to_its_openapi_document(db: TestDb) {
    let st = std::env::var_os("HOTLINE_SCHEMATHESIS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap())
                .join(".cache/hotline/schemathesis/bin/schemathesis")
        });
    assert!(
        st.exists(),
        "{} is missing: run scripts/bootstrap (it installs schemathesis)",
        st.display()
    );
    let w = workspace::start(db).await;
    let token = api_token(&w, AGENT.0).await;
    let base = w.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(st)
            .args([
                "run",
                &format!("{base}/api/v1/openapi.json"),
                "--url",
                &format!("{base}/api/v1"),
                "-H",
                &format!("Authorization: Bearer {token}"),
                "--checks",
                "all",
                "--max-examples",
                "20",
                "--seed",
                "20261203",
                "--no-color",
            ])
            .env("SCHEMATHESIS_TELEMETRY", "false")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("Tested: 7"), "{report}");
}
