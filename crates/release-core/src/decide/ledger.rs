//! The release ledger's keys and entries (docs/decisions/0005). Keys start with the execution's start
//! time inverted (`9999999999999 - unix millis`, 13 digits), so S3's ascending listing of a prefix
//! is newest first:
//!
//! - `ledger/releases/{release id}/{inverted}-{execution name}.json`: each execution of a release;
//! - `ledger/items/{service|rule}/{item id}/{inverted}-{release id}.json`: each release that changed
//!   the item, with its revisions;
//! - `ledger/revisions/{family}/{revision}/{inverted}-{release id}.json`: each revision a release
//!   recorded as an item's previous one, which the clean-up keeps while the release is recent.

use std::collections::{BTreeMap, BTreeSet};

use crate::contract::{
    ItemKind, LedgerEntry, LedgerItem, LedgerRevisionMark, LedgerRevisions, Plan, PlanItemKind,
    ReleaseReport, ReportItem, TaskDefRef,
};
use crate::decide::cleanup::Protected;
use crate::decide::lock::lock_item;
use crate::decide::rollback::target_item_id;

/// Where the ledger lives in the records bucket; the records' lifecycle rule (`releases/`) never
/// expires it.
pub const LEDGER_PREFIX: &str = "ledger/";

/// How long a release's previous revisions are kept by the clean-up: `convoy rollback` of any
/// release of the last 30 days still finds what it restores.
pub const PROTECT_DAYS: i64 = 30;

const DAY_MILLIS: i64 = 86_400_000;

/// The largest time a key can hold (the year 2286): keys stay 13 digits wide.
const INVERTED_MAX: i64 = 9_999_999_999_999;
const INVERTED_WIDTH: usize = 13;

/// `millis` inverted and zero-padded: later times sort first.
pub fn inverted(millis: i64) -> String {
    format!(
        "{:0width$}",
        INVERTED_MAX - millis.clamp(0, INVERTED_MAX),
        width = INVERTED_WIDTH
    )
}

/// The execution's, or the release's, prefix for listing.
pub fn release_prefix(release_id: &str) -> String {
    format!("{LEDGER_PREFIX}releases/{release_id}/")
}

pub fn release_key(release_id: &str, started_at: i64, execution_name: &str) -> String {
    format!(
        "{}{}-{execution_name}.json",
        release_prefix(release_id),
        inverted(started_at)
    )
}

/// `ledger/items/service/prod/web/`: every release of one item, newest first.
pub fn item_prefix(kind: PlanItemKind, id: &str) -> String {
    format!("{LEDGER_PREFIX}items/{}/{id}/", kind.as_str())
}

pub fn item_key(kind: PlanItemKind, id: &str, started_at: i64, release_id: &str) -> String {
    format!(
        "{}{}-{release_id}.json",
        item_prefix(kind, id),
        inverted(started_at)
    )
}

/// `ledger/revisions/web/`: every recorded previous revision of one family.
pub fn family_prefix(family: &str) -> String {
    format!("{LEDGER_PREFIX}revisions/{family}/")
}

pub fn revision_key(family: &str, revision: u32, started_at: i64, release_id: &str) -> String {
    format!(
        "{}{revision}/{}-{release_id}.json",
        family_prefix(family),
        inverted(started_at)
    )
}

/// `(started at, name)` of a key under `prefix` (`{inverted}-{name}.json`); `None` for any other key.
pub fn parse_key<'a>(prefix: &str, key: &'a str) -> Option<(i64, &'a str)> {
    let rest = key.strip_prefix(prefix)?.strip_suffix(".json")?;
    let (inverted, name) = rest.split_once('-')?;
    if inverted.len() != INVERTED_WIDTH || name.is_empty() || name.contains('/') {
        return None;
    }
    let inverted: i64 = inverted.parse().ok()?;
    Some((INVERTED_MAX - inverted, name))
}

/// A key of [`revision_key`], read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionMark {
    /// `family:revision`.
    pub key: String,
    pub recorded_at: i64,
    pub release_id: String,
}

/// A key under `family_prefix(family)`, read back; `None` for any other key.
pub fn parse_revision_key(family: &str, key: &str) -> Option<RevisionMark> {
    let prefix = family_prefix(family);
    let (revision, rest) = key.strip_prefix(&prefix)?.split_once('/')?;
    let revision: u32 = revision.parse().ok()?;
    let (recorded_at, release_id) = parse_key("", rest)?;
    Some(RevisionMark {
        key: format!("{family}:{revision}"),
        recorded_at,
        release_id: release_id.to_owned(),
    })
}

/// The previous revisions recorded in the `days` before `now` among one family's `keys`, each
/// kept for the newest release that recorded it.
pub fn protected_by_ledger(family: &str, keys: &[String], now: i64, days: i64) -> Protected {
    let since = now.saturating_sub(days.saturating_mul(DAY_MILLIS));
    let mut marks: Vec<RevisionMark> = keys
        .iter()
        .filter_map(|k| parse_revision_key(family, k))
        .filter(|m| m.recorded_at >= since)
        .collect();
    marks.sort_by_key(|m| std::cmp::Reverse(m.recorded_at));
    let mut protected = Protected::new();
    for mark in marks {
        protected.entry(mark.key).or_insert_with(|| {
            (
                crate::contract::KeepReason::PreviousOfRecentRelease,
                Some(format!("release {}", mark.release_id)),
            )
        });
    }
    protected
}

/// The families of every revision the plan's changed items run before the release: the
/// families the clean-up looks at (a new revision is registered in its previous one's family).
pub fn changed_families(plan: &Plan) -> BTreeSet<&str> {
    let services = plan
        .services
        .iter()
        .filter(|s| !s.noop)
        .map(|s| s.previous_task_definition.as_str());
    let targets = plan
        .tasks
        .iter()
        .flat_map(|r| r.targets.iter())
        .filter(|t| !t.noop)
        .map(|t| t.previous_task_definition.as_str());
    let schedules = plan
        .schedules
        .iter()
        .filter(|s| !s.noop)
        .map(|s| s.previous_task_definition.as_str());
    services
        .chain(targets)
        .chain(schedules)
        .map(|td| TaskDefRef::new(td).family())
        .filter(|f| !f.is_empty())
        .collect()
}

/// Who writes the ledger entries: one execution of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerExecution<'a> {
    pub name: &'a str,
    pub arn: &'a str,
    /// Unix milliseconds; the same for every write of the execution (its keys depend on it).
    pub started_at: i64,
    /// `s3://…/report.json`.
    pub report: &'a str,
}

/// Everything one write of an execution's ledger puts, by key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerWrites {
    pub release: (String, LedgerEntry),
    pub items: Vec<(String, LedgerEntry)>,
    pub revisions: Vec<(String, LedgerRevisionMark)>,
}

/// The execution's entries: started (no `report` yet) or finished (`report` with `finished_at`).
/// Items the release changes only (no-op items are not touched); per item the plan's previous
/// revision, and the report's new and final ones with its outcome.
pub fn ledger_writes(
    execution: &LedgerExecution<'_>,
    plan: &Plan,
    finished: Option<(&ReleaseReport, i64)>,
) -> LedgerWrites {
    let release_id = plan.release.id.as_str();
    let reported: BTreeMap<(ItemKind, &str), &ReportItem> = finished
        .map(|(r, _)| r.items.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|i| ((i.kind, i.id.as_str()), i))
        .collect();
    let revisions = |kind: ItemKind, id: &str, target: Option<&str>, previous: &str| {
        let line = reported.get(&(kind, id));
        LedgerRevisions {
            target: target.map(str::to_owned),
            previous: line
                .map_or(previous, |l| &l.previous_task_definition)
                .to_owned(),
            new: line.and_then(|l| l.new_task_definition.clone()),
            final_: line.map(|l| l.final_task_definition.clone()),
            outcome: line.map(|l| l.outcome),
        }
    };
    let mut items: Vec<LedgerItem> = Vec::new();
    for s in plan.services.iter().filter(|s| !s.noop) {
        items.push(LedgerItem {
            kind: PlanItemKind::Service,
            id: s.id.clone(),
            revisions: vec![revisions(
                ItemKind::Service,
                &s.id,
                None,
                &s.previous_task_definition,
            )],
        });
    }
    for r in plan.tasks.iter().filter(|r| !r.noop) {
        let targets = r.targets.iter().filter(|t| !t.noop).map(|t| {
            let id = target_item_id(&r.id, &t.target_id);
            revisions(
                ItemKind::RuleTarget,
                &id,
                Some(&t.target_id),
                &t.previous_task_definition,
            )
        });
        items.push(LedgerItem {
            kind: PlanItemKind::Rule,
            id: r.id.clone(),
            revisions: targets.collect(),
        });
    }
    for s in plan.schedules.iter().filter(|s| !s.noop) {
        items.push(LedgerItem {
            kind: PlanItemKind::Schedule,
            id: s.id.clone(),
            revisions: vec![revisions(
                ItemKind::Schedule,
                &s.id,
                None,
                &s.previous_task_definition,
            )],
        });
    }

    let entry = LedgerEntry {
        release_id: release_id.to_owned(),
        execution_name: execution.name.to_owned(),
        execution_arn: execution.arn.to_owned(),
        started_at: execution.started_at,
        finished_at: finished.map(|(_, at)| at),
        outcome: finished.map(|(r, _)| r.outcome),
        description: plan.release.description.clone(),
        source: plan.release.source.clone(),
        report: execution.report.to_owned(),
        changed_services: plan.changed_services,
        changed_tasks: plan.changed_tasks,
        item: None,
    };
    let mut marks: BTreeMap<String, LedgerRevisionMark> = BTreeMap::new();
    for item in &items {
        for previous in item.revisions.iter().map(|r| TaskDefRef::new(&r.previous)) {
            let Some(revision) = previous.revision() else {
                continue;
            };
            let key = revision_key(
                previous.family(),
                revision,
                execution.started_at,
                release_id,
            );
            marks.entry(key).or_insert_with(|| LedgerRevisionMark {
                release_id: release_id.to_owned(),
                execution_arn: execution.arn.to_owned(),
                item: lock_item(item.kind, &item.id),
                task_definition: previous.key().to_owned(),
                recorded_at: execution.started_at,
            });
        }
    }
    LedgerWrites {
        release: (
            release_key(release_id, execution.started_at, execution.name),
            entry.clone(),
        ),
        items: items
            .into_iter()
            .map(|item| {
                let key = item_key(item.kind, &item.id, execution.started_at, release_id);
                let mut entry = entry.clone();
                entry.item = Some(item);
                (key, entry)
            })
            .collect(),
        revisions: marks.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_starts_sort_first_and_read_back() {
        // (started at, execution name): in the order they were written.
        let starts = [
            (0, "first"),
            (999, "a-b_c"),
            (1_764_000_000_000, "release-5c1f"),
            (1_764_000_000_001, "release-5c20"),
            (INVERTED_MAX, "last"),
        ];
        let keys: Vec<String> = starts
            .iter()
            .map(|(at, name)| release_key("r-1", *at, name))
            .collect();
        let mut listed = keys.clone();
        listed.sort(); // what an S3 listing returns
        let newest_first: Vec<String> = keys.iter().rev().cloned().collect();
        assert_eq!(listed, newest_first);
        for (key, (at, name)) in keys.iter().zip(starts) {
            assert_eq!(parse_key(&release_prefix("r-1"), key), Some((at, name)));
        }
        assert_eq!(
            release_key("r-1", 1_764_000_000_000, "x"),
            "ledger/releases/r-1/8235999999999-x.json"
        );
    }

    #[test]
    fn times_out_of_range_still_make_13_digit_keys() {
        assert_eq!(inverted(-5), "9999999999999");
        assert_eq!(inverted(i64::MAX), "0000000000000");
    }

    #[test]
    fn keys_that_are_not_entries_are_skipped() {
        let prefix = item_prefix(PlanItemKind::Service, "prod/web");
        assert_eq!(prefix, "ledger/items/service/prod/web/");
        // (key, read back)
        let cases = [
            (
                "ledger/items/service/prod/web/9999999999998-r-1.json",
                Some((1, "r-1")),
            ),
            ("ledger/items/service/prod/web/999-r-1.json", None),
            ("ledger/items/service/prod/web/9999999999998-r-1.txt", None),
            ("ledger/items/service/prod/web/9999999999998-.json", None),
            ("ledger/items/service/prod/web/x/9999999999998-r.json", None),
            ("ledger/items/service/prod/web2/9999999999998-r.json", None),
            ("ledger/items/service/prod/web/999999999999x-r.json", None),
        ];
        for (key, want) in cases {
            assert_eq!(parse_key(&prefix, key), want, "{key}");
        }
    }

    #[test]
    fn revision_marks_protect_the_newest_release_within_the_window() {
        let day = DAY_MILLIS;
        let now = 100 * day;
        let keys: Vec<String> = [
            ("web", 3, now - day, "r-new"),
            ("web", 3, now - 5 * day, "r-old"),
            ("web", 2, now - 31 * day, "r-ancient"),
            ("web", 1, now - 30 * day, "r-edge"),
        ]
        .iter()
        .map(|(f, r, at, id)| revision_key(f, *r, *at, id))
        .chain(["ledger/revisions/web/notanumber/9999999999998-x.json".to_owned()])
        .collect();
        let protected = protected_by_ledger("web", &keys, now, PROTECT_DAYS);
        let got: Vec<(&str, Option<&str>)> = protected
            .iter()
            .map(|(k, (_, detail))| (k.as_str(), detail.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("web:1", Some("release r-edge")),
                ("web:3", Some("release r-new"))
            ]
        );
        // Another family's prefix reads nothing of these.
        assert!(protected_by_ledger("web-2", &keys, now, PROTECT_DAYS).is_empty());
        assert_eq!(
            revision_key("web", 3, 1, "r-1"),
            "ledger/revisions/web/3/9999999999998-r-1.json"
        );
    }
}
