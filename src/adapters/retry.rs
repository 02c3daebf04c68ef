//! Requests retry by the domain's one retry policy.

pub use crate::domain::retry::{MAX_DELAY, RetryPolicy, rand01};
