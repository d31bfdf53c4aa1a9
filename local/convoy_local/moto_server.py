"""moto server with an ECS rollout simulator, fault injection and call counters, in one process.

    python local/moto_server.py [--port 5000] [--host 127.0.0.1] [--sfn-engine] [--exit-with-parent] [--quiet]
    (or, with PYTHONPATH=local: python -m convoy_local.moto_server ...)

Serves the normal moto API. `--port 0` picks a free port. Once listening, prints exactly one line to stdout:
    convoy-moto listening on http://127.0.0.1:PORT

It patches moto internals (EC2ContainerServiceBackend.update_service / describe_services, CreateService's
response, the ECS Task model, RunTask / DescribeTasks / StopTask / ListTasks: convoy_local/job_sim.py, the
EventBridge Scheduler responses and models: convoy_local/scheduler_sim.py, EventBridge PutEvents delivery:
convoy_local/events_sim.py), so it refuses to start on any moto but
the pinned one (convoy_local/moto_pin.py, local/requirements.txt).

Why: moto never rolls an ECS deployment forward (UpdateService keeps the old task definition IN_PROGRESS for
ever) and has no way to make one fail, so the release's wait/verdict/rollback paths could not run locally.

ECS rollout simulator
  UpdateService with a new task definition, or with forceNewDeployment, creates a new PRIMARY deployment
  (rolloutState IN_PROGRESS, runningCount 0); the previous deployments become ACTIVE. Every DescribeServices
  that includes the service advances its rollout by one step; after `steps` (default 2) it is COMPLETED,
  running == desired, and the old deployments are drained. The service's taskDefinition is always the ARN.
  UpdateService's deploymentConfiguration, when given, REPLACES the stored one (no merge: without `strategy`
  the service is ROLLING again); CreateService's is merged over maximumPercent 200 / minimumHealthyPercent 100.

ECS service deployments (moto 5.2.5 has none: it answers HTTP 500 to these actions)
  Services of the ECS deployment controller get service deployment records, as on AWS: CreateService one already
  SUCCESSFUL, every UpdateService that starts a rollout a new one (a still unfinished one becomes STOPPED), with
  a new target service revision (its taskDefinition) and the previous revision as source. The service answers
  currentServiceDeployment (the newest) and currentServiceRevisions. ARNs:
    arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID, .../service-revision/CLUSTER/SERVICE/ID
  A service's strategy is deploymentConfiguration.strategy (default ROLLING), taken when the rollout starts.
  ROLLING: the record follows the rollout simulator above: IN_PROGRESS, then SUCCESSFUL when it completes;
    a circuit-breaker failure makes it STOPPED (statusReason = the circuit-breaker reason, deploymentCircuitBreaker
    TRIGGERED), or with mode rollback ROLLBACK_IN_PROGRESS (rollback{reason, startedAt, serviceRevisionArn =
    the source}) then ROLLBACK_SUCCESSFUL when the rollback deployment completes.
  BLUE_GREEN, LINEAR, CANARY: driven by lifecycle stages instead of `steps`, one stage per advance (an advance:
    a DescribeServices that includes the service, or a DescribeServiceDeployments that includes the record; at
    most one per call and record). PENDING until the first advance, then IN_PROGRESS through RECONCILE_SERVICE,
    PRE_SCALE_UP, SCALE_UP, POST_SCALE_UP, TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT
    (LINEAR: ceil(100 / linearConfiguration.stepPercent (default 10)) advances, CANARY: 2 (canaryPercent, default
    10, then 100), else 1; targetServiceRevision.requestedProductionTrafficWeight grows), POST_PRODUCTION_
    TRAFFIC_SHIFT, BAKE_TIME (bakeSteps advances, default 2: bake minutes are not waited for), CLEAN_UP, then
    SUCCESSFUL (lifecycleStage stays CLEAN_UP). Both revisions run from POST_SCALE_UP (target scales up at
    SCALE_UP) until CLEAN_UP drains the source, so the PRIMARY deployment's running == desired during BAKE_TIME
    while it is still IN_PROGRESS (the ACTIVE old one keeps its tasks; the service's runningCount counts both).
    On SUCCESSFUL the DescribeServices view is the rolling one's: only the new deployment, COMPLETED.
    A failing stage (armed fail|rollback) or StopServiceDeployment ROLLBACK rolls back: ROLLBACK_IN_PROGRESS
    (lifecycleStage stays), the service's taskDefinition is the source's again, its deployment PRIMARY
    IN_PROGRESS and ours ACTIVE FAILED; ROLLBACK_SUCCESSFUL 2 advances later (the source deployment COMPLETED,
    alone). ROLLOUTS (GET /_stats/rollouts) gets FAILED for ours, then COMPLETED for the source's, as with rolling.
  ECS actions answered here (after call counting, /_fault/error, /_fault/throttle and the buckets, so those apply):
    ListServiceDeployments {cluster?, service, status?[], createdAt?{before?, after?}, maxResults? (1..100,
        default 20), nextToken?} -> {serviceDeployments: [ServiceDeploymentBrief], nextToken?}, newest first;
        ClusterNotFoundException, ServiceNotFoundException (HTTP 400). It does not advance anything.
    DescribeServiceDeployments {serviceDeploymentArns (1..20, else InvalidParameterException)}
        -> {serviceDeployments, failures: [{arn, reason: "MISSING"}]}
    DescribeServiceRevisions {serviceRevisionArns (1..20)} -> {serviceRevisions, failures}
    StopServiceDeployment {serviceDeploymentArn, stopType?: ROLLBACK (default) | ABORT} -> {serviceDeploymentArn}
        only while PENDING or IN_PROGRESS, else ConflictException "The service deployment is not in a state that
        can be stopped"; an unknown ARN: ServiceDeploymentNotFoundException.
        ROLLBACK: ROLLBACK_REQUESTED, then ROLLBACK_IN_PROGRESS and ROLLBACK_SUCCESSFUL on the next advances
          (ROLLING: the rolling rollback at once, a new PRIMARY on the previous task definition, `steps`
          describes; the record follows it). ABORT: STOP_REQUESTED, then STOPPED on the next advance; the task
          definition stays, the deployment's rolloutState becomes FAILED.

Endpoints (JSON in, JSON out)
  POST /_fault/ecs/arm      {cluster, service, mode: ok|fail|stuck|rollback, failedTasks?, steps?, reason?,
                             rolloutStateReason?, stage?, bakeSteps?}
        Arms the NEXT rollout of that service (consumed by the UpdateService that starts it, so a later
        rollback of the same service rolls out normally). For ROLLING services:
        fail:     the deployment ends FAILED with the circuit-breaker reason, failedTasks (default 3) and as
                  many STOPPED tasks (startedBy = deployment id, stoppedReason = reason).
        rollback: like fail, then the circuit breaker rolls back: a new PRIMARY deployment on the previous
                  task definition (which becomes the service's again) completes after `steps` more describes.
        stuck:    stays IN_PROGRESS for ever.
        ok:       completes, after `steps` describes.
        For BLUE_GREEN / LINEAR / CANARY services (`stage`: a lifecycle stage name, else HTTP 400 naming it):
        fail, rollback: the lifecycle hook fails on entering `stage` (default POST_TEST_TRAFFIC_SHIFT) and ECS
                  rolls back by itself: statusReason "lifecycle hook failed at STAGE: REASON", rollback.reason
                  REASON (`reason`, default "lifecycle hook returned FAILED").
        stuck:    never leaves `stage` (default BAKE_TIME).
        ok:       SUCCESSFUL after the stages. `bakeSteps` overrides the default BAKE_TIME advances.
  POST /_fault/ecs/service  {cluster, service, runningCount?, pendingCount?, desiredCount?, failedTasks?,
                             rolloutState?, rolloutStateReason?, syncDeploymentTaskDefinition?}
        Sets fields of the service and of its PRIMARY deployment directly.
  POST /_fault/throttle     {operation, count, match?}  the next `count` calls of `operation` ("RegisterTaskDefinition"
                             for any service, or "ecs.RegisterTaskDefinition") answer ThrottlingException.
  POST /_fault/error        {operation, count, match?, code?, message?, status?, after?}  the next `count` calls of
                             `operation` whose body contains `match` answer that error (default ClientException,
                             HTTP 400), e.g. to fail one service's UpdateService. With `after: true` the call is
                             handled first (its effect stays) and only its answer is replaced by the error: an
                             answer lost on the way back, which a caller retrying the call must survive.
        Operations are told by X-Amz-Target (JSON protocols), Action= (query protocols) and, for the REST-JSON
        services of REST_ROUTES (EventBridge Scheduler: "scheduler.GetSchedule", "scheduler.UpdateSchedule",
        CreateSchedule, DeleteSchedule, ListSchedules, Get/Create/Delete/ListScheduleGroup(s), ListTagsForResource,
        TagResource, UntagResource), by method and path; there `match` also sees the path and query
        ("/schedules/NAME?groupName=GROUP"). Errors are answered in the service's protocol: JSON ones HTTP 400 (or
        `status`), {"__type", "message"}; REST-JSON ones the code's modelled status (ThrottlingException 429,
        ConflictException 409, ResourceNotFoundException 404, ValidationException 400, InternalServerException 500)
        unless `status` is given, {"Message"}, and x-amzn-ErrorType in both; /_fault/error's default code there is
        ValidationException. Other REST services (S3, Lambda) are neither counted nor faulted.
  POST /_fault/ecs/defaults {steps?, bakeSteps?}  describes every unarmed rolling rollout needs before it completes
                             (default 2); advances BAKE_TIME takes (default 2). Answers both.
  POST /_fault/buckets      {enabled?, rateScale?, burstScale?}  ECS-like token buckets per account (task definition
                             modify 20 burst + 1/s, service modify 50 + 5/s (StopServiceDeployment too), service
                             read 100 + 20/s (the service deployment reads too); rates and bursts multiplied by the
                             scales): a call finding its bucket empty answers ThrottlingException, as ECS does.
                             Off by default. ECS only: Scheduler calls have no bucket (use /_fault/throttle).
  POST /_fault/codedeploy/arm {application, deploymentGroup, mode: ok|fail|stuck, event?, message?,
                             terminationSteps?}  arms the NEXT CreateDeployment of that CodeDeploy deployment group
                             (convoy_local/codedeploy_sim.py, the CodeDeploy blue/green simulator for CODE_DEPLOY
                             services, says how deployments progress): fail/stuck at lifecycle `event` (default
                             AfterAllowTestTraffic; an unknown one: HTTP 400 naming it). /_fault/reset disarms it.
  POST /_fault/job {family, mode: ok|exit|stuck|failToStart, exitCode?, container?, reason?, stoppedReason?,
                             polls?, count?}  how the tasks RunTask starts from that family end, until
                             POST /_fault/job/clear {family?} or /_fault/reset (convoy_local/job_sim.py, the
                             simulator of one-off tasks, says how they progress); POST /_fault/job/defaults {polls?}
                             (RUNNING describes, default 2); GET /_stats/jobs lists the job tasks.
  POST /_fault/reset        clears armed faults, throttles, errors, buckets, default steps and bakeSteps, job faults
                             and job defaults (not rollouts or tasks under way). POST /moto-api/reset clears moto's
                             state, every service deployment and revision, and the RunTask client tokens;
                             CreateService forgets the records of an earlier service of that cluster and name.
  POST /_seed/network       -> {vpcId, subnetIds, securityGroupId}; seeded once, re-seeded after a moto reset.
  GET  /_stats/calls        -> {"ecs.RegisterTaskDefinition": 3, ...} every request received (throttled ones too)
  GET  /_stats/throttled    -> {"ecs.RegisterTaskDefinition": 7, ...} calls answered by an empty bucket
  GET  /_stats/rollouts     -> [{cluster, service, deploymentId, state: COMPLETED|FAILED, at: unix seconds}, ...]
                             when the simulator moved each rollout to a terminal state
  GET  /_stats/service-deployments -> [{cluster, service, strategy, ...the ServiceDeployment fields}, ...] every
                             record, oldest first per service, as it is (reading it advances nothing)
  GET  /_stats/codedeploy   -> [{deploymentId, application, deploymentGroup, status, event, eventStatus, trafficWeight,
                             taskDefinition, description, creator, fault}, ...] CodeDeploy deployments, oldest first
  POST /_stats/reset        zeroes the counters and forgets the rollout records.
"""

import argparse
import copy
import io
import json
import math
import os
import re
import sys
import threading
import time
from typing import Any, Optional

from convoy_local.control import ACCOUNT, REGION
from convoy_local.moto_pin import require_pinned_moto
from convoy_local.serve import serve_until_interrupted

require_pinned_moto()  # before the internals below are imported and patched

from moto.core.config import default_user_config  # noqa: E402
from moto.core.utils import utcnow  # noqa: E402
from moto.ec2.models import ec2_backends  # noqa: E402
from moto.ecs.models import EC2ContainerServiceBackend, Task  # noqa: E402
from moto.ecs.responses import EC2ContainerServiceResponse  # noqa: E402
from moto.moto_api import state_manager  # noqa: E402
from moto.moto_api._internal import mock_random  # noqa: E402
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402

from convoy_local import codedeploy_sim, events_sim, job_sim, scheduler_sim  # noqa: E402

DEFAULT_STEPS = 2
DEFAULT_BAKE_STEPS = 2
CIRCUIT_BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start."
DEFAULT_STOPPED_REASON = "Essential container in task exited"

LOCK = threading.RLock()
ARMED: dict[str, dict[str, Any]] = {}  # "cluster:service" -> fault for the next rollout
# Armed error answers, first match wins: {operation, count (calls left), match (body substring), code, message, status}
ERRORS: list[dict[str, Any]] = []
CALLS: dict[str, int] = {}  # "ecs.RegisterTaskDefinition" -> requests received
THROTTLED: dict[str, int] = {}  # "ecs.RegisterTaskDefinition" -> requests answered by an empty bucket
ROLLOUTS: list[dict[str, Any]] = []  # terminal rollout transitions, in order: {cluster, service, ..., at}
SIM = {"steps": DEFAULT_STEPS, "bakeSteps": DEFAULT_BAKE_STEPS}  # describes a rolling rollout needs; BAKE_TIME advances
NETWORK: dict[str, Any] = {}
# S3 applies a conditional write (If-None-Match / If-Match) atomically; moto checks, then writes, so two
# concurrent requests could both pass the check. Conditional writes go through here one at a time.
CONDITIONAL_WRITES = threading.Lock()

# ---------------------------------------------------------------------------------------------------------------
# ECS rollout simulator
# ---------------------------------------------------------------------------------------------------------------

_orig_update_service = EC2ContainerServiceBackend.update_service
_orig_describe_services = EC2ContainerServiceBackend.describe_services


def _public(deployment: dict) -> dict:
    return {k: v for k, v in deployment.items() if not k.startswith("_")}


def _new_deployment(svc, template: dict, task_definition: str, fault: dict) -> dict:
    now = utcnow()
    deployment = copy.deepcopy(_public(template))
    deployment.update(
        {
            "id": f"ecs-svc/{mock_random.randint(0, 32 ** 12)}",
            "status": "PRIMARY",
            "taskDefinition": task_definition,
            "desiredCount": svc.desired_count,
            "runningCount": 0,
            "pendingCount": svc.desired_count,
            "failedTasks": 0,
            "rolloutState": "IN_PROGRESS",
            "createdAt": now,
            "updatedAt": now,
            "_sim_step": 0,
            "_sim_fault": fault,
        }
    )
    deployment["rolloutStateReason"] = f"ECS deployment {deployment['id']} in progress."
    return deployment


def _update_service(self, props):
    cluster = (props.get("cluster") or "default").split("/")[-1]
    name = (props.get("service") or "").split("/")[-1]
    before = self.services.get(f"{cluster}:{name}")
    old_td = before.task_definition if before else None
    force = bool(props.get("force_new_deployment"))
    configuration = props.get("deployment_configuration")
    svc = _orig_update_service(self, props)
    # moto stores whatever string the caller passed ("web:3", "web"); ECS answers with the full ARN
    if svc.task_definition:
        svc.task_definition = self.describe_task_definition(svc.task_definition).arn
    if configuration is not None:
        # Replaced as a whole, not merged: a configuration sent without `strategy` makes the service ROLLING,
        # so a client that forgets a field finds out here rather than on AWS.
        svc.deployment_configuration = copy.deepcopy(configuration)
    if svc.deployments and (svc.task_definition != old_td or force):
        with LOCK:
            fault = ARMED.pop(f"{svc.cluster_name}:{svc.name}", {"mode": "ok"})
            for d in svc.deployments:
                d["status"] = "ACTIVE"
            new = _new_deployment(svc, svc.deployments[0], svc.task_definition, fault)
            new["_sim_previous"] = {"taskDefinition": old_td, "id": svc.deployments[0]["id"]}
            svc.deployments.insert(0, new)
            # moto's update_service sets running = desired when scaling; a rollout has not started anything yet
            svc.pending_count = svc.desired_count
            _start_service_deployment(svc, new, old_td, fault)
    return svc


def _stop_failed_tasks(backend, svc, deployment: dict, count: int, reason: str) -> None:
    """Record the tasks the circuit breaker counted, as ECS does: STOPPED, startedBy = the deployment id."""
    try:
        cluster = backend._get_cluster(svc.cluster_name)
        # A bridge-mode copy of the task definition: moto's awsvpc Task creation wants a working ENI model
        # (it fails on NetworkInterface.private_dns_name), and a stopped task needs no network anyway.
        task_definition = copy.copy(backend.describe_task_definition(deployment["taskDefinition"]))
        task_definition.network_mode = "bridge"
        backend.tasks.setdefault(cluster.name, {})
        for _ in range(count):
            task = Task(
                cluster,
                task_definition,
                None,
                None,
                backend=backend,
                group=f"service:{svc.name}",
                launch_type=svc.launch_type or "FARGATE",
                started_by=deployment["id"],
            )
            task.last_status = "STOPPED"
            task.desired_status = "STOPPED"
            task.stopped_reason = reason
            backend.tasks[cluster.name][task.task_arn] = task
    except Exception as exc:  # the verdict still has the deployment's own reason; say why tasks are missing
        print(f"moto_server: could not record stopped tasks for {svc.name}: {exc!r}", file=sys.stderr)


def _complete(svc, deployment: dict) -> None:
    deployment.update(
        {
            "rolloutState": "COMPLETED",
            "runningCount": svc.desired_count,
            "pendingCount": 0,
            "desiredCount": svc.desired_count,
            "updatedAt": utcnow(),
            "rolloutStateReason": f"ECS deployment {deployment['id']} completed.",
        }
    )
    deployment.pop("_sim_step", None)
    svc.deployments[:] = [deployment]
    svc.running_count, svc.pending_count = svc.desired_count, 0


def _advance(backend, svc) -> None:
    if not svc.deployments:
        return
    deployment = svc.deployments[0]
    if deployment.get("rolloutState") != "IN_PROGRESS" or "_sim_step" not in deployment:
        return
    record = _record_of(deployment)
    if record is not None and record["status"] == "STOP_REQUESTED":
        _abort_rolling(svc, deployment, record)
        return
    fault = deployment.get("_sim_fault") or {"mode": "ok"}
    mode = fault.get("mode", "ok")
    deployment["_sim_step"] += 1
    if mode == "stuck" or deployment["_sim_step"] < int(fault.get("steps", SIM["steps"])):
        deployment["pendingCount"] = svc.desired_count
        if record is not None and record["status"] == "ROLLBACK_REQUESTED":
            _set_status(record, "ROLLBACK_IN_PROGRESS")
        return
    if mode == "ok":
        _complete(svc, deployment)
        _record_rollout(svc, deployment, "COMPLETED")
        _rolling_completed(svc, deployment, record)
        return
    # fail / rollback: the circuit breaker trips
    failed = int(fault.get("failedTasks", 3))
    deployment.pop("_sim_step", None)
    deployment.update(
        {
            "rolloutState": "FAILED",
            "failedTasks": failed,
            "runningCount": 0,
            "pendingCount": 0,
            "updatedAt": utcnow(),
            "rolloutStateReason": fault.get("rolloutStateReason", CIRCUIT_BREAKER_REASON),
        }
    )
    _record_rollout(svc, deployment, "FAILED")
    _stop_failed_tasks(backend, svc, deployment, failed, fault.get("reason", DEFAULT_STOPPED_REASON))
    svc.events.insert(0, {"id": str(mock_random.uuid4()), "createdAt": utcnow(),
                          "message": f"(service {svc.name}) (deployment {deployment['id']}) deployment failed: "
                                     "tasks failed to start."})
    previous = deployment.get("_sim_previous") or {}
    rolled_back = mode == "rollback" and bool(previous.get("taskDefinition"))
    if rolled_back:
        _roll_back(svc, deployment, fault,
                   f"ECS deployment circuit breaker: rolling back to deploymentId {previous['id']}.")
    _rolling_failed(deployment, record, failed, rolled_back)


def _roll_back(svc, deployment: dict, fault: dict, reason: str) -> dict:
    """The circuit breaker's (or StopServiceDeployment's) rollback: a new PRIMARY deployment on the previous task
    definition, which becomes the service's again and completes after `steps` more describes."""
    previous = deployment["_sim_previous"]
    deployment["status"] = "ACTIVE"
    deployment["rolloutStateReason"] = reason
    svc.task_definition = previous["taskDefinition"]
    back = _new_deployment(svc, deployment, previous["taskDefinition"], {"mode": "ok", **_steps(fault)})
    if "_sim_sd" in deployment:  # the same service deployment, now rolling back
        back.update({"_sim_sd": deployment["_sim_sd"], "_sim_sd_role": "rollback"})
    svc.deployments.insert(0, back)
    return back


def _record_rollout(svc, deployment: dict, state: str) -> None:
    # The wall-clock moment a poller could first see the outcome: benchmarks compare it with the history.
    ROLLOUTS.append({"cluster": svc.cluster_name, "service": svc.name, "deploymentId": deployment["id"],
                     "state": state, "at": time.time()})


def _steps(fault: dict) -> dict:
    return {"steps": fault["steps"]} if "steps" in fault else {}


def _describe_services(self, cluster_str, names):
    result, failures = _orig_describe_services(self, cluster_str, names)
    with LOCK:
        seen = set()
        for svc in result:
            if id(svc) in seen:  # a service named twice advances once
                continue
            seen.add(id(svc))
            record = _current_record(svc)
            if record is not None and record["_strategy"] != "ROLLING" and record["status"] not in TERMINAL:
                _advance_staged(svc, record)
            else:
                _advance(self, svc)
    return result, failures


# ECS answers every service with its deploymentConfiguration (maximumPercent 200 and minimumHealthyPercent 100
# unless CreateService said otherwise); moto keeps it only once an UpdateService sets it.
DEFAULT_DEPLOYMENT_CONFIGURATION = {"maximumPercent": 200, "minimumHealthyPercent": 100}
_orig_create_service_response = EC2ContainerServiceResponse.create_service


def _create_service_response(self):
    result = _orig_create_service_response(self)
    cluster = (self._get_param("cluster") or "default").split("/")[-1]
    svc = self.ecs_backend.services.get(f"{cluster}:{self._get_param('serviceName')}")
    if svc is not None:
        svc.deployment_configuration = {**DEFAULT_DEPLOYMENT_CONFIGURATION,
                                        **(self._get_param("deploymentConfiguration") or {})}
        with LOCK:
            _first_service_deployment(svc)
    return result


EC2ContainerServiceResponse.create_service = _create_service_response
EC2ContainerServiceBackend.update_service = _update_service
EC2ContainerServiceBackend.describe_services = _describe_services
codedeploy_sim.install(LOCK)  # after the patches above: its UpdateService guard (CODE_DEPLOY services) wraps ours
scheduler_sim.install(LOCK)  # EventBridge Scheduler: UpdateSchedule replaces the schedule whole, validation, AWS errors
job_sim.install(LOCK)  # RunTask, DescribeTasks, StopTask, ListTasks: one-off tasks (jobs) run and exit
events_sim.install()  # PutEvents: schedule-only rules get no put events; undeliverable targets do not fail the call

# ---------------------------------------------------------------------------------------------------------------
# ECS service deployments (ListServiceDeployments, DescribeServiceDeployments, DescribeServiceRevisions,
# StopServiceDeployment) and the ECS-native blue/green strategies (BLUE_GREEN, LINEAR, CANARY)
# ---------------------------------------------------------------------------------------------------------------
# moto has neither: it answers HTTP 500 to these actions and ignores deploymentConfiguration.strategy. Every
# rollout the simulator above starts gets a service deployment record; a ROLLING one follows the rolling
# simulator, a blue/green one is driven here, one lifecycle stage per advance.

STAGES = ("RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
          "POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME",
          "CLEAN_UP")
STAGED_STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")
TERMINAL = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
DEFAULT_FAULT_STAGE = {"fail": "POST_TEST_TRAFFIC_SHIFT", "rollback": "POST_TEST_TRAFFIC_SHIFT", "stuck": "BAKE_TIME"}
DEFAULT_HOOK_REASON = "lifecycle hook returned FAILED"
DEFAULT_LINEAR_STEP_PERCENT = 10.0
DEFAULT_CANARY_PERCENT = 10.0
ROLLBACK_ADVANCES = 2  # advances a blue/green rollback started by a failing stage takes to finish

SERVICE_DEPLOYMENTS: dict[str, dict[str, Any]] = {}  # ARN -> record: the API's fields plus "_" internals
SERVICE_REVISIONS: dict[str, dict[str, Any]] = {}  # ARN -> ServiceRevision
SERVICE_HISTORY: dict[str, list[str]] = {}  # "cluster:service" -> its service deployment ARNs, oldest first


def _service_key(svc) -> str:
    return f"{svc.cluster_name}:{svc.name}"


def _tracked(svc) -> bool:
    # ECS keeps service deployments for the ECS deployment controller only (CODE_DEPLOY and EXTERNAL have their own)
    return (svc.deployment_controller or {}).get("type", "ECS") == "ECS"


def _resource_arn(kind: str, svc) -> str:
    return (f"arn:aws:ecs:{svc.region_name}:{svc._account_id}:{kind}/{svc.cluster_name}/{svc.name}/"
            f"{mock_random.get_random_string(20)}")


def _new_revision(svc, task_definition: Optional[str]) -> str:
    arn = _resource_arn("service-revision", svc)
    revision = {
        "serviceRevisionArn": arn,
        "serviceArn": svc.arn,
        "clusterArn": svc.cluster_arn,
        "taskDefinition": task_definition,
        "launchType": svc.launch_type,
        "platformVersion": svc.platform_version,
        "platformFamily": "EC2" if svc.launch_type == "EC2" else "FARGATE",
        "loadBalancers": copy.deepcopy(svc.load_balancers),
        "networkConfiguration": copy.deepcopy(svc.network_configuration) or None,
        "createdAt": time.time(),
    }
    SERVICE_REVISIONS[arn] = {k: v for k, v in revision.items() if v is not None}
    return arn


def _summary(arn: str, requested: int = 0, running: int = 0, pending: int = 0) -> dict:
    return {"arn": arn, "requestedTaskCount": requested, "runningTaskCount": running, "pendingTaskCount": pending}


def _circuit_breaker(configuration: dict, desired: int) -> dict:
    # ECS's failed-task threshold: half the desired count, at least 3, at most 200
    threshold = min(200, max(3, math.ceil(desired / 2)))
    enabled = bool((configuration.get("deploymentCircuitBreaker") or {}).get("enable"))
    return {"status": "MONITORING" if enabled else "DISABLED", "failureCount": 0, "threshold": threshold}


def _history(svc) -> list[dict]:
    return [SERVICE_DEPLOYMENTS[arn] for arn in SERVICE_HISTORY.get(_service_key(svc), [])]


def _current_record(svc) -> Optional[dict]:
    records = _history(svc)
    return records[-1] if records else None


def _record_of(deployment: dict) -> Optional[dict]:
    record = SERVICE_DEPLOYMENTS.get(deployment.get("_sim_sd", ""))
    return record if record is not None and record["status"] not in TERMINAL else None


def _find_deployment(svc, deployment_id: Optional[str]) -> Optional[dict]:
    return next((d for d in svc.deployments if d.get("id") == deployment_id), None)


def _revision_for(svc, task_definition: Optional[str]) -> Optional[str]:
    """The service's revision of `task_definition` (the newest record naming it as target or source), else new."""
    if not task_definition:
        return None
    for record in reversed(_history(svc)):
        for summary in [record["targetServiceRevision"], *record["sourceServiceRevisions"]]:
            if SERVICE_REVISIONS.get(summary["arn"], {}).get("taskDefinition") == task_definition:
                return summary["arn"]
    return _new_revision(svc, task_definition)


def _set_status(record: dict, status: str, reason: Optional[str] = None) -> None:
    now = time.time()
    record["status"] = status
    record["updatedAt"] = now
    if reason is not None:
        record["statusReason"] = reason
    if status in ("IN_PROGRESS", "ROLLBACK_IN_PROGRESS"):
        record.setdefault("startedAt", now)
    if status in TERMINAL:
        record.setdefault("startedAt", now)
        record["finishedAt"] = now
        if status == "STOPPED":
            record["stoppedAt"] = now
        for monitor in ("deploymentCircuitBreaker", "alarms"):
            if record.get(monitor, {}).get("status") == "MONITORING":
                record[monitor]["status"] = "MONITORING_COMPLETE"


def _new_service_deployment(svc, task_definition: Optional[str], sources: list[str], fault: dict) -> dict:
    now = time.time()
    configuration = copy.deepcopy(getattr(svc, "deployment_configuration", None) or {})
    desired = svc.desired_count
    arn = _resource_arn("service-deployment", svc)
    record = {
        "serviceDeploymentArn": arn,
        "serviceArn": svc.arn,
        "clusterArn": svc.cluster_arn,
        "createdAt": now,
        "updatedAt": now,
        "sourceServiceRevisions": [_summary(source, desired, desired) for source in sources],
        "targetServiceRevision": _summary(_new_revision(svc, task_definition), desired),
        "status": "PENDING",
        "deploymentConfiguration": configuration,
        "deploymentCircuitBreaker": _circuit_breaker(configuration, desired),
        "_key": _service_key(svc),
        "_where": (svc._account_id, svc.region_name),
        "_strategy": configuration.get("strategy") or "ROLLING",
        "_fault": dict(fault),
    }
    alarms = configuration.get("alarms")
    if alarms:
        record["alarms"] = {"status": "MONITORING" if alarms.get("enable") else "DISABLED",
                            "alarmNames": list(alarms.get("alarmNames") or []), "triggeredAlarmNames": []}
    SERVICE_DEPLOYMENTS[arn] = record
    SERVICE_HISTORY.setdefault(record["_key"], []).append(arn)
    svc.current_service_deployment = arn
    return record


def _show_revisions(svc, record: dict) -> None:
    """The service's currentServiceRevisions: the revisions of its newest deployment that have tasks."""
    summaries = [record["targetServiceRevision"], *record["sourceServiceRevisions"]]
    svc.current_service_revisions = [
        {k: s[k] for k in ("arn", "requestedTaskCount", "runningTaskCount", "pendingTaskCount")}
        for s in summaries if s["requestedTaskCount"] or s["runningTaskCount"] or s["pendingTaskCount"]
    ]


def _forget_service(key: str) -> None:
    for arn in SERVICE_HISTORY.pop(key, []):
        record = SERVICE_DEPLOYMENTS.pop(arn, None) or {}
        for summary in [record.get("targetServiceRevision") or {}, *record.get("sourceServiceRevisions", [])]:
            SERVICE_REVISIONS.pop(summary.get("arn"), None)


def _forget_service_deployments() -> None:
    SERVICE_DEPLOYMENTS.clear()
    SERVICE_REVISIONS.clear()
    SERVICE_HISTORY.clear()


def _first_service_deployment(svc) -> None:
    """CreateService: a recreated service starts clean, with one SUCCESSFUL deployment of its first revision."""
    _forget_service(_service_key(svc))
    if not _tracked(svc):
        return
    record = _new_service_deployment(svc, svc.task_definition, [], {"mode": "ok"})
    desired = svc.desired_count
    record["targetServiceRevision"].update(runningTaskCount=desired, pendingTaskCount=0)
    _set_status(record, "SUCCESSFUL")
    if svc.deployments:
        svc.deployments[0]["_sim_sd"] = record["serviceDeploymentArn"]
    _show_revisions(svc, record)


def _start_service_deployment(svc, deployment: dict, old_td: Optional[str], fault: dict) -> None:
    """UpdateService started a rollout (`deployment`): its service deployment, from the previous revision."""
    if not _tracked(svc):
        return
    superseded = [r for r in _history(svc) if r["status"] not in TERMINAL]
    source = _revision_for(svc, old_td)
    record = _new_service_deployment(svc, svc.task_definition, [source] if source else [], fault)
    record["_deploymentId"] = deployment["id"]
    record["_sourceDeploymentId"] = (deployment.get("_sim_previous") or {}).get("id")
    deployment["_sim_sd"] = record["serviceDeploymentArn"]
    for old in superseded:  # ECS stops an unfinished deployment when a newer one starts
        _set_status(old, "STOPPED", f"Superseded by service deployment {record['serviceDeploymentArn']}.")
    if record["_strategy"] == "ROLLING":
        record["targetServiceRevision"]["pendingTaskCount"] = svc.desired_count
        _set_status(record, "IN_PROGRESS")
    else:
        deployment.pop("_sim_step", None)  # the lifecycle stages drive it, not the rolling steps
        record["_plan"] = _plan(record["_strategy"], record["deploymentConfiguration"], fault)
        record["_advances"] = 0
        _show_stage(svc, record)
    _show_revisions(svc, record)


def _rolling_completed(svc, deployment: dict, record: Optional[dict]) -> None:
    if record is None:
        return
    desired = svc.desired_count
    if deployment.get("_sim_sd_role") == "rollback":
        record["targetServiceRevision"].update(runningTaskCount=0, pendingTaskCount=0, requestedTaskCount=0)
        for source in record["sourceServiceRevisions"][:1]:
            source.update(requestedTaskCount=desired, runningTaskCount=desired, pendingTaskCount=0)
        _set_status(record, "ROLLBACK_SUCCESSFUL")
    else:
        record["targetServiceRevision"].update(requestedTaskCount=desired, runningTaskCount=desired,
                                               pendingTaskCount=0)
        for source in record["sourceServiceRevisions"]:
            source.update(requestedTaskCount=0, runningTaskCount=0, pendingTaskCount=0)
        _set_status(record, "SUCCESSFUL")
    _show_revisions(svc, record)


def _rolling_failed(deployment: dict, record: Optional[dict], failed: int, rolled_back: bool) -> None:
    if record is None:
        return
    record["deploymentCircuitBreaker"].update(status="TRIGGERED", failureCount=failed)
    record["targetServiceRevision"].update(runningTaskCount=0, pendingTaskCount=0)
    reason = (deployment.get("_sim_fault") or {}).get("rolloutStateReason", CIRCUIT_BREAKER_REASON)
    if rolled_back:
        _start_rollback_record(record, "ROLLBACK_IN_PROGRESS", reason, reason)
    else:
        _set_status(record, "STOPPED", reason)


def _start_rollback_record(record: dict, status: str, status_reason: str, rollback_reason: str) -> None:
    sources = record["sourceServiceRevisions"]
    record["rollback"] = {"reason": rollback_reason, "startedAt": time.time()}
    if sources:
        record["rollback"]["serviceRevisionArn"] = sources[0]["arn"]
    _set_status(record, status, status_reason)


def _abort_rolling(svc, deployment: dict, record: dict) -> None:
    deployment.pop("_sim_step", None)
    deployment.update({"rolloutState": "FAILED", "updatedAt": utcnow(),
                       "rolloutStateReason": f"ECS deployment {deployment['id']} stopped."})
    _record_rollout(svc, deployment, "FAILED")
    _set_status(record, "STOPPED")


def _settle_record(svc, deployment: dict, state: str) -> None:
    """POST /_fault/ecs/service ended the deployment (rolloutState COMPLETED or FAILED): so does its record."""
    record = _record_of(deployment)
    if record is None:
        return
    if state == "FAILED":
        _set_status(record, "STOPPED", deployment.get("rolloutStateReason"))
    elif record["_strategy"] == "ROLLING":
        _rolling_completed(svc, deployment, record)
    else:
        _set_status(record, "SUCCESSFUL")


# --- blue/green, linear, canary: one lifecycle stage per advance ----------------------------------------------


def _plan(strategy: str, configuration: dict, fault: dict) -> list[str]:
    """The stage of each advance, in order: PRODUCTION_TRAFFIC_SHIFT once per traffic step, BAKE_TIME bakeSteps
    times (bake minutes are not waited for locally)."""
    shifts = 1
    if strategy == "LINEAR":
        shifts = math.ceil(100 / _linear_step(configuration))
    elif strategy == "CANARY":
        shifts = 2
    bake = max(0, int(fault.get("bakeSteps", SIM["bakeSteps"])))
    counts = {"PRODUCTION_TRAFFIC_SHIFT": shifts, "BAKE_TIME": bake}
    return [stage for stage in STAGES for _ in range(counts.get(stage, 1))]


def _linear_step(configuration: dict) -> float:
    step = float((configuration.get("linearConfiguration") or {}).get("stepPercent") or DEFAULT_LINEAR_STEP_PERCENT)
    return step if step > 0 else DEFAULT_LINEAR_STEP_PERCENT


def _production_weight(record: dict) -> float:
    """The target revision's production traffic weight after the advances so far."""
    done = record["_plan"][: record["_advances"]].count("PRODUCTION_TRAFFIC_SHIFT")
    total = record["_plan"].count("PRODUCTION_TRAFFIC_SHIFT")
    if done == 0:
        return 0.0
    if done >= total:
        return 100.0
    configuration = record["deploymentConfiguration"]
    if record["_strategy"] == "LINEAR":
        return min(100.0, done * _linear_step(configuration))
    return float((configuration.get("canaryConfiguration") or {}).get("canaryPercent") or DEFAULT_CANARY_PERCENT)


def _show_stage(svc, record: dict) -> None:
    """Task counts and traffic weights of both revisions at the record's stage, in the record and in the
    DescribeServices view (target = the PRIMARY deployment, source = the ACTIVE one it replaces)."""
    desired = svc.desired_count
    stage = record.get("lifecycleStage")
    index = STAGES.index(stage) if stage else -1
    target_running = desired if index > STAGES.index("SCALE_UP") else 0
    target_pending = desired if stage == "SCALE_UP" else 0
    source_running = 0 if stage == "CLEAN_UP" else desired
    test = 100.0 if index >= STAGES.index("TEST_TRAFFIC_SHIFT") else 0.0
    production = _production_weight(record)
    record["targetServiceRevision"].update(requestedTaskCount=desired, runningTaskCount=target_running,
                                           pendingTaskCount=target_pending, requestedTestTrafficWeight=test,
                                           requestedProductionTrafficWeight=production)
    for source in record["sourceServiceRevisions"]:
        source.update(requestedTaskCount=source_running, runningTaskCount=source_running, pendingTaskCount=0,
                      requestedTestTrafficWeight=100.0 - test, requestedProductionTrafficWeight=100.0 - production)
    target = _find_deployment(svc, record.get("_deploymentId"))
    if target is not None:
        target.update(runningCount=target_running, pendingCount=target_pending, desiredCount=desired,
                      updatedAt=utcnow())
    source = _find_deployment(svc, record.get("_sourceDeploymentId"))
    if source is not None:
        source.update(runningCount=source_running, pendingCount=0)
    svc.running_count = target_running + (source_running if source is not None else 0)
    svc.pending_count = target_pending
    _show_revisions(svc, record)


def _advance_staged(svc, record: dict) -> None:
    """One advance of a BLUE_GREEN / LINEAR / CANARY service deployment."""
    status = record["status"]
    if status in TERMINAL:
        return
    record["updatedAt"] = time.time()
    if status == "STOP_REQUESTED":
        _abort_staged(svc, record)
        return
    if status == "ROLLBACK_REQUESTED":
        _begin_staged_rollback(svc, record, advances=1)
        return
    if status == "ROLLBACK_IN_PROGRESS":
        record["_rollbackLeft"] -= 1
        if record["_rollbackLeft"] <= 0:
            _finish_staged_rollback(svc, record)
        return
    fault = record["_fault"]
    mode = fault.get("mode", "ok")
    stage = record.get("lifecycleStage")
    if mode == "stuck" and stage is not None and stage == fault.get("stage", DEFAULT_FAULT_STAGE["stuck"]):
        return
    if record["_advances"] >= len(record["_plan"]):
        _finish_staged(svc, record)
        return
    record["_advances"] += 1
    stage = record["_plan"][record["_advances"] - 1]
    record["lifecycleStage"] = stage
    if status == "PENDING":
        _set_status(record, "IN_PROGRESS")
    _show_stage(svc, record)
    if mode in ("fail", "rollback") and stage == fault.get("stage", DEFAULT_FAULT_STAGE[mode]):
        reason = fault.get("reason", DEFAULT_HOOK_REASON)
        record["_rollbackReason"] = (f"lifecycle hook failed at {stage}: {reason}", reason)
        _begin_staged_rollback(svc, record, advances=ROLLBACK_ADVANCES)


def _finish_staged(svc, record: dict) -> None:
    target = _find_deployment(svc, record.get("_deploymentId"))
    desired = svc.desired_count
    record["targetServiceRevision"].update(requestedTaskCount=desired, runningTaskCount=desired, pendingTaskCount=0)
    for source in record["sourceServiceRevisions"]:
        source.update(requestedTaskCount=0, runningTaskCount=0, pendingTaskCount=0)
    _set_status(record, "SUCCESSFUL")
    if target is not None:
        target["status"] = "PRIMARY"
        _complete(svc, target)
        _record_rollout(svc, target, "COMPLETED")
    _show_revisions(svc, record)


def _begin_staged_rollback(svc, record: dict, advances: int) -> None:
    """ECS shifts traffic back to the source revision by itself; the service's task definition is the source one
    again and, as in the rolling rollback, the source deployment is PRIMARY (IN_PROGRESS) until it finishes."""
    sources = record["sourceServiceRevisions"]
    status_reason, rollback_reason = record.pop("_rollbackReason", (None, None))
    if status_reason is not None:
        _start_rollback_record(record, "ROLLBACK_IN_PROGRESS", status_reason, rollback_reason)
    else:  # asked for by StopServiceDeployment: rollback{} was set then
        _set_status(record, "ROLLBACK_IN_PROGRESS")
    record["_rollbackLeft"] = advances
    record["targetServiceRevision"].update(requestedTestTrafficWeight=0.0, requestedProductionTrafficWeight=0.0)
    for source in sources:
        source.update(requestedTestTrafficWeight=100.0, requestedProductionTrafficWeight=100.0)
    if not sources:  # nothing to go back to
        _set_status(record, "ROLLBACK_FAILED", "No previous service revision to roll back to.")
        return
    source_td = SERVICE_REVISIONS.get(sources[0]["arn"], {}).get("taskDefinition")
    target = _find_deployment(svc, record.get("_deploymentId"))
    if target is not None:
        target.pop("_sim_step", None)
        target.update({"status": "ACTIVE", "rolloutState": "FAILED", "updatedAt": utcnow(),
                       "rolloutStateReason": record.get("statusReason") or "rolled back"})
        _record_rollout(svc, target, "FAILED")
    back = _find_deployment(svc, record.get("_sourceDeploymentId"))
    if back is None and source_td:
        back = _new_deployment(svc, target or svc.deployments[0], source_td, {"mode": "ok"})
        back.pop("_sim_step", None)
        record["_sourceDeploymentId"] = back["id"]
    if back is not None:
        back.update({"status": "PRIMARY", "rolloutState": "IN_PROGRESS", "updatedAt": utcnow(),
                     "rolloutStateReason": f"ECS deployment {back['id']} in progress."})
        svc.deployments[:] = [back] + [d for d in svc.deployments if d is not back]
    if source_td:
        svc.task_definition = source_td


def _finish_staged_rollback(svc, record: dict) -> None:
    desired = svc.desired_count
    record["targetServiceRevision"].update(requestedTaskCount=0, runningTaskCount=0, pendingTaskCount=0)
    for source in record["sourceServiceRevisions"][:1]:
        source.update(requestedTaskCount=desired, runningTaskCount=desired, pendingTaskCount=0)
    _set_status(record, "ROLLBACK_SUCCESSFUL")
    back = _find_deployment(svc, record.get("_sourceDeploymentId"))
    if back is not None:
        _complete(svc, back)
        _record_rollout(svc, back, "COMPLETED")
    _show_revisions(svc, record)


def _abort_staged(svc, record: dict) -> None:
    """ABORT leaves the service as it is (both revisions, the new task definition); only the deployment ends."""
    target = _find_deployment(svc, record.get("_deploymentId"))
    if target is not None and target.get("rolloutState") == "IN_PROGRESS":
        target.update({"rolloutState": "FAILED", "updatedAt": utcnow(),
                       "rolloutStateReason": f"ECS deployment {target['id']} stopped."})
        _record_rollout(svc, target, "FAILED")
    _set_status(record, "STOPPED")


def _service_of(record: dict):
    from moto.ecs.models import ecs_backends

    account, region = record["_where"]
    backend = ecs_backends[account][region]
    return backend, backend.services.get(record["_key"])


def _advance_record(record: dict) -> None:
    """DescribeServiceDeployments' advance: the one a DescribeServices of its service would make."""
    if record["status"] in TERMINAL:
        return
    backend, svc = _service_of(record)
    if svc is None or _current_record(svc) is not record:
        return
    if record["_strategy"] == "ROLLING":
        if svc.deployments and svc.deployments[0].get("_sim_sd") == record["serviceDeploymentArn"]:
            _advance(backend, svc)
    else:
        _advance_staged(svc, record)


def _stop_service_deployment(record: dict, stop_type: str) -> None:
    _, svc = _service_of(record)
    reason = f"Service deployment stopped by StopServiceDeployment ({stop_type})."
    if stop_type == "ABORT":
        _set_status(record, "STOP_REQUESTED", reason)
        return
    if record["_strategy"] != "ROLLING" or svc is None:
        _start_rollback_record(record, "ROLLBACK_REQUESTED", reason, reason)
        return
    # ROLLING: the rolling simulator's rollback, at once; the record follows the rollback deployment
    deployment = svc.deployments[0] if svc.deployments else None
    previous = (deployment or {}).get("_sim_previous") or {}
    if (deployment is None or deployment.get("_sim_sd") != record["serviceDeploymentArn"]
            or deployment.get("rolloutState") != "IN_PROGRESS" or not previous.get("taskDefinition")):
        _start_rollback_record(record, "ROLLBACK_FAILED", f"{reason} No previous deployment to roll back to.",
                               reason)
        return
    deployment.pop("_sim_step", None)
    deployment.update({"rolloutState": "FAILED", "updatedAt": utcnow(), "runningCount": 0, "pendingCount": 0})
    _record_rollout(svc, deployment, "FAILED")
    _roll_back(svc, deployment, deployment.get("_sim_fault") or {},
               f"ECS deployment stopped: rolling back to deploymentId {previous['id']}.")
    _start_rollback_record(record, "ROLLBACK_REQUESTED", reason, reason)


def _public_record(record: dict) -> dict:
    return copy.deepcopy({k: v for k, v in record.items() if not k.startswith("_") and v is not None})


BRIEF_FIELDS = ("serviceDeploymentArn", "serviceArn", "clusterArn", "startedAt", "createdAt", "finishedAt",
                "status", "statusReason")


class EcsError(Exception):
    """An ECS error answer: HTTP 400, `__type` = code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _ecs_backend(region: str) -> EC2ContainerServiceBackend:
    from moto.ecs.models import ecs_backends

    return ecs_backends[ACCOUNT][region]


def _timestamp(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        from datetime import datetime

        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise EcsError("InvalidParameterException", f"createdAt: not a timestamp: {value!r}") from None


def _arn_list(params: dict, field: str) -> list[str]:
    arns = params.get(field)
    if not isinstance(arns, list) or not 1 <= len(arns) <= 20:
        raise EcsError("InvalidParameterException", f"{field} must contain between 1 and 20 items.")
    return list(dict.fromkeys(arns))  # an ARN named twice is answered (and advanced) once


def _list_service_deployments(backend, params: dict) -> dict:
    service = str(params.get("service") or "")
    if not service:
        raise EcsError("InvalidParameterException", "service is required.")
    parts = service.split(":")[-1].split("/")  # "name", or "service/name", or "service/cluster/name"
    cluster = str(params.get("cluster") or (parts[1] if len(parts) == 3 else "default")).split("/")[-1]
    if cluster not in backend.clusters:
        raise EcsError("ClusterNotFoundException", "Cluster not found.")
    svc = backend.services.get(f"{cluster}:{parts[-1]}")
    if svc is None:
        raise EcsError("ServiceNotFoundException", "Service not found.")
    statuses = params.get("status") or []
    window = params.get("createdAt") or {}
    after = _timestamp(window["after"]) if window.get("after") is not None else None
    before = _timestamp(window["before"]) if window.get("before") is not None else None
    limit = int(params.get("maxResults") or 20)
    if not 1 <= limit <= 100:
        raise EcsError("InvalidParameterException", "maxResults must be between 1 and 100.")
    try:
        start = int(params.get("nextToken") or 0)
    except ValueError:
        raise EcsError("InvalidParameterException", "Invalid nextToken.") from None
    records = [
        r for r in reversed(_history(svc))
        if (not statuses or r["status"] in statuses) and (after is None or r["createdAt"] >= after)
        and (before is None or r["createdAt"] <= before)
    ]
    page = records[start:start + limit]
    briefs = [{**{k: r[k] for k in BRIEF_FIELDS if r.get(k) is not None},
               "targetServiceRevisionArn": r["targetServiceRevision"]["arn"]} for r in page]
    answer: dict[str, Any] = {"serviceDeployments": briefs}
    if start + limit < len(records):
        answer["nextToken"] = str(start + limit)
    return answer


def _describe_service_deployments(backend, params: dict) -> dict:
    found, failures = [], []
    for arn in _arn_list(params, "serviceDeploymentArns"):
        record = SERVICE_DEPLOYMENTS.get(arn)
        if record is None:
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        _advance_record(record)
        found.append(_public_record(record))
    return {"serviceDeployments": found, "failures": failures}


def _describe_service_revisions(backend, params: dict) -> dict:
    found, failures = [], []
    for arn in _arn_list(params, "serviceRevisionArns"):
        if arn in SERVICE_REVISIONS:
            found.append(copy.deepcopy(SERVICE_REVISIONS[arn]))
        else:
            failures.append({"arn": arn, "reason": "MISSING"})
    return {"serviceRevisions": found, "failures": failures}


def _stop_service_deployment_action(backend, params: dict) -> dict:
    arn = str(params.get("serviceDeploymentArn") or "")
    stop_type = params.get("stopType") or "ROLLBACK"
    if stop_type not in ("ABORT", "ROLLBACK"):
        raise EcsError("InvalidParameterException", f"stopType must be ABORT or ROLLBACK, not {stop_type!r}.")
    record = SERVICE_DEPLOYMENTS.get(arn)
    if record is None:
        raise EcsError("ServiceDeploymentNotFoundException", f"The service deployment {arn} does not exist.")
    if record["status"] not in ("PENDING", "IN_PROGRESS"):
        raise EcsError("ConflictException", "The service deployment is not in a state that can be stopped")
    _stop_service_deployment(record, stop_type)
    return {"serviceDeploymentArn": arn}


ECS_ACTIONS = {
    "ListServiceDeployments": _list_service_deployments,
    "DescribeServiceDeployments": _describe_service_deployments,
    "DescribeServiceRevisions": _describe_service_revisions,
    "StopServiceDeployment": _stop_service_deployment_action,
}


def _aws_json(body: dict, status: int = 200, error: Optional[str] = None) -> Response:
    headers = {"x-amzn-ErrorType": error} if error else {}
    return Response(json.dumps(body), status=status, content_type="application/x-amz-json-1.1", headers=headers)


def handle_ecs_action(operation: str, body: bytes, region: str) -> Response:
    try:
        params = json.loads(body or b"{}")
    except json.JSONDecodeError as exc:
        return _aws_json({"__type": "SerializationException", "message": str(exc)}, 400, "SerializationException")
    try:
        with LOCK:
            return _aws_json(ECS_ACTIONS[operation](_ecs_backend(region), params))
    except EcsError as exc:
        return _aws_json({"__type": exc.code, "message": exc.message}, 400, exc.code)


def _service_deployments_stats() -> list[dict]:
    with LOCK:
        return [{"cluster": r["_key"].split(":", 1)[0], "service": r["_key"].split(":", 1)[1],
                 "strategy": r["_strategy"], **_public_record(r)}
                for arns in SERVICE_HISTORY.values() for r in (SERVICE_DEPLOYMENTS[a] for a in arns)]

# ---------------------------------------------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------------------------------------------


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status=status, content_type="application/json")


def _ecs(body: dict) -> EC2ContainerServiceBackend:
    from moto.ecs.models import ecs_backends

    return ecs_backends[body.get("account", ACCOUNT)][body.get("region", REGION)]


def _arm(body: dict) -> Response:
    mode = body.get("mode", "ok")
    if mode not in ("ok", "fail", "stuck", "rollback"):
        return _json({"error": f"unknown mode {mode!r}: ok|fail|stuck|rollback"}, 400)
    if not body.get("service"):
        return _json({"error": "service is required"}, 400)
    if "stage" in body and body["stage"] not in STAGES:
        return _json({"error": f"unknown stage {body['stage']!r}: {'|'.join(STAGES)}"}, 400)
    key = f'{body.get("cluster", "default")}:{body["service"]}'
    fields = ("mode", "failedTasks", "steps", "reason", "rolloutStateReason", "stage", "bakeSteps")
    fault = {k: body[k] for k in fields if k in body}
    fault["mode"] = mode
    if mode in DEFAULT_FAULT_STAGE:  # where a blue/green deployment fails or stays (rolling ones ignore it)
        fault.setdefault("stage", DEFAULT_FAULT_STAGE[mode])
    with LOCK:
        ARMED[key] = fault
    return _json({"armed": key, **fault})


def _set_service(body: dict) -> Response:
    key = f'{body.get("cluster", "default")}:{body.get("service")}'
    svc = _ecs(body).services.get(key)
    if svc is None:
        return _json({"error": f"no service {key}"}, 404)
    with LOCK:
        for field, attr in (("runningCount", "running_count"), ("pendingCount", "pending_count"),
                            ("desiredCount", "desired_count")):
            if field in body:
                setattr(svc, attr, body[field])
        if svc.deployments:
            deployment = svc.deployments[0]
            if body.get("syncDeploymentTaskDefinition"):
                deployment["taskDefinition"] = svc.task_definition
            for field in ("runningCount", "pendingCount", "desiredCount", "failedTasks", "rolloutState",
                          "rolloutStateReason"):
                if field in body:
                    deployment[field] = body[field]
            if body.get("rolloutState") in ("COMPLETED", "FAILED"):
                deployment.pop("_sim_step", None)
                _settle_record(svc, deployment, body["rolloutState"])
        return _json({"service": svc.name, "taskDefinition": svc.task_definition,
                      "runningCount": svc.running_count, "deployments": [_public(d) for d in svc.deployments]})


def _arm_error(body: dict, code: str, message: str) -> Response:
    operation = body.get("operation")
    if not operation:
        return _json({"error": "operation is required"}, 400)
    # `status` not given (null): the protocol's where the call is answered (_error_answer): JSON 400, REST-JSON the
    # error's modelled one; `code` not given (codeGiven false): REST-JSON services answer their own default error.
    rule = {"operation": operation, "count": int(body.get("count", 1)), "match": body.get("match", ""),
            "code": body.get("code", code), "message": body.get("message", message),
            "status": int(body["status"]) if body.get("status") is not None else None,
            "after": bool(body.get("after", False)), "codeGiven": "code" in body}
    with LOCK:
        ERRORS.append(rule)
    return _json(rule)


def _seed_network(body: dict) -> Response:
    ec2 = ec2_backends[body.get("account", ACCOUNT)][body.get("region", REGION)]
    with LOCK:
        if NETWORK and NETWORK["vpcId"] in ec2.vpcs:
            return _json(NETWORK)
        vpc = ec2.create_vpc(cidr_block="10.42.0.0/16")
        subnets = [
            ec2.create_subnet(vpc_id=vpc.id, cidr_block=f"10.42.{i}.0/24", availability_zone=f"{REGION}{az}")
            for i, az in ((1, "a"), (2, "b"))
        ]
        group = ec2.create_security_group(name="convoy-local", description="convoy local stack", vpc_id=vpc.id)
        NETWORK.clear()
        NETWORK.update({"vpcId": vpc.id, "subnetIds": [s.id for s in subnets], "securityGroupId": group.id})
        return _json(NETWORK)


# ECS request throttling (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html):
# one bucket per category per account, shared by every action of the category.
ECS_BUCKETS = {
    "task-definition-modify": (20, 1.0, ("RegisterTaskDefinition", "DeregisterTaskDefinition")),
    "service-modify": (50, 5.0, ("CreateService", "UpdateService", "DeleteService", "StopServiceDeployment")),
    "service-read": (100, 20.0, ("DescribeServices", "ListServices", "ListServiceDeployments",
                                 "DescribeServiceDeployments", "DescribeServiceRevisions")),
}


class TokenBucket:
    def __init__(self, burst: float, rate: float):
        self.burst, self.rate, self.tokens, self.stamp = burst, rate, burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


BUCKETS: dict[str, TokenBucket] = {}  # ECS operation -> its category's bucket (shared objects); empty = off


def _configure_buckets(body: dict) -> Response:
    rate_scale, burst_scale = float(body.get("rateScale", 1)), float(body.get("burstScale", 1))
    with LOCK:
        BUCKETS.clear()
        if body.get("enabled", True):
            for burst, rate, operations in ECS_BUCKETS.values():
                bucket = TokenBucket(max(1.0, burst * burst_scale), rate * rate_scale)
                for operation in operations:
                    BUCKETS[operation] = bucket
        config = {category: {"burst": max(1.0, burst * burst_scale), "perSecond": rate * rate_scale}
                  for category, (burst, rate, _) in ECS_BUCKETS.items()}
    return _json({"enabled": bool(BUCKETS), "buckets": config if BUCKETS else {}})


def _bucket_refuses(service: str, operation: str) -> bool:
    with LOCK:
        bucket = BUCKETS.get(operation) if service == "ecs" else None
        if bucket is None or bucket.take():
            return False
        THROTTLED[f"{service}.{operation}"] = THROTTLED.get(f"{service}.{operation}", 0) + 1
        return True


def handle_control(req: Request) -> Response:
    try:
        body = json.loads(req.get_data() or b"{}")
    except json.JSONDecodeError as exc:
        return _json({"error": f"body is not JSON: {exc}"}, 400)
    path, method = req.path.rstrip("/"), req.method
    for simulator in (codedeploy_sim, job_sim):
        answer = simulator.handle_control(path, method, body)  # None: not its endpoint (on /_fault/reset, its part)
        if answer is not None:
            return answer
    if path == "/_stats/calls" and method == "GET":
        with LOCK:
            return _json(dict(sorted(CALLS.items())))
    if path == "/_stats/throttled" and method == "GET":
        with LOCK:
            return _json(dict(sorted(THROTTLED.items())))
    if path == "/_stats/rollouts" and method == "GET":
        with LOCK:
            return _json(list(ROLLOUTS))
    if path == "/_stats/service-deployments" and method == "GET":
        return _json(_service_deployments_stats())
    if method != "POST":
        return _json({"error": f"{method} {path}: use POST"}, 405)
    if path == "/_stats/reset":
        with LOCK:
            CALLS.clear()
            THROTTLED.clear()
            ROLLOUTS.clear()
        return _json({"ok": True})
    if path == "/_fault/reset":
        with LOCK:
            ARMED.clear()
            ERRORS.clear()
            BUCKETS.clear()
            SIM.update(steps=DEFAULT_STEPS, bakeSteps=DEFAULT_BAKE_STEPS)
        return _json({"ok": True})
    if path == "/_fault/ecs/defaults":
        with LOCK:
            if "steps" in body:
                SIM["steps"] = max(1, int(body["steps"]))
            if "bakeSteps" in body:
                SIM["bakeSteps"] = max(0, int(body["bakeSteps"]))
        return _json(dict(SIM))
    if path == "/_fault/buckets":
        return _configure_buckets(body)
    if path == "/_fault/ecs/arm":
        return _arm(body)
    if path == "/_fault/ecs/service":
        return _set_service(body)
    if path == "/_fault/throttle":
        return _arm_error(body, "ThrottlingException", "Rate exceeded")
    if path == "/_fault/error":
        return _arm_error(body, "ClientException", "injected by the local stack")
    if path == "/_seed/network":
        return _seed_network(body)
    return _json({"error": f"unknown endpoint {path}"}, 404)


# ---------------------------------------------------------------------------------------------------------------
# Request accounting and throttling in front of moto
# ---------------------------------------------------------------------------------------------------------------

_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/([^/]+)/([^/]+)/aws4_request")


# REST-JSON services whose operations are told by method and path (the calls of other REST services, S3 and
# Lambda among them, go to moto uncounted). Their errors are answered the REST-JSON way (_error_answer).
REST_ROUTES: dict[str, list[tuple[str, "re.Pattern[str]", str]]] = {
    "scheduler": [
        (method, re.compile(pattern), operation)
        for method, pattern, operation in (
            ("GET", r"^/schedules/?$", "ListSchedules"),
            ("GET", r"^/schedules/[^/]+$", "GetSchedule"),
            ("POST", r"^/schedules/[^/]+$", "CreateSchedule"),
            ("PUT", r"^/schedules/[^/]+$", "UpdateSchedule"),
            ("DELETE", r"^/schedules/[^/]+$", "DeleteSchedule"),
            ("GET", r"^/schedule-groups/?$", "ListScheduleGroups"),
            ("GET", r"^/schedule-groups/[^/]+$", "GetScheduleGroup"),
            ("POST", r"^/schedule-groups/[^/]+$", "CreateScheduleGroup"),
            ("DELETE", r"^/schedule-groups/[^/]+$", "DeleteScheduleGroup"),
            ("GET", r"^/tags/.+$", "ListTagsForResource"),
            ("POST", r"^/tags/.+$", "TagResource"),
            ("DELETE", r"^/tags/.+$", "UntagResource"),
        )
    ],
}
# The error /_fault/error answers on a REST-JSON service when no `code` is given (ClientException is ECS's).
REST_DEFAULT_ERROR = {"scheduler": "ValidationException"}


def operation_of(environ: dict, body: bytes) -> Optional[tuple[str, str]]:
    """(signing service, operation) of an AWS API request: JSON protocols name it in X-Amz-Target, query
    protocols (EC2, IAM) in Action, the REST-JSON services of REST_ROUTES by method and path."""
    scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    service = scope.group(2) if scope else None
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return service or target.split(".")[0], target.split(".")[-1]
    match = re.search(rb"(?:^|&)Action=([A-Za-z0-9]+)", body) or re.search(
        r"(?:^|&)Action=([A-Za-z0-9]+)", environ.get("QUERY_STRING", "")
    )
    if match and service:
        action = match.group(1)
        return service, action.decode() if isinstance(action, bytes) else action
    if service in REST_ROUTES:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        for route_method, pattern, operation in REST_ROUTES[service]:
            if method == route_method and pattern.match(path):
                return service, operation
    return None


def _take_error(service: str, operation: str, body: bytes) -> Optional[dict]:
    with LOCK:
        for rule in ERRORS:
            if (rule["count"] > 0 and rule["operation"] in (operation, f"{service}.{operation}")
                    and rule["match"].encode() in body):
                rule["count"] -= 1
                return rule
    return None


REASONS = {400: "Bad Request", 402: "Payment Required", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
           429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


def _error_answer(start_response, rule: dict, service: Optional[str] = None):
    """An AWS error as `service` answers it. JSON protocols (ECS, EventBridge, Step Functions, CodeDeploy): HTTP
    400 unless `status` was given, body {"__type", "message"}. REST-JSON (REST_ROUTES: Scheduler): the error's
    modelled status unless given (ThrottlingException 429, ConflictException 409, ResourceNotFoundException 404,
    ValidationException 400, InternalServerException 500; an unmodelled code 400), body {"Message"}; the code in
    the x-amzn-ErrorType header, which is what the SDKs read first (boto3, and the Rust SDKs' parse_error_metadata:
    the header, else `code`, else `__type` in the body)."""
    code, status = rule["code"], rule.get("status")
    if service in REST_ROUTES:
        if not rule.get("codeGiven", True) and code == "ClientException":
            code = REST_DEFAULT_ERROR[service]
        if status is None:
            status = (scheduler_sim.error_status(code) if service == scheduler_sim.SERVICE else None) or 400
        body = json.dumps({"Message": rule["message"]}).encode()
        content_type = "application/json"
    else:
        body = json.dumps({"__type": code, "message": rule["message"]}).encode()
        content_type = "application/x-amz-json-1.1"
        status = status or 400
    start_response(f"{status} {REASONS.get(status, 'Error')}", [("Content-Type", content_type),
                                                                ("x-amzn-ErrorType", code),
                                                                ("Content-Length", str(len(body)))])
    return [body]


moto_app = DomainDispatcherApplication(create_backend_app)


def _handler(environ, service: str, operation: str, body: bytes):
    """The WSGI app that answers an AWS API call: the ECS actions moto does not know (it answers HTTP 500) are
    answered here; everything else by moto."""
    if service == "ecs" and operation in ECS_ACTIONS:
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        return handle_ecs_action(operation, body, scope.group(1) if scope else REGION)
    return moto_app


def _handled_then_dropped(handler, environ) -> None:
    """`handler` handles the request (its effect stays); its answer is read and dropped."""
    answer = handler(environ, lambda status, headers, exc_info=None: None)
    try:
        for _ in answer:
            pass
    finally:
        close = getattr(answer, "close", None)
        if close:
            close()


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith(("/_fault/", "/_seed/", "/_stats/")):
        return handle_control(Request(environ))(environ, start_response)
    if path.startswith("/moto-api"):
        if path.rstrip("/") == "/moto-api/reset":
            with LOCK:  # the records describe moto's services: they go with them
                _forget_service_deployments()
                job_sim.forget()
        return moto_app(environ, start_response)
    # Buffer the body: the operation may be named in it (query protocol), and moto must still read it.
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    op = operation_of(environ, body)
    if op:
        service, operation = op
        with LOCK:
            CALLS[f"{service}.{operation}"] = CALLS.get(f"{service}.{operation}", 0) + 1
        # `match` looks at the body; for a REST service also at the path and query (a schedule's name is there)
        seen = body if service not in REST_ROUTES else (
            f'{environ.get("PATH_INFO", "")}?{environ.get("QUERY_STRING", "")}\n'.encode() + body)
        rule = _take_error(service, operation, seen)
        if rule and rule["after"]:
            _handled_then_dropped(_handler(environ, service, operation, body), environ)
            return _error_answer(start_response, rule, service)
        if rule:
            return _error_answer(start_response, rule, service)
        if _bucket_refuses(service, operation):
            return _error_answer(start_response, {"code": "ThrottlingException", "message": "Rate exceeded",
                                                  "status": 400})
        if service == "ecs" and operation in ECS_ACTIONS:
            return _handler(environ, service, operation, body)(environ, start_response)
    if environ.get("REQUEST_METHOD") in ("PUT", "DELETE") and (
        "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MATCH" in environ
    ):
        with CONDITIONAL_WRITES:
            return moto_app(environ, start_response)
    return moto_app(environ, start_response)


def _exit_with_parent() -> None:
    # Polls the parent process (not PR_SET_PDEATHSIG: that fires when the spawning *thread* ends, and a test
    # harness spawns from short-lived test threads).
    parent = os.getppid()
    if parent == 1:  # already re-parented to init: the parent died before we got here
        os._exit(0)

    def watch():
        while True:
            if os.getppid() != parent:
                os._exit(0)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5000, help="0 picks a free port")
    ap.add_argument("--sfn-engine", action="store_true", help="run Step Functions executions (moto's engine)")
    ap.add_argument("--exit-with-parent", action="store_true", help="exit when the parent process dies")
    ap.add_argument("--quiet", action="store_true", help="no per-request log lines")
    args = ap.parse_args()
    if args.exit_with_parent:
        _exit_with_parent()
    if args.sfn_engine:
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
    # moto's own tasks (StartTask's) stay RUNNING (moto otherwise moves them one state per DescribeTasks); RunTask's
    # are job tasks, run to their exit by job_sim.
    state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10 ** 9})
    if args.quiet:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server(args.host, args.port, app, threaded=True)
    port = server.server_port
    # moto's Step Functions engine sends its AWS calls (Lambda Invoke included) to localhost:$MOTO_PORT;
    # the local stack points that at the Lambda shim, anything else defaults to this server.
    os.environ.setdefault("MOTO_PORT", str(port))
    serve_until_interrupted(server, f"convoy-moto listening on http://{args.host}:{port}")


if __name__ == "__main__":
    main()
