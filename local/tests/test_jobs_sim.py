"""The simulator's one-off ECS tasks (jobs: RunTask, DescribeTasks, StopTask, ListTasks; convoy_local/job_sim.py),
with boto3, as convoy runs a database migration: RunTask with a client token, poll DescribeTasks until STOPPED,
StopTask at the deadline.

    .tools/venv/bin/python -m pytest -q -p no:cacheprovider local/tests
"""

import json
import urllib.error

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from convoy_local.control import ACCOUNT, REGION

TOKEN_CHARS = 64
PULL_ERROR = "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref"


def code(err: pytest.ExceptionInfo) -> str:
    return err.value.response["Error"]["Code"]


class Jobs:
    """A cluster (named after the test) and a job task definition family in it; runs and polls its tasks."""

    def __init__(self, ecs, control, name: str, containers=None):
        self.ecs, self.control, self.cluster, self.family = ecs, control, name, f"{name}-migrate"
        self.network = control.post("/_seed/network")
        ecs.create_cluster(clusterName=name)
        self.td = ecs.register_task_definition(
            family=self.family, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
            containerDefinitions=containers or [{"name": "app", "image": "repo/app:1", "essential": True}],
        )["taskDefinition"]["taskDefinitionArn"]
        self.runs = 0

    def token(self, suffix: str = "") -> str:
        return (self.cluster + suffix + "-" * TOKEN_CHARS)[:TOKEN_CHARS]

    def run(self, token=None, **extra) -> dict:
        """RunTask as convoy calls it; the started task."""
        self.runs += 1
        request = {
            "cluster": self.cluster, "taskDefinition": self.td, "count": 1,
            "clientToken": token or self.token(str(self.runs)),
            "startedBy": f"convoy/{self.cluster}",
            "overrides": {"containerOverrides": [{"name": "app", "command": ["migrate", "--up"],
                                                  "environment": [{"name": "RELEASE", "value": "r1"}]}]},
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": self.network["subnetIds"],
                                                             "securityGroups": [self.network["securityGroupId"]],
                                                             "assignPublicIp": "DISABLED"}},
            "launchType": "FARGATE", "platformVersion": "LATEST",
        }
        if "capacityProviderStrategy" in extra:
            request.pop("launchType")
        request.update(extra)
        answer = self.ecs.run_task(**request)
        assert answer["failures"] == []
        assert len(answer["tasks"]) == 1
        return answer["tasks"][0]

    def describe(self, arn: str) -> dict:
        """DescribeTasks (advances the task one step)."""
        answer = self.ecs.describe_tasks(cluster=self.cluster, tasks=[arn])
        assert answer["failures"] == []
        return answer["tasks"][0]

    def statuses(self, arn: str, n: int) -> list:
        return [self.describe(arn)["lastStatus"] for _ in range(n)]

    def arm(self, **fault) -> dict:
        return self.control.post("/_fault/job", {"family": self.family, **fault})

    def exits(self, task: dict) -> dict:
        return {c["name"]: c.get("exitCode") for c in task["containers"]}


@pytest.fixture
def jobs(boto_client, moto_control):
    ecs = boto_client("ecs", config=Config(retries={"total_max_attempts": 1}))
    return lambda name, containers=None: Jobs(ecs, moto_control, name, containers)


TWO_ESSENTIAL = [{"name": "app", "image": "repo/app:1", "essential": True},
                 {"name": "proxy", "image": "repo/proxy:1", "essential": True},
                 {"name": "log", "image": "repo/log:1", "essential": False}]


def test_a_job_task_runs_for_the_default_polls_then_exits_0(jobs):
    j = jobs("job-default", TWO_ESSENTIAL)
    started = j.run()
    assert (started["lastStatus"], started["desiredStatus"]) == ("PROVISIONING", "RUNNING")
    assert started["taskArn"].startswith(f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/job-default/")
    assert [c["name"] for c in started["containers"]] == ["app", "proxy", "log"]  # every container, not moto's one
    assert all(c["lastStatus"] == "PENDING" and "exitCode" not in c for c in started["containers"])
    assert started["startedBy"] == "convoy/job-default"
    assert started["overrides"]["containerOverrides"][0]["command"] == ["migrate", "--up"]
    assert (started["launchType"], started["platformVersion"]) == ("FARGATE", "1.4.0")
    assert (started["cpu"], started["memory"]) == ("256", "512")
    assert started["attachments"][0]["type"] == "ElasticNetworkInterface"

    arn = started["taskArn"]
    pending = j.describe(arn)
    assert pending["lastStatus"] == "PENDING"
    running = [j.describe(arn) for _ in range(2)]  # RUNNING for the default 2 polls
    assert [t["lastStatus"] for t in running] == ["RUNNING", "RUNNING"]
    assert all(c["lastStatus"] == "RUNNING" and "exitCode" not in c for c in running[0]["containers"])
    assert "stopCode" not in running[1] and "stoppedAt" not in running[1]
    assert running[0]["startedAt"]

    stopped = j.describe(arn)
    assert (stopped["lastStatus"], stopped["desiredStatus"]) == ("STOPPED", "STOPPED")
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["stoppedReason"] == "Essential container in task exited"
    assert j.exits(stopped) == {"app": 0, "proxy": 0, "log": 0}
    assert all(c["lastStatus"] == "STOPPED" for c in stopped["containers"])
    assert stopped["stoppingAt"] <= stopped["executionStoppedAt"] <= stopped["stoppedAt"]
    assert stopped["overrides"]["containerOverrides"][0]["environment"] == [{"name": "RELEASE", "value": "r1"}]
    assert j.describe(arn)["lastStatus"] == "STOPPED"  # and stays so


def test_exit_fault_fails_the_named_container_with_its_code(jobs):
    j = jobs("job-exit", TWO_ESSENTIAL)
    armed = j.arm(mode="exit", exitCode=3, container="proxy", reason="OutOfMemoryError: Container killed", polls=1)
    assert armed == {"armed": j.family, "mode": "exit", "exitCode": 3, "container": "proxy",
                     "reason": "OutOfMemoryError: Container killed", "polls": 1}
    arn = j.run()["taskArn"]
    assert j.statuses(arn, 2) == ["PENDING", "RUNNING"]
    stopped = j.describe(arn)
    assert stopped["lastStatus"] == "STOPPED"
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["stoppedReason"] == "Essential container in task exited"
    assert j.exits(stopped) == {"app": 0, "proxy": 3, "log": 0}
    reasons = {c["name"]: c.get("reason") for c in stopped["containers"]}
    assert reasons == {"app": None, "proxy": "OutOfMemoryError: Container killed", "log": None}


def test_exit_fault_without_a_container_fails_every_essential_one(jobs):
    j = jobs("job-exit-all", TWO_ESSENTIAL)
    j.arm(mode="exit")  # exitCode 1 by default
    arn = j.run()["taskArn"]
    assert j.statuses(arn, 3) == ["PENDING", "RUNNING", "RUNNING"]
    assert j.exits(j.describe(arn)) == {"app": 1, "proxy": 1, "log": 0}


def test_stuck_job_runs_until_stop_task_then_stops_user_initiated(jobs):
    j = jobs("job-stuck")
    j.arm(mode="stuck")
    arn = j.run()["taskArn"]
    assert j.statuses(arn, 8) == ["PENDING"] + ["RUNNING"] * 7

    answer = j.ecs.stop_task(cluster=j.cluster, task=arn, reason="convoy: job app-migrate timed out after 900 s")
    task = answer["task"]
    assert task["taskArn"] == arn
    assert (task["lastStatus"], task["desiredStatus"]) == ("RUNNING", "STOPPED")  # as ECS answers StopTask
    assert task["stopCode"] == "UserInitiated"
    assert task["stoppedReason"] == "convoy: job app-migrate timed out after 900 s"
    assert task["stoppingAt"]

    stopped = j.describe(arn)
    assert (stopped["lastStatus"], stopped["desiredStatus"]) == ("STOPPED", "STOPPED")
    assert stopped["stopCode"] == "UserInitiated"
    assert stopped["stoppedReason"] == "convoy: job app-migrate timed out after 900 s"
    assert j.exits(stopped) == {"app": 137}  # SIGKILL after the stop timeout
    assert stopped["stoppedAt"] >= stopped["stoppingAt"]

    again = j.ecs.stop_task(cluster=j.cluster, task=arn, reason="second stop")["task"]
    assert (again["lastStatus"], again["stoppedReason"]) == ("STOPPED", "convoy: job app-migrate timed out after 900 s")


def test_stop_task_before_the_task_started_leaves_no_exit_code(jobs):
    j = jobs("job-stop-early")
    arn = j.run()["taskArn"]
    task = j.ecs.stop_task(cluster=j.cluster, task=arn)["task"]
    assert (task["lastStatus"], task["desiredStatus"], task["stoppedReason"]) == (
        "PROVISIONING", "STOPPED", "Task stopped by user")
    stopped = j.describe(arn)
    assert (stopped["lastStatus"], stopped["stopCode"]) == ("STOPPED", "UserInitiated")
    assert j.exits(stopped) == {"app": None}
    assert "startedAt" not in stopped


def test_a_natural_exit_is_kept_when_stop_task_comes_after_it(jobs):
    j = jobs("job-stop-late")
    arn = j.run()["taskArn"]
    assert j.statuses(arn, 4)[-1] == "STOPPED"
    task = j.ecs.stop_task(cluster=j.cluster, task=arn, reason="too late")["task"]
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["stoppedReason"] == "Essential container in task exited"
    assert j.exits(task) == {"app": 0}


def test_fail_to_start_fault_stops_the_task_at_the_first_describe(jobs):
    j = jobs("job-pull", TWO_ESSENTIAL)
    j.arm(mode="failToStart", container="app")
    arn = j.run()["taskArn"]
    stopped = j.describe(arn)
    assert (stopped["lastStatus"], stopped["desiredStatus"]) == ("STOPPED", "STOPPED")
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"].startswith(PULL_ERROR)
    assert "repo/app:1" in stopped["stoppedReason"]
    assert j.exits(stopped) == {"app": None, "proxy": None, "log": None}
    reasons = {c["name"]: c.get("reason") for c in stopped["containers"]}
    assert reasons["app"] == stopped["stoppedReason"]
    assert reasons["proxy"] is None and reasons["log"] is None
    assert all(c["lastStatus"] == "STOPPED" for c in stopped["containers"])
    assert "startedAt" not in stopped
    assert stopped["stoppedAt"]


def test_fail_to_start_takes_the_reason_given(jobs):
    j = jobs("job-pull-reason")
    j.arm(mode="failToStart", reason="ResourceInitializationError: unable to pull secrets or registry auth")
    stopped = j.describe(j.run()["taskArn"])
    assert stopped["stoppedReason"] == "ResourceInitializationError: unable to pull secrets or registry auth"
    assert stopped["containers"][0]["reason"] == stopped["stoppedReason"]


def test_client_token_answers_the_same_task_and_starts_one(jobs, moto_control):
    j = jobs("job-token")
    token = j.token("once")
    first = j.run(token=token)
    j.describe(first["taskArn"])  # PENDING now
    again = j.run(token=token)
    assert again["taskArn"] == first["taskArn"]
    assert again["lastStatus"] == "PENDING"  # the task as it is, not advanced, not restarted
    listed = j.ecs.list_tasks(cluster=j.cluster, startedBy=f"convoy/{j.cluster}")["taskArns"]
    assert listed == [first["taskArn"]]
    assert [r["taskArn"] for r in moto_control.get("/_stats/jobs") if r["cluster"] == j.cluster] == [
        first["taskArn"]]

    with pytest.raises(ClientError) as err:  # the same token with other parameters
        j.run(token=token, startedBy="convoy/other")
    assert code(err) == "ConflictException"

    other = jobs("job-token-b")  # tokens are per cluster
    assert other.run(token=token)["taskArn"] != first["taskArn"]


def test_a_retried_run_task_whose_answer_was_lost_starts_one_task(jobs, moto_control):
    j = jobs("job-lost")
    moto_control.post("/_fault/error", {"operation": "ecs.RunTask", "match": j.family, "after": True,
                                        "code": "ServerException", "status": 500, "count": 1})
    token = j.token("lost")
    with pytest.raises(ClientError) as err:
        j.run(token=token)
    assert code(err) == "ServerException"
    task = j.run(token=token)
    assert j.ecs.list_tasks(cluster=j.cluster, startedBy=f"convoy/{j.cluster}")["taskArns"] == [task["taskArn"]]


def test_a_fault_on_one_family_leaves_another_family_at_default(jobs):
    failing, other = jobs("job-fam-a"), jobs("job-fam-b")
    failing.arm(mode="exit", exitCode=2)
    a, b = failing.run()["taskArn"], other.run()["taskArn"]
    for _ in range(3):
        failing.describe(a), other.describe(b)
    assert failing.exits(failing.describe(a)) == {"app": 2}
    stopped = other.describe(b)
    assert (stopped["stopCode"], other.exits(stopped)) == ("EssentialContainerExited", {"app": 0})


def test_job_faults_are_cleared_as_documented(jobs, moto_control):
    j = jobs("job-clear")

    def outcome() -> dict:
        arn = j.run()["taskArn"]
        assert j.statuses(arn, 3) == ["PENDING", "RUNNING", "RUNNING"]  # the default polls
        return j.exits(j.describe(arn))

    j.arm(mode="exit", exitCode=4, count=1)  # the next task only
    assert outcome() == {"app": 4}
    assert outcome() == {"app": 0}

    j.arm(mode="exit", exitCode=5)  # every task until cleared
    assert outcome() == {"app": 5}
    assert outcome() == {"app": 5}
    assert moto_control.post("/_fault/job/clear", {"family": j.family}) == {"cleared": [j.family]}
    assert outcome() == {"app": 0}

    j.arm(mode="exit", exitCode=6)
    assert moto_control.post("/_fault/job/defaults", {"polls": 0}) == {"polls": 0}
    moto_control.post("/_fault/reset")  # clears job faults and the defaults too
    assert outcome() == {"app": 0}  # and the default polls are back

    j.arm(mode="exit", exitCode=7)
    moto_control.post("/_fault/job/clear")  # every family
    assert outcome() == {"app": 0}


def test_a_fault_arms_the_tasks_started_after_it_only(jobs):
    j = jobs("job-later")
    arn = j.run()["taskArn"]
    j.arm(mode="stuck")
    assert j.statuses(arn, 4)[-1] == "STOPPED"


def test_default_polls_can_be_changed(jobs, moto_control):
    j = jobs("job-polls")
    try:
        assert moto_control.post("/_fault/job/defaults", {"polls": 0}) == {"polls": 0}
        assert j.statuses(j.run()["taskArn"], 2) == ["PENDING", "STOPPED"]
        moto_control.post("/_fault/job/defaults", {"polls": 3})
        assert j.statuses(j.run()["taskArn"], 5) == ["PENDING", "RUNNING", "RUNNING", "RUNNING", "STOPPED"]
    finally:
        moto_control.post("/_fault/job/defaults", {"polls": 2})
    j.arm(mode="ok", polls=1)  # a family's own polls
    assert j.statuses(j.run()["taskArn"], 3) == ["PENDING", "RUNNING", "STOPPED"]


def test_arming_checks_its_fields(jobs, moto_control):
    j = jobs("job-arm")
    for body, words in ((({"family": j.family, "mode": "crash"}), "unknown mode"),
                        ({"mode": "exit"}, "family is required"),
                        ({"family": j.family, "container": "nope"}, "no container 'nope'"),
                        ({"family": j.family, "exitCode": 256}, "exitCode must be between")):
        with pytest.raises(urllib.error.HTTPError) as err:
            moto_control.post("/_fault/job", body)
        assert err.value.code == 400
        assert words in json.loads(err.value.read())["error"]
    # a family not registered yet can be armed (convoy registers its job's clone when the release runs)
    assert moto_control.post("/_fault/job", {"family": "job-arm-later", "container": "app"})["mode"] == "exit"
    moto_control.post("/_fault/job/clear", {"family": "job-arm-later"})


def test_list_tasks_filters_job_tasks_as_ecs_does(jobs):
    j = jobs("job-list")
    j.arm(mode="stuck")
    running = j.run()["taskArn"]
    done = j.run(startedBy="convoy/job-list-b")["taskArn"]
    j.ecs.stop_task(cluster=j.cluster, task=done)
    j.describe(done)
    # desiredStatus defaults to RUNNING
    assert j.ecs.list_tasks(cluster=j.cluster)["taskArns"] == [running]
    assert j.ecs.list_tasks(cluster=j.cluster, desiredStatus="STOPPED")["taskArns"] == [done]
    assert j.ecs.list_tasks(cluster=j.cluster, startedBy="convoy/job-list-b", desiredStatus="STOPPED")[
        "taskArns"] == [done]
    assert j.ecs.list_tasks(cluster=j.cluster, family=j.family)["taskArns"] == [running]
    assert j.ecs.list_tasks(cluster=j.cluster, family="job-list-other")["taskArns"] == []
    # job tasks are not a service's
    assert j.ecs.list_tasks(cluster=j.cluster, serviceName="svc", desiredStatus="STOPPED")["taskArns"] == []
    more = [j.run()["taskArn"] for _ in range(2)]
    page = j.ecs.list_tasks(cluster=j.cluster, maxResults=2)
    assert page["taskArns"] == [running, more[0]]
    assert j.ecs.list_tasks(cluster=j.cluster, maxResults=2, nextToken=page["nextToken"])["taskArns"] == [more[1]]


def test_describe_tasks_answers_missing_tasks_and_bounds_the_call(jobs):
    j, other = jobs("job-describe"), jobs("job-describe-b")
    mine, theirs = j.run()["taskArn"], other.run()["taskArn"]
    answer = j.ecs.describe_tasks(cluster=j.cluster, tasks=[mine, theirs, mine])
    assert [t["taskArn"] for t in answer["tasks"]] == [mine]  # named twice: described (and advanced) once
    assert answer["failures"] == [{"arn": theirs, "reason": "MISSING"}]
    assert j.describe(mine.split("/")[-1])["lastStatus"] == "RUNNING"  # by id too; the 2nd advance
    with pytest.raises(ClientError) as err:
        j.ecs.describe_tasks(cluster=j.cluster, tasks=[mine] * 101)
    assert code(err) == "InvalidParameterException"


def test_run_task_checks_started_by_and_the_client_token(jobs):
    j = jobs("job-checks")
    for extra in ({"startedBy": "convoy/release.1"}, {"startedBy": "x" * 129}, {"clientToken": "t" * 65},
                  {"clientToken": "with space"}, {"count": 11}):
        with pytest.raises(ClientError) as err:
            j.run(**extra)
        assert code(err) == "InvalidParameterException", extra
    assert j.run(startedBy="convoy/" + "r" * 121)["startedBy"] == "convoy/" + "r" * 121  # 128 characters


def test_run_task_with_a_capacity_provider_strategy(jobs):
    j = jobs("job-capacity")
    fargate = j.run(capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}])
    assert (fargate["launchType"], fargate["capacityProviderName"]) == ("FARGATE", "FARGATE_SPOT")
    ec2 = j.run(capacityProviderStrategy=[{"capacityProvider": "asg-provider", "weight": 1}])
    assert (ec2["launchType"], ec2["capacityProviderName"]) == ("EC2", "asg-provider")
    assert j.statuses(ec2["taskArn"], 4)[-1] == "STOPPED"
    with pytest.raises(ClientError) as err:
        j.run(launchType="EC2")
    assert code(err) == "InvalidParameterException"
    with pytest.raises(ClientError) as err:
        j.run(capacityProviderStrategy=[{"capacityProvider": "FARGATE"}], launchType="FARGATE")
    assert code(err) == "InvalidParameterException"


def test_stop_task_of_an_unknown_task_is_an_invalid_parameter(jobs):
    j = jobs("job-unknown")
    with pytest.raises(ClientError) as err:
        j.ecs.stop_task(cluster=j.cluster, task="0123456789abcdef")
    assert code(err) == "InvalidParameterException"


def test_stats_list_job_tasks_without_advancing_them(jobs, moto_control):
    j = jobs("job-stats")
    j.arm(mode="exit", exitCode=9, polls=0)
    arn = j.run(token=j.token("stats"))["taskArn"]
    rows = [r for r in moto_control.get("/_stats/jobs") if r["taskArn"] == arn]
    assert rows == [{"cluster": j.cluster, "taskArn": arn, "family": j.family, "taskDefinitionArn": j.td,
                     "startedBy": f"convoy/{j.cluster}", "clientToken": j.token("stats"),
                     "group": f"family:{j.family}", "lastStatus": "PROVISIONING", "desiredStatus": "RUNNING",
                     "stopCode": None, "stoppedReason": None, "mode": "exit", "describes": 0,
                     "containers": {"app": None}}]
    assert j.statuses(arn, 2) == ["PENDING", "STOPPED"]
    row = next(r for r in moto_control.get("/_stats/jobs") if r["taskArn"] == arn)
    assert (row["describes"], row["containers"]) == (2, {"app": 9})
