//! Typed input and output of every step of the release state machine, one module per phase.
//!
//! These types are the contract between the Lambda functions and `statemachine/release.asl.json`:
//! the JSON field names here are the paths the ASL reads (`$.plan.records`, ...), and the contract
//! tests deserialize every file in `events/` into them. Per-item records (the plan, each item's
//! result, stability rounds, restores, the full report) are S3 objects under the execution's
//! [`Records`] prefix; the state carries only ids, counts and error names, so it stays far below
//! the 256 KiB limit whatever the size of the release (docs/decisions/0003).
//!
//! Data and serde only: nothing here calls AWS or decides anything.

mod batch;
mod codedeploy;
mod deploy;
#[cfg(any(test, feature = "test-util"))]
pub mod examples;
mod job;
mod ledger;
mod lock;
mod plan;
mod release;
mod release_event;
mod report;
mod rollback;
mod scaling;
mod schedule;
mod stability;
mod strategy;
mod task_definition;
mod watchdog;

pub use batch::*;
pub use codedeploy::*;
pub use deploy::*;
pub use job::*;
pub use ledger::*;
pub use lock::Lock;
pub use plan::*;
pub use release::*;
pub use release_event::*;
pub use report::*;
pub use rollback::*;
pub use scaling::*;
pub use schedule::*;
pub use stability::*;
pub use strategy::*;
pub use task_definition::TaskDefRef;
pub use watchdog::*;

/// How many items `items` yields, as the `u32` counts of the contract (saturating: a release is
/// far below `u32::MAX` items, and a count must never wrap).
pub fn count<T>(items: impl Iterator<Item = T>) -> u32 {
    u32::try_from(items.count()).unwrap_or(u32::MAX)
}
