//! A service's deployment strategy in the manifest: `strategy`, `bakeTimeInMinutes`,
//! `linearConfiguration` and `canaryConfiguration`, named as in ECS's `deploymentConfiguration`.

use std::ops::RangeInclusive;

use serde_yaml_ng::Value;

use super::fields::{kind, Fields, Problems};
use crate::contract::{
    CanaryConfiguration, DeploymentStrategy, LinearConfiguration, Percent, Strategy,
};
use crate::decide::strategy::deadline_fits;

/// The fields of a service entry this module reads.
pub(crate) const KEYS: [&str; 4] = [
    "strategy",
    "bakeTimeInMinutes",
    "linearConfiguration",
    "canaryConfiguration",
];
const LINEAR_KEYS: &[&str] = &["stepPercent", "stepBakeTimeInMinutes"];
const CANARY_KEYS: &[&str] = &["canaryPercent", "canaryBakeTimeInMinutes"];

/// ECS's bounds: bake times up to a day, linear steps of 3 to 100 %, a canary of 0.1 to 100 %.
pub(crate) const BAKE_MINUTES: RangeInclusive<i64> = 0..=1440;
const STEP_PERCENT: RangeInclusive<f64> = 3.0..=100.0;
const CANARY_PERCENT: RangeInclusive<f64> = 0.1..=100.0;

/// The strategy a service entry sets: `Ok(None)` when it names none, `Err(())` when a problem was
/// reported. `timeout` is the entry's rollout deadline (when valid), which the strategy's waiting
/// adds to.
pub(crate) fn read(
    f: &Fields,
    timeout: Option<u32>,
    problems: &mut Problems,
) -> Result<Option<DeploymentStrategy>, ()> {
    let before = problems.len();
    let strategy = match f.string(problems, "strategy") {
        Some(name) => match Strategy::parse(name) {
            Some(s) => Some(s),
            None => {
                f.push(problems, "strategy", unknown_strategy(name));
                None
            }
        },
        None => None,
    };
    let bake = f
        .integer(problems, "bakeTimeInMinutes", &BAKE_MINUTES)
        .map(minutes);
    let linear = f.mapping(problems, "linearConfiguration").and_then(|map| {
        let g = Fields::new(map, f.item(), "linearConfiguration.", LINEAR_KEYS);
        g.reject_unknown(problems);
        let step = percent(&g, problems, "stepPercent", &STEP_PERCENT);
        let bake = required_minutes(&g, problems, "stepBakeTimeInMinutes");
        Some(LinearConfiguration {
            step_percent: step?,
            step_bake_time_in_minutes: bake?,
        })
    });
    let canary = f.mapping(problems, "canaryConfiguration").and_then(|map| {
        let g = Fields::new(map, f.item(), "canaryConfiguration.", CANARY_KEYS);
        g.reject_unknown(problems);
        let share = percent(&g, problems, "canaryPercent", &CANARY_PERCENT);
        let bake = required_minutes(&g, problems, "canaryBakeTimeInMinutes");
        Some(CanaryConfiguration {
            canary_percent: share?,
            canary_bake_time_in_minutes: bake?,
        })
    });
    if !f.has("strategy") {
        for key in &KEYS[1..] {
            if f.has(key) {
                f.push(
                    problems,
                    key,
                    "give `strategy` with it: the settings of a strategy are set together",
                );
            }
        }
    }
    let Some(strategy) = strategy else {
        return if problems.len() > before {
            Err(())
        } else {
            Ok(None)
        };
    };
    let set = DeploymentStrategy {
        strategy,
        bake_time_in_minutes: bake,
        linear_configuration: linear,
        canary_configuration: canary,
    };
    for (field, message) in problems_of(&set, timeout) {
        f.push(problems, field, message);
    }
    if problems.len() > before {
        return Err(());
    }
    Ok(Some(set))
}

/// What is wrong with a strategy as a whole, by field: settings of another strategy, a rollout
/// that would wait longer than a release allows. Shared with the rendered input's checks.
pub(crate) fn problems_of(
    set: &DeploymentStrategy,
    timeout: Option<u32>,
) -> Vec<(&'static str, String)> {
    let mut found = Vec::new();
    let only = |wanted: Strategy| {
        format!(
            "only with `strategy: {wanted}` (this service sets {})",
            set.strategy
        )
    };
    if set.linear_configuration.is_some() && set.strategy != Strategy::Linear {
        found.push(("linearConfiguration", only(Strategy::Linear)));
    }
    if set.canary_configuration.is_some() && set.strategy != Strategy::Canary {
        found.push(("canaryConfiguration", only(Strategy::Canary)));
    }
    if set.bake_time_in_minutes.is_some() && set.strategy == Strategy::Rolling {
        found.push((
            "bakeTimeInMinutes",
            "a rolling update has no bake time: it is for BLUE_GREEN, LINEAR and CANARY".into(),
        ));
    }
    let ranges = [
        ("bakeTimeInMinutes", set.bake_time_in_minutes),
        (
            "linearConfiguration.stepBakeTimeInMinutes",
            set.linear_configuration
                .map(|l| l.step_bake_time_in_minutes),
        ),
        (
            "canaryConfiguration.canaryBakeTimeInMinutes",
            set.canary_configuration
                .map(|c| c.canary_bake_time_in_minutes),
        ),
    ];
    for (field, minutes) in ranges {
        if let Some(m) = minutes {
            if let Err(message) = super::checks::in_range(i64::from(m), &BAKE_MINUTES) {
                found.push((field, message));
            }
        }
    }
    let percents = [
        (
            "linearConfiguration.stepPercent",
            set.linear_configuration.map(|l| l.step_percent),
            &STEP_PERCENT,
        ),
        (
            "canaryConfiguration.canaryPercent",
            set.canary_configuration.map(|c| c.canary_percent),
            &CANARY_PERCENT,
        ),
    ];
    for (field, value, range) in percents {
        if let Some(Percent(p)) = value {
            if !range.contains(&p) {
                found.push((field, percent_out_of_range(p, range)));
            }
        }
    }
    if let Some(timeout) = timeout {
        if let Err(message) = deadline_fits(timeout, set) {
            found.push(("strategy", message));
        }
    }
    found
}

pub(crate) fn unknown_strategy(name: &str) -> String {
    let known: Vec<&str> = Strategy::ALL.iter().map(|s| s.as_str()).collect();
    format!("unknown strategy `{name}`: use one of {}", known.join(", "))
}

fn minutes(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn required_minutes(g: &Fields, problems: &mut Problems, key: &str) -> Option<u32> {
    if !g.has(key) {
        g.push(problems, key, "is required");
        return None;
    }
    g.integer(problems, key, &BAKE_MINUTES).map(minutes)
}

/// A required percentage: a number (decimals allowed, as ECS takes them) within `range`.
fn percent(
    g: &Fields,
    problems: &mut Problems,
    key: &str,
    range: &RangeInclusive<f64>,
) -> Option<Percent> {
    let Some(value) = g.get(key) else {
        g.push(problems, key, "is required");
        return None;
    };
    let number = match value {
        Value::Number(n) => n.as_f64().filter(|p| p.is_finite()),
        _ => None,
    };
    let Some(p) = number else {
        g.push(
            problems,
            key,
            format!("expected a percentage (a number), found {}", kind(value)),
        );
        return None;
    };
    if !range.contains(&p) {
        g.push(problems, key, percent_out_of_range(p, range));
        return None;
    }
    Some(Percent(p))
}

fn percent_out_of_range(p: f64, range: &RangeInclusive<f64>) -> String {
    format!(
        "must be between {} and {} (percent), got {p}",
        range.start(),
        range.end()
    )
}
