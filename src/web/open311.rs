//! Open311 GeoReport v2 (read side): services from the menu categories, and
//! confirmed (status `open`: the city acts on it) and rejected (`closed`)
//! reports as service requests, in JSON and XML. No personal data: no phone
//! numbers, no audio, no agent names. A confirmed request's description is
//! the text an agent confirmed; a rejected one's is only its public reason
//! (`open311.reasons`), with the original's number for a duplicate: never
//! the caller's words.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::state::AppState;
use crate::domain::{local_iso, parse_instant, Language, Millis, ReportNumber, ReportStatus};
use crate::store::{Report, ReportFilter};
use crate::xml::escape;

pub const AGENCY: &str = "Krakowskie Centrum Kontaktu";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/open311/v2/{file}", get(collection))
        .route("/open311/v2/requests/{file}", get(one))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

fn split(file: &str) -> Option<(&str, Format)> {
    if let Some(stem) = file.strip_suffix(".json") {
        Some((stem, Format::Json))
    } else {
        file.strip_suffix(".xml").map(|s| (s, Format::Xml))
    }
}

fn error(format: Format, status: StatusCode, description: &str) -> Response {
    let body = match format {
        Format::Json => json!([{ "code": status.as_u16(), "description": description }]).to_string(),
        Format::Xml => format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><errors><error><code>{}</code><description>{}</description></error></errors>",
            status.as_u16(),
            escape(description)
        ),
    };
    respond(format, status, body)
}

fn respond(format: Format, status: StatusCode, body: String) -> Response {
    let ct = match format {
        Format::Json => "application/json; charset=utf-8",
        Format::Xml => "text/xml; charset=utf-8",
    };
    (
        status,
        [
            (header::CONTENT_TYPE, ct),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body,
    )
        .into_response()
}

/// Fields as an ordered list, rendered to JSON or to XML elements.
fn render(format: Format, root: &str, item: &str, rows: Vec<Vec<(&'static str, Value)>>) -> String {
    match format {
        Format::Json => Value::Array(
            rows.into_iter()
                .map(|r| Value::Object(r.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
                .collect(),
        )
        .to_string(),
        Format::Xml => {
            let mut out = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><{root}>");
            for r in rows {
                out.push_str(&format!("<{item}>"));
                for (k, v) in r {
                    let text = match v {
                        Value::Null => String::new(),
                        Value::String(s) => escape(&s),
                        other => escape(&other.to_string()),
                    };
                    out.push_str(&format!("<{k}>{text}</{k}>"));
                }
                out.push_str(&format!("</{item}>"));
            }
            out.push_str(&format!("</{root}>"));
            out
        }
    }
}

#[derive(Default)]
struct RequestsQuery {
    service_request_id: Option<String>,
    service_code: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    status: Option<String>,
}

/// The query, each parameter at most once; anything else is an Open311
/// error document in the requested format (not a plain-text rejection).
fn parse_query(raw: Option<&str>) -> Result<RequestsQuery, String> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let mut q = RequestsQuery::default();
    for (k, v) in pairs {
        let slot = match k.as_str() {
            "service_request_id" => &mut q.service_request_id,
            "service_code" => &mut q.service_code,
            "start_date" => &mut q.start_date,
            "end_date" => &mut q.end_date,
            "status" => &mut q.status,
            // jurisdiction_id and the like: accepted, not used.
            _ => continue,
        };
        if slot.is_some() {
            return Err(format!("{k} is given more than once"));
        }
        if v.chars().any(char::is_control) {
            return Err(format!("{k} holds control characters"));
        }
        *slot = Some(v);
    }
    Ok(q)
}

async fn collection(
    State(s): State<Arc<AppState>>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = match parse_query(raw.as_deref()) {
        Ok(q) => q,
        Err(e) => {
            let f = split(&file).map(|(_, f)| f).unwrap_or(Format::Json);
            return error(f, StatusCode::BAD_REQUEST, &e);
        }
    };
    match split(&file) {
        Some(("services", f)) => services(&s, f),
        Some(("requests", f)) => requests(&s, f, q).await,
        Some((_, f)) => error(f, StatusCode::NOT_FOUND, "unknown resource"),
        None => error(Format::Json, StatusCode::NOT_FOUND, "use .json or .xml"),
    }
}

fn services(s: &AppState, f: Format) -> Response {
    let rows = s
        .script
        .menu
        .categories
        .iter()
        .map(|c| {
            let name = s.script.menu.category_name(&c.code, Language::Pl);
            vec![
                ("service_code", json!(c.code)),
                ("service_name", json!(name)),
                (
                    "description",
                    json!(format!(
                        "{name} ({})",
                        s.script.menu.category_name(&c.code, Language::En)
                    )),
                ),
                ("metadata", json!(false)),
                ("type", json!("realtime")),
                ("keywords", json!(c.code)),
                ("group", json!("Zgłoszenia telefoniczne")),
            ]
        })
        .collect();
    respond(f, StatusCode::OK, render(f, "services", "service", rows))
}

/// A rejected report's public reason; a duplicate names its original.
fn public_reason(s: &AppState, r: &Report, original: Option<&str>) -> String {
    let reasons = &s.cfg.open311.reasons;
    let reason = r.reject_reason.as_deref().unwrap_or("");
    let text = reasons
        .get(reason)
        .or_else(|| reasons.get("other"))
        .cloned()
        .unwrap_or_else(|| "Zgłoszenie zamknięte.".to_owned());
    match original {
        Some(n) if reason == "duplicate" => text.replace("{original}", n),
        _ => text.replace("{original}", "").trim().to_owned(),
    }
}

/// The numbers of the originals of these reports' duplicates, by id.
async fn originals(s: &AppState, reports: &[Report]) -> std::collections::HashMap<i64, String> {
    let mut out = std::collections::HashMap::new();
    for id in reports.iter().filter_map(|r| r.duplicate_of) {
        if let Ok(Some(o)) = s.store.get_report_by_id(id).await {
            out.insert(id, o.number.to_string());
        }
    }
    out
}

fn request_row(s: &AppState, r: &Report, original: Option<&str>) -> Vec<(&'static str, Value)> {
    let open = r.status == ReportStatus::Confirmed;
    let (notes, description, address) = if open {
        (
            "Zgłoszenie przyjęte przez konsultanta KCK.".to_owned(),
            r.text.clone().unwrap_or_default(),
            r.address.clone().unwrap_or_default(),
        )
    } else {
        let reason = public_reason(s, r, original);
        (reason.clone(), reason, String::new())
    };
    vec![
        ("service_request_id", json!(r.number)),
        ("status", json!(if open { "open" } else { "closed" })),
        ("status_notes", json!(notes)),
        (
            "service_name",
            json!(r
                .category
                .as_deref()
                .map(|c| s.script.menu.category_name(c, Language::Pl))),
        ),
        ("service_code", json!(r.category)),
        ("description", json!(description)),
        ("agency_responsible", json!(AGENCY)),
        ("service_notice", Value::Null),
        ("requested_datetime", json!(local_iso(r.created_at))),
        (
            "updated_datetime",
            json!(local_iso(r.decided_at.unwrap_or(r.updated_at))),
        ),
        ("expected_datetime", Value::Null),
        ("address", json!(address)),
        ("address_id", Value::Null),
        ("zipcode", Value::Null),
        ("lat", Value::Null),
        ("long", Value::Null),
        ("media_url", Value::Null),
    ]
}

async fn requests(s: &AppState, f: Format, q: RequestsQuery) -> Response {
    // A date that does not parse is a client error, named.
    let mut bad = None;
    let mut parse_date = |v: &Option<String>, what: &'static str| -> Option<Millis> {
        let v = v.as_deref().filter(|v| !v.is_empty())?;
        let parsed = parse_instant(v);
        if parsed.is_none() {
            bad = Some(what);
        }
        parsed
    };
    let (start, end) = (
        parse_date(&q.start_date, "start_date"),
        parse_date(&q.end_date, "end_date"),
    );
    if let Some(what) = bad {
        return error(
            f,
            StatusCode::BAD_REQUEST,
            &format!("{what} is not a W3C date-time"),
        );
    }
    let list = |v: &Option<String>| -> Vec<String> {
        v.as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let statuses = list(&q.status);
    if statuses.iter().any(|x| x != "open" && x != "closed") {
        return error(f, StatusCode::BAD_REQUEST, "status is open or closed");
    }
    let codes = list(&q.service_code);
    let ids = list(&q.service_request_id);
    // The spec's default window: the last 90 days.
    let start = start.or_else(|| {
        if ids.is_empty() && end.is_none() {
            Some(s.store.now() - 90 * 24 * 3600 * 1000)
        } else {
            None
        }
    });
    let mut reports = Vec::new();
    for (status, label) in [
        (ReportStatus::Confirmed, "open"),
        (ReportStatus::Rejected, "closed"),
    ] {
        if !statuses.is_empty() && !statuses.iter().any(|x| x == label) {
            continue;
        }
        let filter = ReportFilter {
            status: Some(status),
            since: start,
            until: end,
            limit: 1000,
            ..Default::default()
        };
        match s.store.list_reports(&filter).await {
            Ok(r) => reports.extend(r),
            Err(e) => {
                tracing::error!(error = %e, "open311 query failed");
                return error(f, StatusCode::INTERNAL_SERVER_ERROR, "internal error");
            }
        }
    }
    reports.retain(|r| {
        (codes.is_empty() || r.category.as_ref().is_some_and(|c| codes.contains(c)))
            && (ids.is_empty() || ids.iter().any(|id| r.number == *id))
    });
    reports.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    reports.truncate(1000);
    let originals = originals(s, &reports).await;
    let rows = reports
        .iter()
        .map(|r| {
            let original = r.duplicate_of.and_then(|id| originals.get(&id));
            request_row(s, r, original.map(String::as_str))
        })
        .collect();
    respond(
        f,
        StatusCode::OK,
        render(f, "service_requests", "request", rows),
    )
}

async fn one(State(s): State<Arc<AppState>>, Path(file): Path<String>) -> Response {
    let Some((id, f)) = split(&file) else {
        return error(Format::Json, StatusCode::NOT_FOUND, "use .json or .xml");
    };
    let Ok(number) = ReportNumber::parse(id) else {
        return error(f, StatusCode::NOT_FOUND, "no such service request");
    };
    match s.store.get_report(&number).await {
        Ok(Some(r)) if r.status.is_decided() => {
            let originals = originals(&s, std::slice::from_ref(&r)).await;
            let original = r.duplicate_of.and_then(|id| originals.get(&id));
            respond(
                f,
                StatusCode::OK,
                render(
                    f,
                    "service_requests",
                    "request",
                    vec![request_row(&s, &r, original.map(String::as_str))],
                ),
            )
        }
        Ok(_) => error(f, StatusCode::NOT_FOUND, "no such service request"),
        Err(e) => {
            tracing::error!(error = %e, "open311 query failed");
            error(f, StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}
