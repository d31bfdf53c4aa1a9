"""CodeDeploy blue/green simulator for ECS services (deploymentController CODE_DEPLOY), inside moto_server.

Why: moto's CodeDeploy only records deployments (they stay "Created" for ever), has no StopDeployment,
ContinueDeployment, GetDeploymentTarget or ListDeploymentTargets, and moto's ECS lets UpdateService change the
task definition of a CODE_DEPLOY service, so a release of such services could not run locally.

moto_server.py calls install(LOCK) after its own ECS patches and hands its control requests to handle_control
first. State lives on moto's backend objects (a moto reset forgets it) and in ARMED (POST /_fault/reset clears it).

ECS
  UpdateService changing the task definition of a CODE_DEPLOY service answers InvalidParameterException (HTTP 400,
  nothing changed) with ECS's message; desiredCount, deploymentConfiguration, ... stay allowed.

CodeDeploy (applications with computePlatform ECS; other platforms keep moto's behaviour)
  CreateDeployment  revision {revisionType: AppSpecContent | S3 (read from moto's S3)}; the AppSpec (JSON or YAML)
        names Resources[0].*.Properties.TaskDefinition and LoadBalancerInfo {ContainerName, ContainerPort}, else
        InvalidRevisionException. The group's ecsServices[0] is the target ("<cluster>:<service>"). One active
        deployment (Created|Queued|InProgress|Baking|Ready) per group, else DeploymentLimitExceededException.
        deploymentConfigName: CodeDeployDefault.ECSAllAtOnce (the ECS default), ECSLinear10PercentEvery1Minutes,
        ECSLinear10PercentEvery3Minutes, ECSCanary10Percent5Minutes, ECSCanary10Percent15Minutes.
  Progress: every GetDeployment, BatchGetDeployments, GetDeploymentTarget or BatchGetDeploymentTargets that
        names a deployment advances it one step (once per call): Created -> InProgress; then each lifecycle event
        in turn, one transition per step, Pending -> InProgress -> Succeeded: BeforeInstall, Install,
        AfterInstall, AllowTestTraffic, AfterAllowTestTraffic, BeforeAllowTraffic, AllowTraffic,
        AfterAllowTraffic. AllowTraffic stays InProgress
        while the traffic shifts, one config step per advance (AllAtOnce 1, Linear* 10, Canary* 2: see
        taskSetsInfo[].trafficWeight); when it succeeds the ECS service's taskDefinition becomes the AppSpec's and
        its deployments[] is one PRIMARY COMPLETED deployment with running == desired. Then `terminationSteps`
        (default 1) advances of termination wait (still InProgress), then Succeeded.
        With the group's deploymentReadyOption.actionOnTimeout STOP_DEPLOYMENT the deployment sits at Ready after
        AfterInstall until ContinueDeployment {READY_WAIT}; ContinueDeployment {TERMINATION_WAIT} ends the
        termination wait at once. Polling a failed/stopped deployment also advances its rollback.
  Failure / StopDeployment: status Failed (errorInformation) or Stopped (MANUAL_STOP). With auto-rollback
        (autoRollbackConfiguration with DEPLOYMENT_FAILURE, or StopDeployment autoRollbackEnabled=true) a rollback
        deployment (creator codeDeployRollback) reroutes traffic to the previous task definition: Created,
        InProgress, AllowTraffic Pending/InProgress/Succeeded (service back on the old task definition), Succeeded.
        Both carry rollbackInfo.
  GetDeploymentTarget, BatchGetDeploymentTargets (both advance, once per call), ListDeploymentTargets: one
        ECSTarget per deployment ("<cluster>:<service>"), with lifecycleEvents and Blue/Green taskSetsInfo.
        ListDeployments answers newest first and checks its application, group and statuses. Deployment ids look
        like CodeDeploy's (d-XXXXXXXXX).

Endpoints (JSON in, JSON out)
  POST /_fault/codedeploy/arm {application, deploymentGroup, mode: ok|fail|stuck, event?, message?, terminationSteps?}
        Arms the NEXT CreateDeployment of that group (consumed by it).
        `event`: a lifecycle event name (an unknown one: HTTP 400 naming it).
        fail:  `event` (default AfterAllowTestTraffic) ends Failed (diagnostics.message = `message`), and so does
               the deployment: errorInformation.code HOOK_EXECUTION_FAILURE for the hook events (Before/After*),
               ECS_UPDATE_ERROR for Install, AllowTestTraffic, AllowTraffic; auto-rollback applies.
        stuck: `event` (default AfterAllowTestTraffic) stays InProgress for ever.
        ok:    succeeds; terminationSteps (default 1) advances of termination wait before Succeeded.
  GET  /_stats/codedeploy -> [{deploymentId, application, deploymentGroup, status, event, eventStatus,
                              trafficWeight, taskDefinition, description, creator, fault}, ...] oldest first
"""

import hashlib
import inspect
import json
import threading
from typing import Any, Optional

from moto.codedeploy import responses as cd_responses
from moto.codedeploy.exceptions import CodeDeployException
from moto.codedeploy.models import CodeDeployBackend, DeploymentInfo, codedeploy_backends
from moto.codedeploy.responses import CodeDeployResponse
from moto.core.utils import camelcase_to_underscores, utcnow
from moto.ecs.exceptions import InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend, ecs_backends
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.moto_api._internal import mock_random
from werkzeug.wrappers import Response

from convoy_local.control import ACCOUNT, REGION

ECS_EVENTS = ["BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic",
              "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"]
# Events that run the AppSpec's Lambda hooks (the others are CodeDeploy's own ECS / load balancer work)
HOOK_EVENTS = {"BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"}
ROLLBACK_EVENTS = ["AllowTraffic"]  # a rollback only reroutes traffic back to the original task set
READY_WAIT_AFTER = "AfterInstall"  # where STOP_DEPLOYMENT waits for ContinueDeployment {READY_WAIT}
DEFAULT_FAULT_EVENT = "AfterAllowTestTraffic"
DEFAULT_TERMINATION_STEPS = 1
ACTIVE = ("Created", "Queued", "InProgress", "Baking", "Ready")
STATUSES = ("Created", "Queued", "InProgress", "Baking", "Succeeded", "Failed", "Stopped", "Ready")
DEFAULT_CONFIG = "CodeDeployDefault.ECSAllAtOnce"
# Green traffic weight after each AllowTraffic step
TRAFFIC_STEPS = {
    "CodeDeployDefault.ECSAllAtOnce": [100.0],
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes": [10.0 * i for i in range(1, 11)],
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes": [10.0 * i for i in range(1, 11)],
    "CodeDeployDefault.ECSCanary10Percent5Minutes": [10.0, 100.0],
    "CodeDeployDefault.ECSCanary10Percent15Minutes": [10.0, 100.0],
}
TASK_DEFINITION_MESSAGE = ("Unable to update task definition on services with a CODE_DEPLOY deployment controller. "
                           "Use AWS CodeDeploy to trigger a new deployment.")

_LOCK: Any = threading.RLock()  # install() replaces it with moto_server's LOCK: the ECS simulator shares services
ARMED: dict[str, dict[str, Any]] = {}  # "account/region/application/group" -> fault for the next CreateDeployment
_INSTALLED = False


class CodeDeployError(CodeDeployException):
    """A CodeDeploy JSON error: HTTP 400, {"__type": error_type, "message": ...}."""

    code = 400

    def __init__(self, error_type: str, message: str):
        super().__init__(error_type, message)


# ---------------------------------------------------------------------------------------------------------------
# AppSpec and deployment plan
# ---------------------------------------------------------------------------------------------------------------


def _revision_content(backend: CodeDeployBackend, revision: Optional[dict]) -> str:
    if not revision:
        raise CodeDeployError("RevisionRequiredException", "Revision is required.")
    kind = revision.get("revisionType")
    if kind == "AppSpecContent":
        spec = revision.get("appSpecContent") or {}
        content = spec.get("content")
        if not content:
            raise CodeDeployError("InvalidRevisionException", "The AppSpecContent content is required.")
        digest = spec.get("sha256")
        if digest and digest.lower() != hashlib.sha256(content.encode()).hexdigest():
            raise CodeDeployError("InvalidRevisionException",
                                  "The sha256 of the AppSpecContent does not match its content.")
        return content
    if kind == "S3":
        location = revision.get("s3Location") or {}
        try:
            from moto.s3.models import s3_backends

            s3 = s3_backends[backend.account_id][backend.partition]
            key = s3.get_object(location["bucket"], location["key"], version_id=location.get("version"))
            return key.value.decode()
        except Exception as exc:  # missing bucket/key, or not text
            raise CodeDeployError("RevisionDoesNotExistException",
                                  f"The revision s3://{location.get('bucket')}/{location.get('key')} could not be "
                                  f"read: {exc}")
    raise CodeDeployError("InvalidRevisionException",
                          f"Revision type {kind!r} is not supported for the ECS compute platform "
                          "(AppSpecContent or S3).")


def parse_appspec(content: str) -> dict:
    """{taskDefinition, containerName, containerPort, hooks} from AppSpec JSON or YAML."""
    try:
        spec = json.loads(content)
    except ValueError:
        import yaml

        try:
            spec = yaml.safe_load(content)
        except yaml.YAMLError as exc:
            raise CodeDeployError("InvalidRevisionException", f"The AppSpec is neither JSON nor YAML: {exc}")
    if not isinstance(spec, dict):
        raise CodeDeployError("InvalidRevisionException", "The AppSpec must be a JSON or YAML object.")
    resources = spec.get("Resources") or spec.get("resources")
    if not isinstance(resources, list) or not resources or not isinstance(resources[0], dict) or not resources[0]:
        raise CodeDeployError("InvalidRevisionException", "The AppSpec has no Resources[0] (the ECS service).")
    target = next(iter(resources[0].values()))  # conventionally named TargetService
    props = (target or {}).get("Properties") if isinstance(target, dict) else None
    if not isinstance(props, dict):
        raise CodeDeployError("InvalidRevisionException", "The AppSpec has no Resources[0].TargetService.Properties.")
    task_definition = props.get("TaskDefinition")
    if not task_definition:
        raise CodeDeployError("InvalidRevisionException",
                              "The AppSpec has no Resources[0].TargetService.Properties.TaskDefinition.")
    lb = props.get("LoadBalancerInfo")
    if not isinstance(lb, dict) or not lb.get("ContainerName") or lb.get("ContainerPort") in (None, ""):
        raise CodeDeployError("InvalidRevisionException", "The AppSpec has no Resources[0].TargetService.Properties."
                                                          "LoadBalancerInfo {ContainerName, ContainerPort}.")
    hooks = [name for hook in spec.get("Hooks") or [] if isinstance(hook, dict) for name in hook]
    return {"taskDefinition": str(task_definition), "containerName": str(lb["ContainerName"]),
            "containerPort": int(lb["ContainerPort"]), "hooks": hooks}


def _config_name(group, requested: Optional[str]) -> str:
    name = requested
    if not name:
        name = str(group.deployment_config_name or "")
        if name in ("", "CodeDeployDefault.OneAtATime"):  # moto's default for groups of every platform
            name = DEFAULT_CONFIG
    if name not in TRAFFIC_STEPS:
        raise CodeDeployError("DeploymentConfigDoesNotExistException",
                              f"No deployment configuration found for name: {name} (the simulator knows "
                              f"{', '.join(TRAFFIC_STEPS)})")
    return name


def _target(group) -> tuple[str, str]:
    services = group.ecs_services or []
    if not services or not services[0].get("serviceName"):
        raise CodeDeployError("InvalidECSServiceException",
                              f"Deployment group {group.deployment_group_name} names no ECS service (ecsServices).")
    return services[0].get("clusterName") or "default", services[0]["serviceName"]


def _target_groups(group) -> list[str]:
    pairs = (group.load_balancer_info or {}).get("targetGroupPairInfoList") or []
    return [tg.get("name") for tg in (pairs[0].get("targetGroups") or [])] if pairs else []


def _ready_wait(group) -> bool:
    option = (group.blue_green_deployment_configuration or {}).get("deploymentReadyOption") or {}
    return option.get("actionOnTimeout") == "STOP_DEPLOYMENT"


def _rollback_on(dep: DeploymentInfo, event: str) -> bool:
    config = dep.auto_rollback_configuration
    if config is None:  # a deployment's own configuration overrides its group's
        config = dep.deployment_group.auto_rollback_configuration or {}
    return bool(config.get("enabled")) and event in (config.get("events") or [])


def _ecs(backend: CodeDeployBackend) -> EC2ContainerServiceBackend:
    return ecs_backends[backend.account_id][backend.region_name]


def _register(backend: CodeDeployBackend, dep: DeploymentInfo) -> None:
    """Files `dep` under a CodeDeploy-style id ("d-" and 9 of [A-Z0-9]; moto uses a UUID), newest last."""
    backend.deployments.pop(dep.deployment_id, None)
    old_arn = backend._arn(f"deployment:{dep.deployment_id}")
    while True:
        dep.deployment_id = "d-" + "".join(mock_random.choice(_ID_CHARS) for _ in range(9))
        if dep.deployment_id not in backend.deployments:
            break
    backend.deployments[dep.deployment_id] = dep
    if backend.tagger.has_tags(old_arn):  # moto tagged it with the group's tags under the UUID
        backend.tagger.copy_tags(old_arn, backend._arn(f"deployment:{dep.deployment_id}"))
        backend.tagger.delete_all_tags_for_resource(old_arn)


_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _sim(dep: DeploymentInfo) -> Optional[dict]:
    return getattr(dep, "_convoy_sim", None)


def _new_sim(backend, dep: DeploymentInfo, plan: dict, events: list[str], fault: dict, config: str,
             previous_td: Optional[str]) -> dict:
    cluster, service = _target(dep.deployment_group)
    now = utcnow()
    svc = _ecs(backend).services.get(f"{cluster}:{service}")
    blue_id = (svc.deployments[0].get("id") if svc is not None and svc.deployments else None)
    return {
        "backend": backend, "cluster": cluster, "service": service, "targetId": f"{cluster}:{service}",
        "plan": plan, "config": config, "steps": TRAFFIC_STEPS[config], "shifted": 0,
        "events": [{"lifecycleEventName": name, "status": "Pending"} for name in events], "index": 0,
        "fault": fault, "terminationLeft": int(fault.get("terminationSteps", DEFAULT_TERMINATION_STEPS)),
        "readyWait": _ready_wait(dep.deployment_group) and READY_WAIT_AFTER in events, "waiting": None,
        "previousTaskDefinition": previous_td, "taskDefinitionArn": None, "error": None, "rollbackInfo": None,
        "rollbackOf": None, "updated": now, "terminating": False, "terminated": False,
        "blueId": blue_id or f"ecs-svc/{mock_random.randint(0, 32 ** 12)}",
        "greenId": f"ecs-svc/{mock_random.randint(0, 32 ** 12)}",
    }


# ---------------------------------------------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------------------------------------------


def _weight(sim: dict) -> float:
    return sim["steps"][sim["shifted"] - 1] if sim["shifted"] else 0.0


def _resolve_task_definition(sim: dict) -> str:
    """The AppSpec's task definition as an ARN, checked against the ECS service as the Install step would."""
    ecs = _ecs(sim["backend"])
    svc = ecs.services.get(sim["targetId"])
    if svc is None or svc.status != "ACTIVE":
        raise _StepFailed("INVALID_ECS_SERVICE", f"The ECS service {sim['targetId']} does not exist.")
    if (svc.deployment_controller or {}).get("type") != "CODE_DEPLOY":
        raise _StepFailed("INVALID_ECS_SERVICE", f"The ECS service {sim['targetId']} does not use the CODE_DEPLOY "
                                                 "deployment controller.")
    plan = sim["plan"]
    try:
        td = ecs.describe_task_definition(plan["taskDefinition"])
    except Exception:
        raise _StepFailed("ECS_UPDATE_ERROR", "The ECS service cannot be updated due to an unexpected error: "
                                              f"task definition {plan['taskDefinition']} does not exist.")
    containers = [c for c in td.container_definitions or [] if c.get("name") == plan["containerName"]]
    if not containers:
        raise _StepFailed("ECS_UPDATE_ERROR", f"The container {plan['containerName']} does not exist in the task "
                                              f"definition {td.arn}.")
    ports = [m.get("containerPort") for m in containers[0].get("portMappings") or []]
    if ports and plan["containerPort"] not in ports:
        raise _StepFailed("ECS_UPDATE_ERROR", f"The container {plan['containerName']} has no port mapping for "
                                              f"container port {plan['containerPort']}.")
    return td.arn


class _StepFailed(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _switch_service(sim: dict, task_definition_arn: str) -> None:
    """The ECS service once production traffic is on `task_definition_arn` (the shape of moto_server's _complete)."""
    svc = _ecs(sim["backend"]).services.get(sim["targetId"])
    if svc is None:
        return
    now = utcnow()
    deployment_id = f"ecs-svc/{mock_random.randint(0, 32 ** 12)}"
    svc.task_definition = task_definition_arn
    svc.deployments = [{
        "id": deployment_id, "status": "PRIMARY", "taskDefinition": task_definition_arn,
        "desiredCount": svc.desired_count, "pendingCount": 0, "runningCount": svc.desired_count, "failedTasks": 0,
        "launchType": svc.launch_type, "platformVersion": svc.platform_version, "createdAt": now, "updatedAt": now,
        "rolloutState": "COMPLETED", "rolloutStateReason": f"ECS deployment {deployment_id} completed.",
    }]
    svc.running_count, svc.pending_count = svc.desired_count, 0


def _advance(dep: DeploymentInfo, seen: set) -> None:
    """One step of `dep` (at most one per API call: `seen` holds the ids already advanced by this call)."""
    sim = _sim(dep)
    if sim is None or dep.deployment_id in seen:
        return
    seen.add(dep.deployment_id)
    if dep.status not in ACTIVE:
        # Time passes for the rollback too, even if only the failed deployment is polled
        rollback = (sim.get("rollbackInfo") or {}).get("rollbackDeploymentId")
        if rollback and rollback in sim["backend"].deployments:
            _advance(sim["backend"].deployments[rollback], seen)
        return
    if dep.status == "Ready":
        return
    now = utcnow()
    sim["updated"] = now
    if dep.status in ("Created", "Queued"):
        dep.status, dep.start_time = "InProgress", now
        return
    if sim["index"] < len(sim["events"]):
        _step_event(dep, sim, now)
        return
    if sim["terminationLeft"] > 0:
        sim["terminationLeft"] -= 1
        return
    _succeed(dep, sim, now)


def _step_event(dep: DeploymentInfo, sim: dict, now) -> None:
    event = sim["events"][sim["index"]]
    name = event["lifecycleEventName"]
    if event["status"] == "Pending":
        event.update({"status": "InProgress", "startTime": now})
        return
    fault = sim["fault"]
    if fault.get("event", DEFAULT_FAULT_EVENT) == name and fault.get("mode") == "stuck":
        return
    if fault.get("event", DEFAULT_FAULT_EVENT) == name and fault.get("mode") == "fail":
        code = "HOOK_EXECUTION_FAILURE" if name in HOOK_EVENTS else "ECS_UPDATE_ERROR"
        detail = fault.get("message") or f"{name} failed (injected by the local stack)"
        _fail(dep, sim, now, code, f"The deployment failed because the {name} lifecycle event failed: {detail}",
              detail)
        return
    try:
        if name == "Install":
            sim["taskDefinitionArn"] = _resolve_task_definition(sim)
        if name == "AllowTraffic":
            if sim["taskDefinitionArn"] is None:  # a rollback has no Install
                sim["taskDefinitionArn"] = _resolve_task_definition(sim)
            sim["shifted"] += 1
            if sim["shifted"] < len(sim["steps"]):
                return  # still shifting
            _switch_service(sim, sim["taskDefinitionArn"])
    except _StepFailed as exc:
        _fail(dep, sim, now, exc.code, exc.message, exc.message)
        return
    event.update({"status": "Succeeded", "endTime": now})
    sim["index"] += 1
    if sim["readyWait"] and name == READY_WAIT_AFTER:
        dep.status, sim["waiting"] = "Ready", "READY_WAIT"
    if sim["index"] == len(sim["events"]):
        sim["terminating"] = True
        dep.instance_termination_wait_time_started = True


def _succeed(dep: DeploymentInfo, sim: dict, now) -> None:
    dep.status, dep.complete_time = "Succeeded", now
    sim["terminationLeft"], sim["terminated"] = 0, True


def _fail(dep: DeploymentInfo, sim: dict, now, code: str, message: str, diagnostic: str) -> None:
    event = sim["events"][sim["index"]]
    event.update({"status": "Failed", "endTime": now, "startTime": event.get("startTime") or now,
                  "diagnostics": {"errorCode": "UnknownError", "scriptName": "", "message": diagnostic,
                                  "logTail": ""}})
    for later in sim["events"][sim["index"] + 1:]:
        later["status"] = "Skipped"
    dep.status, dep.complete_time = "Failed", now
    sim["error"] = {"code": code, "message": message}
    if _rollback_on(dep, "DEPLOYMENT_FAILURE"):
        _start_rollback(dep, sim, f"the deployment failed at {event['lifecycleEventName']}")


def _start_rollback(dep: DeploymentInfo, sim: dict, why: str) -> Optional[DeploymentInfo]:
    """A rollback deployment rerouting traffic back to the task definition the service had before `dep`."""
    backend = sim["backend"]
    previous = sim["previousTaskDefinition"]
    if not previous:
        sim["rollbackInfo"] = {"rollbackMessage": "No previous task definition to roll back to."}
        return None
    plan = {**sim["plan"], "taskDefinition": previous, "hooks": []}
    content = json.dumps({"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
        "TaskDefinition": previous,
        "LoadBalancerInfo": {"ContainerName": plan["containerName"], "ContainerPort": plan["containerPort"]}}}}]})
    revision = {"revisionType": "AppSpecContent",
                "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()}}
    rollback = DeploymentInfo(dep.application, dep.deployment_group, revision, DEFAULT_CONFIG,
                              f"autoRollback of deployment {dep.deployment_id}: {why}", None, None,
                              {"enabled": False}, None, None, None, "codeDeployRollback")
    _register(backend, rollback)
    current = _ecs(backend).services.get(sim["targetId"])
    rollback_sim = _new_sim(backend, rollback, plan, ROLLBACK_EVENTS, {"mode": "ok", "terminationSteps": 0},
                            DEFAULT_CONFIG, current.task_definition if current is not None else None)
    rollback_sim["rollbackOf"] = dep.deployment_id
    rollback_sim["rollbackInfo"] = {"rollbackTriggeringDeploymentId": dep.deployment_id,
                                    "rollbackMessage": f"Rolling back deployment {dep.deployment_id}: {why}."}
    rollback._convoy_sim = rollback_sim
    sim["rollbackInfo"] = {"rollbackDeploymentId": rollback.deployment_id,
                           "rollbackMessage": f"Deployment {dep.deployment_id} is rolled back by deployment "
                                              f"{rollback.deployment_id} ({why})."}
    return rollback


# ---------------------------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------------------------

_orig_deployment_info = cd_responses._deployment_info


def _target_status(dep: DeploymentInfo) -> str:
    return {"Created": "Pending", "Queued": "Pending", "Baking": "InProgress", "Stopped": "Failed"}.get(
        dep.status, dep.status)


def _deployment_info(dep: DeploymentInfo) -> dict:
    info = _orig_deployment_info(dep)
    sim = _sim(dep)
    if sim is None:
        return info
    overview = {"Pending": 0, "InProgress": 0, "Succeeded": 0, "Failed": 0, "Skipped": 0, "Ready": 0}
    overview[_target_status(dep)] += 1
    info.update({
        "deploymentConfigName": sim["config"], "description": dep.description, "deploymentOverview": overview,
        "errorInformation": sim["error"], "rollbackInfo": sim["rollbackInfo"],
        "instanceTerminationWaitTimeStarted": bool(dep.instance_termination_wait_time_started),
        "deploymentStyle": dep.deployment_group.deployment_style or {"deploymentType": "BLUE_GREEN",
                                                                     "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "targetInstances": None,
    })
    # AWS leaves out what does not apply; moto answers {} for its TODOs
    return {k: v for k, v in info.items() if v is not None and v != {}}


def _task_sets(dep: DeploymentInfo, sim: dict) -> list[dict]:
    svc = _ecs(sim["backend"]).services.get(sim["targetId"])
    desired = svc.desired_count if svc is not None else 0
    names = _target_groups(dep.deployment_group)
    weight = _weight(sim)
    shifted = sim["shifted"] >= len(sim["steps"])  # production traffic is on the replacement task set
    blue_running = 0 if sim["terminated"] else desired
    blue = {"identifer": sim["blueId"], "desiredCount": 0 if sim["terminated"] else desired, "pendingCount": 0,
            "runningCount": blue_running, "status": "ACTIVE" if shifted else "PRIMARY",
            "trafficWeight": 100.0 - weight, "taskSetLabel": "Blue"}
    sets = [blue]
    install = next((e for e in sim["events"] if e["lifecycleEventName"] in ("Install", "AllowTraffic")), None)
    if install is not None and install["status"] != "Pending":
        ready = install["status"] == "Succeeded" or install["lifecycleEventName"] == "AllowTraffic"
        sets.append({"identifer": sim["greenId"], "desiredCount": desired, "pendingCount": 0 if ready else desired,
                     "runningCount": desired if ready else 0, "status": "PRIMARY" if shifted else "ACTIVE",
                     "trafficWeight": weight, "taskSetLabel": "Green"})
    for task_set, name in zip(sets, names):
        if name:
            task_set["targetGroup"] = {"name": name}
    return sets


def _ecs_target(dep: DeploymentInfo, sim: dict) -> dict:
    svc = _ecs(sim["backend"]).services.get(sim["targetId"])
    events = []
    for event in sim["events"]:
        events.append({k: v for k, v in event.items() if v is not None})
    target = {"deploymentId": dep.deployment_id, "targetId": sim["targetId"], "lastUpdatedAt": sim["updated"],
              "lifecycleEvents": events, "status": _target_status(dep), "taskSetsInfo": _task_sets(dep, sim)}
    if svc is not None:
        target["targetArn"] = svc.arn
    return target


# ---------------------------------------------------------------------------------------------------------------
# Patched moto: backends
# ---------------------------------------------------------------------------------------------------------------

_orig_create_deployment = CodeDeployBackend.create_deployment
_CREATE_SIGNATURE = inspect.signature(_orig_create_deployment)
_orig_create_deployment_group = CodeDeployBackend.create_deployment_group
_orig_list_deployments = CodeDeployBackend.list_deployments


def _create_deployment(self: CodeDeployBackend, *args, **kwargs) -> str:
    bound = _CREATE_SIGNATURE.bind(self, *args, **kwargs)
    bound.apply_defaults()
    a = bound.arguments
    app = self.applications.get(a["application_name"])
    group = self.deployment_groups.get(a["application_name"], {}).get(a["deployment_group_name"] or "")
    if app is None or group is None or app.compute_platform != "ECS":
        return _orig_create_deployment(*bound.args, **bound.kwargs)  # moto's errors, or another platform
    with _LOCK:
        config = _config_name(group, a["deployment_config_name"])
        _target(group)
        plan = parse_appspec(_revision_content(self, a["revision"]))
        for other in self.deployments.values():
            if other.deployment_group is group and other.status in ACTIVE:
                raise CodeDeployError("DeploymentLimitExceededException",
                                      f"The Deployment Group '{group.deployment_group_name}' already has an active "
                                      f"Deployment '{other.deployment_id}'")
        dep = self.deployments[_orig_create_deployment(*bound.args, **bound.kwargs)]
        _register(self, dep)
        deployment_id = dep.deployment_id
        dep.deployment_config_name = config
        fault = ARMED.pop(_armed_key(self.account_id, self.region_name, app.application_name,
                                     group.deployment_group_name), {"mode": "ok"})
        cluster, service = _target(group)
        svc = _ecs(self).services.get(f"{cluster}:{service}")
        dep._convoy_sim = _new_sim(self, dep, plan, ECS_EVENTS, fault, config,
                                   svc.task_definition if svc is not None else None)
        return deployment_id


def _create_deployment_group(self: CodeDeployBackend, application_name: str, deployment_group_name: str,
                             deployment_config_name: Optional[str], *args, **kwargs) -> str:
    app = self.applications.get(application_name)
    if not deployment_config_name and app is not None and app.compute_platform == "ECS":
        deployment_config_name = DEFAULT_CONFIG  # moto would say CodeDeployDefault.OneAtATime, a server config
    return _orig_create_deployment_group(self, application_name, deployment_group_name, deployment_config_name,
                                         *args, **kwargs)


def _list_deployments(self: CodeDeployBackend, application_name, deployment_group_name, external_id,
                      include_only_statuses, create_time_range) -> list[str]:
    if bool(application_name) != bool(deployment_group_name):  # moto's own errors
        return _orig_list_deployments(self, application_name, deployment_group_name, external_id,
                                      include_only_statuses, create_time_range)
    if application_name and application_name not in self.applications:
        raise CodeDeployError("ApplicationDoesNotExistException",
                              f"The application {application_name} does not exist with the user or AWS account.")
    if application_name and deployment_group_name and deployment_group_name not in self.deployment_groups.get(
            application_name, {}):
        raise CodeDeployError("DeploymentGroupDoesNotExistException",
                              f"The deployment group {deployment_group_name} does not exist with the user or AWS "
                              "account.")
    for status in include_only_statuses or []:
        if status not in STATUSES:
            raise CodeDeployError("InvalidDeploymentStatusException", f"Invalid deployment status: {status}")
    with _LOCK:
        ids = _orig_list_deployments(self, application_name, deployment_group_name, external_id,
                                     include_only_statuses, create_time_range)
    return list(reversed(ids))  # moto keeps creation order; CodeDeploy answers newest first


# ---------------------------------------------------------------------------------------------------------------
# Patched moto: responses (progress, and the actions moto lacks)
# ---------------------------------------------------------------------------------------------------------------

_orig_get_deployment = CodeDeployResponse.get_deployment
_orig_batch_get_deployments = CodeDeployResponse.batch_get_deployments


def _get_deployment(self: CodeDeployResponse):
    with _LOCK:
        dep = self.codedeploy_backend.deployments.get(self._get_param("deploymentId") or "")
        if dep is not None:
            _advance(dep, set())
        return _orig_get_deployment(self)


def _batch_get_deployments(self: CodeDeployResponse):
    with _LOCK:
        seen: set = set()
        for deployment_id in self._get_param("deploymentIds") or []:
            dep = self.codedeploy_backend.deployments.get(deployment_id)
            if dep is not None:
                _advance(dep, seen)
        return _orig_batch_get_deployments(self)


def _deployment(self: CodeDeployResponse) -> DeploymentInfo:
    deployment_id = self._get_param("deploymentId")
    if not deployment_id:
        raise CodeDeployError("DeploymentIdRequiredException", "Deployment ID is required.")
    return self.codedeploy_backend.get_deployment(deployment_id)


def _stop_deployment(self: CodeDeployResponse):
    from moto.core.responses import ActionResult

    with _LOCK:
        dep = _deployment(self)
        if dep.status not in ACTIVE:
            raise CodeDeployError("DeploymentAlreadyCompletedException",
                                  f"The deployment {dep.deployment_id} has already completed.")
        now = utcnow()
        dep.status, dep.complete_time = "Stopped", now
        sim = _sim(dep)
        message = (f"Deployment of application {dep.application_name} on deployment group "
                   f"{dep.deployment_group_name} stopped")
        if sim is None:
            return ActionResult({"status": "Succeeded", "statusMessage": message})
        sim["updated"] = now
        for event in sim["events"][sim["index"]:]:
            if event["status"] == "InProgress":
                event.update({"status": "Failed", "endTime": now,
                              "diagnostics": {"errorCode": "UnknownError", "message": "The deployment was stopped."}})
            else:
                event["status"] = "Skipped"
        sim["error"] = {"code": "MANUAL_STOP", "message": "The deployment was stopped by the user."}
        enabled = self._get_param("autoRollbackEnabled")
        rollback = None
        if enabled is True or (enabled is None and _rollback_on(dep, "DEPLOYMENT_STOP_ON_REQUEST")):
            rollback = _start_rollback(dep, sim, "the deployment was stopped")
        if rollback is not None:
            return ActionResult({"status": "Pending", "statusMessage": f"{message}; rolling back with deployment "
                                                                       f"{rollback.deployment_id}"})
        return ActionResult({"status": "Succeeded", "statusMessage": message})


def _continue_deployment(self: CodeDeployResponse):
    from moto.core.responses import EmptyResult

    with _LOCK:
        dep = _deployment(self)
        wait = self._get_param("deploymentWaitType") or "READY_WAIT"
        if wait not in ("READY_WAIT", "TERMINATION_WAIT"):
            raise CodeDeployError("InvalidDeploymentWaitTypeException", f"Invalid deployment wait type: {wait}")
        if dep.status not in ACTIVE:
            raise CodeDeployError("DeploymentAlreadyCompletedException",
                                  f"The deployment {dep.deployment_id} has already completed.")
        sim = _sim(dep)
        if sim is None:
            raise CodeDeployError("UnsupportedActionForDeploymentTypeException",
                                  "ContinueDeployment applies to blue/green deployments only.")
        if wait == "READY_WAIT":
            if dep.status != "Ready":
                raise CodeDeployError("DeploymentIsNotInReadyStateException",
                                      f"The deployment {dep.deployment_id} is not in a ready state.")
            dep.status, sim["waiting"], sim["updated"] = "InProgress", None, utcnow()
        else:
            if not sim["terminating"]:
                raise CodeDeployError("DeploymentIsNotInReadyStateException",
                                      f"The deployment {dep.deployment_id} is not waiting to terminate the "
                                      "original task set.")
            _succeed(dep, sim, utcnow())
        return EmptyResult()


def _ecs_deployment(self: CodeDeployResponse) -> tuple[DeploymentInfo, dict]:
    dep = _deployment(self)
    sim = _sim(dep)
    if sim is None:
        raise CodeDeployError("UnsupportedActionForDeploymentTypeException",
                              "The simulator only knows ECS deployment targets.")
    return dep, sim


def _get_deployment_target(self: CodeDeployResponse):
    from moto.core.responses import ActionResult

    with _LOCK:
        dep, sim = _ecs_deployment(self)
        target_id = self._get_param("targetId")
        if not target_id:
            raise CodeDeployError("DeploymentTargetIdRequiredException", "A deployment target ID is required.")
        if target_id != sim["targetId"]:
            raise CodeDeployError("DeploymentTargetDoesNotExistException",
                                  f"The deployment target {target_id} does not exist in deployment "
                                  f"{dep.deployment_id} (its target is {sim['targetId']}).")
        _advance(dep, set())
        return ActionResult({"deploymentTarget": {"deploymentTargetType": "ECSTarget",
                                                  "ecsTarget": _ecs_target(dep, sim)}})


def _batch_get_deployment_targets(self: CodeDeployResponse):
    from moto.core.responses import ActionResult

    with _LOCK:
        dep, sim = _ecs_deployment(self)
        target_ids = self._get_param("targetIds") or []
        if not target_ids:
            raise CodeDeployError("DeploymentTargetIdRequiredException", "A deployment target ID is required.")
        if len(target_ids) > 25:
            raise CodeDeployError("DeploymentTargetListSizeExceededException",
                                  "The maximum number of targets that can be requested is 25.")
        for target_id in target_ids:
            if target_id != sim["targetId"]:
                raise CodeDeployError("DeploymentTargetDoesNotExistException",
                                      f"The deployment target {target_id} does not exist in deployment "
                                      f"{dep.deployment_id} (its target is {sim['targetId']}).")
        _advance(dep, set())
        target = {"deploymentTargetType": "ECSTarget", "ecsTarget": _ecs_target(dep, sim)}
        return ActionResult({"deploymentTargets": [target for _ in target_ids]})


def _list_deployment_targets(self: CodeDeployResponse):
    from moto.core.responses import ActionResult

    with _LOCK:
        _dep, sim = _ecs_deployment(self)
        return ActionResult({"targetIds": [sim["targetId"]]})


# ---------------------------------------------------------------------------------------------------------------
# Patched moto: ECS UpdateService on a CODE_DEPLOY service
# ---------------------------------------------------------------------------------------------------------------


def refuse_code_deploy_update(backend: EC2ContainerServiceBackend, props: dict) -> None:
    """Raises ECS's InvalidParameterException when UpdateService `props` (moto's snake_case) would change the task
    definition of a CODE_DEPLOY service; reads `props` without changing it."""
    cluster = (props.get("cluster") or "default").split("/")[-1]
    name = (props.get("service") or "").split("/")[-1]
    svc = backend.services.get(f"{cluster}:{name}")
    if svc is None or (svc.deployment_controller or {}).get("type") != "CODE_DEPLOY":
        return
    wanted = props.get("task_definition")
    if not wanted:
        return
    try:
        wanted_arn = backend.describe_task_definition(wanted).arn
    except Exception:
        return  # moto answers the missing task definition itself
    try:
        current_arn = backend.describe_task_definition(svc.task_definition).arn if svc.task_definition else None
    except Exception:
        current_arn = svc.task_definition
    if wanted_arn != current_arn:
        raise InvalidParameterException(TASK_DEFINITION_MESSAGE)


def _guard(update_service):
    def update_service_refusing_code_deploy(self, props):
        refuse_code_deploy_update(self, props)
        return update_service(self, props)

    update_service_refusing_code_deploy._convoy_codedeploy_guard = True
    return update_service_refusing_code_deploy


def _guard_response(update_service):
    # The same check one layer up, so it holds even if the backend method is re-patched after install()
    def update_service_response_refusing_code_deploy(self):
        props = {camelcase_to_underscores(k): v for k, v in self._get_params().items()}
        refuse_code_deploy_update(self.ecs_backend, props)
        return update_service(self)

    update_service_response_refusing_code_deploy._convoy_codedeploy_guard = True
    return update_service_response_refusing_code_deploy


# ---------------------------------------------------------------------------------------------------------------
# Control endpoints
# ---------------------------------------------------------------------------------------------------------------


def _armed_key(account: str, region: str, application: str, group: str) -> str:
    return f"{account}/{region}/{application}/{group}"


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status=status, content_type="application/json")


def _arm(body: dict) -> Response:
    mode = body.get("mode", "ok")
    if mode not in ("ok", "fail", "stuck"):
        return _json({"error": f"unknown mode {mode!r}: ok|fail|stuck"}, 400)
    if not body.get("application") or not body.get("deploymentGroup"):
        return _json({"error": "application and deploymentGroup are required"}, 400)
    event = body.get("event", DEFAULT_FAULT_EVENT)
    if event not in ECS_EVENTS:
        return _json({"error": f"unknown lifecycle event {event!r}: {'|'.join(ECS_EVENTS)}"}, 400)
    fault: dict[str, Any] = {"mode": mode, "event": event}
    if body.get("message"):
        fault["message"] = str(body["message"])
    if "terminationSteps" in body:
        try:
            fault["terminationSteps"] = max(0, int(body["terminationSteps"]))
        except (TypeError, ValueError):
            return _json({"error": f"terminationSteps must be an integer, not {body['terminationSteps']!r}"}, 400)
    key = _armed_key(body.get("account", ACCOUNT), body.get("region", REGION), body["application"],
                     body["deploymentGroup"])
    with _LOCK:
        ARMED[key] = fault
    return _json({"armed": f"{body['application']}/{body['deploymentGroup']}", **fault})


def _stats(body: dict) -> Response:
    backend = codedeploy_backends[body.get("account", ACCOUNT)][body.get("region", REGION)]
    rows = []
    with _LOCK:
        for dep in backend.deployments.values():
            sim = _sim(dep) or {}
            events = sim.get("events") or []
            current = events[min(sim.get("index", 0), len(events) - 1)] if events else {}
            rows.append({"deploymentId": dep.deployment_id, "application": dep.application_name,
                         "deploymentGroup": dep.deployment_group_name, "status": dep.status,
                         "event": current.get("lifecycleEventName"), "eventStatus": current.get("status"),
                         "trafficWeight": _weight(sim) if sim else None,
                         "taskDefinition": (sim.get("plan") or {}).get("taskDefinition"),
                         "description": dep.description, "creator": dep.creator,
                         "fault": (sim.get("fault") or {}).get("mode")})
    return _json(rows)


def handle_control(path: str, method: str, body: dict) -> Optional[Response]:
    """The answer to a control request of this simulator, or None: not one of ours (for /_fault/reset: ours is
    done, moto_server's own reset must run too)."""
    if path == "/_stats/codedeploy" and method == "GET":
        return _stats(body)
    if path == "/_fault/codedeploy/arm" and method == "POST":
        return _arm(body)
    if path == "/_fault/reset" and method == "POST":
        reset()
    return None


def reset() -> None:
    with _LOCK:
        ARMED.clear()


# ---------------------------------------------------------------------------------------------------------------
# Installation
# ---------------------------------------------------------------------------------------------------------------


def install(lock: Any = None) -> None:
    """Patches moto. Call after moto_server's own ECS patches: UpdateService's guard wraps whatever
    EC2ContainerServiceBackend.update_service is then, so both apply. Idempotent."""
    global _LOCK, _INSTALLED
    if lock is not None:
        _LOCK = lock
    if not getattr(EC2ContainerServiceBackend.update_service, "_convoy_codedeploy_guard", False):
        EC2ContainerServiceBackend.update_service = _guard(EC2ContainerServiceBackend.update_service)
    if not getattr(EC2ContainerServiceResponse.update_service, "_convoy_codedeploy_guard", False):
        EC2ContainerServiceResponse.update_service = _guard_response(EC2ContainerServiceResponse.update_service)
    if _INSTALLED:
        return
    _INSTALLED = True
    cd_responses._deployment_info = _deployment_info  # the response methods look the name up at call time
    CodeDeployBackend.create_deployment = _create_deployment
    CodeDeployBackend.create_deployment_group = _create_deployment_group
    CodeDeployBackend.list_deployments = _list_deployments
    CodeDeployResponse.get_deployment = _get_deployment
    CodeDeployResponse.batch_get_deployments = _batch_get_deployments
    CodeDeployResponse.stop_deployment = _stop_deployment
    CodeDeployResponse.continue_deployment = _continue_deployment
    CodeDeployResponse.get_deployment_target = _get_deployment_target
    CodeDeployResponse.list_deployment_targets = _list_deployment_targets
    CodeDeployResponse.batch_get_deployment_targets = _batch_get_deployment_targets
