//! In-memory Application Auto Scaling for tests: ECS scalable targets by resource id, calls counted,
//! every suspended state set kept in order, failures on demand.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::ScalingApi;
use crate::contract::{ScalableTarget, SuspendedState};
use crate::Error;

#[derive(Default)]
struct State {
    targets: BTreeMap<String, ScalableTarget>,
    set: Vec<(String, SuspendedState)>,
    calls: BTreeMap<&'static str, u32>,
    refused: Vec<&'static str>,
    /// Operations whose next calls answer Throttled, and how many.
    throttled: BTreeMap<&'static str, u32>,
}

#[derive(Default)]
pub struct FakeScaling {
    state: Mutex<State>,
}

impl FakeScaling {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A scalable target of `cluster/service` with these capacities and flags.
    pub fn target(
        self,
        cluster: &str,
        service: &str,
        min: i32,
        max: i32,
        suspended: SuspendedState,
    ) -> Self {
        let resource_id = ScalableTarget::resource_id(cluster, service);
        let target = ScalableTarget {
            resource_id: resource_id.clone(),
            min_capacity: min,
            max_capacity: max,
            suspended,
        };
        self.state().targets.insert(resource_id, target);
        self
    }

    /// The target of `cluster/service` as it is now.
    pub fn stored(&self, cluster: &str, service: &str) -> Option<ScalableTarget> {
        self.state()
            .targets
            .get(&ScalableTarget::resource_id(cluster, service))
            .cloned()
    }

    /// Every suspended state set, in order: (resource id, state).
    pub fn set_calls(&self) -> Vec<(String, SuspendedState)> {
        self.state().set.clone()
    }

    pub fn calls(&self, op: &str) -> u32 {
        self.state().calls.get(op).copied().unwrap_or_default()
    }

    /// Every later call of `op` ("RegisterScalableTarget") answers AccessDenied.
    pub fn refuse(&self, op: &'static str) {
        self.state().refused.push(op);
    }

    /// The next `calls` calls of `op` answer Throttled, changing nothing.
    pub fn throttle(&self, op: &'static str, calls: u32) {
        self.state().throttled.insert(op, calls);
    }

    fn check(&self, op: &'static str, subject: &str) -> Result<(), Error> {
        let mut state = self.state();
        *state.calls.entry(op).or_default() += 1;
        if state.refused.contains(&op) {
            return Err(Error::AccessDenied {
                message: format!("{op} {subject}: not authorized"),
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

impl ScalingApi for FakeScaling {
    async fn describe_ecs_targets(
        &self,
        resource_ids: &[String],
    ) -> Result<Vec<ScalableTarget>, Error> {
        self.check("DescribeScalableTargets", &resource_ids.join(","))?;
        let state = self.state();
        Ok(resource_ids
            .iter()
            .filter_map(|id| state.targets.get(id).cloned())
            .collect())
    }

    async fn set_suspended(
        &self,
        resource_id: &str,
        suspended: SuspendedState,
    ) -> Result<(), Error> {
        self.check("RegisterScalableTarget", resource_id)?;
        let mut state = self.state();
        let Some(target) = state.targets.get_mut(resource_id) else {
            return Err(Error::internal(format!(
                "RegisterScalableTarget {resource_id}: no such scalable target"
            )));
        };
        target.suspended = suspended;
        state.set.push((resource_id.to_owned(), suspended));
        Ok(())
    }
}
