"""Package size and a cold-start proxy of every function.

    PYTHONPATH=local python bench/coldstart.py   # bench/run.sh --coldstart starts the stack with release binaries

Sizes: the arm64 zips `tools/package.sh` leaves in build/lambda/ (a 15-minute cold cross-compile on 2 cores, so
it is read, not rebuilt; run `bash tools/package.sh` to refresh). Target: <= 4 MB each.
Cold start: `cargo lambda watch` starts a function's process on its first invoke, so the time from sending
events/<fn>.json to the first answer is process start + runtime and SDK init + one handler run. An error answer
counts: it is the start-up that is measured (the sample events name resources the stack does not have).
"""

import json
import os
import time
import urllib.request
from pathlib import Path

from convoy_local.render import function_binaries

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 4 * 1000 * 1000


def sizes() -> None:
    zips = sorted((ROOT / "build/lambda").glob("*.zip"))
    print("== arm64 deployment packages (build/lambda, from tools/package.sh)")
    if not zips:
        print("  none: run `bash tools/package.sh` (cargo lambda build --release --arm64 through sam build)")
        return
    for z in zips:
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(z.stat().st_mtime))
        size = z.stat().st_size
        print(f"  {z.stem:34} {size / 1e6:5.2f} MB  {'ok' if size <= LIMIT else 'OVER 4 MB'}  (built {stamp})")


def invoke(endpoint: str, function: str, payload: bytes) -> tuple[float, int, str]:
    req = urllib.request.Request(f"{endpoint}/2015-03-31/functions/{function}/invocations", data=payload,
                                 method="POST", headers={"Content-Type": "application/json"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=300) as answer:
            body, status = answer.read(), answer.status
            error = answer.headers.get("X-Amz-Function-Error") or ""
    except urllib.error.HTTPError as exc:
        body, status, error = exc.read(), exc.code, "HTTP error"
    seconds = time.monotonic() - started
    if error:
        try:
            error = json.loads(body).get("errorType", error)
        except ValueError:
            pass
    return seconds, status, error


def main() -> None:
    sizes()
    endpoint = os.environ.get("CONVOY_LAMBDA_ENDPOINT")
    if not endpoint:
        print("\nno CONVOY_LAMBDA_ENDPOINT: start the stack (bench/run.sh --coldstart) to time start-ups")
        return
    print("\n== first answer of each function under cargo lambda watch (release build, host target)")
    for function in function_binaries():
        payload = (ROOT / "events" / f"{function}.json").read_bytes()
        first, status, error = invoke(endpoint, function, payload)
        warm, _, _ = invoke(endpoint, function, payload)
        print(f"  {function:26} first {first * 1000:7.0f} ms   second {warm * 1000:6.0f} ms   "
              f"(HTTP {status}{', ' + error if error else ''})")


if __name__ == "__main__":
    main()
