//! Administration: agents' accounts (unlock, disable, enable); the line's
//! schedule and announcements are in `line.rs`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use serde::Deserialize;
use tracing::{info, warn};

use super::page::{internal, local_time, Page, UiLang};
use super::session::UiAgent;

use crate::domain::Language;
use crate::storage::StoragePlace;
use crate::web::state::AppState;

#[derive(Deserialize)]
pub(super) struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
}

/// Unlock, disable or enable an agent's account (administrators only).
pub(super) async fn admin_agent(
    State(s): State<Arc<AppState>>,
    UiAgent(a): UiAgent,
    lang: UiLang,
    Path(name): Path<String>,
    Form(f): Form<AccountForm>,
) -> Response {
    let page = Page::new(&s, &lang, Some(&a));
    if let Some(no) = page.refused_to_admin(&a, &f.csrf) {
        return no;
    }
    let Some(action) = crate::accounts::AccountAction::parse(&f.action) else {
        return page.error(StatusCode::BAD_REQUEST, "bad_request", "bad_request_body");
    };
    match crate::accounts::apply(
        s.store.as_ref(),
        &name,
        action,
        &a.agent.name,
        s.store.now(),
    )
    .await
    {
        Ok(true) => {
            info!(agent = %name, action = %f.action, by = %a.agent.name, "account changed");
            Redirect::to("/admin").into_response()
        }
        Ok(false) => page.error(StatusCode::NOT_FOUND, "not_found", "not_found_body"),
        Err(e) => internal(&page, e),
    }
}

pub(super) async fn admin(
    State(s): State<Arc<AppState>>,
    UiAgent(a): UiAgent,
    lang: UiLang,
) -> Response {
    let page = Page::new(&s, &lang, Some(&a));
    if !a.agent.is_admin() {
        return page.error(StatusCode::FORBIDDEN, "forbidden", "forbidden_body");
    }
    let (agents, tokens, audit, deliveries) = match (
        s.store.list_agents().await,
        s.store.list_api_tokens().await,
        s.store.audit_log(200).await,
        s.store.recent_deliveries(100).await,
    ) {
        (Ok(a), Ok(t), Ok(l), Ok(d)) => (a, t, l, d),
        (Err(e), _, _, _) | (_, Err(e), _, _) | (_, _, Err(e), _) | (_, _, _, Err(e)) => {
            return internal(&page, e)
        }
    };
    let name_of = |id: i64| {
        agents
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.name.clone())
            .unwrap_or_default()
    };
    let agents_v: Vec<minijinja::Value> = agents
        .iter()
        .map(|x| context! { name => x.name, role => x.role, created => local_time(x.created_at).0, disabled => x.disabled_at.map(|t| local_time(t).0) })
        .collect();
    let tokens_v: Vec<minijinja::Value> = tokens
        .iter()
        .map(|k| context! { id => k.id, agent => name_of(k.agent_id), label => k.label, last_used => k.last_used.map(|t| local_time(t).0).unwrap_or_default(), revoked => k.revoked_at.map(|t| local_time(t).0).unwrap_or_default() })
        .collect();
    let mut ids: Vec<i64> = audit.iter().filter_map(|e| e.report_id).collect();
    ids.extend(deliveries.iter().map(|d| d.report_id));
    ids.sort_unstable();
    ids.dedup();
    let numbers = s.store.report_numbers(&ids).await.unwrap_or_default();
    let t = super::i18n::texts(lang.lang);
    let ui = if lang.lang == "en" {
        Language::En
    } else {
        Language::Pl
    };
    let deliveries_v: Vec<minijinja::Value> = deliveries
        .iter()
        .map(|d| {
            let number = numbers.get(&d.report_id).cloned();
            let (event, endpoint, result) = delivery_in_words(&t, d);
            context! { at => local_time(d.at).0, number, event, endpoint, attempt => d.attempt, ok => d.error.is_none(), result, detail => d.error }
        })
        .collect();
    let audit_v: Vec<minijinja::Value> = audit
        .iter()
        .map(|e| {
            let number = e.report_id.and_then(|id| numbers.get(&id).cloned());
            let changes = changes_in_words(&s, &t, ui, e.before_json.as_deref(), e.after_json.as_deref());
            context! { at => local_time(e.at).0, actor => e.actor, action => e.action, number, changes }
        })
        .collect();
    let line = match super::line::view(&s, lang.lang, s.store.now()).await {
        Ok(l) => l,
        Err(e) => return internal(&page, e),
    };
    let storage = match storage_view(&s, &t, lang.lang).await {
        Ok(v) => v,
        Err(e) => return internal(&page, e),
    };
    page.render("admin.html", "admin", context! { agents => agents_v, tokens => tokens_v, audit => audit_v, deliveries => deliveries_v, line => line, storage => storage, counts => page.counts().await })
}

/// The recordings storage for the administrator: where it is, whether it
/// answers now, what it holds, and which reports' audio was found damaged.
async fn storage_view(
    s: &AppState,
    t: &std::collections::BTreeMap<&'static str, &'static str>,
    lang: &str,
) -> Result<minijinja::Value, crate::store::StoreError> {
    let (st, damaged) = s.store.recording_stats(20).await?;
    let reachable = match s.storage.check().await {
        Ok(()) => true,
        Err(e) => {
            warn!(error = %e, storage = %s.storage.describe, "recordings storage not reachable");
            false
        }
    };
    let word = |k: &str| t.get(k).copied().unwrap_or_default();
    let place = match s.storage.place() {
        StoragePlace::Directory(dir) => format!("{} {dir}", word("storage_directory")),
        StoragePlace::ObjectStore { url, endpoint } => format!(
            "{} {url} ({} {})",
            word("storage_object"),
            word("storage_endpoint"),
            endpoint.as_deref().unwrap_or("Amazon S3")
        ),
    };
    Ok(context! {
        place, reachable,
        stored => st.stored, objects => st.objects, size => size_in_words(st.bytes, lang),
        waiting => st.waiting, unavailable => st.unavailable, damaged => st.damaged, deleted => st.deleted,
        damaged_numbers => damaged,
    })
}

/// A size as people read it: "12,3 MB" in Polish, "12.3 MB" in English.
fn size_in_words(bytes: i64, lang: &str) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes.max(0) as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    let n = if unit == 0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    };
    let n = if lang == "en" { n } else { n.replace('.', ",") };
    format!("{n} {}", UNITS[unit])
}

/// A report's change as the audit stores it (JSON before and after), in
/// words: "status: do sprawdzenia → potwierdzone; treść: „…” → „…”".
fn changes_in_words(
    s: &AppState,
    t: &std::collections::BTreeMap<&'static str, &'static str>,
    ui: Language,
    before: Option<&str>,
    after: Option<&str>,
) -> Vec<String> {
    let parse = |j: Option<&str>| {
        j.and_then(|j| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(j).ok())
            .unwrap_or_default()
    };
    let (before, after) = (parse(before), parse(after));
    let word = |key: &str, v: &serde_json::Value| -> String {
        let raw = match v {
            serde_json::Value::Null => return "—".into(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let looked_up = |k: String| t.get(k.as_str()).map(|w| (*w).to_owned());
        match key {
            "status" => looked_up(format!("status_{raw}")).unwrap_or(raw),
            "reject_reason" => looked_up(format!("reason_{raw}")).unwrap_or(raw),
            "category" => s.script.menu.category_name(&raw, ui),
            _ => {
                let short: String = raw.chars().take(60).collect();
                let more = if raw.chars().count() > 60 { "…" } else { "" };
                format!("„{short}{more}”")
            }
        }
    };
    // (`duplicate_of` holds an id: the report's page names the original.)
    ["status", "text", "category", "address", "reject_reason"]
        .iter()
        .filter_map(|key| {
            let (b, a) = (before.get(*key), after.get(*key));
            if a.is_none() || b == a {
                return None;
            }
            let null = serde_json::Value::Null;
            let field = t
                .get(format!("field_{key}").as_str())
                .copied()
                .unwrap_or(key);
            Some(format!(
                "{field}: {} → {}",
                word(key, b.unwrap_or(&null)),
                word(key, a.unwrap_or(&null))
            ))
        })
        .collect()
}

/// A delivery to a city system or the on-call officer in the agent's
/// words: what was sent, where, and what came of it (the technical error
/// stays for the "details" toggle).
fn delivery_in_words(
    t: &std::collections::BTreeMap<&'static str, &'static str>,
    d: &crate::store::DeliveryRow,
) -> (String, String, String) {
    let word = |k: &str| t.get(k).copied().unwrap_or_default().to_owned();
    let event = t
        .get(format!("event_{}", d.event.replace('.', "_")).as_str())
        .map(|w| (*w).to_owned())
        .unwrap_or_else(|| word("event_other"));
    let endpoint = match d.endpoint.strip_prefix(crate::escalation::MAILTO) {
        Some(to) => format!("{}: {to}", word("by_email")),
        None => d.endpoint.clone(),
    };
    let protocol = if d.endpoint.starts_with(crate::escalation::MAILTO) {
        "SMTP"
    } else {
        "HTTP"
    };
    let code = d
        .status
        .map(|c| format!(" ({protocol} {c})"))
        .unwrap_or_default();
    let result = match (&d.error, d.status) {
        (None, _) => format!("{}{code}", word("delivered")),
        (Some(_), Some(_)) => format!("{}{code}", word("refused_by_recipient")),
        (Some(_), None) => word("recipient_unreachable"),
    };
    (event, endpoint, result)
}

#[cfg(test)]
mod tests {
    use super::size_in_words;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size_in_words(0, "pl"), "0 B");
        assert_eq!(size_in_words(999, "pl"), "999 B");
        assert_eq!(size_in_words(12_345_678, "pl"), "12,3 MB");
        assert_eq!(size_in_words(12_345_678, "en"), "12.3 MB");
        assert_eq!(size_in_words(2_500_000_000, "pl"), "2,5 GB");
    }
}
