"""Helpers of the local cloud's tests: an event loop in a background thread (the emulators run on
it; tests drive them from the test thread with production clients), a running cloud, retries."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config

from localcloud import iam
from localcloud.cloud import LocalCloud

T = TypeVar("T")


class Loop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="localcloud-test-loop", daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def call(self, function: Callable[[], T]) -> T:
        async def wrapper() -> T:
            return function()

        return self.run(wrapper())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@dataclass
class Running:
    cloud: LocalCloud
    root: Path
    records: Path
    outputs: dict[str, Any]

    def client(self, service: str, **config: Any) -> Any:
        assert self.cloud.plan is not None
        return self.cloud.endpoints.client(service, self.cloud.plan.region, **config)

    def as_function(self, function: str, service: str) -> Any:
        """A boto3 client signed as a function's role session, at the endpoint that function uses:
        what the function's own code would get (one attempt: denials are not retried anyway)."""
        assert self.cloud.lambdas is not None and self.cloud.plan is not None
        variable = "AWS_ENDPOINT_URL_" + {"dynamodbstreams": "DYNAMODB_STREAMS"}.get(service, service.upper())
        credentials = iam.credentials(function)
        factory: Any = boto3.client
        return factory(
            service,
            endpoint_url=self.cloud.lambdas.endpoint_environment[variable],
            region_name=self.cloud.plan.region,
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
            config=Config(retries={"max_attempts": 1}),
        )

    def recorded(self, name: str) -> list[dict[str, Any]]:
        path = self.records / f"{name}.jsonl"
        if not path.exists():
            return []
        # A function may be appending while we read: a last line without its newline is not whole yet.
        complete = path.read_text().rpartition("\n")[0]
        return [json.loads(line) for line in complete.splitlines() if line.strip()]


def eventually(check: Callable[[], T], timeout: float = 20.0, interval: float = 0.1) -> T:
    """Retry `check` until it returns a truthy value without raising; the last failure otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
            error: BaseException = AssertionError(f"{check} stayed falsy: {result!r}")
        except (AssertionError, KeyError, IndexError, StopIteration) as exc:
            error = exc
        if time.monotonic() > deadline:
            raise error
        time.sleep(interval)


def events(running: Running, connection_id: str) -> list[dict[str, Any]]:
    """What the fixture's WebSocket function recorded of one connection."""
    return [e for e in running.recorded("ws") if e["requestContext"]["connectionId"] == connection_id]


def connection_id_of(running: Running, ws: Any) -> str:
    """The id API Gateway gave this client: from the $default event the function recorded."""
    ws.send("who am i")
    reply = json.loads(ws.recv(timeout=20))
    assert reply == {"route": "$default"}
    mine = [
        e
        for e in running.recorded("ws")
        if e["requestContext"]["routeKey"] == "$default" and e.get("body") == "who am i"
    ]
    return str(mine[-1]["requestContext"]["connectionId"])
