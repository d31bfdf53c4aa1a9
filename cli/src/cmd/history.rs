//! `convoy history ITEM`: the releases that changed one service or rule, newest first, from the
//! release ledger in the records bucket — each with its execution, how it ended, and the revisions
//! it moved the item between.

use aws_sdk_sfn::primitives::{DateTime, DateTimeFormat};
use release_core::contract::{
    ItemOutcome, LedgerEntry, LedgerRevisions, PlanItemKind, ReleaseOutcome, TaskDefRef,
};
use release_core::steps::ledger::history;

use crate::aws::Aws;
use crate::cmd::locks::BucketArgs;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output::{plural, stdout_color, table, Format, Tone};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// `CLUSTER/SERVICE`, `RULE` (on the default bus) or `BUS/RULE`; `service:…` or `rule:…` to
    /// say which when a service and a rule share the name.
    pub item: String,
    /// At most this many releases, newest first.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
    /// `text` for people, `json` for machines.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub target: BucketArgs,
}

/// The items `item` may name, in the order they are looked up.
pub fn items_named(item: &str) -> Result<Vec<(PlanItemKind, String)>, CliError> {
    let usage = || {
        CliError::Usage(format!(
            "`{item}`: name a service as CLUSTER/SERVICE, a rule as RULE or BUS/RULE and a \
             schedule as schedule:GROUP/NAME (`service:` or `rule:` before it to say which)"
        ))
    };
    let (kinds, name) = match item.split_once(':') {
        Some(("service", name)) => (vec![PlanItemKind::Service], name),
        Some(("rule", name)) => (vec![PlanItemKind::Rule], name),
        Some(("schedule", name)) => (vec![PlanItemKind::Schedule], name),
        Some(_) => return Err(usage()),
        None => (vec![PlanItemKind::Service, PlanItemKind::Rule], item),
    };
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        [a, b] if !a.is_empty() && !b.is_empty() => {
            Ok(kinds.into_iter().map(|k| (k, name.to_owned())).collect())
        }
        // A bare name is a rule on the default bus.
        [rule] if !rule.is_empty() && kinds.contains(&PlanItemKind::Rule) => {
            Ok(vec![(PlanItemKind::Rule, format!("default/{rule}"))])
        }
        _ => Err(usage()),
    }
}

pub async fn run(args: &Args) -> Result<Exit, CliError> {
    let items = items_named(&args.item)?;
    if args.limit == 0 {
        return Err(CliError::Usage("--limit must be at least 1".into()));
    }
    let aws = Aws::connect(&args.target.aws).await?;
    let mut entries = Vec::new();
    for (kind, id) in &items {
        let found = history(
            aws.records.objects(),
            &args.target.bucket,
            *kind,
            id,
            args.limit,
        )
        .await?;
        entries.extend(found);
    }
    // A service and a rule of one name: both, merged newest first.
    entries.sort_by_key(|e| std::cmp::Reverse(e.started_at));
    entries.truncate(args.limit);
    let text = match args.format {
        Format::Json => {
            let mut json = serde_json::to_string_pretty(&entries)
                .map_err(|e| CliError::Usage(format!("cannot print the history as JSON: {e}")))?;
            json.push('\n');
            json
        }
        Format::Text => history_text(&args.item, &entries, stdout_color()),
    };
    crate::io::print(&text);
    Ok(Exit::Ok)
}

/// `2026-11-30T10:00:00Z`.
pub fn timestamp(millis: i64) -> String {
    DateTime::from_secs(millis.div_euclid(1000))
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| millis.to_string())
}

fn outcome_cell(outcome: Option<ReleaseOutcome>) -> (String, Tone) {
    match outcome {
        Some(ReleaseOutcome::Succeeded) => ("Succeeded".into(), Tone::Good),
        Some(ReleaseOutcome::RolledBack) => ("RolledBack".into(), Tone::Bad),
        Some(ReleaseOutcome::Failed) => ("Failed".into(), Tone::Bad),
        // Still running, or ended where nothing finished its entries.
        None => ("not finished".into(), Tone::Busy),
    }
}

/// `web:1 -> web:2`, `web:1 -> web:2 (final web:1)`, `report: r:4 -> ?`, with the item's outcome.
fn revisions_text(revisions: &LedgerRevisions) -> String {
    let short = |td: &str| TaskDefRef::new(td).key().to_owned();
    let mut text = String::new();
    if let Some(target) = &revisions.target {
        text.push_str(&format!("{target}: "));
    }
    text.push_str(&short(&revisions.previous));
    text.push_str(" -> ");
    text.push_str(&revisions.new.as_deref().map_or("?".into(), short));
    if let Some(end) = &revisions.final_ {
        if revisions
            .new
            .as_deref()
            .is_none_or(|n| !TaskDefRef::new(n).same_as(end))
        {
            text.push_str(&format!(" (final {})", short(end)));
        }
    }
    if let Some(outcome) = revisions.outcome.filter(|o| *o != ItemOutcome::Deployed) {
        text.push_str(&format!(" [{outcome:?}]"));
    }
    text
}

/// One row per release (one line per rule target beneath it), then the count.
pub fn history_text(item: &str, entries: &[LedgerEntry], color: bool) -> String {
    if entries.is_empty() {
        return format!("no release in the ledger changed {item}\n");
    }
    let mut rows: Vec<Vec<(String, Tone)>> = Vec::new();
    for entry in entries {
        let revisions = entry
            .item
            .as_ref()
            .map(|i| i.revisions.as_slice())
            .unwrap_or_default();
        let mut lines = revisions.iter().map(revisions_text);
        rows.push(vec![
            (entry.release_id.clone(), Tone::Plain),
            (entry.execution_name.clone(), Tone::Plain),
            (timestamp(entry.started_at), Tone::Plain),
            outcome_cell(entry.outcome),
            (lines.next().unwrap_or_default(), Tone::Plain),
        ]);
        for line in lines {
            let blank = || (String::new(), Tone::Plain);
            rows.push(vec![
                blank(),
                blank(),
                blank(),
                blank(),
                (line, Tone::Plain),
            ]);
        }
    }
    let mut out = table(
        &[
            "RELEASE",
            "EXECUTION",
            "STARTED",
            "OUTCOME",
            "PREVIOUS -> NEW",
        ],
        &rows,
        color,
    );
    out.push_str(&format!("{}\n", plural(entries.len(), "release")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_named_as_people_name_them() {
        let service = |id: &str| (PlanItemKind::Service, id.to_owned());
        let rule = |id: &str| (PlanItemKind::Rule, id.to_owned());
        // (argument, items looked up)
        let cases = [
            ("prod/web", vec![service("prod/web"), rule("prod/web")]),
            ("nightly", vec![rule("default/nightly")]),
            ("service:prod/web", vec![service("prod/web")]),
            ("rule:ops/nightly", vec![rule("ops/nightly")]),
            ("rule:nightly", vec![rule("default/nightly")]),
            (
                "schedule:reports/nightly",
                vec![(PlanItemKind::Schedule, "reports/nightly".to_owned())],
            ),
        ];
        for (arg, want) in cases {
            assert_eq!(items_named(arg).unwrap(), want, "{arg}");
        }
        for bad in [
            "",
            "a/b/c",
            "/web",
            "prod/",
            "service:web",
            "task:a/b",
            "schedule:nightly",
        ] {
            assert!(items_named(bad).is_err(), "{bad}");
        }
    }

    fn entry(value: serde_json::Value) -> LedgerEntry {
        let mut base = serde_json::json!({
            "releaseId": "r-1", "executionName": "release-1", "executionArn": "arn:e",
            "startedAt": 1_764_496_800_000_i64, "source": "deployment.yaml",
            "report": "s3://b/releases/r-1/release-1/report.json",
            "changedServices": 1, "changedTasks": 0,
        });
        for (k, v) in value.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn one_row_per_release_newest_first() {
        let arn = "arn:aws:ecs:us-east-1:1:task-definition/";
        let entries = [
            entry(serde_json::json!({
                "releaseId": "r-3", "executionName": "release-3",
                "item": {"kind": "rule", "id": "default/nightly", "revisions": [
                    {"target": "a", "previous": format!("{arn}report:4")},
                    {"target": "b", "previous": format!("{arn}report:4")},
                ]},
            })),
            entry(serde_json::json!({
                "releaseId": "r-2", "outcome": "RolledBack", "finishedAt": 1,
                "item": {"kind": "service", "id": "prod/web", "revisions": [
                    {"previous": format!("{arn}web:1"), "new": format!("{arn}web:2"),
                     "final": format!("{arn}web:1"), "outcome": "RolledBack"},
                ]},
            })),
            entry(serde_json::json!({
                "outcome": "Succeeded", "finishedAt": 1,
                "item": {"kind": "service", "id": "prod/web", "revisions": [
                    {"previous": "web:0", "new": "web:1", "final": format!("{arn}web:1"),
                     "outcome": "Deployed"},
                ]},
            })),
        ];
        let text = history_text("prod/web", &entries, false);
        let target_b = format!("{}b: report:4 -> ?", " ".repeat(56));
        let want = [
            "RELEASE  EXECUTION  STARTED               OUTCOME       PREVIOUS -> NEW",
            "r-3      release-3  2025-11-30T10:00:00Z  not finished  a: report:4 -> ?",
            &target_b,
            "r-2      release-1  2025-11-30T10:00:00Z  RolledBack    web:1 -> web:2 (final web:1) [RolledBack]",
            "r-1      release-1  2025-11-30T10:00:00Z  Succeeded     web:0 -> web:1",
            "3 releases",
        ];
        assert_eq!(text.lines().collect::<Vec<_>>(), want);
        assert_eq!(
            history_text("prod/api", &[], false),
            "no release in the ledger changed prod/api\n"
        );
    }
}
