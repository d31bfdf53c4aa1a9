//! JSON logs for CloudWatch: one object per line, event fields flattened, the current span's fields
//! (release_id, cluster, service) attached. No timestamp: CloudWatch stamps every line itself.

use std::future::Future;

use lambda_runtime::Diagnostic;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

use crate::error::with_causes;
use crate::Error;

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
            (Some(""), Some("release_core=trace"), "release_core=trace"),
            (None, Some("warn"), "warn"),
            (Some("ERROR"), None, "error"),
        ];
        for (lambda, rust, want) in cases {
            assert_eq!(filter_directive(lambda, rust), want, "{lambda:?} {rust:?}");
        }
    }
}
