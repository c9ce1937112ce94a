"""Helpers of tests/deployed: WebSocket listeners and task lookups. The deployment, the REST API
and retrying are shared with tests/e2e: `tests/cloud.py`."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect


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

    def replies(self) -> list[dict[str, Any]]:
        """What the gateway sent back for this client's own messages (everything but broadcasts)."""
        return [r.message for r in list(self.messages) if r.message.get("type") != "workflow_update"]

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
        if self._thread is not None:
            self._thread.join(10)

    def __exit__(self, *exc: object) -> None:
        self.close()
