//! JSON logs for CloudWatch: one object per line, event fields flattened, the current span's fields
//! (release_id, cluster, service) attached. No timestamp: CloudWatch stamps every line itself.
//!
//! The stack's `LogLevel` is convoy's own: it sets the level of convoy's crates only. Everything
//! else in a function (the AWS SDK, hyper, rustls, the Lambda runtime) logs at `warn`, or quieter
//! when `LogLevel` is: at `debug` and `trace` the SDK logs whole request and response bodies
//! (a task definition's `environment` values among them) and signing details. Only
//! [`DEPENDENCY_LEVEL_VAR`], set by hand on a function, makes them louder.

use std::future::Future;

use lambda_runtime::Diagnostic;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

use crate::error::with_causes;
use crate::Error;

/// The level of every crate that is not convoy's (`warn` when unset): an explicit request, made by
/// setting it on a function, for the SDK's own request and response logs.
pub const DEPENDENCY_LEVEL_VAR: &str = "CONVOY_DEPENDENCY_LOG_LEVEL";

/// Targets (crate names) whose events the log level applies to: the library, the functions and
/// the CLI. A target matches by prefix.
pub const CONVOY_TARGETS: &[&str] = &[
    "release_core",
    "plan_release",
    "register_task_definition",
    "update_service",
    "update_scheduled_rule",
    "check_stability",
    "rollback",
    "finish_release",
    "watchdog",
    "convoy",
];

/// Levels from the quietest; Lambda's `FATAL` (tracing has none) is `error`.
const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];
const DEPENDENCY_DEFAULT: &str = "warn";

/// A level name as the filter spells it, if `value` is one.
fn level(value: &str) -> Option<&'static str> {
    match value.trim().to_ascii_lowercase().as_str() {
        "fatal" => Some("error"),
        other => LEVELS.iter().copied().find(|l| *l == other),
    }
}

fn quieter(a: &'static str, b: &'static str) -> &'static str {
    let rank = |l| LEVELS.iter().position(|x| *x == l).unwrap_or(0);
    if rank(a) <= rank(b) {
        a
    } else {
        b
    }
}

/// The filter directive. The level is Lambda's `AWS_LAMBDA_LOG_LEVEL` (set by `LoggingConfig`
/// from the stack's `LogLevel`), else `RUST_LOG` when it is a level alone, else `info`; it applies
/// to [`CONVOY_TARGETS`], and every other crate logs at `dependency_level` (the value of
/// [`DEPENDENCY_LEVEL_VAR`]) or else at `warn`, never louder than convoy's own level. A `RUST_LOG`
/// that names targets (`release_core=trace,aws_smithy_runtime=debug`) is used as written when
/// Lambda sets no level: whoever writes one asks for exactly that.
pub fn filter_directive(
    lambda_level: Option<&str>,
    rust_log: Option<&str>,
    dependency_level: Option<&str>,
) -> String {
    let own = match (given(lambda_level), given(rust_log)) {
        (Some(lambda), _) => level(lambda).unwrap_or("info"),
        (None, Some(rust)) => match level(rust) {
            Some(level) => level,
            None => return rust.to_owned(),
        },
        (None, None) => "info",
    };
    let dependencies = given(dependency_level)
        .and_then(level)
        .unwrap_or_else(|| quieter(DEPENDENCY_DEFAULT, own));
    let mut directive = dependencies.to_owned();
    for target in CONVOY_TARGETS {
        directive.push_str(&format!(",{target}={own}"));
    }
    directive
}

/// A set value, trimmed; `None` when unset or blank.
fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// Installs the global subscriber. Call once, first thing in `main`; a second call is a no-op.
pub fn init() {
    let dependency_level = std::env::var(DEPENDENCY_LEVEL_VAR).ok();
    let directive = filter_directive(
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
        dependency_level.as_deref(),
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
    if let Some(value) = dependency_level.filter(|v| !v.trim().is_empty() && level(v).is_none()) {
        tracing::warn!(
            "{DEPENDENCY_LEVEL_VAR} = `{value}` is not a level (trace, debug, info, warn, \
             error): other crates log at {DEPENDENCY_DEFAULT}"
        );
    }
}

/// Runs one invocation's `work` inside `span`. A failure is logged there with its stable name and
/// becomes the `Diagnostic` Step Functions matches on; `function` names the function in the log.
pub fn traced<T>(
    function: &'static str,
    span: tracing::Span,
    work: impl Future<Output = Result<T, Error>>,
) -> impl Future<Output = Result<T, Diagnostic>> {
    // Boxed now, not at the first poll: the SDK futures nest too deep to lay out inline in a
    // function's `main`.
    let work = Box::pin(work);
    async move {
        work.await.map_err(|e| {
            tracing::error!(error = %with_causes(&e), error_type = e.name(), "{function} failed");
            e.into()
        })
    }
    .instrument(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line the JSON subscriber writes while the test runs.
    #[derive(Clone, Default)]
    struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn traced_failures_are_logged_in_the_span_with_their_stable_name() {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let span = tracing::info_span!("update_service", release_id = "r-7");
        let failed: Result<(), Diagnostic> = traced("update-service", span, async {
            Err(Error::ServiceNotFound("prod/web".into()))
        })
        .await;
        let diagnostic = failed.unwrap_err();
        assert_eq!(diagnostic.error_type, "ServiceNotFound");
        let ok = traced("update-service", tracing::info_span!("s"), async { Ok(7) }).await;
        assert_eq!(ok.unwrap(), 7);

        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let logged: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(logged.len(), 1, "only the failure is logged: {text}");
        assert_eq!(logged[0]["message"], "update-service failed");
        assert_eq!(logged[0]["error_type"], "ServiceNotFound");
        assert_eq!(logged[0]["level"], "ERROR");
        assert_eq!(logged[0]["span"]["release_id"], "r-7");
    }

    #[test]
    fn log_level_precedence() {
        let cases = [
            (None, None, "info"),
            (Some("DEBUG"), Some("warn"), "debug"),
            (Some(""), Some("WARN"), "warn"),
            (None, Some("warn"), "warn"),
            (Some("ERROR"), None, "error"),
            (Some("FATAL"), None, "error"),
        ];
        for (lambda, rust, want) in cases {
            let directive = filter_directive(lambda, rust, None);
            assert!(
                directive.contains(&format!(",release_core={want},")),
                "{lambda:?} {rust:?}: {directive}"
            );
        }
        // A RUST_LOG naming targets is an explicit request: as written, unless Lambda sets a level.
        let explicit = "release_core=trace,aws_smithy_runtime=debug";
        assert_eq!(filter_directive(None, Some(explicit), None), explicit);
        assert!(filter_directive(Some("INFO"), Some(explicit), None).starts_with("warn,"));
    }
}
