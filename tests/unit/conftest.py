"""Shared fixtures: one DynamoDB Local for the session, fresh tables and a driver per test."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

# Lambda's environment for the engine's handlers, set before they are imported. The AWS SDKs must
# never reach a real endpoint from here: clients not pointed at DynamoDB Local hit a closed port.
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "POWERTOOLS_SERVICE_NAME": "orchestra",
        "POWERTOOLS_METRICS_NAMESPACE": "Orchestra/test",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "LOG_LEVEL": "WARNING",
    }
)
os.environ.pop("AWS_PROFILE", None)

from driver import (
    ARTIFACTS_KEY_ARN,
    MANAGEMENT_ENDPOINT,
    QUEUE_URL,
    WORKER_FUNCTION,
    Cloud,
    catalog_document,
)
from engine import runtime, service
from engine.handlers import api
from tables import create_tables

from localcloud.dynamodb_local import DynamoDBLocal

CORS_ORIGIN = "https://dashboard.example.com"


class Clock:
    """Wall-clock time plus an offset a test can advance (leases, backoff, TTLs)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    with DynamoDBLocal() as ddb:
        yield ddb


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tables(dynamodb_local: DynamoDBLocal) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:10]
    workflows, connections = f"workflows-{suffix}", f"connections-{suffix}"
    create_tables(boto3.client("dynamodb", **dynamodb_local.client_kwargs()), workflows, connections)
    return workflows, connections


@pytest.fixture(params=["writer", "stream"])
def dispatch_mode(request: pytest.FixtureRequest) -> str:
    """Both dispatch modes pass the same tests (orchestration.dispatch in the settings)."""
    return str(request.param)


@pytest.fixture
def cloud(
    dynamodb_local: DynamoDBLocal,
    tables: tuple[str, str],
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    dispatch_mode: str,
    tmp_path: Path,
) -> Iterator[Cloud]:
    workflows, connections = tables
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(catalog_document()))
    env = {
        "TABLE_NAME": workflows,
        "CONNECTIONS_TABLE": connections,
        "ARTIFACTS_BUCKET": "orchestra-test-artifacts",
        "ARTIFACTS_KMS_KEY_ARN": ARTIFACTS_KEY_ARN,
        "WORKER_FUNCTION_NAME": WORKER_FUNCTION,
        "RETRY_QUEUE_URL": QUEUE_URL,
        "CATALOG_FILE": str(catalog),
        "WEBSOCKET_API_ENDPOINT": MANAGEMENT_ENDPOINT,
        "CORS_ALLOW_ORIGINS": f"{CORS_ORIGIN},http://localhost:5173",
        "WORKFLOW_TTL_DAYS": "7",
        "CONNECTION_TTL_SECONDS": "7200",
        "DISPATCH_MODE": dispatch_mode,
        "WORKER_PARALLEL_TASKS": "8",
        "SWEEP_HORIZON_SECONDS": "60",
        "AUTH_MODE": "cognito",
        "AUTH_CLIENT_IDS": "dashboard-client cli-client machine-client",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runtime.reset()
    api.build_app.cache_clear()
    service.forget_definitions()  # every test starts with fresh function processes
    yield Cloud(dynamodb_local.client_kwargs(), workflows, connections, clock, dispatch_mode)
    runtime.reset()
    api.build_app.cache_clear()


def pytest_configure(config: pytest.Config) -> None:
    # Powertools warns when an invocation emits no metric (a duplicate dispatch, say): normal here.
    config.addinivalue_line("filterwarnings", "ignore:No application metrics to publish:UserWarning")
    config.addinivalue_line(
        "markers", "any_dispatch: the dispatch mode plays no part (bad input, CORS): run in one mode only"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        mode = callspec.params.get("dispatch_mode") if callspec else None
        if item.get_closest_marker("any_dispatch") and mode == "stream":
            config.hook.pytest_deselected(items=[item])
            continue
        keep.append(item)
    items[:] = keep
