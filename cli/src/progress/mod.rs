//! Per-item progress of a release: what the history and the records say (`events`), where each
//! item is (`model`, pure), how it reads as text (`render`), and how `watch` draws it while it
//! changes (`live`).

pub mod events;
pub mod live;
pub mod model;
pub mod render;
#[cfg(test)]
mod tests;

pub use model::{Row, Tracker};
