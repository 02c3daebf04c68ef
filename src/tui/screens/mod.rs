//! One folder per screen: its state, its update (the only code changing that state) and
//! its view (pure).

pub mod catalog;
pub mod execution;
pub mod executions;
pub mod integrations;
pub mod mapper;
pub mod monitor;
pub mod paging;
pub mod webhooks;
pub mod wizard;

/// What a connection test found, as the integrations list and the wizard keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    pub ok: bool,
    pub latency_ms: u64,
    pub message: String,
}

impl TestResult {
    /// One line: "ok in 42 ms: HTTP 200 OK, 3 records on the first page".
    pub fn line(&self) -> String {
        let verdict = if self.ok { "ok" } else { "FAILED" };
        format!("{verdict} in {} ms: {}", self.latency_ms, self.message)
    }
}

impl From<crate::adapters::ConnectionReport> for TestResult {
    fn from(report: crate::adapters::ConnectionReport) -> Self {
        TestResult {
            ok: report.ok,
            latency_ms: u64::try_from(report.latency.as_millis()).unwrap_or(u64::MAX),
            message: report.message,
        }
    }
}
