//! One page request: through the gate, within the timeout, retried per the policy, the
//! body read under the size cap. Failures become readable `AdapterError`s.

use std::error::Error as _;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, Url};

use super::auth::AuthPlan;
use super::config::RestConfig;
use crate::adapters::error::human_duration;
use crate::adapters::retry::rand01;
use crate::adapters::{AdapterError, HttpPolicy};

/// A server asking for a longer wait than this fails the request (retryable, with the
/// wait) instead of holding the run; the gate still keeps every request back until then.
pub(crate) const MAX_INLINE_WAIT: Duration = Duration::from_secs(300);
/// Error bodies are read only this far for the server's message.
const ERROR_BODY_CAP: u64 = 64 * 1024;

pub(crate) fn build_client() -> Result<Client, AdapterError> {
    // reqwest is built without a default crypto provider; installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .user_agent(concat!("syncdeck/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AdapterError::Config(format!("cannot set up the HTTP client: {e}")))
}

#[derive(Debug)]
pub(crate) struct Fetched {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Sends a page request, retrying what is worth retrying.
pub(crate) async fn send(
    client: &Client,
    cfg: &RestConfig,
    url: &Url,
    page: u64,
    http: &HttpPolicy,
    timeout: Duration,
) -> Result<Fetched, AdapterError> {
    let mut retries = 0u32;
    loop {
        http.gate.wait().await;
        let error = match send_once(client, cfg, url, page, http, timeout).await {
            Ok(fetched) => return Ok(fetched),
            Err(e) => e,
        };
        let too_long = error.retry_after().is_some_and(|d| d > MAX_INLINE_WAIT);
        if !error.retryable() || too_long {
            return Err(error);
        }
        if retries >= http.retry.max_retries {
            return Err(if retries == 0 {
                error
            } else {
                AdapterError::GaveUp {
                    attempts: retries + 1,
                    last: Box::new(error),
                }
            });
        }
        let backoff = http.retry.delay(retries, rand01());
        tracing::warn!(
            page,
            retry = retries + 1,
            of = http.retry.max_retries,
            backoff_ms = backoff.as_millis() as u64,
            error = %error,
            "retrying a failed request"
        );
        // The gate, waited on at the top of the loop, adds any Retry-After on top.
        tokio::time::sleep(backoff).await;
        retries += 1;
    }
}

/// One attempt, bounded by `timeout` from connecting to the last byte.
pub(crate) async fn send_once(
    client: &Client,
    cfg: &RestConfig,
    url: &Url,
    page: u64,
    http: &HttpPolicy,
    timeout: Duration,
) -> Result<Fetched, AdapterError> {
    let target = format!("{} {}", cfg.method, cfg.redactor.url(url));
    let attempt = async {
        let mut wire_url = url.clone();
        let mut headers = cfg.headers.clone();
        if cfg.same_origin(url) {
            if let AuthPlan::Query(name, secret) = &cfg.auth
                && !url.query_pairs().any(|(k, _)| k == name.as_str())
            {
                wire_url
                    .query_pairs_mut()
                    .append_pair(name, secret.expose());
            }
        } else if let AuthPlan::Header(name, _) = &cfg.auth {
            headers.remove(name);
        }
        let mut request = client
            .request(cfg.method.clone(), wire_url)
            .headers(headers);
        if let Some(body) = &cfg.body {
            request = request.body(body.clone());
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| transport_error(&e, page, &target, url, timeout))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let wait = http.gate.observe(&headers);
        if !response.status().is_success() {
            let body = read_capped(&mut response, ERROR_BODY_CAP.min(http.max_response_bytes))
                .await
                .unwrap_or_else(|partial| partial.unwrap_or_default());
            let message = cfg.redactor.text(&server_message(&body));
            return Err(AdapterError::Http {
                page,
                status,
                target: target.clone(),
                message,
                retry_after: wait.filter(|d| !d.is_zero()),
            });
        }
        match read_capped(&mut response, http.max_response_bytes).await {
            Ok(body) => Ok(Fetched {
                status,
                headers,
                body,
            }),
            Err(None) => Err(AdapterError::TooLarge {
                page,
                target: target.clone(),
                cap: http.max_response_bytes,
            }),
            Err(Some(_)) => Err(AdapterError::Body {
                page,
                target: target.clone(),
                reason: "the connection broke before the whole response arrived".into(),
            }),
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(AdapterError::Timeout {
            page,
            target,
            after: timeout,
        }),
    }
}

/// The body, or `Err(None)` once it passes `cap` (reading stops there), or
/// `Err(Some(partial))` when the connection fails mid-body.
async fn read_capped(
    response: &mut reqwest::Response,
    cap: u64,
) -> Result<Vec<u8>, Option<Vec<u8>>> {
    if response.content_length().is_some_and(|len| len > cap) {
        return Err(None);
    }
    let hint = response.content_length().unwrap_or(0).min(cap).min(8 << 20);
    let mut body = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if (body.len() + chunk.len()) as u64 > cap {
                    return Err(None);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(_) => return Err(Some(body)),
        }
    }
}

/// What the server said about an error: the usual JSON error fields, or its text.
pub(crate) fn server_message(body: &[u8]) -> String {
    const MAX: usize = 300;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let from_json = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| json_message(&v));
    let message = from_json.unwrap_or_else(|| {
        if text.starts_with('<') {
            html_title(text).unwrap_or_default()
        } else {
            text.to_string()
        }
    });
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if message.chars().count() > MAX {
        format!("{}…", message.chars().take(MAX - 1).collect::<String>())
    } else {
        message
    }
}

fn json_message(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let text = |v: &Value| match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    };
    for key in [
        "message",
        "error_description",
        "detail",
        "error_message",
        "title",
    ] {
        if let Some(m) = v.get(key).and_then(text) {
            return Some(m);
        }
    }
    match v.get("error") {
        Some(Value::String(s)) if !s.trim().is_empty() => return Some(s.trim().to_string()),
        Some(inner @ Value::Object(_)) => {
            if let Some(m) = json_message(inner) {
                return Some(m);
            }
        }
        _ => {}
    }
    if let Some(Value::Array(errors)) = v.get("errors")
        && let Some(first) = errors.first()
    {
        return text(first).or_else(|| json_message(first));
    }
    if let Value::Array(items) = v {
        return items.first().and_then(json_message);
    }
    None
}

fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    Some(html[start..end].trim().to_string())
}

/// A request that got no response: say why, in an operator's words.
fn transport_error(
    e: &reqwest::Error,
    page: u64,
    target: &str,
    url: &Url,
    timeout: Duration,
) -> AdapterError {
    if e.is_timeout() {
        return AdapterError::Timeout {
            page,
            target: target.to_string(),
            after: timeout,
        };
    }
    AdapterError::Connect {
        page,
        target: target.to_string(),
        reason: connect_reason(e, url),
    }
}

pub(crate) fn connect_reason(e: &reqwest::Error, url: &Url) -> String {
    let host = url.host_str().unwrap_or("the server").to_string();
    let addr = match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.clone(),
    };
    let mut chain: Vec<String> = Vec::new();
    let mut source = e.source();
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            // io::Error::source skips the error it wraps, and connectors nest io::Errors:
            // look inside for rustls' error and for the most specific kind.
            let mut io = io;
            while let Some(inner) = io.get_ref() {
                if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                    return tls_reason(&tls.to_string());
                }
                match inner.downcast_ref::<std::io::Error>() {
                    Some(nested) => io = nested,
                    None => break,
                }
            }
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => {
                    return format!("connection refused by {addr} — is the server running?");
                }
                ConnectionReset | ConnectionAborted => {
                    return format!(
                        "the connection to {addr} was reset — the server or a proxy closed it"
                    );
                }
                TimedOut => return format!("connecting to {addr} timed out"),
                HostUnreachable | NetworkUnreachable => {
                    return format!("{addr} is unreachable — check the network");
                }
                _ => {}
            }
        }
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return format!(
                "TLS: {tls} — check the server's certificate (or use http:// for a plain-HTTP server)"
            );
        }
        chain.push(err.to_string());
        source = err.source();
    }
    let all = chain.join(": ").to_ascii_lowercase();
    if all.contains("dns error") || all.contains("lookup address") || all.contains("resolve") {
        return format!("DNS: cannot resolve host {host} — check connection.base_url");
    }
    if all.contains("certificate") || all.contains("tls") || all.contains("handshake") {
        let detail = chain.last().cloned().unwrap_or_default();
        return format!(
            "TLS: {detail} — check the server's certificate (or use http:// for a plain-HTTP server)"
        );
    }
    let detail = chain.last().cloned().unwrap_or_else(|| e.to_string());
    format!("cannot connect to {addr}: {detail}")
}

fn tls_reason(detail: &str) -> String {
    format!(
        "TLS: {detail} — check the server's certificate, or use http:// if the server does not speak HTTPS"
    )
}

/// "timed out after 5 s", for reports.
pub(crate) fn timeout_text(timeout: Duration) -> String {
    format!("timed out after {}", human_duration(timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_from_common_error_shapes() {
        assert_eq!(server_message(br#"{"message":"bad token"}"#), "bad token");
        assert_eq!(
            server_message(br#"{"error":"invalid_grant","error_description":"expired"}"#),
            "expired"
        );
        assert_eq!(
            server_message(br#"{"error":{"code":1,"message":"nope"}}"#),
            "nope"
        );
        assert_eq!(
            server_message(br#"{"errors":[{"message":"first"}]}"#),
            "first"
        );
        assert_eq!(server_message(br#"{"error":"denied"}"#), "denied");
        assert_eq!(server_message(b"plain  text\nreason"), "plain text reason");
        assert_eq!(
            server_message(b"<html><title>502 Bad Gateway</title></html>"),
            "502 Bad Gateway"
        );
        assert_eq!(server_message(b""), "");
        assert_eq!(server_message(&[b'x'; 1000]).chars().count(), 300);
    }
}
