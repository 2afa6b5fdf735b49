//! The provider side: webhook forms parsed into typed events, signature
//! checks, and TwiML. Twilio's dialect; Telnyx TeXML and SignalWire cXML are
//! compatible with it.

pub mod signature;
pub mod twiml;

use crate::domain::{CallSid, InvalidId, PhoneNumber, RecordingSid};

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("missing parameter {0}")]
    Missing(&'static str),
    #[error(transparent)]
    Invalid(#[from] InvalidId),
    #[error("parameter {0} is malformed")]
    Malformed(&'static str),
}

/// The raw form parameters of a webhook, in the order received.
#[derive(Debug, Clone, Default)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn require(&self, key: &'static str) -> Result<&str, WebhookError> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .ok_or(WebhookError::Missing(key))
    }

    pub fn call_sid(&self) -> Result<CallSid, WebhookError> {
        Ok(CallSid::parse(self.require("CallSid")?)?)
    }
}

/// An incoming call (`/twilio/voice`).
#[derive(Debug, Clone)]
pub struct IncomingCall {
    pub sid: CallSid,
    pub from: PhoneNumber,
    pub to: PhoneNumber,
}

impl IncomingCall {
    pub fn parse(f: &Form) -> Result<Self, WebhookError> {
        let number = |k: &'static str| -> Result<PhoneNumber, WebhookError> {
            Ok(PhoneNumber::parse(f.get(k).unwrap_or("anonymous"))?)
        };
        Ok(Self {
            sid: f.call_sid()?,
            from: number("From")?,
            to: number("To")?,
        })
    }
}

/// Keys pressed in a `<Gather>` (one key, `0`–`9`, `*` or `#`).
pub fn digits(f: &Form) -> Result<Option<String>, WebhookError> {
    match f.get("Digits").map(str::trim) {
        None | Some("") => Ok(None),
        Some(d)
            if d.len() <= 8
                && d.chars()
                    .all(|c| c.is_ascii_digit() || c == '*' || c == '#') =>
        {
            Ok(Some(d.to_owned()))
        }
        Some(_) => Err(WebhookError::Malformed("Digits")),
    }
}

/// A recording, from `<Record action>` or the recording status callback.
#[derive(Debug, Clone)]
pub struct RecordingEvent {
    pub sid: RecordingSid,
    pub url: String,
    pub duration_secs: Option<i64>,
    /// `completed`, `absent`, `failed`… (status callback only).
    pub status: Option<String>,
}

impl RecordingEvent {
    /// `None` when the request carries no recording at all.
    pub fn parse(f: &Form) -> Result<Option<Self>, WebhookError> {
        let Some(sid) = f.get("RecordingSid").filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let url = f.get("RecordingUrl").unwrap_or("").to_owned();
        if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
            return Err(WebhookError::Malformed("RecordingUrl"));
        }
        let duration_secs = match f.get("RecordingDuration").filter(|s| !s.is_empty()) {
            Some(d) => Some(
                d.trim()
                    .parse::<i64>()
                    .map_err(|_| WebhookError::Malformed("RecordingDuration"))?,
            ),
            None => None,
        };
        Ok(Some(Self {
            sid: RecordingSid::parse(sid)?,
            url,
            duration_secs,
            status: f.get("RecordingStatus").map(str::to_owned),
        }))
    }

    /// The provider made a recording with audio in it.
    pub fn has_audio(&self) -> bool {
        !self.url.is_empty()
            && self.duration_secs.is_none_or(|d| d > 0)
            && self.status.as_deref().is_none_or(|s| s == "completed")
    }
}

/// Final call statuses of the status callback.
pub fn call_is_over(status: &str) -> bool {
    matches!(
        status,
        "completed" | "busy" | "failed" | "no-answer" | "canceled"
    )
}
