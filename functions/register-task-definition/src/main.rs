//! register-task-definition: registers the next revision of a service's or rule target's task
//! definition with the release's images.

use lambda_runtime::service_fn;

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    release_core::telemetry::init();
    let clients = release_core::config::Clients::from_env().await?;
    let ecs = &clients.ecs;
    lambda_runtime::run(service_fn(move |event| handler::handle(ecs, event))).await
}
