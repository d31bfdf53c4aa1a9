"""Ordered releases: `dependsOn` compiles the items into waves; wave k+1 starts only when every item of wave k is
Deployed; a failure stops the release (no later wave starts) and the rollback goes in reverse wave order."""

import json

from conftest import report_items, short

A, B = "convoy-demo-a", "convoy-demo-b"


def entry(release: dict, cluster: str, name: str) -> dict:
    return next(s for s in release["services"] if s["cluster"] == cluster and s["service"] == name)


def three_waves(stack) -> dict:
    """api first, then web, then worker and billing; the other services and the rule in the first wave."""
    release = stack.release()
    release.pop("waves", None)  # render's view of the waves: plan-release compiles them again
    entry(release, A, "web")["dependsOn"] = [f"{A}/api"]
    entry(release, A, "worker")["dependsOn"] = [f"{A}/web"]
    entry(release, B, "billing")["dependsOn"] = [f"{A}/web"]
    return release


def task_inputs(history: list, state: str) -> list:
    """The input of every entry into `state`, in order."""
    return [json.loads(e["stateEnteredEventDetails"]["input"]) for e in history
            if e["type"].endswith("StateEntered") and e["stateEnteredEventDetails"]["name"] == state]


def deployment_started(stack, cluster: str, name: str) -> float:
    """When the release's rollout of the service (its newest deployment) was created."""
    deployments = stack.service(cluster, name)["deployments"]
    return max(d["createdAt"].timestamp() for d in deployments)


def test_three_waves_deploy_in_order_each_after_the_one_before_is_deployed(stack):
    result = stack.run(three_waves(stack))

    assert result["status"] == "SUCCEEDED", result
    items = report_items(result)
    assert {i["outcome"] for i in items.values()} == {"Deployed"}, items
    history = stack.history(result["executionArn"])
    # One Map and one judge per wave, in wave order.
    assert [i["wave"]["index"] for i in task_inputs(history, "DeployWave")] == [0, 1, 2]
    judged = [i["wave"]["index"] for i in task_inputs(history, "AwaitRelease")]
    assert judged == sorted(judged) and set(judged) == {0, 1, 2}, judged
    records = stack.records(result)
    plan = records["plan.json"]
    waves = {s["id"]: s.get("wave", 0) for s in plan["services"]}
    assert waves[f"{A}/api"] == 0 and waves[f"{A}/web"] == 1, waves
    assert waves[f"{A}/worker"] == waves[f"{B}/billing"] == 2, waves
    for k in range(3):
        assert f"waves/{k}/batches.json" in records, sorted(records)
    # Each wave's rollouts started after the wave before was judged Deployed.
    api, web = deployment_started(stack, A, "api"), deployment_started(stack, A, "web")
    worker, billing = deployment_started(stack, A, "worker"), deployment_started(stack, B, "billing")
    assert api < web < min(worker, billing), (api, web, worker, billing)
    for cluster, name in ((A, "api"), (A, "web"), (A, "worker"), (B, "billing")):
        assert short(stack.service(cluster, name)["taskDefinition"]) == f"convoy-demo-{name}:2", name


def test_a_failure_in_the_second_wave_rolls_back_the_first_and_never_starts_the_third(stack):
    stack.post("/_fault/ecs/arm", {"cluster": A, "service": "web", "mode": "fail"})
    result = stack.run(three_waves(stack))

    assert result["status"] == "FAILED", result
    items = report_items(result)
    assert items[f"{A}/web"]["outcome"] in ("Failed", "RolledBack"), items[f"{A}/web"]
    assert items[f"{A}/api"]["outcome"] == "RolledBack", items[f"{A}/api"]
    for cluster, name in ((A, "worker"), (B, "billing")):
        item = items[f"{cluster}/{name}"]
        assert item["outcome"] == "NotStarted", item
        # Its wave never ran: no revision registered, the service untouched.
        assert short(stack.service(cluster, name)["taskDefinition"]) == f"convoy-demo-{name}:1", name
        assert len(stack.service(cluster, name)["deployments"]) == 1, name
    assert short(stack.service(A, "api")["taskDefinition"]) == "convoy-demo-api:1"
    history = stack.history(result["executionArn"])
    assert [i["wave"]["index"] for i in task_inputs(history, "DeployWave")] == [0, 1]
    # Dependents first: wave 1 restored (and awaited) before wave 0.
    assert [i["wave"]["index"] for i in task_inputs(history, "RollbackRelease")] == [1, 0], "one call a wave"
    restores = [r["id"] for r in stack.records(result)["rollback.json"]["restores"]]
    assert restores.index(f"{A}/web") < restores.index(f"{A}/api"), restores
    assert not any(r.endswith(("/worker", "/billing")) for r in restores), restores
