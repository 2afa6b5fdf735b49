//! Provider webhooks. Every request is signature-checked before anything
//! is read from it; the IVR state is loaded, stepped and saved; a retried
//! request (the provider did not get our answer) gets the same answer again
//! and changes nothing.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::Deserialize;
use tracing::{error, info, warn, Instrument};

use super::{AppError, AppState};
use crate::domain::{CallSid, Language, PhoneNumber, ReportNumber};
use crate::ivr::{self, DialOutcome, Effect, Event, IvrState, Stage};
use crate::store::{DialKind, IvrUpdate, NewCall, NewRecording};
use crate::telephony::twiml::{self, Render};
use crate::telephony::{
    call_is_over, digits, signature, Form, IncomingCall, Provider, RecordingEvent,
};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/twilio/voice", post(voice))
        .route("/twilio/ivr", post(ivr_step))
        .route("/twilio/status", post(status))
        .route("/twilio/recording", post(recording))
        .layer(axum::middleware::from_fn(latency))
}

/// Webhook latency, by route and status, for `/metrics`.
async fn latency(req: Request, next: axum::middleware::Next) -> Response {
    let route = match req.uri().path() {
        "/twilio/voice" => "voice",
        "/twilio/ivr" => "ivr",
        "/twilio/status" => "status",
        "/twilio/recording" => "recording",
        _ => "other",
    };
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    crate::metrics::webhook_latency(route, resp.status().as_u16(), started.elapsed());
    resp
}

/// A webhook's form, accepted only with a valid provider signature (and
/// the configured account id), then checked strictly (see
/// [`Form::check`]). A bad signature is 403, a signed but malformed or
/// boundary-shifted form 400; nothing is written either way.
pub struct Signed(pub Form);

impl FromRequest<Arc<AppState>> for Signed {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let uri = req.uri().clone();
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::BadRequest(e.to_string()))?;
        let form = Form::parse(&body);
        let t = &state.cfg.telephony;
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let provider = if t.insecure_skip_signature {
            Provider::Unverified
        } else {
            verify(state, &headers, path, &body, &form).await?
        };
        if !t.account_sid.is_empty() && form.get("AccountSid").is_some_and(|a| a != t.account_sid) {
            warn!(path = uri.path(), "webhook refused: another account");
            return Err(AppError::Forbidden);
        }
        form.check(provider).inspect_err(|e| {
            warn!(path = uri.path(), ?provider, reason = %e, "signed webhook refused: malformed");
        })?;
        Ok(Signed(form))
    }
}

/// Which provider signed the request, or 403. Twilio and SignalWire sign
/// the URL and the parameters; Telnyx signs the body and a timestamp only,
/// so a Telnyx signature is bound to the first URL it was used with (a
/// provider's retry goes to the same URL; the same body sent to another
/// step or event is a replay).
async fn verify(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    path: &str,
    body: &[u8],
    form: &Form,
) -> Result<Provider, AppError> {
    let t = &state.cfg.telephony;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let url = format!("{}{}", state.public_base, path);
    if let (Some(sig), Some(ts)) = (
        header("telnyx-signature-ed25519"),
        header("telnyx-timestamp"),
    ) {
        let now = state.store.now();
        if t.telnyx_public_key.is_empty()
            || !signature::verify_telnyx(
                &t.telnyx_public_key,
                ts,
                body,
                sig,
                now / 1000,
                signature::TELNYX_MAX_AGE_SECS,
            )
        {
            warn!(path, "webhook refused: bad Telnyx signature");
            return Err(AppError::Forbidden);
        }
        let first_use = state.store.signature_used(sig.trim(), path, now).await?;
        if !first_use {
            warn!(
                path,
                "webhook refused: Telnyx signature replayed to another URL"
            );
            return Err(AppError::Forbidden);
        }
        return Ok(Provider::Telnyx);
    }
    let (sig, provider) = match (
        header("x-twilio-signature"),
        header("x-signalwire-signature"),
    ) {
        (Some(s), _) => (s, Provider::Twilio),
        (None, Some(s)) => (s, Provider::SignalWire),
        (None, None) => {
            warn!(path, "webhook refused: no signature");
            return Err(AppError::Forbidden);
        }
    };
    // Twilio's Webhooks Rules: a shared key and the hash they announce.
    let valid = match header("x-twilio-webhooks-signature-settings") {
        Some(settings) => match signature::settings_algorithm(settings) {
            Some(alg) if !t.webhook_shared_key.is_empty() => {
                signature::verify_with(alg, t.webhook_shared_key.expose(), &url, &form.0, sig)
            }
            _ => false,
        },
        None => signature::verify(t.auth_token.expose(), &url, &form.0, sig),
    };
    if !valid {
        warn!(path, ?provider, "webhook refused: bad signature");
        return Err(AppError::Forbidden);
    }
    // SignalWire's call ids are UUIDs even under `X-Twilio-Signature`.
    let provider = match form.get("CallSid") {
        Some(sid) if provider == Provider::Twilio && Provider::SignalWire.call_sid_ok(sid) => {
            Provider::SignalWire
        }
        _ => provider,
    };
    Ok(provider)
}

fn xml(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// An incoming call: record it and answer with the greeting.
async fn voice(State(s): State<Arc<AppState>>, Signed(form): Signed) -> Result<Response, AppError> {
    let call = IncomingCall::parse(&form)?;
    let span = tracing::info_span!("call", call = %call.sid, from = %call.from, report_id = tracing::field::Empty);
    async move {
        let row = s
            .store
            .call_started(&NewCall {
                sid: call.sid.clone(),
                caller: call.from.clone(),
                called: call.to.clone(),
                at: s.store.now(),
            })
            .await?;
        if !row.ivr_state.is_empty() {
            // The provider retried the first webhook: same answer, no new state.
            if let Ok(state) = serde_json::from_str::<IvrState>(&row.ivr_state) {
                return Ok(xml(state.last_response));
            }
        }
        info!("incoming call");
        let caller = Some(call.from.as_str());
        advance(
            &s,
            &call.sid,
            caller,
            IvrState::default(),
            Event::Start,
            None,
        )
        .await
    }
    .instrument(span)
    .await
}

#[derive(Deserialize)]
struct StepQuery {
    step: u32,
    ev: String,
}

/// Every later turn of the IVR: a key, a timeout, a recording or its absence.
async fn ivr_step(
    State(s): State<Arc<AppState>>,
    Query(q): Query<StepQuery>,
    Signed(form): Signed,
) -> Result<Response, AppError> {
    let sid = form.call_sid()?;
    let span = tracing::info_span!("call", call = %sid, step = q.step, ev = %q.ev, report_id = tracing::field::Empty);
    async move {
        let Some(call) = s.store.get_call(&sid).await? else {
            warn!("IVR step for an unknown call");
            return Ok(xml(twiml::say_and_hangup(
                Language::Pl,
                "Przepraszamy, wystąpił błąd. Prosimy zadzwonić ponownie.",
            )));
        };
        let state: IvrState = serde_json::from_str(&call.ivr_state).unwrap_or_default();
        if q.step < state.step {
            info!(
                current = state.step,
                "retried webhook: replaying the answer"
            );
            return Ok(xml(state.last_response));
        }
        if q.step > state.step {
            warn!(current = state.step, "webhook from the future: refusing");
            return Err(AppError::BadRequest("unknown step".into()));
        }
        let recording = RecordingEvent::parse(&form)?;
        // What the body says must fit the event the URL names: a key press
        // carries no recording, a recording no key press, a timeout
        // neither (a body moved to another event's URL is refused).
        let dialled = form.get("DialCallStatus").and_then(DialOutcome::parse);
        let plain = recording.is_none() && form.get("Digits").is_none();
        let fits = match q.ev.as_str() {
            "digits" => recording.is_none() && dialled.is_none(),
            "recorded" => form.get("Digits").is_none() && dialled.is_none(),
            "timeout" | "norecording" => plain && dialled.is_none(),
            "dialled" => plain && dialled.is_some(),
            _ => false,
        };
        if !fits {
            warn!("webhook body does not fit its event");
            return Err(AppError::BadRequest("body does not fit the event".into()));
        }
        let event = match q.ev.as_str() {
            "digits" => match digits(&form)? {
                Some(d) => Event::Digits(d),
                None => Event::Timeout,
            },
            "timeout" => Event::Timeout,
            "recorded" if recording.as_ref().is_some_and(RecordingEvent::has_audio) => {
                Event::Recorded
            }
            "recorded" | "norecording" => Event::NoRecording,
            "dialled" => Event::Dialled {
                outcome: dialled.unwrap_or(DialOutcome::Failed),
                seconds: form.get("DialCallDuration").and_then(|d| d.parse().ok()),
            },
            _ => return Err(AppError::BadRequest("unknown event".into())),
        };
        // A recording counts only where the menu asked for one.
        let recording = recording
            .filter(RecordingEvent::has_audio)
            .filter(|_| state.expects_recording());
        let caller = Some(call.caller.as_str());
        advance(&s, &sid, caller, state, event, recording).await
    }
    .instrument(span)
    .await
}

/// What a caller who typed `typed` is told of that report.
async fn report_status(s: &AppState, typed: &str) -> Result<ivr::StatusAnswer, AppError> {
    let Ok(number) = ReportNumber::parse(typed) else {
        return Ok(ivr::StatusAnswer::Malformed);
    };
    let answer = match s.store.get_report(&number).await? {
        None => ivr::StatusAnswer::NotFound(number),
        Some(r) => ivr::StatusAnswer::of(
            number,
            r.status,
            r.decided_at.map(crate::domain::local_date),
            r.reject_reason.as_deref(),
        ),
    };
    info!(
        found = !matches!(answer, ivr::StatusAnswer::NotFound(_)),
        "report status asked"
    );
    Ok(answer)
}

/// Steps the IVR, carries out its effects, renders and saves the answer.
async fn advance(
    s: &AppState,
    sid: &CallSid,
    caller: Option<&str>,
    state: IvrState,
    event: Event,
    recording: Option<RecordingEvent>,
) -> Result<Response, AppError> {
    let now = s.store.now();
    let needs_line = ivr::needs_line(&state, &event);
    let mut ctx = crate::line::context(&s.store, &s.schedule, &s.cfg, now, needs_line).await?;
    ctx.caller_known = caller
        .and_then(|c| PhoneNumber::parse(c).ok())
        .is_some_and(|p| !p.is_anonymous());
    if let Some(typed) = ivr::status_query(&state, &event) {
        ctx.status = Some(report_status(s, typed).await?);
    }
    let t = ivr::step(&s.script, &state, &event, &ctx);
    let lang = t.state.language_or_default();
    let category = t
        .state
        .category
        .clone()
        .unwrap_or_else(|| s.script.menu.default_category.clone());
    let mut number: Option<ReportNumber> = None;
    for effect in &t.effects {
        match effect {
            Effect::OpenReport { category, language } => {
                let r = s.store.open_report(sid, category, *language).await?;
                tracing::Span::current().record("report_id", r.id);
                number = Some(r.number);
            }
            Effect::MissedCall => {
                s.store
                    .recording_absent(sid, "no recording after two attempts")
                    .await?;
            }
            Effect::DialStarted { to, category } => {
                let kind = dial_kind(category.as_deref());
                info!(
                    kind = kind.as_str(),
                    category = category.as_deref().unwrap_or(""),
                    "connecting the call"
                );
                s.store
                    .dial_started(sid, kind, to, category.as_deref(), now)
                    .await?;
            }
            Effect::DialEnded { outcome, seconds } => {
                let kind = match &state.stage {
                    Stage::Dialling { category } => dial_kind(category.as_deref()),
                    _ => DialKind::Consultants,
                };
                info!(
                    kind = kind.as_str(),
                    outcome = outcome.as_str(),
                    seconds,
                    "connection ended"
                );
                crate::metrics::dial_ended(kind.as_str(), outcome.as_str());
                s.store
                    .dial_ended(sid, outcome.as_str(), *seconds, now)
                    .await?;
            }
            Effect::CallbackConsent(yes) => {
                info!(consent = yes, "callback consent");
                s.store.callback_consent(sid, *yes).await?;
            }
            // With the recording this event brought, below.
            Effect::HoldRecording => {}
            // A recording arriving now replaces the held one (below).
            Effect::KeepRecording if recording.is_some() => {}
            Effect::KeepRecording => {
                if let Some(r) = s.store.keep_held_recording(sid, now).await? {
                    tracing::Span::current().record("report_id", r.id);
                    info!("recording kept after the review");
                    number = Some(r.number);
                }
            }
        }
    }
    if let Some(rec) = &recording {
        let rec = new_recording(s, rec, category, lang);
        let announced = if t.effects.contains(&Effect::HoldRecording) {
            s.store.recording_held(sid, &rec).await?
        } else {
            s.store.recording_announced(sid, &rec).await?
        };
        tracing::Span::current().record("report_id", announced.report.id);
        number = Some(announced.report.number);
    }
    let body = Render {
        script: &s.script,
        voices: &s.cfg.telephony.voices,
        recorded: &s.recorded_urls,
        base: &s.public_base,
        step: t.state.step,
        report_number: number.as_ref(),
        max_record_secs: s.cfg.telephony.max_recording_secs,
        ring_secs: s.cfg.consultants.ring_secs,
        // Passed on only when it is a number (never "anonymous").
        caller_id: caller.filter(|c| c.starts_with('+')),
    }
    .render(&t.actions);
    let mut next = t.state;
    next.last_response = body.clone();
    let update = IvrUpdate {
        state: serde_json::to_string(&next)?,
        language: next.language,
        category: next.category.clone(),
        menu_path: next.menu_path(),
    };
    s.store.save_ivr(sid, &update).await?;
    Ok(xml(body))
}

/// Call status callback: a finished call without a recording is a missed call.
async fn status(
    State(s): State<Arc<AppState>>,
    Signed(form): Signed,
) -> Result<StatusCode, AppError> {
    let sid = form.call_sid()?;
    let status = form.get("CallStatus").unwrap_or("").to_owned();
    let span = tracing::info_span!("call", call = %sid, status = %status, report_id = tracing::field::Empty);
    async move {
        if call_is_over(&status) {
            crate::metrics::call_ended(&status);
            if let Some(r) = s.store.call_ended(&sid, &status, s.store.now()).await? {
                tracing::Span::current().record("report_id", r.id);
                info!(report_status = %r.status, "call ended");
            }
        }
        Ok(StatusCode::NO_CONTENT)
    }
    .instrument(span)
    .await
}

/// Recording status callback: announce completed recordings (idempotent
/// with the `<Record action>` that usually arrives first). While the caller
/// is still recording or reviewing, the recording is only held: the IVR
/// keeps or replaces it, or the call's end keeps it.
async fn recording(
    State(s): State<Arc<AppState>>,
    Signed(form): Signed,
) -> Result<StatusCode, AppError> {
    let sid = form.call_sid()?;
    let Some(rec) = RecordingEvent::parse(&form)? else {
        return Err(AppError::BadRequest("no RecordingSid".into()));
    };
    let span = tracing::info_span!("call", call = %sid, recording = %rec.sid, report_id = tracing::field::Empty);
    async move {
        if !rec.has_audio() {
            info!(status = ?rec.status, "recording without audio");
            return Ok(StatusCode::NO_CONTENT);
        }
        let call = s.store.get_call(&sid).await?;
        // A known call's recording must come from its recording step (which
        // opened the report); an unknown call's is kept (its first webhooks
        // may have been lost; the signature is the provider's).
        let mut reviewing = false;
        if let Some(c) = &call {
            let state: IvrState = serde_json::from_str(&c.ivr_state).unwrap_or_default();
            if !state.recording_offered {
                warn!("recording for a call that was never offered one: refused");
                return Err(AppError::BadRequest(
                    "no recording was started on this call".into(),
                ));
            }
            reviewing = c.ended_at.is_none()
                && s.script.menu.review_recording
                && matches!(state.stage, Stage::Recording { .. } | Stage::Review { .. });
        }
        let lang = call
            .as_ref()
            .and_then(|c| c.language)
            .unwrap_or(Language::DEFAULT);
        let category = call
            .and_then(|c| c.category)
            .unwrap_or_else(|| s.script.menu.default_category.clone());
        let rec = new_recording(&s, &rec, category, lang);
        let a = if reviewing {
            s.store.recording_held(&sid, &rec).await
        } else {
            s.store.recording_announced(&sid, &rec).await
        }
        .map_err(|e| {
            error!(error = %e, "could not store the recording");
            e
        })?;
        tracing::Span::current().record("report_id", a.report.id);
        info!(created = a.created, held = reviewing, "recording announced");
        Ok(StatusCode::NO_CONTENT)
    }
    .instrument(span)
    .await
}

/// The recording a provider announced, filed under the caller's choices.
fn new_recording(
    s: &AppState,
    rec: &RecordingEvent,
    category: String,
    language: Language,
) -> NewRecording {
    NewRecording {
        sid: rec.sid.clone(),
        url: rec.url.clone(),
        duration_secs: rec.duration_secs,
        category,
        language,
        at: s.store.now(),
    }
}

/// Where a connection goes: the consultants, or a category's 24/7 service.
fn dial_kind(category: Option<&str>) -> DialKind {
    match category {
        Some(_) => DialKind::Referral,
        None => DialKind::Consultants,
    }
}
