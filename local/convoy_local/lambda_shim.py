"""Lambda Invoke semantics in front of `cargo lambda watch`, for moto's Step Functions engine.

    PYTHONPATH=local python -m convoy_local.lambda_shim --port 9001 --upstream 127.0.0.1:9000 \
        --fallback 127.0.0.1:5000

Why: cargo-lambda only knows bare binary names (an ARN or `name:qualifier` is a 404), and answers a function
error with HTTP 500, which AWS SDKs treat as a retryable service fault, so Retry/Catch on the function's error
name would never match. Real Lambda answers 200 with `X-Amz-Function-Error: Unhandled` and the error body.

  POST /2015-03-31/functions/<ARN | name[:qualifier]>/invocations  -> upstream, by bare function name
  anything else                                                    -> fallback (moto), unchanged

When the function server is down or dies during an invocation (a crash, a restart), the Task must fail with
the error AWS would name, which the state machine retries: `Lambda.ServiceException` when nothing answers,
`Runtime.ExitError` when the connection drops mid-invocation (the function's process exited). moto's engine
names a failed Task from a function error's `errorType` (200 + X-Amz-Function-Error); an HTTP error status
from Invoke would become the error `Exception` (moto 5.2.5, StateTaskLambda._from_error), which no Retry
matches. So the shim answers both as function errors carrying the AWS error name.
"""

import argparse
import http.client
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote

from convoy_local.serve import serve_until_interrupted

INVOKE = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations")
ARN = re.compile(r"^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(:.*)?$")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


def function_name(raw: str) -> str:
    """`arn:aws:lambda:us-east-1:123456789012:function:plan-release:live` -> `plan-release`."""
    name = unquote(raw)
    match = ARN.match(name)
    return match.group(1) if match else name.split(":")[0]


def unreachable_answer(exc: Exception, sent: bool, where: str) -> bytes:
    """The function error body for an upstream that is down (`sent` False) or died mid-invocation."""
    error_type = "Runtime.ExitError" if sent else "Lambda.ServiceException"
    return json.dumps({"errorType": error_type,
                       "errorMessage": f"lambda shim: function server {where} unreachable: {exc}"}).encode()


def lambda_answer(status: int, body: bytes) -> tuple[int, dict[str, str]]:
    """Status and headers real Lambda would send for cargo-lambda's answer."""
    headers = {"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST"}
    if status >= 500:
        try:
            error = json.loads(body)
        except ValueError:
            error = None
        if isinstance(error, dict) and "errorType" in error:
            return 200, {**headers, "X-Amz-Function-Error": "Unhandled"}
    if status == 404:
        headers["x-amzn-ErrorType"] = "ResourceNotFoundException"
    return status, headers


class Shim(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream: tuple[str, int]
    fallback: tuple[str, int]
    quiet = False

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        invoke = INVOKE.match(self.path)
        if invoke:
            name = function_name(invoke.group(1))
            host, port = self.upstream
            path = self.path.replace(invoke.group(1), quote(name, safe=""), 1)
        else:
            host, port = self.fallback
            path = self.path
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = f"{host}:{port}"
        sent = False
        try:
            # no timeout: the first invoke of a function may compile it for minutes
            conn = http.client.HTTPConnection(host, port, timeout=None)
            conn.request(self.command, path, body=body, headers=headers)
            sent = True
            answer = conn.getresponse()
            status, payload = answer.status, answer.read()
            answer_headers = {k: v for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP}
            conn.close()
        except (OSError, http.client.HTTPException) as exc:
            if invoke:
                status, payload = 500, unreachable_answer(exc, sent, f"{host}:{port}")
            else:
                status, payload = 502, json.dumps({"message": f"lambda shim: {host}:{port} unreachable: {exc}"}).encode()
            answer_headers = {"Content-Type": "application/json"}
        if invoke:
            status, answer_headers = lambda_answer(status, payload)
            if not self.quiet:
                print(f"lambda shim: invoke {name} -> {status} {answer_headers.get('X-Amz-Function-Error', '')}",
                      file=sys.stderr, flush=True)
        answer_headers.pop("Content-Length", None)
        self.send_response(status)
        for key, value in answer_headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass


def address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9001)
    ap.add_argument("--upstream", default="127.0.0.1:9000", help="cargo lambda watch")
    ap.add_argument("--fallback", default="127.0.0.1:5000", help="moto, for every non-Invoke request")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    Shim.upstream, Shim.fallback, Shim.quiet = address(args.upstream), address(args.fallback), args.quiet
    server = ThreadingHTTPServer((args.host, args.port), Shim)
    server.daemon_threads = True
    serve_until_interrupted(server, f"lambda shim listening on http://{args.host}:{server.server_port} -> "
                                    f"{args.upstream}")


if __name__ == "__main__":
    main()
