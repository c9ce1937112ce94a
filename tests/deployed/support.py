"""Helpers of tests/deployed: the deployment under test, the REST API, WebSocket listeners, and
retrying for eventual consistency (terratest's retry.DoWithRetry, in Python)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

T = TypeVar("T")

TERMINAL = {"SUCCESS", "FAILED", "CANCELLED"}


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
        """The local cloud's own control API (local only: stats, fault injection)."""
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


def tasks_by_id(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["task_id"]: t for t in workflow["tasks"]}


@dataclass
class Received:
    at: float  # time.time() when the message arrived
    message: dict[str, Any]


@dataclass
class Listener:
    """A WebSocket client that records every message with its arrival time, on its own thread."""

    url: str
    messages: list[Received] = field(default_factory=list)
    ws: ClientConnection | None = None
    _thread: threading.Thread | None = None

    def __enter__(self) -> Listener:
        self.ws = connect(self.url, open_timeout=30).__enter__()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        assert self.ws is not None
        try:
            for raw in self.ws:
                try:
                    self.messages.append(Received(time.time(), json.loads(raw)))
                except ValueError:
                    self.messages.append(Received(time.time(), {"raw": raw}))
        except ConnectionClosed:
            return

    def send(self, message: dict[str, Any]) -> None:
        assert self.ws is not None
        self.ws.send(json.dumps(message))

    def updates(self, workflow_id: str) -> list[Received]:
        return [
            r
            for r in list(self.messages)
            if r.message.get("type") == "workflow_update" and r.message.get("workflow_id") == workflow_id
        ]

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
        if self._thread is not None:
            self._thread.join(10)

    def __exit__(self, *exc: object) -> None:
        self.close()
