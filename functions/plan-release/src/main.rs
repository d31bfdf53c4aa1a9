//! plan-release: validates the release and pre-flights it against ECS and EventBridge.

use lambda_runtime::service_fn;

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    release_core::telemetry::init();
    let clients = release_core::config::Clients::from_env().await?;
    let (ecs, events) = (&clients.ecs, &clients.events);
    lambda_runtime::run(service_fn(move |event| handler::handle(ecs, events, event))).await
}
