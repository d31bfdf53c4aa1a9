use std::time::Duration;

use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::{CodeDeployApi, EcsApi, ObjectStore};
use release_core::contract::{StabilityCounts, StabilityInput};
use release_core::records::RecordStore;
use release_core::steps::check_stability;
use release_core::telemetry;
use serde_json::Value;

pub async fn handle<E: EcsApi, C: CodeDeployApi, S: ObjectStore>(
    ecs: &E,
    codedeploy: &C,
    store: &RecordStore<S>,
    budget: Duration,
    event: LambdaEvent<Value>,
) -> Result<StabilityCounts, Diagnostic> {
    let input: StabilityInput = release_core::steps::parse_input(event.payload)?;
    let span = tracing::info_span!(
        "check_stability",
        release_id = %input.release_id,
        phase = ?input.phase,
    );
    let work = check_stability::check_round(ecs, codedeploy, store, &input, budget);
    telemetry::traced("check-stability", span, work).await
}
