//! The sample API's webhooks: like a CRM that notifies its subscribers, it posts the
//! contacts it changed to a syncdeck endpoint every few seconds, signed as Standard
//! Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`), so the demo's
//! monitor shows runs with trigger `webhook` beside the scheduled ones.

use std::sync::Arc;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::routes::Shared;
use crate::secrets::SecretString;

/// Contacts in each delivery.
pub const CONTACTS_PER_DELIVERY: usize = 3;

/// A running sender; [`Pusher::stop`] (or drop) ends it.
pub struct Pusher {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Pusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pusher").finish_non_exhaustive()
    }
}

impl Pusher {
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
        }
    }
}

impl Drop for Pusher {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The body of delivery number `n`: `{"type": "contacts.changed", "results": [...]}`,
/// the contacts as `GET /crm/contacts` gives them, each with a fresh `last_modified`.
pub(super) fn body(shared: &Shared, n: u64) -> String {
    let contacts = &shared.data.contacts;
    let count = contacts.len().max(1) as u64;
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let results: Vec<serde_json::Value> = (0..CONTACTS_PER_DELIVERY as u64)
        .filter_map(|k| {
            let index = (n.wrapping_mul(104_729).wrapping_add(k * 7_919) % count) as usize;
            let mut c = contacts.get(index)?.clone();
            c["last_modified"] = json!(now);
            c["score"] = json!(((n * 37 + k) % 1000) as f64 / 10.0);
            Some(c)
        })
        .collect();
    json!({"type": "contacts.changed", "results": results}).to_string()
}

/// Posts a signed delivery to `url` every `every`, the first after one interval.
pub(super) fn start(
    shared: Arc<Shared>,
    url: String,
    secret: SecretString,
    every: Duration,
) -> Pusher {
    let (stop, mut stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("the sample API cannot send webhooks: {e}");
                return;
            }
        };
        let mut ticker = tokio::time::interval(every.max(Duration::from_millis(100)));
        ticker.tick().await;
        for n in 1u64.. {
            tokio::select! {
                _ = &mut stopped => return,
                _ = ticker.tick() => {}
            }
            let body = body(&shared, n);
            let id = format!("msg_demo_{}_{n}", shared.options.seed);
            let timestamp = Utc::now().timestamp();
            let Some(signature) = crate::serve::verify::sign_standard(
                secret.expose(),
                &id,
                timestamp,
                body.as_bytes(),
            ) else {
                tracing::warn!("the sample API's webhook secret cannot sign; it sends none");
                return;
            };
            let sent = client
                .post(&url)
                .header("content-type", "application/json")
                .header("webhook-id", &id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature)
                .body(body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    tracing::debug!(%id, "sample API webhook delivered");
                }
                Ok(r) => tracing::warn!(%id, status = %r.status(), "sample API webhook refused"),
                Err(e) => tracing::warn!(%id, "sample API webhook not delivered: {e}"),
            }
        }
    });
    Pusher {
        stop: Some(stop),
        task: Some(task),
    }
}
