//! Pure decisions: no AWS call, no record, no clock. Everything here is table-tested with
//! hand-built values (the SDK's data types are plain structs).

pub mod batches;
pub mod cleanup;
pub mod codedeploy;
pub mod job;
pub mod ledger;
pub mod lock;
pub mod manifest;
pub mod pace;
pub mod preflight;
pub mod recover;
pub mod release_event;
pub mod release_ref;
pub mod report;
pub mod rollback;
pub mod rules;
pub mod scaling;
pub mod schedule;
pub mod strategy;
pub mod taskdef;
pub mod verdict;
pub mod waves;
