"""The `orchestra` command line against the deployment, as a user runs it: the console script in a
subprocess, pointed at the deployment's outputs file; and the report example (workflows/report.yaml)
end to end. Against a real deployment the CLI signs in with the same environment variables as the
tests (ORCHESTRA_MACHINE_CLIENT_SECRET, ...)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.cloud import Api, Deployment

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).with_name("orchestra")
REPORT_TASKS = ("split", "summarize-1", "summarize-2", "summarize-3", "aggregate")
TRANSITION = re.compile(r"^\d\d:\d\d:\d\d\.\d{3}  (\S+)  (\w+) → (\w+)(  attempt \d+)?$")


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture(scope="module")
def orchestra(deployment: Deployment) -> Any:
    """Run the console script against the deployment: orchestra(*args, user=None) -> Ran."""
    assert CONSOLE_SCRIPT.exists(), f"{CONSOLE_SCRIPT} is missing: the project is not installed in this venv"
    assert deployment.outputs_file is not None
    document = json.loads(deployment.outputs_file.read_text())
    stack = ["--stack", deployment.stack] if deployment.stack in document else []

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Ran:
        done = subprocess.run(
            [str(CONSOLE_SCRIPT), "--outputs", str(deployment.outputs_file), *stack, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
        )
        return Ran(done.returncode, done.stdout, done.stderr)

    return run


def transitions(out: str) -> list[tuple[str, str, str]]:
    found = []
    for line in out.splitlines():
        match = TRANSITION.match(line)
        if match:
            found.append((match.group(1), match.group(2), match.group(3)))
    return found


def sample_orders() -> list[dict[str, Any]]:
    path = ROOT / "lambdas" / "tasks" / "report-split" / "handler.py"
    spec = importlib.util.spec_from_file_location("report_split_handler", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    orders: list[dict[str, Any]] = module.sample_orders()
    return orders


def one_line_error(ran: Ran) -> str:
    """An error is one line on stderr, never a traceback."""
    assert "Traceback" not in ran.err and ran.out == "", ran
    lines = ran.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), ran.err
    return lines[0]


class TestTheReportExample:
    def test_start_wait_prints_every_task_transition_and_the_report_adds_up(
        self, orchestra: Any, api: Api
    ) -> None:
        ran = orchestra("start", "report", "--wait")
        assert ran.code == 0, ran
        lines = ran.out.splitlines()
        assert re.match(
            r"started wf-[0-9a-f]{32} \(report version [0-9a-f]{12}, 5 tasks\): RUNNING", lines[0]
        )
        seen = transitions(ran.out)
        for task in REPORT_TASKS:
            assert any(t == task and after == "SUCCEEDED" for t, _, after in seen), f"{task}:\n{ran.out}"
        assert len(seen) == len(lines) - 2, (
            f"every line between the first and the last is a transition:\n{ran.out}"
        )
        assert re.match(r"wf-[0-9a-f]{32} SUCCESS in [\d.]+ s: 5/5 succeeded$", lines[-1])

        workflow = api.get(lines[-1].split()[0])
        report = {t["task_id"]: t for t in workflow["tasks"]}["aggregate"]["output"]["report"]
        orders = sample_orders()
        cents = sum(int(Decimal(str(o["unit_price"])) * 100) * o["quantity"] for o in orders)
        assert report["orders"] == len(orders) == 60 and report["chunks"] == 3
        assert report["revenue"] == f"{cents / 100:.2f}"
        assert sum(Decimal(r["revenue"]) for r in report["by_region"]) == Decimal(report["revenue"])
        assert abs(sum(r["share_percent"] for r in report["by_region"]) - 100) < 0.2
        assert len(report["top_products"]) == 3

    def test_an_input_file_feeds_the_split_which_rejects_bad_rows_with_their_reason(
        self, orchestra: Any, api: Api
    ) -> None:
        workflow_id = f"wf-cli-{uuid.uuid4().hex[:10]}"
        ran = orchestra(
            "start", "report", "--id", workflow_id, "--input", "@workflows/report.input.json", "--wait"
        )
        assert ran.code == 0, ran
        tasks = {t["task_id"]: t for t in api.get(workflow_id)["tasks"]}
        assert tasks["split"]["output"]["rejected"] == [
            {"index": 4, "reason": "quantity must be a whole number of at least 1"}
        ]
        report = tasks["aggregate"]["output"]["report"]
        assert (report["orders"], report["revenue"]) == (4, f"{2 * 1299 + 5 * 19.99 + 219 + 3 * 149:.2f}")

    def test_input_that_is_not_orders_fails_the_workflow_and_exits_1(self, orchestra: Any) -> None:
        ran = orchestra("start", "report", "--input", '{"orders": "all of them"}', "--wait")
        assert ran.code == 1, ran
        assert ("split", "RUNNING", "FAILED") in transitions(ran.out)
        assert ("aggregate", "PENDING", "SKIPPED") in transitions(ran.out)
        assert re.search(r" FAILED in [\d.]+ s: 0/5 succeeded \(1 failed, 4 skipped\)$", ran.out.strip())


@pytest.fixture(scope="module")
def finished(orchestra: Any) -> str:
    """A report workflow started with --wait --json, run to SUCCESS."""
    workflow_id = f"wf-cli-{uuid.uuid4().hex[:10]}"
    ran = orchestra("start", "report", "--id", workflow_id, "--wait", "--json")
    assert ran.code == 0, ran
    events = [json.loads(line) for line in ran.out.splitlines()]
    assert events[0]["event"] == "started" and events[-1]["event"] == "workflow"
    assert events[-1]["workflow"]["status"] == "SUCCESS"
    assert {e["task_id"] for e in events if e["event"] == "task" and e["to"] == "SUCCEEDED"} == set(
        REPORT_TASKS
    )
    return workflow_id


class TestReadCommands:
    def test_list_json_lists_it(self, orchestra: Any, finished: str) -> None:
        ran = orchestra("list", "--json", "--limit", "50")
        assert ran.code == 0, ran
        items = {w["workflow_id"]: w for w in ran.json()["items"]}
        assert items[finished]["status"] == "SUCCESS" and items[finished]["definition_name"] == "report"
        only_failed = orchestra("list", "--status", "failed", "--json").json()["items"]
        assert finished not in {w["workflow_id"] for w in only_failed}
        assert {w["status"] for w in only_failed} <= {"FAILED"}

    def test_list_is_a_table(self, orchestra: Any, finished: str) -> None:
        ran = orchestra("list", "--limit", "50")
        assert ran.code == 0 and ran.out.splitlines()[0].split() == [
            "WORKFLOW",
            "DEFINITION",
            "STATUS",
            "TASKS",
            "CREATED",
            "(UTC)",
            "DURATION",
        ]
        (row,) = [line for line in ran.out.splitlines() if line.startswith(finished)]
        assert row.split()[1:4] == ["report", "SUCCESS", "5/5"]

    def test_show_has_each_task_with_attempts_and_durations(
        self, orchestra: Any, api: Api, finished: str
    ) -> None:
        ran = orchestra("show", finished)
        assert ran.code == 0, ran
        header, columns, *rows = ran.out.splitlines()
        assert header.startswith(f"{finished}  SUCCESS  definition report version ")
        assert columns.split() == ["TASK", "FUNCTION", "STATUS", "ATTEMPT", "DURATION", "ATTEMPTS", "ERROR"]
        assert [r.split()[:4] for r in rows] == [
            ["split", "report-split", "SUCCEEDED", "1/2"],
            *([f"summarize-{i}", "report-summarize", "SUCCEEDED", "1/3"] for i in (1, 2, 3)),
            ["aggregate", "report-aggregate", "SUCCEEDED", "1/3"],
        ]
        assert all(re.search(r"\d+\.\d s +1: succeeded \d+\.\d s", r) for r in rows)
        shown = orchestra("show", finished, "--json").json()
        assert shown == api.get(finished)

    def test_watch_of_a_finished_workflow_says_where_it_stands_and_exits_0(
        self, orchestra: Any, finished: str
    ) -> None:
        ran = orchestra("watch", finished)
        assert ran.code == 0, ran
        assert sum("SUCCEEDED (when watching began)" in line for line in ran.out.splitlines()) == 5
        assert ran.out.splitlines()[-1].startswith(f"{finished} SUCCESS")

    def test_definitions_lists_the_reference_and_the_example_with_versions(
        self, orchestra: Any, api: Api
    ) -> None:
        listed = api.request("GET", "/definitions").json()["items"]
        by_name = {d["name"]: d for d in listed}
        assert {"orchestra", "report"} <= set(by_name)
        assert all(re.fullmatch(r"[0-9a-f]{12}", d["version"]) for d in listed)
        assert by_name["report"]["source"] == "workflows/report.yaml"
        ran = orchestra("definitions", "--json")
        assert ran.code == 0 and ran.json()["items"] == listed
        table = orchestra("definitions").out.splitlines()
        assert table[0].split()[:4] == ["DEFINITION", "VERSION", "TASKS", "SOURCE"]
        assert any(line.split()[:3] == ["report", by_name["report"]["version"], "5"] for line in table)

    def test_a_workflow_keeps_the_version_it_started_with(self, api: Api, finished: str) -> None:
        listed = {d["name"]: d for d in api.request("GET", "/definitions").json()["items"]}
        workflow = api.get(finished)
        assert workflow["definition_version"] == listed["report"]["version"]
        assert [t["task_id"] for t in workflow["tasks"]] == [t["id"] for t in listed["report"]["tasks"]]


class TestChanges:
    def test_cancel_then_watch_exits_1_then_retry_and_watch_exits_0(self, orchestra: Any, api: Api) -> None:
        workflow_id = f"wf-cli-{uuid.uuid4().hex[:10]}"
        slow = json.dumps({"simulate": {"A": {"sleep_ms": 2500}}})
        ran = orchestra("start", "orchestra", "--id", workflow_id, "--input", slow)
        assert ran.code == 0 and f"started {workflow_id} (orchestra version " in ran.out, ran
        cancelled = orchestra("cancel", workflow_id)
        assert (cancelled.code, cancelled.out.strip()) == (0, f"{workflow_id}: CANCELLED"), cancelled
        watched = orchestra("watch", workflow_id)
        assert watched.code == 1 and watched.out.splitlines()[-1].startswith(f"{workflow_id} CANCELLED"), (
            watched
        )
        retried = orchestra("retry", workflow_id, "--json")
        assert retried.code == 0 and retried.json()["status"] in ("PENDING", "RUNNING"), retried
        again = orchestra("watch", workflow_id)
        assert again.code == 0, again
        assert again.out.splitlines()[-1].startswith(f"{workflow_id} SUCCESS")
        assert any(task == "C" and after == "SUCCEEDED" for task, _, after in transitions(again.out))
        # The same start again is that workflow: said so, and no transition it did not make now.
        repeated = orchestra("start", "orchestra", "--id", workflow_id, "--input", slow, "--wait")
        assert repeated.code == 0 and repeated.out.startswith(f"already started {workflow_id} "), repeated
        assert " → " not in repeated.out and "C  SUCCEEDED (when watching began)" in repeated.out, repeated


class TestErrors:
    """One line on stderr naming what was wrong; 2 for what the user typed, 3 for what the deployment said."""

    def test_an_unknown_workflow(self, orchestra: Any) -> None:
        ran = orchestra("show", "wf-does-not-exist")
        assert ran.code == 3
        assert (
            one_line_error(ran) == "error: GET /workflows/wf-does-not-exist: 404 not_found: "
            "workflow 'wf-does-not-exist' does not exist"
        )

    def test_an_unknown_definition_lists_the_known_ones(self, orchestra: Any) -> None:
        ran = orchestra("start", "nightly")
        assert ran.code == 3 and "unknown definition 'nightly' (known: orchestra, report" in one_line_error(
            ran
        )

    def test_bad_input_is_named_before_anything_is_sent(self, orchestra: Any) -> None:
        ran = orchestra("start", "report", "--input", "{orders")
        assert ran.code == 2 and one_line_error(ran).startswith("error: --input: not JSON: ")
        ran = orchestra("start", "report", "--input", "@no/such/file.json")
        assert (
            ran.code == 2
            and one_line_error(ran) == "error: --input @no/such/file.json: No such file or directory"
        )
        ran = orchestra("list", "--limit", "0")
        assert ran.code == 2 and "--limit" in one_line_error(ran)

    def test_a_viewer_may_look_but_not_start(self, orchestra: Any, deployment: Deployment) -> None:
        viewer = deployment.sign_in.user("viewer")
        env = {"ORCHESTRA_PASSWORD": viewer["password"]}
        looked = orchestra("--user", viewer["username"], "definitions", "--json", env=env)
        assert looked.code == 0, looked
        ran = orchestra("--user", viewer["username"], "start", "report", env=env)
        assert ran.code == 3
        assert one_line_error(ran) == (
            f"error: not allowed (403): {viewer['username']} (viewer) may not operate: operators may"
        )

    def test_locally_a_user_is_named_by_role_and_needs_no_password(
        self, orchestra: Any, local_only: Deployment
    ) -> None:
        ran = orchestra("--user", "viewer", "cancel", "wf-nobody")
        assert (ran.code, one_line_error(ran)) == (
            3,
            "error: not allowed (403): viewer@example.com (viewer) may not operate: operators may",
        )

    def test_no_token_says_so(self, orchestra: Any, deployment: Deployment) -> None:
        ran = orchestra("--api-url", deployment.api_url, "list")
        assert ran.code == 3
        line = one_line_error(ran)
        assert line.startswith("error: the API refused the access token (401): ")
        assert "no token was sent: set ORCHESTRA_TOKEN" in line

    def test_a_missing_outputs_file(self, orchestra: Any) -> None:
        ran = orchestra("--outputs", "nowhere.json", "list")
        assert ran.code == 2 and one_line_error(ran) == "error: nowhere.json: no such outputs file"


class TestValidate:
    def test_the_example_is_valid_for_every_environment(self, orchestra: Any) -> None:
        ran = orchestra("validate", "workflows/report.yaml")
        assert ran.code == 0, ran
        assert [line.split(":")[1].strip() for line in ran.out.splitlines()] == [
            "valid for dev",
            "valid for staging",
            "valid for prod",
        ]

    def test_a_bad_file_names_its_line(self, orchestra: Any, tmp_path: Path) -> None:
        bad = tmp_path / "nightly.yaml"
        bad.write_text("description: x\ntasks:\n  - id: a\n    function: report-nope\n")
        ran = orchestra("validate", str(bad), "--environment", "dev")
        assert ran.code == 2
        assert re.fullmatch(
            r"error: .*nightly.yaml:4: tasks\[0\].function: "
            r"task 'a' uses unknown function 'report-nope' \(known: .*\)",
            one_line_error(ran),
        )
