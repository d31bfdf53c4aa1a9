//! plan-release: re-validate the release, pre-flight it against AWS without changing anything, and
//! record what each item runs now. Also the start of each service's rollout (`deploy`).

pub mod deploy;
