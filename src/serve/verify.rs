//! Verifying inbound webhooks exactly as `shared/specs/webhooks.md` says: the
//! `standard` scheme (Standard Webhooks v1), `stripe` and `hmac_sha256`. The raw body is
//! verified before anything parses it; every candidate signature is decoded and compared
//! in constant time (`Mac::verify_slice`), and the request passes if any candidate
//! matches any of the endpoint's current secrets (that is how rotation works). An empty
//! secret, an empty or wrong-length entry, an unknown version or a missing header never
//! passes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = hmac::Hmac<Sha256>;

/// How far a signed timestamp may be from now, either way.
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// The default signature header of `hmac_sha256`.
pub const HUB_SIGNATURE: &str = "x-hub-signature-256";

/// An endpoint's signature scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> …` over
    /// `{id}.{timestamp}.{body}` with a `whsec_` secret.
    Standard,
    /// `Stripe-Signature: t=<unix>,v1=<hex>…` over `{t}.{body}`.
    Stripe,
    /// `<header>: sha256=<hex>` over the body; the delivery id from `id_header` when set.
    HmacSha256 {
        header: String,
        id_header: Option<String>,
    },
}

impl Scheme {
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::Standard => "standard",
            Scheme::Stripe => "stripe",
            Scheme::HmacSha256 { .. } => "hmac_sha256",
        }
    }
}

/// Why a request is not verified; each is answered `401` and counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    #[error("the {0} header is not valid: {1}")]
    Malformed(&'static str, String),
    #[error("the timestamp is {0} s from now, outside the {REPLAY_WINDOW_SECS} s window")]
    OutsideWindow(i64),
    #[error("no signature matches")]
    NoMatch,
    #[error("the endpoint has no usable secret")]
    NoSecret,
}

/// A verified request: its delivery id (what idempotency keys on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub delivery_id: String,
}

/// A secret as the HMAC key: a `whsec_` secret's decoded bytes, any other secret's
/// bytes. `None` for a secret that can never verify (empty, or a `whsec_` one that is
/// not base64 of 24–64 bytes).
pub fn key_of(scheme: &Scheme, secret: &str) -> Option<Vec<u8>> {
    match scheme {
        Scheme::Standard => {
            // Base64 with or without its padding, as the Standard Webhooks libraries read it.
            let encoded = secret.strip_prefix("whsec_")?;
            let lenient = base64::engine::GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                base64::engine::GeneralPurposeConfig::new()
                    .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
                    .with_decode_allow_trailing_bits(true),
            );
            let key = lenient.decode(encoded).ok()?;
            (24..=64).contains(&key.len()).then_some(key)
        }
        _ => (!secret.is_empty()).then(|| secret.as_bytes().to_vec()),
    }
}

/// A new `whsec_` secret of 32 bytes from the operating system's random generator.
pub fn new_standard_secret() -> Result<String, crate::secrets::SecretsError> {
    let bytes = crate::secrets::random_32()?;
    Ok(format!("whsec_{}", B64.encode(bytes.as_slice())))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Whether `signature` is the HMAC-SHA256 of `content` under any of `keys`, in
/// constant time for each comparison.
fn matches(keys: &[Vec<u8>], content: &[&[u8]], signature: &[u8]) -> bool {
    if signature.len() != 32 {
        return false;
    }
    keys.iter().any(|key| {
        let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
            return false;
        };
        for part in content {
            mac.update(part);
        }
        mac.verify_slice(signature).is_ok()
    })
}

fn timestamp(text: &str, header: &'static str, now_secs: i64) -> Result<i64, Rejection> {
    let t: i64 = text
        .trim()
        .parse()
        .map_err(|_| Rejection::Malformed(header, format!("{text:?} is not a Unix time")))?;
    let off = t.saturating_sub(now_secs);
    if off.abs() > REPLAY_WINDOW_SECS {
        return Err(Rejection::OutsideWindow(off));
    }
    Ok(t)
}

/// Verifies a request. `header` looks a header up by its lower-case name; `secrets`
/// are the endpoint's secrets still valid (current and, during a rotation's overlap,
/// previous); `now_secs` is the Unix time now.
pub fn verify<'h>(
    scheme: &Scheme,
    secrets: &[&str],
    header: impl Fn(&str) -> Option<&'h str>,
    body: &[u8],
    now_secs: i64,
) -> Result<Verified, Rejection> {
    let keys: Vec<Vec<u8>> = secrets.iter().filter_map(|s| key_of(scheme, s)).collect();
    if keys.is_empty() {
        return Err(Rejection::NoSecret);
    }
    match scheme {
        Scheme::Standard => {
            let id = header("webhook-id").ok_or(Rejection::MissingHeader("webhook-id"))?;
            let ts =
                header("webhook-timestamp").ok_or(Rejection::MissingHeader("webhook-timestamp"))?;
            let signatures =
                header("webhook-signature").ok_or(Rejection::MissingHeader("webhook-signature"))?;
            if id.is_empty() {
                return Err(Rejection::Malformed("webhook-id", "it is empty".into()));
            }
            timestamp(ts, "webhook-timestamp", now_secs)?;
            let any = signatures.split(' ').any(|entry| {
                let Some(encoded) = entry.strip_prefix("v1,") else {
                    return false;
                };
                match B64.decode(encoded) {
                    Ok(sig) => matches(
                        &keys,
                        &[id.as_bytes(), b".", ts.as_bytes(), b".", body],
                        &sig,
                    ),
                    Err(_) => false,
                }
            });
            if !any {
                return Err(Rejection::NoMatch);
            }
            Ok(Verified {
                delivery_id: id.to_string(),
            })
        }
        Scheme::Stripe => {
            let value =
                header("stripe-signature").ok_or(Rejection::MissingHeader("Stripe-Signature"))?;
            let mut t = None;
            let mut candidates = Vec::new();
            for part in value.split(',') {
                match part.trim().split_once('=') {
                    Some(("t", v)) => t = Some(v),
                    Some(("v1", v)) => candidates.push(v),
                    _ => {}
                }
            }
            let t = t.ok_or_else(|| {
                Rejection::Malformed("Stripe-Signature", "it has no t= timestamp".into())
            })?;
            timestamp(t, "Stripe-Signature", now_secs)?;
            let any = candidates.iter().any(|c| {
                unhex(c).is_some_and(|sig| matches(&keys, &[t.as_bytes(), b".", body], &sig))
            });
            if !any {
                return Err(Rejection::NoMatch);
            }
            Ok(Verified {
                delivery_id: format!("{t}.{}", sha256_hex(body)),
            })
        }
        Scheme::HmacSha256 {
            header: name,
            id_header,
        } => {
            let value =
                header(&name.to_ascii_lowercase()).ok_or(Rejection::MissingHeader("signature"))?;
            let sig = value
                .strip_prefix("sha256=")
                .and_then(unhex)
                .ok_or_else(|| {
                    Rejection::Malformed("signature", "write it as sha256=<hex>".into())
                })?;
            if !matches(&keys, &[body], &sig) {
                return Err(Rejection::NoMatch);
            }
            let id = id_header
                .as_deref()
                .and_then(|h| header(&h.to_ascii_lowercase()))
                .filter(|v| !v.is_empty())
                .map_or_else(|| sha256_hex(body), str::to_string);
            Ok(Verified { delivery_id: id })
        }
    }
}

/// The signature a sender writes under the `standard` scheme (`v1,<base64>`): what
/// outbound deliveries send and what tests sign with. `None` for an unusable secret.
pub fn sign_standard(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = key_of(&Scheme::Standard, secret)?;
    let mut mac = HmacSha256::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// `sha256=<hex>` of the body under `secret`, as `hmac_sha256` senders write it.
pub fn sign_hmac(secret: &str, body: &[u8]) -> Option<String> {
    if secret.is_empty() {
        return None;
    }
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(body);
    Some(format!("sha256={}", hex(&mac.finalize().into_bytes())))
}

/// `t=<t>,v1=<hex>` as Stripe writes it.
pub fn sign_stripe(secret: &str, t: i64, body: &[u8]) -> Option<String> {
    if secret.is_empty() {
        return None;
    }
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("t={t},v1={}", hex(&mac.finalize().into_bytes())))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    // The Standard Webhooks specification's example.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn standard(
        headers: &[(&str, &str)],
        secrets: &[&str],
        now: i64,
    ) -> Result<Verified, Rejection> {
        let map: HashMap<String, String> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        verify(
            &Scheme::Standard,
            secrets,
            |name| map.get(name).map(String::as_str),
            BODY,
            now,
        )
    }

    fn good_headers(sig: &str) -> Vec<(&'static str, String)> {
        vec![
            ("webhook-id", ID.to_string()),
            ("webhook-timestamp", TS.to_string()),
            ("webhook-signature", sig.to_string()),
        ]
    }

    fn refs<'a>(h: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
        h.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    #[test]
    fn the_specifications_example_verifies_and_signs_the_same() {
        assert_eq!(sign_standard(SECRET, ID, TS, BODY).as_deref(), Some(SIG));
        let h = good_headers(SIG);
        let v = standard(&refs(&h), &[SECRET], TS).unwrap();
        assert_eq!(v.delivery_id, ID);
    }

    #[test]
    fn any_matching_entry_passes_and_unknown_versions_are_skipped() {
        let h = good_headers(&format!("v2,abc v1,AAAA {SIG}"));
        assert!(standard(&refs(&h), &[SECRET], TS).is_ok());
    }

    #[test]
    fn a_previous_secret_verifies_during_its_overlap() {
        let h = good_headers(SIG);
        let new = new_standard_secret().unwrap();
        assert!(standard(&refs(&h), &[&new, SECRET], TS).is_ok());
        assert_eq!(standard(&refs(&h), &[&new], TS), Err(Rejection::NoMatch));
    }

    #[test]
    fn malformed_empty_truncated_and_wrong_length_signatures_fail() {
        let truncated = &SIG[..SIG.len() - 4];
        let flipped = SIG.replace("g0h", "g1h");
        for bad in [
            "",
            "v1,",
            "v1",
            " ",
            truncated,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE",
            "v1,Zm9v",
            "v1,!!!notbase64",
            flipped.as_str(),
            "V1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ] {
            let h = good_headers(bad);
            assert!(
                standard(&refs(&h), &[SECRET], TS).is_err(),
                "{bad:?} passed"
            );
        }
    }

    #[test]
    fn an_altered_body_id_or_timestamp_fails() {
        let mut h = good_headers(SIG);
        h[0].1 = "msg_other".into();
        assert_eq!(standard(&refs(&h), &[SECRET], TS), Err(Rejection::NoMatch));
        let mut h = good_headers(SIG);
        h[1].1 = (TS + 1).to_string();
        assert_eq!(standard(&refs(&h), &[SECRET], TS), Err(Rejection::NoMatch));
        let h = good_headers(SIG);
        let map: HashMap<String, String> =
            h.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        let other = verify(
            &Scheme::Standard,
            &[SECRET],
            |n| map.get(n).map(String::as_str),
            br#"{"test": 2432232315}"#,
            TS,
        );
        assert_eq!(other, Err(Rejection::NoMatch));
    }

    #[test]
    fn timestamps_outside_five_minutes_fail_either_way() {
        let h = good_headers(SIG);
        assert!(standard(&refs(&h), &[SECRET], TS + 300).is_ok());
        assert!(standard(&refs(&h), &[SECRET], TS - 300).is_ok());
        assert_eq!(
            standard(&refs(&h), &[SECRET], TS + 301),
            Err(Rejection::OutsideWindow(-301))
        );
        assert_eq!(
            standard(&refs(&h), &[SECRET], TS - 301),
            Err(Rejection::OutsideWindow(301))
        );
        let mut h = good_headers(SIG);
        h[1].1 = "yesterday".into();
        assert!(matches!(
            standard(&refs(&h), &[SECRET], TS),
            Err(Rejection::Malformed("webhook-timestamp", _))
        ));
    }

    #[test]
    fn missing_headers_and_unusable_secrets_never_pass() {
        let h = good_headers(SIG);
        for skip in 0..3 {
            let some: Vec<(&str, &str)> = refs(&h)
                .into_iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, p)| p)
                .collect();
            assert!(matches!(
                standard(&some, &[SECRET], TS),
                Err(Rejection::MissingHeader(_))
            ));
        }
        for secret in [
            "",
            "whsec_",
            "whsec_AAAA",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ] {
            assert_eq!(
                standard(&refs(&h), &[secret], TS),
                Err(Rejection::NoSecret),
                "{secret:?}"
            );
        }
    }

    #[test]
    fn stripe_signatures_verify_with_any_v1_and_key_the_delivery_by_time_and_body() {
        let secret = "whsec_stripe_test";
        let t = 1_700_000_000;
        let good = sign_stripe(secret, t, BODY).unwrap();
        let header = format!("{good},v1={}", "00".repeat(32));
        fn get<'h>(h: &'h str) -> impl Fn(&str) -> Option<&'h str> + 'h {
            move |n: &str| (n == "stripe-signature").then_some(h)
        }
        let v = verify(&Scheme::Stripe, &[secret], get(&header), BODY, t).unwrap();
        assert!(v.delivery_id.starts_with("1700000000."));
        assert_eq!(
            verify(&Scheme::Stripe, &[secret], get(&header), BODY, t + 301),
            Err(Rejection::OutsideWindow(-301))
        );
        let no_t = format!("v1={}", "00".repeat(32));
        assert!(verify(&Scheme::Stripe, &[secret], get(&no_t), BODY, t).is_err());
        let wrong = format!("t={t},v1={}", "00".repeat(32));
        assert_eq!(
            verify(&Scheme::Stripe, &[secret], get(&wrong), BODY, t),
            Err(Rejection::NoMatch)
        );
        assert_eq!(
            verify(&Scheme::Stripe, &[""], get(&header), BODY, t),
            Err(Rejection::NoSecret)
        );
    }

    #[test]
    fn hub_signatures_verify_the_body_and_take_the_id_header() {
        let scheme = Scheme::HmacSha256 {
            header: "X-Hub-Signature-256".into(),
            id_header: Some("X-GitHub-Delivery".into()),
        };
        let sig = sign_hmac("s3cret", BODY).unwrap();
        let with_id = |n: &str| match n {
            "x-hub-signature-256" => Some(sig.as_str()),
            "x-github-delivery" => Some("d-1"),
            _ => None,
        };
        assert_eq!(
            verify(&scheme, &["s3cret"], with_id, BODY, 0)
                .unwrap()
                .delivery_id,
            "d-1"
        );
        let without = |n: &str| (n == "x-hub-signature-256").then_some(sig.as_str());
        assert_eq!(
            verify(&scheme, &["s3cret"], without, BODY, 0)
                .unwrap()
                .delivery_id,
            sha256_hex(BODY)
        );
        let bare = sig.trim_start_matches("sha256=").to_string();
        let unprefixed = |n: &str| (n == "x-hub-signature-256").then_some(bare.as_str());
        assert!(verify(&scheme, &["s3cret"], unprefixed, BODY, 0).is_err());
        assert_eq!(
            verify(&scheme, &["other"], with_id, BODY, 0),
            Err(Rejection::NoMatch)
        );
        assert_eq!(
            verify(&scheme, &[""], with_id, BODY, 0),
            Err(Rejection::NoSecret)
        );
    }

    // The cases of the Standard Webhooks libraries' own tests.
    #[test]
    fn the_libraries_published_cases_verify_as_they_do() {
        let ts = 1_700_000_000;
        let sign = |secret: &str| sign_standard(secret, ID, ts, BODY).unwrap();
        let check = |secret: &str, signature: &str| {
            let map: HashMap<&str, String> = [
                ("webhook-id", ID.to_string()),
                ("webhook-timestamp", ts.to_string()),
                ("webhook-signature", signature.to_string()),
            ]
            .into();
            verify(
                &Scheme::Standard,
                &[secret],
                |n| map.get(n).map(String::as_str),
                BODY,
                ts,
            )
        };
        let good = sign(SECRET);
        // Several entries: a wrong v1, a v2 (unknown version), the right one, a wrong v1.
        let multi = format!(
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= {good} v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
        );
        assert!(check(SECRET, &multi).is_ok());
        assert_eq!(
            check(SECRET, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="),
            Err(Rejection::NoMatch)
        );
        // A secret whose base64 needs padding verifies with or without it.
        let padded = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr==";
        let unpadded = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr";
        let sig = sign(padded);
        assert!(check(padded, &sig).is_ok());
        assert!(check(unpadded, &sig).is_ok());
        assert_eq!(sign(unpadded), sig);
    }

    #[test]
    fn new_secrets_are_whsec_of_32_random_bytes() {
        let a = new_standard_secret().unwrap();
        let b = new_standard_secret().unwrap();
        assert_ne!(a, b);
        assert_eq!(key_of(&Scheme::Standard, &a).map(|k| k.len()), Some(32));
    }
}
