//! One folder per screen: its state, its update (the only code changing that state) and
//! its view (pure).

pub mod catalog;
pub mod execution;
pub mod executions;
pub mod integrations;
pub mod mapper;
pub mod monitor;
pub mod paging;
pub mod wizard;
