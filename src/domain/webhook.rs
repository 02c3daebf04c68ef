//! Inbound webhook endpoints as `shared/specs/webhooks.md` defines them: where a
//! delivery goes, how it is verified, and what handles it.

use serde::{Deserialize, Serialize};

/// What a verified delivery does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Handler {
    /// Maps the payload's records through the task's schema and stores them.
    Records,
    /// Queues a run of the task.
    Trigger,
    Both,
}

impl Handler {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Records => "records",
            Self::Trigger => "trigger",
            Self::Both => "both",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "records" => Some(Self::Records),
            "trigger" => Some(Self::Trigger),
            "both" => Some(Self::Both),
            _ => None,
        }
    }
    pub fn triggers(self) -> bool {
        matches!(self, Self::Trigger | Self::Both)
    }
    pub fn maps_records(self) -> bool {
        matches!(self, Self::Records | Self::Both)
    }
}

/// An endpoint's settings, as stored and as the CLI and console edit them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointSpec {
    /// Unique per tenant: `POST /webhooks/{tenant}/{path}`.
    pub path: String,
    /// The sync task it runs or whose schema maps its records (`INTEGRATION/TASK`).
    pub task: Option<String>,
    pub handler: Handler,
    /// JSONPath to the records in a payload; `$` is one record.
    pub records: String,
    /// `standard`, `stripe` or `hmac_sha256`.
    pub scheme: String,
    /// `hmac_sha256`: the signature header (default `X-Hub-Signature-256`).
    pub signature_header: Option<String>,
    /// `hmac_sha256`: the header carrying the delivery id (`X-GitHub-Delivery`).
    pub id_header: Option<String>,
    /// CIDR blocks a delivery may come from; empty for any.
    pub allow_ips: Vec<String>,
    /// Bytes; a larger body is refused with 413, read no further.
    pub max_body: u64,
    /// Requests per second; `None` for no limit.
    pub rate_limit: Option<u32>,
    pub enabled: bool,
}

/// The URL path a sender posts to: `/webhooks/{tenant}/{path}`.
pub fn url_path(tenant: &str, path: &str) -> String {
    format!("/webhooks/{tenant}/{path}")
}

/// The default body limit: 1 MiB.
pub const DEFAULT_MAX_BODY: u64 = 1024 * 1024;

impl EndpointSpec {
    pub fn new(path: impl Into<String>, handler: Handler) -> Self {
        Self {
            path: path.into(),
            task: None,
            handler,
            records: "$".into(),
            scheme: "standard".into(),
            signature_header: None,
            id_header: None,
            allow_ips: Vec::new(),
            max_body: DEFAULT_MAX_BODY,
            rate_limit: None,
            enabled: true,
        }
    }

    /// Every problem of the settings, each naming its setting.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let ok_path = !self.path.is_empty()
            && self.path.len() <= 200
            && self
                .path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
            && !self.path.starts_with('/')
            && !self.path.contains("//")
            && !self.path.split('/').any(|p| p == "." || p == "..");
        if !ok_path {
            out.push(format!(
                "path {:?}: use letters, digits, `-`, `_`, `.` and `/` between segments, \
                 such as \"stripe/payments\"",
                self.path
            ));
        }
        if !matches!(self.scheme.as_str(), "standard" | "stripe" | "hmac_sha256") {
            out.push(format!(
                "scheme {:?}: use standard, stripe or hmac_sha256",
                self.scheme
            ));
        }
        if self.scheme != "hmac_sha256"
            && (self.signature_header.is_some() || self.id_header.is_some())
        {
            out.push(
                "signature_header and id_header are settings of the hmac_sha256 scheme".into(),
            );
        }
        if self.task.is_none() {
            out.push(format!(
                "task: a {} endpoint needs the sync task it runs (INTEGRATION/TASK)",
                self.handler.as_str()
            ));
        }
        if !self.records.starts_with('$')
            || jsonpath_rust::parser::parse_json_path(&self.records).is_err()
        {
            out.push(format!(
                "records {:?} is not a JSONPath such as \"$\" or \"$.data[*]\"",
                self.records
            ));
        }
        for cidr in &self.allow_ips {
            if crate::domain::webhook::Cidr::parse(cidr).is_none() {
                out.push(format!(
                    "allow_ips: {cidr:?} is not an address or CIDR block such as 192.0.2.0/24"
                ));
            }
        }
        if self.max_body == 0 {
            out.push("max_body must be at least 1 byte".into());
        }
        if self.rate_limit == Some(0) {
            out.push(
                "rate_limit must be at least 1 request per second (leave it out for none)".into(),
            );
        }
        out
    }
}

/// An address block: `192.0.2.0/24`, `2001:db8::/32`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: std::net::IpAddr,
    bits: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, bits) = match text.split_once('/') {
            Some((a, b)) => (a.trim().parse().ok()?, Some(b.trim().parse::<u8>().ok()?)),
            None => (text.trim().parse().ok()?, None),
        };
        let max = match addr {
            std::net::IpAddr::V4(_) => 32,
            std::net::IpAddr::V6(_) => 128,
        };
        let bits = bits.unwrap_or(max);
        (bits <= max).then_some(Cidr { addr, bits })
    }

    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (std::net::IpAddr::V4(net), std::net::IpAddr::V4(ip)) => {
                let mask = if self.bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.bits))
                };
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (std::net::IpAddr::V6(net), std::net::IpAddr::V6(ip)) => {
                let mask = if self.bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.bits))
                };
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_blocks_hold_their_addresses_only() {
        let net = Cidr::parse("192.0.2.0/24").unwrap();
        assert!(net.contains("192.0.2.77".parse().unwrap()));
        assert!(!net.contains("192.0.3.1".parse().unwrap()));
        assert!(net.contains("::ffff:192.0.2.5".parse().unwrap()));
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        for bad in ["", "10.0.0.0/33", "example.com", "10.0.0/8", "::/129"] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn endpoint_settings_name_each_problem() {
        let mut e = EndpointSpec::new("../x", Handler::Trigger);
        e.scheme = "md5".into();
        e.allow_ips = vec!["nope".into()];
        e.records = "data".into();
        let p = e.problems().join("\n");
        for word in ["path", "scheme", "task", "allow_ips", "records"] {
            assert!(p.contains(word), "{word}: {p}");
        }
        let mut ok = EndpointSpec::new("stripe/payments", Handler::Trigger);
        ok.task = Some("CRM".into());
        assert!(ok.problems().is_empty(), "{:?}", ok.problems());
    }
}
