"""EventBridge Scheduler schedules in a release: plan-release reads each schedule (GetSchedule) and refuses one that
is missing or does not run an ECS task; deploy-batch points the schedule's ECS target at a clone of its task
definition with the release's images, by an UpdateSchedule carrying every other field as GetSchedule read it
(UpdateSchedule replaces the whole schedule: convoy_local/scheduler_sim.py resets an omitted field as AWS does); a
rollback points it back the same way, unless someone else changed it since (LeftAlone, report Superseded).

Every schedule here is created with every field set, each optional one away from its default (DISABLED, a time zone
other than UTC, ActionAfterCompletion DELETE, ...), so a field the release dropped would show as changed."""

import copy
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from conftest import report_items, short

from convoy_local import seed
from convoy_local.control import ACCOUNT, REGION

A, B = "convoy-demo-a", "convoy-demo-b"
GROUP = "reports"
NAME = "nightly-report"
ID = f"{GROUP}/{NAME}"
IMAGE = seed.image("report", "1.1.0")
VOLATILE_TD_FIELDS = {"taskDefinitionArn", "revision", "registeredAt", "registeredBy", "status", "deregisteredAt"}


def scheduler(stack):
    return stack.moto.client("scheduler")


def ecs_schedule(stack, task_definition: str, name: str = NAME, group: str = GROUP) -> dict:
    """CreateSchedule arguments: an ECS RunTask target on convoy-demo-b running `task_definition`, every field of
    the schedule and of its target set, the optional ones away from their defaults."""
    net = stack.world["network"]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return {
        "Name": name,
        "GroupName": group,
        "ScheduleExpression": "cron(30 3 * * ? *)",
        "ScheduleExpressionTimezone": "Europe/Paris",
        "StartDate": now + timedelta(days=30),
        "EndDate": now + timedelta(days=400),
        "Description": "convoy e2e: the nightly report, by EventBridge Scheduler",
        "State": "DISABLED",
        "KmsKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
        "ActionAfterCompletion": "DELETE",  # with an EndDate: deleted once the window is over
        "Target": {
            "Arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{B}",
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/convoy-demo-scheduler",
            "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3},
            "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:convoy-demo-scheduler-dlq"},
            "Input": json.dumps({"containerOverrides": [{"name": "report", "command": ["report", "nightly"]}]}),
            "EcsParameters": {
                "TaskDefinitionArn": task_definition,
                "TaskCount": 2,
                "LaunchType": "FARGATE",
                "NetworkConfiguration": {"awsvpcConfiguration": {
                    "Subnets": net["subnetIds"], "SecurityGroups": [net["securityGroupId"]],
                    "AssignPublicIp": "DISABLED"}},
                "PlatformVersion": "1.4.0",
                "Group": "convoy-demo-nightly",
                "EnableECSManagedTags": True,
                "EnableExecuteCommand": True,
                "PropagateTags": "TASK_DEFINITION",
                "ReferenceId": "nightly-ref-1",
                "Tags": [{"app": "convoy-demo"}, {"report": "nightly"}],
                "PlacementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}],
            },
        },
    }


def ec2_style_schedule(stack, task_definition: str, name: str = "hourly-audit") -> dict:
    """The other shape, in the default group: a capacity provider strategy instead of a launch type, placement
    strategy and constraints, `false` flags, ENABLED, a rate expression, ActionAfterCompletion NONE, no dates."""
    params = ecs_schedule(stack, task_definition, name=name, group="default")
    for key in ("StartDate", "EndDate", "KmsKeyArn"):
        del params[key]
    params.update({"ScheduleExpression": "rate(1 hour)", "ScheduleExpressionTimezone": "America/New_York",
                   "State": "ENABLED", "ActionAfterCompletion": "NONE",
                   "FlexibleTimeWindow": {"Mode": "OFF"}})
    ecs = params["Target"]["EcsParameters"]
    del ecs["LaunchType"], ecs["PlatformVersion"]
    ecs.update({"CapacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 1},
                                             {"capacityProvider": "FARGATE", "weight": 1}],
                "PlacementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
                "EnableECSManagedTags": False, "EnableExecuteCommand": False, "PropagateTags": "TASK_DEFINITION",
                "TaskCount": 1})
    params["Target"]["RetryPolicy"] = {"MaximumEventAgeInSeconds": 60, "MaximumRetryAttempts": 0}
    return params


def create(stack, params: dict) -> dict:
    """Creates the schedule (and its group unless `default`); returns GetSchedule's answer."""
    client = scheduler(stack)
    if params["GroupName"] != "default":
        existing = [g["Name"] for g in client.list_schedule_groups()["ScheduleGroups"]]
        if params["GroupName"] not in existing:
            client.create_schedule_group(Name=params["GroupName"])
    client.create_schedule(**params)
    found = get(stack, params["Name"], params["GroupName"])
    # Every field as sent, so that one a release drops or resets shows.
    assert {k: found.get(k) for k in params} == params, found
    return found


def get(stack, name: str = NAME, group: str = GROUP) -> dict:
    found = scheduler(stack).get_schedule(Name=name, GroupName=group)
    found.pop("ResponseMetadata", None)
    return found


def task_definition_of(schedule: dict) -> str:
    return schedule["Target"]["EcsParameters"]["TaskDefinitionArn"]


def but_task_definition(schedule: dict) -> dict:
    """The schedule without what a release may change: the target's task definition and LastModificationDate."""
    schedule = copy.deepcopy(schedule)
    schedule.pop("LastModificationDate", None)
    schedule["Target"]["EcsParameters"].pop("TaskDefinitionArn", None)
    return schedule


def hand_update(stack, schedule: dict, task_definition: str) -> None:
    """Someone else points the schedule at `task_definition` (a full UpdateSchedule, every other field kept)."""
    request = {k: v for k, v in copy.deepcopy(schedule).items()
               if k not in ("Arn", "CreationDate", "LastModificationDate")}
    request["Target"]["EcsParameters"]["TaskDefinitionArn"] = task_definition
    scheduler(stack).update_schedule(**request)


def entry(name: str = NAME, group: str = GROUP, image: str = IMAGE, **extra) -> dict:
    """A release input's `schedules[]` entry (what `convoy render` prints for the manifest's)."""
    return {**extra, "schedule": name, "group": group, "images": {"default": {"preferred": "report", "image": image}}}


def only(stack, *, services=(), schedules=()) -> dict:
    """The demo release's settings with just these services (by cluster/name) and schedules, no rule."""
    release = stack.release()
    release["services"] = [s for s in release["services"] if f"{s['cluster']}/{s['service']}" in services]
    release["tasks"] = []
    release["schedules"] = list(schedules)
    return release


def stable_fields(td: dict) -> dict:
    """A task definition without what a clone may change (revision, registration, image, convoy's own tags)."""
    td = {k: v for k, v in td.items() if k not in VOLATILE_TD_FIELDS}
    td["tags"] = [t for t in td.get("tags", []) if not t["key"].startswith("convoy:")]
    td["containerDefinitions"] = [{k: v for k, v in c.items() if k != "image"} for c in td["containerDefinitions"]]
    return td


def report_revision(stack) -> str:
    return stack.task_definition(seed.REPORT_FAMILY)["taskDefinitionArn"]


def task_inputs(history: list, state: str) -> list:
    return [json.loads(e["stateEnteredEventDetails"]["input"]) for e in history
            if e["type"].endswith("StateEntered") and e["stateEnteredEventDetails"]["name"] == state]


def wait_for(what: str, check, timeout: float = 120, poll: float = 0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_release_points_the_schedule_at_the_new_revision_and_keeps_every_other_field(stack):
    report = report_revision(stack)
    before = create(stack, ecs_schedule(stack, report))
    assert task_definition_of(before) == report and before["State"] == "DISABLED", before
    other_before = create(stack, ec2_style_schedule(stack, report))
    release = stack.release()  # every demo service and the rule, one wave
    release["schedules"] = [entry(), entry("hourly-audit", "default")]
    result = stack.run(release)

    assert result["status"] == "SUCCEEDED", result
    other_after = get(stack, "hourly-audit", "default")
    assert but_task_definition(other_after) == but_task_definition(other_before)
    assert short(task_definition_of(other_after)).startswith(f"{seed.REPORT_FAMILY}:"), other_after
    assert task_definition_of(other_after) != report
    other = report_items(result)["default/hourly-audit"]
    assert (other["kind"], other["outcome"]) == ("schedule", "Deployed"), other
    assert other["finalTaskDefinition"] == task_definition_of(other_after), other
    after = get(stack)
    # Only the task definition (and LastModificationDate) changed: every other field as it was.
    assert but_task_definition(after) == but_task_definition(before)
    assert after["LastModificationDate"] > before["LastModificationDate"], (before, after)
    new = stack.task_definition(task_definition_of(after))
    assert new["family"] == seed.REPORT_FAMILY and new["revision"] > 1, new["taskDefinitionArn"]
    assert [(c["name"], c["image"]) for c in new["containerDefinitions"]] == [("report", IMAGE)]
    assert stable_fields(new) == stable_fields(stack.task_definition(report))
    assert scheduler(stack).list_schedules(GroupName=GROUP)["Schedules"][0]["Name"] == NAME

    items = report_items(result)
    item = items[ID]
    assert (item["kind"], item["outcome"]) == ("schedule", "Deployed"), item
    assert item["previousTaskDefinition"] == report, item
    assert item["newTaskDefinition"] == item["finalTaskDefinition"] == new["taskDefinitionArn"], item
    assert {i["outcome"] for i in items.values()} == {"Deployed"}, items
    assert stack.calls("scheduler.UpdateSchedule") == 2  # one a schedule
    records = stack.records(result)
    assert f"results/schedule/{GROUP}/{NAME}.json" in records, sorted(records)
    assert "results/schedule/default/hourly-audit.json" in records, sorted(records)
    planned, _ = records["plan.json"]["schedules"]
    assert (planned["id"], planned["previousTaskDefinition"], planned["noop"]) == (ID, report, False), planned


def test_a_failed_release_points_the_schedule_back_with_every_field_as_it_was(stack):
    report = report_revision(stack)
    before = create(stack, ecs_schedule(stack, report))
    stack.post("/_fault/ecs/arm", {"cluster": A, "service": "worker", "mode": "fail", "failedTasks": 2})
    release = stack.release()
    release["settings"]["rollback"] = "all"
    release["schedules"] = [entry()]
    result = stack.run(release)

    assert result["status"] == "FAILED", result
    after = get(stack)
    assert task_definition_of(after) == report, after
    assert {k: v for k, v in after.items() if k != "LastModificationDate"} == \
        {k: v for k, v in before.items() if k != "LastModificationDate"}
    # Two writes: the release's, and the rollback's.
    assert stack.calls("scheduler.UpdateSchedule") == 2
    assert after["LastModificationDate"] > before["LastModificationDate"]

    items = report_items(result)
    assert items[f"{A}/worker"]["outcome"] == "Failed", items[f"{A}/worker"]
    item = items[ID]
    assert (item["kind"], item["outcome"]) == ("schedule", "RolledBack"), item
    assert item["previousTaskDefinition"] == item["finalTaskDefinition"] == report, item
    assert short(item["newTaskDefinition"]).startswith(f"{seed.REPORT_FAMILY}:"), item
    restores = {r["id"]: r for r in stack.records(result)["rollback.json"]["restores"]}
    assert restores[ID]["outcome"] == "Restored", restores[ID]


def test_a_schedule_that_runs_no_ecs_task_or_does_not_exist_fails_preflight_and_nothing_changes(stack):
    client = scheduler(stack)
    client.create_schedule_group(Name=GROUP)
    client.create_schedule(
        Name="lambda-report", GroupName=GROUP, ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:report",
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/convoy-demo-scheduler", "Input": "{}"})
    # A cluster ARN but no EcsParameters, in the default group: not an ECS RunTask target either.
    client.create_schedule(
        Name="no-ecs-parameters", ScheduleExpression="rate(1 hour)", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{B}",
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/convoy-demo-scheduler"})
    before = get(stack, "lambda-report"), get(stack, "no-ecs-parameters", "default")
    release = stack.release()
    release["schedules"] = [entry("lambda-report"), entry("no-such-schedule"), entry("nightly", "no-such-group"),
                            entry("no-ecs-parameters", "default")]
    result = stack.run(release)

    assert result["status"] == "FAILED", result
    assert result["error"] == "PreflightFailed", result
    message = json.loads(result["cause"])["errorMessage"]
    lines = [line for line in message.splitlines() if "schedules[" in line]
    assert len(lines) == 4, message
    assert f"schedules[0] ({GROUP}/lambda-report): field `scheduleName`: its target is not an ECS task (target " \
           f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:report)" in lines[0], message
    assert f"schedules[1] ({GROUP}/no-such-schedule): field `scheduleName`: schedule `no-such-schedule` not found " \
           f"in schedule group `{GROUP}`" in lines[1], message
    assert "schedules[2] (no-such-group/nightly): field `scheduleName`: schedule `nightly` not found in schedule " \
           "group `no-such-group`" in lines[2], message
    assert "schedules[3] (no-ecs-parameters): field `scheduleName`: its target is not an ECS task" in lines[3], message
    for operation in ("RegisterTaskDefinition", "UpdateService", "PutTargets", "UpdateSchedule"):
        assert stack.calls(operation) == 0, operation
    assert (get(stack, "lambda-report"), get(stack, "no-ecs-parameters", "default")) == before
    assert stack.task_definition(seed.REPORT_FAMILY)["revision"] == 1


def test_a_throttled_update_schedule_is_retried_and_the_release_succeeds(stack):
    report = report_revision(stack)
    before = create(stack, ecs_schedule(stack, report))
    stack.post("/_fault/throttle", {"operation": "scheduler.UpdateSchedule", "count": 1, "match": f"/schedules/{NAME}"})
    result = stack.run(only(stack, schedules=[entry()]))

    assert result["status"] == "SUCCEEDED", result
    # The throttled call and its retry: one update applied.
    assert stack.calls("scheduler.UpdateSchedule") == 2
    after = get(stack)
    assert but_task_definition(after) == but_task_definition(before)
    assert short(task_definition_of(after)) == f"{seed.REPORT_FAMILY}:2", after
    item = report_items(result)[ID]
    assert (item["kind"], item["outcome"]) == ("schedule", "Deployed"), item
    assert len(report_items(result)) == 1


def test_a_schedule_that_depends_on_a_service_is_updated_in_the_next_wave(stack):
    report = report_revision(stack)
    before = create(stack, ecs_schedule(stack, report))
    release = only(stack, services=[f"{A}/api"], schedules=[entry(dependsOn=[f"{A}/api"])])
    result = stack.run(release)

    assert result["status"] == "SUCCEEDED", result
    records = stack.records(result)
    plan = records["plan.json"]
    assert [s.get("wave", 0) for s in plan["services"]] == [0], plan["services"]
    assert [(s["id"], s.get("wave", 0)) for s in plan["schedules"]] == [(ID, 1)], plan["schedules"]
    history = stack.history(result["executionArn"])
    assert [i["wave"]["index"] for i in task_inputs(history, "DeployWave")] == [0, 1]
    assert f"results/schedule/{GROUP}/{NAME}.json" in records, sorted(records)
    # The schedule was written after the api's rollout finished.
    api = stack.service(A, "api")
    assert short(api["taskDefinition"]) == "convoy-demo-api:2"
    finished = max(d["updatedAt"] for d in api["deployments"])
    after = get(stack)
    assert after["LastModificationDate"] >= finished, (after["LastModificationDate"], finished)
    assert but_task_definition(after) == but_task_definition(before)
    items = report_items(result)
    assert (items[ID]["outcome"], items[ID].get("wave", 0)) == ("Deployed", 1), items[ID]
    assert items[f"{A}/api"]["outcome"] == "Deployed"


def hand_revision(stack) -> str:
    """Someone else's revision of the report family (registered by hand, no convoy tags)."""
    td = stack.task_definition(seed.REPORT_FAMILY)
    keep = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions",
            "requiresCompatibilities", "cpu", "memory", "runtimePlatform", "ephemeralStorage")
    args = {k: td[k] for k in keep if k in td}
    args["containerDefinitions"][0]["image"] = seed.image("report", "9.9.9-hotfix")
    return stack.ecs.register_task_definition(**args)["taskDefinition"]["taskDefinitionArn"]


def test_a_schedule_changed_by_someone_else_after_the_plan_is_not_overwritten(stack):
    report = report_revision(stack)
    create(stack, ecs_schedule(stack, report))
    # The api's rollout takes 12 DescribeServices (about 12 s at the release's 1 s polls): time to step in.
    stack.post("/_fault/ecs/arm", {"cluster": A, "service": "api", "mode": "ok", "steps": 12})
    release = only(stack, services=[f"{A}/api"], schedules=[entry(dependsOn=[f"{A}/api"])])
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(stack.run, release)
        # The plan is made (it read the schedule on report:1) and wave 0 rolls the api out: now someone else moves
        # the schedule, before the api's rollout finishes and wave 1 starts.
        wait_for("the api's rollout", lambda: short(stack.service(A, "api")["taskDefinition"]) == "convoy-demo-api:2")
        theirs = hand_revision(stack)
        hand_update(stack, get(stack), theirs)
        changed = get(stack)
        assert stack.service(A, "api")["deployments"][0]["rolloutState"] == "IN_PROGRESS", "too late: wave 0 is over"
        result = running.result()

    assert result["status"] == "FAILED", result
    # Their change stands: convoy wrote nothing (the one UpdateSchedule is theirs).
    assert get(stack) == changed
    assert task_definition_of(changed) == theirs
    assert stack.calls("scheduler.UpdateSchedule") == 1
    items = report_items(result)
    item = items[ID]
    records = stack.records(result)
    # Its deploy failed (TargetsRejected, nothing written); the rollback then found someone else's revision there
    # and left it alone, so the report calls it Superseded (docs/cli.md: "a release's rollback never overwrites a
    # hotfix made during the release; the report calls that item `Superseded`"), with both reasons.
    error = records[f"results/schedule/{GROUP}/{NAME}.json"]["error"]
    assert error["Error"] == "TargetsRejected", error
    assert f"runs {short(theirs)}, not {short(report)} as planned: someone changed it since" in error["Cause"], error
    restores = {r["id"]: r for r in records["rollback.json"]["restores"]}
    assert (restores[ID]["outcome"], restores[ID]["running"]) == ("LeftAlone", theirs), restores[ID]
    assert (item["kind"], item["outcome"], item.get("wave")) == ("schedule", "Superseded", 1), item
    assert "someone changed it since" in item["reason"] and "left alone" in item["reason"], item
    assert (item["previousTaskDefinition"], item["finalTaskDefinition"]) == (report, theirs), item
    assert items[f"{A}/api"]["outcome"] == "RolledBack", items[f"{A}/api"]
    assert short(stack.service(A, "api")["taskDefinition"]) == "convoy-demo-api:1"


def test_a_rollback_leaves_a_schedule_someone_else_changed_since_alone(stack):
    report = report_revision(stack)
    create(stack, ecs_schedule(stack, report))
    stack.post("/_fault/ecs/arm", {"cluster": A, "service": "worker", "mode": "stuck"})
    release = only(stack, services=[f"{A}/worker"], schedules=[entry()])  # one wave
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(stack.run, release)
        ours = wait_for("the release's UpdateSchedule",
                        lambda: task_definition_of(get(stack)) != report and task_definition_of(get(stack)))
        theirs = hand_revision(stack)
        hand_update(stack, get(stack), theirs)
        changed = get(stack)
        # Now the worker's rollout fails: the release rolls back.
        stack.post("/_fault/ecs/service", {"cluster": A, "service": "worker", "rolloutState": "FAILED",
                                           "failedTasks": 2, "runningCount": 0, "pendingCount": 0})
        result = running.result()

    assert result["status"] == "FAILED", result
    assert get(stack) == changed  # left alone
    assert stack.calls("scheduler.UpdateSchedule") == 2  # the release's, theirs; no rollback write
    restores = {r["id"]: r for r in stack.records(result)["rollback.json"]["restores"]}
    assert restores[ID]["outcome"] == "LeftAlone", restores[ID]
    item = report_items(result)[ID]
    assert (item["kind"], item["outcome"]) == ("schedule", "Superseded"), item
    assert item["newTaskDefinition"] == ours and item["finalTaskDefinition"] == theirs, item
    assert short(stack.service(A, "worker")["taskDefinition"]) == "convoy-demo-worker:1"


def test_a_schedule_already_on_the_release_images_is_unchanged_and_not_written(stack):
    report = report_revision(stack)
    before = create(stack, ecs_schedule(stack, report))
    release = stack.release()
    release["schedules"] = [entry(image=seed.image("report", seed.VERSION))]  # what report:1 runs
    result = stack.run(release)

    assert result["status"] == "SUCCEEDED", result
    assert get(stack) == before  # not even LastModificationDate moved
    assert stack.calls("scheduler.UpdateSchedule") == 0
    item = report_items(result)[ID]
    assert (item["kind"], item["outcome"]) == ("schedule", "Unchanged"), item
    assert item["finalTaskDefinition"] == report and "newTaskDefinition" not in item, item
    [planned] = stack.records(result)["plan.json"]["schedules"]
    assert planned["noop"] is True, planned


def test_a_refused_update_schedule_fails_the_item_and_the_release_rolls_back(stack):
    report = report_revision(stack)
    before = create(stack, ecs_schedule(stack, report))
    stack.post("/_fault/error", {"operation": "scheduler.UpdateSchedule", "count": 1, "match": f"/schedules/{NAME}",
                                 "code": "ValidationException", "message": "convoy e2e: refused"})
    release = only(stack, services=[f"{A}/api"], schedules=[entry()])  # one wave
    result = stack.run(release)

    assert result["status"] == "FAILED", result
    assert get(stack) == before  # the refused call changed nothing, and no rollback wrote it
    assert stack.calls("scheduler.UpdateSchedule") == 1  # a validation error is not retried
    items = report_items(result)
    item = items[ID]
    assert (item["kind"], item["outcome"]) == ("schedule", "Failed"), item
    reason = item.get("reason", "")
    assert reason.startswith("TargetsRejected: targets rejected: schedule "), item
    assert "ValidationException: convoy e2e: refused" in reason, item
    assert item["finalTaskDefinition"] == report, item
    # The clone was registered (report:2) before the refused UpdateSchedule; the schedule never ran it.
    assert stack.task_definition(seed.REPORT_FAMILY)["revision"] == 2
    assert items[f"{A}/api"]["outcome"] == "RolledBack", items[f"{A}/api"]
    assert short(stack.service(A, "api")["taskDefinition"]) == "convoy-demo-api:1"
    # The rollback looked and found the schedule still on report:1: nothing to write.
    restores = {r["id"]: r for r in stack.records(result)["rollback.json"]["restores"]}
    assert restores[ID]["outcome"] == "AlreadyCurrent", restores[ID]


def test_an_update_schedule_whose_answer_is_lost_is_retried_and_the_release_succeeds(stack):
    report = report_revision(stack)
    before = create(stack, ecs_schedule(stack, report))
    # Applied, then answered HTTP 500: the SDK retries the same request.
    stack.post("/_fault/error", {"operation": "scheduler.UpdateSchedule", "count": 1, "match": f"/schedules/{NAME}",
                                 "after": True, "code": "InternalServerException"})
    result = stack.run(only(stack, schedules=[entry()]))

    assert result["status"] == "SUCCEEDED", result
    assert stack.calls("scheduler.UpdateSchedule") == 2
    after = get(stack)
    assert but_task_definition(after) == but_task_definition(before)
    assert short(task_definition_of(after)) == f"{seed.REPORT_FAMILY}:2", after
    item = report_items(result)[ID]
    assert (item["outcome"], item["finalTaskDefinition"]) == ("Deployed", task_definition_of(after)), item


def test_a_schedule_whose_dependency_fails_never_starts_and_is_not_touched(stack):
    report = report_revision(stack)
    before = create(stack, ecs_schedule(stack, report))
    stack.post("/_fault/ecs/arm", {"cluster": A, "service": "api", "mode": "fail", "failedTasks": 2})
    release = only(stack, services=[f"{A}/api"], schedules=[entry(dependsOn=[f"{A}/api"])])
    result = stack.run(release)

    assert result["status"] == "FAILED", result
    assert get(stack) == before
    assert stack.calls("scheduler.UpdateSchedule") == 0
    assert stack.task_definition(seed.REPORT_FAMILY)["revision"] == 1  # wave 1 registered nothing
    items = report_items(result)
    assert items[f"{A}/api"]["outcome"] == "Failed", items[f"{A}/api"]
    item = items[ID]
    assert (item["kind"], item["outcome"], item.get("wave")) == ("schedule", "NotStarted", 1), item
    assert item["finalTaskDefinition"] == report, item
    history = stack.history(result["executionArn"])
    assert [i["wave"]["index"] for i in task_inputs(history, "DeployWave")] == [0]
