//! check-stability: judges every started deployment of the release, polling for up to the budget.

use release_core::steps::check_stability;

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let budget =
        check_stability::budget_from(std::env::var(check_stability::BUDGET_ENV).ok().as_deref())?;
    release_core::config::serve(|clients, event| {
        handler::handle(
            &clients.ecs,
            &clients.codedeploy,
            &clients.records,
            budget,
            event,
        )
    })
    .await
}
