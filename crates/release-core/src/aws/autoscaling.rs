//! `ScalingApi` over `aws_sdk_applicationautoscaling::Client`: DescribeScalableTargets (50 resource
//! ids a call, following NextToken) and RegisterScalableTarget with the suspended state alone.

use aws_sdk_applicationautoscaling::types::{
    ScalableDimension, ServiceNamespace, SuspendedState as SdkSuspendedState,
};

use super::{sdk_error, ScalingApi};
use crate::contract::{ScalableTarget, SuspendedState, ECS_DESIRED_COUNT};
use crate::Error;

/// DescribeScalableTargets takes at most this many resource ids.
const DESCRIBE_BATCH: usize = 50;

fn suspended_of(state: Option<&SdkSuspendedState>) -> SuspendedState {
    state.map_or_else(SuspendedState::default, |s| SuspendedState {
        dynamic_scaling_in_suspended: s.dynamic_scaling_in_suspended().unwrap_or(false),
        dynamic_scaling_out_suspended: s.dynamic_scaling_out_suspended().unwrap_or(false),
        scheduled_scaling_suspended: s.scheduled_scaling_suspended().unwrap_or(false),
    })
}

impl ScalingApi for aws_sdk_applicationautoscaling::Client {
    async fn describe_ecs_targets(
        &self,
        resource_ids: &[String],
    ) -> Result<Vec<ScalableTarget>, Error> {
        let mut found = Vec::new();
        for chunk in resource_ids.chunks(DESCRIBE_BATCH) {
            let mut next: Option<String> = None;
            loop {
                let out = self
                    .describe_scalable_targets()
                    .service_namespace(ServiceNamespace::Ecs)
                    .scalable_dimension(ScalableDimension::from(ECS_DESIRED_COUNT))
                    .set_resource_ids(Some(chunk.to_vec()))
                    .set_next_token(next.take())
                    .send()
                    .await
                    .map_err(|e| sdk_error("DescribeScalableTargets", e))?;
                found.extend(out.scalable_targets().iter().map(|t| ScalableTarget {
                    resource_id: t.resource_id().to_owned(),
                    min_capacity: t.min_capacity(),
                    max_capacity: t.max_capacity(),
                    suspended: suspended_of(t.suspended_state()),
                }));
                match out.next_token() {
                    Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                    _ => break,
                }
            }
        }
        Ok(found)
    }

    async fn set_suspended(
        &self,
        resource_id: &str,
        suspended: SuspendedState,
    ) -> Result<(), Error> {
        let state = SdkSuspendedState::builder()
            .dynamic_scaling_in_suspended(suspended.dynamic_scaling_in_suspended)
            .dynamic_scaling_out_suspended(suspended.dynamic_scaling_out_suspended)
            .scheduled_scaling_suspended(suspended.scheduled_scaling_suspended)
            .build();
        self.register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::from(ECS_DESIRED_COUNT))
            .resource_id(resource_id)
            .suspended_state(state)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("RegisterScalableTarget {resource_id}"), e))?;
        Ok(())
    }
}
