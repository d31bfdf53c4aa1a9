"""The CodeDeploy blue/green simulator (convoy_local/codedeploy_sim.py) through boto3, against the session's moto
server (conftest.py: moto_url, boto_client).

    cd /work/main && .tools/venv/bin/python -m pytest -q local/tests/test_codedeploy_sim.py

Each test works on its own cluster, service, application and group names (World), so no test resets the server
but the one about resets.
"""

import itertools
import json
import re
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

ECS_EVENTS = ["BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic",
              "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"]
POLLS = 80  # far more than any unarmed deployment needs


# --- helpers ------------------------------------------------------------------------------------------------------


def control(url, method, path, body=None):
    """(HTTP status, JSON answer) of a control endpoint."""
    data = json.dumps(body or {}).encode() if method == "POST" else None
    request = urllib.request.Request(url + path, method=method, data=data,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


_names = itertools.count()


class World:
    """One cluster, a Fargate task definition with 2 revisions, a CODE_DEPLOY service on revision 1, and a
    CodeDeploy application (ECS) with a blue/green deployment group on that service."""

    def __init__(self, url, boto_client, *, config=None, ready_wait=False, auto_rollback=False, desired=2):
        self.url = url
        self.ecs, self.cd = boto_client("ecs"), boto_client("codedeploy")
        n = next(_names)
        self.cluster, self.service, self.family = f"cd-cluster-{n}", f"cd-svc-{n}", f"cd-web-{n}"
        self.app, self.group = f"cd-app-{n}", f"cd-group-{n}"
        self.target_id = f"{self.cluster}:{self.service}"
        network = control(url, "POST", "/_seed/network")[1]
        self.ecs.create_cluster(clusterName=self.cluster)
        self.td = [self._register(image) for image in ("web:1", "web:2")]
        lb = [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/0123456789",
               "containerName": "web", "containerPort": 8080}]
        self.ecs.create_service(
            cluster=self.cluster, serviceName=self.service, taskDefinition=self.td[0], desiredCount=desired,
            launchType="FARGATE", deploymentController={"type": "CODE_DEPLOY"}, loadBalancers=lb,
            networkConfiguration={"awsvpcConfiguration": {"subnets": network["subnetIds"],
                                                          "securityGroups": [network["securityGroupId"]]}})
        self.cd.create_application(applicationName=self.app, computePlatform="ECS")
        group = {
            "applicationName": self.app, "deploymentGroupName": self.group,
            "serviceRoleArn": "arn:aws:iam::123456789012:role/codedeploy",
            "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            "blueGreenDeploymentConfiguration": {
                "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE",
                                                              "terminationWaitTimeInMinutes": 5},
                "deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT" if ready_wait else
                                          "CONTINUE_DEPLOYMENT", **({"waitTimeInMinutes": 60} if ready_wait else {})},
            },
            "loadBalancerInfo": {"targetGroupPairInfoList": [{
                "targetGroups": [{"name": "tg-blue"}, {"name": "tg-green"}],
                "prodTrafficRoute": {"listenerArns": ["arn:aws:elasticloadbalancing:us-east-1:123456789012:"
                                                      "listener/app/lb/1/1"]}}]},
            "ecsServices": [{"serviceName": self.service, "clusterName": self.cluster}],
        }
        if config:
            group["deploymentConfigName"] = config
        if auto_rollback:
            group["autoRollbackConfiguration"] = {"enabled": True, "events": ["DEPLOYMENT_FAILURE"]}
        self.cd.create_deployment_group(**group)

    def _register(self, image):
        return self.ecs.register_task_definition(
            family=self.family, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256",
            memory="512", containerDefinitions=[{"name": "web", "image": image, "essential": True,
                                                 "portMappings": [{"containerPort": 8080}]}],
        )["taskDefinition"]["taskDefinitionArn"]

    def appspec(self, task_definition, yaml=False):
        if yaml:
            return (f"version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n"
                    f"      Properties:\n        TaskDefinition: \"{task_definition}\"\n        LoadBalancerInfo:\n"
                    f"          ContainerName: \"web\"\n          ContainerPort: 8080\n")
        return json.dumps({"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
            "TaskDefinition": task_definition,
            "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": 8080}}}}]})

    def deploy(self, task_definition=None, yaml=False, **extra):
        content = self.appspec(task_definition or self.td[1], yaml=yaml)
        return self.cd.create_deployment(
            applicationName=self.app, deploymentGroupName=self.group,
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": content}}, **extra,
        )["deploymentId"]

    def arm(self, **fault):
        status, answer = control(self.url, "POST", "/_fault/codedeploy/arm",
                                 {"application": self.app, "deploymentGroup": self.group, **fault})
        assert status == 200, answer
        return answer

    def get(self, deployment_id):
        return self.cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]

    def target(self, deployment_id):
        return self.cd.get_deployment_target(deploymentId=deployment_id,
                                             targetId=self.target_id)["deploymentTarget"]["ecsTarget"]

    def poll(self, deployment_id, until, limit=POLLS):
        """GetDeployment until `until(info)`; the infos seen, in order."""
        seen = []
        for _ in range(limit):
            seen.append(self.get(deployment_id))
            if until(seen[-1]):
                return seen
        raise AssertionError(f"{deployment_id} never got there; last: {seen[-1]['status']}")

    def finish(self, deployment_id):
        return self.poll(deployment_id, lambda i: i["status"] not in ("Created", "Queued", "InProgress", "Baking"))

    def describe(self):
        return self.ecs.describe_services(cluster=self.cluster, services=[self.service])["services"][0]


@pytest.fixture
def world(moto_url, boto_client):
    def make(**options):
        return World(moto_url, boto_client, **options)

    return make


def error_code(exc_info):
    return exc_info.value.response["Error"]["Code"]


# --- ECS ----------------------------------------------------------------------------------------------------------


def test_update_service_refuses_a_task_definition_change_but_allows_desired_count(world):
    w = world()
    with pytest.raises(ClientError) as refused:
        w.ecs.update_service(cluster=w.cluster, service=w.service, taskDefinition=w.td[1])
    assert error_code(refused) == "InvalidParameterException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "CODE_DEPLOY deployment controller" in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError):  # "family" means its latest revision: a change too
        w.ecs.update_service(cluster=w.cluster, service=w.service, taskDefinition=w.family)
    assert w.describe()["taskDefinition"] == w.td[0]

    svc = w.ecs.update_service(cluster=w.cluster, service=w.service, desiredCount=5,
                               deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 50})
    assert svc["service"]["desiredCount"] == 5
    same = w.ecs.update_service(cluster=w.cluster, service=w.service, taskDefinition=w.td[0], desiredCount=3)
    assert same["service"]["taskDefinition"] == w.td[0] and same["service"]["desiredCount"] == 3


# --- a deployment from start to end ---------------------------------------------------------------------------------


def test_deployment_runs_every_lifecycle_event_to_succeeded_and_moves_the_service(world):
    w = world()
    deployment_id = w.deploy(description="release 42", yaml=True)
    first = w.cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    assert first["status"] == "InProgress" and first["description"] == "release 42"
    assert first["deploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"
    assert "errorInformation" not in first

    # a BatchGetDeployments naming it twice advances it once
    assert w.cd.batch_get_deployments(deploymentIds=[deployment_id, deployment_id])["deploymentsInfo"][0][
        "status"] == "InProgress"
    transitions, statuses = [], []
    for _ in range(POLLS):
        target = w.target(deployment_id)
        statuses.append(target["status"])
        events = [(e["lifecycleEventName"], e["status"]) for e in target["lifecycleEvents"]]
        if not transitions or transitions[-1] != events:
            transitions.append(events)
        if statuses[-1] == "Succeeded":
            break
    # GetDeployment: Created -> InProgress; BatchGetDeployments: BeforeInstall InProgress; this call: Succeeded
    assert transitions[0][:2] == [("BeforeInstall", "Succeeded"), ("Install", "Pending")]
    assert statuses[-1] == "Succeeded"
    final = w.get(deployment_id)
    assert final["status"] == "Succeeded"
    assert final["completeTime"] >= final["startTime"] >= final["createTime"]
    assert final["deploymentOverview"]["Succeeded"] == 1
    # each event went (Pending ->) InProgress -> Succeeded, in order, one at a time
    assert [name for name, _ in transitions[-1]] == ECS_EVENTS
    assert all(status == "Succeeded" for _, status in transitions[-1])
    for i, name in enumerate(ECS_EVENTS[1:], 1):
        seen = [events[i][1] for events in transitions]
        assert [s for j, s in enumerate(seen) if j == 0 or seen[j - 1] != s] == ["Pending", "InProgress",
                                                                                   "Succeeded"], name
    # one transition per advance: consecutive snapshots differ in one event
    for before, after in zip(transitions, transitions[1:]):
        assert sum(a != b for a, b in zip(before, after)) == 1
    # the termination wait: every event done, the deployment still InProgress
    assert statuses[-2] == "InProgress" and all(status == "Succeeded" for _, status in transitions[-1])

    svc = w.describe()
    assert svc["taskDefinition"] == w.td[1]
    assert [(d["status"], d["taskDefinition"], d["rolloutState"]) for d in svc["deployments"]] == [
        ("PRIMARY", w.td[1], "COMPLETED")]
    assert svc["deployments"][0]["runningCount"] == svc["deployments"][0]["desiredCount"] == 2
    target = w.target(deployment_id)
    assert target["status"] == "Succeeded" and target["targetArn"].endswith(w.service)
    green = next(t for t in target["taskSetsInfo"] if t["taskSetLabel"] == "Green")
    assert green["trafficWeight"] == 100.0 and green["targetGroup"] == {"name": "tg-green"}


@pytest.mark.parametrize("config, weights", [
    ("CodeDeployDefault.ECSLinear10PercentEvery1Minutes", [10.0 * i for i in range(1, 11)]),
    ("CodeDeployDefault.ECSLinear10PercentEvery3Minutes", [10.0 * i for i in range(1, 11)]),
    ("CodeDeployDefault.ECSCanary10Percent5Minutes", [10.0, 100.0]),
    ("CodeDeployDefault.ECSAllAtOnce", [100.0]),
])
def test_traffic_shifts_in_the_steps_of_the_deployment_config(world, config, weights):
    w = world(config=config)
    deployment_id = w.deploy()
    assert w.get(deployment_id)["deploymentConfigName"] == config
    green_weights = []
    for _ in range(POLLS):
        target = w.target(deployment_id)
        allow = next(e for e in target["lifecycleEvents"] if e["lifecycleEventName"] == "AllowTraffic")
        green = [t for t in target["taskSetsInfo"] if t["taskSetLabel"] == "Green"]
        blue = next(t for t in target["taskSetsInfo"] if t["taskSetLabel"] == "Blue")
        if green:
            assert green[0]["trafficWeight"] + blue["trafficWeight"] == 100.0
            if green[0]["trafficWeight"] and (not green_weights or green_weights[-1] != green[0]["trafficWeight"]):
                green_weights.append(green[0]["trafficWeight"])
                # the service moves only once all the traffic has
                on_new = w.describe()["taskDefinition"] == w.td[1]
                assert on_new == (green[0]["trafficWeight"] == 100.0)
                assert allow["status"] == ("Succeeded" if on_new else "InProgress")
        if target["status"] == "Succeeded":
            break
    assert green_weights == weights


def test_a_deployment_config_of_another_platform_is_refused(world):
    w = world()
    with pytest.raises(ClientError) as refused:
        w.deploy(deploymentConfigName="CodeDeployDefault.OneAtATime")
    assert error_code(refused) == "DeploymentConfigDoesNotExistException"


# --- one active deployment per group, ListDeployments -----------------------------------------------------------------


def test_a_second_create_deployment_while_one_is_active_exceeds_the_limit(world):
    w = world()
    first = w.deploy()
    with pytest.raises(ClientError) as refused:
        w.deploy()
    assert error_code(refused) == "DeploymentLimitExceededException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert first in refused.value.response["Error"]["Message"]
    w.finish(first)
    second = w.deploy(w.td[0])  # free again once the first ended
    assert second != first


def test_list_deployments_newest_first_and_include_only_statuses_finds_the_active_one(world):
    w = world()
    done = w.deploy(description="first")
    assert w.finish(done)[-1]["status"] == "Succeeded"
    active = w.deploy(w.td[0], description="convoy release r-7 (service cd)")

    everything = w.cd.list_deployments(applicationName=w.app, deploymentGroupName=w.group)["deployments"]
    assert everything == [active, done]
    running = w.cd.list_deployments(applicationName=w.app, deploymentGroupName=w.group,
                                    includeOnlyStatuses=["Created", "Queued", "InProgress", "Baking", "Ready"])
    assert running["deployments"] == [active]
    infos = w.cd.batch_get_deployments(deploymentIds=running["deployments"])["deploymentsInfo"]
    assert [i["description"] for i in infos] == ["convoy release r-7 (service cd)"]
    succeeded = w.cd.list_deployments(applicationName=w.app, deploymentGroupName=w.group,
                                      includeOnlyStatuses=["Succeeded"])
    assert succeeded["deployments"] == [done]

    with pytest.raises(ClientError) as missing:
        w.cd.list_deployments(applicationName=w.app, deploymentGroupName="no-such-group")
    assert error_code(missing) == "DeploymentGroupDoesNotExistException"
    with pytest.raises(ClientError) as bad:
        w.cd.list_deployments(applicationName=w.app, deploymentGroupName=w.group, includeOnlyStatuses=["Done"])
    assert error_code(bad) == "InvalidDeploymentStatusException"


# --- the revision -------------------------------------------------------------------------------------------------


def test_create_deployment_refuses_an_appspec_without_load_balancer_info_and_keeps_moto_errors(world):
    w = world()
    content = json.dumps({"Resources": [{"TargetService": {"Type": "AWS::ECS::Service",
                                                           "Properties": {"TaskDefinition": w.td[1]}}}]})
    with pytest.raises(ClientError) as refused:
        w.cd.create_deployment(applicationName=w.app, deploymentGroupName=w.group,
                               revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": content}})
    assert error_code(refused) == "InvalidRevisionException"
    assert "LoadBalancerInfo" in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as no_td:
        w.cd.create_deployment(applicationName=w.app, deploymentGroupName=w.group, revision={
            "revisionType": "AppSpecContent", "appSpecContent": {"content": "Resources:\n  - TargetService: {}\n"}})
    assert error_code(no_td) == "InvalidRevisionException"
    with pytest.raises(ClientError) as no_group:
        w.cd.create_deployment(applicationName=w.app, deploymentGroupName="nope", revision={
            "revisionType": "AppSpecContent", "appSpecContent": {"content": w.appspec(w.td[1])}})
    assert error_code(no_group) == "DeploymentGroupDoesNotExistException"
    assert w.cd.list_deployments(applicationName=w.app, deploymentGroupName=w.group)["deployments"] == []


def test_a_task_definition_that_does_not_exist_fails_the_install(world):
    w = world()
    deployment_id = w.deploy(f"{w.family}:9")
    final = w.finish(deployment_id)[-1]
    assert final["status"] == "Failed"
    assert final["errorInformation"]["code"] == "ECS_UPDATE_ERROR"
    events = {e["lifecycleEventName"]: e["status"] for e in w.target(deployment_id)["lifecycleEvents"]}
    assert events["Install"] == "Failed" and events["AfterInstall"] == "Skipped"


# --- faults -------------------------------------------------------------------------------------------------------


def test_fail_at_after_allow_test_traffic_fails_the_deployment(world, moto_url):
    w = world()
    armed = w.arm(mode="fail", message="smoke test returned 503")
    assert armed["event"] == "AfterAllowTestTraffic"
    deployment_id = w.deploy()
    final = w.finish(deployment_id)[-1]
    assert final["status"] == "Failed" and final["completeTime"]
    assert final["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    assert "AfterAllowTestTraffic" in final["errorInformation"]["message"]
    assert "rollbackInfo" not in final  # the group has no auto-rollback
    event = next(e for e in w.target(deployment_id)["lifecycleEvents"]
                 if e["lifecycleEventName"] == "AfterAllowTestTraffic")
    assert event["status"] == "Failed" and event["diagnostics"]["message"] == "smoke test returned 503"
    assert w.describe()["taskDefinition"] == w.td[0]
    # consumed: the next deployment of the group succeeds
    assert w.finish(w.deploy())[-1]["status"] == "Succeeded"
    stats = [s for s in control(moto_url, "GET", "/_stats/codedeploy")[1] if s["deploymentGroup"] == w.group]
    assert [(s["deploymentId"], s["status"], s["event"], s["eventStatus"], s["fault"]) for s in stats][0] == (
        deployment_id, "Failed", "AfterAllowTestTraffic", "Failed", "fail")
    assert stats[1]["status"] == "Succeeded" and stats[1]["fault"] == "ok"


@pytest.mark.parametrize("event", ["AfterAllowTestTraffic", "AfterAllowTraffic"])
def test_fail_with_auto_rollback_creates_a_rollback_that_restores_the_old_task_definition(world, event):
    w = world(auto_rollback=True)
    w.arm(mode="fail", event=event)
    deployment_id = w.deploy(description="release 9")
    final = w.finish(deployment_id)[-1]
    assert final["status"] == "Failed"
    # after AllowTraffic the service was already on the new task definition
    assert w.describe()["taskDefinition"] == (w.td[1] if event == "AfterAllowTraffic" else w.td[0])
    rollback_id = final["rollbackInfo"]["rollbackDeploymentId"]
    assert rollback_id != deployment_id and final["rollbackInfo"]["rollbackMessage"]
    rollback = w.get(rollback_id)
    assert rollback["creator"] == "codeDeployRollback" and deployment_id in rollback["description"]
    assert rollback["rollbackInfo"]["rollbackTriggeringDeploymentId"] == deployment_id
    assert len(w.finish(rollback_id)) <= 5  # a few advances
    assert w.get(rollback_id)["status"] == "Succeeded"
    svc = w.describe()
    assert svc["taskDefinition"] == w.td[0]
    assert [(d["status"], d["taskDefinition"]) for d in svc["deployments"]] == [("PRIMARY", w.td[0])]
    assert w.cd.list_deployments(applicationName=w.app, deploymentGroupName=w.group)["deployments"] == [
        rollback_id, deployment_id]


def test_a_deployments_own_auto_rollback_configuration_overrides_its_groups(world):
    w = world()  # the group has no auto-rollback
    w.arm(mode="fail", event="BeforeAllowTraffic")
    deployment_id = w.deploy(autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]})
    final = w.finish(deployment_id)[-1]
    assert final["status"] == "Failed" and final["rollbackInfo"]["rollbackDeploymentId"]
    # and the other way round: a deployment can switch its group's auto-rollback off
    w2 = world(auto_rollback=True)
    w2.arm(mode="fail", event="Install", message="no capacity")
    deployment_id = w2.deploy(autoRollbackConfiguration={"enabled": False})
    final = w2.finish(deployment_id)[-1]
    assert final["errorInformation"]["code"] == "ECS_UPDATE_ERROR" and "rollbackInfo" not in final


def test_an_s3_revision_is_read_from_moto_s3(world, boto_client):
    w = world()
    s3 = boto_client("s3")
    s3.create_bucket(Bucket="cd-appspecs")
    s3.put_object(Bucket="cd-appspecs", Key="appspec.yaml", Body=w.appspec(w.td[1], yaml=True).encode())
    deployment_id = w.cd.create_deployment(applicationName=w.app, deploymentGroupName=w.group, revision={
        "revisionType": "S3", "s3Location": {"bucket": "cd-appspecs", "key": "appspec.yaml", "bundleType": "YAML"}},
    )["deploymentId"]
    assert w.finish(deployment_id)[-1]["status"] == "Succeeded"
    assert w.describe()["taskDefinition"] == w.td[1]
    with pytest.raises(ClientError) as missing:
        w.cd.create_deployment(applicationName=w.app, deploymentGroupName=w.group, revision={
            "revisionType": "S3", "s3Location": {"bucket": "cd-appspecs", "key": "nope.yaml", "bundleType": "YAML"}})
    assert error_code(missing) == "RevisionDoesNotExistException"


def test_stuck_never_leaves_its_event(world):
    w = world()
    w.arm(mode="stuck", event="Install")
    deployment_id = w.deploy()
    for _ in range(30):
        target = w.target(deployment_id)
    events = {e["lifecycleEventName"]: e["status"] for e in target["lifecycleEvents"]}
    assert target["status"] == "InProgress" and events["Install"] == "InProgress"
    assert events["BeforeInstall"] == "Succeeded" and events["AfterInstall"] == "Pending"
    assert w.get(deployment_id)["status"] == "InProgress"
    answer = w.cd.stop_deployment(deploymentId=deployment_id)
    assert answer["status"] == "Succeeded"
    stopped = w.get(deployment_id)
    assert stopped["status"] == "Stopped" and stopped["errorInformation"]["code"] == "MANUAL_STOP"


def test_arm_refuses_an_unknown_event_or_mode(moto_url, world):
    status, answer = control(moto_url, "POST", "/_fault/codedeploy/arm",
                             {"application": "a", "deploymentGroup": "g", "mode": "fail", "event": "Bake"})
    assert status == 400 and "Bake" in answer["error"]
    status, answer = control(moto_url, "POST", "/_fault/codedeploy/arm",
                             {"application": "a", "deploymentGroup": "g", "mode": "explode"})
    assert status == 400 and "explode" in answer["error"]


def test_fault_reset_disarms_and_moto_reset_forgets_deployments(world, moto_url):
    w = world()
    w.arm(mode="fail")
    control(moto_url, "POST", "/_fault/reset")
    deployment_id = w.deploy()
    assert w.finish(deployment_id)[-1]["status"] == "Succeeded"
    mine = [s for s in control(moto_url, "GET", "/_stats/codedeploy")[1] if s["deploymentGroup"] == w.group]
    assert [(s["deploymentId"], s["status"], s["description"]) for s in mine] == [(deployment_id, "Succeeded", None)]
    control(moto_url, "POST", "/moto-api/reset")
    assert control(moto_url, "GET", "/_stats/codedeploy")[1] == []


# --- StopDeployment -----------------------------------------------------------------------------------------------


def test_stop_deployment_with_auto_rollback_in_flight(world):
    w = world()
    w.arm(mode="ok", terminationSteps=50)
    deployment_id = w.deploy()
    # in the termination wait: production traffic already on the new task definition
    w.poll(deployment_id, lambda i: i.get("instanceTerminationWaitTimeStarted"))
    assert w.describe()["taskDefinition"] == w.td[1]
    answer = w.cd.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
    assert answer["status"] == "Pending" and answer["statusMessage"]
    stopped = w.get(deployment_id)
    assert stopped["status"] == "Stopped"
    rollback_id = stopped["rollbackInfo"]["rollbackDeploymentId"]
    assert w.finish(rollback_id)[-1]["status"] == "Succeeded"
    assert w.describe()["taskDefinition"] == w.td[0]
    assert w.get(deployment_id)["status"] == "Stopped"


def test_stop_deployment_on_a_succeeded_deployment_is_refused(world):
    w = world()
    deployment_id = w.deploy()
    w.finish(deployment_id)
    with pytest.raises(ClientError) as refused:
        w.cd.stop_deployment(deploymentId=deployment_id)
    assert error_code(refused) == "DeploymentAlreadyCompletedException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as missing:
        w.cd.stop_deployment(deploymentId="d-NOPE")
    assert error_code(missing) == "DeploymentDoesNotExistException"


# --- GetDeploymentTarget --------------------------------------------------------------------------------------------


def test_get_deployment_target_reports_lifecycle_events_and_refuses_a_wrong_target(world):
    w = world()
    deployment_id = w.deploy()
    assert w.cd.list_deployment_targets(deploymentId=deployment_id)["targetIds"] == [w.target_id]
    response = w.cd.get_deployment_target(deploymentId=deployment_id, targetId=w.target_id)
    target = response["deploymentTarget"]
    assert target["deploymentTargetType"] == "ECSTarget"
    ecs = target["ecsTarget"]
    assert ecs["deploymentId"] == deployment_id and ecs["targetId"] == w.target_id
    assert ecs["targetArn"].endswith(f"/{w.service}") and ecs["lastUpdatedAt"]
    assert [e["lifecycleEventName"] for e in ecs["lifecycleEvents"]] == ECS_EVENTS
    assert ecs["status"] == "InProgress" and {e["status"] for e in ecs["lifecycleEvents"]} == {"Pending"}
    for _ in range(3):
        ecs = w.target(deployment_id)
    events = {e["lifecycleEventName"]: e for e in ecs["lifecycleEvents"]}
    assert events["BeforeInstall"]["status"] == "Succeeded" and events["BeforeInstall"]["endTime"]
    assert events["Install"]["status"] == "InProgress" and events["Install"]["startTime"]
    blue = next(t for t in ecs["taskSetsInfo"] if t["taskSetLabel"] == "Blue")
    green = next(t for t in ecs["taskSetsInfo"] if t["taskSetLabel"] == "Green")
    assert blue["trafficWeight"] == 100.0 and blue["status"] == "PRIMARY" and blue["identifer"]
    assert blue["targetGroup"] == {"name": "tg-blue"} and blue["runningCount"] == 2
    assert green["trafficWeight"] == 0.0 and green["desiredCount"] == 2

    assert re.fullmatch(r"d-[A-Z0-9]{9}", deployment_id)
    batch = w.cd.batch_get_deployment_targets(deploymentId=deployment_id, targetIds=[w.target_id])
    events = {e["lifecycleEventName"]: e["status"] for e in batch["deploymentTargets"][0]["ecsTarget"]
              ["lifecycleEvents"]}
    assert events["Install"] == "Succeeded"  # it advances too
    with pytest.raises(ClientError) as wrong:
        w.cd.batch_get_deployment_targets(deploymentId=deployment_id, targetIds=[w.target_id, "c:s"])
    assert error_code(wrong) == "DeploymentTargetDoesNotExistException"
    with pytest.raises(ClientError) as wrong:
        w.cd.get_deployment_target(deploymentId=deployment_id, targetId=f"{w.cluster}:other")
    assert error_code(wrong) == "DeploymentTargetDoesNotExistException"
    with pytest.raises(ClientError) as missing:
        w.cd.get_deployment_target(deploymentId="d-NOPE", targetId=w.target_id)
    assert error_code(missing) == "DeploymentDoesNotExistException"


# --- waits ----------------------------------------------------------------------------------------------------------


def test_ready_wait_holds_until_continue_deployment_and_termination_wait_ends_early(world):
    w = world(ready_wait=True)
    w.arm(mode="ok", terminationSteps=100)
    deployment_id = w.deploy()
    w.poll(deployment_id, lambda i: i["status"] == "Ready")
    for _ in range(5):
        assert w.get(deployment_id)["status"] == "Ready"
    ecs = w.target(deployment_id)
    assert ecs["status"] == "Ready"
    events = {e["lifecycleEventName"]: e["status"] for e in ecs["lifecycleEvents"]}
    assert events["AfterInstall"] == "Succeeded" and events["AllowTestTraffic"] == "Pending"
    with pytest.raises(ClientError) as not_yet:
        w.cd.continue_deployment(deploymentId=deployment_id, deploymentWaitType="TERMINATION_WAIT")
    assert error_code(not_yet) == "DeploymentIsNotInReadyStateException"

    w.cd.continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")
    w.poll(deployment_id, lambda i: i.get("instanceTerminationWaitTimeStarted"))
    assert w.get(deployment_id)["status"] == "InProgress"
    assert w.describe()["taskDefinition"] == w.td[1]
    w.cd.continue_deployment(deploymentId=deployment_id, deploymentWaitType="TERMINATION_WAIT")
    assert w.cd.batch_get_deployments(deploymentIds=[deployment_id])["deploymentsInfo"][0]["status"] == "Succeeded"
    with pytest.raises(ClientError) as done:
        w.cd.continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")
    assert error_code(done) == "DeploymentAlreadyCompletedException"


# --- an answer lost on the way back (/_fault/error with after) -----------------------------------------------------


def test_an_error_after_the_call_keeps_its_effect_and_replaces_only_the_answer(world, moto_url, boto_client):
    from botocore.config import Config

    w = world()
    # The client's own retries would send the call again and mask the lost answer.
    w.cd = boto_client("codedeploy", config=Config(retries={"total_max_attempts": 1}))
    status, rule = control(moto_url, "POST", "/_fault/error",
                           {"operation": "codedeploy.CreateDeployment", "count": 1, "after": True,
                            "code": "InternalFailure", "message": "answer lost", "status": 500})
    assert status == 200 and rule["after"] is True, rule
    with pytest.raises(ClientError) as lost:
        w.deploy()
    assert error_code(lost) == "InternalFailure"
    # The deployment exists all the same: the group is busy with it.
    active = w.cd.list_deployments(applicationName=w.app, deploymentGroupName=w.group,
                                   includeOnlyStatuses=["Created", "Queued", "InProgress", "Baking", "Ready"])
    assert len(active["deployments"]) == 1, active
    # Without `after` the call never reaches moto.
    control(moto_url, "POST", "/_fault/error", {"operation": "codedeploy.CreateDeployment", "count": 1})
    with pytest.raises(ClientError):
        w.deploy()
    again = w.cd.list_deployments(applicationName=w.app, deploymentGroupName=w.group)
    assert len(again["deployments"]) == 1, again
