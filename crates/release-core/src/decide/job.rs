//! A job's verdict from its task as DescribeTasks reports it: it succeeds when the task STOPPED
//! with every essential container's exit code 0; a task still running at its deadline is stopped
//! and the job timed out (docs/decisions/0006 § jobs).

use aws_sdk_ecs::types::{Task, TaskStopCode};

use crate::contract::{ContainerExit, JobRun, Outcome, Plan};

/// Characters of the RunTask client token: ECS takes up to 64 ASCII characters.
pub const CLIENT_TOKEN_CHARS: usize = 64;

/// What one poll of a job's task decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobVerdict {
    pub outcome: Outcome,
    pub reason: String,
    pub last_status: Option<String>,
    pub containers: Vec<ContainerExit>,
    /// StopTask it now: it is still running at its deadline.
    pub stop: bool,
}

/// Judges `run` by its task (`None`: DescribeTasks did not return it). A task still running at its
/// deadline is to be stopped (`stop`) and stays in progress until it has; `stop_requested`:
/// StopTask was called, so the stopped task is a timeout, not a failure of its own.
pub fn judge(run: &JobRun, task: Option<&Task>, stop_requested: bool, now: i64) -> JobVerdict {
    let Some(task) = task else {
        return JobVerdict {
            outcome: Outcome::Failed,
            reason: format!(
                "task {} is not described by ECS any more: how it ended is unknown",
                run.task_arn
            ),
            last_status: None,
            containers: Vec::new(),
            stop: false,
        };
    };
    let last_status = task.last_status().map(str::to_owned);
    if last_status.as_deref() != Some("STOPPED") {
        let status = last_status.as_deref().unwrap_or("PENDING");
        // Stopped at its deadline, it is awaited until it has stopped (ECS kills it within its
        // stop timeout): a migration is never left running unobserved.
        let (outcome, reason, stop) = if stop_requested {
            (
                Outcome::InProgress,
                format!("still {status} after its timeout; StopTask was sent"),
                false,
            )
        } else if now >= run.deadline {
            (
                Outcome::InProgress,
                format!("still {status} at its deadline: stopping it (StopTask)"),
                true,
            )
        } else {
            (Outcome::InProgress, format!("task {status}"), false)
        };
        return JobVerdict {
            outcome,
            reason,
            last_status,
            containers: Vec::new(),
            stop,
        };
    }
    let containers = exits(run, task);
    let stopped = stopped_text(task);
    let failing: Vec<String> = containers
        .iter()
        .filter(|c| c.essential && c.exit_code != Some(0))
        .map(exit_text)
        .collect();
    let failed_to_start = task.stop_code() == Some(&TaskStopCode::TaskFailedToStart);
    let (outcome, reason) = if stop_requested {
        (
            Outcome::TimedOut,
            format!("stopped at its deadline: {stopped}"),
        )
    } else if failing.is_empty() && !failed_to_start && !containers.is_empty() {
        (
            Outcome::Succeeded,
            "every essential container exited 0".to_owned(),
        )
    } else if failing.is_empty() {
        (Outcome::Failed, stopped)
    } else {
        (
            Outcome::Failed,
            format!("{}; {stopped}", failing.join("; ")),
        )
    };
    JobVerdict {
        outcome,
        reason,
        last_status,
        containers,
        stop: false,
    }
}

/// The task's containers with their exits, essential ones first as the definition names them.
fn exits(run: &JobRun, task: &Task) -> Vec<ContainerExit> {
    let mut exits: Vec<ContainerExit> = task
        .containers()
        .iter()
        .map(|c| {
            let name = c.name().unwrap_or_default().to_owned();
            ContainerExit {
                essential: run.essential_containers.contains(&name),
                exit_code: c.exit_code(),
                reason: c.reason().map(str::to_owned),
                name,
            }
        })
        .collect();
    // An essential container the task does not report never ran: it is no success.
    for name in &run.essential_containers {
        if !exits.iter().any(|c| &c.name == name) {
            exits.push(ContainerExit {
                name: name.clone(),
                exit_code: None,
                reason: Some("not reported by ECS".to_owned()),
                essential: true,
            });
        }
    }
    exits.sort_by_key(|c| !c.essential);
    exits
}

/// `container app exited 1 (reason)`, or `… has no exit code` when it never ran to an end.
fn exit_text(c: &ContainerExit) -> String {
    let reason = c
        .reason
        .as_deref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    match c.exit_code {
        Some(code) => format!("container {} exited {code}{reason}", c.name),
        None => format!("container {} has no exit code{reason}", c.name),
    }
}

/// `task stopped (StopCode): reason`.
fn stopped_text(task: &Task) -> String {
    let code = task
        .stop_code()
        .map(|c| format!(" ({})", c.as_str()))
        .unwrap_or_default();
    let reason = task.stopped_reason().unwrap_or("no reason given");
    format!("task stopped{code}: {reason}")
}

/// What `convoy plan` warns about jobs: a job that shares its wave with changed services starts
/// with them, so they do not wait for it (a service that must, names it in `dependsOn` and moves to
/// the next wave).
pub fn plan_warnings(plan: &Plan) -> Vec<String> {
    plan.jobs
        .iter()
        .filter_map(|job| {
            let alongside: Vec<&str> = plan
                .services
                .iter()
                .filter(|s| !s.noop && s.wave == job.wave)
                .map(|s| s.id.as_str())
                .collect();
            if alongside.is_empty() {
                return None;
            }
            let shown = alongside.len().min(MAX_NAMED);
            let more = alongside.len() - shown;
            Some(format!(
                "job {} runs in wave {} alongside {}{}, which do not wait for it: a service that \
                 needs it done names it in `dependsOn: [{}]`",
                job.id,
                job.wave + 1,
                alongside[..shown].join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                },
                job.name
            ))
        })
        .collect()
}

/// Services named in a warning before `and N more`.
const MAX_NAMED: usize = 5;

/// RunTask's client token for a job of an execution: the same on every attempt, so a retried call
/// whose answer was lost gets the task it started instead of a second one. Hex of a hash of both,
/// [`CLIENT_TOKEN_CHARS`] long.
pub fn client_token(execution_arn: &str, job_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{execution_arn}\n{job_id}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex.chars().take(CLIENT_TOKEN_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use aws_sdk_ecs::types::Container;

    use super::*;

    fn run() -> JobRun {
        JobRun {
            id: "prod/migrate".into(),
            cluster: "prod".into(),
            task_arn: "arn:aws:ecs:eu-west-1:1:task/prod/abc".into(),
            task_definition: "app-migrate:4".into(),
            essential_containers: vec!["app".into()],
            deadline: 1_000,
        }
    }

    fn container(name: &str, exit: Option<i32>, reason: Option<&str>) -> Container {
        Container::builder()
            .name(name)
            .set_exit_code(exit)
            .set_reason(reason.map(str::to_owned))
            .last_status("STOPPED")
            .build()
    }

    fn task(status: &str, code: Option<TaskStopCode>, containers: Vec<Container>) -> Task {
        Task::builder()
            .last_status(status)
            .set_stop_code(code)
            .stopped_reason("Essential container in task exited")
            .set_containers(Some(containers))
            .build()
    }

    #[test]
    fn the_verdict_follows_the_essential_containers_exit_codes() {
        let exited = Some(TaskStopCode::EssentialContainerExited);
        let cases: Vec<(&str, Task, bool, i64, Outcome, &str, bool)> =
            vec![
            (
                "every essential container exited 0 (a sidecar's code does not count)",
                task(
                    "STOPPED",
                    exited.clone(),
                    vec![container("app", Some(0), None), container("log", Some(137), None)],
                ),
                false,
                10,
                Outcome::Succeeded,
                "every essential container exited 0",
                false,
            ),
            (
                "an essential container exited 1",
                task(
                    "STOPPED",
                    exited.clone(),
                    vec![container("app", Some(1), Some("migration failed"))],
                ),
                false,
                10,
                Outcome::Failed,
                "container app exited 1 (migration failed); task stopped \
                 (EssentialContainerExited): Essential container in task exited",
                false,
            ),
            (
                "it failed to start",
                task(
                    "STOPPED",
                    Some(TaskStopCode::TaskFailedToStart),
                    vec![container("app", None, Some("CannotPullContainerError: no such image"))],
                ),
                false,
                10,
                Outcome::Failed,
                "container app has no exit code (CannotPullContainerError: no such image); task \
                 stopped (TaskFailedToStart): Essential container in task exited",
                false,
            ),
            (
                "the essential container is not reported",
                task("STOPPED", exited.clone(), vec![container("log", Some(0), None)]),
                false,
                10,
                Outcome::Failed,
                "container app has no exit code (not reported by ECS); task stopped \
                 (EssentialContainerExited): Essential container in task exited",
                false,
            ),
            (
                "still running before its deadline",
                task("RUNNING", None, vec![]),
                false,
                999,
                Outcome::InProgress,
                "task RUNNING",
                false,
            ),
            (
                "still running at its deadline: stop it, and await it",
                task("RUNNING", None, vec![]),
                false,
                1_000,
                Outcome::InProgress,
                "still RUNNING at its deadline: stopping it (StopTask)",
                true,
            ),
            (
                "stopped after StopTask: a timeout, whatever the exit code",
                task(
                    "STOPPED",
                    Some(TaskStopCode::UserInitiated),
                    vec![container("app", Some(137), None)],
                ),
                true,
                1_010,
                Outcome::TimedOut,
                "stopped at its deadline: task stopped (UserInitiated): Essential container in \
                 task exited",
                false,
            ),
            (
                "stopped by someone else (an operator's StopTask): a failure, with their reason",
                Task::builder()
                    .last_status("STOPPED")
                    .stop_code(TaskStopCode::UserInitiated)
                    .stopped_reason("operator: wrong migration")
                    .containers(container("app", Some(137), None))
                    .build(),
                false,
                10,
                Outcome::Failed,
                "container app exited 137; task stopped (UserInitiated): operator: wrong migration",
                false,
            ),
            (
                "still stopping after StopTask: not stopped twice",
                task("DEACTIVATING", None, vec![]),
                true,
                1_010,
                Outcome::InProgress,
                "still DEACTIVATING after its timeout; StopTask was sent",
                false,
            ),
        ];
        for (case, task, stop_requested, now, outcome, reason, stop) in cases {
            let verdict = judge(&run(), Some(&task), stop_requested, now);
            assert_eq!(verdict.outcome, outcome, "{case}");
            assert_eq!(verdict.reason, reason, "{case}");
            assert_eq!(verdict.stop, stop, "{case}");
        }
    }

    #[test]
    fn a_task_ecs_no_longer_describes_fails_the_job() {
        let verdict = judge(&run(), None, false, 10);
        assert_eq!(verdict.outcome, Outcome::Failed);
        assert!(
            verdict.reason.contains("task/prod/abc"),
            "{}",
            verdict.reason
        );
    }

    #[test]
    fn the_client_token_is_stable_per_execution_and_job_and_64_characters() {
        let a = client_token("arn:exec:1", "prod/migrate");
        assert_eq!(a.len(), CLIENT_TOKEN_CHARS);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a, client_token("arn:exec:1", "prod/migrate"));
        assert_ne!(a, client_token("arn:exec:2", "prod/migrate"));
        assert_ne!(a, client_token("arn:exec:1", "prod/seed"));
    }
}
