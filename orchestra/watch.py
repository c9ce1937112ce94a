"""Following one workflow live: the WebSocket's updates, turned into one event per task transition.

The client subscribes to the workflow (`{"action": "subscribe", "workflow_id": ...}` on
`<websocket_url>?token=<access token>`) and reads `workflow_update` messages, ordered by the state
item's `version` (a stale or repeated one is dropped). Broadcasts are best effort (docs/architecture.md),
so the client also reads the workflow from the REST API when it subscribes and whenever the socket is
quiet for a while or drops; a transition it missed on the socket is still reported, from the
difference. It ends when the workflow is SUCCESS, FAILED or CANCELLED.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from orchestra.client import REMOTE, TERMINAL, Api, CliError

QUIET_SECONDS = 5.0  # read the workflow from the API after this long without an update
QUIET_MAX_SECONDS = 40.0  # ... doubling while it stays quiet, up to this
RECONNECTS = 5
SUBSCRIBE_SECONDS = 15.0


@dataclass(frozen=True)
class Transition:
    at: float  # time.time() when the client saw it
    task_id: str
    before: str | None  # None: the task's status when the client started watching
    after: str
    attempt: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "task",
            "at": round(self.at, 3),
            "task_id": self.task_id,
            "from": self.before,
            "to": self.after,
            "attempt": self.attempt,
        }


@dataclass
class Tracker:
    """The statuses seen so far; each newer image yields the tasks whose status changed."""

    version: int = -1
    status: str = ""
    tasks: dict[str, str] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    # False when watching a workflow that started earlier: its first image is where it stands, not a
    # change from PENDING (a task still PENDING then says nothing).
    from_start: bool = True

    def apply(
        self,
        version: int,
        status: str,
        tasks: Sequence[tuple[str, str, int | None]],
        at: float,
    ) -> list[Transition]:
        """tasks: (task id, status, attempt or None when the image does not say)."""
        if version <= self.version:
            return []  # stale or repeated (the socket and the API can both tell the same change)
        first = self.version < 0
        self.version, self.status = version, status
        found = []
        for task_id, task_status, attempt in tasks:
            before: str | None = self.tasks.get(task_id, "PENDING")
            if first and not self.from_start:
                before = None if task_status != "PENDING" else "PENDING"
            if attempt is not None:
                # The API's attempt of a task not yet running is the one it will run as.
                known = attempt - 1 if task_status in ("PENDING", "READY") else attempt
            else:  # the broadcast carries no attempt: count the runs seen (one per start of a run,
                # also when an update between was missed and READY goes straight to an end)
                started = before in ("PENDING", "READY") and task_status in ("RUNNING", "SUCCEEDED", "FAILED")
                known = self.attempts.get(task_id, 0) + started
            known = max(known, 0)
            if task_status != before:
                shown = known if task_status in ("RUNNING", "SUCCEEDED", "FAILED") and known else None
                found.append(Transition(at, task_id, before, task_status, shown))
            self.tasks[task_id] = task_status
            self.attempts[task_id] = known
        return found

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


def from_view(tracker: Tracker, workflow: dict[str, Any], at: float) -> list[Transition]:
    tasks = [(t["task_id"], t["status"], t.get("attempt")) for t in workflow.get("tasks", [])]
    return tracker.apply(int(workflow["version"]), str(workflow["status"]), tasks, at)


def from_update(tracker: Tracker, message: dict[str, Any], at: float) -> list[Transition]:
    data = message.get("data") or {}
    tasks = [(t["taskId"], t["status"], None) for t in data.get("tasks", [])]
    return tracker.apply(int(data.get("version", -1)), str(data.get("status", "")), tasks, at)


class Follower:
    """Yields the transitions of one workflow until it finishes; `final` is then its last view."""

    def __init__(
        self,
        api: Api,
        websocket_url: str | None,
        workflow_id: str,
        clock: Callable[[], float] = time.time,
        *,
        from_start: bool = True,
    ) -> None:
        if not websocket_url:
            raise CliError(
                "following a workflow needs the WebSocket URL (websocket_url output or --websocket-url)"
            )
        self.api, self.workflow_id, self.clock = api, workflow_id, clock
        self.websocket_url = websocket_url
        self.tracker = Tracker(from_start=from_start)
        self.final: dict[str, Any] | None = None
        self.ws: ClientConnection | None = None

    def open(self, *, may_renew: bool = True) -> None:
        """Connect and subscribe; call before starting a workflow so that no update is missed."""
        try:
            # legacy=True: a connection object to keep across calls (not a context manager).
            self.ws = connect(self.url, open_timeout=15, close_timeout=2, legacy=True)
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status == 401 and may_renew and self.api.renewed():  # expired during a long watch
                self.open(may_renew=False)
                return
            if status in (401, 403):
                raise CliError(
                    f"the WebSocket API refused the access token ({status}): "
                    + (
                        "it is missing, malformed or expired"
                        if status == 401
                        else "it may not read workflows"
                    ),
                    REMOTE,
                ) from None
            raise CliError(f"the WebSocket API answered {status}", REMOTE) from None
        except (OSError, WebSocketException, TimeoutError) as exc:
            raise CliError(f"cannot reach the WebSocket API: {exc}", REMOTE) from None
        try:
            self._subscribe(self.ws)
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> str:
        token = self.api.token  # the current one: a reconnect after hours uses a renewed token
        return f"{self.websocket_url}?{urlencode({'token': token})}" if token else self.websocket_url

    def _subscribe(self, ws: ClientConnection) -> None:
        deadline = time.monotonic() + SUBSCRIBE_SECONDS
        try:
            ws.send(json.dumps({"action": "subscribe", "workflow_id": self.workflow_id}))
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                reply = json.loads(ws.recv(timeout=left))
                if not isinstance(reply, dict):
                    continue
                if reply.get("type") == "subscribed":
                    return
                if reply.get("type") == "error":
                    raise CliError(
                        f"the WebSocket API refused the subscription: {reply.get('message')}", REMOTE
                    )
                if "type" not in reply and reply.get("message"):
                    # API Gateway's own answer when the route's integration fails or is throttled:
                    # {"message": "Internal server error", "connectionId": ..., "requestId": ...}.
                    raise CliError(f"the WebSocket API answered the subscription: {reply['message']}", REMOTE)
        except TimeoutError:
            raise CliError(
                f"the WebSocket API did not confirm the subscription within {SUBSCRIBE_SECONDS:g} s", REMOTE
            ) from None
        except ConnectionClosed as exc:
            raise CliError(
                f"the WebSocket API closed the connection on subscribe ({_closed(exc)})", REMOTE
            ) from None
        except ValueError:
            raise CliError(
                "the WebSocket API answered the subscription with something not JSON", REMOTE
            ) from None

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None

    def transitions(self) -> Iterator[Transition]:
        if self.ws is None:
            self.open()
        yield from self._poll()
        reconnects = 0
        quiet = QUIET_SECONDS
        while not self.tracker.finished:
            assert self.ws is not None
            try:
                raw = self.ws.recv(timeout=quiet)
            except TimeoutError:
                yield from self._poll()  # quiet: a broadcast may have been lost
                # A long quiet task is read less and less often (each read is an API request).
                quiet = min(quiet * 2, QUIET_MAX_SECONDS)
                continue
            except ConnectionClosed:
                # API Gateway ends every connection after 2 hours (10 minutes idle): connect again,
                # with backoff, within a budget that a delivered message renews.
                self.ws = None
                while self.ws is None:
                    reconnects += 1
                    if reconnects > RECONNECTS:
                        raise CliError("the WebSocket connection keeps closing", REMOTE) from None
                    time.sleep(min(5.0, 0.2 * 2**reconnects))
                    try:
                        self.open()
                    except CliError:
                        if reconnects >= RECONNECTS:
                            raise
                yield from self._poll()  # what happened while it was closed
                continue
            reconnects, quiet = 0, QUIET_SECONDS
            try:
                message = json.loads(raw)
            except ValueError:
                continue  # not ours to read: the poll covers anything missed
            if not isinstance(message, dict):
                continue
            if message.get("type") == "workflow_update" and message.get("workflow_id") == self.workflow_id:
                yield from from_update(self.tracker, message, self.clock())
        self.final = self.api.workflow(self.workflow_id)
        # The last read may know a transition the socket's last update bundled (a retry's attempt).
        yield from from_view(self.tracker, self.final, self.clock())

    def _poll(self) -> Iterator[Transition]:
        workflow = self.api.workflow(self.workflow_id)
        yield from from_view(self.tracker, workflow, self.clock())
        if self.tracker.finished:
            self.final = workflow


def _closed(exc: ConnectionClosed) -> str:
    frame = exc.rcvd
    return f"code {frame.code}{': ' + frame.reason if frame.reason else ''}" if frame else "no close frame"
