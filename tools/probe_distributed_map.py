"""What moto's Step Functions engine does with a Distributed Map, as the release state machine of
docs/decisions/0006 uses it: a loop over waves whose body is a DISTRIBUTED Map reading its items from S3
(ItemReader), writing its results to S3 (ResultWriter), with ItemSelector, MaxConcurrency, a Label and
ToleratedFailureCount 0. Each expectation below is a difference (or a parity) the local stack relies on and
decision 0006 records; when moto changes one of them this check fails and names it, so the workaround can
be revisited before it silently stops being needed or stops working.

    PYTHONPATH=local .tools/venv/bin/python tools/probe_distributed_map.py [--port 5550]

It starts a plain moto server of its own on --port (nothing else: no functions, no simulator), with
MOTO_PORT set to that port so the engine's own S3 calls reach it, and stops it at the end.
Exit status 0: every expectation held; 1: the failed expectations are listed.
"""

import argparse
import json
import logging
import os
import sys
import time

import boto3
import botocore.exceptions
import requests

from convoy_local.moto_pin import require_pinned_moto

REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/convoy-release"
BUCKET = "convoy-records"
PREFIX = "releases/r-1/e-1/"
MAPRUNS = "mapruns"  # ResultWriter's literal prefix
WAVES = [  # waves/<k>/batches.json: what ItemReader reads, one element per child execution (a batch)
    [{"batch": 0, "items": ["prod/web", "prod/api"]}, {"batch": 1, "items": ["prod/worker"]}],
    [{"batch": 0, "items": ["prod/edge"]}],
]


def child():
    """A child workflow: a Choice that fails a batch marked `fail`, else a Pass echoing what it was given."""
    states = {
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.batch.fail", "IsPresent": True, "Next": "Boom"}],
                  "Default": "Done"},
        "Boom": {"Type": "Fail", "Error": "BatchFailed", "Cause": "marked to fail"},
        "Done": {"Type": "Pass", "Parameters": {
            "releaseId.$": "$.releaseId", "wave.$": "$.wave", "batch.$": "$.batch.batch",
            "parentExecution.$": "$.parentExecution", "ownExecution.$": "$$.Execution.Id"}, "End": True},
    }
    return states


def definition(*, batcher=False, execution_type="STANDARD", writer="literal", writer_config=False):
    dmap = {
        "Type": "Map",
        "Label": "wave",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket.$": "$.plan.records.bucket", "Key.$": "$.wave.itemsKey"},
        },
        "ItemSelector": {
            "releaseId.$": "$.plan.releaseId",
            "wave.$": "$.wave.index",
            "batch.$": "$$.Map.Item.Value",
            "parentExecution.$": "$$.Execution.Id",
        },
        "MaxConcurrency": 2,
        "ToleratedFailureCount": 0,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
            "StartAt": "Check",
            "States": child(),
        },
        "ResultPath": "$.wave.map",
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "WaveFailed"}],
        "Next": "NextWave",
    }
    if batcher:
        dmap["ItemBatcher"] = {"MaxItemsPerBatch": 2}
    if writer:  # literal: the template substitutes the bucket; paths: what AWS also accepts
        dmap["ResultWriter"] = {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": BUCKET, "Prefix": MAPRUNS} if writer == "literal" else
                          {"Bucket.$": "$.plan.records.bucket", "Prefix.$": "$.wave.resultsPrefix"},
        }
        if writer_config:
            dmap["ResultWriter"]["WriterConfig"] = {"OutputType": "JSON", "Transformation": "COMPACT"}
    return {
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Parameters": {
                "plan": {"releaseId": "r-1", "records": {"bucket": BUCKET, "prefix": PREFIX}, "waves": len(WAVES)},
                "wave": {"index": 0}}, "Next": "WaveKeys"},
            "WaveKeys": {"Type": "Pass", "ResultPath": "$.wave", "Parameters": {
                "index.$": "$.wave.index",
                "itemsKey.$": "States.Format('{}waves/{}/batches.json', $.plan.records.prefix, $.wave.index)",
                "resultsPrefix.$": "States.Format('{}mapruns/{}', $.plan.records.prefix, $.wave.index)"},
                "Next": "DeployWave"},
            "DeployWave": dmap,
            "NextWave": {"Type": "Pass", "ResultPath": "$.wave", "Parameters": {
                "index.$": "States.MathAdd($.wave.index, 1)", "last.$": "$.wave.map"}, "Next": "MoreWaves"},
            "MoreWaves": {"Type": "Choice", "Choices": [
                {"Variable": "$.wave.index", "NumericLessThanPath": "$.plan.waves", "Next": "WaveKeys"}],
                "Default": "Released"},
            "Released": {"Type": "Succeed"},
            "WaveFailed": {"Type": "Fail", "Error": "WaveFailed"},
        },
    }


class Probe:
    def __init__(self, endpoint):
        kw = {"endpoint_url": endpoint, "region_name": REGION,
              "aws_access_key_id": "ak", "aws_secret_access_key": "sk"}
        self.sfn = boto3.client("stepfunctions", **kw)
        self.s3 = boto3.client("s3", **kw)
        self.failed = []
        self.n = 0

    def expect(self, what, ok, seen):
        print(f"{'ok  ' if ok else 'FAIL'} {what}: {seen}")
        if not ok:
            self.failed.append(what)

    def machine(self, name, asl):
        """The state machine's ARN, or the InvalidDefinition message."""
        try:
            return self.sfn.create_state_machine(name=name, definition=json.dumps(asl), roleArn=ROLE)[
                "stateMachineArn"], None
        except botocore.exceptions.ClientError as e:  # moto answers InvalidDefinition without an error code
            return None, e.response.get("Error", {}).get("Message") or str(e)

    def run(self, arn, timeout=60):
        self.n += 1
        ex = self.sfn.start_execution(stateMachineArn=arn, name=f"e-{self.n}", input="{}")["executionArn"]
        deadline = time.time() + timeout
        while (d := self.sfn.describe_execution(executionArn=ex))["status"] == "RUNNING":
            if time.time() > deadline:
                raise SystemExit(f"{arn}: still RUNNING after {timeout} s")
            time.sleep(0.2)
        events = self.sfn.get_execution_history(executionArn=ex, maxResults=1000)["events"]
        return ex, d, events


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=5550)
    port = ap.parse_args().port
    require_pinned_moto()
    os.environ["MOTO_PORT"] = str(port)  # the engine's S3 calls (ItemReader, ResultWriter) go to localhost:$MOTO_PORT
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log
    # The engine logs every failed path evaluation at ERROR; the variants below fail on purpose.
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        requests.post(f"{endpoint}/moto-api/config",
                      json={"stepfunctions": {"execute_state_machine": True}}, timeout=10).raise_for_status()
        p = Probe(endpoint)
        p.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        for k, batches in enumerate(WAVES):
            p.s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}waves/{k}/batches.json", Body=json.dumps(batches))
        check(p)
    finally:
        server.stop()
    if p.failed:
        print(f"\n{len(p.failed)} expectation(s) no longer hold for this moto: revisit docs/decisions/0006 "
              "(what moto lacks) and the local stack's workarounds:\n  - " + "\n  - ".join(p.failed))
        return 1
    print("\nevery expectation of docs/decisions/0006 holds")
    return 0


def check(p):
    # 1. The grammar: what CreateStateMachine accepts.
    arn, err = p.machine("waves", definition())
    p.expect("a DISTRIBUTED Map with ItemReader, ItemSelector, Label, ToleratedFailureCount, ResultWriter is accepted",
             arn is not None, err or "created")
    _, err = p.machine("batcher", definition(batcher=True))
    p.expect("ItemBatcher is refused (not in moto's ASL grammar): batches are built by plan-release",
             err is not None and "ItemBatcher" in err, err)
    _, err = p.machine("express", definition(execution_type="EXPRESS"))
    p.expect("ExecutionType EXPRESS is refused (the grammar knows STANDARD only)", err is not None, err)
    _, err = p.machine("writer-config", definition(writer_config=True))
    p.expect("ResultWriter.WriterConfig is refused (not in the grammar)", err is not None, err)
    if arn is None:
        return

    # 2. Two waves in a loop, every child succeeding.
    ex, d, events = p.run(arn)
    p.expect("the wave loop of two Distributed Maps succeeds", d["status"] == "SUCCEEDED",
             d["status"] + " " + d.get("error", "") + " " + d.get("cause", "")[:300])
    out = json.loads(d.get("output") or "{}")
    last = out.get("wave", {}).get("last", {})
    p.expect("ResultWriter replaces the Map's result by {MapRunArn, ResultWriterDetails: {Bucket, Key}}",
             sorted(last) == ["MapRunArn", "ResultWriterDetails"]
             and sorted(last.get("ResultWriterDetails", {})) == ["Bucket", "Key"], last)
    key = last.get("ResultWriterDetails", {}).get("Key", "")
    p.expect("the manifest is written at <Prefix>/<map run id>/manifest.json",
             key.startswith(f"{MAPRUNS}/") and key.endswith("/manifest.json") and key.count("/") == 2, key)
    listed = p.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{MAPRUNS}/").get("Contents", [])
    names = sorted(o["Key"] for o in listed)
    p.expect("ResultWriter writes only a manifest per map run (no SUCCEEDED_n/FAILED_n result files)",
             len(names) == 2 and all(n.endswith("/manifest.json") for n in names), names)
    if key:
        manifest = json.loads(p.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        p.expect("the manifest lists no result files", manifest.get("ResultFiles") ==
                 {"FAILED": [], "PENDING": [], "SUCCEEDED": []}, manifest)
    types = [e["type"] for e in events]
    map_events = [t for t in types if t.startswith("Map")]
    p.expect("the parent history holds only Map/MapRun events per wave, none of the children",
             map_events == ["MapStateEntered", "MapStateStarted", "MapRunStarted", "MapRunSucceeded",
                            "MapStateSucceeded", "MapStateExited"] * 2, map_events)
    p.expect("the parent history is 12 events per wave (Pass, Map, Pass, Choice) + 6, whatever the children",
             len(events) == 2 * 12 + 6, len(events))
    runs = p.sfn.list_map_runs(executionArn=ex)["mapRuns"]
    p.expect("ListMapRuns lists one map run per wave", len(runs) == 2, [r["mapRunArn"] for r in runs])
    if runs:
        counts = [p.sfn.describe_map_run(mapRunArn=r["mapRunArn"]) for r in runs]
        totals = [(c["itemCounts"]["total"], c["itemCounts"]["succeeded"], c["executionCounts"]["total"])
                  for c in counts]
        p.expect("DescribeMapRun counts items and child executions (wave 0: 2 batches, wave 1: 1)",
                 totals == [(2, 2, 2), (1, 1, 1)], totals)
        p.expect("the map run ARN carries the Label", all("/wave:" in r["mapRunArn"] for r in runs),
                 runs[0]["mapRunArn"])
    listed = p.sfn.list_executions(stateMachineArn=arn)["executions"]
    p.expect("child executions are threads, not executions: ListExecutions shows the parent only",
             len(listed) == 1, len(listed))

    # 2b. ResultWriter Parameters given by paths: moto resolves them against the children's results
    # (moto/stepfunctions/parser/asl/component/state/exec/state_map/result_writer/result_writer_decl.py evaluates
    # them on top of the Map's output), AWS against the state input.
    arn_p, _ = p.machine("writer-paths", definition(writer="paths"))
    _, dp, events_p = p.run(arn_p)
    p.expect("ResultWriter Parameters given by paths fail the Map after its run (MapRunSucceeded, MapStateFailed), "
             "and the Map's Catch takes it", dp["status"] == "FAILED" and dp.get("error") == "WaveFailed"
             and "MapStateFailed" in [e["type"] for e in events_p], f"{dp['status']} {dp.get('error')}")

    # 3. The same without ResultWriter: what a child receives and returns.
    arn2, _ = p.machine("no-writer", definition(writer=None))
    ex2, d2, _ = p.run(arn2)
    results = json.loads(d2.get("output") or "{}").get("wave", {}).get("last")
    p.expect("without ResultWriter the Map's result is the children's outputs in item order",
             isinstance(results, list) and [r.get("batch") for r in results] == [0], results)
    first = (results or [{}])[0]
    p.expect("ItemSelector sees the Map state's input and $$.Map.Item.Value (the batch)",
             first.get("releaseId") == "r-1" and first.get("wave") == 1, first)
    p.expect("a child's $$.Execution.Id is the parent's (AWS gives each child its own)",
             first.get("ownExecution") == ex2 == first.get("parentExecution"), first)

    # 4. A failing child with ToleratedFailureCount 0: AWS fails the Map (States.ExceedToleratedFailureThreshold).
    p.s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}waves/0/batches.json",
                    Body=json.dumps([WAVES[0][0], {**WAVES[0][1], "fail": True}]))
    ex3, d3, events3 = p.run(arn2)
    out3 = json.loads(d3.get("output") or "{}")
    p.expect("a failed child does NOT fail the Map (ToleratedFailureCount is not enforced): the release goes on",
             d3["status"] == "SUCCEEDED" and "failure" not in out3, d3["status"])
    runs3 = p.sfn.list_map_runs(executionArn=ex3)["mapRuns"]
    failed = p.sfn.describe_map_run(mapRunArn=runs3[0]["mapRunArn"])["itemCounts"]["failed"] if runs3 else None
    p.expect("... the failure shows only in DescribeMapRun's itemCounts.failed", failed == 1, failed)
    exited = [json.loads(e["stateExitedEventDetails"]["output"]) for e in events3
              if e["type"] == "MapStateExited"]
    wave0 = exited[0]["wave"]["map"] if exited else None
    p.expect("... and as a null result for that child, with no MapRunFailed event",
             isinstance(wave0, list) and [r and r.get("batch") for r in wave0] == [0, None]
             and "MapRunFailed" not in [e["type"] for e in events3], wave0)
    p.s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}waves/0/batches.json", Body=json.dumps(WAVES[0]))

    # 5. ItemReader without ReaderConfig: the object's text is the "array".
    asl = definition(writer=None)
    del asl["States"]["DeployWave"]["ItemReader"]["ReaderConfig"]
    arn4, err = p.machine("no-reader-config", asl)
    if arn4:
        ex4, d4, _ = p.run(arn4)
        runs4 = p.sfn.list_map_runs(executionArn=ex4)["mapRuns"]
        total = p.sfn.describe_map_run(mapRunArn=runs4[0]["mapRunArn"])["itemCounts"]["total"] if runs4 else None
        p.expect("ItemReader without ReaderConfig iterates the object's characters: always set InputType JSON",
                 total is not None and total > len(WAVES[0]), total)


if __name__ == "__main__":
    sys.exit(main())
