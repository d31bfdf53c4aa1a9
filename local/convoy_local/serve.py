"""How the local servers (moto_server, lambda_shim) run once bound."""


def serve_until_interrupted(server, announcement: str) -> None:
    """Prints `announcement` (one line on stdout: local/stack.sh and convoy-testkit wait for it), then serves
    until interrupted."""
    print(announcement, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
