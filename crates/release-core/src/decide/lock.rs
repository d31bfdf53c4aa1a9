//! Which locks a release needs and what to do with a lock someone already holds.

use crate::contract::{Lock, Plan, PlanItemKind};

/// Where the locks live in the records bucket; the records' lifecycle rule (`releases/`) never
/// expires them.
pub const LOCK_PREFIX: &str = "locks/";

/// `service:prod/web`, `rule:default/nightly`: the item a lock protects, as messages name it.
pub fn lock_item(kind: PlanItemKind, id: &str) -> String {
    format!("{}:{id}", kind.as_str())
}

/// The key of an item's lock: `locks/service/prod/web.json`.
pub fn lock_key(kind: PlanItemKind, id: &str) -> String {
    format!("{LOCK_PREFIX}{}/{id}.json", kind.as_str())
}

/// The item a lock key protects (`service:prod/web`), for listings; `None` for other keys.
pub fn item_of_key(key: &str) -> Option<String> {
    let rest = key.strip_prefix(LOCK_PREFIX)?.strip_suffix(".json")?;
    let (kind, id) = rest.split_once('/')?;
    matches!(kind, "service" | "rule").then(|| format!("{kind}:{id}"))
}

/// Every item the plan changes but its jobs (nothing else updates a job), in a fixed order (by
/// kind, then id): the locks a release takes before its first change.
pub fn items_to_lock(plan: &Plan) -> Vec<(PlanItemKind, String)> {
    let mut items: Vec<(PlanItemKind, String)> = plan
        .services
        .iter()
        .filter(|s| !s.noop)
        .map(|s| (PlanItemKind::Service, s.id.clone()))
        .chain(
            plan.tasks
                .iter()
                .filter(|r| !r.noop)
                .map(|r| (PlanItemKind::Rule, r.id.clone())),
        )
        .chain(
            plan.schedules
                .iter()
                .filter(|s| !s.noop)
                .map(|s| (PlanItemKind::Schedule, s.id.clone())),
        )
        .collect();
    items.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
    items
}

/// What to do with the lock found on an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockVerdict {
    /// Ours already (a retried PlanRelease of this execution): keep it.
    Ours,
    /// Another execution that is still RUNNING holds it: the release is refused.
    Held,
    /// Its execution ended (or never existed) without releasing it: take it over.
    Stale,
}

/// `running`: whether the holder's execution is RUNNING (`None` when it was not asked, because
/// the lock is ours).
pub fn judge_lock(found: &Lock, our_execution: &str, running: Option<bool>) -> LockVerdict {
    if found.execution_arn == our_execution {
        return LockVerdict::Ours;
    }
    match running {
        Some(false) => LockVerdict::Stale,
        Some(true) | None => LockVerdict::Held,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(execution: &str) -> Lock {
        Lock {
            item: "service:prod/web".into(),
            release_id: "r-1".into(),
            execution_arn: execution.into(),
            acquired_at: 0,
        }
    }

    #[test]
    fn a_lock_is_ours_held_or_stale() {
        // (holder, holder running?, verdict)
        let cases = [
            ("arn:ours", None, LockVerdict::Ours),
            ("arn:ours", Some(false), LockVerdict::Ours),
            ("arn:other", Some(true), LockVerdict::Held),
            ("arn:other", Some(false), LockVerdict::Stale),
            // Not asked: never taken over on a guess.
            ("arn:other", None, LockVerdict::Held),
        ];
        for (holder, running, want) in cases {
            assert_eq!(
                judge_lock(&lock(holder), "arn:ours", running),
                want,
                "{holder} {running:?}"
            );
        }
    }

    #[test]
    fn keys_name_the_item_and_read_back() {
        let key = lock_key(PlanItemKind::Service, "prod/web");
        assert_eq!(key, "locks/service/prod/web.json");
        assert_eq!(item_of_key(&key).as_deref(), Some("service:prod/web"));
        let rule = lock_key(PlanItemKind::Rule, "default/nightly");
        assert_eq!(item_of_key(&rule).as_deref(), Some("rule:default/nightly"));
        assert_eq!(item_of_key("releases/r/e/plan.json"), None);
        assert_eq!(item_of_key("locks/other/x.json"), None);
    }
}
