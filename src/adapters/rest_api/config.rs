//! The stored `[connection]` and `[source]` of a rest_api integration, checked once and
//! turned into what requests are built from. Every problem names its key.

use std::str::FromStr;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};

use super::auth::{self, AuthPlan};
use super::pagination::Paginator;
use crate::adapters::jsonpath::CompiledPath;
use crate::adapters::{AdapterConfig, AdapterError};
use crate::secrets::SecretString;

#[derive(Debug, Clone)]
pub(crate) struct RestConfig {
    /// `connection.base_url`.
    pub base: Url,
    /// `base_url` + `source.path`, with the path's own query if it has one.
    pub url: Url,
    pub method: Method,
    /// `connection.headers`, the auth header, and JSON Accept/Content-Type defaults.
    pub headers: HeaderMap,
    /// `source.query`, in order.
    pub query: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub records: Option<CompiledPath>,
    /// `source.total`: where a response says how many records there are in all.
    pub total: Option<CompiledPath>,
    pub paginator: Paginator,
    pub cursor_field: Option<String>,
    pub cursor_param: Option<String>,
    pub auth: AuthPlan,
    pub redactor: Redactor,
}

impl RestConfig {
    pub fn new(cfg: &AdapterConfig) -> Result<Self, AdapterError> {
        let connection = &cfg.connection;
        let source = &cfg.source;
        let base_text = connection
            .base_url
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                AdapterError::Config(
                    "connection.base_url is required for rest_api — e.g. \"https://api.example.com/v1\"".into(),
                )
            })?;
        let base = parse_http_url(base_text, "connection.base_url")?;
        let url = match source.path.as_deref().map(str::trim) {
            None | Some("") => base.clone(),
            Some(path) if path.starts_with("http://") || path.starts_with("https://") => {
                parse_http_url(path, "source.path")?
            }
            Some(path) => {
                let mut root = base.clone();
                root.set_query(None);
                root.set_fragment(None);
                let joined = format!(
                    "{}/{}",
                    root.as_str().trim_end_matches('/'),
                    path.trim_start_matches('/')
                );
                parse_http_url(&joined, "source.path")?
            }
        };

        let method = match source.method.trim().to_ascii_uppercase().as_str() {
            "" | "GET" => Method::GET,
            "POST" => Method::POST,
            other => {
                return Err(AdapterError::Config(format!(
                    "source.method = {other:?} is not supported — use GET or POST"
                )));
            }
        };

        let body = match source.body.trim() {
            "" => None,
            text if method == Method::POST => {
                serde_json::from_str::<serde_json::Value>(text).map_err(|e| {
                    AdapterError::Config(format!(
                        "source.body is not valid JSON (line {} column {}): {} — write the request body as JSON text",
                        e.line(),
                        e.column(),
                        strip_position(&e.to_string())
                    ))
                })?;
                Some(text.as_bytes().to_vec())
            }
            _ => {
                return Err(AdapterError::Config(
                    "source.body is set but source.method is GET — a body is sent with POST only; set method = \"POST\" or remove the body".into(),
                ));
            }
        };

        let mut headers = HeaderMap::new();
        for (name, value) in &connection.headers {
            let header = HeaderName::from_str(name.trim()).map_err(|_| {
                AdapterError::Config(format!(
                    "connection.headers: {name:?} is not a valid HTTP header name"
                ))
            })?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                AdapterError::Config(format!(
                    "connection.headers.{name}: the value contains characters an HTTP header cannot carry"
                ))
            })?;
            headers.append(header, value);
        }
        if !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        }
        if body.is_some() && !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }

        let (auth, secrets) = auth::plan(connection.auth.as_ref(), &cfg.credentials)?;
        if let AuthPlan::Header(name, value) = &auth {
            headers.insert(name.clone(), value.clone());
        }

        let records = source
            .records
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| CompiledPath::parse(s, "source.records"))
            .transpose()?;
        let total = source
            .total
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| CompiledPath::parse(s, "source.total"))
            .transpose()?;
        let paginator = Paginator::from_spec(&source.pagination)?;
        let nonempty = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };

        Ok(Self {
            redactor: Redactor {
                query_param: auth.query_param().map(str::to_string),
                secrets,
            },
            base,
            url,
            method,
            headers,
            query: source
                .query
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            body,
            records,
            total,
            paginator,
            cursor_field: nonempty(&source.cursor_field),
            cursor_param: nonempty(&source.cursor_param),
            auth,
        })
    }

    /// Whether `url` is on the integration's own server: credentials go nowhere else (a
    /// next-page URL may point to another host).
    pub fn same_origin(&self, url: &Url) -> bool {
        url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
    }
}

fn parse_http_url(text: &str, key: &str) -> Result<Url, AdapterError> {
    let url = Url::parse(text).map_err(|e| {
        AdapterError::Config(format!(
            "{key} = {text:?} is not a valid URL ({e}) — write it like \"https://api.example.com/v1\""
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(AdapterError::Config(format!(
            "{key} = {text:?} must be an http:// or https:// URL with a host"
        )));
    }
    Ok(url)
}

/// serde_json appends " at line L column C"; messages that state the position
/// themselves drop it.
pub(crate) fn strip_position(text: &str) -> String {
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text.to_string(),
    }
}

/// Keeps secrets out of everything we show: the API-key query parameter is masked in
/// URLs, and any text is scrubbed of the secret in every form it took on the wire.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    query_param: Option<String>,
    secrets: Vec<SecretString>,
}

/// Shorter secrets would mask innocent text; they are still never printed by us.
const MIN_SCRUB_LEN: usize = 4;

impl Redactor {
    pub fn url(&self, url: &Url) -> String {
        let mut shown = url.clone();
        if let Some(param) = &self.query_param
            && url.query_pairs().any(|(k, _)| k == param.as_str())
        {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == param.as_str() {
                        "***".to_string()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            shown.query_pairs_mut().clear().extend_pairs(pairs);
        }
        self.text(shown.as_str())
    }

    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            let s = secret.expose();
            if s.len() >= MIN_SCRUB_LEN && out.contains(s) {
                out = out.replace(s, "***");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::Credentials;
    use crate::domain::integration::{ApiKeyIn, Auth, AuthKind, Connection, Pagination, Source};

    fn config(base: &str, path: Option<&str>) -> AdapterConfig {
        AdapterConfig {
            connection: Connection {
                base_url: Some(base.into()),
                ..Connection::default()
            },
            source: Source {
                entity: "contacts".into(),
                method: "GET".into(),
                path: path.map(str::to_string),
                query: Default::default(),
                body: String::new(),
                records: None,
                total: None,
                cursor_field: None,
                cursor_param: None,
                pagination: Pagination::None,
            },
            credentials: Credentials::default(),
        }
    }

    #[test]
    fn base_url_and_path_join_like_the_spec_says() {
        let c =
            RestConfig::new(&config("https://crm.example.com/api/v2", Some("/contacts"))).unwrap();
        assert_eq!(c.url.as_str(), "https://crm.example.com/api/v2/contacts");
        let c = RestConfig::new(&config(
            "https://crm.example.com/api/v2/",
            Some("contacts?x=1"),
        ))
        .unwrap();
        assert_eq!(
            c.url.as_str(),
            "https://crm.example.com/api/v2/contacts?x=1"
        );
        let c = RestConfig::new(&config("http://127.0.0.1:1234", None)).unwrap();
        assert_eq!(c.url.as_str(), "http://127.0.0.1:1234/");
        assert_eq!(c.headers.get(ACCEPT).unwrap(), "application/json");
    }

    #[test]
    fn bad_settings_name_their_key() {
        let e = RestConfig::new(&config("crm.example.com", None)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("connection.base_url = \"crm.example.com\" is not a valid URL"),
            "{e}"
        );
        let mut c = config("https://x", None);
        c.source.method = "PUT".into();
        assert!(
            RestConfig::new(&c)
                .unwrap_err()
                .to_string()
                .contains("source.method")
        );
        let mut c = config("https://x", None);
        c.source.method = "POST".into();
        c.source.body = "{\"a\": }".into();
        let e = RestConfig::new(&c).unwrap_err().to_string();
        assert!(
            e.starts_with("source.body is not valid JSON (line 1 column 7)"),
            "{e}"
        );
        let mut c = config("https://x", None);
        c.source.body = "{}".into();
        assert!(
            RestConfig::new(&c)
                .unwrap_err()
                .to_string()
                .contains("POST only")
        );
        let mut c = config("https://x", None);
        c.source.records = Some("$[".into());
        assert!(
            RestConfig::new(&c)
                .unwrap_err()
                .to_string()
                .starts_with("source.records")
        );
    }

    #[test]
    fn urls_and_text_are_redacted() {
        let mut c = config("https://x", None);
        c.connection.auth = Some(Auth {
            kind: AuthKind::ApiKey,
            location: Some(ApiKeyIn::Query),
            name: Some("api_key".into()),
            username: None,
        });
        c.credentials.secret = Some(SecretString::new("sekret-canary".into()));
        let rc = RestConfig::new(&c).unwrap();
        let u = Url::parse("https://x/a?page=2&api_key=sekret-canary").unwrap();
        assert_eq!(rc.redactor.url(&u), "https://x/a?page=2&api_key=***");
        assert_eq!(rc.redactor.text("bad key sekret-canary!"), "bad key ***!");
        assert!(!format!("{rc:?}").contains("canary"));
    }
}
