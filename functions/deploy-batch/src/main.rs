//! deploy-batch: one child of a wave's Map deploys its batch of changed items, paced to its share
//! of ECS's account buckets.

use std::sync::OnceLock;

use release_core::config;
use release_core::steps::deploy_batch;

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let budget =
        deploy_batch::budget_from(std::env::var(deploy_batch::BUDGET_ENV).ok().as_deref())?;
    // The pacer retries ECS itself, after its next token, counting every throttled answer.
    static PACED_ECS: OnceLock<aws_sdk_ecs::Client> = OnceLock::new();
    config::serve(move |clients, event| {
        let ecs = PACED_ECS.get_or_init(|| config::without_retries(&clients.ecs));
        handler::handle(
            ecs,
            &clients.events,
            &clients.codedeploy,
            &clients.scheduler,
            &clients.scaling,
            &clients.records,
            budget,
            event,
        )
    })
    .await
}
