//! check-stability: judges every started deployment of the release, polling for up to the budget.

use release_core::stability;

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let budget = stability::budget_from(std::env::var(stability::BUDGET_ENV).ok().as_deref())?;
    release_core::config::serve(|clients, event| {
        handler::handle(&clients.ecs, &clients.records, budget, event)
    })
    .await
}
