//! `SchedulerApi` over `aws_sdk_scheduler::Client`: GetSchedule, and UpdateSchedule sending every
//! field of the request it is given (UpdateSchedule replaces the whole schedule: a field left out
//! is reset to its default).

use aws_sdk_scheduler::error::ProvideErrorMetadata;
use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
use aws_sdk_scheduler::operation::update_schedule::UpdateScheduleInput;

use super::{sdk_error, SchedulerApi};
use crate::error::ItemFailure;
use crate::Error;

impl SchedulerApi for aws_sdk_scheduler::Client {
    async fn get_schedule(
        &self,
        group: &str,
        name: &str,
    ) -> Result<Option<GetScheduleOutput>, Error> {
        match self
            .get_schedule()
            .group_name(group)
            .name(name)
            .send()
            .await
        {
            Ok(found) => Ok(Some(found)),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(sdk_error(&format!("GetSchedule {group}/{name}"), err)),
        }
    }

    async fn update_schedule(&self, update: &UpdateScheduleInput) -> Result<(), Error> {
        let group = update.group_name().unwrap_or_default();
        let name = update.name().unwrap_or_default();
        let sent = self
            .update_schedule()
            .set_name(update.name.clone())
            .set_group_name(update.group_name.clone())
            .set_schedule_expression(update.schedule_expression.clone())
            .set_start_date(update.start_date)
            .set_end_date(update.end_date)
            .set_description(update.description.clone())
            .set_schedule_expression_timezone(update.schedule_expression_timezone.clone())
            .set_state(update.state.clone())
            .set_kms_key_arn(update.kms_key_arn.clone())
            .set_target(update.target.clone())
            .set_flexible_time_window(update.flexible_time_window.clone())
            .set_client_token(update.client_token.clone())
            .set_action_after_completion(update.action_after_completion.clone())
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Err(Error::ScheduleNotFound(format!("{group}/{name}")))
            }
            // Scheduler refused the schedule as sent: the item's failure, said as Scheduler said it.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_validation_exception()) =>
            {
                let said = err
                    .as_service_error()
                    .and_then(|e| e.message())
                    .unwrap_or("no message")
                    .to_owned();
                Err(Error::TargetsRejected {
                    kind: "schedule",
                    rule: format!("{group}/{name}"),
                    targets: vec![ItemFailure {
                        id: "UpdateSchedule".into(),
                        reason: format!("ValidationException: {said}"),
                    }],
                })
            }
            Err(err) => Err(sdk_error(&format!("UpdateSchedule {group}/{name}"), err)),
        }
    }
}
