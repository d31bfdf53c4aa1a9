"""A function server crash and restart in the middle of a release: `cargo lambda watch` is stopped (with every
function process it runs) while the release deploys or awaits its rollouts, and started again seconds later.

The state machine is rendered with its real Retry intervals (the other tests cap them at 1 s): the restart
retrier waits up to 2 + 4 + 8 + 16 + 32 + 64 = 126 s, so the functions are called again once they are back and
the release ends with a report, every service on the revision the report names.
"""

import os
import subprocess
import threading
import time

import pytest
from conftest import ROOT, report_items, short

from convoy_local import render, seed
from convoy_local import release as runner

SERVICES = [(cluster, name) for cluster, names in seed.CLUSTERS.items() for name in names]
DOWN_SECONDS = float(os.environ.get("CONVOY_E2E_CRASH_DOWN", "8"))
# What a crash looks like to the state machine (the shim answers as AWS would); every one is retried.
CRASH_ERRORS = {"Lambda.ServiceException", "Runtime.ExitError"}


def functions(action: str) -> None:
    """`local/stack.sh stop-functions|start-functions` on the stack tests/e2e runs on (its env: CONVOY_STACK_DIR,
    CONVOY_*_PORT, set by local/e2e.sh)."""
    subprocess.run(["bash", str(ROOT / "local/stack.sh"), f"{action}-functions"], check=True, timeout=120)


class Crash(threading.Thread):
    """Stops the function server as soon as the running execution enters `state`, starts it `down` s later."""

    def __init__(self, sfn, state: str, down: float = DOWN_SECONDS, within: float = 120):
        super().__init__(daemon=True)
        self.sfn, self.state, self.down, self.within = sfn, state, down, within
        self.stopped_at: float | None = None
        self.error: BaseException | None = None

    def _entered(self) -> bool:
        for execution in self.sfn.list_executions(stateMachineArn=self.machine,
                                                  statusFilter="RUNNING")["executions"]:
            for event in runner.history(self.sfn, execution["executionArn"]):
                details = event.get("stateEnteredEventDetails") or {}
                if details.get("name") == self.state:
                    return True
        return False

    def run(self) -> None:
        try:
            deadline = time.time() + self.within
            while not self._entered():
                if time.time() > deadline:
                    return
                time.sleep(0.05)
            functions("stop")
            self.stopped_at = time.time()
            time.sleep(self.down)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        finally:
            if self.stopped_at is not None:
                functions("start")


def crash_during(stack, state: str) -> tuple[dict, Crash]:
    stack.definition = render.render()  # the real Retry intervals
    machine = runner.ensure_state_machine(stack.sfn, stack.definition)
    crash = Crash(stack.sfn, state)
    crash.machine = machine
    crash.start()
    try:
        result = stack.run(stack.release())
    finally:
        crash.join(timeout=180)
    if crash.error:
        raise crash.error
    assert crash.stopped_at is not None, f"the execution never entered {state}: {result}"
    return result, crash


def crash_errors_retried(stack, result: dict) -> list[str]:
    """The error names of the failed invocations in the execution's history."""
    return [e["lambdaFunctionFailedEventDetails"].get("error") for e in stack.history(result["executionArn"])
            if e["type"] == "LambdaFunctionFailed"]


def assert_ends_with_a_report_naming_every_revision(stack, result: dict) -> None:
    assert result["status"] in ("SUCCEEDED", "FAILED"), result
    items = report_items(result)
    for cluster, name in SERVICES:
        item = items[f"{cluster}/{name}"]
        running = short(stack.service(cluster, name)["taskDefinition"])
        assert running == short(item["finalTaskDefinition"]), (item, running)
    services = {f"{cluster}/{name}" for cluster, name in SERVICES}
    rule_revisions = {short(i["finalTaskDefinition"]) for i in items.values() if i["id"] not in services}
    for target_id, target in stack.targets().items():
        assert short(target["EcsParameters"]["TaskDefinitionArn"]) in rule_revisions, (target_id, rule_revisions)


@pytest.fixture
def functions_back():
    """Whatever a test does, the function server runs afterwards."""
    yield
    functions("start")


def test_a_function_server_crash_while_deploying_is_retried_and_the_release_ends_with_a_report(stack, functions_back):
    result, crash = crash_during(stack, "DeployWave")

    # The batch's calls fail inside its child execution, whose events are not in the release's history: the
    # release waited for the functions to come back, and its records show the call that finished the batch.
    assert result["seconds"] > crash.down, result["seconds"]
    records = stack.records(result)
    assert records["waves/0/batches/0/summary.json"]["remaining"] == 0
    assert_ends_with_a_report_naming_every_revision(stack, result)
    # every step is safe to run again: the retried release deploys as if nothing happened
    assert result["status"] == "SUCCEEDED", result
    assert {i["outcome"] for i in report_items(result).values()} == {"Deployed"}
    # one revision per family: the retried registrations reused the ones registered before the crash
    families = {f"convoy-demo-{name}" for _, name in SERVICES} | {seed.REPORT_FAMILY}
    for family in families:
        arns = stack.ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]
        assert [short(a) for a in arns] == [f"{family}:1", f"{family}:2"], arns


def test_a_function_server_crash_while_awaiting_rollouts_is_retried_and_the_release_ends_with_a_report(
        stack, functions_back):
    stack.post("/_fault/ecs/defaults", {"steps": 15})  # rollouts that last ~15 polls: the crash hits the await
    result, _ = crash_during(stack, "AwaitRelease")

    failed = crash_errors_retried(stack, result)
    assert failed and set(failed) <= CRASH_ERRORS, failed
    assert_ends_with_a_report_naming_every_revision(stack, result)
    assert result["status"] == "SUCCEEDED", result
