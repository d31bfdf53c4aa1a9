//! Which items each rollback policy restores, as a table.

use release_core::contract::{
    CaughtError, DeploymentStatus, ItemResult, Outcome, Plan, ReleaseMeta, RollbackPolicy,
    RuleItem, RuleTaskTarget, RuleUpdate, ServiceDeployment, ServiceItem, Settings,
};
use release_core::decide::rollback::select;

fn service(name: &str, noop: bool) -> ServiceItem {
    ServiceItem {
        id: format!("c/{name}"),
        cluster: "c".into(),
        service: name.into(),
        previous_task_definition: format!("{name}:1"),
        previous_desired_count: None,
        previous_minimum_healthy_percent: None,
        previous_maximum_percent: None,
        images: Default::default(),
        noop,
        desired_count: None,
        minimum_healthy_percent: None,
        maximum_percent: None,
        timeout_seconds: 60,
        new_task_definition: None,
        previous_deployment_strategy: None,
        deployment_strategy: None,
        code_deploy: None,
        wave: 0,
        auto_scaling: None,
    }
}

fn plan(policy: RollbackPolicy) -> Plan {
    let target = |id: &str| RuleTaskTarget {
        target_id: id.into(),
        previous_task_definition: "job:1".into(),
        images: Default::default(),
        noop: id == "same",
        new_task_definition: None,
    };
    Plan {
        release: ReleaseMeta {
            id: "r".into(),
            description: None,
            source: "-".into(),
            commit: None,
        },
        settings: Settings {
            rollback: policy,
            ..Settings::default()
        },
        // ok: succeeded; bad: failed rollout; err: its step errored; lost: no result; same: no-op
        services: ["ok", "bad", "err", "lost"]
            .map(|n| service(n, false))
            .into_iter()
            .chain([service("same", true)])
            .collect(),
        tasks: vec![
            RuleItem {
                id: "default/fine".into(),
                rule: "fine".into(),
                event_bus: "default".into(),
                noop: false,
                targets: vec![target("t"), target("same")],
                wave: 0,
            },
            RuleItem {
                id: "default/broken".into(),
                rule: "broken".into(),
                event_bus: "default".into(),
                noop: false,
                targets: vec![target("t")],
                wave: 0,
            },
        ],
        changed_services: 4,
        changed_tasks: 2,
        jobs: Vec::new(),
        schedules: Vec::new(),
        problems: Vec::new(),
    }
}

fn deployment(name: &str) -> ServiceDeployment {
    ServiceDeployment {
        id: format!("c/{name}"),
        cluster: "c".into(),
        service: name.into(),
        previous_task_definition: format!("{name}:1"),
        new_task_definition: format!("{name}:2"),
        deployment_id: "ecs-svc/1".into(),
        deadline: 0,
        strategy: Default::default(),
        service_deployment_arn: None,
        awaits: Default::default(),
        code_deploy: None,
    }
}

fn caught() -> Option<CaughtError> {
    Some(CaughtError {
        error: "Throttled".into(),
        cause: String::new(),
    })
}

#[test]
fn each_policy_selects_its_items() {
    let results = vec![
        ItemResult {
            id: "c/ok".into(),
            deployment: Some(deployment("ok")),
            rule: None,
            error: None,
            job: None,
            schedule: None,
            kind: None,
        },
        ItemResult {
            id: "c/bad".into(),
            deployment: Some(deployment("bad")),
            rule: None,
            error: None,
            job: None,
            schedule: None,
            kind: None,
        },
        ItemResult {
            id: "c/err".into(),
            deployment: None,
            rule: None,
            error: caught(),
            job: None,
            schedule: None,
            kind: None,
        },
        ItemResult {
            id: "default/fine".into(),
            deployment: None,
            rule: Some(RuleUpdate {
                id: "default/fine".into(),
                rule: "fine".into(),
                event_bus: "default".into(),
                targets: Vec::new(),
            }),
            error: None,
            job: None,
            schedule: None,
            kind: None,
        },
        ItemResult {
            id: "default/broken".into(),
            deployment: None,
            rule: None,
            error: caught(),
            job: None,
            schedule: None,
            kind: None,
        },
    ];
    let stability = release_core::decide::verdict::summarize(
        vec![
            DeploymentStatus {
                deployment: deployment("ok"),
                outcome: Outcome::Succeeded,
                reason: None,
                stopped_reasons: Vec::new(),
                stage: None,
            },
            DeploymentStatus {
                deployment: deployment("bad"),
                outcome: Outcome::Superseded,
                reason: None,
                stopped_reasons: Vec::new(),
                stage: None,
            },
        ],
        Vec::new(),
    );
    let cases: [(RollbackPolicy, &[&str], &[&str]); 3] = [
        (
            RollbackPolicy::All,
            &[
                "c/ok",
                "c/bad",
                "c/err",
                "c/lost",
                "default/fine/t",
                "default/broken/t",
            ],
            &[],
        ),
        (
            RollbackPolicy::Failed,
            &["c/bad", "c/err", "c/lost", "default/broken/t"],
            &["c/ok", "default/fine/t"],
        ),
        (
            RollbackPolicy::None,
            &[],
            &[
                "c/ok",
                "c/bad",
                "c/err",
                "c/lost",
                "default/fine/t",
                "default/broken/t",
            ],
        ),
    ];
    for (policy, restore, skip) in cases {
        let plan = plan(policy);
        let selection = select(&plan, &results, Some(&stability));
        let restored: Vec<String> = selection.restore.iter().map(|c| c.id()).collect();
        let skipped: Vec<String> = selection.skip.iter().map(|(c, _)| c.id()).collect();
        assert_eq!(restored, restore, "{policy:?} restores");
        assert_eq!(skipped, skip, "{policy:?} skips");
    }
}

#[test]
fn the_new_task_definition_comes_from_the_map_result() {
    let plan = plan(RollbackPolicy::All);
    let results = vec![ItemResult {
        id: "c/ok".into(),
        deployment: Some(deployment("ok")),
        rule: None,
        error: None,
        job: None,
        schedule: None,
        kind: None,
    }];
    let selection = select(&plan, &results, None);
    match &selection.restore[0] {
        release_core::decide::rollback::Candidate::Service {
            new_task_definition,
            ..
        } => assert_eq!(new_task_definition.as_deref(), Some("ok:2")),
        other => panic!("expected a service first, got {other:?}"),
    }
}
