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
    /// A name that is a piece of a meaningful one (`Digit` for `Digits`),
    /// or one extended by a piece of its value (`Digits1`): the shape of a
    /// signature-preserving forgery.
    #[error("parameter name {0:?} is not one a provider sends")]
    Suspicious(String),
    #[error("parameter {0} is repeated with different values")]
    Conflicting(&'static str),
    #[error("parameter {0} holds control characters")]
    Control(String),
}

/// Who signed a webhook, which decides the shape of its ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// `CA` / `RE` + 32 lowercase hex digits.
    Twilio,
    /// UUIDs (`8-4-4-4-12` hex).
    SignalWire,
    /// Calls: `v3:` + a call control id (or a UUID); recordings: UUIDs.
    Telnyx,
    /// Signatures not checked (development): any id token is taken.
    Unverified,
}

/// Parameters that steer what hotline does. A webhook's signature covers
/// the parameters concatenated without separators, so the same signature
/// also fits a body whose names and values are cut differently; these
/// names are therefore taken only whole, only once (or repeated with the
/// same value), and only with values of the right shape.
const MEANINGFUL: &[&str] = &[
    "AccountSid",
    "CallSid",
    "CallStatus",
    "DialCallDuration",
    "DialCallStatus",
    "Digits",
    "From",
    "RecordingDuration",
    "RecordingSid",
    "RecordingStatus",
    "RecordingUrl",
    "To",
];

/// Parameters providers send whose names begin with a meaningful one.
const KNOWN_EXTENSIONS: &[&str] = &[
    "CallSidLegacy",
    "CallStatusCallbackEvent",
    "FromCity",
    "FromCountry",
    "FromState",
    "FromZip",
    "ToCity",
    "ToCountry",
    "ToState",
    "ToZip",
];

const CALL_STATUSES: &[&str] = &[
    "queued",
    "initiated",
    "ringing",
    "answered",
    "in-progress",
    "completed",
    "busy",
    "failed",
    "no-answer",
    "canceled",
];

fn hex(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Provider {
    /// Whether `sid` has the shape this provider's call ids have.
    pub fn call_sid_ok(self, sid: &str) -> bool {
        match self {
            Self::Twilio => sid.strip_prefix("CA").is_some_and(|h| hex(h, 32)),
            Self::SignalWire => uuid(sid),
            Self::Telnyx => {
                uuid(sid)
                    || sid.strip_prefix("v3:").is_some_and(|id| {
                        (16..=128).contains(&id.len())
                            && id
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    })
            }
            Self::Unverified => CallSid::parse(sid).is_ok(),
        }
    }

    /// Whether `sid` has the shape this provider's recording ids have.
    pub fn recording_sid_ok(self, sid: &str) -> bool {
        match self {
            Self::Twilio => sid.strip_prefix("RE").is_some_and(|h| hex(h, 32)),
            Self::SignalWire | Self::Telnyx => uuid(sid),
            Self::Unverified => RecordingSid::parse(sid).is_ok(),
        }
    }
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

    /// The checks after the signature (see [`MEANINGFUL`]): no parameter
    /// name that is a cut or an extension of a meaningful one, no
    /// meaningful parameter twice with different values, ids of the
    /// signing provider's shape, a known call status, no control
    /// characters anywhere.
    pub fn check(&self, provider: Provider) -> Result<(), WebhookError> {
        for (name, value) in &self.0 {
            if let Some(c) = value
                .chars()
                .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            {
                tracing::debug!(code = c as u32, "control character in a webhook");
                return Err(WebhookError::Control(name.chars().take(40).collect()));
            }
            for m in MEANINGFUL {
                let cut = m.len() > name.len() && m.starts_with(name.as_str());
                let extended = name.len() > m.len()
                    && name.starts_with(m)
                    && !KNOWN_EXTENSIONS.contains(&name.as_str());
                if cut || extended {
                    return Err(WebhookError::Suspicious(name.chars().take(40).collect()));
                }
            }
        }
        for m in MEANINGFUL {
            let mut values = self.0.iter().filter(|(k, _)| k == m).map(|(_, v)| v);
            if let Some(first) = values.next() {
                if values.any(|v| v != first) {
                    return Err(WebhookError::Conflicting(m));
                }
            }
        }
        if let Some(sid) = self.get("CallSid") {
            if !provider.call_sid_ok(sid) {
                return Err(InvalidId {
                    what: "call id",
                    value: sid.chars().take(40).collect(),
                }
                .into());
            }
        }
        if let Some(sid) = self.get("RecordingSid").filter(|s| !s.is_empty()) {
            if !provider.recording_sid_ok(sid) {
                return Err(InvalidId {
                    what: "recording id",
                    value: sid.chars().take(40).collect(),
                }
                .into());
            }
        }
        if let Some(status) = self.get("CallStatus") {
            if !CALL_STATUSES.contains(&status) {
                return Err(WebhookError::Malformed("CallStatus"));
            }
        }
        if let Some(status) = self.get("DialCallStatus") {
            if crate::ivr::DialOutcome::parse(status).is_none() {
                return Err(WebhookError::Malformed("DialCallStatus"));
            }
        }
        if let Some(secs) = self.get("DialCallDuration") {
            if secs.parse::<u32>().is_err() {
                return Err(WebhookError::Malformed("DialCallDuration"));
            }
        }
        Ok(())
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

/// Keys pressed in a `<Gather>` (one key, `0`–`9`, `*` or `#`; a report
/// number's digits, up to 16 keys).
pub fn digits(f: &Form) -> Result<Option<String>, WebhookError> {
    match f.get("Digits").map(str::trim) {
        None | Some("") => Ok(None),
        Some(d)
            if d.len() <= 16
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

#[cfg(test)]
mod tests {
    use super::*;

    fn form(p: &[(&str, &str)]) -> Form {
        Form(
            p.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    const CA: &str = "CA0123456789abcdef0123456789abcdef";
    const RE: &str = "RE0123456789abcdef0123456789abcdef";

    #[test]
    fn boundary_shifted_names_are_refused() {
        let ok = form(&[("CallSid", CA), ("Digits", "1"), ("FromCity", "KRAKOW")]);
        assert!(ok.check(Provider::Twilio).is_ok());
        for forged in [
            form(&[("CallSid", CA), ("Digit", "s1")]),
            form(&[("CallSid", CA), ("Digits1", "")]),
            form(&[("CallSi", &format!("d{CA}"))]),
        ] {
            assert!(
                matches!(
                    forged.check(Provider::Twilio),
                    Err(WebhookError::Suspicious(_))
                ),
                "{forged:?}"
            );
        }
    }

    #[test]
    fn ids_have_their_providers_shape() {
        let phantom = format!("{CA}CallStatusringing");
        let second = format!("{RE}RecordingSourceRecordVerb");
        assert!(form(&[("CallSid", &phantom)])
            .check(Provider::Twilio)
            .is_err());
        assert!(form(&[("CallSid", CA), ("RecordingSid", &second)])
            .check(Provider::Twilio)
            .is_err());
        assert!(form(&[("CallSid", "CAretry")])
            .check(Provider::Twilio)
            .is_err());
        assert!(form(&[("CallSid", &CA.to_uppercase())])
            .check(Provider::Twilio)
            .is_err());
        let uuid = "0b6a3ac0-3d3c-4e6a-9a51-2f8c1d9e7b10";
        assert!(form(&[("CallSid", uuid), ("RecordingSid", uuid)])
            .check(Provider::SignalWire)
            .is_ok());
        assert!(form(&[("CallSid", CA)])
            .check(Provider::SignalWire)
            .is_err());
        assert!(form(&[(
            "CallSid",
            "v3:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9BborherQ"
        )])
        .check(Provider::Telnyx)
        .is_ok());
        assert!(form(&[("CallSid", "v3:x")])
            .check(Provider::Telnyx)
            .is_err());
    }

    #[test]
    fn repeats_must_agree_and_values_be_clean() {
        assert!(form(&[("CallSid", CA), ("Digits", "1"), ("Digits", "1")])
            .check(Provider::Twilio)
            .is_ok());
        assert!(matches!(
            form(&[("CallSid", CA), ("Digits", "1"), ("Digits", "2")]).check(Provider::Twilio),
            Err(WebhookError::Conflicting("Digits"))
        ));
        assert!(matches!(
            form(&[("CallSid", CA), ("CallerName", "a\u{0}b")]).check(Provider::Twilio),
            Err(WebhookError::Control(_))
        ));
        assert!(form(&[("CallSid", CA), ("CallStatus", "exploded")])
            .check(Provider::Twilio)
            .is_err());
    }
}
