//! Webhook signatures (`X-Twilio-Signature`, `X-SignalWire-Signature`):
//! base64(HMAC-SHA1(auth token, URL + every POST parameter, sorted by name,
//! as name followed by value)). Providers sign the URL as configured, with
//! or without an explicit default port; both are accepted. The comparison
//! is constant-time.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

fn mac(token: &str, url: &str, params: &[(String, String)]) -> HmacSha1 {
    // HMAC accepts keys of any length: this cannot fail.
    let mut m =
        <HmacSha1 as Mac>::new_from_slice(token.as_bytes()).unwrap_or_else(|_| unreachable!());
    m.update(url.as_bytes());
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    for (k, v) in sorted {
        m.update(k.as_bytes());
        m.update(v.as_bytes());
    }
    m
}

/// The signature a provider sends for `url` and `params`.
pub fn sign(token: &str, url: &str, params: &[(String, String)]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(mac(token, url, params).finalize().into_bytes())
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
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    url_variants(url)
        .iter()
        .any(|u| mac(token, u, params).verify_slice(&given).is_ok())
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
