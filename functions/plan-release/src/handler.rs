use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::{EcsApi, EventsApi};
use release_core::plan;
use release_core::step::{self, Plan, ReleaseInput};
use serde_json::Value;

pub async fn handle<E: EcsApi, V: EventsApi>(
    ecs: &E,
    events: &V,
    event: LambdaEvent<Value>,
) -> Result<Plan, Diagnostic> {
    let input: ReleaseInput = step::parse(event.payload)?;
    // Boxed: the nested SDK futures are too deep to lay out inline in `main`.
    Box::pin(plan::plan(ecs, events, input)).await.map_err(|e| {
        tracing::error!(error = %e, error_type = e.name(), "plan-release failed");
        e.into()
    })
}
