//! update-scheduled-rule: points every ECS target of one EventBridge rule at its new task definition.

use lambda_runtime::service_fn;

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    release_core::telemetry::init();
    let clients = release_core::config::Clients::from_env().await?;
    let events = &clients.events;
    lambda_runtime::run(service_fn(move |event| handler::handle(events, event))).await
}
