"""What the handlers share: settings (validated once per cold start), AWS clients, the clock.

The seam for tests is `configure(clients=..., clock=...)`: the test driver passes its own Lambda,
SQS and Management API clients to capture what the handlers ask for. Nothing else is patched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from engine.config import MAX_WORKER_PARALLEL_TASKS, Settings, load_settings


@dataclass
class Clients:
    dynamodb: Any
    lambda_: Any  # dispatch: asynchronous invokes of the worker
    sqs: Any
    s3: Any
    # endpoint_url -> apigatewaymanagementapi client (the endpoint is only known from settings)
    management_api: Callable[[str], Any]
    # read timeout (s) -> the Lambda client the worker invokes a task function with
    task_lambda: Callable[[int], Any] | None = None

    def task_client(self, read_timeout: int) -> Any:
        return self.task_lambda(read_timeout) if self.task_lambda else self.lambda_


_task_clients: dict[int, Any] = {}
_task_clients_lock = threading.Lock()


def _task_lambda(read_timeout: int) -> Any:
    # The attempt's deadline bounds the wait, and the SDK never retries: a retried invoke would run the
    # attempt twice. (Stays under the 350 s idle timeout of NAT gateways: task timeouts are at most 300 s.)
    # The worker's task threads ask for clients at once: creating one is not thread-safe, using it is.
    with _task_clients_lock:
        if read_timeout not in _task_clients:
            config = Config(
                connect_timeout=5,
                read_timeout=read_timeout,
                retries={"total_max_attempts": 1},
                max_pool_connections=MAX_WORKER_PARALLEL_TASKS,  # one connection per task thread
            )
            _task_clients[read_timeout] = boto3.client("lambda", config=config)
        return _task_clients[read_timeout]


def default_clients() -> Clients:
    # Broadcasts are best effort and must not hold up a stream batch: short timeouts, one retry.
    management = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 2})
    return Clients(
        dynamodb=boto3.client("dynamodb"),
        lambda_=boto3.client("lambda", config=Config(retries={"mode": "standard", "max_attempts": 3})),
        sqs=boto3.client("sqs"),
        s3=boto3.client("s3"),
        management_api=lambda endpoint: boto3.client(
            "apigatewaymanagementapi", endpoint_url=endpoint, config=management
        ),
        task_lambda=_task_lambda,
    )


_lock = threading.Lock()
_clients: Clients | None = None
_clock: Callable[[], float] = time.time


def clients() -> Clients:
    global _clients
    with _lock:
        if _clients is None:
            _clients = default_clients()
        return _clients


def clock() -> float:
    return _clock()


def configure(*, clients: Clients | None = None, clock: Callable[[], float] | None = None) -> None:
    """Replace the AWS clients and/or the clock (tests); `reset()` returns to the defaults."""
    global _clients, _clock
    with _lock:
        if clients is not None:
            _clients = clients
        if clock is not None:
            _clock = clock


def reset() -> None:
    global _clients, _clock
    with _lock:
        _clients = None
        _clock = time.time
    settings.cache_clear()


@cache
def settings(function: str) -> Settings:
    return load_settings(function)
