//! rollback against moto: services and rule targets go back to the plan's previous task
//! definitions, and a second call finds everything already restored.

mod rollback_fixture;

use std::time::Duration;

use release_core::aws::{EcsApi, ServiceUpdate};
use release_core::contract::{Outcome, Restore, RestoreOutcome, RollbackPolicy};
use release_core::decide::rollback::retry_error;
use release_core::steps::check_stability::check;
use release_core::steps::rollback::rollback;
use release_core::Error;
use rollback_fixture::{aws, released, running, targets, task_definition_of};
use serde_json::json;

fn outcomes(restores: &[release_core::contract::Restore]) -> Vec<(String, RestoreOutcome)> {
    restores.iter().map(|r| (r.id.clone(), r.outcome)).collect()
}

#[tokio::test]
async fn rollback_restores_services_and_rule_targets_and_is_idempotent() {
    let aws = aws().await;
    let r = released(&aws, RollbackPolicy::All).await;
    let queue_before = targets(&aws, &r.rule).await.pop().unwrap();

    let first = rollback(&aws.ecs, &aws.events, &r.input).await;
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
    let second = rollback(&aws.ecs, &aws.events, &r.input).await;
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
    let out = rollback(&aws.ecs, &aws.events, &r.input).await;
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

/// The restore of `cluster/service`, by id.
fn restore_of<'a>(restores: &'a [Restore], id: &str) -> &'a Restore {
    restores
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no restore of {id} in {restores:?}"))
}

#[tokio::test]
async fn a_service_that_cannot_be_restored_fails_its_restore_and_the_rest_is_restored() {
    let aws = aws().await;
    let mut r = released(&aws, RollbackPolicy::All).await;
    let c = r.cluster.clone();
    // The recorded previous revision of api does not exist: UpdateService must fail for it.
    r.input.plan.services[1].previous_task_definition = format!("{c}-api:999");
    let out = rollback(&aws.ecs, &aws.events, &r.input).await;
    let api = restore_of(&out.restores, &format!("{c}/api"));
    assert_eq!(api.outcome, RestoreOutcome::Failed, "{api:?}");
    assert!(api.reason.is_some(), "{api:?}");
    assert!(
        !Error::RETRYABLE.contains(&api.error.as_deref().unwrap_or_default()),
        "{api:?}"
    );
    assert!(
        retry_error(&out.restores).is_none(),
        "a permanent failure is not retried"
    );
    assert_eq!(
        restore_of(&out.restores, &format!("{c}/web")).outcome,
        RestoreOutcome::Restored
    );
    // What was restored is handed over for awaiting all the same.
    assert_eq!(out.items.len(), 1);
    assert_eq!(out.items[0].deployment.id, format!("{c}/web"));
    assert_eq!(running(&aws, &c, "web").await, r.old[0]);
    assert_eq!(
        task_definition_of(&targets(&aws, &r.rule).await[0]),
        r.report_old
    );
}

#[tokio::test]
async fn a_throttled_restore_is_retryable_and_the_retry_restores_it() {
    let aws = aws().await;
    let r = released(&aws, RollbackPolicy::All).await;
    let c = r.cluster.clone();
    // api's restoring UpdateService (the only call naming its old revision) is throttled once.
    convoy_testkit::moto().post(
        "/_fault/throttle",
        json!({"operation": "ecs.UpdateService", "count": 1, "match": format!("{c}-api:1\"")}),
    );
    let first = rollback(&aws.ecs, &aws.events, &r.input).await;
    let api = restore_of(&first.restores, &format!("{c}/api"));
    assert_eq!(
        (api.outcome, api.error.as_deref()),
        (RestoreOutcome::Failed, Some("Throttled")),
        "{api:?}"
    );
    assert_eq!(
        retry_error(&first.restores).map(|e| e.name()),
        Some("Throttled")
    );
    assert_eq!(
        restore_of(&first.restores, &format!("{c}/web")).outcome,
        RestoreOutcome::Restored
    );
    assert_eq!(running(&aws, &c, "api").await, r.new[1]);

    let second = rollback(&aws.ecs, &aws.events, &r.input).await;
    assert_eq!(
        restore_of(&second.restores, &format!("{c}/api")).outcome,
        RestoreOutcome::Restored
    );
    assert_eq!(
        restore_of(&second.restores, &format!("{c}/web")).outcome,
        RestoreOutcome::AlreadyCurrent
    );
    assert!(retry_error(&second.restores).is_none());
    assert_eq!(running(&aws, &c, "api").await, r.old[1]);
    // web's restoring rollout (from the first call) is still awaited with api's.
    let awaited: Vec<&str> = second
        .items
        .iter()
        .map(|i| i.deployment.id.as_str())
        .collect();
    assert!(
        awaited.contains(&format!("{c}/api").as_str()),
        "{awaited:?}"
    );
}

/// desiredCount and percentages as `cluster/service` has them now.
#[allow(clippy::unwrap_used)] // a test helper: a failed unwrap is a failed test
async fn settings(aws: &rollback_fixture::Aws, cluster: &str, service: &str) -> (i32, i32, i32) {
    let s = aws
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .unwrap()
        .services
        .unwrap()
        .remove(0);
    let config = s.deployment_configuration.unwrap();
    (
        s.desired_count,
        config.minimum_healthy_percent.unwrap(),
        config.maximum_percent.unwrap(),
    )
}

#[tokio::test]
async fn desired_count_and_percentages_the_release_set_are_restored_unless_scaled_since() {
    let aws = aws().await;
    let mut r = released(&aws, RollbackPolicy::All).await;
    let c = r.cluster.clone();
    // The release set web and api to 4 tasks, 50 % / 150 %; they had 2, 100 % / 200 %.
    for (i, name) in ["web", "api"].into_iter().enumerate() {
        EcsApi::update_service(
            &aws.ecs,
            &ServiceUpdate {
                cluster: c.clone(),
                service: name.into(),
                task_definition: r.new[i].clone(),
                desired_count: Some(4),
                minimum_healthy_percent: Some(50),
                maximum_percent: Some(150),
            },
        )
        .await
        .unwrap();
        let item = &mut r.input.plan.services[i];
        (
            item.desired_count,
            item.minimum_healthy_percent,
            item.maximum_percent,
        ) = (Some(4), Some(50), Some(150));
        (
            item.previous_desired_count,
            item.previous_minimum_healthy_percent,
            item.previous_maximum_percent,
        ) = (Some(2), Some(100), Some(200));
    }
    // Since then autoscaling moved api to 6 tasks: that count stays.
    aws.ecs
        .update_service()
        .cluster(&c)
        .service("api")
        .desired_count(6)
        .send()
        .await
        .unwrap();

    let out = rollback(&aws.ecs, &aws.events, &r.input).await;
    assert_eq!(settings(&aws, &c, "web").await, (2, 100, 200));
    assert_eq!(settings(&aws, &c, "api").await, (6, 100, 200));
    assert_eq!(running(&aws, &c, "web").await, r.old[0]);
    let web = restore_of(&out.restores, &format!("{c}/web"));
    assert_eq!(
        (
            web.outcome,
            web.desired_count,
            web.minimum_healthy_percent,
            web.maximum_percent
        ),
        (RestoreOutcome::Restored, Some(2), Some(100), Some(200))
    );
    let api = restore_of(&out.restores, &format!("{c}/api"));
    assert_eq!(
        (
            api.desired_count,
            api.minimum_healthy_percent,
            api.maximum_percent
        ),
        (None, Some(100), Some(200))
    );

    // Idempotent: a second call finds everything back.
    let again = rollback(&aws.ecs, &aws.events, &r.input).await;
    for id in ["web", "api"] {
        assert_eq!(
            restore_of(&again.restores, &format!("{c}/{id}")).outcome,
            RestoreOutcome::AlreadyCurrent
        );
    }
}
