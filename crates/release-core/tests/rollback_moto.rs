//! rollback against moto: services and rule targets go back to the plan's previous task
//! definitions, and a second call finds everything already restored.

#![allow(clippy::unwrap_used)]

use crate::rollback_fixture;

use std::time::Duration;

use release_core::aws::fake_scheduler::FakeScheduler;
use release_core::aws::{EcsApi, ServiceUpdate};
use release_core::contract::{Outcome, Restore, RestoreOutcome, RollbackPolicy};
use release_core::decide::rollback::{retry_error, Overwrite};
use release_core::steps::check_stability::check;
use release_core::steps::rollback::rollback;
use release_core::Error;
use rollback_fixture::{aws, described, released, running, targets, task_definition_of};
use serde_json::json;

fn outcomes(restores: &[release_core::contract::Restore]) -> Vec<(String, RestoreOutcome)> {
    restores.iter().map(|r| (r.id.clone(), r.outcome)).collect()
}

#[tokio::test]
async fn rollback_restores_services_and_rule_targets_and_is_idempotent() {
    let aws = aws().await;
    let r = released(&aws, RollbackPolicy::All).await;
    let queue_before = targets(&aws, &r.rule).await.pop().unwrap();

    let first = rollback(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        &r.input,
        "r/e",
        Overwrite::OwnWorkOnly,
    )
    .await;
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
        &aws.codedeploy,
        first.items.clone(),
        0,
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

    // Second call: everything already runs its previous revision; nothing is sent (no new
    // deployment: moto's counters are shared with the tests running alongside), nothing awaited.
    let deployments_before = [primary(&aws, c, "web").await, primary(&aws, c, "api").await];
    let second = rollback(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        &r.input,
        "r/e",
        Overwrite::OwnWorkOnly,
    )
    .await;
    assert!(
        second
            .restores
            .iter()
            .all(|x| x.outcome == RestoreOutcome::AlreadyCurrent),
        "{second:?}"
    );
    assert!(second.items.is_empty());
    assert_eq!(
        [primary(&aws, c, "web").await, primary(&aws, c, "api").await],
        deployments_before
    );
}

/// The id of the PRIMARY deployment of `cluster/service`: a new one means an UpdateService.
async fn primary(aws: &rollback_fixture::Aws, cluster: &str, service: &str) -> String {
    described(aws, cluster, service)
        .await
        .deployments
        .unwrap()
        .into_iter()
        .find(|d| d.status.as_deref() == Some("PRIMARY"))
        .and_then(|d| d.id)
        .unwrap()
}

#[tokio::test]
async fn policy_none_changes_nothing() {
    let aws = aws().await;
    let r = released(&aws, RollbackPolicy::None).await;
    let out = rollback(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        &r.input,
        "r/e",
        Overwrite::OwnWorkOnly,
    )
    .await;
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
    let out = rollback(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        &r.input,
        "r/e",
        Overwrite::OwnWorkOnly,
    )
    .await;
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
    let first = rollback(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        &r.input,
        "r/e",
        Overwrite::OwnWorkOnly,
    )
    .await;
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

    let second = rollback(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        &r.input,
        "r/e",
        Overwrite::OwnWorkOnly,
    )
    .await;
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
async fn settings(aws: &rollback_fixture::Aws, cluster: &str, service: &str) -> (i32, i32, i32) {
    let s = described(aws, cluster, service).await;
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
                task_definition: Some(r.new[i].clone()),
                desired_count: Some(4),
                minimum_healthy_percent: Some(50),
                maximum_percent: Some(150),
                strategy: None,
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

    let out = rollback(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        &r.input,
        "r/e",
        Overwrite::OwnWorkOnly,
    )
    .await;
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
    let again = rollback(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        &r.input,
        "r/e",
        Overwrite::OwnWorkOnly,
    )
    .await;
    for id in ["web", "api"] {
        assert_eq!(
            restore_of(&again.restores, &format!("{c}/{id}")).outcome,
            RestoreOutcome::AlreadyCurrent
        );
    }
}

/// `family` registered with `image` and tagged as a release's own revision.
async fn tagged_revision(
    aws: &rollback_fixture::Aws,
    family: &str,
    image: &str,
    release: &str,
) -> String {
    aws.ecs
        .register_task_definition()
        .family(family)
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("app")
                .image(image)
                .memory(256)
                .build(),
        )
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key("convoy:release")
                .value(release)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap()
        .task_definition_arn
        .unwrap()
}

/// Points `service` at `task_definition` by hand (a hotfix, or another release).
async fn hand_deploy(
    aws: &rollback_fixture::Aws,
    cluster: &str,
    service: &str,
    task_definition: &str,
) {
    aws.ecs
        .update_service()
        .cluster(cluster)
        .service(service)
        .task_definition(task_definition)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn what_someone_else_deployed_since_is_left_alone_and_said_so() {
    let aws = aws().await;
    let r = released(&aws, RollbackPolicy::All).await;
    let c = r.cluster.clone();
    // An on-call hotfix of web, another release's revision of api, a hand edit of target b.
    let hotfix = rollback_fixture::revision(&aws, &format!("{c}-web"), "web:hotfix").await;
    hand_deploy(&aws, &c, "web", &hotfix).await;
    let newer = tagged_revision(&aws, &format!("{c}-api"), "api:3", "r2").await;
    hand_deploy(&aws, &c, "api", &newer).await;
    let edited = rollback_fixture::revision(&aws, &format!("{c}-report"), "report:9").await;
    let mut rule_targets = targets(&aws, &r.rule).await;
    let mut b = rule_targets.remove(1);
    b.ecs_parameters.as_mut().unwrap().task_definition_arn = edited.clone();
    aws.events
        .put_targets()
        .rule(&r.rule)
        .targets(b)
        .send()
        .await
        .unwrap();
    let deployments_before = [
        primary(&aws, &c, "web").await,
        primary(&aws, &c, "api").await,
    ];

    let out = rollback(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        &r.input,
        "r/e",
        Overwrite::OwnWorkOnly,
    )
    .await;
    let web = restore_of(&out.restores, &format!("{c}/web"));
    assert_eq!(web.outcome, RestoreOutcome::LeftAlone, "{web:?}");
    let why = web.reason.as_deref().unwrap();
    assert!(
        why.starts_with(&format!("now runs {c}-web:3 from deployment ecs-svc/"))
            && why.ends_with(&format!(
                "(not registered by a release), not this release's {c}-web:2: left alone"
            )),
        "{why}"
    );
    let api = restore_of(&out.restores, &format!("{c}/api"));
    assert_eq!(api.outcome, RestoreOutcome::LeftAlone, "{api:?}");
    assert!(
        api.reason
            .as_deref()
            .unwrap()
            .contains("(registered by release r2)"),
        "{api:?}"
    );
    let rule_id = format!("default/{}", r.rule);
    assert_eq!(
        restore_of(&out.restores, &format!("{rule_id}/b")).outcome,
        RestoreOutcome::LeftAlone
    );
    // Target a still ran this release's revision: restored.
    assert_eq!(
        restore_of(&out.restores, &format!("{rule_id}/a")).outcome,
        RestoreOutcome::Restored
    );
    assert_eq!(
        [
            primary(&aws, &c, "web").await,
            primary(&aws, &c, "api").await
        ],
        deployments_before
    );
    assert_eq!(running(&aws, &c, "web").await, hotfix);
    assert_eq!(running(&aws, &c, "api").await, newer);
    let after = targets(&aws, &r.rule).await;
    assert_eq!(task_definition_of(&after[0]), r.report_old);
    assert_eq!(task_definition_of(&after[1]), edited);
    assert!(out.items.is_empty(), "nothing of ours to await: {out:?}");

    // Forced, everything goes back, and each restore says what it overwrote.
    let forced = rollback(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        &r.input,
        "r/e",
        Overwrite::Forced,
    )
    .await;
    for id in [
        format!("{c}/web"),
        format!("{c}/api"),
        format!("{rule_id}/b"),
    ] {
        let x = restore_of(&forced.restores, &id);
        assert_eq!(x.outcome, RestoreOutcome::Restored, "{x:?}");
        assert!(
            x.reason.as_deref().unwrap().starts_with("forced: it ran "),
            "{x:?}"
        );
    }
    assert_eq!(running(&aws, &c, "web").await, r.old[0]);
    assert_eq!(running(&aws, &c, "api").await, r.old[1]);
    assert_eq!(
        task_definition_of(&targets(&aws, &r.rule).await[1]),
        r.report_old
    );
}

#[tokio::test]
async fn without_a_record_of_its_revision_the_release_tag_tells_whose_it_is() {
    // A release that crashed before recording its results: only the plan is known.
    let aws = aws().await;
    let mut r = released(&aws, RollbackPolicy::All).await;
    let c = r.cluster.clone();
    let ours = tagged_revision(&aws, &format!("{c}-web"), "web:5", "r1").await;
    hand_deploy(&aws, &c, "web", &ours).await;
    r.input.results.clear();

    let out = rollback(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        &r.input,
        "r/e",
        Overwrite::OwnWorkOnly,
    )
    .await;
    assert_eq!(
        restore_of(&out.restores, &format!("{c}/web")).outcome,
        RestoreOutcome::Restored
    );
    assert_eq!(running(&aws, &c, "web").await, r.old[0]);
    // api runs a revision with no release tag: not provably this release's, so it stays.
    let api = restore_of(&out.restores, &format!("{c}/api"));
    assert_eq!(api.outcome, RestoreOutcome::LeftAlone, "{api:?}");
    assert!(
        api.reason
            .as_deref()
            .unwrap()
            .ends_with("(not registered by a release), not a revision of this release: left alone"),
        "{api:?}"
    );
    assert_eq!(running(&aws, &c, "api").await, r.new[1]);
}
