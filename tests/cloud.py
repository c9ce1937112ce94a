"""The deployment under test, shared by tests/deployed and tests/e2e (a pytest plugin: each suite's
conftest lists it in `pytest_plugins`).

By default the session starts the local cloud once (`python -m localcloud up --stack dev`) and
reads the outputs it writes. `--outputs FILE` points the same tests at any deployment's
`cdktf deploy --outputs-file` output instead (AWS SDK calls then use the usual AWS environment:
credentials, region). Tests that need the local cloud's own control API (fault injection, dropped
WebSocket connections) take the `local_only` fixture: they are skipped, with the reason shown,
when the outputs belong to a real deployment.

Also here: the REST API client and retrying for eventual consistency (terratest's
retry.DoWithRetry, in Python).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 120.0
TERMINAL = {"SUCCESS", "FAILED", "CANCELLED"}

T = TypeVar("T")


# --- retrying ---------------------------------------------------------------------------------


class NotYet(AssertionError):
    """Raised by a check that should be retried."""


def eventually(check: Callable[[], T], *, timeout: float = 60.0, interval: float = 0.5, what: str = "") -> T:
    """Call `check` until it returns without raising AssertionError; return its value. After
    `timeout` seconds the last failure is raised, prefixed with `what`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError as exc:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{what or check.__name__}: still failing after {timeout:.0f}s: {exc}"
                ) from exc
        time.sleep(interval)


# --- the deployment and its REST API ----------------------------------------------------------


@dataclass
class Deployment:
    outputs: dict[str, Any]
    local: dict[str, Any] | None  # the local cloud's endpoints; None for a real deployment
    clients: dict[str, Any]

    @property
    def is_local(self) -> bool:
        return self.local is not None

    @property
    def api_url(self) -> str:
        return str(self.outputs["api_url"]).rstrip("/")

    @property
    def websocket_url(self) -> str:
        return str(self.outputs["websocket_url"])

    @property
    def dashboard_url(self) -> str:
        return str(self.outputs["dashboard_url"]).rstrip("/")

    def function_name(self, role: str) -> str:
        return str(self.outputs["function_names"][role])

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """The local cloud's own control API (local only: stats, fault injection, dropping
        WebSocket connections). A body makes it a POST."""
        assert self.local is not None
        url = f"{self.local['control']}/{path}"
        response = (
            requests.post(url, json=body, timeout=10) if body is not None else requests.get(url, timeout=10)
        )
        response.raise_for_status()
        return response.json()


class Api:
    """The REST API. Retries only what a client must retry: 429 from the stage's throttling."""

    def __init__(self, base: str, origin: str) -> None:
        self.base = base
        self.origin = origin
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 35)
        for attempt in range(8):
            response = self.session.request(method, self.base + path, **kwargs)
            if response.status_code != 429:
                return response
            time.sleep(0.2 * 2**attempt)
        return response

    def create(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        body = {"workflowId": f"wf-test-{uuid.uuid4().hex[:12]}", **(body or {})}
        response = self.request("POST", "/workflows", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def get(self, workflow_id: str) -> dict[str, Any]:
        response = self.request("GET", f"/workflows/{workflow_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait(self, workflow_id: str, statuses: set[str] = TERMINAL, timeout: float = 90) -> dict[str, Any]:
        def reached() -> dict[str, Any]:
            workflow = self.get(workflow_id)
            if workflow["status"] not in statuses:
                raise NotYet(f"{workflow_id} is {workflow['status']}")
            return workflow

        return eventually(
            reached, timeout=timeout, interval=0.3, what=f"{workflow_id} reaching {sorted(statuses)}"
        )


# --- the plugin: options and fixtures ---------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("deployment")
    group.addoption("--outputs", type=Path, help="outputs file of a deployment (cdktf --outputs-file format)")
    group.addoption("--stack", default="dev", help="stack to run locally, or to read from the outputs file")
    group.addoption(
        "--dispatch",
        choices=("writer", "stream"),
        help="run the local cloud in this dispatch mode (default: the stack's orchestration.dispatch)",
    )


def _local_endpoints(outputs: Path) -> dict[str, Any] | None:
    """The endpoints a running local cloud writes beside its outputs file (None for AWS)."""
    sidecar = outputs.with_name(outputs.name.removesuffix(".json") + ".endpoints.json")
    return json.loads(sidecar.read_text()) if sidecar.exists() else None


def _read(outputs: Path, stack: str) -> dict[str, Any]:
    document = json.loads(outputs.read_text())
    if stack in document:
        return dict(document[stack])
    if len(document) == 1:
        return dict(next(iter(document.values())))
    raise pytest.UsageError(f"{outputs} has stacks {sorted(document)}; pick one with --stack")


def _clients(local: dict[str, Any] | None) -> dict[str, Any]:
    def client(service: str) -> Any:
        if local is None:
            return boto3.client(service)
        url = {
            "dynamodb": local["dynamodb"],
            "dynamodbstreams": local["dynamodb"],
            "lambda": local["lambda"],
        }.get(service, local["sqs"])
        credentials = local["credentials"]
        return boto3.client(
            service,
            endpoint_url=url,
            region_name=local["region"],
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
        )

    return {service: client(service) for service in ("dynamodb", "dynamodbstreams", "sqs", "lambda")}


@pytest.fixture(scope="session")
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    stack = request.config.getoption("--stack")
    given: Path | None = request.config.getoption("--outputs")
    if given is not None:
        local = _local_endpoints(given)
        yield Deployment(_read(given, stack), local, _clients(local))
        return
    work = tmp_path_factory.mktemp("localcloud")
    outputs = work / "outputs.json"
    log_path = work / "localcloud.log"
    dispatch = request.config.getoption("--dispatch")
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "localcloud",
                "up",
                "--stack",
                stack,
                "--outputs",
                str(outputs),
                *(["--dispatch", dispatch] if dispatch else []),
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not outputs.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the local cloud did not start:\n{log_path.read_text()}", pytrace=False)
            time.sleep(0.2)
        local = _local_endpoints(outputs)
        yield Deployment(_read(outputs, stack), local, _clients(local))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="session")
def api(deployment: Deployment) -> Api:
    return Api(deployment.api_url, origin=deployment.dashboard_url)


@pytest.fixture
def local_only(deployment: Deployment) -> Deployment:
    if not deployment.is_local:
        pytest.skip("needs the local cloud's control API; --outputs points at a real deployment")
    return deployment
