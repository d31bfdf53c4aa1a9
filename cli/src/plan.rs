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
use release_core::{manifest, Error, Problem};
use serde::Serialize;

use crate::aws::{Aws, AwsArgs};
use crate::output::{paint, plural, short, Tone};

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
    pub changes: bool,
    /// What the service runs now.
    pub task_definition: String,
    /// The named containers: current → desired image.
    pub images: Vec<ImageChange>,
    /// Task-definition and service fields that would change, besides the images.
    pub fields: Vec<FieldChange>,
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
    pub changes: bool,
    pub task_definition: String,
    pub images: Vec<ImageChange>,
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
    let input = match crate::io::read(&args.file) {
        Ok(input) => input,
        Err(code) => return code,
    };
    let release = match manifest::validate(&input.name, &input.text) {
        Ok(release) => release,
        Err(problems) => return problems_found(&input.name, "manifest invalid", &problems),
    };
    let aws = match Aws::connect(&args.aws).await {
        Ok(aws) => aws,
        Err(e) => return crate::output::fail(&e),
    };
    let view = match view(&aws, release).await {
        Ok(view) => view,
        Err(Error::ManifestInvalid(problems)) => {
            return problems_found(&input.name, "manifest invalid", &problems)
        }
        Err(Error::PreflightFailed(problems)) => {
            return problems_found(&input.name, "pre-flight failed", &problems)
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

fn problems_found(file: &str, what: &str, problems: &[Problem]) -> ExitCode {
    for problem in problems {
        eprintln!("{problem}");
    }
    eprintln!("{file}: {what}, {}", plural(problems.len(), "problem"));
    ExitCode::from(crate::EXIT_INVALID)
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
    let items = service_changes.iter().map(|s| s.changes).chain(
        rule_changes
            .iter()
            .flat_map(|r| r.targets.iter().map(|t| t.changes)),
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

/// The images and task-definition fields registering `images` over `arn` would change: the same
/// rewrite register-task-definition performs.
fn definition_diff(
    described: &(TaskDefinition, Vec<Tag>),
    images: &ImageMap,
    release_id: &str,
) -> Result<(Vec<ImageChange>, Vec<FieldChange>), Error> {
    let (current, tags) = described;
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
    Ok((image_changes, fields))
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
    let described = definitions.get(ecs, &item.previous_task_definition).await?;
    let (images, mut fields) = definition_diff(described, &item.images, &plan.release.id)?;
    if item.noop {
        // A no-op item registers nothing: its tags stay too.
        fields.clear();
    }
    fields.extend(service_fields(item, service));
    Ok(ServiceChange {
        id: item.id.clone(),
        changes: !item.noop,
        task_definition: item.previous_task_definition.clone(),
        images,
        fields,
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
        let described = definitions
            .get(ecs, &target.previous_task_definition)
            .await?;
        let (images, fields) = definition_diff(described, &target.images, &plan.release.id)?;
        targets.push(TargetChange {
            target_id: target.target_id.clone(),
            changes: !target.noop,
            task_definition: target.previous_task_definition.clone(),
            images,
            fields: if target.noop { Vec::new() } else { fields },
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

fn item_lines(out: &mut String, indent: &str, images: &[ImageChange], fields: &[FieldChange]) {
    for image in images {
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
    for field in fields {
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
        let what = if service.changes {
            "new revision of"
        } else {
            "unchanged,"
        };
        out.push_str(&format!(
            "\n{} service {}  ({what} {})\n",
            mark(service.changes),
            service.id,
            short(&service.task_definition)
        ));
        item_lines(&mut out, "    ", &service.images, &service.fields);
    }
    for rule in &view.rules {
        out.push_str(&format!(
            "\n{} rule {}  ({})\n",
            mark(rule.changes),
            rule.id,
            plural(rule.targets.len(), "ECS target")
        ));
        for target in &rule.targets {
            let what = if target.changes {
                "new revision of"
            } else {
                "unchanged,"
            };
            out.push_str(&format!(
                "  {} target {}  ({what} {})\n",
                mark(target.changes),
                target.target_id,
                short(&target.task_definition)
            ));
            item_lines(&mut out, "      ", &target.images, &target.fields);
        }
    }
    out
}

fn md_changes(images: &[ImageChange], fields: &[FieldChange]) -> String {
    let mut parts: Vec<String> = images
        .iter()
        .map(|i| {
            if i.current == i.desired {
                format!("`{}` already `{}`", i.container, i.current)
            } else {
                format!("`{}`: `{}` → `{}`", i.container, i.current, i.desired)
            }
        })
        .collect();
    parts.extend(fields.iter().map(|f| {
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
    let mark = |changes: bool| if changes { "🔄" } else { "✅" };
    for s in &view.services {
        out.push_str(&format!(
            "| {} | service `{}` | `{}` | {} |\n",
            mark(s.changes),
            s.id,
            short(&s.task_definition),
            md_changes(&s.images, &s.fields)
        ));
    }
    for r in &view.rules {
        for t in &r.targets {
            out.push_str(&format!(
                "| {} | rule `{}` target `{}` | `{}` | {} |\n",
                mark(t.changes),
                r.id,
                t.target_id,
                short(&t.task_definition),
                md_changes(&t.images, &t.fields)
            ));
        }
    }
    out
}
