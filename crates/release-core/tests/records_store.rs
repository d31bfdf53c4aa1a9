//! The release records: how the items' results are read back, the S3 adapter with S3's answers
//! mocked and against moto, and the bounded execution output.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::error::ErrorMetadata;
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::error::NoSuchKey;
use aws_sdk_s3::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use release_core::aws::fake::MemoryStore;
use release_core::aws::ObjectStore;
use release_core::contract::{
    CaughtError, ItemKind, ItemOutcome, ItemResult, Plan, PlanItemKind, Records, ReleaseOutcome,
    ReleaseReport, ReportItem, RuleUpdate, ServiceDeployment,
};
use release_core::decide::report::bounded;
use release_core::records::{result_name, RecordStore, PLAN};
use serde_json::json;

fn records() -> Records {
    Records::for_execution("records", "r1", "e1")
}

fn deployed(id: &str) -> ItemResult {
    ItemResult {
        id: id.into(),
        deployment: Some(ServiceDeployment {
            id: id.into(),
            cluster: "prod".into(),
            service: id.rsplit('/').next().unwrap().into(),
            previous_task_definition: "web:1".into(),
            new_task_definition: "web:2".into(),
            deployment_id: "ecs-svc/1".into(),
            deadline: 1,
            strategy: Default::default(),
            service_deployment_arn: None,
            awaits: Default::default(),
            code_deploy: None,
        }),
        rule: None,
        error: None,
        job: None,
        schedule: None,
        kind: None,
    }
}

fn failed(id: &str, error: &str, cause: &str) -> ItemResult {
    ItemResult {
        id: id.into(),
        deployment: None,
        rule: None,
        error: Some(CaughtError {
            error: error.into(),
            cause: cause.into(),
        }),
        job: None,
        schedule: None,
        kind: None,
    }
}

fn plan() -> Plan {
    let service = |name: &str, noop: bool| {
        json!({"id": format!("prod/{name}"), "cluster": "prod", "service": name,
               "previousTaskDefinition": format!("{name}:1"), "images": {}, "noop": noop,
               "timeoutSeconds": 600})
    };
    serde_json::from_value(json!({
        "release": {"id": "r1", "source": "deployment.yaml"},
        "settings": {"rollback": "all", "maxConcurrency": 10, "pollIntervalSeconds": 5,
                     "keepRevisions": 0},
        "services": [service("web", false), service("api", false), service("db", false),
                     service("static", true)],
        // A rule whose id equals a service's: the kinds keep their records apart.
        "tasks": [{"id": "prod/web", "rule": "web", "eventBus": "prod", "noop": false,
                   "targets": []}],
        "changedServices": 3,
        "changedTasks": 1,
    }))
    .unwrap()
}

#[tokio::test]
async fn results_follow_the_plan_and_keep_kinds_apart() {
    let store = RecordStore::new(MemoryStore::default());
    let r = records();
    store.write_plan(&r, plan()).await.unwrap();
    let rule = ItemResult {
        id: "prod/web".into(),
        deployment: None,
        rule: Some(RuleUpdate {
            id: "prod/web".into(),
            rule: "web".into(),
            event_bus: "prod".into(),
            targets: Vec::new(),
        }),
        error: None,
        job: None,
        schedule: None,
        kind: None,
    };
    store
        .write_result(&r, PlanItemKind::Service, &deployed("prod/web"))
        .await
        .unwrap();
    store
        .write_result(
            &r,
            PlanItemKind::Service,
            &failed("prod/api", "ServiceNotFound", "gone"),
        )
        .await
        .unwrap();
    store
        .write_result(&r, PlanItemKind::Rule, &rule)
        .await
        .unwrap();

    // In plan order, services then rules; prod/db has no record (never started) and is left out.
    // Each carries its kind: the rule prod/web is not the service prod/web.
    let got = store.results(&r, &plan()).await.unwrap();
    let kinded = |kind, result: ItemResult| ItemResult {
        kind: Some(kind),
        ..result
    };
    assert_eq!(
        got,
        [
            kinded(PlanItemKind::Service, deployed("prod/web")),
            kinded(
                PlanItemKind::Service,
                failed("prod/api", "ServiceNotFound", "gone")
            ),
            kinded(PlanItemKind::Rule, rule)
        ]
    );
    assert!(got[0].is(PlanItemKind::Service, "prod/web"));
    assert!(!got[2].is(PlanItemKind::Service, "prod/web"));
}

#[tokio::test]
async fn the_plan_is_read_once_per_execution() {
    let objects = MemoryStore::default();
    let r = records();
    objects
        .put(
            &r.bucket,
            &r.key(PLAN),
            serde_json::to_vec(&plan()).unwrap(),
        )
        .await
        .unwrap();
    let store = RecordStore::new(objects);
    for _ in 0..3 {
        assert_eq!(store.plan(&r).await.unwrap().services.len(), 4);
    }
    assert_eq!(store.objects().gets(), 1);
    let other = Records::for_execution("records", "r1", "e2");
    let err = store.plan(&other).await.unwrap_err();
    assert_eq!(err.name(), "Internal");
    assert!(
        err.to_string()
            .contains("s3://records/releases/r1/e2/plan.json"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unreadable_record_names_the_object_and_the_field() {
    let objects = MemoryStore::default();
    let r = records();
    let key = r.key(&result_name(PlanItemKind::Service, "prod/web"));
    objects
        .put(
            &r.bucket,
            &key,
            br#"{"id": "prod/web", "deployment": {"id": 7}}"#.to_vec(),
        )
        .await
        .unwrap();
    let store = RecordStore::new(objects);
    let err = store
        .read::<ItemResult>(&r, &result_name(PlanItemKind::Service, "prod/web"))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Internal");
    let text = err.to_string();
    assert!(
        text.contains("s3://records/releases/r1/e1/results/service/prod/web.json"),
        "{text}"
    );
    assert!(text.contains("deployment.id"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// The S3 adapter
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn get_object_answers_map_to_found_missing_and_stable_names() {
    let found = mock!(Client::get_object)
        .match_requests(|r| r.key() == Some("releases/r1/e1/plan.json"))
        .then_output(|| {
            GetObjectOutput::builder()
                .body(ByteStream::from_static(b"{}"))
                .build()
        });
    let missing = mock!(Client::get_object)
        .match_requests(|r| r.key() == Some("releases/r1/e1/rollback.json"))
        .then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build()));
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&found, &missing]);
    assert_eq!(
        s3.get("records", "releases/r1/e1/plan.json").await.unwrap(),
        Some(b"{}".to_vec())
    );
    assert_eq!(
        s3.get("records", "releases/r1/e1/rollback.json")
            .await
            .unwrap(),
        None
    );

    let cases = [
        ("SlowDown", "Throttled"),
        ("AccessDenied", "AccessDenied"),
        ("InternalError", "AwsUnavailable"),
        ("NoSuchBucket", "Internal"),
    ];
    for (code, name) in cases {
        let rule = mock!(Client::get_object).then_error(move || {
            GetObjectError::generic(ErrorMetadata::builder().code(code).build())
        });
        let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&rule], |c| c
            .retry_config(RetryConfig::disabled()));
        let err = s3
            .get("records", "releases/r1/e1/plan.json")
            .await
            .unwrap_err();
        assert_eq!(err.name(), name, "{code}: {err}");
        assert!(
            err.to_string()
                .contains("s3://records/releases/r1/e1/plan.json"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn put_object_sends_json_to_the_key() {
    let put = mock!(Client::put_object)
        .match_requests(|r| {
            r.bucket() == Some("records")
                && r.key() == Some("releases/r1/e1/report.json")
                && r.content_type() == Some("application/json")
        })
        .then_output(|| PutObjectOutput::builder().build());
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put]);
    s3.put("records", "releases/r1/e1/report.json", b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn records_round_trip_through_moto_s3() {
    let moto = convoy_testkit::moto();
    let store = RecordStore::new(moto.bucket("records-roundtrip").await);
    let r = Records::for_execution("records-roundtrip", "r1", "e1");
    let name = result_name(PlanItemKind::Service, "prod/web");
    let nothing: Option<ItemResult> = store.read(&r, &name).await.unwrap();
    assert_eq!(nothing, None, "a missing key reads as None");
    store
        .write_result(&r, PlanItemKind::Service, &deployed("prod/web"))
        .await
        .unwrap();
    let back: Option<ItemResult> = store.read(&r, &name).await.unwrap();
    let written = ItemResult {
        kind: Some(PlanItemKind::Service),
        ..deployed("prod/web")
    };
    assert_eq!(back, Some(written));

    let nowhere = Records::for_execution("records-no-such-bucket", "r1", "e1");
    let err = store
        .write_result(&nowhere, PlanItemKind::Service, &deployed("prod/web"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("NoSuchBucket"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// The bounded execution output
// ---------------------------------------------------------------------------------------------

fn report(items: usize, failed_every: usize) -> ReleaseReport {
    ReleaseReport {
        release_id: "r1".into(),
        outcome: ReleaseOutcome::RolledBack,
        items: (0..items)
            .map(|i| ReportItem {
                id: format!("platform-production/service-{i:04}"),
                kind: ItemKind::Service,
                outcome: if i % failed_every == 0 {
                    ItemOutcome::Failed
                } else {
                    ItemOutcome::RolledBack
                },
                previous_task_definition: format!(
                    "arn:aws:ecs:eu-west-1:123456789012:task-definition/service-{i:04}:41"
                ),
                new_task_definition: Some(format!(
                    "arn:aws:ecs:eu-west-1:123456789012:task-definition/service-{i:04}:42"
                )),
                final_task_definition: format!(
                    "arn:aws:ecs:eu-west-1:123456789012:task-definition/service-{i:04}:41"
                ),
                reason: (i % failed_every == 0)
                    .then(|| "deployment failed: tasks failed to start".into()),
                stopped_reasons: Vec::new(),
                wave: 0,
            })
            .collect(),
        problems: Vec::new(),
        omitted_items: 0,
        full_report: None,
        cleanup: None,
        auto_scaling: None,
    }
}

#[test]
fn a_small_report_is_whole_and_points_at_its_record() {
    let full = report(10, 3);
    let out = bounded(full.clone(), "s3://records/r/report.json".into(), 24_000);
    assert_eq!(out.items, full.items);
    assert_eq!(out.omitted_items, 0);
    assert_eq!(
        out.full_report.as_deref(),
        Some("s3://records/r/report.json")
    );
}

#[test]
fn a_large_report_keeps_failures_first_within_the_budget() {
    let full = report(1000, 50);
    let out = bounded(full.clone(), "s3://records/r/report.json".into(), 24_000);
    let size = serde_json::to_vec(&out).unwrap().len();
    assert!(size <= 24_000, "{size} B");
    assert!(
        out.items.len() > 20 && out.items.len() < 1000,
        "{}",
        out.items.len()
    );
    assert_eq!(out.items.len() + out.omitted_items as usize, 1000);
    let failed = out
        .items
        .iter()
        .filter(|i| i.outcome == ItemOutcome::Failed)
        .count();
    assert_eq!(failed, 20, "every failed item is kept");
    // Kept items stay in report order.
    let positions: Vec<usize> = out
        .items
        .iter()
        .map(|i| full.items.iter().position(|f| f.id == i.id).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
    // As a Fail cause (escaped by States.JsonToString) it fits AWS's 32 KiB.
    let escaped = serde_json::to_string(&serde_json::to_string(&out).unwrap()).unwrap();
    assert!(escaped.len() < 32 * 1024, "{} B escaped", escaped.len());
}
