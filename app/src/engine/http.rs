//! The HTTP request step: one shared client (rustls), a timeout per step, and no requests to
//! loopback, private, link-local or other internal addresses unless the instance allows them
//! (`FLOWDECK_HTTP_ALLOW`). Names are checked when they are resolved, so a name that points
//! inside cannot slip through, and every redirect is checked the same way.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use reqwest::{Method, Url, redirect};
use serde_json::{Map, Value, json};

use crate::credentials::service::Secret;
use crate::engine::failure::{StepError, parse_retry_after, retry_for_status};
use crate::workflows::kinds::HttpConfig;

/// Redirects followed at most.
const REDIRECTS: usize = 5;
/// Characters of an error response's body quoted in the step's error.
const QUOTE: usize = 300;

/// Hosts and networks the HTTP step may reach although they are internal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Allow {
    nets: Vec<IpNet>,
    hosts: Vec<String>,
}

impl Allow {
    /// A comma-separated list of IP addresses, networks (`10.0.0.0/8`) and host names.
    pub fn parse(list: &str) -> Result<Allow, String> {
        let mut allow = Allow::default();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if let Ok(net) = item.parse::<IpNet>() {
                allow.nets.push(net);
            } else if let Ok(ip) = item.parse::<IpAddr>() {
                allow.nets.push(IpNet::from(ip));
            } else if item.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') {
                allow.hosts.push(item.to_ascii_lowercase());
            } else {
                return Err(format!("“{item}” is not an IP address, a network or a host name"));
            }
        }
        Ok(allow)
    }

    fn permits(&self, host: &str, ip: IpAddr) -> bool {
        public(ip) || self.nets.iter().any(|n| n.contains(&ip)) || self.hosts.iter().any(|h| h == host)
    }
}

/// Whether an address is on the public internet (not loopback, private, link-local, shared,
/// multicast, documentation or unspecified).
pub fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || (a == 192 && b == 0 && c == 0))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let embedded =
                |hi: u16, lo: u16| IpAddr::V4(std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public(IpAddr::V4(v4));
            }
            // IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address at the
            // end, 6to4 (2002:AABB:CCDD::) after the prefix: each is as public as that address.
            if s[..6] == [0; 6] || (s[0] == 0x64 && s[1] == 0xff9b) {
                return public(embedded(s[6], s[7]));
            }
            if s[0] == 0x2002 {
                return public(embedded(s[1], s[2]));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || s[0] == 0x2001 && s[1] == 0)
        }
    }
}

/// Resolves names and keeps only the addresses the step may reach.
struct Guarded(Arc<Allow>);

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.0.clone();
        let host = name.as_str().to_ascii_lowercase();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let reachable: Vec<SocketAddr> = found.iter().copied().filter(|a| allow.permits(&host, a.ip())).collect();
            match (reachable.is_empty(), found.first()) {
                (false, _) => Ok(Box::new(reachable.into_iter()) as Addrs),
                (true, Some(a)) => Err(Box::new(Blocked(blocked(&host, a.ip()))) as _),
                (true, None) => Err(format!("{host} has no address").into()),
            }
        })
    }
}

/// A name that resolves only to internal addresses: a mistake, not a hiccup (never retried).
#[derive(Debug)]
struct Blocked(String);

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Blocked {}

fn blocked(host: &str, ip: IpAddr) -> String {
    format!("{host} is an internal address ({ip}); requests there are blocked unless FLOWDECK_HTTP_ALLOW lists it")
}

/// An IP written in the URL skips name resolution, so it is checked here.
fn check_literal(url: &Url, allow: &Allow) -> Result<(), String> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return Ok(()),
    };
    let host = url.host_str().unwrap_or_default();
    if allow.permits(host, ip) { Ok(()) } else { Err(blocked(host, ip)) }
}

/// Sends HTTP requests for steps.
pub struct Http {
    client: reqwest::Client,
    allow: Arc<Allow>,
}

impl Http {
    pub fn new(allow: Allow) -> Result<Http, String> {
        // rustls with ring; the process may have chosen already (then that choice stays).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let allow = Arc::new(allow);
        let for_redirects = allow.clone();
        let client = reqwest::Client::builder()
            .user_agent(concat!("Flowdeck/", env!("CARGO_PKG_VERSION")))
            // A proxy would resolve names itself, past the address check.
            .no_proxy()
            .dns_resolver(Arc::new(Guarded(allow.clone())))
            .redirect(redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= REDIRECTS {
                    return attempt.error(format!("more than {REDIRECTS} redirects"));
                }
                match check_literal(attempt.url(), &for_redirects) {
                    Ok(()) => attempt.follow(),
                    Err(e) => attempt.error(e),
                }
            }))
            .build()
            .map_err(|e| format!("the HTTP client could not be built: {e}"))?;
        Ok(Http { client, allow })
    }

    /// The request the step describes (with `bearer` as its Authorization), or what is wrong with it.
    fn request(&self, c: &HttpConfig, bearer: Option<&str>) -> Result<reqwest::RequestBuilder, String> {
        let method = Method::from_bytes(c.method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("“{}” is not an HTTP method", c.method))?;
        let url = Url::parse(c.url.trim()).map_err(|e| format!("“{}” is not a URL: {e}", c.url))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("“{}” is not an http(s) URL", c.url));
        }
        check_literal(&url, &self.allow)?;
        let mut request =
            self.client.request(method, url).timeout(Duration::from_secs(u64::from(c.timeout_secs.max(1))));
        let mut typed = false;
        for line in c.headers.iter().filter(|l| !l.trim().is_empty()) {
            let (name, value) = line.split_once(':').ok_or_else(|| format!("The header “{line}” has no “:”"))?;
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| format!("“{}” is not a header name", name.trim()))?;
            let value = HeaderValue::from_str(value.trim())
                .map_err(|_| format!("The value of header “{name}” is not valid"))?;
            typed |= name == CONTENT_TYPE;
            request = request.header(name, value);
        }
        if let Some(token) = bearer {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
                .map_err(|_| "The credential holds characters a header can't carry".to_owned())?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        if !c.body.is_empty() {
            if !typed && serde_json::from_str::<Value>(&c.body).is_ok() {
                request = request.header(CONTENT_TYPE, "application/json");
            }
            request = request.body(c.body.clone());
        }
        Ok(request)
    }

    /// What a simulation records instead of sending (a credential shows as its name only).
    pub fn describe(&self, c: &HttpConfig, bearer: Option<&str>) -> Result<Value, String> {
        // Checked like a real request, so a simulation finds the same mistakes.
        let _checked = self.request(c, bearer)?;
        let mut headers = c.headers.clone();
        if bearer.is_some() {
            headers.push(format!("Authorization: Bearer (credential “{}”)", c.credential.trim()));
        }
        Ok(
            json!({ "simulated": true, "would_send": { "method": c.method, "url": c.url, "headers": headers, "body": c.body } }),
        )
    }

    /// Sends the request; a 2xx answer is the step's output (status, headers, body as JSON when it
    /// is JSON), anything else fails the step with the status and the start of the body.
    /// The credential's value, should the answer carry it back, is replaced by its name before
    /// anything is cut or kept.
    pub async fn send(&self, c: &HttpConfig, secret: Option<&Secret>, limit: usize) -> Result<Value, StepError> {
        let request = self.request(c, secret.map(|s| s.value.as_str()))?;
        let scrub = |text: &str| secret.map_or_else(|| text.to_owned(), |s| s.redact_cut(text));
        // The body gets most of the limit; status and headers fit in the rest.
        let limit = limit - limit / 8;
        let mut response = request.send().await.map_err(|e| explain(&e, c))?;
        let status = response.status();
        let headers: Map<String, Value> = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), Value::String(scrub(v.to_str().ok()?)))))
            .collect();
        let mut bytes = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = response.chunk().await.map_err(|e| explain(&e, c))? {
            if bytes.len() + chunk.len() > limit {
                bytes.extend_from_slice(&chunk[..limit - bytes.len()]);
                truncated = true;
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = scrub(&String::from_utf8_lossy(&bytes));
        if !status.is_success() {
            let quote = scrub(&text.chars().take(QUOTE).collect::<String>());
            let after = headers.get("retry-after").and_then(Value::as_str);
            let after = after.and_then(|v| parse_retry_after(v, chrono::Utc::now()));
            return Err(StepError {
                message: format!("{} {} answered {status}: {quote}", c.method.to_ascii_uppercase(), c.url),
                retry: retry_for_status(status.as_u16(), after),
            });
        }
        let body = match serde_json::from_str::<Value>(&text) {
            Ok(json) if !truncated => json,
            _ => Value::String(text),
        };
        let mut output = json!({ "status": status.as_u16(), "headers": headers, "body": body });
        if truncated {
            output["truncated"] = json!(true);
        }
        Ok(output)
    }
}

/// A failed request in words: timeouts, refused connections, blocked addresses, TLS problems.
/// A blocked address or a refused redirect is the workflow's mistake; the rest may pass.
fn explain(e: &reqwest::Error, c: &HttpConfig) -> StepError {
    if e.is_timeout() {
        return StepError::transient(format!("{} did not answer within {} s", c.url, c.timeout_secs.max(1)));
    }
    let mut cause: &dyn std::error::Error = e;
    let mut is_blocked = false;
    while let Some(inner) = cause.source() {
        is_blocked |= inner.is::<Blocked>();
        cause = inner;
    }
    let what = if e.is_connect() && !is_blocked {
        "could not connect"
    } else if e.is_redirect() {
        "redirect refused"
    } else {
        "failed"
    };
    let message = format!("{} {what}: {cause}", c.url);
    if is_blocked || e.is_redirect() { StepError::fatal(message) } else { StepError::transient(message) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "64:ff9b::101:101", "2002:101:101::1"] {
            assert!(public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn the_allow_list_takes_addresses_networks_and_names() {
        let allow = Allow::parse("127.0.0.1, 10.0.0.0/8,intranet.local").unwrap();
        assert!(allow.permits("x", "127.0.0.1".parse().unwrap()));
        assert!(allow.permits("x", "10.9.8.7".parse().unwrap()));
        assert!(allow.permits("intranet.local", "192.168.0.5".parse().unwrap()));
        assert!(!allow.permits("x", "192.168.0.5".parse().unwrap()));
        assert!(!allow.permits("x", "::1".parse().unwrap()));
        assert!(Allow::parse("").unwrap() == Allow::default());
        assert!(Allow::parse("not a host!").is_err());
    }

    #[test]
    fn bad_requests_are_named_before_anything_is_sent() {
        let http = Http::new(Allow::default()).expect("client");
        let bad = |c: HttpConfig| http.request(&c, None).err().unwrap_or_default();
        let base = HttpConfig { url: "https://api.example.com/x".into(), ..HttpConfig::default() };
        assert!(bad(HttpConfig { method: "GE T".into(), ..base.clone() }).contains("not an HTTP method"));
        assert!(bad(HttpConfig { url: "ftp://example.com".into(), ..base.clone() }).contains("not an http(s) URL"));
        assert!(
            bad(HttpConfig { url: "http://127.0.0.1:8080/admin".into(), ..base.clone() }).contains("internal address")
        );
        assert!(bad(HttpConfig { url: "http://[::1]/".into(), ..base.clone() }).contains("internal address"));
        assert!(bad(HttpConfig { headers: vec!["NoColon".into()], ..base.clone() }).contains("has no “:”"));
        assert!(http.request(&base, Some("token")).is_ok());
    }
}
