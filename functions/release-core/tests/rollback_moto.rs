//! rollback against moto: services and rule targets go back to the plan's previous task
//! definitions, and a second call finds everything already restored.

mod rollback_fixture;

use std::time::Duration;

use convoy_testkit::seed;
use release_core::plan::deploy::unix_now;
use release_core::rollback::rollback;
use release_core::stability::check;
use release_core::step::{
    ItemResult, Outcome, Plan, ReleaseMeta, RestoreOutcome, RollbackInput, RollbackPolicy,
    RuleItem, RuleTaskTarget, RuleUpdate, ServiceItem, Settings, StabilityInput, TargetChange,
};
use rollback_fixture::{
    aws, deploy, ecs_target, queue_target, revision, running, service, targets, task_definition_of,
    unique, Aws,
};

struct Release {
    cluster: String,
    rule: String,
    old: [String; 2],
    new: [String; 2],
    report_old: String,
    report_new: String,
    input: RollbackInput,
}

/// Two services and a two-target rule, all moved to new revisions (the rule by hand, as
/// update-scheduled-rule would), with the plan and Map results a real release would record.
async fn released(aws: &Aws, policy: RollbackPolicy) -> Release {
    let c = unique("rb");
    seed::cluster(&aws.ecs, &c).await;
    let cluster_arn = format!("arn:aws:ecs:us-east-1:123456789012:cluster/{c}");
    let old = [
        revision(aws, &format!("{c}-web"), "web:1").await,
        revision(aws, &format!("{c}-api"), "api:1").await,
    ];
    let new = [
        revision(aws, &format!("{c}-web"), "web:2").await,
        revision(aws, &format!("{c}-api"), "api:2").await,
    ];
    let report_old = revision(aws, &format!("{c}-report"), "report:1").await;
    let report_new = revision(aws, &format!("{c}-report"), "report:2").await;
    let mut results = Vec::new();
    let mut services = Vec::new();
    for (i, name) in ["web", "api"].into_iter().enumerate() {
        service(aws, &c, name, &old[i]).await;
        let d = deploy(aws, &c, name, &old[i], &new[i], unix_now() + 600).await;
        services.push(ServiceItem {
            id: d.id.clone(),
            cluster: c.clone(),
            service: name.into(),
            previous_task_definition: old[i].clone(),
            images: Default::default(),
            noop: false,
            desired_count: None,
            minimum_healthy_percent: None,
            maximum_percent: None,
            timeout_seconds: 300,
            new_task_definition: None,
        });
        results.push(ItemResult {
            id: d.id.clone(),
            deployment: Some(d),
            rule: None,
            error: None,
        });
    }
    let rule_name = unique("rb-nightly");
    seed::scheduled_rule(
        &aws.events,
        &rule_name,
        &[
            ecs_target("a", &cluster_arn, &report_new),
            ecs_target("b", &cluster_arn, &report_new),
            queue_target("q"),
        ],
    )
    .await;
    let rule_id = format!("default/{rule_name}");
    let planned = |id: &str| RuleTaskTarget {
        target_id: id.into(),
        previous_task_definition: report_old.clone(),
        images: Default::default(),
        noop: false,
        new_task_definition: None,
    };
    results.push(ItemResult {
        id: rule_id.clone(),
        deployment: None,
        rule: Some(RuleUpdate {
            id: rule_id.clone(),
            rule: rule_name.clone(),
            event_bus: "default".into(),
            targets: ["a", "b"]
                .map(|id| TargetChange {
                    target_id: id.into(),
                    previous_task_definition: report_old.clone(),
                    new_task_definition: report_new.clone(),
                })
                .to_vec(),
        }),
        error: None,
    });
    let plan = Plan {
        release: ReleaseMeta {
            id: "r1".into(),
            description: None,
            source: "deployment.yaml".into(),
        },
        settings: Settings {
            rollback: policy,
            ..Settings::default()
        },
        services,
        tasks: vec![RuleItem {
            id: rule_id,
            rule: rule_name.clone(),
            event_bus: "default".into(),
            noop: false,
            targets: vec![planned("a"), planned("b")],
        }],
        changed_services: 2,
        changed_tasks: 1,
    };
    Release {
        cluster: c,
        rule: rule_name,
        old,
        new,
        report_old,
        report_new,
        input: RollbackInput {
            plan,
            results,
            stability: None,
        },
    }
}

fn outcomes(restores: &[release_core::step::Restore]) -> Vec<(String, RestoreOutcome)> {
    restores.iter().map(|r| (r.id.clone(), r.outcome)).collect()
}

#[tokio::test]
async fn rollback_restores_services_and_rule_targets_and_is_idempotent() {
    let aws = aws().await;
    let r = released(&aws, RollbackPolicy::All).await;
    let queue_before = targets(&aws, &r.rule).await.pop().unwrap();

    let first = rollback(&aws.ecs, &aws.events, &r.input).await.unwrap();
    let c = &r.cluster;
    let rule_id = format!("default/{}", r.rule);
    assert_eq!(
        outcomes(&first.restores),
        [
            (format!("{c}/web"), RestoreOutcome::Restored),
            (format!("{c}/api"), RestoreOutcome::Restored),
            (format!("{rule_id}/a"), RestoreOutcome::Restored),
            (format!("{rule_id}/b"), RestoreOutcome::Restored),
        ]
    );
    assert_eq!(running(&aws, c, "web").await, r.old[0]);
    assert_eq!(running(&aws, c, "api").await, r.old[1]);
    let after = targets(&aws, &r.rule).await;
    assert_eq!(task_definition_of(&after[0]), r.report_old);
    assert_eq!(task_definition_of(&after[1]), r.report_old);
    assert_eq!(after[2], queue_before, "the non-ECS target is untouched");

    // The started rollback deployments are handed over for awaiting, and they do finish.
    assert_eq!((first.pending, first.failed), (2, 0));
    for item in &first.items {
        assert_eq!(item.outcome, Outcome::InProgress);
        assert!(!item.deployment.deployment_id.is_empty());
    }
    assert_eq!(first.items[0].deployment.new_task_definition, r.old[0]);
    assert_eq!(first.items[0].deployment.previous_task_definition, r.new[0]);
    let awaited = check(
        &aws.ecs,
        StabilityInput {
            release_id: "r1".into(),
            poll_interval_seconds: 0,
            items: first.items.clone(),
        },
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    assert!(
        awaited
            .items
            .iter()
            .all(|i| i.outcome == Outcome::Succeeded),
        "{awaited:?}"
    );

    // Second call: everything already runs its previous revision; nothing is sent, nothing awaited.
    let updates_before = convoy_testkit::moto().calls("UpdateService");
    let puts_before = convoy_testkit::moto().calls("PutTargets");
    assert!(
        updates_before >= 2 && puts_before >= 1,
        "the counters count"
    );
    let second = rollback(&aws.ecs, &aws.events, &r.input).await.unwrap();
    assert!(
        second
            .restores
            .iter()
            .all(|x| x.outcome == RestoreOutcome::AlreadyCurrent),
        "{second:?}"
    );
    assert!(second.items.is_empty());
    assert_eq!(
        convoy_testkit::moto().calls("UpdateService"),
        updates_before
    );
    assert_eq!(convoy_testkit::moto().calls("PutTargets"), puts_before);
}

#[tokio::test]
async fn policy_none_changes_nothing() {
    let aws = aws().await;
    let r = released(&aws, RollbackPolicy::None).await;
    let out = rollback(&aws.ecs, &aws.events, &r.input).await.unwrap();
    assert!(out
        .restores
        .iter()
        .all(|x| x.outcome == RestoreOutcome::Skipped));
    assert_eq!(out.restores.len(), 4);
    assert_eq!(running(&aws, &r.cluster, "web").await, r.new[0]);
    assert_eq!(
        task_definition_of(&targets(&aws, &r.rule).await[0]),
        r.report_new
    );
}

#[tokio::test]
async fn a_service_that_cannot_be_restored_is_rollback_failed_and_the_rest_is_restored() {
    let aws = aws().await;
    let mut r = released(&aws, RollbackPolicy::All).await;
    // The recorded previous revision of api does not exist: UpdateService must fail for it.
    r.input.plan.services[1].previous_task_definition = format!("{}-api:999", r.cluster);
    let err = rollback(&aws.ecs, &aws.events, &r.input).await.unwrap_err();
    assert_eq!(err.name(), "RollbackFailed");
    let text = err.to_string();
    assert!(text.contains(&format!("{}/api", r.cluster)), "{text}");
    assert!(!text.contains(&format!("{}/web", r.cluster)), "{text}");
    assert_eq!(running(&aws, &r.cluster, "web").await, r.old[0]);
    assert_eq!(
        task_definition_of(&targets(&aws, &r.rule).await[0]),
        r.report_old
    );
}
