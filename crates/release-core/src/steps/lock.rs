//! Taking and giving back the release locks (one S3 object per changed item, written with S3's
//! conditional writes). plan-release takes them after pre-flight and before recording the plan;
//! finish-release gives them back; a lock whose execution is no longer RUNNING is taken over by
//! compare-and-swap, so a crashed or stopped release never blocks the next one for long.

use tracing::{info, warn};

use crate::aws::locks::{Executions, LockStore};
use crate::contract::{Lock, Plan, PlanItemKind};
use crate::decide::lock::{
    items_to_lock, judge_lock, lock_item, lock_key, LockVerdict, LOCK_PREFIX,
};
use crate::error::{with_causes, LockConflict};
use crate::Error;

/// Attempts at one item when other writers keep changing its lock under us.
const MAX_ATTEMPTS: usize = 5;

/// Who is taking the locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub release_id: String,
    pub execution_arn: String,
}

/// What taking one item's lock came to.
enum Taken {
    /// Ours now, at this entity tag.
    Ours,
    Held(Lock),
}

fn lock_body(lock: &Lock) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(lock).map_err(|e| Error::internal(format!("lock {}: {e}", lock.item)))
}

fn read_lock(key: &str, body: &[u8]) -> Result<Lock, Error> {
    serde_json::from_slice(body)
        .map_err(|e| Error::internal(format!("lock {key} is unreadable: {e}")))
}

async fn take_one(
    locks: &impl LockStore,
    executions: &impl Executions,
    bucket: &str,
    owner: &Owner,
    kind: PlanItemKind,
    id: &str,
    now: i64,
) -> Result<Taken, Error> {
    let key = lock_key(kind, id);
    let ours = Lock {
        item: lock_item(kind, id),
        release_id: owner.release_id.clone(),
        execution_arn: owner.execution_arn.clone(),
        acquired_at: now,
    };
    let body = lock_body(&ours)?;
    for _ in 0..MAX_ATTEMPTS {
        if locks.create(bucket, &key, body.clone()).await? {
            return Ok(Taken::Ours);
        }
        let Some(found) = locks.read(bucket, &key).await? else {
            continue; // given back in between: try to create it again
        };
        let held = read_lock(&key, &found.body)?;
        let running = if held.execution_arn == owner.execution_arn {
            None
        } else {
            Some(executions.is_running(&held.execution_arn).await?)
        };
        match judge_lock(&held, &owner.execution_arn, running) {
            LockVerdict::Ours => return Ok(Taken::Ours),
            LockVerdict::Held => return Ok(Taken::Held(held)),
            LockVerdict::Stale => {
                if locks
                    .replace(bucket, &key, &found.etag, body.clone())
                    .await?
                {
                    warn!(
                        item = %ours.item,
                        stale_release = %held.release_id,
                        stale_execution = %held.execution_arn,
                        "took over a lock whose execution is no longer running"
                    );
                    return Ok(Taken::Ours);
                }
                // Someone else replaced or removed it first: look again.
            }
        }
    }
    Err(Error::internal(format!(
        "lock {key}: still changing under us after {MAX_ATTEMPTS} attempts"
    )))
}

/// An item by its kind and id, as locks name them.
pub type LockedItem = (PlanItemKind, String);

/// Takes the lock of every item the plan changes and returns them. When another running release
/// holds any of them, gives back the ones taken here and fails with `ReleaseLocked` naming each
/// holder.
pub async fn acquire(
    locks: &impl LockStore,
    executions: &impl Executions,
    bucket: &str,
    owner: &Owner,
    plan: &Plan,
    now: i64,
) -> Result<Vec<LockedItem>, Error> {
    let items = items_to_lock(plan);
    let mut taken: Vec<LockedItem> = Vec::new();
    let mut conflicts = Vec::new();
    for (kind, id) in items {
        match take_one(locks, executions, bucket, owner, kind, &id, now).await {
            Ok(Taken::Ours) => taken.push((kind, id)),
            Ok(Taken::Held(lock)) => conflicts.push(LockConflict {
                item: lock.item,
                release_id: lock.release_id,
                execution_arn: lock.execution_arn,
            }),
            Err(e) => {
                give_back(locks, bucket, owner, &taken).await;
                return Err(e);
            }
        }
    }
    if !conflicts.is_empty() {
        give_back(locks, bucket, owner, &taken).await;
        return Err(Error::ReleaseLocked(conflicts));
    }
    info!(locks = taken.len(), "release locks taken");
    Ok(taken)
}

/// Gives back every lock of the plan's items that this execution holds, and says how many. Locks
/// held by others (taken over after this execution was stopped) are left alone. Best effort: a
/// lock that cannot be given back goes stale once this execution ends, and is taken over then.
pub async fn release(locks: &impl LockStore, bucket: &str, owner: &Owner, plan: &Plan) -> usize {
    give_back(locks, bucket, owner, &items_to_lock(plan)).await
}

/// Gives back the locks of `items` that this execution holds (see [`release`]); returns how many
/// it gave back.
pub async fn give_back(
    locks: &impl LockStore,
    bucket: &str,
    owner: &Owner,
    items: &[LockedItem],
) -> usize {
    let mut given_back = 0;
    for (kind, id) in items {
        let key = lock_key(*kind, id);
        let released = async {
            let Some(found) = locks.read(bucket, &key).await? else {
                return Ok(false);
            };
            if read_lock(&key, &found.body)?.execution_arn != owner.execution_arn {
                return Ok(false);
            }
            locks.delete(bucket, &key, &found.etag).await
        }
        .await;
        match released {
            Ok(true) => given_back += 1,
            Ok(false) => {}
            Err(e) => {
                warn!(lock = %key, error = %with_causes(&e), "could not give back a release lock")
            }
        }
    }
    given_back
}

/// Gives back every lock in the bucket that this execution holds, found by listing them: for an
/// execution that ended before it recorded its plan. Returns how many it gave back.
pub async fn give_back_all(
    locks: &impl LockStore,
    bucket: &str,
    owner: &Owner,
) -> Result<usize, Error> {
    let ours: Vec<LockedItem> = list(locks, bucket)
        .await?
        .into_iter()
        .filter(|held| held.lock.execution_arn == owner.execution_arn)
        .filter_map(|held| item_of_lock_key(&held.key))
        .collect();
    Ok(give_back(locks, bucket, owner, &ours).await)
}

/// The item a lock key protects, by kind and id.
fn item_of_lock_key(key: &str) -> Option<LockedItem> {
    let rest = key.strip_prefix(LOCK_PREFIX)?.strip_suffix(".json")?;
    let (kind, id) = rest.split_once('/')?;
    let kind = match kind {
        "service" => PlanItemKind::Service,
        "rule" => PlanItemKind::Rule,
        _ => return None,
    };
    Some((kind, id.to_owned()))
}

/// The lock on one item, whoever holds it; `None` when there is none.
pub async fn holder(
    locks: &impl LockStore,
    bucket: &str,
    kind: PlanItemKind,
    id: &str,
) -> Result<Option<Lock>, Error> {
    let key = lock_key(kind, id);
    match locks.read(bucket, &key).await? {
        Some(found) => read_lock(&key, &found.body).map(Some),
        None => Ok(None),
    }
}

/// A lock as `convoy locks` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub key: String,
    pub lock: Lock,
}

/// Every lock in the bucket.
pub async fn list(locks: &impl LockStore, bucket: &str) -> Result<Vec<Held>, Error> {
    let mut held = Vec::new();
    for key in locks.list(bucket, LOCK_PREFIX).await? {
        if let Some(found) = locks.read(bucket, &key).await? {
            held.push(Held {
                lock: read_lock(&key, &found.body)?,
                key,
            });
        }
    }
    Ok(held)
}

/// Removes one item's lock whoever holds it (`convoy unlock --force`); returns the lock removed,
/// `None` when there was none.
pub async fn force_unlock(
    locks: &impl LockStore,
    bucket: &str,
    kind: PlanItemKind,
    id: &str,
) -> Result<Option<Lock>, Error> {
    let key = lock_key(kind, id);
    for _ in 0..MAX_ATTEMPTS {
        let Some(found) = locks.read(bucket, &key).await? else {
            return Ok(None);
        };
        let lock = read_lock(&key, &found.body)?;
        if locks.delete(bucket, &key, &found.etag).await? {
            return Ok(Some(lock));
        }
    }
    Err(Error::internal(format!(
        "lock {key}: still changing under us after {MAX_ATTEMPTS} attempts"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::locks::fake::{MemoryLocks, RunningExecutions};
    use crate::aws::locks::Versioned;
    use crate::contract::{examples, RuleItem, ServiceItem};

    const BUCKET: &str = "records";

    fn plan(services: &[(&str, bool)], rules: &[&str]) -> Plan {
        // From JSON: only what a lock needs, every optional field left out.
        let service = |id: &str, noop: bool| -> ServiceItem {
            let (cluster, name) = id.split_once('/').unwrap();
            serde_json::from_value(serde_json::json!({
                "id": id, "cluster": cluster, "service": name,
                "previousTaskDefinition": "web:1", "images": {}, "noop": noop,
                "timeoutSeconds": 600
            }))
            .unwrap()
        };
        examples::plan(
            services
                .iter()
                .map(|(id, noop)| service(id, *noop))
                .collect(),
            rules
                .iter()
                .map(|id| RuleItem {
                    id: (*id).into(),
                    rule: id.rsplit('/').next().unwrap().into(),
                    event_bus: "default".into(),
                    targets: vec![],
                    noop: false,
                    wave: 0,
                })
                .collect(),
        )
    }

    fn owner(n: u32) -> Owner {
        Owner {
            release_id: format!("r-{n}"),
            execution_arn: format!("arn:aws:states:us-east-1:1:execution:m:r-{n}"),
        }
    }

    #[tokio::test]
    async fn a_running_holder_refuses_the_second_release_which_keeps_nothing() {
        let locks = MemoryLocks::default();
        let running = RunningExecutions::default();
        let first = plan(&[("prod/web", false), ("prod/api", false)], &[]);
        running.start(&owner(1).execution_arn);
        acquire(&locks, &running, BUCKET, &owner(1), &first, 0)
            .await
            .unwrap();
        assert_eq!(locks.keys().len(), 2);

        // The second release overlaps on web only; its other item (worker) must not stay locked.
        let second = plan(
            &[("prod/web", false), ("prod/worker", false)],
            &["default/nightly"],
        );
        let err = acquire(&locks, &running, BUCKET, &owner(2), &second, 0)
            .await
            .unwrap_err();
        let Error::ReleaseLocked(conflicts) = &err else {
            panic!("expected ReleaseLocked, got {err}");
        };
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].item, "service:prod/web");
        assert_eq!(conflicts[0].release_id, "r-1");
        assert!(err.to_string().contains(&owner(1).execution_arn), "{err}");
        assert_eq!(
            locks.keys(),
            ["locks/service/prod/api.json", "locks/service/prod/web.json"],
            "the refused release gave back what it took"
        );
    }

    #[tokio::test]
    async fn a_stale_lock_is_taken_over_and_a_retry_of_our_own_keeps_it() {
        let locks = MemoryLocks::default();
        let running = RunningExecutions::default();
        let p = plan(&[("prod/web", false)], &[]);
        // Execution 1 took the lock and then ended without giving it back.
        acquire(&locks, &running, BUCKET, &owner(1), &p, 0)
            .await
            .unwrap();
        running.start(&owner(2).execution_arn);
        acquire(&locks, &running, BUCKET, &owner(2), &p, 5)
            .await
            .unwrap();
        let held = list(&locks, BUCKET).await.unwrap();
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].lock.release_id, "r-2");
        // A retried plan-release of execution 2 finds its own lock.
        acquire(&locks, &running, BUCKET, &owner(2), &p, 9)
            .await
            .unwrap();
        assert_eq!(list(&locks, BUCKET).await.unwrap()[0].lock.acquired_at, 5);
    }

    #[tokio::test]
    async fn no_op_items_are_not_locked_and_release_gives_back_only_ours() {
        let locks = MemoryLocks::default();
        let running = RunningExecutions::default();
        let p = plan(
            &[("prod/web", false), ("prod/same", true)],
            &["default/nightly"],
        );
        acquire(&locks, &running, BUCKET, &owner(1), &p, 0)
            .await
            .unwrap();
        assert_eq!(
            locks.keys(),
            [
                "locks/rule/default/nightly.json",
                "locks/service/prod/web.json"
            ]
        );
        // Execution 2 took web over (execution 1 was not running); 1's release leaves it alone.
        acquire(
            &locks,
            &running,
            BUCKET,
            &owner(2),
            &plan(&[("prod/web", false)], &[]),
            1,
        )
        .await
        .unwrap();
        release(&locks, BUCKET, &owner(1), &p).await;
        let held = list(&locks, BUCKET).await.unwrap();
        assert_eq!(held.len(), 1, "{held:?}");
        assert_eq!(held[0].lock.release_id, "r-2");
    }

    #[tokio::test]
    async fn force_unlock_says_whose_lock_it_removed() {
        let locks = MemoryLocks::default();
        let running = RunningExecutions::default();
        acquire(
            &locks,
            &running,
            BUCKET,
            &owner(7),
            &plan(&[("prod/web", false)], &[]),
            0,
        )
        .await
        .unwrap();
        let removed = force_unlock(&locks, BUCKET, PlanItemKind::Service, "prod/web")
            .await
            .unwrap();
        assert_eq!(removed.map(|l| l.release_id).as_deref(), Some("r-7"));
        assert!(locks.keys().is_empty());
        let again = force_unlock(&locks, BUCKET, PlanItemKind::Service, "prod/web")
            .await
            .unwrap();
        assert_eq!(again, None);
    }

    /// Refuses to create the lock of one key (AccessDenied, as a missing grant would).
    struct RefusingLocks {
        inner: MemoryLocks,
        refused_key: &'static str,
    }

    impl LockStore for RefusingLocks {
        async fn read(&self, bucket: &str, key: &str) -> Result<Option<Versioned>, Error> {
            self.inner.read(bucket, key).await
        }
        async fn create(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<bool, Error> {
            if key == self.refused_key {
                return Err(Error::AccessDenied {
                    message: format!("PutObject {key}: AccessDenied"),
                    source: None,
                });
            }
            self.inner.create(bucket, key, body).await
        }
        async fn replace(&self, b: &str, k: &str, e: &str, body: Vec<u8>) -> Result<bool, Error> {
            self.inner.replace(b, k, e, body).await
        }
        async fn delete(&self, bucket: &str, key: &str, etag: &str) -> Result<bool, Error> {
            self.inner.delete(bucket, key, etag).await
        }
        async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, Error> {
            self.inner.list(bucket, prefix).await
        }
    }

    #[tokio::test]
    async fn a_refused_lock_write_fails_the_plan_and_gives_back_what_was_taken() {
        let locks = RefusingLocks {
            inner: MemoryLocks::default(),
            refused_key: "locks/service/prod/web.json",
        };
        let running = RunningExecutions::default();
        // Taken in order: prod/api first, then prod/web is refused.
        let p = plan(&[("prod/api", false), ("prod/web", false)], &[]);
        let err = acquire(&locks, &running, BUCKET, &owner(1), &p, 0)
            .await
            .unwrap_err();
        assert_eq!(err.name(), "AccessDenied");
        assert!(locks.inner.keys().is_empty(), "{:?}", locks.inner.keys());
    }
}
