//! Release locks: one S3 object per item a release changes, held from pre-flight to the end of the
//! release, so two releases never change one service or rule at once (docs/decisions/0004).

use serde::{Deserialize, Serialize};

/// `locks/{kind}/{item id}.json`: who holds the item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lock {
    /// `service:prod/web` or `rule:default/nightly`.
    pub item: String,
    pub release_id: String,
    /// The execution holding the lock: it is stale once that execution is no longer RUNNING.
    pub execution_arn: String,
    /// Unix seconds.
    pub acquired_at: i64,
}
