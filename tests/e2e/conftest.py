"""End-to-end fixtures: the real state machine (template.yaml + statemachine/release.asl.json) on moto's Step
Functions engine, the real functions behind `cargo lambda watch`, ECS rollouts from the simulator.

Needs a running local stack (`local/e2e.sh` starts one; or `local/stack.sh start` + `source .local-stack/env`).
Each test resets moto, seeds the demo world (convoy_local.seed, and the job family of local/seed_demo.py) and zeroes
the call counters, so tests are independent and may assert on exact counts. convoy_local (and seed_demo) are found
through pytest.ini's `pythonpath`.
"""

import copy
import json
import os
from pathlib import Path
from typing import Optional

import pytest

import seed_demo
from convoy_local import release as runner
from convoy_local import render, seed
from convoy_local.control import Moto, endpoint_from_env

ROOT = Path(__file__).resolve().parents[2]
MOTO = Moto(endpoint_from_env(), timeout=30)
MANIFEST = ROOT / "examples/deployment.yaml"
CONVOY = ROOT / "target/debug/convoy"
RUN_TIMEOUT = float(os.environ.get("CONVOY_E2E_RUN_TIMEOUT", "240"))


class Stack:
    """The local stack as a test sees it."""

    def __init__(self, definition: dict, release: dict, demo: Optional[dict] = None):
        self.definition = definition
        self._release = release
        self._demo = demo or release
        self.moto = MOTO
        self.ecs, self.events, self.sfn = (MOTO.client(s) for s in ("ecs", "events", "stepfunctions"))
        self.world: dict = {}

    def post(self, path: str, body=None):
        return self.moto.post(path, body)

    def calls(self, operation: str) -> int:
        return self.moto.calls(operation)

    def release(self) -> dict:
        """A fresh copy of `convoy render examples/deployment.yaml` without its jobs and their order (every service
        and the rule to 1.1.0, in one wave): what the tests written before jobs release (`without_jobs`)."""
        return copy.deepcopy(self._release)

    def demo_release(self) -> dict:
        """A fresh copy of `convoy render examples/deployment.yaml` as it is: its migration job first (wave 1),
        then every service and the rule (wave 2)."""
        return copy.deepcopy(self._demo)

    def run(self, release: dict) -> dict:
        machine = runner.ensure_state_machine(self.sfn, self.definition)
        return runner.start_and_wait(self.sfn, machine, release, timeout=RUN_TIMEOUT)

    def service(self, cluster: str, name: str) -> dict:
        return self.ecs.describe_services(cluster=cluster, services=[name])["services"][0]

    def task_definition(self, arn: str) -> dict:
        answer = self.ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
        return {**answer["taskDefinition"], "tags": answer.get("tags", [])}

    def targets(self, rule: str = seed.RULE) -> dict:
        return {t["Id"]: t for t in self.events.list_targets_by_rule(Rule=rule)["Targets"]}

    def history(self, execution_arn: str) -> list:
        return runner.history(self.sfn, execution_arn)

    def records(self, result: dict) -> dict:
        """The execution's release records in S3: name under its prefix -> parsed JSON."""
        uri = result["output"]["fullReport"] if result["output"] else json.loads(result["cause"])["fullReport"]
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        prefix = key.removesuffix("report.json")
        s3 = self.moto.client("s3")
        names = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
        return {n.removeprefix(prefix): json.loads(s3.get_object(Bucket=bucket, Key=n)["Body"].read()) for n in names}


@pytest.fixture(scope="session")
def definition() -> dict:
    # Waits and Retry intervals capped at 1 s: the engine has no time overrides.
    return render.render(max_wait=1)


def without_jobs(release: dict) -> dict:
    """The release without its jobs, `dependsOn` and `waves`: every service and rule in one wave."""
    release = copy.deepcopy(release)
    release.pop("jobs", None)
    release.pop("waves", None)
    for kind in ("services", "tasks", "schedules"):
        for item in release.get(kind) or []:
            item.pop("dependsOn", None)
    return release


@pytest.fixture(scope="session")
def demo_release() -> dict:
    """`convoy render examples/deployment.yaml` with fast polling, as it is (jobs and waves included)."""
    try:
        MOTO.get("/_stats/calls")
    except OSError as exc:
        pytest.exit(f"no local stack at {MOTO.endpoint} ({exc}): run local/e2e.sh", returncode=2)
    if not CONVOY.exists():
        pytest.exit(f"no {CONVOY}: cargo build -p convoy", returncode=2)
    release = runner.render_manifest(MANIFEST, CONVOY)
    # Fast polling: the simulator finishes a rollout after two DescribeServices.
    release["settings"]["pollIntervalSeconds"] = 1
    return release


@pytest.fixture(scope="session")
def rendered_release(demo_release) -> dict:
    return without_jobs(demo_release)


@pytest.fixture
def stack(definition, rendered_release, demo_release) -> Stack:
    stack = Stack(definition, rendered_release, demo_release)
    stack.world = seed.seed(MOTO, reset=True)
    stack.world["jobs"] = seed_demo.seed_jobs(MOTO)  # the demo manifest's job family (seed_demo.py)
    stack.post("/_stats/reset")
    return stack


def job_tasks(stack: Stack) -> list:
    """The simulator's job tasks (those RunTask started), oldest first, as `GET /_stats/jobs` lists them; reading
    them advances nothing."""
    return stack.moto.get("/_stats/jobs")


CODEDEPLOY_ACTIVE = ("Created", "Queued", "InProgress", "Baking", "Ready")


def settle_codedeploy(stack: Stack, reads: int = 200) -> None:
    """Lets CodeDeploy finish what it works on, as AWS would by itself: the simulator moves a deployment one step
    per read (convoy_local/codedeploy_sim.py), so this reads every active deployment until none is left."""
    codedeploy = stack.moto.client("codedeploy")
    for _ in range(reads):
        active = [d["deploymentId"] for d in stack.moto.get("/_stats/codedeploy") if d["status"] in CODEDEPLOY_ACTIVE]
        if not active:
            return
        for deployment_id in active:
            codedeploy.get_deployment(deploymentId=deployment_id)
    raise AssertionError(f"CodeDeploy deployments still active after {reads} reads: {active}")


def short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def report_items(result: dict) -> dict:
    assert result["report"], f"no report: {json.dumps(result, default=str)[:3000]}"
    return {item["id"]: item for item in result["report"]["items"]}
