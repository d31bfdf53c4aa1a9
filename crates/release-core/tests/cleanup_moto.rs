//! The clean-up after a successful release (`keepRevisions`) against moto: a revision a service or
//! a rule target outside the release uses stays ACTIVE, so does one convoy did not register; an
//! unused one convoy registered goes; and when listing is refused nothing goes. One a recent
//! release recorded as its previous revision (the release ledger) stays too.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::sync::Mutex;

use aws_sdk_ecs::types::{ContainerDefinition, Tag, TaskDefinitionStatus};
use aws_sdk_eventbridge::types::{EcsParameters, Target};
use convoy_testkit::{seed, ACCOUNT_ID, REGION};
use release_core::aws::locks::fake::MemoryLocks;
use release_core::contract::{
    CleanupReport, FinishInput, ItemOutcome, KeepReason, PlanItemKind, Records, ReleaseOutcome,
    ReleaseRecords, StabilityPhase, StepFailures,
};
use release_core::decide::taskdef::RELEASE_TAG;
use release_core::records::{stability_name, RecordStore, REPORT};
use release_core::steps::finish_release::{finish, finish_release};
use release_core::steps::ledger;
use serde_json::json;

/// One at a time: every clean-up reads every rule of the default bus, so a fault armed for one
/// test's rule would reach another test's clean-up.
fn serially(test: impl Future<Output = ()>) {
    static ONE: Mutex<()> = Mutex::new(());
    let _turn = ONE.lock().unwrap_or_else(|e| e.into_inner());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(test);
}

use convoy_testkit::unique;

/// Registers the next revision of `family`, tagged as convoy tags its own when `by_convoy`.
async fn revision(ecs: &aws_sdk_ecs::Client, family: &str, by_convoy: bool) -> String {
    let tags = if by_convoy {
        vec![Tag::builder().key(RELEASE_TAG).value("r-old").build()]
    } else {
        vec![Tag::builder().key("team").value("ops").build()]
    };
    ecs.register_task_definition()
        .family(family)
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("app:1")
                .memory(128)
                .essential(true)
                .build(),
        )
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap()
        .task_definition
        .and_then(|d| d.task_definition_arn)
        .unwrap()
}

async fn service(ecs: &aws_sdk_ecs::Client, cluster: &str, name: &str, task_definition: &str) {
    ecs.create_service()
        .cluster(cluster)
        .service_name(name)
        .task_definition(task_definition)
        .desired_count(1)
        .send()
        .await
        .unwrap();
}

async fn status(ecs: &aws_sdk_ecs::Client, task_definition: &str) -> TaskDefinitionStatus {
    ecs.describe_task_definition()
        .task_definition(task_definition)
        .send()
        .await
        .unwrap()
        .task_definition
        .and_then(|d| d.status)
        .unwrap()
}

/// One family, six revisions, `web` released from the fifth to the sixth:
/// 1 convoy's, used by a service outside the release; 2 convoy's, used by a rule target outside
/// the release; 3 someone else's, unused; 4 convoy's, unused; 5 web's previous; 6 web's new.
struct World {
    cluster: String,
    rule: String,
    revisions: Vec<String>,
    records: ReleaseRecords,
}

async fn world(ecs: &aws_sdk_ecs::Client, events: &aws_sdk_eventbridge::Client) -> World {
    let cluster = unique("cleanup");
    let family = format!("{cluster}-shared");
    let rule = format!("{cluster}-nightly");
    seed::cluster(ecs, &cluster).await;
    let mut revisions = Vec::new();
    for by_convoy in [true, true, false, true, true, true] {
        revisions.push(revision(ecs, &family, by_convoy).await);
    }
    service(ecs, &cluster, "outside", &revisions[0]).await;
    service(ecs, &cluster, "web", &revisions[5]).await;
    let target = Target::builder()
        .id("report")
        .arn(format!(
            "arn:aws:ecs:{REGION}:{ACCOUNT_ID}:cluster/{cluster}"
        ))
        .role_arn(format!("arn:aws:iam::{ACCOUNT_ID}:role/events"))
        .ecs_parameters(
            EcsParameters::builder()
                .task_definition_arn(&revisions[1])
                .task_count(1)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    seed::scheduled_rule(events, &rule, &[target]).await;

    let deployment = json!({
        "id": format!("{cluster}/web"),
        "cluster": cluster,
        "service": "web",
        "previousTaskDefinition": revisions[4],
        "newTaskDefinition": revisions[5],
        "deploymentId": "ecs-svc/1",
        "deadline": 0,
    });
    let mut verdict = deployment.clone();
    verdict["outcome"] = json!("Succeeded");
    let records: ReleaseRecords = serde_json::from_value(json!({
        "plan": {
            "release": {"id": "r-cleanup", "source": "deployment.yaml"},
            "settings": {
                "rollback": "all",
                "maxConcurrency": 10,
                "pollIntervalSeconds": 5,
                "keepRevisions": 1,
            },
            "services": [{
                "id": format!("{cluster}/web"),
                "cluster": cluster,
                "service": "web",
                "previousTaskDefinition": revisions[4],
                "images": {},
                "noop": false,
                "timeoutSeconds": 600,
                "newTaskDefinition": revisions[5],
            }],
            "tasks": [],
            "changedServices": 1,
            "changedTasks": 0,
        },
        "results": [{"id": format!("{cluster}/web"), "deployment": deployment}],
        "stability": {"items": [verdict], "pending": 0, "failed": 0},
    }))
    .unwrap();
    World {
        cluster,
        rule,
        revisions,
        records,
    }
}

fn reason_of(cleanup: &CleanupReport, task_definition: &str) -> Option<(KeepReason, String)> {
    cleanup
        .kept
        .iter()
        .find(|k| k.task_definition == task_definition)
        .map(|k| (k.reason, k.detail.clone().unwrap_or_default()))
}

#[test]
fn only_an_unused_revision_convoy_registered_is_deregistered() {
    serially(deregisters_only_the_unused_revision_convoy_registered());
}

async fn deregisters_only_the_unused_revision_convoy_registered() {
    let moto = convoy_testkit::moto();
    let (ecs, events) = (moto.ecs().await, moto.events().await);
    let w = world(&ecs, &events).await;

    let report = finish(&ecs, &events, &w.records).await.unwrap();
    assert_eq!(report.outcome, ReleaseOutcome::Succeeded);
    let cleanup = report.cleanup.unwrap();
    let r = &w.revisions;
    assert_eq!(cleanup.deregistered, [r[3].clone()], "{cleanup:#?}");
    assert!(cleanup.problems.is_empty(), "{cleanup:#?}");
    let cases = [
        (
            0,
            KeepReason::InUseByService,
            format!("{}/outside", w.cluster),
        ),
        (
            1,
            KeepReason::InUseByRuleTarget,
            format!("default/{} target report", w.rule),
        ),
        (2, KeepReason::NotTaggedByConvoy, String::new()),
        (4, KeepReason::ReferencedByRelease, String::new()),
        (5, KeepReason::Newest, "newest 1".to_owned()),
    ];
    for (index, reason, detail) in cases {
        assert_eq!(
            reason_of(&cleanup, &r[index]),
            Some((reason, detail)),
            "revision {}",
            index + 1
        );
        assert_eq!(status(&ecs, &r[index]).await, TaskDefinitionStatus::Active);
    }
    assert_eq!(status(&ecs, &r[3]).await, TaskDefinitionStatus::Inactive);
    assert_eq!(
        (
            cleanup.deregistered_count,
            cleanup.kept_count,
            cleanup.deferred
        ),
        (1, 5, 0)
    );
}

/// `operation` refused once for this world's resources (`matching` is in the request body).
async fn refused_listing_deregisters_nothing(operation: &str, matching: fn(&World) -> String) {
    let moto = convoy_testkit::moto();
    let (ecs, events) = (moto.ecs().await, moto.events().await);
    let w = world(&ecs, &events).await;
    moto.post(
        "/_fault/error",
        json!({
            "operation": operation,
            "count": 1,
            "match": matching(&w),
            "code": "AccessDeniedException",
            "message": format!("not authorized to perform: {operation}"),
            "status": 400,
        }),
    );

    let report = finish(&ecs, &events, &w.records).await.unwrap();
    assert_eq!(
        report.outcome,
        ReleaseOutcome::Succeeded,
        "never fails the release"
    );
    let cleanup = report.cleanup.unwrap();
    assert!(cleanup.deregistered.is_empty(), "{cleanup:#?}");
    assert!(
        cleanup.problems.iter().any(|p| p.contains("AccessDenied")),
        "{cleanup:#?}"
    );
    let (reason, detail) = reason_of(&cleanup, &w.revisions[3]).unwrap();
    assert_eq!(reason, KeepReason::Unverified);
    assert!(detail.contains(operation), "{detail}");
    for td in &w.revisions {
        assert_eq!(status(&ecs, td).await, TaskDefinitionStatus::Active, "{td}");
    }
}

#[test]
fn services_that_cannot_be_listed_keep_every_revision() {
    serially(refused_listing_deregisters_nothing("ListServices", |w| {
        w.cluster.clone()
    }));
}

#[test]
fn rules_that_cannot_be_listed_keep_every_revision() {
    serially(refused_listing_deregisters_nothing("ListRules", |_| {
        r#""EventBusName":"default""#.to_owned()
    }));
}

#[test]
fn rule_targets_that_cannot_be_listed_keep_every_revision() {
    serially(refused_listing_deregisters_nothing(
        "ListTargetsByRule",
        |w| w.rule.clone(),
    ));
}

#[test]
fn finish_writes_the_ledger_and_keeps_what_a_recent_release_recorded() {
    serially(ledger_protects_and_is_written());
}

/// A release of the day before recorded revision 4 as web's previous: the clean-up keeps it (it
/// would go otherwise), naming that release. finish-release writes this release's ledger entries
/// with the outcome and the final revisions.
async fn ledger_protects_and_is_written() {
    let moto = convoy_testkit::moto();
    let (ecs, events) = (moto.ecs().await, moto.events().await);
    let bucket = unique("ledger");
    let s3 = moto.bucket(&bucket).await;
    let w = world(&ecs, &events).await;
    let store = RecordStore::new(s3.clone());
    let web = format!("{}/web", w.cluster);

    let mut earlier = w.records.plan.clone();
    earlier.release.id = "r-earlier".into();
    earlier.services[0].previous_task_definition = w.revisions[3].clone();
    let earlier_records = Records::for_execution(&bucket, "r-earlier", "release-earlier");
    let yesterday = ledger::now_millis() - 86_400_000;
    ledger::record(
        &s3,
        &earlier_records,
        &execution("release-earlier"),
        &earlier,
        None,
        yesterday,
    )
    .await
    .unwrap();

    let records = Records::for_execution(&bucket, "r-cleanup", "release-cleanup");
    store
        .write_plan(&records, w.records.plan.clone())
        .await
        .unwrap();
    for result in &w.records.results {
        store
            .write_result(&records, PlanItemKind::Service, result)
            .await
            .unwrap();
    }
    store
        .write(
            &records,
            stability_name(StabilityPhase::Release),
            w.records.stability.as_ref().unwrap(),
        )
        .await
        .unwrap();
    // The release's start, as plan-release records it.
    let started = ledger::now_millis();
    ledger::record(
        &s3,
        &records,
        &execution("release-cleanup"),
        &w.records.plan,
        None,
        started,
    )
    .await
    .unwrap();
    let input = FinishInput {
        release_id: "r-cleanup".into(),
        execution_arn: execution("release-cleanup"),
        records: records.clone(),
        failures: StepFailures::default(),
        started_at: None,
    };
    let report = finish_release(
        &ecs,
        &events,
        &release_core::aws::fake_scaling::FakeScaling::default(),
        &store,
        &MemoryLocks::default(),
        &input,
        None,
    )
    .await
    .unwrap();
    let cleanup = report.cleanup.unwrap();
    assert!(cleanup.deregistered.is_empty(), "{cleanup:#?}");
    assert_eq!(
        reason_of(&cleanup, &w.revisions[3]),
        Some((
            KeepReason::PreviousOfRecentRelease,
            "release r-earlier".to_owned()
        ))
    );
    assert_eq!(
        status(&ecs, &w.revisions[3]).await,
        TaskDefinitionStatus::Active
    );

    let entries = ledger::history(&s3, &bucket, PlanItemKind::Service, &web, 10)
        .await
        .unwrap();
    let order: Vec<&str> = entries.iter().map(|e| e.release_id.as_str()).collect();
    assert_eq!(order, ["r-cleanup", "r-earlier"]);
    let newest = &entries[0];
    assert_eq!(newest.started_at, started);
    assert_eq!(newest.outcome, Some(ReleaseOutcome::Succeeded));
    assert!(newest.finished_at.is_some_and(|at| at >= started));
    assert_eq!(newest.report, records.uri(REPORT));
    let revisions = &newest.item.as_ref().unwrap().revisions[0];
    assert_eq!(
        (
            revisions.previous.as_str(),
            revisions.final_.as_deref(),
            revisions.outcome
        ),
        (
            w.revisions[4].as_str(),
            Some(w.revisions[5].as_str()),
            Some(ItemOutcome::Deployed)
        )
    );
    let runs = ledger::executions(&s3, &bucket, "r-cleanup").await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, Some(ReleaseOutcome::Succeeded));
}

fn execution(name: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT_ID}:execution:convoy-release:{name}")
}
