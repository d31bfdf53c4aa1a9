//! Per-item progress of a release: what the history and the records say about each item
//! (`model`, pure), how it reads as text (`render`), and how `watch` draws it while it changes
//! (`live`).

pub mod live;
pub mod model;
pub mod render;

pub use model::{Row, Tracker};
