//! check-stability: judges every started deployment of the release, polling for up to the budget.

use lambda_runtime::service_fn;
use release_core::stability;

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    release_core::telemetry::init();
    let budget = stability::budget_from(std::env::var(stability::BUDGET_ENV).ok().as_deref())?;
    let clients = release_core::config::Clients::from_env().await?;
    let ecs = &clients.ecs;
    lambda_runtime::run(service_fn(move |event| handler::handle(ecs, budget, event))).await
}
