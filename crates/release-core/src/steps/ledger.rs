//! Writing and reading the release ledger (keys and entries: [`crate::decide::ledger`]).
//! plan-release writes an execution's entries once its locks are taken; finish-release rewrites
//! them with the outcome and the revisions once `report.json` is written. Whatever ends an
//! execution outside the state machine finishes its entries with the same [`record`].

use futures::stream::{self, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::{info, warn};

use crate::aws::ObjectStore;
use crate::contract::{LedgerEntry, Plan, PlanItemKind, Records, ReleaseReport};
use crate::decide::cleanup::LedgerProtected;
use crate::decide::ledger::{
    family_prefix, item_prefix, ledger_writes, parse_key, protected_by_ledger, release_prefix,
    LedgerExecution, LedgerWrites,
};
use crate::error::with_causes;
use crate::records::REPORT;
use crate::Error;

/// Ledger objects written or read at once.
const PARALLEL: usize = 16;

/// Unix milliseconds now (the Lambda's clock).
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The execution name of an execution ARN (`…:execution:{machine}:{name}`).
pub fn execution_name(execution_arn: &str) -> &str {
    execution_arn.rsplit(':').next().unwrap_or(execution_arn)
}

/// What one [`record`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub started_at: i64,
    pub items: usize,
    pub revisions: usize,
}

/// Writes (or rewrites) the ledger entries of one execution of a release: the release's entry, one
/// per item the plan changes, and the previous revisions it records. `report`: the finished
/// release's full report, and `now` its finish time; `None` while it runs.
///
/// Idempotent: the keys depend on the execution's start, which the first write fixes at `now` and
/// every later write reads back from the release's entry, so a retried or a finishing step
/// rewrites the same objects. The release's entry is written first; a listing that fails writes
/// nothing (a write without the start it had would add a second entry).
pub async fn record(
    objects: &impl ObjectStore,
    records: &Records,
    execution_arn: &str,
    plan: &Plan,
    report: Option<&ReleaseReport>,
    now: i64,
) -> Result<Written, Error> {
    let bucket = records.bucket.as_str();
    let release_id = plan.release.id.as_str();
    let name = execution_name(execution_arn);
    let prefix = release_prefix(release_id);
    let started_at = objects
        .list_keys(bucket, &prefix)
        .await?
        .iter()
        .filter_map(|k| parse_key(&prefix, k))
        .find(|(_, n)| *n == name)
        .map_or(now, |(at, _)| at);
    let report_uri = records.uri(REPORT);
    let execution = LedgerExecution {
        name,
        arn: execution_arn,
        started_at,
        report: &report_uri,
    };
    let LedgerWrites {
        release,
        items,
        revisions,
    } = ledger_writes(&execution, plan, report.map(|r| (r, now)));
    put(objects, bucket, &release.0, &release.1).await?;
    let item_writes = stream::iter(items.iter())
        .map(|(key, entry)| put(objects, bucket, key, entry))
        .buffer_unordered(PARALLEL);
    let mark_writes = stream::iter(revisions.iter())
        .map(|(key, mark)| put(objects, bucket, key, mark))
        .buffer_unordered(PARALLEL);
    let failed: Vec<Error> = item_writes
        .chain(mark_writes)
        .filter_map(|r| async move { r.err() })
        .collect()
        .await;
    let total = items.len() + revisions.len();
    if let Some(first) = failed.into_iter().next() {
        return Err(Error::internal(format!(
            "release {release_id}: some of {total} ledger entries were not written; the first: {}",
            with_causes(&first)
        )));
    }
    Ok(Written {
        started_at,
        items: items.len(),
        revisions: revisions.len(),
    })
}

/// [`record`], logged: the ledger never fails a release.
pub async fn record_or_warn(
    objects: &impl ObjectStore,
    records: &Records,
    execution_arn: &str,
    plan: &Plan,
    report: Option<&ReleaseReport>,
    now: i64,
) {
    match record(objects, records, execution_arn, plan, report, now).await {
        Ok(done) => info!(
            items = done.items,
            revisions = done.revisions,
            finished = report.is_some(),
            "release ledger written"
        ),
        Err(e) => warn!(error = %with_causes(&e), "the release ledger was not written"),
    }
}

async fn put<T: Serialize>(
    objects: &impl ObjectStore,
    bucket: &str,
    key: &str,
    value: &T,
) -> Result<(), Error> {
    let body = serde_json::to_vec(value)
        .map_err(|e| Error::internal(format!("s3://{bucket}/{key}: cannot serialize: {e}")))?;
    objects.put(bucket, key, body).await
}

async fn get<T: DeserializeOwned>(
    objects: &impl ObjectStore,
    bucket: &str,
    key: &str,
) -> Result<Option<T>, Error> {
    let Some(body) = objects.get(bucket, key).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| Error::internal(format!("s3://{bucket}/{key}: unreadable ledger entry: {e}")))
}

/// The previous revisions of `families` that releases recorded in the last `days` before `now`:
/// one listing per family. A family that cannot be listed is a gap (the clean-up then keeps
/// everything it is unsure of).
pub async fn recent_revisions<'a>(
    objects: &impl ObjectStore,
    bucket: &str,
    families: impl IntoIterator<Item = &'a str>,
    now: i64,
    days: i64,
) -> LedgerProtected {
    let mut recorded = LedgerProtected::default();
    for family in families {
        match objects.list_keys(bucket, &family_prefix(family)).await {
            Ok(keys) => recorded
                .protected
                .extend(protected_by_ledger(family, &keys, now, days)),
            Err(e) => {
                recorded
                    .gaps
                    .push(format!("release ledger of {family}: {}", with_causes(&e)));
            }
        }
    }
    recorded
}

/// Reads the entries of `keys` (newest first), skipping any deleted since it was listed.
async fn entries(
    objects: &impl ObjectStore,
    bucket: &str,
    keys: Vec<String>,
) -> Result<Vec<LedgerEntry>, Error> {
    let read: Vec<Result<Option<LedgerEntry>, Error>> = stream::iter(keys)
        .map(|key| async move { get(objects, bucket, &key).await })
        .buffered(PARALLEL)
        .collect()
        .await;
    read.into_iter()
        .filter_map(Result::transpose)
        .collect::<Result<Vec<_>, _>>()
}

/// The newest `limit` releases that changed one item, newest first.
pub async fn history(
    objects: &impl ObjectStore,
    bucket: &str,
    kind: PlanItemKind,
    id: &str,
    limit: usize,
) -> Result<Vec<LedgerEntry>, Error> {
    let mut keys = newest_first(objects, bucket, &item_prefix(kind, id)).await?;
    keys.truncate(limit);
    entries(objects, bucket, keys).await
}

/// The ledger's keys under `prefix`, newest first (their names start with the inverted time).
async fn newest_first(
    objects: &impl ObjectStore,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, Error> {
    let mut keys: Vec<String> = objects
        .list_keys(bucket, prefix)
        .await?
        .into_iter()
        .filter(|k| parse_key(prefix, k).is_some())
        .collect();
    keys.sort();
    Ok(keys)
}

/// Every execution of a release the ledger knows, newest first.
pub async fn executions(
    objects: &impl ObjectStore,
    bucket: &str,
    release_id: &str,
) -> Result<Vec<LedgerEntry>, Error> {
    let keys = newest_first(objects, bucket, &release_prefix(release_id)).await?;
    entries(objects, bucket, keys).await
}
