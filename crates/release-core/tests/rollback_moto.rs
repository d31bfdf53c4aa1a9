//! rollback against moto: services and rule targets go back to the plan's previous task
//! definitions, and a second call finds everything already restored.

mod rollback_fixture;

use std::time::Duration;

use release_core::contract::{Outcome, RestoreOutcome, RollbackPolicy};
use release_core::steps::check_stability::check;
use release_core::steps::rollback::rollback;
use rollback_fixture::{aws, released, running, targets, task_definition_of};

fn outcomes(restores: &[release_core::contract::Restore]) -> Vec<(String, RestoreOutcome)> {
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
    let awaited = check(&aws.ecs, first.items.clone(), 0, Duration::from_secs(20))
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
