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

from engine.config import Settings, load_settings


@dataclass
class Clients:
    dynamodb: Any
    lambda_: Any
    sqs: Any
    s3: Any
    # endpoint_url -> apigatewaymanagementapi client (the endpoint is only known from settings)
    management_api: Callable[[str], Any]


def default_clients() -> Clients:
    # Task functions run up to 15 minutes behind a synchronous invoke: the read timeout must outlast them.
    lambda_config = Config(read_timeout=910, retries={"mode": "standard", "max_attempts": 3})
    return Clients(
        dynamodb=boto3.client("dynamodb"),
        lambda_=boto3.client("lambda", config=lambda_config),
        sqs=boto3.client("sqs"),
        s3=boto3.client("s3"),
        management_api=lambda endpoint: boto3.client("apigatewaymanagementapi", endpoint_url=endpoint),
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
