//! syncdeck: a terminal console and embedded sync engine for data integrations.

pub mod adapters; // the Adapter trait, registry, rest_api and file
pub mod assets; // built-in catalog, target types, keymap and theme
pub mod cli; // the command line face
pub mod config; // typed configuration: file < env < flags
pub mod demo; // the built-in sample API that `syncdeck demo` serves
pub mod domain; // plain types shared by every layer
pub mod engine; // scheduler, queue with leases, run pipeline, circuit breaker
pub mod logging; // tracing to daily-rolling files
pub mod mapping; // conversion schemas compiled once and applied to records (pure)
pub mod ops; // every action a person can take, called by both faces
pub mod secrets; // AES-256-GCM key ring and SecretString
pub mod serve; // inbound webhooks: verification
pub mod store; // one Store over SQLite or PostgreSQL
pub mod tui; // the console face
pub mod vault; // sealing and opening integration credentials
