"""The release state machine end to end: real ASL, real functions, moto + the ECS rollout simulator."""

import copy
import json

from conftest import report_items, short

from convoy_local import seed

SERVICES = [(cluster, name) for cluster, names in seed.CLUSTERS.items() for name in names]
FAMILY = {name: f"convoy-demo-{name}" for _, name in SERVICES}
VOLATILE_TD_FIELDS = {"taskDefinitionArn", "revision", "registeredAt", "registeredBy", "status", "deregisteredAt"}


def revisions(stack) -> dict:
    """`cluster/service` and `rule#target` -> family:revision they run now."""
    now = {f"{c}/{s}": short(stack.service(c, s)["taskDefinition"]) for c, s in SERVICES}
    for target_id, target in stack.targets().items():
        now[f"{seed.RULE}#{target_id}"] = short(target["EcsParameters"]["TaskDefinitionArn"])
    return now


def all_on(revision: int) -> dict:
    expected = {f"{c}/{s}": f"{FAMILY[s]}:{revision}" for c, s in SERVICES}
    for target_id in ("report-daily", "report-audit"):
        expected[f"{seed.RULE}#{target_id}"] = f"{seed.REPORT_FAMILY}:{revision}"
    return expected


def stable_fields(td: dict) -> dict:
    """What a release must not change; convoy adds its own `convoy:*` tags (release id, previous revision)."""
    td = {k: v for k, v in td.items() if k not in VOLATILE_TD_FIELDS}
    td["tags"] = [t for t in td.get("tags", []) if not t["key"].startswith("convoy:")]
    td["containerDefinitions"] = [{k: v for k, v in c.items() if k != "image"} for c in td["containerDefinitions"]]
    return td


def service_entry(release: dict, name: str) -> dict:
    return next(s for s in release["services"] if s["service"] == name)


def test_happy_path_moves_every_service_and_rule_target_and_keeps_every_other_field(stack):
    before_targets = stack.targets()
    result = stack.run(stack.release())

    assert result["status"] == "SUCCEEDED", result
    assert revisions(stack) == all_on(2)
    items = report_items(result)
    assert {item["outcome"] for item in items.values()} == {"Deployed"}, items
    assert len(items) == len(SERVICES) + 2

    for cluster, name in SERVICES:
        service = stack.service(cluster, name)
        assert [d["status"] for d in service["deployments"]] == ["PRIMARY"]
        assert service["deployments"][0]["rolloutState"] == "COMPLETED"
        old = stack.task_definition(f"{FAMILY[name]}:1")
        new = stack.task_definition(service["taskDefinition"])
        assert stable_fields(new) == stable_fields(old), name
        images = {c["name"]: c["image"] for c in new["containerDefinitions"]}
        assert images == {c: seed.image(c, "1.1.0") for c in seed.CONTAINERS.get(name, [name])}

    report_td = stack.task_definition(f"{seed.REPORT_FAMILY}:2")
    assert [c["image"] for c in report_td["containerDefinitions"]] == [seed.image("report", "1.1.0")]
    assert stable_fields(report_td) == stable_fields(stack.task_definition(f"{seed.REPORT_FAMILY}:1"))
    for target_id, target in stack.targets().items():
        expected = copy.deepcopy(before_targets[target_id])
        expected["EcsParameters"]["TaskDefinitionArn"] = report_td["taskDefinitionArn"]
        assert without_false_flags(target) == without_false_flags(expected), target_id

    # The records of the execution: the plan, its one batch (the list the Map read, the items, the summary), one
    # result per changed item, the stability rounds, the report.
    records = stack.records(result)
    assert sorted(records) == sorted(
        ["plan.json", "waves/0/batches.json", "waves/0/batches/0.json", "waves/0/batches/0/summary.json",
         "stability/release.json", "report.json", f"results/rule/default/{seed.RULE}.json"]
        + [f"results/service/{c}/{s}.json" for c, s in SERVICES])
    [batch] = records["waves/0/batches.json"]
    changed = len(SERVICES) + 1
    assert (batch["batch"], batch["items"]) == (0, changed)
    summary = records["waves/0/batches/0/summary.json"]
    assert (summary["done"], summary["remaining"], summary["failed"]) == (changed, 0, [])
    # one registration per family, each service and the rule updated once, nothing throttled at the demo's size
    assert summary["calls"]["registered"] == len(FAMILY) + 1, summary
    assert (summary["calls"]["updated"], summary["calls"]["throttled"]) == (len(SERVICES), 0), summary
    assert records["report.json"] == result["report"]
    assert all(r["deployment"]["id"] == f"{c}/{s}" for (c, s) in SERVICES
               for r in [records[f"results/service/{c}/{s}.json"]])
    assert {i["outcome"] for i in records["stability/release.json"]["items"]} == {"Succeeded"}


def without_false_flags(target: dict) -> dict:
    """The Rust SDK leaves `false` booleans out of PutTargets, and moto then returns them absent: for EventBridge
    an absent flag is false, so `false` and absent are the same target."""
    target = copy.deepcopy(target)
    params = target["EcsParameters"]
    for flag in ("EnableExecuteCommand", "EnableECSManagedTags"):
        if params.get(flag) is False:
            del params[flag]
    return target


def test_one_failing_rollout_rolls_the_whole_release_back(stack):
    stack.post("/_fault/ecs/arm", {"cluster": "convoy-demo-a", "service": "worker", "mode": "fail",
                                   "failedTasks": 3, "reason": "CannotPullContainerError: worker:1.1.0 not found"})
    result = stack.run(stack.release())

    assert result["status"] == "FAILED", result
    assert revisions(stack) == all_on(1)
    items = report_items(result)
    worker = items["convoy-demo-a/worker"]
    assert worker["outcome"] == "Failed", worker
    assert "circuit breaker" in (worker.get("reason") or ""), worker
    assert any("CannotPullContainerError" in r for r in worker.get("stoppedReasons", [])), worker
    others = {k: v["outcome"] for k, v in items.items() if k != "convoy-demo-a/worker"}
    assert set(others.values()) <= {"RolledBack", "NotStarted"}, others
    assert result["report"]["outcome"] == "RolledBack"
    records = stack.records(result)
    restored = {r["id"] for r in records["rollback.json"]["restores"] if r["outcome"] == "Restored"}
    assert {k for k, v in others.items() if v == "RolledBack"} <= restored, restored
    assert records["stability/rollback.json"]["pending"] == 0


def test_stuck_rollout_hits_its_deadline_and_is_rolled_back(stack):
    stack.post("/_fault/ecs/arm", {"cluster": "convoy-demo-b", "service": "search", "mode": "stuck"})
    release = stack.release()
    service_entry(release, "search")["timeoutSeconds"] = 60  # the shortest deadline a release accepts
    result = stack.run(release)

    assert result["status"] == "FAILED", result
    items = report_items(result)
    assert items["convoy-demo-b/search"]["outcome"] == "TimedOut", items["convoy-demo-b/search"]
    assert revisions(stack) == all_on(1)
    search = stack.service("convoy-demo-b", "search")
    assert search["deployments"][0]["taskDefinition"].endswith("convoy-demo-search:1")


def test_rollback_policy_failed_restores_only_the_failing_service(stack):
    stack.post("/_fault/ecs/arm", {"cluster": "convoy-demo-a", "service": "api", "mode": "fail", "failedTasks": 2})
    release = stack.release()
    release["settings"]["rollback"] = "failed"
    result = stack.run(release)

    assert result["status"] == "FAILED", result
    expected = all_on(2)
    expected["convoy-demo-a/api"] = "convoy-demo-api:1"
    assert revisions(stack) == expected
    items = report_items(result)
    assert items["convoy-demo-a/api"]["outcome"] == "Failed"
    assert {k: v["outcome"] for k, v in items.items() if k != "convoy-demo-a/api"} == {
        k: "Deployed" for k in items if k != "convoy-demo-a/api"}


def test_bad_release_fails_at_plan_with_every_problem_and_changes_nothing(stack):
    release = stack.release()
    release["services"].append(copy.deepcopy(release["services"][0]))  # the same service twice
    service_entry(release, "api")["images"] = {"default": {"preferred": "api", "image": "convoy-demo/api:latest"}}
    service_entry(release, "worker")["images"] = {"containers": {"worker": "not a reference"}}
    result = stack.run(release)

    assert result["status"] == "FAILED", result
    assert result["error"] == "ManifestInvalid", result
    cause = json.loads(result["cause"])
    message = cause["errorMessage"]
    for needle in ("convoy-demo-a/web", "latest", "not a reference"):
        assert needle in message, message
    for operation in ("RegisterTaskDefinition", "UpdateService", "PutTargets"):
        assert stack.calls(operation) == 0, operation
    assert revisions(stack) == all_on(1)


def test_release_of_what_already_runs_registers_nothing(stack):
    release = stack.release()
    for item in release["services"] + release["tasks"]:
        images = item["images"]
        if "containers" in images:
            images["containers"] = {c: i.replace(":1.1.0", ":1.0.0") for c, i in images["containers"].items()}
        else:
            images["default"]["image"] = images["default"]["image"].replace(":1.1.0", ":1.0.0")
    result = stack.run(release)

    assert result["status"] == "SUCCEEDED", result
    assert {item["outcome"] for item in report_items(result).values()} == {"Unchanged"}
    for operation in ("RegisterTaskDefinition", "UpdateService", "PutTargets"):
        assert stack.calls(operation) == 0, operation
    assert revisions(stack) == all_on(1)


def test_missing_service_and_rule_fail_preflight_and_change_nothing(stack):
    release = stack.release()
    service_entry(release, "billing")["service"] = "no-such-service"
    release["tasks"][0]["rule"] = "no-such-rule"
    result = stack.run(release)

    assert result["status"] == "FAILED", result
    assert result["error"] == "PreflightFailed", result
    message = json.loads(result["cause"])["errorMessage"]
    assert "no-such-service" in message and "no-such-rule" in message, message
    for operation in ("RegisterTaskDefinition", "UpdateService", "PutTargets"):
        assert stack.calls(operation) == 0, operation
    assert revisions(stack) == all_on(1)


def test_throttled_registrations_are_retried_and_the_release_succeeds(stack):
    stack.post("/_fault/throttle", {"operation": "ecs.RegisterTaskDefinition", "count": 3})
    result = stack.run(stack.release())

    assert result["status"] == "SUCCEEDED", result
    assert revisions(stack) == all_on(2)
    # 6 families registered once each, plus the 3 throttled answers (each throttle is consumed by one request)
    assert stack.calls("RegisterTaskDefinition") >= 6 + 3


def test_a_failed_update_inside_the_deploy_map_rolls_the_release_back(stack):
    # the worker's UpdateService is refused: the Map iteration's Catch turns it into that item's error
    stack.post("/_fault/error", {"operation": "ecs.UpdateService", "match": '"worker"', "count": 1,
                                 "code": "InvalidParameterException", "message": "injected: worker refused"})
    result = stack.run(stack.release())

    assert result["status"] == "FAILED", result
    assert revisions(stack) == all_on(1)
    worker = report_items(result)["convoy-demo-a/worker"]
    assert worker["outcome"] == "Failed", worker
    assert "worker refused" in json.dumps(worker), worker


def restores_by_id(records: dict) -> dict:
    return {r["id"]: r for r in records["rollback.json"]["restores"]}


def entered_states(stack, result: dict, name: str) -> int:
    return sum(1 for e in stack.history(result["executionArn"])
               if e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] == name)


# The rollback's UpdateService is the only call naming a service's first revision (the release names the second).
def rollback_call_of(name: str) -> str:
    return f'task-definition/{FAMILY[name]}:1"'


def test_a_restore_throttled_for_a_while_is_retried_and_the_release_rolled_back(stack):
    stack.post("/_fault/ecs/arm", {"cluster": "convoy-demo-a", "service": "worker", "mode": "fail"})
    # Every attempt of the SDK inside the first RollbackRelease (5) is throttled; the state machine's retry is not.
    stack.post("/_fault/throttle", {"operation": "ecs.UpdateService", "match": rollback_call_of("billing"),
                                    "count": 5})
    result = stack.run(stack.release())

    assert result["status"] == "FAILED", result
    assert revisions(stack) == all_on(1)
    assert entered_states(stack, result, "RollbackRelease") == 1
    items = report_items(result)
    assert result["report"]["outcome"] == "RolledBack", result["report"]
    assert items["convoy-demo-b/billing"]["outcome"] == "RolledBack", items["convoy-demo-b/billing"]
    records = stack.records(result)
    restores = restores_by_id(records)
    assert restores["convoy-demo-b/billing"]["outcome"] in ("Restored", "AlreadyCurrent"), restores
    assert all(r["outcome"] != "Failed" for r in restores.values()), restores
    assert records["stability/rollback.json"]["pending"] == 0
    # 5 throttled answers, then the retry's: the step ran twice.
    assert stack.calls("ecs.UpdateService") >= len(SERVICES) + 5 + 1


def test_a_restore_refused_for_good_is_recorded_and_fails_the_release_with_its_reason(stack):
    stack.post("/_fault/ecs/arm", {"cluster": "convoy-demo-a", "service": "worker", "mode": "fail"})
    stack.post("/_fault/error", {"operation": "ecs.UpdateService", "match": rollback_call_of("billing"), "count": 1,
                                 "code": "InvalidParameterException", "message": "injected: billing restore refused"})
    result = stack.run(stack.release())

    assert result["status"] == "FAILED", result
    expected = all_on(1)
    expected["convoy-demo-b/billing"] = "convoy-demo-billing:2"
    assert revisions(stack) == expected
    report = result["report"]
    assert report["outcome"] == "Failed", report
    items = report_items(result)
    billing = items["convoy-demo-b/billing"]
    assert billing["outcome"] == "Failed", billing
    assert "restore failed" in billing["reason"] and "billing restore refused" in billing["reason"], billing
    others = {k: v["outcome"] for k, v in items.items() if k not in ("convoy-demo-b/billing", "convoy-demo-a/worker")}
    assert set(others.values()) == {"RolledBack"}, others
    records = stack.records(result)
    restores = restores_by_id(records)
    assert restores["convoy-demo-b/billing"]["outcome"] == "Failed", restores
    assert restores["convoy-demo-b/billing"]["error"] not in ("Throttled", "AwsUnavailable"), restores
    assert "billing restore refused" in restores["convoy-demo-b/billing"]["reason"], restores
    assert {k for k, r in restores.items() if r["outcome"] == "Restored"} >= set(others), restores
    # What was restored was awaited to its end.
    assert records["stability/rollback.json"]["pending"] == 0
    assert entered_states(stack, result, "AwaitRollback") >= 1


def test_rollback_restores_the_desired_count_and_percentages_the_release_set(stack):
    stack.post("/_fault/ecs/arm", {"cluster": "convoy-demo-a", "service": "worker", "mode": "fail"})
    release = stack.release()
    web = service_entry(release, "web")
    web.update({"desiredCount": 3, "minimumHealthyPercent": 50, "maximumPercent": 150})
    result = stack.run(release)

    assert result["status"] == "FAILED", result
    assert revisions(stack) == all_on(1)
    service = stack.service("convoy-demo-a", "web")
    assert service["desiredCount"] == seed.DESIRED, service
    config = service["deploymentConfiguration"]
    assert (config["minimumHealthyPercent"], config["maximumPercent"]) == (100, 200), config
    records = stack.records(result)
    planned = next(s for s in records["plan.json"]["services"] if s["id"] == "convoy-demo-a/web")
    assert (planned["previousDesiredCount"], planned["previousMinimumHealthyPercent"],
            planned["previousMaximumPercent"]) == (seed.DESIRED, 100, 200), planned
    restore = restores_by_id(records)["convoy-demo-a/web"]
    assert (restore["desiredCount"], restore["minimumHealthyPercent"], restore["maximumPercent"]) == (
        seed.DESIRED, 100, 200), restore
    assert report_items(result)["convoy-demo-a/web"]["outcome"] == "RolledBack"


def test_a_rule_target_naming_its_family_only_is_restored_to_its_concrete_revision(stack):
    targets = stack.targets()
    audit = copy.deepcopy(targets["report-audit"])
    audit["EcsParameters"]["TaskDefinitionArn"] = seed.REPORT_FAMILY  # newest revision, whatever it is
    stack.events.put_targets(Rule=seed.RULE, Targets=[audit])
    revision_1 = stack.task_definition(f"{seed.REPORT_FAMILY}:1")["taskDefinitionArn"]
    stack.post("/_fault/ecs/arm", {"cluster": "convoy-demo-a", "service": "worker", "mode": "fail"})
    result = stack.run(stack.release())

    assert result["status"] == "FAILED", result
    assert result["report"]["outcome"] == "RolledBack", result["report"]
    # Restoring "convoy-demo-report" would run the release's :2; the plan recorded the revision it ran.
    assert stack.targets()["report-audit"]["EcsParameters"]["TaskDefinitionArn"] == revision_1
    records = stack.records(result)
    planned = {t["targetId"]: t for t in records["plan.json"]["tasks"][0]["targets"]}
    assert planned["report-audit"]["previousTaskDefinition"] == revision_1
    assert report_items(result)[f"default/{seed.RULE}/report-audit"]["outcome"] == "RolledBack"
