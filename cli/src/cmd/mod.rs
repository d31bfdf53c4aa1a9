//! One module per command: its arguments, and `run`, which says how the command ends. The work
//! itself is in the modules they share; nothing outside `cmd` and `main` uses these.

pub mod deploy;
pub mod history;
pub mod locks;
pub mod plan;
pub mod render;
pub mod resume_scaling;
pub mod rollback;
pub mod status;
pub mod validate;
pub mod watch;
