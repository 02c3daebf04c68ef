//! The hub's HTTP side: inbound webhooks (`syncdeck serve`), verified as
//! `shared/specs/webhooks.md` says.

pub mod verify;
