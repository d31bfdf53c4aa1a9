//! The release events' details (contract::release_event), built from the plan, the report or the
//! error that rejected the release; bounded so that one event always fits PutEvents.

use std::collections::BTreeMap;

use crate::contract::{
    count, EventFailure, EventOutcome, EventSource, ExecutionStatus, ItemOutcome, Plan,
    PlannedCounts, ReleaseEventDetail, ReleaseMeta, ReleaseOutcome, ReleaseReport, RollbackPolicy,
    EVENT_SCHEMA_VERSION, MAX_EVENT_FAILURES,
};
use crate::decide::report::cut_reason;
use crate::error::Error;

/// What a detail may take once serialized. PutEvents takes 256 KiB per entry, envelope included.
pub const EVENT_BUDGET: usize = 200_000;

/// Stopped-task reasons kept per failure: the first ones say what happened.
const MAX_STOPPED_REASONS: usize = 5;
/// Release-level problems kept per event.
const MAX_PROBLEMS: usize = 20;

/// When the execution started (Unix ms, when known) and now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub started_at: Option<i64>,
    pub now: i64,
}

fn base(
    release: &ReleaseMeta,
    execution_arn: &str,
    policy: Option<RollbackPolicy>,
    timing: Timing,
) -> ReleaseEventDetail {
    ReleaseEventDetail {
        schema_version: EVENT_SCHEMA_VERSION,
        release_id: release.id.clone(),
        description: release.description.clone(),
        source: Some(EventSource {
            manifest: release.source.clone(),
            commit: release.commit.clone(),
        }),
        execution_arn: execution_arn.to_owned(),
        console_url: console_url(execution_arn),
        outcome: None,
        error: None,
        rollback_policy: policy,
        started_at: timing.started_at.map(rfc3339),
        at: rfc3339(timing.now),
        duration_seconds: None,
        planned: None,
        counts: BTreeMap::new(),
        failures: Vec::new(),
        omitted_items: 0,
        problems: Vec::new(),
        full_report: None,
    }
}

fn duration_seconds(timing: Timing) -> Option<u64> {
    timing
        .started_at
        .and_then(|started| u64::try_from(timing.now.saturating_sub(started) / 1000).ok())
}

/// "Convoy Release Started": pre-flight passed, the plan is recorded.
pub fn started(plan: &Plan, execution_arn: &str, timing: Timing) -> ReleaseEventDetail {
    let changed = count(plan.changed_items());
    let items = plan.services.len() + plan.tasks.len() + plan.schedules.len() + plan.jobs.len();
    let waves = plan.waves();
    let mut detail = base(
        &plan.release,
        execution_arn,
        Some(plan.settings.rollback),
        timing,
    );
    detail.planned = Some(PlannedCounts {
        changed,
        unchanged: u32::try_from(items)
            .unwrap_or(u32::MAX)
            .saturating_sub(changed),
        waves,
    });
    bounded(detail)
}

/// Outcomes that say what went wrong, not what was done about it (`RolledBack`, `NotStarted`
/// follow from these and are only counted).
fn is_failure(outcome: ItemOutcome) -> bool {
    matches!(
        outcome,
        ItemOutcome::Failed | ItemOutcome::TimedOut | ItemOutcome::Superseded
    )
}

/// "Convoy Release Finished" of a release that planned: built from the whole report (not the
/// bounded execution output), with every item counted.
pub fn finished(
    plan: &Plan,
    report: &ReleaseReport,
    execution_arn: &str,
    full_report: Option<String>,
    timing: Timing,
) -> ReleaseEventDetail {
    let mut detail = base(
        &plan.release,
        execution_arn,
        Some(plan.settings.rollback),
        timing,
    );
    detail.outcome = Some(match report.outcome {
        ReleaseOutcome::Succeeded => EventOutcome::Succeeded,
        ReleaseOutcome::RolledBack => EventOutcome::RolledBack,
        ReleaseOutcome::Failed => EventOutcome::Failed,
    });
    detail.duration_seconds = duration_seconds(timing);
    for item in &report.items {
        *detail.counts.entry(item.outcome).or_default() += 1;
    }
    let mut failures: Vec<_> = report
        .items
        .iter()
        .filter(|i| is_failure(i.outcome))
        .collect();
    failures.sort_by_key(|i| i.wave);
    detail.omitted_items = count(failures.iter().skip(MAX_EVENT_FAILURES));
    detail.failures = failures
        .into_iter()
        .take(MAX_EVENT_FAILURES)
        .map(|i| EventFailure {
            id: cut_reason(&i.id),
            kind: i.kind,
            wave: i.wave,
            outcome: i.outcome,
            reason: i.reason.as_deref().map(cut_reason),
            stopped_reasons: i
                .stopped_reasons
                .iter()
                .take(MAX_STOPPED_REASONS)
                .map(|r| cut_reason(r))
                .collect(),
        })
        .collect();
    detail.problems = cut_problems(report.problems.iter().map(String::as_str));
    detail.full_report = full_report;
    bounded(detail)
}

/// Who was rejected: the release when it could be read, else only its id (the execution name).
#[derive(Debug, Clone, Copy)]
pub enum Rejected<'a> {
    Release {
        release: &'a ReleaseMeta,
        policy: RollbackPolicy,
    },
    Unread {
        release_id: &'a str,
    },
}

/// "Convoy Release Finished" with outcome `REJECTED`: nothing was changed.
pub fn rejected(
    who: Rejected<'_>,
    execution_arn: &str,
    error: &str,
    problems: &[String],
    timing: Timing,
) -> ReleaseEventDetail {
    let mut detail = match who {
        Rejected::Release { release, policy } => base(release, execution_arn, Some(policy), timing),
        Rejected::Unread { release_id } => {
            let unread = ReleaseMeta {
                id: release_id.to_owned(),
                description: None,
                source: String::new(),
                commit: None,
            };
            let mut detail = base(&unread, execution_arn, None, timing);
            detail.source = None;
            detail
        }
    };
    detail.outcome = Some(EventOutcome::Rejected);
    detail.error = Some(error.to_owned());
    detail.duration_seconds = duration_seconds(timing);
    detail.problems = cut_problems(problems.iter().map(String::as_str));
    bounded(detail)
}

/// Whether plan-release announced this ending of an execution that left no plan: it announces
/// the rejection for every error of its own that the state machine does not retry. Anything else
/// (retries exhausted, a crash, a timeout, an operator's stop) is the watchdog's to announce.
pub fn rejection_announced(status: ExecutionStatus, error: Option<&str>) -> bool {
    status == ExecutionStatus::Failed
        && error.is_some_and(|e| Error::NAMES.contains(&e) && !Error::RETRYABLE.contains(&e))
}

/// The problems an error stands for, one line each: a rejection lists every problem it found.
pub fn error_problems(error: &Error) -> Vec<String> {
    match error {
        Error::ManifestInvalid(problems)
        | Error::StepInputInvalid(problems)
        | Error::PreflightFailed(problems) => problems.iter().map(ToString::to_string).collect(),
        Error::ReleaseLocked(conflicts) => conflicts
            .iter()
            .map(|c| {
                format!(
                    "{} held by release {} (execution {})",
                    c.item, c.release_id, c.execution_arn
                )
            })
            .collect(),
        other => vec![crate::error::with_causes(other)],
    }
}

fn cut_problems<'a>(problems: impl Iterator<Item = &'a str>) -> Vec<String> {
    let problems: Vec<&str> = problems.collect();
    let mut cut: Vec<String> = problems
        .iter()
        .take(MAX_PROBLEMS)
        .map(|p| cut_reason(p))
        .collect();
    if problems.len() > MAX_PROBLEMS {
        cut.push(format!(
            "… {} more problems: see the report or the execution",
            problems.len() - MAX_PROBLEMS
        ));
    }
    cut
}

/// `detail` with failures then problems dropped from the end until it fits [`EVENT_BUDGET`]:
/// every field is already cut, so this only acts on a hostile mix of long ids and reasons.
pub fn bounded(mut detail: ReleaseEventDetail) -> ReleaseEventDetail {
    let size = |d: &ReleaseEventDetail| serde_json::to_vec(d).map_or(usize::MAX, |v| v.len());
    while size(&detail) > EVENT_BUDGET {
        if detail.failures.pop().is_some() {
            detail.omitted_items = detail.omitted_items.saturating_add(1);
        } else if detail.problems.pop().is_none() {
            break;
        }
    }
    detail
}

/// The execution's page in the Step Functions console, for an execution ARN
/// (`arn:<partition>:states:<region>:<account>:execution:<machine>:<name>`).
pub fn console_url(execution_arn: &str) -> Option<String> {
    let mut parts = execution_arn.splitn(5, ':');
    let (Some("arn"), Some(partition), Some("states"), Some(region)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if region.is_empty() {
        return None;
    }
    let domain = match partition {
        "aws" => "console.aws.amazon.com",
        "aws-cn" => "console.amazonaws.cn",
        "aws-us-gov" => "console.amazonaws-us-gov.com",
        _ => return None,
    };
    Some(format!(
        "https://{region}.{domain}/states/home?region={region}#/v2/executions/details/{execution_arn}"
    ))
}

/// Unix milliseconds as RFC 3339 in UTC, to the millisecond (`2026-11-30T06:01:02.345Z`).
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// RFC 3339 (as Step Functions writes `$$.Execution.StartTime`: `2026-11-30T06:01:02.345Z`, or
/// with an offset) as Unix milliseconds; `None` when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let number = |from: usize, len: usize| -> Option<i64> {
        let digits = text.get(from..from + len)?;
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let separator = |at: usize, allowed: &[u8]| bytes.get(at).is_some_and(|b| allowed.contains(b));
    if !(separator(4, b"-")
        && separator(7, b"-")
        && separator(10, b"Tt ")
        && separator(13, b":")
        && separator(16, b":"))
    {
        return None;
    }
    let (year, month, day) = (number(0, 4)?, number(5, 2)?, number(8, 2)?);
    let (hour, minute, second) = (number(11, 2)?, number(14, 2)?, number(17, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut at = 19;
    let mut millis = 0;
    if bytes.get(at) == Some(&b'.') {
        let start = at + 1;
        let end = start
            + bytes[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
        if end == start {
            return None;
        }
        // Milliseconds: the first three digits, padded (`.3` is 300 ms).
        let fraction = format!("{:0<3}", &text[start..end.min(start + 3)]);
        millis = fraction.parse::<i64>().ok()?;
        at = end;
    }
    let offset_minutes = match bytes.get(at) {
        Some(b'Z' | b'z') if at + 1 == bytes.len() => 0,
        Some(sign @ (b'+' | b'-')) if at + 6 == bytes.len() && separator(at + 3, b":") => {
            let minutes = number(at + 1, 2)? * 60 + number(at + 4, 2)?;
            if *sign == b'+' {
                minutes
            } else {
                -minutes
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(secs * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests;
