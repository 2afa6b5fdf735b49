//! Who the client is behind reverse proxies: `X-Forwarded-For` and
//! `Forwarded` are believed only from a configured trusted proxy, and then
//! read from the right, skipping further trusted proxies, so a client cannot
//! name itself by sending the header.

use std::net::{IpAddr, SocketAddr};

use axum::http::{header, HeaderMap};
use ipnet::IpNet;

/// The client's address: the peer's, unless the peer is a trusted proxy, in
/// which case the rightmost untrusted address its forwarding headers name
/// (`Forwarded` if present, else `X-Forwarded-For`).
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer.ip());
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = if headers.contains_key(header::FORWARDED) {
        values(headers, header::FORWARDED.as_str())
            .flat_map(|v| v.split(',').map(str::to_owned).collect::<Vec<_>>())
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (k, v) = pair.trim().split_once('=')?;
                    k.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| parse_node(v))?
                })
            })
            .collect()
    } else {
        values(headers, "x-forwarded-for")
            .flat_map(|v| v.split(',').map(str::to_owned).collect::<Vec<_>>())
            .filter_map(|v| parse_node(&v))
            .collect()
    };
    // A header that cannot be read names nobody: the proxy itself is the
    // client, so one garbled header throttles the proxy, not an agent.
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

fn values<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers.get_all(name).iter().filter_map(|v| v.to_str().ok())
}

/// `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_node(v: &str) -> Option<IpAddr> {
    let v = v.trim().trim_matches('"');
    if let Ok(ip) = v.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(sa) = v.parse::<SocketAddr>() {
        return Some(canonical(sa.ip()));
    }
    let inner = v.strip_prefix('[')?.split(']').next()?;
    inner.parse::<IpAddr>().ok().map(canonical)
}

/// `::ffff:10.0.0.1` is `10.0.0.1`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let proxy: SocketAddr = "10.0.0.5:40000".parse().unwrap();
        let stranger: SocketAddr = "203.0.113.9:40000".parse().unwrap();
        let trusted = vec!["10.0.0.0/24".parse().unwrap()];
        let xff = headers(&[("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(client_ip(proxy, &xff, &trusted), ip("198.51.100.7"));
        // The same header from anyone else names nobody.
        assert_eq!(client_ip(stranger, &xff, &trusted), ip("203.0.113.9"));
        assert_eq!(client_ip(proxy, &xff, &[]), ip("10.0.0.5"));
    }

    #[test]
    fn the_rightmost_untrusted_address_is_the_client() {
        let proxy: SocketAddr = "10.0.0.5:1".parse().unwrap();
        let trusted = vec!["10.0.0.0/24".parse().unwrap()];
        // A client forging its own entry is still named by what the proxy
        // appended after it.
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4, 198.51.100.7"),
            ("x-forwarded-for", "10.0.0.6"),
        ]);
        assert_eq!(client_ip(proxy, &h, &trusted), ip("198.51.100.7"));
        let h = headers(&[(
            "forwarded",
            "for=1.2.3.4, for=\"[2001:db8::17]:4711\";proto=https, for=10.0.0.7",
        )]);
        assert_eq!(client_ip(proxy, &h, &trusted), ip("2001:db8::17"));
        // Garbage or only proxies: the proxy itself.
        let h = headers(&[("x-forwarded-for", "unknown, ???")]);
        assert_eq!(client_ip(proxy, &h, &trusted), ip("10.0.0.5"));
        let mapped: SocketAddr = "[::ffff:10.0.0.5]:1".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "198.51.100.8")]);
        assert_eq!(client_ip(mapped, &h, &trusted), ip("198.51.100.8"));
    }
}
