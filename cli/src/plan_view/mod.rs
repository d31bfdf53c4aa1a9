//! What a release would change, item by item: the plan (the plan-release function's validation
//! and pre-flight, `release_core::steps::plan_release::plan`), then per item the images and the
//! task-definition and service fields that would change, by the same rewrite the deploy-batch
//! function performs when it registers (`release_core::decide::taskdef::rewrite`).

mod remembered;
pub mod render;

use aws_sdk_ecs::types::Service;
use release_core::aws::{CodeDeployApi, EcsApi, EventsApi, SchedulerApi};
use release_core::contract::{
    CodeDeployTarget, ImageMap, JobItem, Plan, ReleaseInput, RuleItem, ServiceItem,
};
use release_core::decide::job;
use release_core::decide::preflight::{is_code_deploy, Reach};
use release_core::decide::taskdef::{current_images, rewrite};
use release_core::steps::plan_release::plan;
use release_core::Error;
use serde::Serialize;

use remembered::Remembered;

/// What the release would do, item by item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanView {
    pub release_id: String,
    pub source: String,
    /// Items (services and rule targets) that would change / stay as they are.
    pub changed: usize,
    pub unchanged: usize,
    /// The waves `dependsOn` makes, without those where nothing changes: 1 without `dependsOn`.
    pub waves: u32,
    pub services: Vec<ServiceChange>,
    pub rules: Vec<RuleChange>,
    /// EventBridge Scheduler schedules whose ECS target the release points at a new revision.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<ScheduleChange>,
    /// Jobs: each runs once, whatever else changes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<JobChange>,
    /// What the plan's author may want to know before approving it (a job that services of its own
    /// wave do not wait for).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A schedule's ECS target: the task definition it runs and what the release changes over it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleChange {
    pub id: String,
    /// Its wave, from 0.
    pub wave: u32,
    #[serde(flatten)]
    pub change: DefinitionChange,
}

/// A job: the revision its task runs (a new one when its images are not in the family's newest
/// revision), and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobChange {
    pub id: String,
    /// Its wave, from 0.
    pub wave: u32,
    /// `changes`: a new revision is registered for it; else it runs `taskDefinition` as it is.
    #[serde(flatten)]
    pub change: DefinitionChange,
    /// Per container given one: the command it runs instead of the definition's.
    pub commands: Vec<(String, String)>,
    pub timeout_seconds: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceChange {
    pub id: String,
    /// Its wave, from 0 (text and Markdown say `wave 1`).
    pub wave: u32,
    /// How it will be rolled out: `ROLLING`, `BLUE_GREEN (bake 5 min)`, … by ECS, or
    /// `CODE_DEPLOY app/group, config` by CodeDeploy (a CODE_DEPLOY service).
    pub strategy: String,
    /// A changed CODE_DEPLOY service's deployment group, as pre-flight resolved it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_deploy: Option<CodeDeployTarget>,
    #[serde(flatten)]
    pub change: DefinitionChange,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleChange {
    pub id: String,
    /// Its wave, from 0.
    pub wave: u32,
    pub changes: bool,
    pub targets: Vec<TargetChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetChange {
    pub target_id: String,
    #[serde(flatten)]
    pub change: DefinitionChange,
}

/// What a service or rule target would get: the task definition it runs now and what the release
/// changes over it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionChange {
    pub changes: bool,
    /// What the item runs now.
    pub task_definition: String,
    /// The named containers: current → desired image.
    pub images: Vec<ImageChange>,
    /// Task-definition fields (and a service's own fields) that would change, besides the images.
    pub fields: Vec<FieldChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageChange {
    pub container: String,
    pub current: String,
    pub desired: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    pub field: String,
    pub current: Option<String>,
    pub desired: String,
}

/// Plans the release against AWS (the plan-release function's validation and pre-flight) and
/// describes what each item would change, from what the pre-flight described.
pub async fn plan_view(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    codedeploy: &impl CodeDeployApi,
    scheduler: &impl SchedulerApi,
    release: ReleaseInput,
    reach: &Reach,
) -> Result<PlanView, Error> {
    let ecs = Remembered::new(ecs);
    let plan = plan(&ecs, events, codedeploy, scheduler, release, reach).await?;
    let mut service_changes = Vec::with_capacity(plan.services.len());
    for item in &plan.services {
        let service = ecs.service(&item.id);
        service_changes.push(service_change(&ecs, &plan, item, service.as_ref()).await?);
    }
    let mut rule_changes = Vec::with_capacity(plan.tasks.len());
    for rule in &plan.tasks {
        rule_changes.push(rule_change(&ecs, &plan, rule).await?);
    }
    let mut schedule_changes = Vec::with_capacity(plan.schedules.len());
    for item in &plan.schedules {
        let change = definition_change(
            &ecs,
            &item.previous_task_definition,
            &item.images,
            item.noop,
            &plan.release.id,
        )
        .await?;
        schedule_changes.push(ScheduleChange {
            id: item.id.clone(),
            wave: item.wave,
            change,
        });
    }
    let mut job_changes = Vec::with_capacity(plan.jobs.len());
    for job in &plan.jobs {
        job_changes.push(job_change(&ecs, &plan, job).await?);
    }
    let items = service_changes.iter().map(|s| s.change.changes).chain(
        rule_changes
            .iter()
            .flat_map(|r| r.targets.iter().map(|t| t.change.changes)),
    );
    let items = items.chain(schedule_changes.iter().map(|s| s.change.changes));
    // A job runs whether or not it registers: it is a change.
    let items = items.chain(job_changes.iter().map(|_| true));
    let (changed, unchanged) = items.fold(
        (0, 0),
        |(c, u), changes| {
            if changes {
                (c + 1, u)
            } else {
                (c, u + 1)
            }
        },
    );
    let last_wave = service_changes.iter().map(|s| s.wave);
    let last_wave = last_wave
        .chain(rule_changes.iter().map(|r| r.wave))
        .chain(schedule_changes.iter().map(|s| s.wave))
        .chain(job_changes.iter().map(|j| j.wave))
        .max();
    Ok(PlanView {
        release_id: plan.release.id.clone(),
        source: plan.release.source.clone(),
        changed,
        unchanged,
        waves: last_wave.map_or(1, |w| w + 1),
        services: service_changes,
        rules: rule_changes,
        schedules: schedule_changes,
        jobs: job_changes,
        warnings: job::plan_warnings(&plan),
    })
}

async fn job_change(ecs: &impl EcsApi, plan: &Plan, job: &JobItem) -> Result<JobChange, Error> {
    let registers = job.new_task_definition.is_none();
    let change = definition_change(
        ecs,
        &job.previous_task_definition,
        &job.images,
        !registers,
        &plan.release.id,
    )
    .await?;
    let commands = job
        .overrides
        .iter()
        .filter_map(|(container, o)| Some((container.clone(), o.command.as_ref()?.join(" "))))
        .collect();
    Ok(JobChange {
        id: job.id.clone(),
        wave: job.wave,
        change,
        commands,
        timeout_seconds: job.timeout_seconds,
    })
}

/// The images and task-definition fields registering `images` over `previous` would change: the
/// same rewrite deploy-batch performs when it registers. A no-op item registers nothing, so its tags
/// stay too.
async fn definition_change(
    ecs: &impl EcsApi,
    previous: &str,
    images: &ImageMap,
    noop: bool,
    release_id: &str,
) -> Result<DefinitionChange, Error> {
    let (current, tags) = &ecs.describe_task_definition(previous).await?;
    let desired = rewrite(current, tags, images, release_id)?;
    let before = current_images(current);
    let after = current_images(&desired.definition);
    let image_changes = images
        .keys()
        .map(|container| ImageChange {
            container: container.clone(),
            current: before.get(container).cloned().unwrap_or_default(),
            desired: after.get(container).cloned().unwrap_or_default(),
        })
        .collect();
    let old_tag = |key: &str| {
        tags.iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value().map(str::to_owned))
    };
    let fields = desired
        .tags
        .iter()
        .filter_map(|t| {
            let key = t.key()?;
            let value = t.value().unwrap_or_default();
            let current = old_tag(key);
            (current.as_deref() != Some(value)).then(|| FieldChange {
                field: format!("tags.{key}"),
                current,
                desired: value.to_owned(),
            })
        })
        .collect();
    Ok(DefinitionChange {
        changes: !noop,
        task_definition: previous.to_owned(),
        images: image_changes,
        fields: if noop { Vec::new() } else { fields },
    })
}

fn service_fields(item: &ServiceItem, service: Option<&Service>) -> Vec<FieldChange> {
    let config = service.and_then(|s| s.deployment_configuration());
    let wanted = [
        (
            "desiredCount",
            item.desired_count,
            service.map(|s| s.desired_count()),
        ),
        (
            "deploymentConfiguration.minimumHealthyPercent",
            item.minimum_healthy_percent,
            config.and_then(|c| c.minimum_healthy_percent()),
        ),
        (
            "deploymentConfiguration.maximumPercent",
            item.maximum_percent,
            config.and_then(|c| c.maximum_percent()),
        ),
    ];
    let mut changes: Vec<FieldChange> = wanted
        .into_iter()
        .filter_map(|(field, desired, current)| {
            let desired = desired?;
            (current != Some(desired)).then(|| FieldChange {
                field: field.into(),
                current: current.map(|c| c.to_string()),
                desired: desired.to_string(),
            })
        })
        .collect();
    // CodeDeploy deploys a CODE_DEPLOY service: ECS's strategy is not its to change.
    if item.code_deploy.is_some() || service.is_some_and(is_code_deploy) {
        return changes;
    }
    let had = item.previous_deployment_strategy.unwrap_or_default();
    if let Some(set) = item.deployment_strategy.filter(|set| *set != had) {
        changes.push(FieldChange {
            field: "deploymentConfiguration.strategy".into(),
            current: Some(had.to_string()),
            desired: set.to_string(),
        });
    }
    changes
}

async fn service_change(
    ecs: &impl EcsApi,
    plan: &Plan,
    item: &ServiceItem,
    service: Option<&Service>,
) -> Result<ServiceChange, Error> {
    let mut change = definition_change(
        ecs,
        &item.previous_task_definition,
        &item.images,
        item.noop,
        &plan.release.id,
    )
    .await?;
    change.fields.extend(service_fields(item, service));
    Ok(ServiceChange {
        id: item.id.clone(),
        wave: item.wave,
        strategy: strategy(item, service),
        code_deploy: item.code_deploy.clone(),
        change,
    })
}

/// How the item will be rolled out: ECS's strategy (`BLUE_GREEN (bake 5 min)`), or for a
/// CODE_DEPLOY service its deployment group and configuration (`CODE_DEPLOY app/group, config`,
/// `, waits for blue termination` when it does). Pre-flight resolves the group of a changed
/// service only: an unchanged one is just `CODE_DEPLOY`.
fn strategy(item: &ServiceItem, service: Option<&Service>) -> String {
    match &item.code_deploy {
        Some(target) => {
            let mut text = format!(
                "CODE_DEPLOY {}, {}",
                target.group_label(),
                target.deployment_config
            );
            if target.wait_for_termination {
                text.push_str(", waits for blue termination");
            }
            text
        }
        None if service.is_some_and(is_code_deploy) => "CODE_DEPLOY".to_owned(),
        None => item.strategy().to_string(),
    }
}

async fn rule_change(ecs: &impl EcsApi, plan: &Plan, rule: &RuleItem) -> Result<RuleChange, Error> {
    let mut targets = Vec::with_capacity(rule.targets.len());
    for target in &rule.targets {
        let change = definition_change(
            ecs,
            &target.previous_task_definition,
            &target.images,
            target.noop,
            &plan.release.id,
        )
        .await?;
        targets.push(TargetChange {
            target_id: target.target_id.clone(),
            change,
        });
    }
    Ok(RuleChange {
        id: rule.id.clone(),
        wave: rule.wave,
        changes: !rule.noop,
        targets,
    })
}

#[cfg(test)]
mod tests {
    use aws_sdk_ecs::types::DeploymentControllerType;
    use aws_sdk_eventbridge::types::{PutTargetsResultEntry, Target};
    use release_core::aws::fake::FakeEcs;
    use release_core::aws::fake_codedeploy::FakeCodeDeploy;
    use release_core::aws::fake_scheduler::FakeScheduler;
    use release_core::aws::RuleInfo;
    use release_core::decide::manifest;

    use super::*;

    /// A release without rules never asks EventBridge.
    struct NoRules;

    impl EventsApi for NoRules {
        async fn describe_rule(&self, _: &str, _: &str) -> Result<Option<RuleInfo>, Error> {
            unreachable!("no rules in the release")
        }
        async fn list_targets(&self, _: &str, _: &str) -> Result<Vec<Target>, Error> {
            unreachable!("no rules in the release")
        }
        async fn put_targets(
            &self,
            _: &str,
            _: &str,
            _: &[Target],
        ) -> Result<Vec<PutTargetsResultEntry>, Error> {
            unreachable!("no rules in the release")
        }
    }

    #[test]
    fn the_view_asks_ecs_nothing_the_pre_flight_did_not() {
        let ecs = FakeEcs::default().cluster("prod", "ACTIVE");
        let web = ecs.definition("web", &[("web", "r/web:1")], &[]);
        let api = ecs.definition("api", &[("api", "r/api:1")], &[]);
        let ecs = ecs
            .service("prod", "web", &web, "ACTIVE", DeploymentControllerType::Ecs)
            .service("prod", "api", &api, "ACTIVE", DeploymentControllerType::Ecs);
        let release = manifest::validate(
            "d.yaml",
            "services:\n  - {service: web, clusterName: prod, serviceName: web, image: r/web:2, desiredCount: 3}\n  \
             - {service: api, clusterName: prod, serviceName: api, image: r/api:1}\n",
        )
        .unwrap();
        let view = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(plan_view(
                &ecs,
                &NoRules,
                &FakeCodeDeploy::default(),
                &FakeScheduler::default(),
                release,
                &Reach::default(),
            ))
            .unwrap();
        assert_eq!((view.changed, view.unchanged), (1, 1));
        let web = &view.services[0].change;
        assert_eq!(web.images[0].desired, "r/web:2");
        assert!(
            web.fields.iter().any(|f| f.field == "desiredCount"),
            "{web:?}"
        );
        // Each service and task definition described once, by the pre-flight.
        assert_eq!(ecs.calls("DescribeTaskDefinition"), 2);
        assert_eq!(ecs.calls("DescribeServices"), 1);
    }

    /// prod/db changes; prod/cache (after db) already runs its image; prod/web (after cache)
    /// changes; prod/api (no dependsOn) already runs its image.
    fn ordered_view(yaml: &str) -> PlanView {
        let ecs = FakeEcs::default().cluster("prod", "ACTIVE");
        let mut with = ecs;
        for name in ["db", "cache", "web", "api"] {
            let td = with.definition(name, &[(name, &format!("r/{name}:1"))], &[]);
            with = with.service("prod", name, &td, "ACTIVE", DeploymentControllerType::Ecs);
        }
        let release = manifest::validate("d.yaml", yaml).unwrap();
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(plan_view(
                &with,
                &NoRules,
                &FakeCodeDeploy::default(),
                &FakeScheduler::default(),
                release,
                &Reach::default(),
            ))
            .unwrap()
    }

    #[test]
    fn a_schedule_shows_the_revision_its_target_runs_and_the_images_it_gets() {
        let ecs = FakeEcs::default().cluster("prod", "ACTIVE");
        let report = ecs.definition("report", &[("report", "r/report:1")], &[]);
        let scheduler = FakeScheduler::default().schedule(
            release_core::aws::fake_scheduler::ecs_schedule("reports", "nightly", &report),
        );
        let release = manifest::validate(
            "d.yaml",
            "schedules:\n  - {scheduleName: nightly, groupName: reports, service: report, image: r/report:2}\n",
        )
        .unwrap();
        let view = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(plan_view(
                &ecs,
                &NoRules,
                &FakeCodeDeploy::default(),
                &scheduler,
                release,
                &Reach::default(),
            ))
            .unwrap();
        assert_eq!((view.changed, view.unchanged), (1, 0));
        let text = render::text(&view, false);
        assert!(
            text.contains("\n~ schedule reports/nightly  (new revision of report:1)\n    container report: r/report:1 -> r/report:2\n"),
            "{text}"
        );
        let markdown = render::markdown(&view);
        assert!(
            markdown.contains("| 🔄 | schedule `reports/nightly` | `report:1` |"),
            "{markdown}"
        );
    }

    /// db's migration runs first, then db; web does not wait for it (a warning).
    #[test]
    fn a_job_runs_in_its_wave_and_services_beside_it_are_warned_about() {
        let yaml = "services:\n  \
            - {service: db, clusterName: prod, serviceName: db, image: r/db:2, dependsOn: [migrate]}\n  \
            - {service: web, clusterName: prod, serviceName: web, image: r/web:2}\n\
            jobs:\n  \
            - {name: migrate, clusterName: prod, taskDefinition: db, image: r/db:2, service: db, \
               timeoutSeconds: 600, overrides: {db: {command: [bin/migrate, up]}}}\n";
        let view = ordered_view(yaml);
        assert_eq!(view.jobs.len(), 1);
        let job = &view.jobs[0];
        assert_eq!((job.id.as_str(), job.wave), ("prod/migrate", 0));
        assert!(job.change.changes, "a new revision of db for the job");
        assert_eq!(
            job.commands,
            [("db".to_owned(), "bin/migrate up".to_owned())]
        );
        // db, web and the job change, in two waves: the job and web, then db.
        assert_eq!((view.changed, view.unchanged, view.waves), (3, 0, 2));
        assert_eq!(
            view.warnings,
            [
                "job prod/migrate runs in wave 1 alongside prod/web, which do not wait for it: a \
              service that needs it done names it in `dependsOn: [migrate]`"
            ]
        );
        let text = render::text(&view, false);
        assert!(
            text.contains("\n> job prod/migrate  (runs once: new revision of db:1, timeout 600 s)\n    container db: r/db:1 -> r/db:2\n    container db runs: bin/migrate up\n"),
            "{text}"
        );
        assert!(
            text.ends_with(&format!("\nwarning: {}\n", view.warnings[0])),
            "{text}"
        );
        let markdown = render::markdown(&view);
        let row = markdown
            .lines()
            .find(|l| l.starts_with("| ▶️ |"))
            .unwrap_or_default();
        assert!(
            row.starts_with("| ▶️ | job `prod/migrate`, runs once (timeout 600 s) | `db:1` | `db`: `r/db:1` → `r/db:2`<br>"),
            "{markdown}"
        );
        assert!(row.ends_with("<br>`db` runs `bin/migrate up` |"), "{row}");
        assert!(
            markdown.contains("> ⚠️ job prod/migrate runs in wave 1"),
            "{markdown}"
        );
    }

    const ORDERED: &str = "services:\n  \
        - {service: db, clusterName: prod, serviceName: db, image: r/db:2}\n  \
        - {service: cache, clusterName: prod, serviceName: cache, image: r/cache:1, dependsOn: [prod/db]}\n  \
        - {service: web, clusterName: prod, serviceName: web, image: r/web:2, dependsOn: [prod/cache]}\n  \
        - {service: api, clusterName: prod, serviceName: api, image: r/api:1}\n";

    #[test]
    fn items_are_grouped_by_wave_without_the_waves_that_change_nothing() {
        let view = ordered_view(ORDERED);
        // db, cache | (nothing changes) | web: the middle wave is dropped; cache shows in wave 1.
        let waves: Vec<(&str, u32)> = view
            .services
            .iter()
            .map(|s| (s.id.as_str(), s.wave))
            .collect();
        assert_eq!(
            waves,
            [
                ("prod/db", 0),
                ("prod/cache", 0),
                ("prod/web", 1),
                ("prod/api", 0)
            ]
        );
        assert_eq!(view.waves, 2);

        let text = render::text(&view, false);
        assert!(text.starts_with("release "), "{text}");
        assert!(
            text.contains(": 2 items to change, 2 unchanged, in 2 waves\n"),
            "{text}"
        );
        let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("wave ")).collect();
        assert_eq!(headers, ["wave 1", "wave 2"], "{text}");
        let order: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("wave ") || l.contains(" service "))
            .map(|l| l.split("  (").next().unwrap_or(l))
            .collect();
        assert_eq!(
            order,
            [
                "wave 1",
                "~ service prod/db [ROLLING]",
                "= service prod/cache [ROLLING]",
                "= service prod/api [ROLLING]",
                "wave 2",
                "~ service prod/web [ROLLING]",
            ],
            "{text}"
        );

        let markdown = render::markdown(&view);
        assert!(
            markdown.contains("2 unchanged, in 2 waves (`d.yaml`)."),
            "{markdown}"
        );
        let wave_2 = markdown.split("#### Wave 2\n").nth(1).expect(&markdown);
        assert!(markdown.contains("#### Wave 1\n\n| | Item |"), "{markdown}");
        assert!(wave_2.contains("service `prod/web`"), "{markdown}");
        assert!(!wave_2.contains("service `prod/db`"), "{markdown}");

        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["waves"], 2);
        assert_eq!(json["services"][2]["wave"], 1);
        assert_eq!(json["services"][0]["wave"], 0);
    }

    #[test]
    fn one_wave_has_no_wave_headers() {
        // Without dependsOn, and when only one wave changes anything.
        for yaml in [
            ORDERED
                .replace(", dependsOn: [prod/db]", "")
                .replace(", dependsOn: [prod/cache]", ""),
            ORDERED.replace("r/db:2", "r/db:1"),
        ] {
            let view = ordered_view(&yaml);
            assert_eq!(view.waves, 1, "{yaml}");
            assert!(view.services.iter().all(|s| s.wave == 0), "{view:?}");
            let text = render::text(&view, false);
            assert!(!text.contains("wave"), "{text}");
            assert!(!render::markdown(&view).contains("Wave"));
            assert_eq!(
                serde_json::to_value(&view).unwrap()["services"][0]["wave"],
                0
            );
        }
    }

    const CANARY: &str = "CodeDeployDefault.ECSCanary10Percent5Minutes";

    /// prod/shop (CODE_DEPLOY, its default group deploying it with [`CANARY`]) changes image;
    /// prod/cart (CODE_DEPLOY too) already runs its image; prod/web (ECS) changes its strategy.
    fn code_deploy_view(shop: &str) -> PlanView {
        let ecs = FakeEcs::default().cluster("prod", "ACTIVE");
        let shop_td = ecs.definition("shop", &[("shop", "r/shop:1")], &[]);
        let cart_td = ecs.definition("cart", &[("cart", "r/cart:1")], &[]);
        let web_td = ecs.definition("web", &[("web", "r/web:1")], &[]);
        let ecs = ecs
            .service(
                "prod",
                "shop",
                &shop_td,
                "ACTIVE",
                DeploymentControllerType::CodeDeploy,
            )
            .service(
                "prod",
                "cart",
                &cart_td,
                "ACTIVE",
                DeploymentControllerType::CodeDeploy,
            )
            .service(
                "prod",
                "web",
                &web_td,
                "ACTIVE",
                DeploymentControllerType::Ecs,
            );
        ecs.load_balancer("prod", "shop", "shop", 8080);
        ecs.load_balancer("prod", "cart", "cart", 8080);
        let codedeploy = FakeCodeDeploy::default().group(
            "AppECS-prod-shop",
            "DgpECS-prod-shop",
            "prod",
            "shop",
            CANARY,
        );
        let release = manifest::validate(
            "d.yaml",
            &format!(
                "services:\n  - {{service: shop, clusterName: prod, serviceName: shop, image: r/shop:2{shop}}}\n  \
                 - {{service: cart, clusterName: prod, serviceName: cart, image: r/cart:1}}\n  \
                 - {{service: web, clusterName: prod, serviceName: web, image: r/web:2, strategy: BLUE_GREEN, bakeTimeInMinutes: 5}}\n"
            ),
        )
        .unwrap();
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(plan_view(
                &ecs,
                &NoRules,
                &codedeploy,
                &FakeScheduler::default(),
                release,
                &Reach::default(),
            ))
            .unwrap()
    }

    #[test]
    fn a_code_deploy_service_shows_its_deployment_group_and_configuration() {
        let view = code_deploy_view("");
        let [shop, cart, web] = &view.services[..] else {
            panic!("{view:?}")
        };
        assert_eq!(
            shop.strategy,
            format!("CODE_DEPLOY AppECS-prod-shop/DgpECS-prod-shop, {CANARY}")
        );
        assert_eq!(
            shop.code_deploy
                .as_ref()
                .map(|t| t.deployment_config.as_str()),
            Some(CANARY)
        );
        // Unchanged, its group is not resolved: CodeDeploy deploys it all the same.
        assert_eq!(cart.strategy, "CODE_DEPLOY");
        assert_eq!(cart.code_deploy, None);
        assert_eq!(web.strategy, "BLUE_GREEN (bake 5 min)");

        // Never a strategy change for a CODE_DEPLOY service; ECS's services keep theirs.
        let fields = |s: &ServiceChange| -> Vec<String> {
            s.change.fields.iter().map(|f| f.field.clone()).collect()
        };
        assert!(
            !fields(shop)
                .iter()
                .any(|f| f.starts_with("deploymentConfiguration")),
            "{shop:?}"
        );
        assert!(
            fields(web).contains(&"deploymentConfiguration.strategy".to_owned()),
            "{web:?}"
        );

        let text = render::text(&view, false);
        assert!(
            text.contains(&format!(
                "~ service prod/shop [CODE_DEPLOY AppECS-prod-shop/DgpECS-prod-shop, {CANARY}]  (new revision of shop:"
            )),
            "{text}"
        );
        assert!(
            text.contains("= service prod/cart [CODE_DEPLOY]  (unchanged, cart:"),
            "{text}"
        );
        let markdown = render::markdown(&view);
        assert!(
            markdown.contains(&format!(
                "| service `prod/shop`, CODE_DEPLOY `AppECS-prod-shop/DgpECS-prod-shop`, `{CANARY}` |"
            )),
            "{markdown}"
        );
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(
            json["services"][0]["strategy"],
            format!("CODE_DEPLOY AppECS-prod-shop/DgpECS-prod-shop, {CANARY}")
        );
        assert_eq!(
            json["services"][0]["codeDeploy"]["deploymentGroup"],
            "DgpECS-prod-shop"
        );
        assert_eq!(
            json["services"][0]["codeDeploy"]["deploymentConfig"],
            CANARY
        );
        assert!(json["services"][1].get("codeDeploy").is_none(), "{json}");
    }

    #[test]
    fn a_code_deploy_service_awaiting_blue_termination_says_so() {
        let view = code_deploy_view(", codeDeploy: {waitForTermination: true}");
        let shop = &view.services[0];
        let expected = format!(
            "CODE_DEPLOY AppECS-prod-shop/DgpECS-prod-shop, {CANARY}, waits for blue termination"
        );
        assert_eq!(shop.strategy, expected);
        let text = render::text(&view, false);
        assert!(
            text.contains(&format!("service prod/shop [{expected}]")),
            "{text}"
        );
        let markdown = render::markdown(&view);
        assert!(
            markdown.contains(&format!(
                "CODE_DEPLOY `AppECS-prod-shop/DgpECS-prod-shop`, `{CANARY}`, waits for blue termination |"
            )),
            "{markdown}"
        );
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(
            json["services"][0]["codeDeploy"]["waitForTermination"],
            true
        );
    }
}
