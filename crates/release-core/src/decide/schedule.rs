//! EventBridge Scheduler schedules as the release changes them: which task definition a schedule's
//! ECS target runs, and the UpdateSchedule request that points it at another one and keeps
//! everything else. UpdateSchedule replaces the whole schedule (a field left out is reset to its
//! default), so the request carries every field GetSchedule returned.

use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
use aws_sdk_scheduler::operation::update_schedule::UpdateScheduleInput;

/// The task definition the schedule's target runs, or why the schedule cannot be released: its
/// target is not ECS RunTask (a Lambda, an SQS queue, a universal target…), whose fields the
/// request could not promise to carry over.
pub fn ecs_task_definition(found: &GetScheduleOutput) -> Result<&str, String> {
    let Some(target) = found.target() else {
        return Err("the schedule has no target".to_owned());
    };
    match target.ecs_parameters() {
        Some(ecs) if is_ecs_cluster(target.arn()) => Ok(ecs.task_definition_arn()),
        _ => Err(format!(
            "its target is not an ECS task (target {}): only schedules that run an ECS task are \
             released",
            target.arn()
        )),
    }
}

/// `arn:<partition>:ecs:<region>:<account>:cluster/<name>`.
fn is_ecs_cluster(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6 && parts[2] == "ecs" && parts[5].starts_with("cluster/")
}

/// The UpdateSchedule request that points the schedule's ECS target at `task_definition` and
/// keeps every other field as `found` has it. `Err` for a schedule that is not an ECS one.
pub fn retargeted(
    found: &GetScheduleOutput,
    task_definition: &str,
) -> Result<UpdateScheduleInput, String> {
    ecs_task_definition(found)?;
    let mut target = found.target.clone();
    if let Some(ecs) = target.as_mut().and_then(|t| t.ecs_parameters.as_mut()) {
        ecs.task_definition_arn = task_definition.to_owned();
    }
    UpdateScheduleInput::builder()
        .set_name(found.name.clone())
        .set_group_name(found.group_name.clone())
        .set_schedule_expression(found.schedule_expression.clone())
        .set_start_date(found.start_date)
        .set_end_date(found.end_date)
        .set_description(found.description.clone())
        .set_schedule_expression_timezone(found.schedule_expression_timezone.clone())
        .set_state(found.state.clone())
        .set_kms_key_arn(found.kms_key_arn.clone())
        .set_target(target)
        .set_flexible_time_window(found.flexible_time_window.clone())
        .set_action_after_completion(found.action_after_completion.clone())
        .build()
        .map_err(|e| format!("the UpdateSchedule request cannot be built: {e}"))
}

/// Schedules for tests, with every field set.
#[cfg(any(test, feature = "test-util"))]
pub mod test_support {
    use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
    use aws_sdk_scheduler::types::{
        ActionAfterCompletion, AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem,
        DeadLetterConfig, EcsParameters, FlexibleTimeWindow, FlexibleTimeWindowMode, LaunchType,
        NetworkConfiguration, PlacementConstraint, PlacementConstraintType, PlacementStrategy,
        PlacementStrategyType, PropagateTags, RetryPolicy, ScheduleState, Target,
    };
    use aws_smithy_types::DateTime;

    /// A schedule `group/name` whose ECS target runs `task_definition`, with every field GetSchedule
    /// returns set (what a release must carry over untouched).
    pub fn ecs_schedule(group: &str, name: &str, task_definition: &str) -> GetScheduleOutput {
        let ecs = EcsParameters::builder()
            .task_definition_arn(task_definition)
            .task_count(2)
            .launch_type(LaunchType::Fargate)
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(
                        AwsVpcConfiguration::builder()
                            .subnets("subnet-1")
                            .security_groups("sg-1")
                            .assign_public_ip(AssignPublicIp::Disabled)
                            .build()
                            .expect("required fields are set"),
                    )
                    .build(),
            )
            .platform_version("1.4.0")
            .group("reports")
            .capacity_provider_strategy(
                CapacityProviderStrategyItem::builder()
                    .capacity_provider("FARGATE_SPOT")
                    .weight(1)
                    .base(0)
                    .build()
                    .expect("required fields are set"),
            )
            .enable_ecs_managed_tags(true)
            .enable_execute_command(false)
            .placement_constraints(
                PlacementConstraint::builder()
                    .r#type(PlacementConstraintType::DistinctInstance)
                    .build(),
            )
            .placement_strategy(
                PlacementStrategy::builder()
                    .r#type(PlacementStrategyType::Spread)
                    .field("attribute:ecs.availability-zone")
                    .build(),
            )
            .propagate_tags(PropagateTags::TaskDefinition)
            .reference_id("ref-1")
            .tags(std::collections::HashMap::from([(
                "team".to_owned(),
                "data".to_owned(),
            )]))
            .build()
            .expect("required fields are set");
        let target = Target::builder()
            .arn("arn:aws:ecs:eu-west-1:111111111111:cluster/prod")
            .role_arn("arn:aws:iam::111111111111:role/scheduler-run-report")
            .dead_letter_config(
                DeadLetterConfig::builder()
                    .arn("arn:aws:sqs:eu-west-1:1:dlq")
                    .build(),
            )
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_event_age_in_seconds(3600)
                    .maximum_retry_attempts(3)
                    .build(),
            )
            .input("{\"containerOverrides\":[]}")
            .ecs_parameters(ecs)
            .build()
            .expect("required fields are set");
        GetScheduleOutput::builder()
            .arn(format!(
                "arn:aws:scheduler:eu-west-1:111111111111:schedule/{group}/{name}"
            ))
            .group_name(group)
            .name(name)
            .schedule_expression("cron(0 3 * * ? *)")
            .start_date(DateTime::from_secs(1_800_000_000))
            .end_date(DateTime::from_secs(1_900_000_000))
            .description("the nightly report")
            .schedule_expression_timezone("Europe/Paris")
            .state(ScheduleState::Disabled)
            .creation_date(DateTime::from_secs(1_700_000_000))
            .last_modification_date(DateTime::from_secs(1_750_000_000))
            .kms_key_arn("arn:aws:kms:eu-west-1:111111111111:key/k")
            .target(target)
            .flexible_time_window(
                FlexibleTimeWindow::builder()
                    .mode(FlexibleTimeWindowMode::Flexible)
                    .maximum_window_in_minutes(15)
                    .build()
                    .expect("required fields are set"),
            )
            .action_after_completion(ActionAfterCompletion::Delete)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_scheduler::types::{ActionAfterCompletion, ScheduleState, Target};
    use aws_smithy_types::DateTime;

    use super::test_support::ecs_schedule;
    use super::*;

    const OLD: &str = "arn:aws:ecs:eu-west-1:111111111111:task-definition/report:4";
    const NEW: &str = "arn:aws:ecs:eu-west-1:111111111111:task-definition/report:5";

    #[test]
    fn the_update_carries_every_field_the_schedule_has_but_its_task_definition() {
        let found = ecs_schedule("reports", "nightly", OLD);
        let update = retargeted(&found, NEW).unwrap();
        // What GetSchedule returns that UpdateSchedule does not take: the ARN and the dates ECS
        // keeps. Everything else is sent as read.
        let expected = UpdateScheduleInput::builder()
            .name("nightly")
            .group_name("reports")
            .schedule_expression("cron(0 3 * * ? *)")
            .start_date(DateTime::from_secs(1_800_000_000))
            .end_date(DateTime::from_secs(1_900_000_000))
            .description("the nightly report")
            .schedule_expression_timezone("Europe/Paris")
            .state(ScheduleState::Disabled)
            .kms_key_arn("arn:aws:kms:eu-west-1:111111111111:key/k")
            .target(ecs_schedule("reports", "nightly", NEW).target.unwrap())
            .flexible_time_window(found.flexible_time_window.clone().unwrap())
            .action_after_completion(ActionAfterCompletion::Delete)
            .build()
            .unwrap();
        assert_eq!(update, expected);
        // Only the task definition differs from the schedule as read.
        let mut back = update.target.clone().unwrap();
        back.ecs_parameters.as_mut().unwrap().task_definition_arn = OLD.to_owned();
        assert_eq!(Some(back), found.target);
    }

    #[test]
    fn the_update_has_a_place_for_every_field_get_schedule_returns() {
        // A field GetSchedule gains in an SDK update shows up in its Debug output: it must be
        // carried by `retargeted` (and the adapter), or listed here as not UpdateSchedule's.
        let not_sent = ["arn", "creation_date", "last_modification_date"];
        let debug = format!("{:?}", ecs_schedule("reports", "nightly", OLD));
        let fields = top_level_fields(&debug);
        assert!(fields.contains(&"action_after_completion"), "{fields:?}");
        let update = format!(
            "{:?}",
            retargeted(&ecs_schedule("reports", "nightly", OLD), NEW).unwrap()
        );
        for field in fields {
            if field.starts_with('_') || not_sent.contains(&field) {
                continue;
            }
            assert!(
                update.contains(&format!("{field}: Some(")),
                "{field} is not carried by UpdateSchedule: {update}"
            );
        }
    }

    /// The field names of a struct's `Debug` output (`Name { a: 1, b: Some(X { c: 2 }) }` → a, b).
    fn top_level_fields(debug: &str) -> Vec<&str> {
        let Some(open) = debug.find('{') else {
            return Vec::new();
        };
        let mut fields = Vec::new();
        let mut depth = 0_usize;
        let mut start = open + 1;
        for (i, c) in debug.char_indices().skip(open) {
            match c {
                '{' | '[' | '(' => depth += 1,
                '}' | ']' | ')' => depth -= 1,
                ',' if depth == 1 => {
                    fields.push(debug[start..i].trim());
                    start = i + 1;
                }
                _ => {}
            }
        }
        fields.push(debug[start..debug.len() - 1].trim());
        fields
            .into_iter()
            .filter_map(|part| part.split_once(':').map(|(name, _)| name.trim()))
            .collect()
    }

    #[test]
    fn only_schedules_that_run_an_ecs_task_are_released() {
        assert_eq!(
            ecs_task_definition(&ecs_schedule("reports", "nightly", OLD)),
            Ok(OLD)
        );
        let lambda = GetScheduleOutput::builder()
            .name("ping")
            .target(
                Target::builder()
                    .arn("arn:aws:lambda:eu-west-1:111111111111:function:ping")
                    .role_arn("arn:aws:iam::111111111111:role/r")
                    .build()
                    .unwrap(),
            )
            .build();
        let err = ecs_task_definition(&lambda).unwrap_err();
        assert!(err.contains("not an ECS task"), "{err}");
        assert!(retargeted(&lambda, NEW).is_err());
        let none = GetScheduleOutput::builder().name("x").build();
        assert_eq!(
            ecs_task_definition(&none),
            Err("the schedule has no target".to_owned())
        );
    }
}
