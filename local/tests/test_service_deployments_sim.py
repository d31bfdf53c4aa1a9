"""The simulator's ECS ServiceDeployments API and blue/green strategies (convoy_local/moto_server.py), with boto3.

    .tools/venv/bin/python -m pytest -q -p no:cacheprovider local/tests
"""

import urllib.error

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from convoy_local.control import ACCOUNT, REGION

STAGES = ["RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
          "POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME",
          "BAKE_TIME", "CLEAN_UP"]  # BAKE_TIME twice: the default bakeSteps


def register(ecs, family: str, image: str) -> str:
    return ecs.register_task_definition(
        family=family, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": image, "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]


class Service:
    """A cluster with one FARGATE service on `family:1`, rolled out, and `family:2` registered."""

    def __init__(self, ecs, control, name: str, configuration=None, desired: int = 2):
        self.ecs, self.control, self.cluster, self.name = ecs, control, name, "svc"
        ecs.create_cluster(clusterName=name)
        self.td1 = register(ecs, name, "repo/app:1")
        self.td2 = register(ecs, name, "repo/app:2")
        extra = {"deploymentConfiguration": configuration} if configuration else {}
        self.created = ecs.create_service(cluster=name, serviceName="svc", taskDefinition=self.td1,
                                          desiredCount=desired, launchType="FARGATE",
                                          deploymentController={"type": "ECS"}, **extra)["service"]
        control.mark_rolled_out(name, "svc", desired)

    def arm(self, **fault):
        return self.control.post("/_fault/ecs/arm", {"cluster": self.cluster, "service": self.name, **fault})

    def update(self, td=None, **extra) -> str:
        """Starts a rollout; the new service deployment's ARN."""
        answer = self.ecs.update_service(cluster=self.cluster, service=self.name, taskDefinition=td or self.td2,
                                         **extra)
        return answer["service"]["currentServiceDeployment"]

    def describe(self) -> dict:
        """DescribeServices (advances the rollout one step)."""
        return self.ecs.describe_services(cluster=self.cluster, services=[self.name])["services"][0]

    def deployment(self, arn: str) -> dict:
        """DescribeServiceDeployments (advances the deployment one step)."""
        answer = self.ecs.describe_service_deployments(serviceDeploymentArns=[arn])
        assert answer["failures"] == []
        return answer["serviceDeployments"][0]

    def peek(self, arn: str) -> dict:
        """The record as it is, without advancing it."""
        return next(r for r in self.control.get("/_stats/service-deployments") if r["serviceDeploymentArn"] == arn)

    def briefs(self, **filters) -> list:
        return self.ecs.list_service_deployments(cluster=self.cluster, service=self.name,
                                                 **filters)["serviceDeployments"]

    def rows(self, service: dict) -> list:
        return [(d["status"], d["taskDefinition"], d["rolloutState"]) for d in service["deployments"]]


@pytest.fixture
def make(boto_client, moto_control):
    ecs = boto_client("ecs")
    return lambda name, configuration=None, **kw: Service(ecs, moto_control, name, configuration, **kw)


def blue_green(strategy="BLUE_GREEN", **extra) -> dict:
    return {"maximumPercent": 200, "minimumHealthyPercent": 100, "strategy": strategy, "bakeTimeInMinutes": 5,
            **extra}


def code(err: pytest.ExceptionInfo) -> str:
    return err.value.response["Error"]["Code"]


# --- ROLLING ---------------------------------------------------------------------------------------------------


def test_rolling_rollout_has_a_service_deployment_that_succeeds(make):
    s = make("sd-rolling-ok")
    first = s.created["currentServiceDeployment"]
    assert first.startswith(f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/sd-rolling-ok/svc/")
    assert s.created["deploymentController"] == {"type": "ECS"}
    assert [b["status"] for b in s.briefs()] == ["SUCCESSFUL"]

    arn = s.update()
    assert arn != first
    record = s.peek(arn)
    assert record["status"] == "IN_PROGRESS"
    assert "lifecycleStage" not in record
    revisions = s.ecs.describe_service_revisions(
        serviceRevisionArns=[record["targetServiceRevision"]["arn"], record["sourceServiceRevisions"][0]["arn"]])
    assert [r["taskDefinition"] for r in revisions["serviceRevisions"]] == [s.td2, s.td1]
    assert revisions["serviceRevisions"][0]["serviceRevisionArn"].startswith(
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/sd-rolling-ok/svc/")

    assert s.rows(s.describe()) == [("PRIMARY", s.td2, "IN_PROGRESS"), ("ACTIVE", s.td1, "COMPLETED")]
    done = s.describe()
    assert s.rows(done) == [("PRIMARY", s.td2, "COMPLETED")]
    assert done["currentServiceDeployment"] == arn
    record = s.deployment(arn)
    assert record["status"] == "SUCCESSFUL"
    assert record["targetServiceRevision"]["runningTaskCount"] == 2
    assert record["finishedAt"] >= record["startedAt"]
    assert [b["serviceDeploymentArn"] for b in s.briefs()] == [arn, first]  # newest first


def test_rolling_rollback_fault_ends_rollback_successful(make, moto_control):
    s = make("sd-rolling-rollback", {"deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    s.arm(mode="rollback")
    arn = s.update()
    s.describe()
    failed = s.describe()
    assert s.rows(failed)[0] == ("PRIMARY", s.td1, "IN_PROGRESS")  # the rolling rollback deployment
    record = s.peek(arn)
    assert record["status"] == "ROLLBACK_IN_PROGRESS"
    assert record["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert record["rollback"]["serviceRevisionArn"] == record["sourceServiceRevisions"][0]["arn"]
    assert record["rollback"]["reason"]
    s.describe()
    assert s.rows(s.describe()) == [("PRIMARY", s.td1, "COMPLETED")]
    record = s.peek(arn)
    assert record["status"] == "ROLLBACK_SUCCESSFUL"
    assert record["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    states = [r["state"] for r in moto_control.get("/_stats/rollouts") if r["cluster"] == "sd-rolling-rollback"]
    assert states == ["FAILED", "COMPLETED"]


def test_rolling_fail_fault_stops_the_deployment(make):
    s = make("sd-rolling-fail")
    s.arm(mode="fail")
    arn = s.update()
    s.describe()
    s.describe()
    record = s.deployment(arn)
    assert record["status"] == "STOPPED"
    assert record["statusReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert record["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert "rollback" not in record


def test_rolling_stop_rollback_reuses_the_rolling_rollback(make):
    s = make("sd-rolling-stop")
    s.arm(mode="stuck")
    arn = s.update()
    s.describe()
    assert s.ecs.stop_service_deployment(serviceDeploymentArn=arn)["serviceDeploymentArn"] == arn
    assert s.peek(arn)["status"] == "ROLLBACK_REQUESTED"
    statuses = [s.deployment(arn)["status"] for _ in range(3)]
    assert statuses == ["ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_SUCCESSFUL"]
    service = s.describe()
    assert service["taskDefinition"] == s.td1
    assert s.rows(service) == [("PRIMARY", s.td1, "COMPLETED")]


# --- BLUE_GREEN, LINEAR, CANARY ----------------------------------------------------------------------------------


def test_blue_green_advances_stage_by_stage_to_successful(make):
    s = make("sd-bg-ok", blue_green())
    arn = s.update()
    assert s.briefs()[0]["status"] == "PENDING"  # ListServiceDeployments does not advance
    seen = []
    for _ in STAGES:
        service = s.describe()
        record = s.peek(arn)
        assert record["status"] == "IN_PROGRESS"
        seen.append(record["lifecycleStage"])
        assert s.rows(service) == [("PRIMARY", s.td2, "IN_PROGRESS"), ("ACTIVE", s.td1, "COMPLETED")]
        if record["lifecycleStage"] == "BAKE_TIME":
            # both revisions run; the new one is at full count and yet the rollout is not over
            assert record["targetServiceRevision"]["runningTaskCount"] == 2
            assert record["sourceServiceRevisions"][0]["runningTaskCount"] == 2
            assert record["targetServiceRevision"]["requestedProductionTrafficWeight"] == 100
            primary, old = service["deployments"]
            assert primary["runningCount"] == primary["desiredCount"] == 2
            assert old["runningCount"] == 2
    assert seen == STAGES
    done = s.describe()
    record = s.peek(arn)
    assert record["status"] == "SUCCESSFUL"
    assert record["lifecycleStage"] == "CLEAN_UP"
    assert s.rows(done) == [("PRIMARY", s.td2, "COMPLETED")]
    assert done["runningCount"] == 2
    assert done["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
    assert record["deploymentConfiguration"]["bakeTimeInMinutes"] == 5


def test_describe_service_deployments_advances_once_per_call(make):
    s = make("sd-bg-describe", blue_green())
    arn = s.update()
    answer = s.ecs.describe_service_deployments(serviceDeploymentArns=[arn, arn])
    assert len(answer["serviceDeployments"]) == 1
    assert answer["serviceDeployments"][0]["lifecycleStage"] == "RECONCILE_SERVICE"
    assert s.deployment(arn)["lifecycleStage"] == "PRE_SCALE_UP"


def test_linear_shifts_production_traffic_in_steps(make):
    s = make("sd-linear", blue_green("LINEAR", linearConfiguration={"stepPercent": 25, "stepBakeTimeInMinutes": 1}))
    arn = s.update()
    weights, record = [], {}
    for _ in range(30):
        record = s.deployment(arn)
        if record["status"] != "IN_PROGRESS":
            break
        if record["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT":
            weights.append(record["targetServiceRevision"]["requestedProductionTrafficWeight"])
    assert weights == [25, 50, 75, 100]
    assert record["status"] == "SUCCESSFUL"


def test_canary_shifts_the_canary_then_the_rest(make):
    s = make("sd-canary", blue_green("CANARY", canaryConfiguration={"canaryPercent": 5, "canaryBakeTimeInMinutes": 1}))
    arn = s.update()
    weights = []
    for _ in range(30):
        record = s.deployment(arn)
        if record["status"] != "IN_PROGRESS":
            break
        if record["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT":
            weights.append(record["targetServiceRevision"]["requestedProductionTrafficWeight"])
            assert record["sourceServiceRevisions"][0]["requestedProductionTrafficWeight"] == 100 - weights[-1]
    assert weights == [5, 100]


def test_blue_green_hook_failure_rolls_back_to_the_old_task_definition(make, moto_control):
    s = make("sd-bg-fail", blue_green())
    s.arm(mode="fail", reason="smoke test returned 500")
    arn = s.update()
    for _ in STAGES:
        record = s.deployment(arn)
        if record["status"] != "IN_PROGRESS":
            break
    assert record["status"] == "ROLLBACK_IN_PROGRESS"
    assert record["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"
    assert record["statusReason"] == "lifecycle hook failed at POST_TEST_TRAFFIC_SHIFT: smoke test returned 500"
    assert record["rollback"]["serviceRevisionArn"] == record["sourceServiceRevisions"][0]["arn"]
    assert record["rollback"]["reason"] == "smoke test returned 500"
    assert s.deployment(arn)["status"] == "ROLLBACK_IN_PROGRESS"
    record = s.deployment(arn)
    assert record["status"] == "ROLLBACK_SUCCESSFUL"
    assert record["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"
    service = s.describe()
    assert service["taskDefinition"] == s.td1
    assert s.rows(service) == [("PRIMARY", s.td1, "COMPLETED")]
    states = [r["state"] for r in moto_control.get("/_stats/rollouts") if r["cluster"] == "sd-bg-fail"]
    assert states == ["FAILED", "COMPLETED"]


def test_blue_green_stuck_never_leaves_its_stage(make):
    s = make("sd-bg-stuck", blue_green())
    s.arm(mode="stuck")
    arn = s.update()
    for _ in range(len(STAGES) + 5):
        s.describe()
    record = s.deployment(arn)
    assert (record["status"], record["lifecycleStage"]) == ("IN_PROGRESS", "BAKE_TIME")
    assert s.rows(s.describe())[0] == ("PRIMARY", s.td2, "IN_PROGRESS")

    s2 = make("sd-bg-stuck-scale", blue_green())
    s2.arm(mode="stuck", stage="SCALE_UP")
    arn = s2.update()
    for _ in range(6):
        record = s2.deployment(arn)
    assert (record["status"], record["lifecycleStage"]) == ("IN_PROGRESS", "SCALE_UP")


def test_arming_an_unknown_stage_is_refused(make, moto_control):
    with pytest.raises(urllib.error.HTTPError) as err:
        moto_control.post("/_fault/ecs/arm", {"cluster": "c", "service": "s", "mode": "fail",
                                              "stage": "PRE_FLIGHT"})
    assert err.value.code == 400
    assert "PRE_FLIGHT" in err.value.read().decode()


def test_stop_rollback_during_bake_time_rolls_back(make):
    s = make("sd-bg-stop", blue_green())
    arn = s.update()
    while s.deployment(arn)["lifecycleStage"] != "BAKE_TIME":
        pass
    s.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert s.briefs(status=["ROLLBACK_REQUESTED"])[0]["serviceDeploymentArn"] == arn
    record = s.deployment(arn)
    assert record["status"] == "ROLLBACK_IN_PROGRESS"
    assert record["rollback"]["serviceRevisionArn"] == record["sourceServiceRevisions"][0]["arn"]
    assert s.deployment(arn)["status"] == "ROLLBACK_SUCCESSFUL"
    service = s.describe()
    assert service["taskDefinition"] == s.td1
    assert s.rows(service) == [("PRIMARY", s.td1, "COMPLETED")]


def test_stop_abort_stops_and_leaves_the_task_definition(make):
    s = make("sd-bg-abort", blue_green())
    arn = s.update()
    s.deployment(arn)
    s.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ABORT")
    assert s.peek(arn)["status"] == "STOP_REQUESTED"
    record = s.deployment(arn)
    assert record["status"] == "STOPPED"
    assert record["stoppedAt"] >= record["createdAt"]
    assert s.describe()["taskDefinition"] == s.td2


def test_stop_refuses_a_finished_or_unknown_deployment(make):
    s = make("sd-stop-conflict")
    with pytest.raises(ClientError) as err:
        s.ecs.stop_service_deployment(serviceDeploymentArn=s.created["currentServiceDeployment"])
    assert code(err) == "ConflictException"
    assert err.value.response["Error"]["Message"] == "The service deployment is not in a state that can be stopped"
    with pytest.raises(ClientError) as err:
        s.ecs.stop_service_deployment(
            serviceDeploymentArn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/sd-stop-conflict/svc/nope")
    assert code(err) == "ServiceDeploymentNotFoundException"


def test_describe_service_deployments_limits_and_missing(make):
    s = make("sd-describe-limits")
    with pytest.raises(ClientError) as err:
        s.ecs.describe_service_deployments(serviceDeploymentArns=[f"arn:{i}" for i in range(21)])
    assert code(err) == "InvalidParameterException"
    missing = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/sd-describe-limits/svc/nope"
    answer = s.ecs.describe_service_deployments(
        serviceDeploymentArns=[s.created["currentServiceDeployment"], missing])
    assert [d["status"] for d in answer["serviceDeployments"]] == ["SUCCESSFUL"]
    assert answer["failures"] == [{"arn": missing, "reason": "MISSING"}]
    answer = s.ecs.describe_service_revisions(serviceRevisionArns=[missing])
    assert answer["failures"] == [{"arn": missing, "reason": "MISSING"}]


def test_update_without_strategy_replaces_the_configuration_and_rolls(make):
    s = make("sd-replace", blue_green())
    arn = s.update(deploymentConfiguration={"maximumPercent": 150, "minimumHealthyPercent": 50})
    assert "strategy" not in s.peek(arn)["deploymentConfiguration"]
    s.describe()
    service = s.describe()  # the rolling simulator's two steps
    assert service["deploymentConfiguration"] == {"maximumPercent": 150, "minimumHealthyPercent": 50}
    assert s.rows(service) == [("PRIMARY", s.td2, "COMPLETED")]
    record = s.peek(arn)
    assert record["status"] == "SUCCESSFUL"
    assert "lifecycleStage" not in record


def test_list_service_deployments_filters_and_pages(make):
    s = make("sd-list")
    s.arm(mode="fail")
    stopped = s.update()
    s.describe()
    s.describe()
    ok = s.update(td=s.td1)
    s.describe()
    s.describe()
    first = s.created["currentServiceDeployment"]
    assert [b["serviceDeploymentArn"] for b in s.briefs(status=["SUCCESSFUL"])] == [ok, first]
    assert [b["serviceDeploymentArn"] for b in s.briefs(status=["STOPPED"])] == [stopped]
    brief = s.briefs(status=["STOPPED"])[0]
    assert brief["targetServiceRevisionArn"] == s.peek(stopped)["targetServiceRevision"]["arn"]
    page = s.ecs.list_service_deployments(cluster="sd-list", service="svc", maxResults=2)
    assert [b["serviceDeploymentArn"] for b in page["serviceDeployments"]] == [ok, stopped]
    rest = s.ecs.list_service_deployments(cluster="sd-list", service="svc", nextToken=page["nextToken"])
    assert [b["serviceDeploymentArn"] for b in rest["serviceDeployments"]] == [first]
    assert "nextToken" not in rest
    with pytest.raises(ClientError) as err:
        s.ecs.list_service_deployments(cluster="sd-list", service="nope")
    assert code(err) == "ServiceNotFoundException"
    with pytest.raises(ClientError) as err:
        s.ecs.list_service_deployments(cluster="sd-no-such-cluster", service="svc")
    assert code(err) == "ClusterNotFoundException"


def test_recreated_service_starts_clean(make):
    s = make("sd-recreate")
    s.update()
    s.ecs.delete_service(cluster="sd-recreate", service="svc", force=True)
    again = s.ecs.create_service(cluster="sd-recreate", serviceName="svc", taskDefinition=s.td1, desiredCount=1,
                                 launchType="FARGATE")["service"]
    assert [b["serviceDeploymentArn"] for b in s.briefs()] == [again["currentServiceDeployment"]]


def test_throttle_applies_to_describe_service_deployments(make, boto_client, moto_control):
    s = make("sd-throttle")
    arn = s.created["currentServiceDeployment"]
    moto_control.post("/_fault/throttle", {"operation": "ecs.DescribeServiceDeployments", "count": 1,
                                           "match": "sd-throttle"})
    once = boto_client("ecs", config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as err:
        once.describe_service_deployments(serviceDeploymentArns=[arn])
    assert code(err) == "ThrottlingException"
    assert s.deployment(arn)["status"] == "SUCCESSFUL"
    assert moto_control.calls("ecs.DescribeServiceDeployments") >= 2
