//! The value rules of a release, shared by manifest parsing and `check_input` so each rule lives in
//! one place. Each returns the message of what is wrong; callers add file, item and field.

use std::collections::HashMap;
use std::hash::Hash;
use std::ops::RangeInclusive;

pub(crate) const MAX_CONCURRENCY: RangeInclusive<i64> = 1..=40;
/// The design caps polling at 5 s so a finished rollout is noticed quickly.
pub(crate) const POLL_INTERVAL_SECONDS: RangeInclusive<i64> = 1..=5;
pub(crate) const KEEP_REVISIONS: RangeInclusive<i64> = 0..=1000;
pub(crate) const DESIRED_COUNT: RangeInclusive<i64> = 0..=i32::MAX as i64;
/// ECS `deploymentConfiguration` bounds.
pub(crate) const MINIMUM_HEALTHY_PERCENT: RangeInclusive<i64> = 0..=100;
pub(crate) const MAXIMUM_PERCENT: RangeInclusive<i64> = 100..=200;
pub(crate) const TIMEOUT_SECONDS: RangeInclusive<i64> = 60..=super::MAX_TIMEOUT_SECONDS as i64;
/// ECS capacity provider strategy bounds (`CapacityProviderStrategyItem`).
pub(crate) const CAPACITY_WEIGHT: RangeInclusive<i64> = 0..=1000;
pub(crate) const CAPACITY_BASE: RangeInclusive<i64> = 0..=100_000;
/// The launch types RunTask takes.
pub(crate) const LAUNCH_TYPES: &[&str] = &["FARGATE", "EC2", "EXTERNAL"];

pub(crate) const RELEASE_ID_MAX_LEN: usize = 80;
const CONTAINER_NAME_MAX_LEN: usize = 255;
const RULE_NAME_MAX_LEN: usize = 64;
/// EventBridge Scheduler schedule and schedule group names: up to 64 of `[0-9a-zA-Z-_.]`.
const SCHEDULE_NAME_MAX_LEN: usize = 64;
const JOB_NAME_MAX_LEN: usize = 255;
/// ECS task definition families: up to 255 letters, digits, `-` and `_`.
const FAMILY_MAX_LEN: usize = 255;

pub(crate) fn in_range(value: i64, range: &RangeInclusive<i64>) -> Result<(), String> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(out_of_range(&value.to_string(), range))
}

/// What is wrong with `value` (as written), a whole number outside `range`.
pub(crate) fn out_of_range(value: &str, range: &RangeInclusive<i64>) -> String {
    if *range.end() == i64::from(i32::MAX) {
        return format!("must be {} or more, got {value}", range.start());
    }
    format!(
        "must be between {} and {}, got {value}",
        range.start(),
        range.end()
    )
}

/// ECS keeps at least `minimum` percent running and at most `maximum` percent during a rollout.
pub(crate) fn percents(minimum: i64, maximum: i64) -> Result<(), String> {
    if minimum > maximum {
        return Err(format!(
            "minimumHealthyPercent ({minimum}) is above maximumPercent ({maximum})"
        ));
    }
    Ok(())
}

/// The release id is also the Step Functions execution name.
pub(crate) fn release_id(id: &str) -> Result<(), String> {
    let valid_chars = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if id.is_empty() || id.len() > RELEASE_ID_MAX_LEN || !valid_chars {
        return Err(format!(
            "`{id}` is not a valid release id: use 1 to {RELEASE_ID_MAX_LEN} letters, digits, `_` \
             or `-` (it becomes the Step Functions execution name)"
        ));
    }
    Ok(())
}

/// ECS container names: up to 255 letters, digits, hyphens and underscores.
pub(crate) fn container_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("container name must not be empty".into());
    }
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if name.len() > CONTAINER_NAME_MAX_LEN || !valid_chars {
        return Err(format!(
            "`{name}` is not a valid container name (up to {CONTAINER_NAME_MAX_LEN} letters, \
             digits, `-` or `_`)"
        ));
    }
    Ok(())
}

/// Cluster, service and event bus names (or ARNs): AWS checks the details, convoy the obvious.
pub(crate) fn resource_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.chars().any(char::is_whitespace) {
        return Err(format!("`{name}` contains whitespace"));
    }
    Ok(())
}

/// EventBridge rule names: `[.\-_A-Za-z0-9]{1,64}`.
pub(crate) fn rule_name(name: &str) -> Result<(), String> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if name.is_empty() || name.len() > RULE_NAME_MAX_LEN || !valid_chars {
        return Err(format!(
            "`{name}` is not a valid EventBridge rule name (1 to {RULE_NAME_MAX_LEN} letters, \
             digits, `.`, `-` or `_`)"
        ));
    }
    Ok(())
}

/// EventBridge Scheduler schedule names: `[0-9a-zA-Z-_.]{1,64}`. An ARN is refused, naming the
/// name and group it holds: the group is `groupName`, and the schedule is of the release's account.
pub(crate) fn schedule_name(name: &str) -> Result<(), String> {
    if name.starts_with("arn:") {
        let parts = name
            .split_once(":schedule/")
            .and_then(|(_, path)| path.split_once('/'))
            .filter(|(group, schedule)| !group.is_empty() && !schedule.is_empty());
        let (schedule, group) = match parts {
            Some((group, schedule)) => (format!(" (`{schedule}`)"), format!(" (`{group}`)")),
            None => (String::new(), String::new()),
        };
        return Err(format!(
            "`{name}` is an ARN: give the schedule's name{schedule} here and its group{group} in \
             `groupName` (a release changes schedules of its own account and region)"
        ));
    }
    scheduler_name(name, "EventBridge Scheduler schedule name")
}

/// EventBridge Scheduler schedule group names: `[0-9a-zA-Z-_.]{1,64}`.
pub(crate) fn schedule_group(name: &str) -> Result<(), String> {
    scheduler_name(name, "schedule group name")
}

fn scheduler_name(name: &str, what: &str) -> Result<(), String> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if name.is_empty() || name.len() > SCHEDULE_NAME_MAX_LEN || !valid_chars {
        return Err(format!(
            "`{name}` is not a valid {what} (1 to {SCHEDULE_NAME_MAX_LEN} letters, digits, `.`, \
             `-` or `_`)"
        ));
    }
    Ok(())
}

/// A job's `name`: what `dependsOn` calls it, in its id (`cluster/name`) and its records.
pub(crate) fn job_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > JOB_NAME_MAX_LEN || !word(name) {
        return Err(format!(
            "`{name}` is not a valid job name (1 to {JOB_NAME_MAX_LEN} letters, digits, `-` or \
             `_`)"
        ));
    }
    Ok(())
}

/// A job's `taskDefinition`: a family, never one revision of it (by `:N` or by ARN).
pub(crate) fn family(value: &str) -> Result<(), String> {
    const RUNS: &str = "convoy runs a clone of its newest ACTIVE revision";
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.starts_with("arn:") {
        let family = value
            .rsplit_once("task-definition/")
            .map(|(_, rest)| rest.split(':').next().unwrap_or(rest))
            .filter(|f| !f.is_empty());
        let named = family.map(|f| format!(" (`{f}`)")).unwrap_or_default();
        return Err(format!(
            "`{value}` is an ARN: name the family{named}; {RUNS}"
        ));
    }
    if let Some((family, _)) = value.split_once(':') {
        return Err(format!(
            "`{value}` names a revision: name the family (`{family}`); {RUNS}"
        ));
    }
    if value.len() > FAMILY_MAX_LEN || !word(value) {
        return Err(format!(
            "`{value}` is not a task definition family (1 to {FAMILY_MAX_LEN} letters, digits, \
             `-` or `_`)"
        ));
    }
    Ok(())
}

/// A job's `networkFrom`: the service whose network configuration its task gets.
pub(crate) fn network_from(value: &str) -> Result<(), String> {
    match value.split('/').collect::<Vec<_>>()[..] {
        [cluster, service]
            if resource_name(cluster).is_ok()
                && resource_name(service).is_ok()
                && !cluster.contains(':') =>
        {
            Ok(())
        }
        _ => Err(format!(
            "`{value}` is not `cluster/service`: name the service whose network configuration \
             the job's task gets, by its cluster's and its own name (`prod/api`)"
        )),
    }
}

pub(crate) fn launch_type(value: &str) -> Result<(), String> {
    if LAUNCH_TYPES.contains(&value) {
        return Ok(());
    }
    Err(format!(
        "must be one of {}; got `{value}`",
        LAUNCH_TYPES.join(", ")
    ))
}

/// A job's network: from a service, or given, not both.
pub(crate) fn one_network(from_given: bool, configuration_given: bool) -> Result<(), String> {
    if from_given && configuration_given {
        let message = "give either `networkFrom` (a service's network configuration) or \
                       `networkConfiguration`, not both";
        return Err(message.into());
    }
    Ok(())
}

/// A job's placement: a launch type or a capacity provider strategy, not both (RunTask refuses it).
pub(crate) fn one_launch(launch_type_given: bool, strategy_given: bool) -> Result<(), String> {
    if launch_type_given && strategy_given {
        let message = "give either `launchType` or `capacityProviderStrategy`, not both: ECS \
                       refuses a task with both";
        return Err(message.into());
    }
    Ok(())
}

fn word(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `(index, index of the first item with the same key)` for every repeated key.
pub(crate) fn duplicates<K: Eq + Hash>(
    keys: impl IntoIterator<Item = (usize, K)>,
) -> Vec<(usize, usize)> {
    let mut first = HashMap::new();
    let mut repeated = Vec::new();
    for (index, key) in keys {
        match first.get(&key) {
            Some(&earlier) => repeated.push((index, earlier)),
            None => {
                first.insert(key, index);
            }
        }
    }
    repeated
}

/// `services[2] (prod/web)`: the index, plus the names when they are known.
pub fn service_label(index: usize, cluster: Option<&str>, service: Option<&str>) -> String {
    match (cluster, service) {
        (Some(c), Some(s)) => format!("services[{index}] ({c}/{s})"),
        (None, Some(s)) => format!("services[{index}] ({s})"),
        (Some(c), None) => format!("services[{index}] ({c}/?)"),
        (None, None) => format!("services[{index}]"),
    }
}

/// `tasks[0] (nightly)` on the default bus, `tasks[0] (ops-bus/nightly)` elsewhere.
pub fn task_label(index: usize, event_bus: &str, rule: Option<&str>) -> String {
    match rule {
        Some(r) if event_bus == super::DEFAULT_EVENT_BUS => format!("tasks[{index}] ({r})"),
        Some(r) => format!("tasks[{index}] ({event_bus}/{r})"),
        None => format!("tasks[{index}]"),
    }
}

/// `schedules[0] (nightly)` in the default group, `schedules[0] (reports/nightly)` elsewhere.
pub fn schedule_label(index: usize, group: &str, schedule: Option<&str>) -> String {
    use crate::contract::DEFAULT_SCHEDULE_GROUP;
    match schedule {
        Some(s) if group == DEFAULT_SCHEDULE_GROUP => format!("schedules[{index}] ({s})"),
        Some(s) => format!("schedules[{index}] ({group}/{s})"),
        None => format!("schedules[{index}]"),
    }
}

/// `jobs[0] (migrate)`: the index, plus the name when it is known.
pub fn job_label(index: usize, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("jobs[{index}] ({n})"),
        None => format!("jobs[{index}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails_with(result: Result<(), String>, fragment: &str) -> bool {
        result.is_err_and(|m| m.contains(fragment))
    }

    #[test]
    fn ranges_and_percents() {
        assert_eq!(in_range(1, &MAX_CONCURRENCY), Ok(()));
        assert_eq!(in_range(40, &MAX_CONCURRENCY), Ok(()));
        assert!(fails_with(
            in_range(41, &MAX_CONCURRENCY),
            "between 1 and 40, got 41"
        ));
        assert!(fails_with(
            in_range(-1, &DESIRED_COUNT),
            "must be 0 or more, got -1"
        ));
        assert!(fails_with(
            in_range(59, &TIMEOUT_SECONDS),
            "between 60 and 10800"
        ));
        assert_eq!(in_range(10_800, &TIMEOUT_SECONDS), Ok(()));
        assert!(fails_with(
            in_range(10_801, &TIMEOUT_SECONDS),
            "between 60 and 10800, got 10801"
        ));
        assert_eq!(percents(50, 200), Ok(()));
        assert_eq!(percents(100, 100), Ok(()));
        assert!(fails_with(percents(150, 120), "is above maximumPercent"));
    }

    #[test]
    fn names() {
        let long_id = "a".repeat(81);
        let id_cases: [(&str, bool); 6] = [
            ("2024-06-01_web", true),
            ("r-0123456789abcdef", true),
            (&long_id, false),
            ("", false),
            ("4.0", false),
            ("release 4", false),
        ];
        for (id, ok) in id_cases {
            assert_eq!(release_id(id).is_ok(), ok, "{id:?}");
        }
        let container_cases = [
            ("web", true),
            ("log-router", true),
            ("", false),
            ("a.b", false),
        ];
        for (name, ok) in container_cases {
            assert_eq!(container_name(name).is_ok(), ok, "{name:?}");
        }
        let rule_cases = [("nightly.report-1_x", true), ("", false), ("a/b", false)];
        for (name, ok) in rule_cases {
            assert_eq!(rule_name(name).is_ok(), ok, "{name:?}");
        }
        let resource_cases = [
            ("prod", true),
            ("arn:aws:ecs:eu-west-1:1:cluster/p", true),
            ("", false),
            ("a b", false),
        ];
        for (name, ok) in resource_cases {
            assert_eq!(resource_name(name).is_ok(), ok, "{name:?}");
        }
    }

    #[test]
    fn job_values() {
        let long = "j".repeat(256);
        let name_cases: [(&str, bool); 6] = [
            ("migrate", true),
            ("db_migrate-2", true),
            (&long[..255], true),
            (&long, false),
            ("", false),
            ("prod/migrate", false),
        ];
        for (name, ok) in name_cases {
            assert_eq!(job_name(name).is_ok(), ok, "{name:?}");
        }
        // (value, the message, or `None`: a family)
        let family_cases = [
            ("app-migrate", None),
            ("app_migrate2", None),
            ("", Some("must not be empty")),
            (
                "app:3",
                Some(
                    "`app:3` names a revision: name the family (`app`); convoy runs a clone of \
                     its newest ACTIVE revision",
                ),
            ),
            (
                "arn:aws:ecs:eu-west-1:123456789012:task-definition/app:3",
                Some(
                    "`arn:aws:ecs:eu-west-1:123456789012:task-definition/app:3` is an ARN: name \
                     the family (`app`); convoy runs a clone of its newest ACTIVE revision",
                ),
            ),
            (
                "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
                Some(
                    "`arn:aws:ecs:eu-west-1:123456789012:cluster/prod` is an ARN: name the \
                     family; convoy runs a clone of its newest ACTIVE revision",
                ),
            ),
            (
                "app migrate",
                Some(
                    "`app migrate` is not a task definition family (1 to 255 letters, digits, \
                     `-` or `_`)",
                ),
            ),
        ];
        for (value, want) in family_cases {
            assert_eq!(family(value).err().as_deref(), want, "{value:?}");
        }
        let from_cases = [
            ("prod/api", true),
            ("api", false),
            ("prod/", false),
            ("/api", false),
            ("prod/api/x", false),
            ("prod /api", false),
            ("arn:aws:ecs:eu-west-1:1:service/prod", false),
        ];
        for (value, ok) in from_cases {
            assert_eq!(network_from(value).is_ok(), ok, "{value:?}");
        }
        for (value, ok) in [
            ("FARGATE", true),
            ("EC2", true),
            ("EXTERNAL", true),
            ("fargate", false),
            ("", false),
        ] {
            assert_eq!(launch_type(value).is_ok(), ok, "{value:?}");
        }
        for (a, b) in [(false, false), (true, false), (false, true), (true, true)] {
            assert_eq!(one_network(a, b).is_ok(), !(a && b));
            assert_eq!(one_launch(a, b).is_ok(), !(a && b));
        }
        assert_eq!(job_label(0, Some("migrate")), "jobs[0] (migrate)");
        assert_eq!(job_label(3, None), "jobs[3]");
        assert_eq!(in_range(1000, &CAPACITY_WEIGHT), Ok(()));
        assert!(in_range(1001, &CAPACITY_WEIGHT).is_err());
        assert_eq!(in_range(100_000, &CAPACITY_BASE), Ok(()));
        assert!(in_range(100_001, &CAPACITY_BASE).is_err());
    }

    #[test]
    fn schedule_values() {
        let long = "s".repeat(65);
        let cases: [(&str, bool); 6] = [
            ("nightly-report", true),
            ("a.b_c-1", true),
            (&long[..64], true),
            (&long, false),
            ("", false),
            ("nightly report", false),
        ];
        for (name, ok) in cases {
            assert_eq!(schedule_name(name).is_ok(), ok, "{name:?}");
            assert_eq!(schedule_group(name).is_ok(), ok, "{name:?}");
        }
        assert_eq!(
            schedule_name("arn:aws:scheduler:eu-west-1:123456789012:schedule/reports/nightly"),
            Err(
                "`arn:aws:scheduler:eu-west-1:123456789012:schedule/reports/nightly` is an \
                 ARN: give the schedule's name (`nightly`) here and its group (`reports`) in \
                 `groupName` (a release changes schedules of its own account and region)"
                    .into()
            )
        );
        assert_eq!(schedule_label(0, "default", Some("n")), "schedules[0] (n)");
        assert_eq!(schedule_label(1, "ops", Some("n")), "schedules[1] (ops/n)");
        assert_eq!(schedule_label(2, "ops", None), "schedules[2]");
    }

    #[test]
    fn duplicates_point_at_the_first_occurrence() {
        let keys = [
            (0, ("a", "web")),
            (1, ("a", "api")),
            (2, ("a", "web")),
            (3, ("a", "web")),
        ];
        assert_eq!(duplicates(keys), vec![(2, 0), (3, 0)]);
    }
}
