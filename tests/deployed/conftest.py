"""tests/deployed: terratest-style tests of a running deployment, read from its outputs file.

By default the session starts the local cloud once (`python -m localcloud up --stack dev`) and
reads the outputs it writes. `--outputs FILE` points the same tests at any deployment's
`cdktf deploy --outputs-file` output instead (AWS SDK calls then use the usual AWS environment:
credentials, region). A few tests need the local cloud's own control API (fault injection): they
are skipped, with the reason shown, when the outputs belong to a real deployment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from support import Api, Deployment

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "late: runs after the other tests (it waits for work started early)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Slow faults are started by a session fixture before the first test and checked last, so
    # their minute of waiting overlaps with the other tests instead of adding to them.
    items.sort(key=lambda item: item.get_closest_marker("late") is not None)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("deployed")
    group.addoption("--outputs", type=Path, help="outputs file of a deployment (cdktf --outputs-file format)")
    group.addoption("--stack", default="dev", help="stack to run locally, or to read from the outputs file")


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
    # default=: the options exist only when pytest starts in tests/deployed (nox -s deployed).
    stack = request.config.getoption("--stack", default="dev")
    given: Path | None = request.config.getoption("--outputs", default=None)
    if given is not None:
        local = _local_endpoints(given)
        yield Deployment(_read(given, stack), local, _clients(local))
        return
    work = tmp_path_factory.mktemp("localcloud")
    outputs = work / "outputs.json"
    log_path = work / "localcloud.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "localcloud", "up", "--stack", stack, "--outputs", str(outputs)],
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
        pytest.skip("needs the local cloud's fault injection; --outputs points at a real deployment")
    return deployment


@pytest.fixture(scope="session", autouse=True)
def timed_out_workflow(deployment: Deployment, api: Api) -> dict[str, object]:
    """Started before the first test: a task that sleeps past its function's timeout. Checked by
    the `late` test in test_faults.py, a minute later."""
    name = deployment.function_name("task-b2")
    timeout = int(deployment.clients["lambda"].get_function_configuration(FunctionName=name)["Timeout"])
    definition = {
        "tasks": [
            {
                "id": "SLOW",
                "function": "task-b2",
                "depends_on": [],
                "retry": {"max_attempts": 1, "backoff": 0},
                "timeout_seconds": min(840, timeout + 60),  # the engine's lease outlasts Lambda's timeout
            }
        ]
    }
    created = api.create(
        {"definition": definition, "input": {"simulate": {"SLOW": {"sleep_ms": (timeout + 2) * 1000}}}}
    )
    return {"workflow_id": created["workflow_id"], "timeout": timeout, "started": time.monotonic()}
