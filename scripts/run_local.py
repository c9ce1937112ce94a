"""Start the local cloud for a script (bench, soak, fuzz) and stop it again, by PID."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def local_cloud(
    stack: str, *options: str, label: str = ""
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(outputs of the stack, the local endpoints) of a local cloud running with `options`."""
    with tempfile.TemporaryDirectory() as scratch:
        outputs = Path(scratch) / "outputs.json"
        log_path = Path(scratch) / "localcloud.log"
        command: Sequence[str] = [
            sys.executable,
            "-m",
            "localcloud",
            "up",
            "--stack",
            stack,
            "--outputs",
            str(outputs),
        ]
        with log_path.open("w") as log:
            process = subprocess.Popen([*command, *options], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            started = time.monotonic()
            while not outputs.exists():
                if process.poll() is not None or time.monotonic() - started > 180:
                    raise RuntimeError(f"the local cloud did not start:\n{log_path.read_text()}")
                time.sleep(0.2)
            print(f"local cloud {label}ready in {time.monotonic() - started:.1f} s", flush=True)
            endpoints = json.loads(outputs.with_name("outputs.endpoints.json").read_text())
            yield json.loads(outputs.read_text())[stack], endpoints
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def local_clients(endpoints: dict[str, Any], *services: str) -> dict[str, Any]:
    """boto3 clients of the local cloud's emulators (its own credentials: unchecked, unmetered)."""
    credentials = endpoints["credentials"]
    urls = {"sqs": endpoints["sqs"], "lambda": endpoints["lambda"]}
    return {
        service: boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=urls.get(service, endpoints["dynamodb"]),
            region_name=endpoints["region"],
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
        )
        for service in services
    }


def machine_token(endpoints: dict[str, Any]) -> str | None:
    """A client-credentials access token of the stack's machine client (None when the stack has no
    sign-in): scripts call the APIs as a CI job would."""
    import base64
    import urllib.parse
    import urllib.request

    machine = endpoints.get("machine_client")
    if not machine:
        return None
    credentials = base64.b64encode(f"{machine['client_id']}:{machine['client_secret']}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - the local cloud's own token endpoint
        f"{endpoints['oauth2_domain']}/oauth2/token",
        data=urllib.parse.urlencode({"grant_type": "client_credentials"}).encode(),
        headers={
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return str(json.loads(response.read())["access_token"])
