//! What a batch will do to the stored records, decided from what is stored for its keys:
//! which records to write (inserted or updated), which to mark as seen, and the counts.
//! Pure, so the counting rules are tested without a database; both backends write the
//! plan with their own bulk statements.

use std::collections::HashMap;

use super::{Batch, Counts, MappedRecord, StoredKeys};

/// What is stored for a key before the batch is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Existing {
    pub hash: String,
    pub last_execution_id: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Plan<'a> {
    /// New keys, to insert.
    pub insert: Vec<&'a MappedRecord>,
    /// Stored keys whose content changed, to rewrite.
    pub update: Vec<&'a MappedRecord>,
    /// Stored keys with the same content, to mark as seen by this run (deleteIfRemoved).
    pub mark_seen: Vec<&'a str>,
    /// The batch's counts including created, updated, unchanged and skipped.
    pub counts: Counts,
    /// Every record of the batch is a new key, to insert (true of an empty batch).
    pub all_new: bool,
}

impl Plan<'_> {
    /// Records to upsert: inserts first, then updates.
    pub fn writes(&self) -> impl Iterator<Item = &MappedRecord> {
        self.insert.iter().chain(self.update.iter()).copied()
    }

    pub fn write_count(&self) -> usize {
        self.insert.len() + self.update.len()
    }
}

/// The rules, per record of the batch:
/// - a new key is created if `create_if_missing`, else skipped;
/// - a stored key with the same content is unchanged (marked seen if asked), unless this
///   run wrote it already (a key on two pages counts once);
/// - a stored key with other content is updated if `update_if_exists`, else skipped; a
///   key this run wrote already is rewritten whatever the flag (the later page wins) and
///   not counted again.
pub(crate) fn plan<'a>(batch: &'a Batch, execution_id: &str, existing: &StoredKeys) -> Plan<'a> {
    plan_over(batch, execution_id, &existing.stored)
}

fn plan_over<'a>(
    batch: &'a Batch,
    execution_id: &str,
    existing: &HashMap<String, Existing>,
) -> Plan<'a> {
    let mut p = Plan {
        counts: batch.counts,
        ..Plan::default()
    };
    for r in &batch.records {
        match existing.get(&r.key) {
            None if batch.flags.create_if_missing => {
                p.insert.push(r);
                p.counts.created += 1;
            }
            None => p.counts.skipped += 1,
            Some(e) => {
                let seen_this_run = e.last_execution_id.as_deref() == Some(execution_id);
                if e.hash == r.hash {
                    if !seen_this_run {
                        p.counts.unchanged += 1;
                        if batch.flags.delete_if_removed {
                            p.mark_seen.push(&r.key);
                        }
                    }
                } else if batch.flags.update_if_exists || seen_this_run {
                    p.update.push(r);
                    if !seen_this_run {
                        p.counts.updated += 1;
                    }
                } else {
                    p.counts.skipped += 1;
                }
            }
        }
    }
    p.all_new = p.insert.len() == batch.records.len();
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::TargetFlags;

    fn rec(key: &str, hash: &str) -> MappedRecord {
        MappedRecord {
            key: key.into(),
            data: format!("{{\"k\":\"{key}\"}}"),
            hash: hash.into(),
        }
    }

    fn stored(hash: &str, last: Option<&str>) -> Existing {
        Existing {
            hash: hash.into(),
            last_execution_id: last.map(str::to_string),
        }
    }

    fn batch(create: bool, update: bool, mark_seen: bool) -> Batch {
        Batch {
            target_type: "contact".into(),
            records: vec![
                rec("new", "h1"),
                rec("same", "h2"),
                rec("changed", "h3"),
                rec("mine-same", "h4"),
                rec("mine-changed", "h5"),
            ],
            flags: TargetFlags {
                create_if_missing: create,
                update_if_exists: update,
                delete_if_removed: mark_seen,
            },
            counts: Counts {
                fetched: 6,
                failed: 1,
                ..Counts::default()
            },
            ..Batch::default()
        }
    }

    fn existing() -> HashMap<String, Existing> {
        HashMap::from([
            ("same".to_string(), stored("h2", Some("earlier"))),
            ("changed".to_string(), stored("old", None)),
            ("mine-same".to_string(), stored("h4", Some("run"))),
            ("mine-changed".to_string(), stored("old", Some("run"))),
        ])
    }

    fn keys<'a>(v: impl Iterator<Item = &'a MappedRecord>) -> Vec<&'a str> {
        v.map(|r| r.key.as_str()).collect()
    }

    #[test]
    fn everything_allowed() {
        let b = batch(true, true, false);
        let e = existing();
        let p = plan_over(&b, "run", &e);
        assert_eq!(keys(p.insert.iter().copied()), ["new"]);
        assert_eq!(keys(p.update.iter().copied()), ["changed", "mine-changed"]);
        assert!(p.mark_seen.is_empty());
        let c = p.counts;
        assert_eq!(
            (
                c.fetched,
                c.created,
                c.updated,
                c.unchanged,
                c.skipped,
                c.failed
            ),
            (6, 1, 1, 1, 0, 1)
        );
        assert_eq!(p.write_count(), 3);
    }

    #[test]
    fn flags_off_skip_but_this_runs_own_keys_still_take_the_later_page() {
        let b = batch(false, false, true);
        let e = existing();
        let p = plan_over(&b, "run", &e);
        assert!(p.insert.is_empty());
        assert_eq!(keys(p.update.iter().copied()), ["mine-changed"]);
        assert_eq!(p.mark_seen, ["same"]);
        let c = p.counts;
        assert_eq!((c.created, c.updated, c.unchanged, c.skipped), (0, 0, 1, 2));
    }

    #[test]
    fn nothing_stored_creates_all_or_skips_all() {
        let b = batch(true, false, true);
        let p = plan_over(&b, "run", &HashMap::new());
        assert_eq!(p.insert.len(), 5);
        assert_eq!(p.counts.created, 5);
        let b = batch(false, true, true);
        let p = plan_over(&b, "run", &HashMap::new());
        assert_eq!((p.write_count(), p.counts.skipped), (0, 5));
    }
}
