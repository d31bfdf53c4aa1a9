//! Deployment strategies: what a service's configuration says, what a release sets, how long a
//! blue/green rollout may take, and what a service deployment's status means for the release.

use aws_sdk_ecs::types::{
    self as ecs, DeploymentConfiguration, ServiceDeploymentLifecycleStage, ServiceDeploymentStatus,
};

use crate::contract::{
    Awaited, CanaryConfiguration, DeploymentStrategy, LinearConfiguration, Outcome, Percent,
    Strategy,
};
use crate::decide::manifest::MAX_TIMEOUT_SECONDS;

/// The strategy part of a described `deploymentConfiguration`; `None` for a plain rolling update
/// (no strategy, or ROLLING with nothing more).
pub fn described(config: Option<&DeploymentConfiguration>) -> Option<DeploymentStrategy> {
    let config = config?;
    let strategy = match config.strategy() {
        None | Some(ecs::DeploymentStrategy::Rolling) => Strategy::Rolling,
        Some(ecs::DeploymentStrategy::BlueGreen) => Strategy::BlueGreen,
        Some(ecs::DeploymentStrategy::Linear) => Strategy::Linear,
        Some(ecs::DeploymentStrategy::Canary) => Strategy::Canary,
        // A strategy newer than this build: judged by its service deployment, as blue/green is.
        Some(_) => Strategy::BlueGreen,
    };
    let minutes = |m: Option<i32>| m.and_then(|m| u32::try_from(m).ok());
    let found = DeploymentStrategy {
        strategy,
        bake_time_in_minutes: minutes(config.bake_time_in_minutes()),
        linear_configuration: config.linear_configuration().and_then(|l| {
            Some(LinearConfiguration {
                step_percent: Percent(l.step_percent()?),
                step_bake_time_in_minutes: minutes(l.step_bake_time_in_minutes()).unwrap_or(0),
            })
        }),
        canary_configuration: config.canary_configuration().and_then(|c| {
            Some(CanaryConfiguration {
                canary_percent: Percent(c.canary_percent()?),
                canary_bake_time_in_minutes: minutes(c.canary_bake_time_in_minutes()).unwrap_or(0),
            })
        }),
    };
    (found != DeploymentStrategy::default()).then_some(found)
}

/// `current` with the strategy a release sets; every field it does not name is kept (ECS replaces
/// the whole configuration on UpdateService).
pub fn applied(
    current: DeploymentConfiguration,
    set: &DeploymentStrategy,
) -> DeploymentConfiguration {
    let mut config = current;
    config.strategy = Some(ecs::DeploymentStrategy::from(set.strategy.as_str()));
    let minutes = |m: u32| i32::try_from(m).unwrap_or(i32::MAX);
    if let Some(bake) = set.bake_time_in_minutes {
        config.bake_time_in_minutes = Some(minutes(bake));
    }
    if let Some(linear) = set.linear_configuration {
        config.linear_configuration = Some(
            ecs::LinearConfiguration::builder()
                .step_percent(linear.step_percent.0)
                .step_bake_time_in_minutes(minutes(linear.step_bake_time_in_minutes))
                .build(),
        );
    }
    if let Some(canary) = set.canary_configuration {
        config.canary_configuration = Some(
            ecs::CanaryConfiguration::builder()
                .canary_percent(canary.canary_percent.0)
                .canary_bake_time_in_minutes(minutes(canary.canary_bake_time_in_minutes))
                .build(),
        );
    }
    config
}

/// How long a rollout of this strategy waits on purpose, beyond starting and draining tasks: the
/// traffic steps' bake times and the final bake. A service's rollout deadline is its
/// `timeoutSeconds` plus this.
pub fn wait_seconds(strategy: &DeploymentStrategy) -> u32 {
    let bake = strategy.bake_time_in_minutes.unwrap_or(0);
    let shifting = match strategy.strategy {
        Strategy::Rolling | Strategy::BlueGreen => 0,
        Strategy::Linear => strategy.linear_configuration.map_or(0, |l| {
            linear_steps(l.step_percent).saturating_mul(l.step_bake_time_in_minutes)
        }),
        Strategy::Canary => strategy
            .canary_configuration
            .map_or(0, |c| c.canary_bake_time_in_minutes),
    };
    match strategy.strategy {
        Strategy::Rolling => 0,
        _ => bake.saturating_add(shifting).saturating_mul(60),
    }
}

/// Traffic steps of a linear shift: ⌈100 / step⌉ (1 for a step that is not above 0, at most
/// 100), for ECS's `stepPercent` and CodeDeploy's `linearPercentage` alike.
pub fn linear_steps(step: Percent) -> u32 {
    if !step.0.is_finite() || step.0 <= 0.0 {
        return 1;
    }
    let mut steps = 0;
    let mut shifted = 0.0;
    // Counted rather than divided: no float-to-integer cast, and bounded whatever the step.
    while shifted < 100.0 && steps < 100 {
        shifted += step.0;
        steps += 1;
    }
    steps
}

/// When a rollout started `now` counts as timed out: `timeout_seconds` plus the strategy's
/// waiting ([`wait_seconds`]), in Unix seconds.
pub fn rollout_deadline(timeout_seconds: u32, strategy: &DeploymentStrategy, now: i64) -> i64 {
    deadline_after(timeout_seconds, wait_seconds(strategy), now)
}

/// `now` plus the rollout's timeout and its waiting on purpose (`wait_seconds`): for ECS's
/// strategies and CodeDeploy's deployment configurations alike.
pub fn deadline_after(timeout_seconds: u32, wait_seconds: u32, now: i64) -> i64 {
    now.saturating_add(i64::from(timeout_seconds.saturating_add(wait_seconds)))
}

/// Whether a rollout deadline of `timeout_seconds` plus the strategy's waiting fits the longest
/// deadline a release allows; else what is wrong, with the numbers.
pub fn deadline_fits(timeout_seconds: u32, strategy: &DeploymentStrategy) -> Result<(), String> {
    let what = format!("the {} strategy's", strategy.strategy);
    waiting_fits(timeout_seconds, wait_seconds(strategy), &what)
}

/// [`deadline_fits`] for `wait` seconds of traffic shifting and bake time of `what` (`the
/// CANARY strategy's`, `CodeDeploy configuration X's`).
pub fn waiting_fits(timeout_seconds: u32, wait: u32, what: &str) -> Result<(), String> {
    let total = timeout_seconds.saturating_add(wait);
    if total <= MAX_TIMEOUT_SECONDS {
        return Ok(());
    }
    Err(format!(
        "timeoutSeconds {timeout_seconds} plus {what} {wait} s of traffic shifting and \
         bake time is {total} s, above the {MAX_TIMEOUT_SECONDS} s a rollout may take: shorten \
         the bake time or the timeout"
    ))
}

/// The stage of a service deployment, as ECS names it.
pub fn stage_text(stage: Option<&ServiceDeploymentLifecycleStage>) -> &str {
    stage.map_or("no stage yet", ServiceDeploymentLifecycleStage::as_str)
}

/// What a service deployment's status means for an item awaiting `awaits` from it: the outcome,
/// or `None` while it is still moving.
pub fn outcome_of(status: &ServiceDeploymentStatus, awaits: Awaited) -> Option<Outcome> {
    use ServiceDeploymentStatus as S;
    match (status, awaits) {
        (S::Pending | S::InProgress, Awaited::Finished) => None,
        (S::Successful, Awaited::Finished) => Some(Outcome::Succeeded),
        // Stopped or rolled back (by ECS, or by anyone), however it ends: not our rollout.
        (
            S::StopRequested
            | S::Stopped
            | S::RollbackRequested
            | S::RollbackInProgress
            | S::RollbackSuccessful
            | S::RollbackFailed,
            Awaited::Finished,
        ) => Some(Outcome::Failed),
        (S::RollbackRequested | S::RollbackInProgress, Awaited::RolledBack) => None,
        (S::RollbackSuccessful, Awaited::RolledBack) => Some(Outcome::Succeeded),
        // A rollback that ECS could not finish, or a deployment that finished anyway.
        (
            S::RollbackFailed | S::Successful | S::Stopped | S::StopRequested,
            Awaited::RolledBack,
        ) => Some(Outcome::Failed),
        // Not stopped yet (the stop is asynchronous): still moving.
        (S::Pending | S::InProgress, Awaited::RolledBack) => None,
        // A status newer than this build: not success, and not for ever.
        (_, _) => Some(Outcome::Failed),
    }
}

/// What a rollback does with a blue/green item's service deployment, by its status now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlueGreenRestore {
    /// Still deploying (bake included): StopServiceDeployment ROLLBACK, the instant way back,
    /// then await its rollback.
    Stop,
    /// ECS is rolling it back already: await that.
    AwaitRollback,
    /// Ended (succeeded, stopped, rolled back or not): restore like any service, by its task
    /// definition (a new deployment when it still runs ours).
    ByTaskDefinition,
}

pub fn blue_green_restore(status: Option<&ServiceDeploymentStatus>) -> BlueGreenRestore {
    use ServiceDeploymentStatus as S;
    match status {
        Some(S::Pending | S::InProgress) => BlueGreenRestore::Stop,
        Some(S::RollbackRequested | S::RollbackInProgress) => BlueGreenRestore::AwaitRollback,
        _ => BlueGreenRestore::ByTaskDefinition,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strategy(
        strategy: Strategy,
        bake: Option<u32>,
        linear: Option<(f64, u32)>,
        canary: Option<(f64, u32)>,
    ) -> DeploymentStrategy {
        DeploymentStrategy {
            strategy,
            bake_time_in_minutes: bake,
            linear_configuration: linear.map(|(p, m)| LinearConfiguration {
                step_percent: Percent(p),
                step_bake_time_in_minutes: m,
            }),
            canary_configuration: canary.map(|(p, m)| CanaryConfiguration {
                canary_percent: Percent(p),
                canary_bake_time_in_minutes: m,
            }),
        }
    }

    #[test]
    fn the_wait_covers_every_traffic_step_and_the_bake() {
        let cases = [
            (strategy(Strategy::Rolling, Some(5), None, None), 0),
            (strategy(Strategy::BlueGreen, Some(5), None, None), 300),
            (strategy(Strategy::BlueGreen, None, None, None), 0),
            // 4 steps of 25 %, 2 min each, then 1 min of bake.
            (
                strategy(Strategy::Linear, Some(1), Some((25.0, 2)), None),
                540,
            ),
            // 33 % steps: 4 steps (the last one moves 1 %).
            (strategy(Strategy::Linear, None, Some((33.0, 1)), None), 240),
            (
                strategy(Strategy::Canary, Some(2), None, Some((10.0, 5))),
                420,
            ),
            (strategy(Strategy::Canary, None, None, None), 0),
        ];
        for (given, want) in cases {
            assert_eq!(wait_seconds(&given), want, "{given:?}");
        }
    }

    #[test]
    fn a_deadline_beyond_three_hours_is_refused_with_its_numbers() {
        let long = strategy(Strategy::BlueGreen, Some(120), None, None);
        assert_eq!(deadline_fits(3_600, &long), Ok(()));
        let err = deadline_fits(3_601, &long).unwrap_err();
        assert!(
            err.contains("timeoutSeconds 3601 plus the BLUE_GREEN strategy's 7200 s"),
            "{err}"
        );
        assert!(err.contains("10801 s, above the 10800 s"), "{err}");
    }

    #[test]
    fn the_described_strategy_and_what_a_release_sets_keep_every_other_field() {
        let current = DeploymentConfiguration::builder()
            .minimum_healthy_percent(50)
            .maximum_percent(200)
            .strategy(ecs::DeploymentStrategy::Linear)
            .linear_configuration(
                ecs::LinearConfiguration::builder()
                    .step_percent(10.0)
                    .step_bake_time_in_minutes(1)
                    .build(),
            )
            .bake_time_in_minutes(3)
            .build();
        assert_eq!(
            described(Some(&current)),
            Some(strategy(Strategy::Linear, Some(3), Some((10.0, 1)), None))
        );
        assert_eq!(described(None), None);
        let rolling = DeploymentConfiguration::builder()
            .minimum_healthy_percent(100)
            .build();
        assert_eq!(described(Some(&rolling)), None);

        let set = strategy(Strategy::Canary, None, None, Some((2.5, 4)));
        let got = applied(current, &set);
        assert_eq!(got.strategy(), Some(&ecs::DeploymentStrategy::Canary));
        assert_eq!(got.minimum_healthy_percent(), Some(50));
        assert_eq!(got.bake_time_in_minutes(), Some(3), "kept: not named");
        let canary = got.canary_configuration().unwrap();
        assert_eq!(canary.canary_percent(), Some(2.5));
        assert_eq!(canary.canary_bake_time_in_minutes(), Some(4));
        assert!(got.linear_configuration().is_some(), "kept: not named");
    }

    #[test]
    fn a_service_deployment_status_means_what_the_item_awaits() {
        use ServiceDeploymentStatus as S;
        let rows = [
            (S::Pending, Awaited::Finished, None),
            (S::InProgress, Awaited::Finished, None),
            (S::Successful, Awaited::Finished, Some(Outcome::Succeeded)),
            (S::Stopped, Awaited::Finished, Some(Outcome::Failed)),
            (S::StopRequested, Awaited::Finished, Some(Outcome::Failed)),
            (
                S::RollbackRequested,
                Awaited::Finished,
                Some(Outcome::Failed),
            ),
            (
                S::RollbackInProgress,
                Awaited::Finished,
                Some(Outcome::Failed),
            ),
            (
                S::RollbackSuccessful,
                Awaited::Finished,
                Some(Outcome::Failed),
            ),
            (S::RollbackFailed, Awaited::Finished, Some(Outcome::Failed)),
            (S::Pending, Awaited::RolledBack, None),
            (S::InProgress, Awaited::RolledBack, None),
            (S::RollbackRequested, Awaited::RolledBack, None),
            (S::RollbackInProgress, Awaited::RolledBack, None),
            (
                S::RollbackSuccessful,
                Awaited::RolledBack,
                Some(Outcome::Succeeded),
            ),
            (
                S::RollbackFailed,
                Awaited::RolledBack,
                Some(Outcome::Failed),
            ),
            (S::Successful, Awaited::RolledBack, Some(Outcome::Failed)),
            (S::Stopped, Awaited::RolledBack, Some(Outcome::Failed)),
            (
                S::from("SOMETHING_NEW"),
                Awaited::Finished,
                Some(Outcome::Failed),
            ),
        ];
        for (status, awaits, want) in rows {
            assert_eq!(outcome_of(&status, awaits), want, "{status:?} {awaits:?}");
        }
    }

    #[test]
    fn a_rollback_stops_what_still_deploys_and_awaits_what_ecs_rolls_back() {
        use ServiceDeploymentStatus as S;
        let rows = [
            (Some(S::Pending), BlueGreenRestore::Stop),
            (Some(S::InProgress), BlueGreenRestore::Stop),
            (Some(S::RollbackRequested), BlueGreenRestore::AwaitRollback),
            (Some(S::RollbackInProgress), BlueGreenRestore::AwaitRollback),
            (Some(S::Successful), BlueGreenRestore::ByTaskDefinition),
            (
                Some(S::RollbackSuccessful),
                BlueGreenRestore::ByTaskDefinition,
            ),
            (Some(S::RollbackFailed), BlueGreenRestore::ByTaskDefinition),
            (Some(S::Stopped), BlueGreenRestore::ByTaskDefinition),
            (None, BlueGreenRestore::ByTaskDefinition),
        ];
        for (status, want) in rows {
            assert_eq!(blue_green_restore(status.as_ref()), want, "{status:?}");
        }
    }
}
