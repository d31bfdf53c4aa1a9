"""Jobs: one-off ECS tasks (a database migration) a release runs with RunTask in its `dependsOn` waves and judges by
DescribeTasks (convoy_local/job_sim.py): Ran when the task STOPPED with every essential container's exit code 0,
Failed otherwise, TimedOut (and stopped with StopTask) at its `timeoutSeconds`. A job is forward-only: a rollback
never undoes it, and a later wave starts only once it Ran.

The releases here are the demo's cluster convoy-demo-a (api, web, worker) with the migration of seed_demo.py's
family convoy-demo-migrate, ordered: the migration, then what depends on it."""

import hashlib
import json

import pytest

from conftest import job_tasks, report_items, short

import seed_demo
from convoy_local import seed

A = "convoy-demo-a"
JOB = "migrate"
JOB_ID = f"{A}/{JOB}"
FAMILY = seed_demo.MIGRATE_FAMILY
CONTAINER = seed_demo.MIGRATE_CONTAINER
IMAGE = seed.image(seed_demo.MIGRATE_IMAGE, "1.1.0")  # the api's new image: the migrations ship with it
COMMAND = ["bin/migrate", "--to", "1.1.0"]
SERVICES = [(cluster, name) for cluster, names in seed.CLUSTERS.items() for name in names]
# The functions' SDK clients try a call this many times (release_core::config::DEFAULT_MAX_ATTEMPTS).
SDK_ATTEMPTS = 5
NOT_UNDONE = "a job that ran is not undone by the rollback (point of no return)"


@pytest.fixture
def jobs(stack):
    """The demo world (with seed_demo.py's job family: conftest seeds it), and each service's rollouts as seeded."""
    assert stack.world["jobs"] == {FAMILY: stack.task_definition(f"{FAMILY}:1")["taskDefinitionArn"]}
    stack.world["rollouts"] = {f"{c}/{n}": rollouts(stack.service(c, n)) for c, n in SERVICES}
    return stack


def rollouts(service: dict) -> list:
    """The ids of a service's deployments and task sets (a CODE_DEPLOY service has task sets only)."""
    return sorted(d["id"] for d in service.get("deployments", []) + service.get("taskSets", []))


def job_entry(timeout: int = 600) -> dict:
    """The rendered `jobs:` entry of the migration: the api's new image in container `app`, its command overridden,
    the api's network."""
    return {"name": JOB, "cluster": A, "taskDefinition": FAMILY, "images": {"containers": {CONTAINER: IMAGE}},
            "overrides": {CONTAINER: {"command": COMMAND}}, "networkFrom": f"{A}/api", "timeoutSeconds": timeout}


def ordered_release(stack, depends: dict, timeout: int = 600) -> dict:
    """The demo release's convoy-demo-a services (nothing else) and the migration; `depends`: service name -> the
    names it depends on."""
    release = stack.release()
    release.pop("waves", None)  # render's view of the waves: plan-release compiles them again
    release["services"] = [s for s in release["services"] if s["cluster"] == A]
    release["tasks"] = []
    for service in release["services"]:
        service.pop("dependsOn", None)
        if service["service"] in depends:
            service["dependsOn"] = depends[service["service"]]
    release["jobs"] = [job_entry(timeout)]
    return release


def three_waves(stack, timeout: int = 600) -> dict:
    """The migration, then api, then web and worker."""
    return ordered_release(stack, {"api": [JOB], "web": [f"{A}/api"], "worker": [f"{A}/api"]}, timeout)


def task_inputs(history: list, state: str) -> list:
    """The input of every entry into `state`, in order."""
    return [json.loads(e["stateEnteredEventDetails"]["input"]) for e in history
            if e["type"].endswith("StateEntered") and e["stateEnteredEventDetails"]["name"] == state]


def waves_entered(stack, result: dict, state: str) -> list:
    return [i["wave"]["index"] for i in task_inputs(stack.history(result["executionArn"]), state)]


def wave_steps(stack, result: dict) -> list:
    """(state, wave index) of each entry into DeployWave or AwaitRelease, in history order, repeats of the same
    step (AwaitRelease's rounds) merged."""
    steps = []
    for e in stack.history(result["executionArn"]):
        details = e.get("stateEnteredEventDetails") or {}
        if e["type"].endswith("StateEntered") and details.get("name") in ("DeployWave", "AwaitRelease"):
            step = (details["name"], json.loads(details["input"])["wave"]["index"])
            if not steps or steps[-1] != step:
                steps.append(step)
    return steps


def client_token(result: dict) -> str:
    """RunTask's client token for the migration in this execution (release_core::decide::job::client_token)."""
    return hashlib.sha256(f"{result['executionArn']}\n{JOB_ID}".encode()).hexdigest()[:64]


def started_by(release: dict) -> str:
    return f"convoy/{release['release']['id']}"


def untouched(stack, cluster: str, name: str) -> None:
    """Still on the seeded revision, with the deployments (or task sets) it had: the release never updated it."""
    service = stack.service(cluster, name)
    assert short(service["taskDefinition"]) == f"convoy-demo-{name}:1", (name, service["taskDefinition"])
    assert rollouts(service) == stack.world["rollouts"][f"{cluster}/{name}"], (name, service)


def families(stack, family: str) -> list:
    return [short(a) for a in stack.ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]]


def execution_items(result: dict) -> dict:
    """The report the execution itself returned (its output, or its error's cause): the bounded one."""
    bounded = result["output"] if result["output"] else json.loads(result["cause"])
    return {item["id"]: item for item in bounded["items"]}


def test_a_migration_runs_first_then_each_wave_after_the_one_before(jobs):
    stack = jobs
    release = three_waves(stack)
    result = stack.run(release)

    assert result["status"] == "SUCCEEDED", result
    assert result["report"]["outcome"] == "Succeeded", result["report"]
    items = report_items(result)
    assert {k: v["outcome"] for k, v in items.items()} == {
        JOB_ID: "Ran", f"{A}/api": "Deployed", f"{A}/web": "Deployed", f"{A}/worker": "Deployed"}, items
    job = items[JOB_ID]
    assert job["kind"] == "job", job
    assert job["reason"] == "every essential container exited 0", job
    assert job["stoppedReasons"] == [f"{CONTAINER}: exit 0"], job
    assert short(job["previousTaskDefinition"]) == f"{FAMILY}:1", job
    assert short(job["newTaskDefinition"]) == short(job["finalTaskDefinition"]) == f"{FAMILY}:2", job
    assert execution_items(result)[JOB_ID] == job  # the execution's own report has the same line

    # The order: one Map and one judge per wave, each wave deployed after the one before was judged; the plan's
    # waves.
    assert waves_entered(stack, result, "DeployWave") == [0, 1, 2]
    assert wave_steps(stack, result) == [("DeployWave", 0), ("AwaitRelease", 0), ("DeployWave", 1),
                                         ("AwaitRelease", 1), ("DeployWave", 2), ("AwaitRelease", 2)]
    records = stack.records(result)
    plan = records["plan.json"]
    [planned] = plan["jobs"]
    assert planned["id"] == JOB_ID and planned.get("wave", 0) == 0, planned
    assert {s["id"]: s.get("wave", 0) for s in plan["services"]} == {
        f"{A}/api": 1, f"{A}/web": 2, f"{A}/worker": 2}, plan["services"]
    assert short(planned["previousTaskDefinition"]) == f"{FAMILY}:1", planned
    assert (planned["images"], planned["essentialContainers"]) == ({CONTAINER: IMAGE}, [CONTAINER]), planned
    assert planned["overrides"] == {CONTAINER: {"command": COMMAND}}, planned
    # networkFrom: the api's network, launch type and platform version.
    network = stack.world["network"]
    assert planned["launch"] == {
        "networkConfiguration": {"subnets": network["subnetIds"], "securityGroups": [network["securityGroupId"]],
                                 "assignPublicIp": False},
        "launchType": "FARGATE", "platformVersion": "LATEST"}, planned
    for k in range(3):
        assert f"waves/{k}/batches.json" in records, sorted(records)

    # Exactly one task, started once, from the new revision, with the release's token, startedBy and command.
    assert stack.calls("ecs.RunTask") == 1
    [task] = job_tasks(stack)
    assert short(task["taskDefinitionArn"]) == f"{FAMILY}:2", task
    assert task["clientToken"] == client_token(result), task
    assert task["startedBy"] == started_by(release) == "convoy/convoy-demo-1_1_0", task
    assert (task["lastStatus"], task["stopCode"], task["containers"]) == (
        "STOPPED", "EssentialContainerExited", {CONTAINER: 0}), task
    [described] = stack.ecs.describe_tasks(cluster=A, tasks=[task["taskArn"]])["tasks"]
    assert described["overrides"]["containerOverrides"] == [{"name": CONTAINER, "command": COMMAND}], described
    assert described["launchType"] == "FARGATE", described
    [eni] = [a for a in described["attachments"] if a["type"] == "ElasticNetworkInterface"]
    subnet = next(d["value"] for d in eni["details"] if d["name"] == "subnetId")
    assert subnet in network["subnetIds"], eni
    revision = stack.task_definition(task["taskDefinitionArn"])
    [container] = revision["containerDefinitions"]
    assert (container["name"], container["image"]) == (CONTAINER, IMAGE), container
    assert container["command"] == seed_demo.MIGRATE_COMMAND  # the revision keeps its own; the task overrides it
    old = stack.task_definition(f"{FAMILY}:1")
    assert revision["networkMode"] == old["networkMode"] == "awsvpc"
    assert (revision["cpu"], revision["memory"], revision["taskRoleArn"]) == (
        old["cpu"], old["memory"], old["taskRoleArn"])
    assert families(stack, FAMILY) == [f"{FAMILY}:1", f"{FAMILY}:2"]
    recorded = records[f"results/job/{JOB_ID}.json"]
    assert recorded["job"]["taskArn"] == task["taskArn"], recorded
    assert recorded["job"]["taskDefinition"] == task["taskDefinitionArn"], recorded
    [judged_job] = records["stability/release.json"]["jobs"]
    assert (judged_job["id"], judged_job["taskArn"], judged_job["outcome"]) == (
        JOB_ID, task["taskArn"], "Succeeded"), judged_job

    # Each wave started after the one before ended: the migration's task stopped before the api's rollout began,
    # the api's rollout before web's and worker's.
    stopped_at = described["stoppedAt"].timestamp()
    rollout = {name: max(d["createdAt"].timestamp() for d in stack.service(A, name)["deployments"])
               for name in ("api", "web", "worker")}
    assert stopped_at < rollout["api"] < min(rollout["web"], rollout["worker"]), (stopped_at, rollout)
    for name in ("api", "web", "worker"):
        assert short(stack.service(A, name)["taskDefinition"]) == f"convoy-demo-{name}:2", name
    for cluster, name in SERVICES:
        if cluster != A:
            untouched(stack, cluster, name)


def test_a_failing_migration_stops_the_release_before_any_service_changes(jobs):
    stack = jobs
    stack.post("/_fault/job", {"family": FAMILY, "mode": "exit", "container": CONTAINER, "exitCode": 1,
                               "reason": "migration 42 failed"})
    result = stack.run(three_waves(stack))

    assert result["status"] == "FAILED", result
    # Nothing but the job ran and a job is not undone: the rollback put nothing back (rollback.json's restores are
    # empty), so the release is not called rolled back.
    assert result["report"]["outcome"] == "Failed", result["report"]
    items = report_items(result)
    job = items[JOB_ID]
    assert job["outcome"] == "Failed", job
    assert job["reason"] == ("container app exited 1 (migration 42 failed); task stopped (EssentialContainerExited): "
                             "Essential container in task exited"), job
    assert job["stoppedReasons"] == ["app: exit 1 (migration 42 failed)"], job
    assert short(job["newTaskDefinition"]) == f"{FAMILY}:2", job
    for name in ("api", "web", "worker"):
        assert items[f"{A}/{name}"]["outcome"] == "NotStarted", items[f"{A}/{name}"]
    for cluster, name in SERVICES:
        untouched(stack, cluster, name)
    assert stack.calls("ecs.UpdateService") == 0
    assert stack.moto.get("/_stats/codedeploy") == []
    assert stack.calls("ecs.RunTask") == 1
    [task] = job_tasks(stack)
    assert task["containers"] == {CONTAINER: 1}, task
    # Only the job's revision was registered: the later waves never ran.
    for name in ("api", "web", "worker"):
        assert families(stack, f"convoy-demo-{name}") == [f"convoy-demo-{name}:1"], name
    assert waves_entered(stack, result, "DeployWave") == [0]
    records = stack.records(result)
    assert records["rollback.json"]["restores"] == [], records["rollback.json"]
    [judged] = records["stability/release.json"]["jobs"]
    assert judged["outcome"] == "Failed", judged
    assert [(c["name"], c.get("exitCode"), c["essential"]) for c in judged["containers"]] == [
        (CONTAINER, 1, True)], judged


def test_a_failure_after_the_migration_ran_rolls_the_services_back_and_leaves_the_migration(jobs):
    stack = jobs
    # Wave 1 the migration; wave 2 api and worker; wave 3 web. worker's rollout fails.
    stack.post("/_fault/ecs/arm", {"cluster": A, "service": "worker", "mode": "fail"})
    release = ordered_release(stack, {"api": [JOB], "worker": [JOB], "web": [f"{A}/api"]})
    result = stack.run(release)

    assert result["status"] == "FAILED", result
    assert result["report"]["outcome"] == "RolledBack", result["report"]
    items = report_items(result)
    job = items[JOB_ID]
    assert job["outcome"] == "Ran", job
    assert job["reason"] == f"every essential container exited 0; {NOT_UNDONE}", job
    assert job["stoppedReasons"] == [f"{CONTAINER}: exit 0"], job
    assert items[f"{A}/worker"]["outcome"] == "Failed", items[f"{A}/worker"]
    assert items[f"{A}/api"]["outcome"] == "RolledBack", items[f"{A}/api"]
    assert items[f"{A}/web"]["outcome"] == "NotStarted", items[f"{A}/web"]
    assert execution_items(result)[JOB_ID] == job
    for name in ("api", "worker"):
        assert short(stack.service(A, name)["taskDefinition"]) == f"convoy-demo-{name}:1", name
    untouched(stack, A, "web")
    assert families(stack, "convoy-demo-web") == ["convoy-demo-web:1"]
    # The migration ran once and was left alone: neither started again nor stopped.
    assert stack.calls("ecs.RunTask") == 1
    assert stack.calls("ecs.StopTask") == 0
    [task] = job_tasks(stack)
    assert (task["lastStatus"], task["stopCode"], task["containers"]) == (
        "STOPPED", "EssentialContainerExited", {CONTAINER: 0}), task
    assert waves_entered(stack, result, "DeployWave") == [0, 1]
    records = stack.records(result)
    restores = {r["id"]: r for r in records["rollback.json"]["restores"]}
    assert JOB_ID not in restores, restores
    assert restores[f"{A}/api"]["outcome"] == "Restored", restores
    assert f"{A}/web" not in restores, restores
    assert records["stability/rollback.json"]["pending"] == 0


def test_a_stuck_migration_is_stopped_at_its_timeout_and_nothing_after_it_starts(jobs):
    stack = jobs
    stack.post("/_fault/job", {"family": FAMILY, "mode": "stuck"})
    result = stack.run(three_waves(stack, timeout=60))  # the shortest timeout a release accepts

    assert result["status"] == "FAILED", result
    items = report_items(result)
    job = items[JOB_ID]
    assert job["outcome"] == "TimedOut", job
    # Stopped at its deadline and awaited until ECS had stopped it: the report has its container's exit.
    assert job["reason"] == (f"stopped at its deadline: task stopped (UserInitiated): convoy: job {JOB_ID} ran "
                             f"past its timeout"), job
    assert job["stoppedReasons"] == ["app: exit 137"], job
    assert result["report"]["outcome"] == "Failed", result["report"]  # nothing to put back: see test above
    for name in ("api", "web", "worker"):
        assert items[f"{A}/{name}"]["outcome"] == "NotStarted", items[f"{A}/{name}"]
        untouched(stack, A, name)
    assert stack.calls("ecs.RunTask") == 1
    assert stack.calls("ecs.StopTask") == 1
    [task] = job_tasks(stack)
    assert (task["desiredStatus"], task["stopCode"]) == ("STOPPED", "UserInitiated"), task
    assert task["stoppedReason"] == f"convoy: job {JOB_ID} ran past its timeout", task
    # ECS finishes the stop by itself: the next describe sees the task STOPPED, its container killed.
    [described] = stack.ecs.describe_tasks(cluster=A, tasks=[task["taskArn"]])["tasks"]
    assert (described["lastStatus"], described["stopCode"]) == ("STOPPED", "UserInitiated"), described
    assert [c["exitCode"] for c in described["containers"]] == [137], described
    records = stack.records(result)
    [judged] = records["stability/release.json"]["jobs"]
    assert (judged["outcome"], judged.get("stopRequested")) == ("TimedOut", True), judged
    assert judged["deadline"] - records[f"results/job/{JOB_ID}.json"]["job"]["deadline"] == 0
    assert waves_entered(stack, result, "DeployWave") == [0]


@pytest.mark.parametrize("lost", [1, SDK_ATTEMPTS])
def test_a_run_task_whose_answer_was_lost_gets_the_same_task_by_its_client_token(jobs, lost):
    """RunTask starts the task but its answer is lost (the simulator handles the call, then answers
    ThrottlingException). Lost once: the SDK's own retry sends it again with the same client token. Lost on every SDK
    attempt: deploy-batch's retry calls again with the execution's token. Either way ECS answers the task it started:
    one migration."""
    stack = jobs
    stack.post("/_fault/error", {"operation": "ecs.RunTask", "count": lost, "after": True,
                                 "code": "ThrottlingException", "message": "answer lost on the way back"})
    result = stack.run(three_waves(stack))

    assert result["status"] == "SUCCEEDED", result
    items = report_items(result)
    assert items[JOB_ID]["outcome"] == "Ran", items[JOB_ID]
    assert stack.calls("ecs.RunTask") == lost + 1
    [task] = job_tasks(stack)
    assert task["clientToken"] == client_token(result), task
    assert task["containers"] == {CONTAINER: 0}, task
    recorded = stack.records(result)[f"results/job/{JOB_ID}.json"]
    assert recorded["job"]["taskArn"] == task["taskArn"], recorded
    for name in ("api", "web", "worker"):
        assert items[f"{A}/{name}"]["outcome"] == "Deployed", items[f"{A}/{name}"]


def test_a_migration_whose_task_fails_to_start_fails_with_the_pull_error(jobs):
    stack = jobs
    stack.post("/_fault/job", {"family": FAMILY, "mode": "failToStart"})
    result = stack.run(three_waves(stack))

    assert result["status"] == "FAILED", result
    items = report_items(result)
    job = items[JOB_ID]
    assert job["outcome"] == "Failed", job
    assert result["report"]["outcome"] == "Failed", result["report"]  # nothing to put back: see above
    pull = (f"CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref "
            f"{IMAGE}: {IMAGE}: not found")
    assert job["reason"] == f"container app has no exit code ({pull}); task stopped (TaskFailedToStart): {pull}", job
    assert job["stoppedReasons"] == [f"app: no exit code ({pull})"], job
    for name in ("api", "web", "worker"):
        assert items[f"{A}/{name}"]["outcome"] == "NotStarted", items[f"{A}/{name}"]
        untouched(stack, A, name)
    [task] = job_tasks(stack)
    assert (task["lastStatus"], task["stopCode"], task["containers"]) == (
        "STOPPED", "TaskFailedToStart", {CONTAINER: None}), task


def test_a_migration_still_running_when_its_wave_fails_is_awaited_by_the_rollback(jobs):
    stack = jobs
    # worker (wave 1, beside the migration) fails at once; the migration takes 15 polls.
    stack.post("/_fault/job", {"family": FAMILY, "mode": "ok", "polls": 15})
    stack.post("/_fault/ecs/arm", {"cluster": A, "service": "worker", "mode": "fail"})
    release = ordered_release(stack, {"api": [JOB], "web": [f"{A}/api"]})
    result = stack.run(release)

    assert result["status"] == "FAILED", result
    items = report_items(result)
    job = items[JOB_ID]
    assert job["outcome"] == "Ran", job
    assert job["reason"] == f"every essential container exited 0; {NOT_UNDONE}", job
    assert items[f"{A}/worker"]["outcome"] == "Failed", items[f"{A}/worker"]
    for name in ("api", "web"):
        assert items[f"{A}/{name}"]["outcome"] == "NotStarted", items[f"{A}/{name}"]
        untouched(stack, A, name)
    records = stack.records(result)
    # The release's judge saw it running; the rollback's awaited its end.
    [first] = records["stability/release.json"]["jobs"]
    assert first["outcome"] == "InProgress", first
    [last] = records["stability/rollback.json"]["jobs"]
    assert (last["id"], last["outcome"]) == (JOB_ID, "Succeeded"), last
    assert stack.calls("ecs.StopTask") == 0
    [task] = job_tasks(stack)
    assert (task["lastStatus"], task["containers"]) == ("STOPPED", {CONTAINER: 0}), task


def test_the_demo_release_runs_its_migration_then_every_service_and_the_rule(jobs):
    """examples/deployment.yaml as `make demo` releases it: the migration alone in wave 1, everything else after."""
    stack = jobs
    release = stack.demo_release()
    assert release["waves"][0] == [JOB], release["waves"]
    result = stack.run(release)

    assert result["status"] == "SUCCEEDED", result
    assert result["report"]["outcome"] == "Succeeded", result["report"]
    items = report_items(result)
    job = items.pop(JOB_ID)
    assert (job["kind"], job["outcome"], job["stoppedReasons"]) == ("job", "Ran", [f"{CONTAINER}: exit 0"]), job
    assert {k: v["outcome"] for k, v in items.items()} == {
        **{f"{c}/{n}": "Deployed" for c, n in SERVICES},
        **{f"default/{seed.RULE}/{t}": "Deployed" for t in ("report-daily", "report-audit")}}, items
    assert waves_entered(stack, result, "DeployWave") == [0, 1]
    plan = stack.records(result)["plan.json"]
    assert [j.get("wave", 0) for j in plan["jobs"]] == [0], plan["jobs"]
    assert {s["id"]: s.get("wave", 0) for s in plan["services"]} == {f"{c}/{n}": 1 for c, n in SERVICES}
    assert [t.get("wave", 0) for t in plan["tasks"]] == [1], plan["tasks"]
    assert stack.calls("ecs.RunTask") == 1
    [task] = job_tasks(stack)
    assert (short(task["taskDefinitionArn"]), task["startedBy"], task["containers"]) == (
        f"{FAMILY}:2", "convoy/convoy-demo-1_1_0", {CONTAINER: 0}), task
    [described] = stack.ecs.describe_tasks(cluster=A, tasks=[task["taskArn"]])["tasks"]
    assert described["overrides"]["containerOverrides"] == [{"name": CONTAINER, "command": COMMAND}], described
    [container] = stack.task_definition(task["taskDefinitionArn"])["containerDefinitions"]
    assert container["image"] == IMAGE, container
    # Every rolling service's rollout began after the migration's task stopped.
    stopped_at = described["stoppedAt"].timestamp()
    for cluster, name in SERVICES:
        service = stack.service(cluster, name)
        assert short(service["taskDefinition"]) == f"convoy-demo-{name}:2", name
        for d in service["deployments"]:
            if short(d["taskDefinition"]) == f"convoy-demo-{name}:2":
                assert d["createdAt"].timestamp() > stopped_at, (name, d)
