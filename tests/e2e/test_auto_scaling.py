"""Auto scaling held during a release (`suspendAutoScaling`) on the local stack: moto's Application Auto Scaling
keeps each service's scalable target; the release suspends the held services' targets before it updates them and
puts back what they were at its end, on success, after a rollback, and after a crash (`convoy resume-scaling`)."""

import json
import os
import subprocess
import time

from conftest import CONVOY, report_items
from test_watchdog import entered, wait_for

from convoy_local import release as runner

HELD = [("convoy-demo-a", "web"), ("convoy-demo-a", "worker")]
ALL = {"DynamicScalingInSuspended": True, "DynamicScalingOutSuspended": True, "ScheduledScalingSuspended": True}
# What an operator set before the release: scheduled actions off, dynamic scaling on. It must come back as it was.
BEFORE = {"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": False, "ScheduledScalingSuspended": True}


def scaling(stack):
    return stack.moto.client("application-autoscaling")


def scalable_targets(stack) -> None:
    for cluster, service in HELD:
        scaling(stack).register_scalable_target(
            ServiceNamespace="ecs", ScalableDimension="ecs:service:DesiredCount",
            ResourceId=f"service/{cluster}/{service}", MinCapacity=1, MaxCapacity=6, SuspendedState=BEFORE)


def suspended(stack) -> dict:
    found = scaling(stack).describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[f"service/{c}/{s}" for c, s in HELD])["ScalableTargets"]
    return {t["ResourceId"].removeprefix("service/"): t["SuspendedState"] for t in found}


def held_release(stack) -> dict:
    release = stack.release()
    release["settings"]["suspendAutoScaling"] = True
    return release


def test_held_services_are_suspended_during_the_release_and_restored_after_it(stack):
    scalable_targets(stack)
    stack.post("/_stats/reset")
    result = stack.run(held_release(stack))
    assert result["status"] == "SUCCEEDED", result

    assert suspended(stack) == {f"{c}/{s}": BEFORE for c, s in HELD}
    report = result["output"]
    assert sorted(report["autoScaling"]["restored"]) == sorted(f"{c}/{s}" for c, s in HELD), report
    # Each held service: suspended once before its update, restored once; services without a target: nothing.
    assert stack.calls("RegisterScalableTarget") == 2 * len(HELD)
    records = stack.records(result)
    for cluster, service in HELD:
        hold = records[f"scaling/{cluster}/{service}.json"]
        assert hold["previous"]["suspended"] == {
            "dynamicScalingInSuspended": False, "dynamicScalingOutSuspended": False,
            "scheduledScalingSuspended": True}, hold
        assert (hold["previous"]["minCapacity"], hold["previous"]["maxCapacity"]) == (1, 6)
    assert {item["outcome"] for item in report_items(result).values()} == {"Deployed"}


def test_a_failed_release_restores_the_scaling_once_its_rollback_settled(stack):
    scalable_targets(stack)
    stack.post("/_fault/ecs/arm", {"cluster": "convoy-demo-a", "service": "worker", "mode": "fail"})
    result = stack.run(held_release(stack))
    assert result["status"] == "FAILED", result
    report = json.loads(result["cause"])
    assert report["outcome"] == "RolledBack", report
    assert sorted(report["autoScaling"]["restored"]) == sorted(f"{c}/{s}" for c, s in HELD), report
    assert suspended(stack) == {f"{c}/{s}": BEFORE for c, s in HELD}


def test_a_desired_count_the_target_would_undo_is_refused_before_anything_changes(stack):
    scalable_targets(stack)
    stack.post("/_stats/reset")
    release = held_release(stack)
    worker = next(s for s in release["services"] if s["service"] == "worker")
    worker["desiredCount"] = 9
    result = stack.run(release)
    assert result["status"] == "FAILED" and result["error"] == "PreflightFailed", result
    message = json.loads(result["cause"])["errorMessage"]
    assert "desiredCount" in message and "min 1, max 6" in message, message
    for operation in ("RegisterTaskDefinition", "UpdateService", "RegisterScalableTarget"):
        assert stack.calls(operation) == 0, operation
    assert suspended(stack) == {f"{c}/{s}": BEFORE for c, s in HELD}


def test_a_release_stopped_while_its_services_are_held_is_resumed_by_convoy_resume_scaling(stack):
    scalable_targets(stack)
    # Rollouts that never finish within the test: the release sits in AwaitRelease, its services held.
    stack.post("/_fault/ecs/defaults", {"steps": 100000})
    release = held_release(stack)
    machine = runner.ensure_state_machine(stack.sfn, stack.definition)
    name = f"{release['release']['id']}-{int(time.time() * 1000)}"
    execution = stack.sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(release))["executionArn"]
    wait_for("AwaitRelease", lambda: entered(stack, execution, "AwaitRelease"))
    assert suspended(stack) == {f"{c}/{s}": ALL for c, s in HELD}

    stack.sfn.stop_execution(executionArn=execution, error="Crash", cause="the release died mid-way")
    wait_for("stopped", lambda: stack.sfn.describe_execution(executionArn=execution)["status"] != "RUNNING")
    assert suspended(stack) == {f"{c}/{s}": ALL for c, s in HELD}, "nothing finished the release"

    resumed = subprocess.run([str(CONVOY), "resume-scaling", execution], capture_output=True, text=True,
                             env=os.environ, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    for cluster, service in HELD:
        assert f"auto scaling of {cluster}/{service}: restored" in resumed.stdout, resumed.stdout
    assert suspended(stack) == {f"{c}/{s}": BEFORE for c, s in HELD}

    # Again: idempotent, the same state.
    again = subprocess.run([str(CONVOY), "resume-scaling", execution, "--format", "json"], capture_output=True,
                           text=True, env=os.environ, timeout=120)
    assert again.returncode == 0, again.stderr
    assert sorted(json.loads(again.stdout)["restored"]) == sorted(f"{c}/{s}" for c, s in HELD)
    assert suspended(stack) == {f"{c}/{s}": BEFORE for c, s in HELD}
