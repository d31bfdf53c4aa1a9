//! In-memory EventBridge Scheduler for tests: schedules by group and name, UpdateSchedule
//! replacing the whole schedule as AWS does, calls counted, failures on demand.

use std::collections::BTreeMap;
use std::sync::Mutex;

use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
use aws_sdk_scheduler::operation::update_schedule::UpdateScheduleInput;
use aws_smithy_types::DateTime;

use super::SchedulerApi;
pub use crate::decide::schedule::test_support::ecs_schedule;
use crate::Error;

#[derive(Default)]
struct State {
    schedules: BTreeMap<(String, String), GetScheduleOutput>,
    updates: Vec<UpdateScheduleInput>,
    calls: BTreeMap<&'static str, u32>,
    /// Operations whose next calls answer Throttled, and how many.
    throttled: BTreeMap<&'static str, u32>,
    /// Operations that answer AccessDenied.
    refused: Vec<&'static str>,
}

#[derive(Default)]
pub struct FakeScheduler {
    state: Mutex<State>,
}

impl FakeScheduler {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds (or replaces) a schedule, as GetSchedule would return it.
    pub fn schedule(self, found: GetScheduleOutput) -> Self {
        let key = (
            found.group_name().unwrap_or("default").to_owned(),
            found.name().unwrap_or_default().to_owned(),
        );
        self.state().schedules.insert(key, found);
        self
    }

    /// The schedule as it is now.
    pub fn stored(&self, group: &str, name: &str) -> Option<GetScheduleOutput> {
        self.state()
            .schedules
            .get(&(group.to_owned(), name.to_owned()))
            .cloned()
    }

    /// Every UpdateSchedule request, in order.
    pub fn updates(&self) -> Vec<UpdateScheduleInput> {
        self.state().updates.clone()
    }

    pub fn calls(&self, op: &str) -> u32 {
        self.state().calls.get(op).copied().unwrap_or_default()
    }

    /// The next `calls` calls of `op` answer Throttled.
    pub fn throttle(&self, op: &'static str, calls: u32) {
        self.state().throttled.insert(op, calls);
    }

    /// Every later call of `op` answers AccessDenied.
    pub fn refuse(&self, op: &'static str) {
        self.state().refused.push(op);
    }

    fn check(&self, op: &'static str, subject: &str) -> Result<(), Error> {
        let mut state = self.state();
        *state.calls.entry(op).or_default() += 1;
        if state.refused.contains(&op) {
            return Err(Error::AccessDenied {
                message: format!("{op} {subject}: AccessDeniedException"),
                source: None,
            });
        }
        if let Some(left) = state.throttled.get_mut(op).filter(|n| **n > 0) {
            *left -= 1;
            return Err(Error::Throttled {
                message: format!("{op} {subject}: ThrottlingException: Rate exceeded"),
                source: None,
            });
        }
        Ok(())
    }
}

impl SchedulerApi for FakeScheduler {
    async fn get_schedule(
        &self,
        group: &str,
        name: &str,
    ) -> Result<Option<GetScheduleOutput>, Error> {
        self.check("GetSchedule", &format!("{group}/{name}"))?;
        Ok(self.stored(group, name))
    }

    async fn update_schedule(&self, update: &UpdateScheduleInput) -> Result<(), Error> {
        let group = update.group_name().unwrap_or("default").to_owned();
        let name = update.name().unwrap_or_default().to_owned();
        self.check("UpdateSchedule", &format!("{group}/{name}"))?;
        let mut state = self.state();
        state.updates.push(update.clone());
        let Some(current) = state.schedules.get_mut(&(group.clone(), name.clone())) else {
            return Err(Error::ScheduleNotFound(format!("{group}/{name}")));
        };
        // The whole schedule is replaced: what the request leaves out is gone.
        *current = GetScheduleOutput::builder()
            .set_arn(current.arn.clone())
            .set_creation_date(current.creation_date)
            .last_modification_date(DateTime::from_secs(2_000_000_000))
            .group_name(group)
            .name(name)
            .set_schedule_expression(update.schedule_expression.clone())
            .set_start_date(update.start_date)
            .set_end_date(update.end_date)
            .set_description(update.description.clone())
            .set_schedule_expression_timezone(update.schedule_expression_timezone.clone())
            .set_state(update.state.clone())
            .set_kms_key_arn(update.kms_key_arn.clone())
            .set_target(update.target.clone())
            .set_flexible_time_window(update.flexible_time_window.clone())
            .set_action_after_completion(update.action_after_completion.clone())
            .build();
        Ok(())
    }
}
