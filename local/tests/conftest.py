"""Fixtures of the local simulator's tests: one moto server (convoy_local.moto_server) for the whole session.

    .tools/venv/bin/python -m pytest -q -p no:cacheprovider local/tests

Each test works on its own cluster and service names, so the tests share the server without a reset.
"""

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "local"
sys.path.insert(0, str(LOCAL))

import boto3  # noqa: E402
from convoy_local.control import REGION, Moto  # noqa: E402

STARTUP_SECONDS = 60


@pytest.fixture(scope="session")
def moto_url():
    """The base URL (http://127.0.0.1:PORT) of a moto server started for the session, on a free port."""
    env = {**os.environ, "PYTHONPATH": str(LOCAL)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "convoy_local.moto_server", "--port", "0", "--exit-with-parent", "--quiet"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )
    try:
        deadline, line = time.monotonic() + STARTUP_SECONDS, ""
        # The server prints exactly one line once it listens; select so a hung start fails instead of blocking.
        while not line and time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                line = proc.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            raise RuntimeError(f"moto server did not start (exit code {proc.poll()}, said {line!r})")
        yield match.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def boto_client(moto_url):
    """boto_client("ecs", **kwargs): a boto3 client on the session's moto, with test credentials (kwargs go to
    boto3.client, e.g. config=botocore.config.Config(retries={"total_max_attempts": 1}))."""

    def make(name: str, **kwargs):
        return boto3.client(name, endpoint_url=moto_url, region_name=REGION, aws_access_key_id="testing",
                            aws_secret_access_key="testing", **kwargs)

    return make


@pytest.fixture
def moto_control(moto_url) -> Moto:
    """The simulator's control endpoints (/_fault/..., /_stats/...) of the session's moto."""
    return Moto(moto_url)
