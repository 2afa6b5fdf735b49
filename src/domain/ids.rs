//! Identifiers from the provider (call and recording ids, by provider shape)
//! and phone numbers, masked in logs.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {value:?}")]
pub struct InvalidId {
    pub what: &'static str,
    pub value: String,
}

/// Provider ids are short ASCII tokens (Twilio: `CA` + 32 hex; Telnyx and
/// SignalWire use UUID-like ids). Anything else is refused at the boundary.
fn parse_token(what: &'static str, s: &str) -> Result<String, InvalidId> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b':' || b == b'.');
    if ok {
        Ok(s.to_owned())
    } else {
        Err(InvalidId {
            what,
            value: s.chars().take(40).collect(),
        })
    }
}

macro_rules! token_id {
    ($name:ident, $what:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, InvalidId> {
                parse_token($what, s).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, InvalidId> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

token_id!(CallSid, "call id");
token_id!(RecordingSid, "recording id");

/// A caller's or a called number. `Display` masks it (logs must never carry
/// a full phone number); [`PhoneNumber::as_str`] gives it whole to the store
/// and the agent UI.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Accepts E.164-ish numbers (`+48126165555`, spaces and dashes dropped),
    /// SIP URIs' user parts, and the providers' anonymous markers.
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let s = s.trim();
        let s = s
            .strip_prefix("sip:")
            .map(|r| r.split('@').next().unwrap_or(r))
            .unwrap_or(s);
        let compact: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let lower = compact.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "" | "anonymous" | "restricted" | "unknown" | "private" | "266696687"
        ) {
            return Ok(Self("anonymous".into()));
        }
        let digits = compact.strip_prefix('+').unwrap_or(&compact);
        if digits.len() >= 3 && digits.len() <= 20 && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(compact))
        } else {
            Err(InvalidId {
                what: "phone number",
                value: s.chars().take(24).collect(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_anonymous(&self) -> bool {
        self.0 == "anonymous"
    }

    /// The number as a keyed hash (hex HMAC-SHA256 under `secret`): the
    /// same caller's calls share it, and it tells nothing of the number.
    /// None for a withheld number (anonymous callers are not one caller).
    pub fn keyed(&self, secret: &[u8]) -> Option<String> {
        use hmac::{Hmac, Mac};
        if self.is_anonymous() {
            return None;
        }
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret).ok()?;
        mac.update(self.0.as_bytes());
        Some(hex::encode(mac.finalize().into_bytes()))
    }

    /// `+48…567`: enough to tell calls apart in a log, not to call back.
    pub fn masked(&self) -> String {
        if self.is_anonymous() {
            return self.0.clone();
        }
        let n = self.0.len();
        let head: String = self
            .0
            .chars()
            .take(if self.0.starts_with('+') { 3 } else { 2 })
            .collect();
        let tail = &self.0[n.saturating_sub(3)..];
        format!("{head}…{tail}")
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, InvalidId> {
        Self::parse(&s)
    }
}

impl From<PhoneNumber> for String {
    fn from(v: PhoneNumber) -> String {
        v.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_parse_and_mask() {
        let p = PhoneNumber::parse("+48 12 616-55-55").unwrap();
        assert_eq!(p.as_str(), "+48126165555");
        assert_eq!(p.to_string(), "+48…555");
        assert!(!format!("{p:?}").contains("616"));
        assert!(PhoneNumber::parse("Anonymous").unwrap().is_anonymous());
        assert_eq!(
            PhoneNumber::parse("sip:+48600100200@pbx.example")
                .unwrap()
                .as_str(),
            "+48600100200"
        );
        assert!(PhoneNumber::parse("<script>").is_err());
    }

    #[test]
    fn provider_ids_are_tokens() {
        assert!(CallSid::parse("CA0123456789abcdef0123456789abcdef").is_ok());
        assert!(CallSid::parse("v3:abc-DEF_1").is_ok());
        assert!(CallSid::parse("").is_err());
        assert!(CallSid::parse("../../etc/passwd").is_err());
        assert!(RecordingSid::parse(&"x".repeat(200)).is_err());
    }
}
