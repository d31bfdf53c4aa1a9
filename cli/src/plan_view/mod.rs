//! `convoy plan FILE`: what a release would change, read-only. The same validation and pre-flight
//! as the plan-release function (`release_core::plan::plan`), then, per item, the images and the
//! task-definition and service fields that would change (`release_core::taskdef::rewrite`).
//!
//! Exit 0: nothing would change; 2: something would (for CI); 1: invalid manifest or pre-flight
//! problems (every one listed).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use aws_sdk_ecs::types::{Service, Tag, TaskDefinition};
use clap::ValueEnum;
use release_core::aws::EcsApi;
use release_core::step::{ImageMap, Plan, ReleaseInput, RuleItem, ServiceItem};
use release_core::taskdef::{current_images, rewrite};
use release_core::Error;
use serde::Serialize;

use crate::aws::{Aws, AwsArgs};
use crate::output::{paint, plural, problems_found, short, Tone};

/// Exit code when the release would change something.
pub const EXIT_CHANGES: u8 = 2;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest (`deployment.yaml`), or `-` for stdin.
    file: PathBuf,
    /// `text` for people, `json` for machines, `markdown` for a pull-request comment.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

/// What the release would do, item by item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanView {
    pub release_id: String,
    pub source: String,
    /// Items (services and rule targets) that would change / stay as they are.
    pub changed: usize,
    pub unchanged: usize,
    pub services: Vec<ServiceChange>,
    pub rules: Vec<RuleChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceChange {
    pub id: String,
    #[serde(flatten)]
    pub change: DefinitionChange,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleChange {
    pub id: String,
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

pub async fn run(args: &Args) -> ExitCode {
    let (name, release) = match crate::io::read_release(&args.file, "manifest invalid") {
        Ok(read) => read,
        Err(code) => return code,
    };
    let aws = match Aws::connect(&args.aws).await {
        Ok(aws) => aws,
        Err(e) => return crate::output::fail(&e),
    };
    let view = match view(&aws, release).await {
        Ok(view) => view,
        Err(Error::ManifestInvalid(problems)) => {
            return problems_found(&name, "manifest invalid", &problems)
        }
        Err(Error::PreflightFailed(problems)) => {
            return problems_found(&name, "pre-flight failed", &problems)
        }
        Err(e) => return crate::output::fail(&e),
    };
    let text = match args.format {
        Format::Text => text(&view, crate::output::stdout_color()),
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&view).expect("a plan view serializes")
        ),
        Format::Markdown => markdown(&view),
    };
    crate::io::print(&text);
    if view.changed > 0 {
        ExitCode::from(EXIT_CHANGES)
    } else {
        ExitCode::SUCCESS
    }
}

/// Plans the release against AWS and describes what each item would change.
pub async fn view(aws: &Aws, release: ReleaseInput) -> Result<PlanView, Error> {
    let plan = release_core::plan::plan(&aws.ecs, &aws.events, release.clone()).await?;
    let mut definitions = Definitions::default();
    let services = current_services(&aws.ecs, &plan.services).await?;
    let mut service_changes = Vec::with_capacity(plan.services.len());
    for item in &plan.services {
        let service = services.get(&item.id);
        service_changes
            .push(service_change(&aws.ecs, &mut definitions, &plan, item, service).await?);
    }
    let mut rule_changes = Vec::with_capacity(plan.tasks.len());
    for rule in &plan.tasks {
        rule_changes.push(rule_change(&aws.ecs, &mut definitions, &plan, rule).await?);
    }
    let items = service_changes.iter().map(|s| s.change.changes).chain(
        rule_changes
            .iter()
            .flat_map(|r| r.targets.iter().map(|t| t.change.changes)),
    );
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
    Ok(PlanView {
        release_id: plan.release.id.clone(),
        source: plan.release.source.clone(),
        changed,
        unchanged,
        services: service_changes,
        rules: rule_changes,
    })
}

/// Task definitions described once per ARN.
#[derive(Default)]
struct Definitions(BTreeMap<String, (TaskDefinition, Vec<Tag>)>);

impl Definitions {
    async fn get(
        &mut self,
        ecs: &impl EcsApi,
        arn: &str,
    ) -> Result<&(TaskDefinition, Vec<Tag>), Error> {
        if !self.0.contains_key(arn) {
            let described = ecs.describe_task_definition(arn).await?;
            self.0.insert(arn.to_owned(), described);
        }
        Ok(&self.0[arn])
    }
}

/// The planned services as they are now, by item id.
async fn current_services(
    ecs: &impl EcsApi,
    items: &[ServiceItem],
) -> Result<BTreeMap<String, Service>, Error> {
    let mut by_cluster: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for item in items {
        by_cluster
            .entry(&item.cluster)
            .or_default()
            .push(item.service.clone());
    }
    let mut found = BTreeMap::new();
    for (cluster, names) in by_cluster {
        for service in ecs.describe_services(cluster, &names).await?.items {
            let name = service.service_name().unwrap_or_default();
            found.insert(format!("{cluster}/{name}"), service);
        }
    }
    Ok(found)
}

/// The images and task-definition fields registering `images` over `previous` would change: the
/// same rewrite register-task-definition performs. A no-op item registers nothing, so its tags
/// stay too.
async fn definition_change(
    ecs: &impl EcsApi,
    definitions: &mut Definitions,
    previous: &str,
    images: &ImageMap,
    noop: bool,
    release_id: &str,
) -> Result<DefinitionChange, Error> {
    let (current, tags) = definitions.get(ecs, previous).await?;
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
    wanted
        .into_iter()
        .filter_map(|(field, desired, current)| {
            let desired = desired?;
            (current != Some(desired)).then(|| FieldChange {
                field: field.into(),
                current: current.map(|c| c.to_string()),
                desired: desired.to_string(),
            })
        })
        .collect()
}

async fn service_change(
    ecs: &impl EcsApi,
    definitions: &mut Definitions,
    plan: &Plan,
    item: &ServiceItem,
    service: Option<&Service>,
) -> Result<ServiceChange, Error> {
    let mut change = definition_change(
        ecs,
        definitions,
        &item.previous_task_definition,
        &item.images,
        item.noop,
        &plan.release.id,
    )
    .await?;
    change.fields.extend(service_fields(item, service));
    Ok(ServiceChange {
        id: item.id.clone(),
        change,
    })
}

async fn rule_change(
    ecs: &impl EcsApi,
    definitions: &mut Definitions,
    plan: &Plan,
    rule: &RuleItem,
) -> Result<RuleChange, Error> {
    let mut targets = Vec::with_capacity(rule.targets.len());
    for target in &rule.targets {
        let change = definition_change(
            ecs,
            definitions,
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
        changes: !rule.noop,
        targets,
    })
}

fn summary(view: &PlanView) -> String {
    format!(
        "release {} ({}): {} to change, {} unchanged",
        view.release_id,
        view.source,
        plural(view.changed, "item"),
        view.unchanged
    )
}

fn field_value(value: Option<&str>) -> &str {
    value.unwrap_or("(none)")
}

/// `~ service prod/web  (new revision of web:7)` at `indent`, then the item's changes below it.
fn item_lines(out: &mut String, indent: &str, mark: &str, item: &str, change: &DefinitionChange) {
    let what = if change.changes {
        "new revision of"
    } else {
        "unchanged,"
    };
    out.push_str(&format!(
        "{indent}{mark} {item}  ({what} {})\n",
        short(&change.task_definition)
    ));
    let indent = format!("{indent}    ");
    for image in &change.images {
        if image.current == image.desired {
            out.push_str(&format!(
                "{indent}container {}: {} (already)\n",
                image.container, image.current
            ));
        } else {
            out.push_str(&format!(
                "{indent}container {}: {} -> {}\n",
                image.container, image.current, image.desired
            ));
        }
    }
    for field in &change.fields {
        out.push_str(&format!(
            "{indent}{}: {} -> {}\n",
            field.field,
            field_value(field.current.as_deref()),
            field.desired
        ));
    }
}

/// Human output: `~` changes, `=` stays.
pub fn text(view: &PlanView, color: bool) -> String {
    let mark = |changes: bool| {
        if changes {
            paint("~", Tone::Busy, color)
        } else {
            paint("=", Tone::Good, color)
        }
    };
    let mut out = format!("{}\n", summary(view));
    for service in &view.services {
        out.push('\n');
        let item = format!("service {}", service.id);
        item_lines(
            &mut out,
            "",
            &mark(service.change.changes),
            &item,
            &service.change,
        );
    }
    for rule in &view.rules {
        out.push_str(&format!(
            "\n{} rule {}  ({})\n",
            mark(rule.changes),
            rule.id,
            plural(rule.targets.len(), "ECS target")
        ));
        for target in &rule.targets {
            let item = format!("target {}", target.target_id);
            item_lines(
                &mut out,
                "  ",
                &mark(target.change.changes),
                &item,
                &target.change,
            );
        }
    }
    out
}

/// One table row: mark, item, what it runs now, its changes.
fn md_row(out: &mut String, item: &str, change: &DefinitionChange) {
    let mark = if change.changes { "🔄" } else { "✅" };
    out.push_str(&format!(
        "| {mark} | {item} | `{}` | {} |\n",
        short(&change.task_definition),
        md_changes(change)
    ));
}

fn md_changes(change: &DefinitionChange) -> String {
    let mut parts: Vec<String> = change
        .images
        .iter()
        .map(|i| {
            if i.current == i.desired {
                format!("`{}` already `{}`", i.container, i.current)
            } else {
                format!("`{}`: `{}` → `{}`", i.container, i.current, i.desired)
            }
        })
        .collect();
    parts.extend(change.fields.iter().map(|f| {
        format!(
            "`{}`: `{}` → `{}`",
            f.field,
            field_value(f.current.as_deref()),
            f.desired
        )
    }));
    parts.join("<br>")
}

/// A pull-request comment: one table row per service and rule target.
pub fn markdown(view: &PlanView) -> String {
    let mut out = format!(
        "### convoy plan: release `{}`\n\n{} to change, {} unchanged (`{}`).\n\n",
        view.release_id,
        plural(view.changed, "item"),
        view.unchanged,
        view.source
    );
    out.push_str("| | Item | Runs now | Changes |\n|---|---|---|---|\n");
    for s in &view.services {
        md_row(&mut out, &format!("service `{}`", s.id), &s.change);
    }
    for r in &view.rules {
        for t in &r.targets {
            md_row(
                &mut out,
                &format!("rule `{}` target `{}`", r.id, t.target_id),
                &t.change,
            );
        }
    }
    out
}
