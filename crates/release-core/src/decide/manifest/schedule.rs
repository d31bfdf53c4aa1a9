//! `schedules:` entries: EventBridge Scheduler schedules whose target runs an ECS task. A schedule
//! is named by its group and name (`groupName`, [`DEFAULT_SCHEDULE_GROUP`] when not given) and
//! gets the release's images as a rule's ECS targets do; entries naming one schedule are one item
//! (`merge::schedules`), as entries naming one rule are.
//!
//! The value rules are `checks`', shared with the rendered input's checks.

use serde_yaml_ng::{Mapping, Value};

use super::fields::{Fields, Problems};
use super::{checks, DEPENDS_ON_KEY, NAME_KEY};
use crate::contract::{ScheduleTarget, DEFAULT_SCHEDULE_GROUP};

pub(super) const KEYS: &[&str] = &[
    "scheduleName",
    "groupName",
    "service",
    "image",
    "containers",
    NAME_KEY,
    DEPENDS_ON_KEY,
];

/// One `schedules:` entry; `None` when it has problems (reported).
pub(super) fn read(
    index: usize,
    map: &Mapping,
    allow_latest: bool,
    problems: &mut Problems,
) -> Option<ScheduleTarget> {
    let (group_name, schedule_name) = key(map);
    let label = checks::schedule_label(index, group_name, schedule_name);
    let f = Fields::new(map, label, "", KEYS);
    f.reject_unknown(problems);
    let schedule = f.required_string(problems, "scheduleName");
    if let Some(schedule) = schedule {
        problems.check(f.item(), "scheduleName", checks::schedule_name(schedule));
    }
    let group = match f.get("groupName") {
        None => Some(DEFAULT_SCHEDULE_GROUP),
        Some(_) => f.string(problems, "groupName"),
    };
    if let Some(group) = group {
        problems.check(f.item(), "groupName", checks::schedule_group(group));
    }
    let images = super::read_images(&f, allow_latest, problems);
    let name = super::read_name(&f, problems);
    let depends_on = super::read_depends_on(&f, problems);
    Some(ScheduleTarget {
        name: name.ok()?,
        depends_on: depends_on?,
        schedule: schedule?.to_owned(),
        group: group?.to_owned(),
        images: images?,
    })
}

/// `(groupName or the default group, scheduleName)` of a manifest entry, when strings.
pub(super) fn key(map: &Mapping) -> (&str, Option<&str>) {
    let peek = |key: &str| map.get(key).and_then(Value::as_str);
    (
        peek("groupName").unwrap_or(DEFAULT_SCHEDULE_GROUP),
        peek("scheduleName"),
    )
}
