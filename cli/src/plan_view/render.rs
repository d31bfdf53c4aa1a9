//! A plan view for people: text with `~` for what changes and `=` for what stays, or a Markdown
//! table for a pull-request comment.

use super::{DefinitionChange, JobChange, PlanView, ServiceChange};
use release_core::contract::TaskDefRef;

use crate::output::{paint, plural, Tone};

fn summary(view: &PlanView) -> String {
    format!(
        "release {} ({}): {} to change, {} unchanged{}",
        view.release_id,
        view.source,
        plural(view.changed, "item"),
        view.unchanged,
        in_waves(view)
    )
}

/// `, in 3 waves` when `dependsOn` makes more than one.
fn in_waves(view: &PlanView) -> String {
    if view.waves > 1 {
        format!(", in {} waves", view.waves)
    } else {
        String::new()
    }
}

/// The groups items are shown in: each wave (`Some(k)`) when there are several, else one group of
/// every item (`None`).
fn groups(view: &PlanView) -> Vec<Option<u32>> {
    if view.waves > 1 {
        (0..view.waves).map(Some).collect()
    } else {
        vec![None]
    }
}

fn in_group(group: Option<u32>, wave: u32) -> bool {
    group.is_none_or(|k| k == wave)
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
        TaskDefRef::new(&change.task_definition).key()
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

/// `job prod/migrate  (runs a new revision of migrate:4 | runs migrate:4 as it is)`.
fn job_title(job: &JobChange) -> String {
    let revision = TaskDefRef::new(&job.change.task_definition)
        .key()
        .to_owned();
    let runs = if job.change.changes {
        format!("new revision of {revision}")
    } else {
        format!("{revision} as it is")
    };
    format!(
        "job {}  (runs once: {runs}, timeout {} s)",
        job.id, job.timeout_seconds
    )
}

/// Human output: `~` changes, `=` stays, `>` a job runs.
pub fn text(view: &PlanView, color: bool) -> String {
    let mark = |changes: bool| {
        if changes {
            paint("~", Tone::Busy, color)
        } else {
            paint("=", Tone::Good, color)
        }
    };
    let mut out = format!("{}\n", summary(view));
    for group in groups(view) {
        if let Some(k) = group {
            out.push_str(&format!("\nwave {}\n", k + 1));
        }
        for service in view.services.iter().filter(|s| in_group(group, s.wave)) {
            out.push('\n');
            let item = format!("service {} [{}]", service.id, service.strategy);
            item_lines(
                &mut out,
                "",
                &mark(service.change.changes),
                &item,
                &service.change,
            );
        }
        for rule in view.rules.iter().filter(|r| in_group(group, r.wave)) {
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
        for schedule in view.schedules.iter().filter(|s| in_group(group, s.wave)) {
            out.push('\n');
            let item = format!("schedule {}", schedule.id);
            let mark = mark(schedule.change.changes);
            item_lines(&mut out, "", &mark, &item, &schedule.change);
        }
        for job in view.jobs.iter().filter(|j| in_group(group, j.wave)) {
            out.push_str(&format!(
                "\n{} {}\n",
                paint(">", Tone::Busy, color),
                job_title(job)
            ));
            for image in job.change.images.iter().filter(|i| i.current != i.desired) {
                out.push_str(&format!(
                    "    container {}: {} -> {}\n",
                    image.container, image.current, image.desired
                ));
            }
            for (container, command) in &job.commands {
                out.push_str(&format!("    container {container} runs: {command}\n"));
            }
        }
    }
    for warning in &view.warnings {
        out.push_str(&format!(
            "\n{}: {warning}\n",
            paint("warning", Tone::Bad, color)
        ));
    }
    out
}

/// One table row: mark, item, what it runs now, its changes.
fn md_row(out: &mut String, item: &str, change: &DefinitionChange) {
    let mark = if change.changes { "🔄" } else { "✅" };
    out.push_str(&format!(
        "| {mark} | {item} | `{}` | {} |\n",
        TaskDefRef::new(&change.task_definition).key(),
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

/// How a service is rolled out, for a table cell: ECS's strategy as is, a CODE_DEPLOY service's
/// deployment group and configuration as code.
fn md_strategy(service: &ServiceChange) -> String {
    let Some(target) = &service.code_deploy else {
        return service.strategy.clone();
    };
    let mut text = format!(
        "CODE_DEPLOY `{}`, `{}`",
        target.group_label(),
        target.deployment_config
    );
    if target.wait_for_termination {
        text.push_str(", waits for blue termination");
    }
    text
}

/// A pull-request comment: one table row per service and rule target.
pub fn markdown(view: &PlanView) -> String {
    let mut out = format!(
        "### convoy plan: release `{}`\n\n{} to change, {} unchanged{} (`{}`).\n",
        view.release_id,
        plural(view.changed, "item"),
        view.unchanged,
        in_waves(view),
        view.source
    );
    for group in groups(view) {
        if let Some(k) = group {
            out.push_str(&format!("\n#### Wave {}\n", k + 1));
        }
        out.push_str("\n| | Item | Runs now | Changes |\n|---|---|---|---|\n");
        for s in view.services.iter().filter(|s| in_group(group, s.wave)) {
            md_row(
                &mut out,
                &format!("service `{}`, {}", s.id, md_strategy(s)),
                &s.change,
            );
        }
        for r in view.rules.iter().filter(|r| in_group(group, r.wave)) {
            for t in &r.targets {
                md_row(
                    &mut out,
                    &format!("rule `{}` target `{}`", r.id, t.target_id),
                    &t.change,
                );
            }
        }
        for s in view.schedules.iter().filter(|s| in_group(group, s.wave)) {
            md_row(&mut out, &format!("schedule `{}`", s.id), &s.change);
        }
        for j in view.jobs.iter().filter(|j| in_group(group, j.wave)) {
            let mut changes = md_changes(&j.change);
            for (container, command) in &j.commands {
                if !changes.is_empty() {
                    changes.push_str("<br>");
                }
                changes.push_str(&format!("`{container}` runs `{command}`"));
            }
            out.push_str(&format!(
                "| ▶️ | job `{}`, runs once (timeout {} s) | `{}` | {changes} |\n",
                j.id,
                j.timeout_seconds,
                TaskDefRef::new(&j.change.task_definition).key(),
            ));
        }
    }
    if !view.warnings.is_empty() {
        out.push('\n');
        for warning in &view.warnings {
            out.push_str(&format!("> ⚠️ {warning}\n"));
        }
    }
    out
}
