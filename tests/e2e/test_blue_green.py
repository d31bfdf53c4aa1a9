"""ECS-native blue/green services (BLUE_GREEN, LINEAR, CANARY) in a release with rolling ones: judged by their
service deployment, stopped with ROLLBACK while in flight, awaited while ECS rolls them back by itself."""

from conftest import report_items, short

from convoy_local import seed

CLUSTER, SERVICE = "convoy-demo-b", seed.BLUE_GREEN_SERVICE
ITEM = f"{CLUSTER}/{SERVICE}"


def service_deployments(stack) -> list:
    """The simulator's service deployments of the blue/green service, oldest first."""
    return [d for d in stack.moto.get("/_stats/service-deployments")
            if d["serviceArn"].endswith(f"/{CLUSTER}/{SERVICE}")]


def restores_by_id(records: dict) -> dict:
    return {r["id"]: r for r in records["rollback.json"]["restores"]}


def entry(release: dict, name: str) -> dict:
    return next(s for s in release["services"] if s["service"] == name)


def test_a_mixed_release_waits_for_the_blue_green_deployment_to_succeed(stack):
    result = stack.run(stack.release())

    assert result["status"] == "SUCCEEDED", result
    items = report_items(result)
    assert {i["outcome"] for i in items.values()} == {"Deployed"}, items
    assert "BLUE_GREEN deployment" in items[ITEM]["reason"] and "SUCCESSFUL" in items[ITEM]["reason"], items[ITEM]
    # Judged by its service deployment (ours: the one UpdateService started), never by running counts.
    first, ours = service_deployments(stack)
    assert ours["status"] == "SUCCESSFUL", ours
    assert stack.calls("ecs.DescribeServiceDeployments") >= 1
    result_record = stack.records(result)[f"results/service/{ITEM}.json"]
    assert result_record["deployment"]["serviceDeploymentArn"] == ours["serviceDeploymentArn"]
    assert result_record["deployment"]["strategy"] == "BLUE_GREEN"
    assert short(stack.service(CLUSTER, SERVICE)["taskDefinition"]) == f"convoy-demo-{SERVICE}:2"


def test_a_blue_green_service_ecs_rolls_back_during_bake_fails_the_release_with_its_reason(stack):
    stack.post("/_fault/ecs/arm", {"cluster": CLUSTER, "service": SERVICE, "mode": "fail", "stage": "BAKE_TIME",
                                   "reason": "alarm checkout-5xx in ALARM"})
    result = stack.run(stack.release())

    assert result["status"] == "FAILED", result
    items = report_items(result)
    item = items[ITEM]
    assert item["outcome"] in ("RolledBack", "Failed"), item
    assert "ROLLBACK_" in item["reason"] and "BAKE_TIME" in item["reason"], item
    assert "checkout-5xx" in item["reason"], item
    assert result["report"]["outcome"] == "RolledBack", result["report"]
    # ECS rolled it back by itself: convoy stopped nothing, and every rolling service went back by task definition
    # (the CODE_DEPLOY one by CodeDeploy: its task definition is :1 again all the same).
    assert stack.calls("ecs.StopServiceDeployment") == 0
    assert short(stack.service(CLUSTER, SERVICE)["taskDefinition"]) == f"convoy-demo-{SERVICE}:1"
    for cluster, names in seed.CLUSTERS.items():
        for name in names:
            assert short(stack.service(cluster, name)["taskDefinition"]) == f"convoy-demo-{name}:1", name


def test_a_blue_green_deployment_still_baking_is_stopped_with_rollback_when_another_item_fails(stack):
    stack.post("/_fault/ecs/arm", {"cluster": CLUSTER, "service": SERVICE, "mode": "stuck", "stage": "BAKE_TIME"})
    stack.post("/_fault/ecs/arm", {"cluster": "convoy-demo-a", "service": "worker", "mode": "fail"})
    result = stack.run(stack.release())

    assert result["status"] == "FAILED", result
    assert result["report"]["outcome"] == "RolledBack", result["report"]
    items = report_items(result)
    assert items[ITEM]["outcome"] == "RolledBack", items[ITEM]
    records = stack.records(result)
    restore = restores_by_id(records)[ITEM]
    assert restore["outcome"] == "Restored" and "StopServiceDeployment ROLLBACK" in restore["reason"], restore
    assert stack.calls("ecs.StopServiceDeployment") == 1
    # The instant way back: no new deployment, ours rolled back; the blue revision runs again.
    ours = service_deployments(stack)[-1]
    assert ours["status"] == "ROLLBACK_SUCCESSFUL", ours
    awaited = next(i for i in records["stability/rollback.json"]["items"] if i["id"] == ITEM)
    assert (awaited["awaits"], awaited["outcome"]) == ("rolledBack", "Succeeded"), awaited
    assert short(stack.service(CLUSTER, SERVICE)["taskDefinition"]) == f"convoy-demo-{SERVICE}:1"


def test_a_strategy_set_by_the_release_is_judged_as_blue_green_and_put_back_by_the_rollback(stack):
    release = stack.release()
    entry(release, "api")["deploymentStrategy"] = {
        "strategy": "CANARY", "bakeTimeInMinutes": 1,
        "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 1}}
    ok = stack.run(release)
    assert ok["status"] == "SUCCEEDED", ok
    api = stack.service("convoy-demo-a", "api")
    assert api["deploymentConfiguration"]["strategy"] == "CANARY", api["deploymentConfiguration"]
    assert api["deploymentConfiguration"]["canaryConfiguration"]["canaryPercent"] == 10.0
    # Every other field of the configuration is kept.
    assert api["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": False}
    assert "CANARY deployment" in report_items(ok)["convoy-demo-a/api"]["reason"]


def test_a_release_that_switched_a_strategy_and_failed_puts_the_old_one_back(stack):
    release = stack.release()
    entry(release, "api")["deploymentStrategy"] = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1}
    stack.post("/_fault/ecs/arm", {"cluster": "convoy-demo-a", "service": "api", "mode": "fail",
                                   "stage": "POST_TEST_TRAFFIC_SHIFT", "reason": "hook smoke-test failed"})
    result = stack.run(release)

    assert result["status"] == "FAILED", result
    api_item = report_items(result)["convoy-demo-a/api"]
    assert "hook smoke-test failed" in api_item["reason"], api_item
    api = stack.service("convoy-demo-a", "api")
    assert short(api["taskDefinition"]) == "convoy-demo-api:1"
    assert api["deploymentConfiguration"].get("strategy", "ROLLING") == "ROLLING", api["deploymentConfiguration"]
