"""The `orchestra` command line's output formats, exit codes and one-line errors, against a stand-in of
the REST API on 127.0.0.1 (the deployed tests drive it against the real one: tests/deployed/test_cli.py)."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from engine.schemas import DefinitionList, WorkflowList, WorkflowView
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from orchestra import output, watch
from orchestra.cli import main
from orchestra.client import Api, CliError, Target
from orchestra.watch import Follower, Tracker, Transition, from_update, from_view

WORKFLOW: dict[str, Any] = {
    "workflow_id": "wf-1",
    "definition_name": "report",
    "definition_version": "d27cb8c3c521",
    "status": "FAILED",
    "created_at": "2026-12-01T10:00:00.000Z",
    "started_at": "2026-12-01T10:00:00.000Z",
    "finished_at": "2026-12-01T10:00:03.500Z",
    "duration_ms": 3500,
    "task_counts": {"FAILED": 1, "SKIPPED": 1},
    "version": 7,
    "input": {},
    "tasks": [
        {
            "task_id": "split",
            "function": "report-split",
            "type": "python",
            "depends_on": [],
            "status": "FAILED",
            "attempt": 2,
            "max_attempts": 2,
            "input": {},
            "output": None,
            "output_ref": None,
            "error": {"type": "ValueError", "message": "input.orders must be a list of orders, not str"},
            "started_at": "2026-12-01T10:00:02.000Z",
            "finished_at": "2026-12-01T10:00:02.250Z",
            "duration_ms": 250,
            "attempts": [
                {
                    "attempt": 1,
                    "status": "FAILED",
                    "started_at": "2026-12-01T10:00:00.100Z",
                    "finished_at": "2026-12-01T10:00:00.300Z",
                    "error": {"type": "ValueError", "message": "x"},
                },
                {
                    "attempt": 2,
                    "status": "FAILED",
                    "started_at": "2026-12-01T10:00:02.000Z",
                    "finished_at": "2026-12-01T10:00:02.250Z",
                    "error": {"type": "ValueError", "message": "x"},
                },
            ],
        },
        {
            "task_id": "aggregate",
            "function": "report-aggregate",
            "type": "node",
            "depends_on": ["split"],
            "status": "SKIPPED",
            "attempt": 0,
            "max_attempts": 3,
            "input": {},
            "output": None,
            "output_ref": None,
            "error": None,
            "started_at": None,
            "finished_at": None,
            "duration_ms": None,
            "attempts": [],
        },
    ],
}
SUMMARY = {k: v for k, v in WORKFLOW.items() if k not in ("input", "tasks", "definition_version")}
DEFINITIONS = {
    "items": [
        {
            "name": "report",
            "description": "Sales report.",
            "version": "d27cb8c3c521",
            "source": "workflows/report.yaml",
            "tasks": [{"id": "split", "function": "report-split", "depends_on": [], "input": {}}],
        }
    ]
}


class StandIn(BaseHTTPRequestHandler):
    """Answers as the API does (bodies valid against its own response models); records requests."""

    routes: ClassVar[dict[tuple[str, str], list[tuple[int, Any]]]] = {}
    seen: ClassVar[list[tuple[str, str, str | None]]] = []

    def _answer(self) -> None:
        path = self.path.split("?")[0]
        StandIn.seen.append((self.command, self.path, self.headers.get("Authorization")))
        answers = StandIn.routes.get((self.command, path)) or [
            (404, {"error": "not_found", "message": f"no route {path}"})
        ]
        status, body = answers.pop(0) if len(answers) > 1 else answers[0]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api_url() -> Iterator[str]:
    # Responses are what the API's own models accept: a change of shape breaks these tests too.
    WorkflowView.model_validate(WORKFLOW)
    WorkflowList.model_validate({"items": [SUMMARY], "next_cursor": None})
    DefinitionList.model_validate(DEFINITIONS)
    StandIn.routes = {
        ("GET", "/workflows"): [(200, {"items": [SUMMARY], "next_cursor": None})],
        ("GET", "/workflows/wf-1"): [(200, WORKFLOW)],
        ("GET", "/definitions"): [(200, DEFINITIONS)],
        ("POST", "/workflows/wf-1/retry"): [
            (
                403,
                {
                    "error": "forbidden",
                    "message": "viewer@example.com (viewer) may not operate: operators may",
                },
            )
        ],
    }
    StandIn.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def free_port() -> int:
    """A port nothing listens on (bound on port 0, then closed): never a hard-coded one."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRA_TOKEN", "t0ken")
    for name in ("ORCHESTRA_USERNAME", "ORCHESTRA_PASSWORD", "ORCHESTRA_MACHINE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)


class TestReadCommands:
    def test_list_is_a_table_and_sends_the_token(
        self, capsys: pytest.CaptureFixture[str], api_url: str
    ) -> None:
        code, out, err = run(capsys, "--api-url", api_url, "list", "--status", "failed", "--limit", "5")
        assert (code, err) == (0, "")
        header, row = out.splitlines()
        assert header.split() == ["WORKFLOW", "DEFINITION", "STATUS", "TASKS", "CREATED", "(UTC)", "DURATION"]
        assert row.split() == [
            "wf-1",
            "report",
            "FAILED",
            "0/2",
            "succeeded",
            "(1",
            "failed,",
            "1",
            "skipped)",
            "2026-12-01",
            "10:00:00",
            "3.5",
            "s",
        ]
        assert StandIn.seen == [("GET", "/workflows?status=FAILED&limit=5", "Bearer t0ken")]

    def test_list_json_is_the_apis_json(self, capsys: pytest.CaptureFixture[str], api_url: str) -> None:
        code, out, _ = run(capsys, "--api-url", api_url, "list", "--json")
        assert code == 0 and json.loads(out) == {"items": [SUMMARY], "next_cursor": None}

    def test_list_pages_until_the_limit(self, capsys: pytest.CaptureFixture[str], api_url: str) -> None:
        StandIn.routes[("GET", "/workflows")] = [
            (200, {"items": [SUMMARY] * 100, "next_cursor": "c1"}),
            (200, {"items": [SUMMARY] * 20, "next_cursor": "c2"}),
        ]
        code, out, _ = run(capsys, "--api-url", api_url, "list", "--limit", "120", "--json")
        assert code == 0 and len(json.loads(out)["items"]) == 120
        assert [p for _, p, _ in StandIn.seen] == ["/workflows?limit=100", "/workflows?limit=20&cursor=c1"]

    def test_show_is_a_header_and_a_table_of_tasks_with_attempts(
        self, capsys: pytest.CaptureFixture[str], api_url: str
    ) -> None:
        code, out, _ = run(capsys, "--api-url", api_url, "show", "wf-1")
        header, columns, split, aggregate = out.splitlines()
        assert code == 0 and header == (
            "wf-1  FAILED  definition report version d27cb8c3c521  created 2026-12-01 10:00:00 UTC  "
            "duration 3.5 s"
        )
        assert columns.split() == ["TASK", "FUNCTION", "STATUS", "ATTEMPT", "DURATION", "ATTEMPTS", "ERROR"]
        assert split.split()[:5] == ["split", "report-split", "FAILED", "2/2", "0.2"]
        assert "1: failed 0.2 s, 2: failed 0.2 s" in split
        assert split.rstrip().endswith("ValueError: input.orders must be a list of orders, not str")
        assert aggregate.split() == ["aggregate", "report-aggregate", "SKIPPED", "0/3", "-", "-"]

    def test_show_json_and_definitions(self, capsys: pytest.CaptureFixture[str], api_url: str) -> None:
        assert json.loads(run(capsys, "--api-url", api_url, "show", "wf-1", "--json")[1]) == WORKFLOW
        code, out, _ = run(capsys, "--api-url", api_url, "definitions")
        assert code == 0 and out.splitlines()[1].split() == [
            "report",
            "d27cb8c3c521",
            "1",
            "workflows/report.yaml",
            "Sales",
            "report.",
        ]
        assert json.loads(run(capsys, "--api-url", api_url, "definitions", "--json")[1]) == DEFINITIONS


class TestErrors:
    """One line on stderr, nothing on stdout; 2 for the user's input, 3 for the deployment."""

    @pytest.mark.parametrize(
        ("args", "code", "line"),
        [
            (["show", "wf-2"], 3, "error: GET /workflows/wf-2: 404 not_found: no route /workflows/wf-2"),
            (
                ["retry", "wf-1"],
                3,
                "error: not allowed (403): viewer@example.com (viewer) may not operate: operators may",
            ),
            (
                ["list", "--limit", "0"],
                2,
                "error: Invalid value for '--limit': 0 is not in the range 1<=x<=1000. "
                "(see orchestra list --help)",
            ),
            (["lst"], 2, "error: No such command 'lst'. Did you mean 'list'? (see orchestra --help)"),
            (["start", "report", "--input", "[1]"], 2, "error: --input: must be a JSON object, not list"),
            (
                ["start", "report", "--input", "{"],
                2,
                "error: --input: not JSON: Expecting property name enclosed in double quotes: "
                "line 1 column 2 (char 1)",
            ),
        ],
    )
    def test_what_went_wrong_in_one_line(
        self, capsys: pytest.CaptureFixture[str], api_url: str, args: list[str], code: int, line: str
    ) -> None:
        assert run(capsys, "--api-url", api_url, *args) == (code, "", line + "\n")

    def test_an_unreachable_api(self, capsys: pytest.CaptureFixture[str]) -> None:
        url = f"http://127.0.0.1:{free_port()}"
        code, out, err = run(capsys, "--api-url", url, "list")
        assert (code, out, err) == (3, "", f"error: cannot reach {url}: connection refused\n")

    def test_a_read_outlasts_a_gateway_error(self, capsys: pytest.CaptureFixture[str], api_url: str) -> None:
        StandIn.routes[("GET", "/definitions")] = [
            (503, {"message": "Service Unavailable"}),
            (200, DEFINITIONS),
        ]
        assert run(capsys, "--api-url", api_url, "definitions", "--json")[0] == 0
        assert len(StandIn.seen) == 2

    def test_a_write_is_not_repeated_after_a_gateway_error(
        self, capsys: pytest.CaptureFixture[str], api_url: str
    ) -> None:
        StandIn.routes[("POST", "/workflows/wf-1/cancel")] = [
            (504, {"message": "Endpoint request timed out"})
        ]
        code, _, err = run(capsys, "--api-url", api_url, "cancel", "wf-1")
        assert code == 3 and err.startswith("error: POST /workflows/wf-1/cancel: 504 ")
        assert len(StandIn.seen) == 1

    def test_an_expired_token_is_renewed_once(self, api_url: str) -> None:
        tokens = iter(["renewed", "again"])
        api = Api(
            Target(api_url, None, {}, None, api_url),
            "first",
            sleep=lambda _: None,
            renew=lambda: next(tokens),
        )
        assert api.call("GET", "/definitions") == DEFINITIONS
        StandIn.routes[("GET", "/definitions")] = [(401, {"message": "Unauthorized"}), (200, DEFINITIONS)]
        assert api.call("GET", "/definitions") == DEFINITIONS
        assert [auth for _, _, auth in StandIn.seen] == ["Bearer first", "Bearer first", "Bearer renewed"]
        StandIn.routes[("GET", "/definitions")] = [(401, {"message": "Unauthorized"})]
        with pytest.raises(CliError, match=r"refused the access token \(401\)"):
            api.call("GET", "/definitions")
        assert StandIn.seen[-1][2] == "Bearer again", "renewed once per call, then the 401 is said"

    def test_a_token_refused_from_the_start_is_not_renewed(self, api_url: str) -> None:
        api = Api(
            Target(api_url, None, {}, None, api_url), "bad", sleep=lambda _: None, renew=lambda: "other"
        )
        StandIn.routes[("GET", "/definitions")] = [(401, {"message": "Unauthorized"})]
        with pytest.raises(CliError):
            api.call("GET", "/definitions")
        assert [auth for _, _, auth in StandIn.seen] == ["Bearer bad"]

    def test_no_token_is_said_plainly(
        self, capsys: pytest.CaptureFixture[str], api_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("ORCHESTRA_TOKEN")
        StandIn.routes[("GET", "/workflows")] = [(401, {"error": "unauthorized", "message": "Unauthorized"})]
        code, _, err = run(capsys, "--api-url", api_url, "list")
        assert code == 3 and err.count("\n") == 1
        assert err.startswith(
            "error: the API refused the access token (401): Unauthorized: it is missing, malformed or expired"
        )
        assert "no token was sent: set ORCHESTRA_TOKEN" in err
        assert StandIn.seen[0][2] is None

    def test_throttling_is_waited_out(self, capsys: pytest.CaptureFixture[str], api_url: str) -> None:
        StandIn.routes[("GET", "/definitions")] = [
            (429, {"message": "Too Many Requests"}),
            (200, DEFINITIONS),
        ]
        assert run(capsys, "--api-url", api_url, "definitions", "--json")[0] == 0
        assert len(StandIn.seen) == 2

    def test_outputs_files(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        assert run(capsys, "list")[2] == (
            "error: no deployment: build/outputs.local.json does not exist (start the local cloud with "
            "./noxw -s local, or give --outputs FILE or --api-url URL)\n"
        )
        (tmp_path / "o.json").write_text("[1]")
        assert (
            run(capsys, "--outputs", "o.json", "list")[2]
            == "error: o.json: not an outputs file ({stack: {output: value}})\n"
        )
        (tmp_path / "o.json").write_text(json.dumps({"dev": {"api_url": "http://127.0.0.1:9"}}))
        assert (
            run(capsys, "--outputs", "o.json", "--stack", "prod", "list")[2]
            == "error: o.json has no stack 'prod' (it has dev)\n"
        )

    def test_a_real_deployment_without_credentials_names_what_to_set(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("ORCHESTRA_TOKEN")
        outputs = {
            "prod": {
                "api_url": "https://x.execute-api.eu-central-1.amazonaws.com/prod",
                "user_pool_id": "eu-central-1_abc",
                "machine_client_id": "m",
                "auth_domain": "https://d",
            }
        }
        (tmp_path / "o.json").write_text(json.dumps(outputs))
        code, _, err = run(capsys, "--outputs", str(tmp_path / "o.json"), "list")
        assert code == 2 and "set ORCHESTRA_MACHINE_CLIENT_SECRET (the machine client's secret)" in err
        code, _, err = run(capsys, "--outputs", str(tmp_path / "o.json"), "--user", "ana@example.com", "list")
        assert (code, err) == (2, "error: signing in as ana@example.com needs ORCHESTRA_PASSWORD\n")


class TestTransitions:
    def view(self, version: int, *tasks: tuple[str, str, int]) -> dict[str, Any]:
        return {
            "version": version,
            "status": "RUNNING",
            "tasks": [{"task_id": t, "status": s, "attempt": a} for t, s, a in tasks],
        }

    def update(self, version: int, status: str, *tasks: tuple[str, str]) -> dict[str, Any]:
        return {
            "type": "workflow_update",
            "data": {
                "version": version,
                "status": status,
                "tasks": [{"taskId": t, "status": s} for t, s in tasks],
            },
        }

    def test_one_event_per_task_that_changed_stale_images_dropped_retries_counted(self) -> None:
        tracker = Tracker()
        seen = from_view(tracker, self.view(1, ("a", "READY", 1), ("b", "PENDING", 0)), 1.0)
        assert [(t.task_id, t.before, t.after, t.attempt) for t in seen] == [("a", "PENDING", "READY", None)]
        seen = from_update(tracker, self.update(2, "RUNNING", ("a", "RUNNING"), ("b", "PENDING")), 2.0)
        assert [(t.task_id, t.after, t.attempt) for t in seen] == [("a", "RUNNING", 1)]
        assert from_update(tracker, self.update(2, "RUNNING", ("a", "RUNNING"), ("b", "PENDING")), 2.1) == []
        assert from_update(tracker, self.update(1, "RUNNING", ("a", "READY"), ("b", "PENDING")), 2.2) == []
        from_update(tracker, self.update(3, "RUNNING", ("a", "READY"), ("b", "PENDING")), 3.0)
        seen = from_update(tracker, self.update(4, "SUCCESS", ("a", "SUCCEEDED"), ("b", "SUCCEEDED")), 4.0)
        # Updates missed between (READY straight to SUCCEEDED) still count a run each.
        assert [(t.task_id, t.before, t.after, t.attempt) for t in seen] == [
            ("a", "READY", "SUCCEEDED", 2),
            ("b", "PENDING", "SUCCEEDED", 1),
        ]
        assert tracker.finished

    def test_watching_a_workflow_that_started_earlier_says_where_it_stands(self) -> None:
        tracker = Tracker(from_start=False)
        seen = from_view(
            tracker, self.view(5, ("a", "SUCCEEDED", 1), ("b", "RUNNING", 2), ("c", "PENDING", 0)), 1.0
        )
        assert [(t.task_id, t.before, t.after, t.attempt) for t in seen] == [
            ("a", None, "SUCCEEDED", 1),
            ("b", None, "RUNNING", 2),
        ]
        assert output.transition_line(seen[1]).endswith("  b  RUNNING (when watching began)  attempt 2")

    def test_lines_and_json_lines(self) -> None:
        transition = Transition(0.0, "split", "RUNNING", "SUCCEEDED", 2)
        assert output.transition_line(transition)[12:] == "  split  RUNNING → SUCCEEDED  attempt 2"
        assert transition.to_json() == {
            "event": "task",
            "at": 0.0,
            "task_id": "split",
            "from": "RUNNING",
            "to": "SUCCEEDED",
            "attempt": 2,
        }
        assert output.summary_line(WORKFLOW) == "wf-1 FAILED in 3.5 s: 0/2 succeeded (1 failed, 1 skipped)"
        stream = io.StringIO()
        output.print_json_line({"b": 1, "a": [1]}, stream)
        assert stream.getvalue() == '{"a":[1],"b":1}\n'


RUNNING = {
    **WORKFLOW,
    "version": 3,  # older than WORKFLOW's: the tracker drops an image no newer than the last
    "status": "RUNNING",
    "finished_at": None,
    "duration_ms": None,
    "tasks": [
        {**t, "status": "PENDING", "attempt": 0, "attempts": [], "error": None} for t in WORKFLOW["tasks"]
    ],
}


class FakeWebSocketApi:
    """A WebSocket API on 127.0.0.1 (port 0) that answers subscriptions as `behaviour` says:
    "confirm", "silent", "close", "gateway-error", or "confirm-then-close" (confirms, then drops
    the connection once; the next connection is confirmed and stays quiet)."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.connections = 0
        self.server = serve(self.handle, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, connection: ServerConnection) -> None:
        self.connections += 1
        message = json.loads(connection.recv())
        assert message == {"action": "subscribe", "workflow_id": "wf-1"}
        behaviour = self.behaviour
        if behaviour == "confirm-then-close":
            behaviour = "drop" if self.connections == 1 else "confirm"
        if behaviour == "close":
            connection.close()
            return
        if behaviour == "gateway-error":
            connection.send(json.dumps({"message": "Internal server error", "connectionId": "c1"}))
        elif behaviour in ("confirm", "drop"):
            connection.send(json.dumps({"type": "subscribed", "workflow_id": "wf-1"}))
        if behaviour == "drop":
            connection.close()
            return
        with contextlib.suppress(ConnectionClosed):
            connection.recv()  # quiet until the client leaves

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch, "SUBSCRIBE_SECONDS", 0.5)
    monkeypatch.setattr(watch, "QUIET_SECONDS", 0.2)


class TestFollower:
    """The follower against a real WebSocket server: every way a subscription goes wrong is one
    CliError (exit 3) saying what happened; a dropped connection is recovered."""

    def follower(self, api_url: str, websocket_url: str) -> Follower:
        api = Api(Target(api_url, websocket_url, {}, None, api_url), "t0ken", sleep=lambda _: None)
        return Follower(api, websocket_url, "wf-1", from_start=False)

    @pytest.mark.parametrize(
        ("behaviour", "says"),
        [
            ("silent", "the WebSocket API did not confirm the subscription within 0.5 s"),
            ("close", "the WebSocket API closed the connection on subscribe ("),
            ("gateway-error", "the WebSocket API answered the subscription: Internal server error"),
        ],
    )
    def test_a_subscription_that_goes_wrong_says_how(
        self, api_url: str, fast: None, behaviour: str, says: str
    ) -> None:
        server = FakeWebSocketApi(behaviour)
        try:
            follower = self.follower(api_url, server.url)
            with pytest.raises(CliError) as raised:
                follower.open()
            assert str(raised.value).startswith(says) and raised.value.code == 3
            assert follower.ws is None
        finally:
            server.stop()

    def test_a_dropped_connection_is_reopened_and_the_poll_catches_up(self, api_url: str, fast: None) -> None:
        StandIn.routes[("GET", "/workflows/wf-1")] = [(200, RUNNING), (200, RUNNING), (200, WORKFLOW)]
        server = FakeWebSocketApi("confirm-then-close")
        try:
            follower = self.follower(api_url, server.url)
            lines = [t.to_json() for t in follower.transitions()]
            follower.close()
        finally:
            server.stop()
        assert server.connections == 2
        assert follower.final is not None and follower.final["status"] == "FAILED"
        assert {(line["task_id"], line["to"]) for line in lines} >= {
            ("split", "FAILED"),
            ("aggregate", "SKIPPED"),
        }

    def test_the_cli_exits_3_with_one_line(
        self, capsys: pytest.CaptureFixture[str], api_url: str, fast: None
    ) -> None:
        server = FakeWebSocketApi("close")
        try:
            code, _, err = run(capsys, "--api-url", api_url, "--websocket-url", server.url, "watch", "wf-1")
        finally:
            server.stop()
        assert code == 3 and err.startswith("error: the WebSocket API closed the connection on subscribe (")
        assert err.count("\n") == 1
