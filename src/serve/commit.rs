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
    /// Stores deliveries in groups, each in one transaction: a group is every delivery
    /// that arrived while the previous commit ran (at most `max`), so the group grows
    /// with the load; a lone delivery waits up to `window` for others to share its
    /// commit. On PostgreSQL several groups commit at once; on SQLite one commits while
    /// the next waits for the writer.
    pub fn start(store: Store, window: Duration, max: usize) -> Committer {
        let max = max.max(1);
        let (sender, mut jobs) = mpsc::channel::<Job>(max.saturating_mul(4).max(16));
        // On SQLite the second group waits for the one writer connection, formed and
        // ready, so the writer never waits for a group to gather.
        let parallel = match store.backend() {
            crate::store::Backend::Postgres => 8,
            crate::store::Backend::Sqlite => 2,
        };
        let task = tokio::spawn(async move {
            let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(parallel));
            let mut commits = tokio::task::JoinSet::new();
            loop {
                // A free commit slot first: while none is, deliveries gather in the queue.
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    break;
                };
                let Some(first) = jobs.recv().await else {
                    break;
                };
                let mut group = vec![first];
                while group.len() < max {
                    match jobs.try_recv() {
                        Ok(job) => group.push(job),
                        Err(_) => break,
                    }
                }
                if group.len() == 1 {
                    let deadline = tokio::time::Instant::now() + window;
                    while group.len() < max {
                        match tokio::time::timeout_at(deadline, jobs.recv()).await {
                            Ok(Some(job)) => group.push(job),
                            Ok(None) | Err(_) => break,
                        }
                    }
                }
                let store = store.clone();
                commits.spawn(async move {
                    commit(&store, group).await;
                    drop(slot);
                });
                // Reap the commits that ended, so the set stays small.
                while commits.try_join_next().is_some() {}
            }
            while commits.join_next().await.is_some() {}
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

/// Stores one group in one transaction and answers each of its requests.
async fn commit(store: &Store, group: Vec<Job>) {
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
