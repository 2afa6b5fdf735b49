//! Urgent reports to the on-call officer by e-mail over SMTP (lettre):
//! one `send_urgent_email` job per report, queued with the transcript
//! that made it urgent ([`crate::store::Store::transcript_saved`]), retried
//! with backoff on temporary failures (4xx, an unreachable server).
//!
//! Sent once: the job's key is the report's, so a provider's retried
//! callback or a re-run transcription queues nothing new; a successful
//! send is logged before the job is marked done, and a retried job (its
//! worker killed after the server took the message) finds the log and
//! sends nothing. The window left, between the server's "250" and that
//! log line, is covered by a stable `Message-ID` that mail clients merge.

use std::sync::Arc;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tracing::{info, warn};

use crate::config::Escalation as Settings;
use crate::domain::urgency::{Urgency, UrgentKind};
use crate::domain::Language;
use crate::ivr::Menu;
use crate::jobs::kinds::SendUrgentEmail;
use crate::store::{Job, NewAudit, Report, Store};
use crate::worker::{Outcome, Perform, Worker};

/// The event logged for an urgent report's deliveries (webhooks and mail).
pub const EVENT: &str = "report.urgent";
/// How a sent e-mail's log line starts (its endpoint).
pub const MAILTO: &str = "mailto:";

#[derive(Debug, thiserror::Error)]
pub enum EscalationError {
    #[error("{0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("the SMTP URL must start with smtp:// or smtps://")]
    Scheme,
}

/// The transport `url` names: `smtp://` with STARTTLS when the server
/// offers it (`?tls=required` insists, `?tls=none` never tries), `smtps://`
/// with TLS from the first byte; `user:pass@` logs in.
pub fn smtp_transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, EscalationError> {
    let url = url.trim();
    let url = match url.split_once("://") {
        Some(("smtps", _)) => url.to_owned(),
        Some(("smtp", _)) => {
            let (base, query) = url.split_once('?').unwrap_or((url, ""));
            let mut params: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
            if !params.iter().any(|p| p.starts_with("tls=")) {
                params.push("tls=opportunistic");
            }
            params.retain(|p| *p != "tls=none");
            match params.is_empty() {
                true => base.to_owned(),
                false => format!("{base}?{}", params.join("&")),
            }
        }
        _ => return Err(EscalationError::Scheme),
    };
    Ok(AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)?
        .timeout(Some(std::time::Duration::from_secs(30)))
        .build())
}

/// What the officer reads: subject, plain text and HTML, in Polish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrgentEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Everything an urgent e-mail says.
pub struct Facts<'a> {
    pub report: &'a Report,
    pub urgency: &'a Urgency,
    pub category: String,
    pub hints: Vec<String>,
    pub link: String,
    pub include_caller: bool,
}

/// Why, in a sentence.
fn why(u: &Urgency) -> String {
    match u.kind {
        UrgentKind::Heard => format!("w nagraniu padło „{}”", u.reason),
        UrgentKind::Referral => format!(
            "dzwoniący nagrał zgłoszenie zamiast połączenia z: {}",
            u.reason
        ),
    }
}

/// The e-mail of an urgent report.
pub fn compose(f: &Facts) -> UrgentEmail {
    let r = f.report;
    let subject = format!(
        "PILNE zgłoszenie {}: {} ({})",
        r.number,
        f.category,
        match f.urgency.kind {
            UrgentKind::Heard => format!("„{}”", f.urgency.reason),
            UrgentKind::Referral => f.urgency.reason.clone(),
        }
    );
    let mut rows = vec![
        ("Numer zgłoszenia", r.number.to_string()),
        ("Kategoria", f.category.clone()),
        (
            "Czas",
            format!(
                "{} (czas polski)",
                crate::domain::local_display(r.created_at)
            ),
        ),
        ("Dlaczego pilne", why(f.urgency)),
    ];
    if !f.hints.is_empty() {
        rows.push(("Adres (podpowiedź z nagrania)", f.hints.join("; ")));
    }
    let language = match r.language {
        None | Some(Language::Pl) => None,
        Some(Language::Uk) => Some("ukraiński"),
        Some(Language::En) => Some("angielski"),
    };
    if let Some(name) = language {
        rows.push(("Język dzwoniącego", name.to_owned()));
    }
    if f.include_caller && !r.caller.is_empty() {
        rows.push(("Numer dzwoniącego", r.caller.clone()));
    }
    let transcript = r
        .text
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or("(w nagraniu nie rozpoznano mowy: proszę je odsłuchać)");
    let intro = "Pilne zgłoszenie nagrane na linii Krakowskiego Centrum Kontaktu (12 616-55-55).";
    let mut text = format!("{intro}\n\n");
    for (k, v) in &rows {
        text.push_str(&format!("{k}: {v}\n"));
    }
    text.push_str(&format!(
        "\nTranskrypcja (automatyczna, może zawierać błędy):\n{transcript}\n\nSzkic zgłoszenia i nagranie: {}\n",
        f.link
    ));
    let e = crate::xml::escape;
    let mut html = format!("<p>{}</p>\n<table>\n", e(intro));
    for (k, v) in &rows {
        html.push_str(&format!(
            "<tr><th align=\"left\">{}</th><td>{}</td></tr>\n",
            e(k),
            e(v)
        ));
    }
    html.push_str(&format!(
        "</table>\n<p><strong>Transkrypcja</strong> (automatyczna, może zawierać błędy):</p>\n<blockquote>{}</blockquote>\n<p><a href=\"{}\">Szkic zgłoszenia i nagranie</a></p>\n",
        e(transcript).replace('\n', "<br>\n"),
        e(&f.link)
    ));
    UrgentEmail {
        subject,
        text,
        html,
    }
}

/// Sends urgent reports to the on-call officer.
pub struct Escalation {
    store: Arc<Store>,
    settings: Settings,
    menu: Menu,
    public_base: String,
    mailer: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

impl Escalation {
    pub fn new(
        store: Arc<Store>,
        settings: Settings,
        menu: Menu,
        public_base: String,
    ) -> Result<Arc<Self>, EscalationError> {
        let mailer = match &settings.smtp_url {
            Some(url) => Some(smtp_transport(url.expose())?),
            None => None,
        };
        Ok(Arc::new(Self {
            store,
            settings,
            menu,
            public_base,
            mailer,
        }))
    }

    pub fn register(self: &Arc<Self>, worker: Worker) -> Worker {
        worker.register::<SendUrgentEmail, _>(Arc::clone(self))
    }

    async fn hints(&self, report: &Report) -> anyhow::Result<Vec<String>> {
        Ok(self
            .store
            .address_candidates(report.id)
            .await?
            .iter()
            .map(|c| c.display())
            .collect())
    }

    async fn audit(&self, report_id: i64, action: &str, after: serde_json::Value) {
        let entry = NewAudit {
            report_id: Some(report_id),
            actor: "system".into(),
            action: action.into(),
            before_json: None,
            after_json: Some(after.to_string()),
            at: self.store.now(),
        };
        if let Err(e) = self.store.audit(&entry).await {
            warn!(error = %e, "could not audit the escalation");
        }
    }
}

#[async_trait]
impl Perform<SendUrgentEmail> for Escalation {
    async fn perform(&self, job: SendUrgentEmail, row: &Job) -> Outcome {
        tracing::Span::current().record("report_id", job.report_id);
        let Some(mailer) = &self.mailer else {
            return Outcome::GiveUp("no SMTP server is configured".into());
        };
        match self
            .store
            // Urgent once per report, ever.
            .delivered(job.report_id, EVENT, MAILTO, 0)
            .await
        {
            Ok(true) => {
                info!("the urgent e-mail was sent before; not again");
                return Outcome::Done;
            }
            Ok(false) => {}
            Err(e) => return Outcome::Retry(e.to_string()),
        }
        let report = match self.store.get_report_by_id(job.report_id).await {
            Ok(Some(r)) => r,
            Ok(None) => return Outcome::GiveUp("report gone".into()),
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        let Some(urgency) = report.urgency() else {
            return Outcome::GiveUp("the report is not urgent".into());
        };
        let to = self.settings.recipients(report.category_code()).to_vec();
        if to.is_empty() {
            return Outcome::GiveUp("no on-call address for this category".into());
        }
        let hints = match self.hints(&report).await {
            Ok(h) => h,
            Err(e) => return Outcome::Retry(format!("{e:#}")),
        };
        let mail = compose(&Facts {
            report: &report,
            urgency: &urgency,
            category: self
                .menu
                .category_name(report.category_code(), Language::Pl),
            hints,
            link: format!("{}/reports/{}", self.public_base, report.number),
            include_caller: self.settings.include_caller,
        });
        let message = match message(&self.settings.from, &to, &report, mail) {
            Ok(m) => m,
            Err(e) => return Outcome::GiveUp(e),
        };
        let endpoint = format!("{MAILTO}{}", to.join(","));
        let result = mailer.send(message).await;
        let (status, error) = match &result {
            Ok(r) => (smtp_code(r.code()), None),
            Err(e) => (e.status().and_then(smtp_code), Some(e.to_string())),
        };
        if let Err(e) = self
            .store
            .log_delivery(
                report.id,
                EVENT,
                &endpoint,
                row.attempts,
                status,
                error.as_deref(),
                self.store.now(),
            )
            .await
        {
            warn!(error = %e, "could not log the e-mail");
        }
        crate::metrics::escalated("email", error.is_none());
        match result {
            Ok(_) => {
                info!(
                    recipients = to.len(),
                    "urgent report e-mailed to the on-call officer"
                );
                self.audit(
                    report.id,
                    "escalated_email",
                    serde_json::json!({ "recipients": to }),
                )
                .await;
                Outcome::Done
            }
            Err(e) if e.is_permanent() => Outcome::GiveUp(e.to_string()),
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }

    async fn gave_up(&self, job: SendUrgentEmail, _: &Job, error: &str) {
        warn!(
            report_id = job.report_id,
            error, "the urgent e-mail could not be sent"
        );
        self.audit(
            job.report_id,
            "escalation_failed",
            serde_json::json!({ "channel": "email", "error": error }),
        )
        .await;
    }
}

fn smtp_code(c: lettre::transport::smtp::response::Code) -> Option<i64> {
    c.to_string().parse().ok()
}

/// The message: plain text and HTML alternatives, a Message-ID of the
/// report's own (the same on every attempt).
fn message(from: &str, to: &[String], r: &Report, mail: UrgentEmail) -> Result<Message, String> {
    let from: Mailbox = from
        .parse()
        .map_err(|e| format!("the sender {from:?}: {e}"))?;
    let domain = from.email.domain().to_owned();
    let mut builder = Message::builder()
        .from(from)
        .subject(mail.subject)
        .message_id(Some(format!("<urgent-{}@{domain}>", r.number)));
    for a in to {
        builder = builder.to(a.parse().map_err(|e| format!("the recipient {a:?}: {e}"))?);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(mail.text, mail.html))
        .map_err(|e| e.to_string())
}
