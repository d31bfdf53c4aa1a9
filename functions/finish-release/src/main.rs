//! finish-release: the release report, and the clean-up of old revisions after a success.

use lambda_runtime::service_fn;

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    release_core::telemetry::init();
    let clients = release_core::config::Clients::from_env().await?;
    let (ecs, events) = (&clients.ecs, &clients.events);
    lambda_runtime::run(service_fn(move |event| handler::handle(ecs, events, event))).await
}
