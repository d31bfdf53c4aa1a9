"""The local moto server as tests, the benchmark and the scripts see it: AWS clients with test credentials, and
the simulator's control endpoints (/_fault/..., /_seed/..., /_stats/..., /moto-api/reset; moto_server.py)."""

import json
import os
import urllib.request

import boto3

ACCOUNT = "123456789012"
REGION = "us-east-1"
DEFAULT_ENDPOINT = "http://127.0.0.1:5000"


def endpoint_from_env() -> str:
    """The stack's moto: $CONVOY_MOTO_ENDPOINT (.local-stack/env sets it), else the default port."""
    return os.environ.get("CONVOY_MOTO_ENDPOINT", DEFAULT_ENDPOINT)


def client(service: str, endpoint: str):
    """A boto3 client of `service` on the moto at `endpoint`, with test credentials."""
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


class Moto:
    """One local moto server."""

    def __init__(self, endpoint: str, timeout: float = 60):
        self.endpoint, self.timeout = endpoint, timeout

    def client(self, service: str):
        return client(service, self.endpoint)

    def request(self, method: str, path: str, body=None):
        """JSON in, JSON out (None for an empty answer)."""
        data = json.dumps(body or {}).encode() if method == "POST" else None
        request = urllib.request.Request(self.endpoint + path, method=method, data=data,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=self.timeout) as answer:
            text = answer.read()
        return json.loads(text) if text.strip() else None

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, body=None):
        return self.request("POST", path, body)

    def reset(self) -> None:
        """Forgets moto's state (the records bucket and state machines too) and every armed fault."""
        self.post("/moto-api/reset")
        self.post("/_fault/reset")

    def calls(self, operation: str) -> int:
        """Requests received for `operation` ("RegisterTaskDefinition" or "ecs.RegisterTaskDefinition")."""
        stats = self.get("/_stats/calls")
        return sum(n for key, n in stats.items() if key == operation or key.endswith("." + operation))

    def mark_rolled_out(self, cluster: str, service: str, count: int) -> None:
        """The service as after a finished rollout: `count` tasks running, none pending, COMPLETED."""
        self.post("/_fault/ecs/service", {"cluster": cluster, "service": service, "runningCount": count,
                                          "pendingCount": 0, "rolloutState": "COMPLETED"})
