//! One moto server per test process, with convoy's ECS rollout simulator and fault endpoints
//! (`local/moto_server.py`), for integration tests that speak the real AWS wire protocol.
//!
//! ```no_run
//! # async fn example() {
//! let moto = convoy_testkit::moto();
//! let conf = moto.sdk_config().await;
//! let net = moto.network();
//! moto.post(
//!     "/_fault/ecs/arm",
//!     serde_json::json!({"cluster": "c", "service": "s", "mode": "fail", "failedTasks": 3}),
//! );
//! assert_eq!(moto.calls("RegisterTaskDefinition"), 0);
//! # let _ = (conf, net);
//! # }
//! ```
//!
//! moto's state is shared by every test of the process: give each test its own resource names.
//! [`seed`] creates the clusters, task definitions, services and rules tests start from.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use serde_json::Value;

pub mod seed;

/// Set to use an already running server (for example the local stack's) instead of starting one.
pub const ENDPOINT_VAR: &str = "CONVOY_MOTO_ENDPOINT";
/// Set to choose the Python that runs `local/moto_server.py` (default: `<workspace>/.tools/venv/bin/python`).
pub const PYTHON_VAR: &str = "CONVOY_PYTHON";
/// The region every fixture client and seeded resource uses.
pub const REGION: &str = "us-east-1";
/// moto's default account.
pub const ACCOUNT_ID: &str = "123456789012";

const READY_LINE: &str = "convoy-moto listening on ";
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    network: OnceLock<Network>,
    /// The server this process started (none with `$CONVOY_MOTO_ENDPOINT`); it is never waited for: it
    /// watches this process and exits with it.
    _server: Option<Mutex<Child>>,
}

/// The VPC, subnets and security group seeded once per server (moto checks awsvpc references).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
    pub security_group_id: String,
}

/// A name of its own for a test's cluster, family or rule: moto's state is shared by every test of
/// the process (and, with `$CONVOY_MOTO_ENDPOINT`, by every run against that server).
pub fn unique(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// The process-wide server: started on first use on a free port, or `$CONVOY_MOTO_ENDPOINT` when set.
/// The server exits with the test process.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let (endpoint, server) = match std::env::var(ENDPOINT_VAR) {
            Ok(endpoint) if !endpoint.is_empty() => {
                (endpoint.trim_end_matches('/').to_string(), None)
            }
            _ => {
                let (endpoint, child) = start_server();
                (endpoint, Some(Mutex::new(child)))
            }
        };
        Moto {
            endpoint,
            network: OnceLock::new(),
            _server: server,
        }
    })
}

impl Moto {
    /// Client config for this server: static test credentials, `us-east-1`, one attempt per call (moto
    /// answers unimplemented actions with HTML 500s, which the SDK would otherwise retry with backoff).
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .empty_test_environment()
            .test_credentials()
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .load()
            .await
    }

    /// An ECS client for this server ([`Moto::sdk_config`]).
    pub async fn ecs(&self) -> aws_sdk_ecs::Client {
        aws_sdk_ecs::Client::new(&self.sdk_config().await)
    }

    /// A CodeDeploy client for this server ([`Moto::sdk_config`]).
    pub async fn codedeploy(&self) -> aws_sdk_codedeploy::Client {
        aws_sdk_codedeploy::Client::new(&self.sdk_config().await)
    }

    /// An EventBridge client for this server ([`Moto::sdk_config`]).
    pub async fn events(&self) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&self.sdk_config().await)
    }

    /// An S3 client for this server, path-style (moto serves every bucket on one host).
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let conf = self.sdk_config().await;
        let s3 = aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(s3)
    }

    /// A new bucket (for release records) with this name; an existing one of ours is fine.
    pub async fn bucket(&self, name: &str) -> aws_sdk_s3::Client {
        let s3 = self.s3().await;
        if let Err(e) = s3.create_bucket().bucket(name).send().await {
            let owned = e
                .as_service_error()
                .is_some_and(|e| e.is_bucket_already_owned_by_you());
            assert!(owned, "create bucket {name}: {e:?}");
        }
        s3
    }

    /// The seeded network (VPC, two subnets, one security group), created on first use.
    pub fn network(&self) -> &Network {
        self.network.get_or_init(|| {
            let seeded = self.post("/_seed/network", Value::Null);
            let text = |key: &str| {
                seeded[key]
                    .as_str()
                    .unwrap_or_else(|| panic!("/_seed/network: no {key} in {seeded}"))
                    .to_string()
            };
            Network {
                vpc_id: text("vpcId"),
                subnet_ids: seeded["subnetIds"]
                    .as_array()
                    .unwrap_or_else(|| panic!("/_seed/network: no subnetIds in {seeded}"))
                    .iter()
                    .map(|id| id.as_str().unwrap_or_default().to_string())
                    .collect(),
                security_group_id: text("securityGroupId"),
            }
        })
    }

    /// POSTs JSON to a control endpoint (`/_fault/...`, `/_seed/...`, `/_stats/...`, `/moto-api/...`) and
    /// returns the JSON answer. Panics on a non-2xx status, with the body.
    pub fn post(&self, path: &str, body: Value) -> Value {
        let body = if body.is_null() {
            "{}".to_string()
        } else {
            body.to_string()
        };
        self.request("POST", path, &body)
    }

    /// GETs a control endpoint and returns its JSON answer.
    pub fn get(&self, path: &str) -> Value {
        self.request("GET", path, "")
    }

    /// How many requests for `operation` moto received, over all services ("RegisterTaskDefinition"), or
    /// for one service ("ecs.RegisterTaskDefinition"). Throttled requests count too.
    pub fn calls(&self, operation: &str) -> u64 {
        count_calls(&self.get("/_stats/calls"), operation)
    }

    fn request(&self, method: &str, path: &str, body: &str) -> Value {
        let (status, answer) = http(&self.endpoint, method, path, body)
            .unwrap_or_else(|e| panic!("{method} {}{path}: {e}", self.endpoint));
        assert!(
            (200..300).contains(&status),
            "{method} {path} answered {status}: {answer}"
        );
        if answer.trim().is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&answer)
            .unwrap_or_else(|e| panic!("{method} {path}: answer is not JSON ({e}): {answer}"))
    }
}

fn count_calls(stats: &Value, operation: &str) -> u64 {
    let Some(stats) = stats.as_object() else {
        panic!("/_stats/calls answered {stats}");
    };
    let suffix = format!(".{operation}");
    stats
        .iter()
        .filter(|(key, _)| key.as_str() == operation || key.ends_with(&suffix))
        .filter_map(|(_, count)| count.as_u64())
        .sum()
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/testkit sits two levels below the workspace root")
        .to_path_buf()
}

fn python(root: &Path) -> PathBuf {
    if let Some(python) = std::env::var_os(PYTHON_VAR).filter(|p| !p.is_empty()) {
        return PathBuf::from(python);
    }
    let venv = root.join(".tools/venv/bin/python");
    if venv.exists() {
        return venv;
    }
    panic!(
        "no Python with moto: run `local/install.sh` first (looked for {} and ${PYTHON_VAR})",
        venv.display()
    );
}

fn start_server() -> (String, Child) {
    let root = workspace_root();
    let python = python(&root);
    let log_path =
        std::env::temp_dir().join(format!("convoy-testkit-moto-{}.log", std::process::id()));
    let log = std::fs::File::create(&log_path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", log_path.display()));
    let mut child = Command::new(&python)
        .arg(root.join("local/moto_server.py"))
        .args(["--port", "0", "--quiet", "--exit-with-parent"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {} local/moto_server.py: {e}",
                python.display()
            )
        });
    let stdout = child.stdout.take().expect("stdout is piped");
    let (ready, announced) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if let Some(endpoint) = line.strip_prefix(READY_LINE) {
                let _ = ready.send(endpoint.trim().to_string());
                break;
            }
        }
        // keep draining, so a stray print can never block the server on a full pipe
        for _ in lines {}
    });
    match announced.recv_timeout(START_TIMEOUT) {
        Ok(endpoint) => (endpoint, child),
        Err(_) => {
            let _ = child.kill();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!(
                "moto did not start within {START_TIMEOUT:?} ({}):\n{log}",
                log_path.display()
            );
        }
    }
}

/// A minimal HTTP/1.1 exchange over std (no HTTP client crate for a handful of control calls).
fn http(endpoint: &str, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let host = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut stream = TcpStream::connect(&host)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    let (head, answer) = raw.split_once("\r\n\r\n").unwrap_or((raw.as_str(), ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not an HTTP answer: {head}"),
            )
        })?;
    Ok((status, answer.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_an_operation_over_services_or_for_one() {
        let stats = json!({
            "ecs.RegisterTaskDefinition": 3,
            "ecs.UpdateService": 1,
            "events.PutTargets": 2,
            "other.RegisterTaskDefinition": 4,
        });
        let cases = [
            ("RegisterTaskDefinition", 7),
            ("ecs.RegisterTaskDefinition", 3),
            ("PutTargets", 2),
            ("TaskDefinition", 0),
            ("DeleteService", 0),
        ];
        for (operation, expected) in cases {
            assert_eq!(count_calls(&stats, operation), expected, "{operation}");
        }
    }

    #[test]
    fn workspace_root_holds_the_launcher() {
        assert!(workspace_root().join("local/moto_server.py").exists());
    }
}
