use std::time::Duration;

use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::EcsApi;
use release_core::stability;
use release_core::step::{self, StabilityInput, StabilityOutput};
use release_core::telemetry;
use serde_json::Value;

pub async fn handle<E: EcsApi>(
    ecs: &E,
    budget: Duration,
    event: LambdaEvent<Value>,
) -> Result<StabilityOutput, Diagnostic> {
    let input: StabilityInput = step::parse(event.payload)?;
    let span = tracing::info_span!("check_stability", release_id = %input.release_id);
    telemetry::traced(
        "check-stability",
        span,
        stability::check(ecs, input, budget),
    )
    .await
}
