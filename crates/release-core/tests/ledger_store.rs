//! The release ledger: the entries one execution writes when it starts and when it finishes, read
//! back by item and by release newest first; a retried write adds nothing; a refused write or
//! listing is an error the steps log, never a release failure.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use release_core::aws::fake::MemoryStore;
use release_core::aws::ObjectStore;
use release_core::contract::{
    ItemOutcome, LedgerEntry, LedgerRevisions, Plan, PlanItemKind, Records, ReleaseOutcome,
    ReleaseReport,
};
use release_core::decide::ledger::{ledger_writes, revision_key, LedgerExecution, PROTECT_DAYS};
use release_core::steps::ledger::{executions, history, recent_revisions, record, record_or_warn};
use release_core::Error;
use serde_json::json;

const ARN: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition";
const BUCKET: &str = "records";
const DAY: i64 = 86_400_000;

fn td(key: &str) -> String {
    format!("{ARN}/{key}")
}

/// Release `id`: `prod/web` web:1 → ?, `prod/api` unchanged, rule `default/nightly` with target
/// `report` (report:4 → ?) and the unchanged target `other`.
fn plan(id: &str) -> Plan {
    serde_json::from_value(json!({
        "release": {"id": id, "description": "web 2", "source": "deployment.yaml"},
        "settings": {"rollback": "all", "maxConcurrency": 10, "pollIntervalSeconds": 5,
                     "keepRevisions": 1},
        "services": [
            {"id": "prod/web", "cluster": "prod", "service": "web",
             "previousTaskDefinition": td("web:1"), "images": {}, "noop": false,
             "timeoutSeconds": 600},
            {"id": "prod/api", "cluster": "prod", "service": "api",
             "previousTaskDefinition": td("api:7"), "images": {}, "noop": true,
             "timeoutSeconds": 600},
        ],
        "tasks": [{
            "id": "default/nightly", "rule": "nightly", "eventBus": "default", "noop": false,
            "targets": [
                {"targetId": "report", "previousTaskDefinition": td("report:4"),
                 "images": {}, "noop": false},
                {"targetId": "other", "previousTaskDefinition": td("other:2"),
                 "images": {}, "noop": true},
            ],
        }],
        "changedServices": 1, "changedTasks": 1,
    }))
    .unwrap()
}

fn report(id: &str, outcome: &str) -> ReleaseReport {
    serde_json::from_value(json!({
        "releaseId": id, "outcome": outcome,
        "items": [
            {"id": "prod/web", "kind": "service", "outcome": "RolledBack",
             "previousTaskDefinition": td("web:1"), "newTaskDefinition": td("web:2"),
             "finalTaskDefinition": td("web:1")},
            {"id": "default/nightly/report", "kind": "ruleTarget", "outcome": "Failed",
             "previousTaskDefinition": td("report:4"), "newTaskDefinition": td("report:5"),
             "finalTaskDefinition": td("report:4"), "reason": "TargetsRejected"},
        ],
    }))
    .unwrap()
}

fn execution_arn(name: &str) -> String {
    format!("arn:aws:states:us-east-1:123456789012:execution:convoy-release:{name}")
}

fn records(release: &str, execution: &str) -> Records {
    Records::for_execution(BUCKET, release, execution)
}

fn revisions(entry: &LedgerEntry) -> Vec<LedgerRevisions> {
    entry.item.as_ref().unwrap().revisions.clone()
}

#[test]
fn entries_started_and_finished() {
    let execution = LedgerExecution {
        name: "release-1",
        arn: "arn:e",
        started_at: 1_000,
        report: "s3://records/releases/r-1/release-1/report.json",
    };
    let report = report("r-1", "RolledBack");
    // (finished?, web's revisions, report target's revisions, outcome, finished at)
    let cases = [
        (
            None,
            (td("web:1"), None, None, None),
            (td("report:4"), None, None, None),
            None,
        ),
        (
            Some((&report, 2_000)),
            (
                td("web:1"),
                Some(td("web:2")),
                Some(td("web:1")),
                Some(ItemOutcome::RolledBack),
            ),
            (
                td("report:4"),
                Some(td("report:5")),
                Some(td("report:4")),
                Some(ItemOutcome::Failed),
            ),
            Some(ReleaseOutcome::RolledBack),
        ),
    ];
    for (finished, web, target, outcome) in cases {
        let writes = ledger_writes(&execution, &plan("r-1"), finished);
        let (key, release) = &writes.release;
        assert_eq!(key, "ledger/releases/r-1/9999999998999-release-1.json");
        assert_eq!(release.item, None);
        assert_eq!(release.outcome, outcome);
        assert_eq!(release.finished_at, finished.map(|(_, at)| at));
        assert_eq!(release.description.as_deref(), Some("web 2"));
        assert_eq!(release.report, execution.report);
        // Only what the release changes: not prod/api, not the target `other`.
        let keys: Vec<&str> = writes.items.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "ledger/items/service/prod/web/9999999998999-r-1.json",
                "ledger/items/rule/default/nightly/9999999998999-r-1.json",
            ]
        );
        let got = |entry: &LedgerEntry| {
            let r = revisions(entry).remove(0);
            (r.previous, r.new, r.final_, r.outcome)
        };
        assert_eq!(got(&writes.items[0].1), web);
        assert_eq!(got(&writes.items[1].1), target);
        assert_eq!(
            revisions(&writes.items[1].1)[0].target.as_deref(),
            Some("report")
        );
        assert_eq!(revisions(&writes.items[1].1).len(), 1);
        let marks: Vec<(&str, &str, &str)> = writes
            .revisions
            .iter()
            .map(|(k, m)| (k.as_str(), m.item.as_str(), m.task_definition.as_str()))
            .collect();
        assert_eq!(
            marks,
            [
                (
                    "ledger/revisions/report/4/9999999998999-r-1.json",
                    "rule:default/nightly",
                    "report:4"
                ),
                (
                    "ledger/revisions/web/1/9999999998999-r-1.json",
                    "service:prod/web",
                    "web:1"
                ),
            ]
        );
    }
}

#[tokio::test]
async fn an_execution_writes_at_its_start_and_rewrites_at_its_end() {
    let store = MemoryStore::default();
    let plan = plan("r-1");
    let (arn, at) = (execution_arn("release-1"), records("r-1", "release-1"));
    record(&store, &at, &arn, &plan, None, 1_000).await.unwrap();
    // A retried plan-release, then finish-release: the keys of the first write, rewritten.
    record(&store, &at, &arn, &plan, None, 1_500).await.unwrap();
    let written = record(
        &store,
        &at,
        &arn,
        &plan,
        Some(&report("r-1", "RolledBack")),
        9_000,
    )
    .await
    .unwrap();
    assert_eq!(written.started_at, 1_000);
    assert_eq!(store.keys(BUCKET).len(), 5, "{:?}", store.keys(BUCKET));

    let entries = history(&store, BUCKET, PlanItemKind::Service, "prod/web", 10)
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(
        (entry.started_at, entry.finished_at, entry.outcome),
        (1_000, Some(9_000), Some(ReleaseOutcome::RolledBack))
    );
    assert_eq!(entry.execution_arn, arn);
    assert_eq!(
        entry.report,
        "s3://records/releases/r-1/release-1/report.json"
    );
    assert_eq!(
        revisions(entry)[0].final_.as_deref(),
        Some(td("web:1").as_str())
    );
    // An item the release did not change has no history.
    let api = history(&store, BUCKET, PlanItemKind::Service, "prod/api", 10)
        .await
        .unwrap();
    assert!(api.is_empty());
}

#[tokio::test]
async fn history_and_executions_are_newest_first() {
    let store = MemoryStore::default();
    // Three releases of prod/web, then a second execution of r-2 (started again by the pipeline).
    for (release, execution, at) in [
        ("r-1", "release-a", 1_000),
        ("r-2", "release-b", 2_000),
        ("r-3", "release-c", 3_000),
        ("r-2", "release-d", 4_000),
    ] {
        let plan = plan(release);
        let arn = execution_arn(execution);
        let records = records(release, execution);
        record(&store, &records, &arn, &plan, None, at)
            .await
            .unwrap();
    }
    let entries = history(&store, BUCKET, PlanItemKind::Service, "prod/web", 10)
        .await
        .unwrap();
    let order: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.release_id.as_str(), e.execution_name.as_str()))
        .collect();
    // The same release's later execution is its own item entry only when it started later; the
    // item key names the release, so r-2's second execution replaced nothing.
    assert_eq!(
        order,
        [
            ("r-2", "release-d"),
            ("r-3", "release-c"),
            ("r-2", "release-b"),
            ("r-1", "release-a"),
        ]
    );
    let limited = history(&store, BUCKET, PlanItemKind::Rule, "default/nightly", 2)
        .await
        .unwrap();
    assert_eq!(limited.len(), 2);
    assert_eq!(limited[0].execution_name, "release-d");

    let runs = executions(&store, BUCKET, "r-2").await.unwrap();
    let names: Vec<&str> = runs.iter().map(|e| e.execution_name.as_str()).collect();
    assert_eq!(names, ["release-d", "release-b"]);
    assert!(executions(&store, BUCKET, "r-9").await.unwrap().is_empty());
}

#[tokio::test]
async fn recent_previous_revisions_are_protected_naming_their_release() {
    let store = MemoryStore::default();
    let now = 100 * DAY;
    for (key, release) in [("web:1", "r-old"), ("web:3", "r-new"), ("api:2", "r-api")] {
        let (family, revision) = key.split_once(':').unwrap();
        let at = if release == "r-old" {
            now - 40 * DAY
        } else {
            now - DAY
        };
        let key = revision_key(family, revision.parse().unwrap(), at, release);
        store.put(BUCKET, &key, b"{}".to_vec()).await.unwrap();
    }
    let recorded = recent_revisions(&store, BUCKET, ["web"], now, PROTECT_DAYS).await;
    assert!(recorded.gaps.is_empty());
    let protected: Vec<(&str, Option<&str>)> = recorded
        .protected
        .iter()
        .map(|(k, (_, d))| (k.as_str(), d.as_deref()))
        .collect();
    assert_eq!(protected, [("web:3", Some("release r-new"))]);

    // A family that cannot be listed is a gap, named.
    let refused = Refusing::default();
    let recorded = recent_revisions(&refused, BUCKET, ["web", "api"], now, PROTECT_DAYS).await;
    assert!(recorded.protected.is_empty());
    assert_eq!(recorded.gaps.len(), 2, "{:?}", recorded.gaps);
    assert!(
        recorded.gaps[0].contains("release ledger of web"),
        "{:?}",
        recorded.gaps
    );
}

fn denied(message: String) -> Error {
    Error::AccessDenied {
        message,
        source: None,
    }
}

/// An object store that refuses puts of service entries, and every listing unless `allow_lists`.
#[derive(Debug, Default)]
struct Refusing {
    inner: MemoryStore,
    allow_lists: bool,
}

impl ObjectStore for Refusing {
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.inner.get(bucket, key).await
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), Error> {
        if key.starts_with("ledger/items/service/") {
            return Err(denied(format!("PutObject s3://{bucket}/{key}")));
        }
        self.inner.put(bucket, key, body).await
    }

    async fn list_keys(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, Error> {
        if !self.allow_lists {
            return Err(denied(format!("ListObjectsV2 s3://{bucket}/{prefix}")));
        }
        self.inner.list_keys(bucket, prefix).await
    }
}

#[tokio::test]
async fn refused_writes_are_errors_and_a_refused_listing_writes_nothing() {
    let plan = plan("r-1");
    let (arn, at) = (execution_arn("release-1"), records("r-1", "release-1"));

    let store = Refusing::default();
    let err = record(&store, &at, &arn, &plan, None, 1_000)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ListObjectsV2"), "{err}");
    assert!(
        store.inner.keys(BUCKET).is_empty(),
        "nothing without the start"
    );

    let store = Refusing {
        allow_lists: true,
        ..Refusing::default()
    };
    let err = record(&store, &at, &arn, &plan, None, 1_000)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("some of 4 ledger entries were not written")
            && message.contains("ledger/items/service/prod/web"),
        "{message}"
    );
    // The rest is written, the release's entry first.
    assert_eq!(
        store.inner.keys(BUCKET).len(),
        4,
        "{:?}",
        store.inner.keys(BUCKET)
    );
    // The steps' form logs and returns.
    record_or_warn(&store, &at, &arn, &plan, None, 2_000).await;
}
