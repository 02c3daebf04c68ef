//! Group commit: deliveries verified at about the same time are stored in one
//! transaction, and each request is answered only after that transaction committed.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::store::Store;
use crate::store::webhooks::{NewDelivery, Stored};

/// One delivery waiting for its commit, and where to say how it went.
pub(crate) type Job = (NewDelivery, oneshot::Sender<Result<Stored, String>>);

/// The task that commits deliveries in groups.
pub struct Committer {
    sender: mpsc::Sender<Job>,
    task: tokio::task::JoinHandle<()>,
}

impl Committer {
    /// Collects deliveries for up to `window` after the first of a group (at most `max`
    /// in one group) and stores each group in one transaction.
    pub fn start(store: Store, window: Duration, max: usize) -> Committer {
        let (sender, mut jobs) = mpsc::channel::<Job>(max.saturating_mul(4).max(16));
        let task = tokio::spawn(async move {
            while let Some(first) = jobs.recv().await {
                let mut group = vec![first];
                let deadline = tokio::time::Instant::now() + window;
                while group.len() < max {
                    match tokio::time::timeout_at(deadline, jobs.recv()).await {
                        Ok(Some(job)) => group.push(job),
                        Ok(None) | Err(_) => break,
                    }
                }
                let (deliveries, answers): (Vec<NewDelivery>, Vec<_>) = group.into_iter().unzip();
                match store.store_deliveries(&deliveries).await {
                    Ok(stored) => {
                        for (answer, s) in answers.into_iter().zip(stored) {
                            let _ = answer.send(Ok(s));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(
                            deliveries = deliveries.len(),
                            "cannot store deliveries: {e}"
                        );
                        for answer in answers {
                            let _ = answer.send(Err(e.to_string()));
                        }
                    }
                }
            }
        });
        Committer { sender, task }
    }

    pub(crate) fn sender(&self) -> mpsc::Sender<Job> {
        self.sender.clone()
    }

    /// Commits what it was handed and ends (once every sender is gone).
    pub async fn close(self) {
        drop(self.sender);
        let _ = self.task.await;
    }
}
