use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::EcsApi;
use release_core::step::{self, PlanItem, RegisterInput};
use release_core::taskdef;
use serde_json::Value;
use tracing::Instrument;

pub async fn handle<E: EcsApi>(ecs: &E, event: LambdaEvent<Value>) -> Result<PlanItem, Diagnostic> {
    let input: RegisterInput = step::parse(event.payload)?;
    let span = tracing::info_span!("register_task_definition", release_id = %input.release_id);
    async {
        // Boxed: the nested SDK futures are too deep to lay out inline in `main`.
        Box::pin(taskdef::register_item(ecs, input)).await.map_err(|e| {
            tracing::error!(error = %e, error_type = e.name(), "register-task-definition failed");
            e.into()
        })
    }
    .instrument(span)
    .await
}
