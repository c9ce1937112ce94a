"""Settings read from the environment variables in docs/architecture.md, validated once per cold start.

Each function requires the variables the contract gives it and fails fast, naming the variable,
when one is missing or malformed. Variables a function does not need are read when present.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import catalog
from engine.catalog import Catalog, TaskFunction
from engine.definitions import NamedDefinition
from engine.errors import ConfigError

__all__ = ["Settings", "TaskFunction", "load_settings"]
DISPATCH_MODES = ("writer", "stream")
# One worker runs at most this many kept tasks at once (settings orchestration.worker_parallel_tasks).
MAX_WORKER_PARALLEL_TASKS = 16
# A relative CATALOG_FILE is found beside the engine package: the root of the code package.
CODE_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    table_name: str = ""
    connections_table: str = ""
    artifacts_bucket: str = ""
    artifacts_kms_key_arn: str = ""
    worker_function_name: str = ""
    retry_queue_url: str = ""
    catalog: Catalog = field(default_factory=Catalog)
    websocket_api_endpoint: str = ""
    cors_allow_origins: tuple[str, ...] = ()
    workflow_ttl_days: int = 30
    connection_ttl_seconds: int = 7200
    dispatch_mode: str = "writer"
    sweep_horizon_seconds: int = 120
    # How many kept tasks one worker runs at once (settings orchestration.worker_parallel_tasks).
    worker_parallel_tasks: int = 8
    # "cognito": callers are signed in and their claims decide (engine.auth); "none": anyone may do
    # anything (auth.mode = "none"). Absent means "cognito": a missing variable must not open the API.
    auth_mode: str = "cognito"
    user_pool_issuer: str = ""
    authorizer_scopes: tuple[str, ...] = ()
    # The stack's app clients: a token issued to any other client of the pool is refused (the
    # access token's `client_id`, as Cognito's guide to verifying tokens asks). Empty: none is.
    auth_client_ids: tuple[str, ...] = ()

    @property
    def task_functions(self) -> Mapping[str, TaskFunction]:
        return self.catalog.functions

    @property
    def definitions(self) -> Mapping[str, NamedDefinition]:
        return self.catalog.definitions


def _text(name: str, raw: str) -> str:
    if not raw.strip():
        raise ConfigError(f"{name} is empty")
    return raw.strip()


def _positive_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a positive integer, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {raw!r}")
    return value


def _parallel_tasks(name: str, raw: str) -> int:
    value = _positive_int(name, raw)
    if value > MAX_WORKER_PARALLEL_TASKS:
        raise ConfigError(f"{name} must be at most {MAX_WORKER_PARALLEL_TASKS}, got {raw!r}")
    return value


def _key_arn(name: str, raw: str) -> str:
    # A key ARN, not an alias: the artifacts bucket policy compares the key id header with it.
    if not re.fullmatch(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+", raw.strip()):
        raise ConfigError(
            f"{name} must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), got {raw!r}"
        )
    return raw.strip()


def _url(name: str, raw: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", raw.strip()):
        raise ConfigError(f"{name} must be an http(s) URL, got {raw!r}")
    return raw.strip().rstrip("/")


def _origins(name: str, raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if origin != "*" and not re.fullmatch(r"https?://[^\s/,]+", origin):
            raise ConfigError(f"{name}: {origin!r} is not an origin like https://example.com")
    return origins


def _catalog(name: str, raw: str) -> Catalog:
    path = Path(_text(name, raw))
    return catalog.load(path if path.is_absolute() else CODE_ROOT / path)


def _dispatch_mode(name: str, raw: str) -> str:
    if raw.strip() not in DISPATCH_MODES:
        raise ConfigError(f"{name} must be one of {', '.join(DISPATCH_MODES)}, got {raw!r}")
    return raw.strip()


def _auth_mode(name: str, raw: str) -> str:
    if raw.strip() not in ("cognito", "none"):
        raise ConfigError(f"{name} must be cognito or none, got {raw!r}")
    return raw.strip()


def _words(name: str, raw: str) -> tuple[str, ...]:
    words = tuple(raw.split())
    if not words:
        raise ConfigError(f"{name} is empty")
    return words


_PARSERS: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "TABLE_NAME": ("table_name", _text),
    "CONNECTIONS_TABLE": ("connections_table", _text),
    "ARTIFACTS_BUCKET": ("artifacts_bucket", _text),
    "ARTIFACTS_KMS_KEY_ARN": ("artifacts_kms_key_arn", _key_arn),
    "WORKER_FUNCTION_NAME": ("worker_function_name", _text),
    "RETRY_QUEUE_URL": ("retry_queue_url", _url),
    "CATALOG_FILE": ("catalog", _catalog),
    "WEBSOCKET_API_ENDPOINT": ("websocket_api_endpoint", _url),
    "CORS_ALLOW_ORIGINS": ("cors_allow_origins", _origins),
    "WORKFLOW_TTL_DAYS": ("workflow_ttl_days", _positive_int),
    "CONNECTION_TTL_SECONDS": ("connection_ttl_seconds", _positive_int),
    "DISPATCH_MODE": ("dispatch_mode", _dispatch_mode),
    "SWEEP_HORIZON_SECONDS": ("sweep_horizon_seconds", _positive_int),
    "WORKER_PARALLEL_TASKS": ("worker_parallel_tasks", _parallel_tasks),
    "AUTH_MODE": ("auth_mode", _auth_mode),
    "USER_POOL_ISSUER": ("user_pool_issuer", _url),
    "AUTHORIZER_SCOPES": ("authorizer_scopes", _words),
    "AUTH_CLIENT_IDS": ("auth_client_ids", _words),
}

# Which function reads what (docs/architecture.md, "Environment variables").
REQUIRED: dict[str, tuple[str, ...]] = {
    "api": (
        "TABLE_NAME",
        "ARTIFACTS_BUCKET",
        "CATALOG_FILE",
        "CORS_ALLOW_ORIGINS",
        "WORKFLOW_TTL_DAYS",
        "WORKER_FUNCTION_NAME",
        "RETRY_QUEUE_URL",
        "DISPATCH_MODE",
    ),
    "orchestrator": (
        "TABLE_NAME",
        "CONNECTIONS_TABLE",
        "WORKER_FUNCTION_NAME",
        "RETRY_QUEUE_URL",
        "CATALOG_FILE",
        "WEBSOCKET_API_ENDPOINT",
        "WORKFLOW_TTL_DAYS",
        "DISPATCH_MODE",
    ),
    "worker": (
        "TABLE_NAME",
        "ARTIFACTS_BUCKET",
        "ARTIFACTS_KMS_KEY_ARN",
        "CATALOG_FILE",
        "WORKER_FUNCTION_NAME",
        "RETRY_QUEUE_URL",
        "WORKFLOW_TTL_DAYS",
        "DISPATCH_MODE",
        "WORKER_PARALLEL_TASKS",
    ),
    "reaper": (
        "TABLE_NAME",
        "WORKER_FUNCTION_NAME",
        "RETRY_QUEUE_URL",
        "WORKFLOW_TTL_DAYS",
        "DISPATCH_MODE",
        "SWEEP_HORIZON_SECONDS",
    ),
    "websocket": ("CONNECTIONS_TABLE", "CONNECTION_TTL_SECONDS"),
    "authorizer": ("USER_POOL_ISSUER", "AUTHORIZER_SCOPES", "AUTH_CLIENT_IDS"),
}


def load_settings(function: str, environ: Mapping[str, str] | None = None) -> Settings:
    """Parse every known variable that is set; fail naming the first required one that is absent."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name in REQUIRED[function]:
        if name not in env:
            raise ConfigError(f"environment variable {name} is not set (the {function} function needs it)")
    for name, (attribute, parse) in _PARSERS.items():
        if name not in env:
            continue
        values[attribute] = parse(name, env[name])
    return Settings(**values)
