use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::EcsApi;
use release_core::plan::deploy;
use release_core::step::{self, ServiceDeployment, UpdateServiceInput};
use serde_json::Value;
use tracing::Instrument;

pub async fn handle<E: EcsApi>(
    ecs: &E,
    event: LambdaEvent<Value>,
) -> Result<ServiceDeployment, Diagnostic> {
    let input: UpdateServiceInput = step::parse(event.payload)?;
    let span = tracing::info_span!(
        "update_service",
        release_id = %input.release_id,
        cluster = %input.item.cluster,
        service = %input.item.service,
    );
    async {
        deploy::update_service(ecs, &input, deploy::unix_now())
            .await
            .map_err(|e| {
                tracing::error!(error = %e, error_type = e.name(), "update-service failed");
                e.into()
            })
    }
    .instrument(span)
    .await
}
