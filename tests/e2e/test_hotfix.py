"""An on-call hotfix in the middle of a release: someone points a service at their own revision while the release
awaits its rollout. The release judges that service Superseded, fails, and rolls back what is still its own; the
hotfix survives, and the report says what the service runs and that the rollback left it alone."""

import threading
import time

from conftest import report_items, short

from convoy_local import release as runner
from convoy_local import seed

CLUSTER, SERVICE = "convoy-demo-b", "search"


def wait_for_state(stack, execution_name_prefix: str, state: str, within: float = 120) -> str:
    """The ARN of the running execution named `execution_name_prefix…` once it has entered `state`."""
    deadline = time.time() + within
    machine = next(m["stateMachineArn"] for m in stack.sfn.list_state_machines()["stateMachines"]
                   if m["name"] == runner.STATE_MACHINE)
    while time.time() < deadline:
        for execution in stack.sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]:
            if not execution["name"].startswith(execution_name_prefix):
                continue
            for event in stack.history(execution["executionArn"]):
                if (event.get("stateEnteredEventDetails") or {}).get("name") == state:
                    return execution["executionArn"]
        time.sleep(0.1)
    raise AssertionError(f"no execution {execution_name_prefix}… entered {state} within {within} s")


def hotfix_revision(stack) -> str:
    """A revision of the service's family registered by hand (no convoy tags), as on-call would."""
    running = stack.task_definition(stack.service(CLUSTER, SERVICE)["taskDefinition"])
    containers = [{**c, "image": "public.ecr.aws/convoy-demo/search:hotfix"} for c in running["containerDefinitions"]]
    task_level = {k: running[k] for k in ("cpu", "memory", "networkMode", "requiresCompatibilities") if k in running}
    registered = stack.ecs.register_task_definition(family=running["family"], containerDefinitions=containers,
                                                    **task_level)
    return registered["taskDefinition"]["taskDefinitionArn"]


def test_a_hotfix_during_a_release_survives_its_rollback(stack):
    # The release's own rollout of search never finishes, so the release is still awaiting it.
    stack.post("/_fault/ecs/arm", {"cluster": CLUSTER, "service": SERVICE, "mode": "stuck"})
    release = stack.release()
    release["release"]["id"] = "hotfix-race"
    outcome: dict = {}
    runner_thread = threading.Thread(target=lambda: outcome.update(stack.run(release)), daemon=True)
    runner_thread.start()
    time.sleep(1)  # the thread creates or updates the state machine first

    wait_for_state(stack, "hotfix-race", "AwaitRelease")
    hotfix = hotfix_revision(stack)
    stack.ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=hotfix)
    runner_thread.join(timeout=240)
    assert outcome, "the release did not end"

    assert outcome["status"] == "FAILED", outcome
    items = report_items(outcome)
    search = items[f"{CLUSTER}/{SERVICE}"]
    assert search["outcome"] == "Superseded", search
    assert short(search["finalTaskDefinition"]) == short(hotfix), search
    assert f"now runs {short(hotfix)} from deployment ecs-svc/" in search["reason"], search
    assert "(not registered by a release)" in search["reason"], search
    assert search["reason"].endswith(f"not this release's {short(search['newTaskDefinition'])}: left alone"), search
    # The hotfix still runs; everything else the release changed is back where it was.
    assert stack.service(CLUSTER, SERVICE)["taskDefinition"] == hotfix
    for cluster, names in seed.CLUSTERS.items():
        for name in names:
            if (cluster, name) != (CLUSTER, SERVICE):
                assert short(stack.service(cluster, name)["taskDefinition"]) == f"convoy-demo-{name}:1", name
                assert items[f"{cluster}/{name}"]["outcome"] == "RolledBack", items[f"{cluster}/{name}"]
    for target in stack.targets().values():
        assert short(target["EcsParameters"]["TaskDefinitionArn"]) == f"{seed.REPORT_FAMILY}:1"
    # The hotfix's own rollout went on: nothing started another deployment after it.
    deployments = stack.service(CLUSTER, SERVICE)["deployments"]
    assert deployments[0]["taskDefinition"] == hotfix, deployments
