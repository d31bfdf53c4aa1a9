//! JSON logs for CloudWatch: one object per line, event fields flattened, the current span's fields
//! (release_id, cluster, service) attached. No timestamp: CloudWatch stamps every line itself.

use tracing_subscriber::EnvFilter;

/// The filter directive: Lambda's `AWS_LAMBDA_LOG_LEVEL` (set by `LoggingConfig`) wins over
/// `RUST_LOG`; `info` when neither is set.
pub fn filter_directive(lambda_level: Option<&str>, rust_log: Option<&str>) -> String {
    let pick = |v: Option<&str>| {
        v.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    pick(lambda_level)
        .map(|level| level.to_ascii_lowercase())
        .or_else(|| pick(rust_log))
        .unwrap_or_else(|| "info".to_owned())
}

/// Installs the global subscriber. Call once, first thing in `main`; a second call is a no-op.
pub fn init() {
    let directive = filter_directive(
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
    );
    let filter = EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new("info"));
    // `try_init` so tests and tools that already installed a subscriber keep theirs.
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_level_precedence() {
        let cases = [
            (None, None, "info"),
            (Some("DEBUG"), Some("warn"), "debug"),
            (Some(""), Some("release_core=trace"), "release_core=trace"),
            (None, Some("warn"), "warn"),
            (Some("ERROR"), None, "error"),
        ];
        for (lambda, rust, want) in cases {
            assert_eq!(filter_directive(lambda, rust), want, "{lambda:?} {rust:?}");
        }
    }
}
