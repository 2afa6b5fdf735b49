//! Webhook signatures (`X-Twilio-Signature`, `X-SignalWire-Signature`):
//! base64(HMAC-SHA1(auth token, URL + every POST parameter, sorted by name,
//! as name followed by value)). A parameter repeated with the same value
//! counts once and repeated values are sorted, as Twilio's own validators
//! (twilio-python, twilio-node) compute it. Providers sign the URL as
//! configured, with or without an explicit default port; both are accepted.
//! The comparison is constant-time.
//!
//! Variants: Twilio's Webhooks Rules sign with a shared key and announce it
//! in `X-Twilio-Webhooks-Signature-Settings: key=…,algorithm=HMAC_SHA256`
//! (only the hash changes), accepted when `telephony.webhook_shared_key` is
//! set. SignalWire signs exactly like Twilio with the project's signing key
//! (configure it as the auth token). Twilio's `bodySHA256` variant is for
//! JSON bodies, which voice webhooks never have.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;
type HmacSha256 = Hmac<sha2::Sha256>;

/// The hash a signature is computed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
}

/// What is signed: the URL, then each distinct parameter, sorted.
fn signed_string(url: &str, params: &[(String, String)]) -> Vec<u8> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    sorted.dedup();
    let mut out = url.as_bytes().to_vec();
    for (k, v) in sorted {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

fn mac(algorithm: Algorithm, key: &str, message: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length: these cannot fail.
    match algorithm {
        Algorithm::Sha1 => {
            let mut m = <HmacSha1 as Mac>::new_from_slice(key.as_bytes())
                .unwrap_or_else(|_| unreachable!());
            m.update(message);
            m.finalize().into_bytes().to_vec()
        }
        Algorithm::Sha256 => {
            let mut m = <HmacSha256 as Mac>::new_from_slice(key.as_bytes())
                .unwrap_or_else(|_| unreachable!());
            m.update(message);
            m.finalize().into_bytes().to_vec()
        }
    }
}

/// The signature a provider sends for `url` and `params` (HMAC-SHA1).
pub fn sign(token: &str, url: &str, params: &[(String, String)]) -> String {
    sign_with(Algorithm::Sha1, token, url, params)
}

pub fn sign_with(
    algorithm: Algorithm,
    key: &str,
    url: &str,
    params: &[(String, String)],
) -> String {
    base64::engine::general_purpose::STANDARD.encode(mac(
        algorithm,
        key,
        &signed_string(url, params),
    ))
}

/// The algorithm named by `X-Twilio-Webhooks-Signature-Settings`
/// (`key=…,algorithm=HMAC_SHA256`); `None` for one hotline does not know.
pub fn settings_algorithm(settings: &str) -> Option<Algorithm> {
    let algorithm = settings
        .split(',')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("algorithm"))
        .map(|(_, v)| v.trim().to_ascii_uppercase());
    match algorithm.as_deref() {
        None | Some("HMAC_SHA1") => Some(Algorithm::Sha1),
        Some("HMAC_SHA256") => Some(Algorithm::Sha256),
        Some(_) => None,
    }
}

/// `url` as written, with the default port added, and with it removed.
pub fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_owned()];
    for (scheme, port) in [("https://", ":443"), ("http://", ":80")] {
        let Some(rest) = url.strip_prefix(scheme) else {
            continue;
        };
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if let Some(bare) = host.strip_suffix(port) {
            out.push(format!("{scheme}{bare}{path}"));
        } else if !host.contains(':') {
            out.push(format!("{scheme}{host}{port}{path}"));
        }
    }
    out
}

/// True if `signature` is valid for `url` (in any port variant) and `params`.
pub fn verify(token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    verify_with(Algorithm::Sha1, token, url, params, signature)
}

pub fn verify_with(
    algorithm: Algorithm,
    key: &str,
    url: &str,
    params: &[(String, String)],
    signature: &str,
) -> bool {
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    url_variants(url)
        .iter()
        .any(|u| subtle_eq(&mac(algorithm, key, &signed_string(u, params)), &given))
}

/// Constant-time equality of two MACs.
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn matches_twilio_documented_example() {
        // Twilio's documented example (value checked with the official twilio Python library).
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params = p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(sign("12345", url, &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(verify(
            "12345",
            url,
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
    }

    #[test]
    fn repeated_parameters_sign_as_twilio_computes_them() {
        // twilio-python: each distinct value once, values sorted.
        let url = "https://h.example/x";
        let once = p(&[("Digits", "1"), ("CallSid", "CA1")]);
        let twice = p(&[("CallSid", "CA1"), ("Digits", "1"), ("Digits", "1")]);
        assert_eq!(sign("t", url, &once), sign("t", url, &twice));
        let two = p(&[("Digits", "2"), ("Digits", "1")]);
        let ordered = p(&[("Digits", "1"), ("Digits", "2")]);
        assert_eq!(sign("t", url, &two), sign("t", url, &ordered));
        assert_ne!(sign("t", url, &two), sign("t", url, &once));
    }

    #[test]
    fn shared_key_variant_uses_the_announced_hash() {
        let url = "https://h.example/x";
        let params = p(&[("CallSid", "CA1")]);
        let sig = sign_with(Algorithm::Sha256, "shared", url, &params);
        assert!(verify_with(Algorithm::Sha256, "shared", url, &params, &sig));
        assert!(!verify_with(Algorithm::Sha1, "shared", url, &params, &sig));
        assert_eq!(
            settings_algorithm("key=k1,algorithm=HMAC_SHA256"),
            Some(Algorithm::Sha256)
        );
        assert_eq!(settings_algorithm("key=k1"), Some(Algorithm::Sha1));
        assert_eq!(settings_algorithm("algorithm=MD5"), None);
    }

    #[test]
    fn port_variants_both_ways() {
        assert_eq!(
            url_variants("https://h.example/x?a=1"),
            vec!["https://h.example/x?a=1", "https://h.example:443/x?a=1"]
        );
        assert_eq!(
            url_variants("https://h.example:443/x"),
            vec!["https://h.example:443/x", "https://h.example/x"]
        );
        assert_eq!(
            url_variants("http://127.0.0.1:8080/x"),
            vec!["http://127.0.0.1:8080/x"]
        );
    }

    #[test]
    fn tampering_and_garbage_fail() {
        let params = p(&[("CallSid", "CA1"), ("Digits", "1")]);
        let sig = sign("tok", "https://h/x", &params);
        assert!(!verify(
            "tok",
            "https://h/x",
            &p(&[("CallSid", "CA1"), ("Digits", "2")]),
            &sig
        ));
        assert!(!verify("tok", "https://h/y", &params, &sig));
        assert!(!verify("other", "https://h/x", &params, &sig));
        assert!(!verify("tok", "https://h/x", &params, "not base64!!"));
        assert!(!verify("tok", "https://h/x", &params, ""));
    }
}

/// How old a Telnyx timestamp may be.
pub const TELNYX_MAX_AGE_SECS: i64 = 300;

/// Telnyx: Ed25519 over `"<timestamp>|<raw body>"`, base64 in
/// `telnyx-signature-ed25519`, with `telnyx-timestamp` (Unix seconds) no
/// older than `max_age_secs` (replays are refused).
pub fn verify_telnyx(
    public_key_b64: &str,
    timestamp: &str,
    body: &[u8],
    signature_b64: &str,
    now_secs: i64,
    max_age_secs: i64,
) -> bool {
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};
    let b64 = base64::engine::general_purpose::STANDARD;
    let Ok(ts) = timestamp.trim().parse::<i64>() else {
        return false;
    };
    if (now_secs - ts).abs() > max_age_secs {
        return false;
    }
    let key: Option<[u8; 32]> = b64
        .decode(public_key_b64.trim())
        .ok()
        .and_then(|k| k.try_into().ok());
    let sig: Option<[u8; 64]> = b64
        .decode(signature_b64.trim())
        .ok()
        .and_then(|s| s.try_into().ok());
    let (Some(key), Some(sig)) = (key, sig) else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(&key) else {
        return false;
    };
    let mut message = Vec::with_capacity(timestamp.len() + 1 + body.len());
    message.extend_from_slice(timestamp.trim().as_bytes());
    message.push(b'|');
    message.extend_from_slice(body);
    key.verify(&message, &Signature::from_bytes(&sig)).is_ok()
}

#[cfg(test)]
mod telnyx_tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    #[test]
    fn telnyx_signatures_verify_and_expire() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let public = b64.encode(key.verifying_key().to_bytes());
        let body = b"CallSid=v3%3Aabc&From=%2B48600100200";
        let sig = b64.encode(
            key.sign(b"1795000000|CallSid=v3%3Aabc&From=%2B48600100200")
                .to_bytes(),
        );
        assert!(verify_telnyx(
            &public,
            "1795000000",
            body,
            &sig,
            1_795_000_100,
            300
        ));
        assert!(
            !verify_telnyx(&public, "1795000000", body, &sig, 1_795_000_400, 300),
            "stale"
        );
        assert!(
            !verify_telnyx(
                &public,
                "1795000000",
                b"CallSid=other",
                &sig,
                1_795_000_100,
                300
            ),
            "tampered"
        );
        assert!(
            !verify_telnyx(&public, "1795000001", body, &sig, 1_795_000_100, 300),
            "other timestamp"
        );
        assert!(!verify_telnyx(
            "garbage",
            "1795000000",
            body,
            &sig,
            1_795_000_100,
            300
        ));
    }
}
