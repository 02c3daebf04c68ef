//! Authentication: where the secret goes on each request. The secret stays a
//! `SecretString` until the request is built; header values are marked sensitive.

use base64::Engine;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};

use crate::adapters::{AdapterError, Credentials};
use crate::domain::integration::{ApiKeyIn, Auth, AuthKind};
use crate::secrets::SecretString;

#[derive(Clone)]
pub(crate) enum AuthPlan {
    None,
    /// api_key in a header, bearer and basic: one header on every request.
    Header(HeaderName, HeaderValue),
    /// api_key in the query string.
    Query(String, SecretString),
}

impl std::fmt::Debug for AuthPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Header(name, _) => write!(f, "Header({name}: ***)"),
            Self::Query(name, _) => write!(f, "Query({name}=***)"),
        }
    }
}

impl AuthPlan {
    /// The query parameter that carries the secret, to redact it from URLs we show.
    pub fn query_param(&self) -> Option<&str> {
        match self {
            Self::Query(name, _) => Some(name),
            _ => None,
        }
    }
}

/// The plan for `connection.auth`, plus every form the secret takes on the wire (to
/// scrub from anything we show).
pub(crate) fn plan(
    auth: Option<&Auth>,
    credentials: &Credentials,
) -> Result<(AuthPlan, Vec<SecretString>), AdapterError> {
    let Some(auth) = auth else {
        return Ok((AuthPlan::None, Vec::new()));
    };
    let secret = || {
        credentials
            .secret
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing("secret", auth.kind))
    };
    match auth.kind {
        AuthKind::None => Ok((AuthPlan::None, Vec::new())),
        AuthKind::ApiKey => {
            let name = auth
                .name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| {
                    AdapterError::Config(
                        "connection.auth.name is required for api_key auth: the header or query parameter that carries the key, e.g. \"X-Api-Key\"".into(),
                    )
                })?;
            let secret = secret()?;
            match auth.location.unwrap_or(ApiKeyIn::Header) {
                ApiKeyIn::Header => {
                    let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                        AdapterError::Config(format!(
                            "connection.auth.name = {name:?} is not a valid HTTP header name"
                        ))
                    })?;
                    let value = sensitive(secret.expose())?;
                    Ok((AuthPlan::Header(header, value), vec![secret]))
                }
                ApiKeyIn::Query => Ok((
                    AuthPlan::Query(name.to_string(), secret.clone()),
                    vec![secret],
                )),
            }
        }
        AuthKind::Bearer => {
            let secret = secret()?;
            let value = sensitive(&format!("Bearer {}", secret.expose()))?;
            Ok((AuthPlan::Header(AUTHORIZATION, value), vec![secret]))
        }
        AuthKind::Basic => {
            let username = auth.username.as_deref().ok_or_else(|| {
                AdapterError::Config("connection.auth.username is required for basic auth".into())
            })?;
            let password = credentials
                .password
                .clone()
                .ok_or_else(|| missing("password", auth.kind))?;
            let token = SecretString::new(
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{}", password.expose())),
            );
            let value = sensitive(&format!("Basic {}", token.expose()))?;
            Ok((
                AuthPlan::Header(AUTHORIZATION, value),
                vec![password, token],
            ))
        }
    }
}

fn missing(key: &str, kind: AuthKind) -> AdapterError {
    AdapterError::Config(format!(
        "connection.auth.{key} is missing for {} auth — store it with the integration (in an integration file: {key} = \"env:NAME\", \"file:PATH\" or \"prompt\")",
        kind.as_str()
    ))
}

fn sensitive(text: &str) -> Result<HeaderValue, AdapterError> {
    let mut value = HeaderValue::from_str(text).map_err(|_| {
        AdapterError::Config(
            "the credential contains characters an HTTP header cannot carry (such as a line break) — store it again without them".into(),
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(kind: AuthKind) -> Auth {
        Auth {
            kind,
            location: None,
            name: None,
            username: None,
        }
    }

    fn creds(secret: Option<&str>, password: Option<&str>) -> Credentials {
        Credentials {
            secret: secret.map(|s| SecretString::new(s.into())),
            password: password.map(|s| SecretString::new(s.into())),
        }
    }

    #[test]
    fn missing_pieces_are_named() {
        let e = plan(Some(&auth(AuthKind::Bearer)), &creds(None, None)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("connection.auth.secret is missing for bearer auth"),
            "{e}"
        );
        let e = plan(Some(&auth(AuthKind::ApiKey)), &creds(Some("k"), None)).unwrap_err();
        assert!(
            e.to_string().contains("connection.auth.name is required"),
            "{e}"
        );
        let e = plan(Some(&auth(AuthKind::Basic)), &creds(None, Some("p"))).unwrap_err();
        assert!(e.to_string().contains("connection.auth.username"), "{e}");
    }

    #[test]
    fn basic_encodes_user_and_password() {
        let mut a = auth(AuthKind::Basic);
        a.username = Some("ada".into());
        let (plan, secrets) = plan(Some(&a), &creds(None, Some("pw"))).unwrap();
        let AuthPlan::Header(name, value) = plan else {
            panic!("expected a header")
        };
        assert_eq!(name, AUTHORIZATION);
        assert_eq!(value.to_str().unwrap(), "Basic YWRhOnB3");
        assert!(value.is_sensitive());
        assert_eq!(secrets.len(), 2);
    }

    #[test]
    fn a_secret_with_a_newline_is_refused_without_showing_it() {
        let e = plan(
            Some(&auth(AuthKind::Bearer)),
            &creds(Some("abc\ndef-canary"), None),
        )
        .unwrap_err();
        assert!(!e.to_string().contains("canary"));
    }

    #[test]
    fn debug_hides_the_secret() {
        let mut a = auth(AuthKind::ApiKey);
        a.name = Some("api_key".into());
        a.location = Some(ApiKeyIn::Query);
        let (plan, _) = plan(Some(&a), &creds(Some("k-canary"), None)).unwrap();
        assert_eq!(format!("{plan:?}"), "Query(api_key=***)");
        assert_eq!(plan.query_param(), Some("api_key"));
    }
}
