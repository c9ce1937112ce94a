"""The REST API through its handler, as API Gateway's Lambda proxy integration calls it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import CORS_ORIGIN
from driver import Cloud
from engine import runtime
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi


def nested(levels: int) -> str:
    """JSON text of lists nested `levels` deep."""
    return "[" * levels + "]" * levels


def chain(n: int) -> dict[str, Any]:
    tasks = [{"id": "t0", "function": "task-a"}]
    tasks += [{"id": f"t{i}", "function": "task-a", "depends_on": [f"t{i - 1}"]} for i in range(1, n)]
    return {"tasks": tasks}


class Schemas:
    """Validates bodies against the served OpenAPI document (the same schemas the API validates with)."""

    def __init__(self, cloud: Cloud) -> None:
        status, self.document, _ = cloud.api("GET", "/openapi.json")
        assert status == 200

    def check(self, name: str, body: Any) -> None:
        schema = {"$ref": f"#/components/schemas/{name}", "components": self.document["components"]}
        errors = list(Draft202012Validator(schema).iter_errors(body))
        assert not errors, [e.message for e in errors]


class TestCreateWorkflow:
    def test_the_original_designs_body_creates_the_reference_workflow(self, cloud: Cloud) -> None:
        status, body, _ = cloud.api("POST", "/workflows", {"workflowId": "my-workflow-123"})
        assert status == 201
        # With writer dispatch the create starts the workflow in the same write.
        assert (body["workflow_id"], body["definition_name"], body["status"]) == (
            "my-workflow-123",
            "orchestra",
            "RUNNING" if cloud.dispatch_mode == "writer" else "PENDING",
        )
        assert [(t["task_id"], t["type"]) for t in body["tasks"]] == [
            ("A", "node"),
            ("B1", "node"),
            ("B2", "python"),
            ("B3", "container"),
            ("C", "node"),
        ]
        Schemas(cloud).check("WorkflowView", body)

    @pytest.mark.parametrize("raw_body", ["", "{}", "null"])
    def test_an_id_is_generated_when_absent(self, cloud: Cloud, raw_body: str) -> None:
        status, body, _ = cloud.api("POST", "/workflows", raw_body=raw_body)
        assert status == 201
        assert body["workflow_id"].startswith("wf-")
        assert len(body["workflow_id"]) == 3 + 32

    def test_workflow_id_is_accepted_as_an_alias(self, cloud: Cloud) -> None:
        status, body, _ = cloud.api("POST", "/workflows", {"workflow_id": "snake"})
        assert (status, body["workflow_id"]) == (201, "snake")

    def test_the_same_id_and_body_again_returns_the_existing_workflow(self, cloud: Cloud) -> None:
        request = {"workflowId": "twice", "input": {"n": 1}}
        first = cloud.api("POST", "/workflows", request)
        second = cloud.api("POST", "/workflows", request)
        assert (first[0], second[0]) == (201, 200)
        assert second[1]["created_at"] == first[1]["created_at"]

    def test_the_same_id_with_another_body_is_a_conflict(self, cloud: Cloud) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "taken", "input": {"n": 1}})
        status, body, _ = cloud.api("POST", "/workflows", {"workflowId": "taken", "input": {"n": 2}})
        assert status == 409
        assert body["error"] == "conflict"
        assert "taken" in body["message"]

    def test_an_inline_definition_runs(self, cloud: Cloud) -> None:
        definition = {
            "tasks": [
                {"id": "fetch", "function": "task-a", "input": {"source": "s3"}},
                {"id": "sum", "function": "task-b1", "depends_on": ["fetch"], "retry": {"max_attempts": 1}},
            ]
        }
        status, body, _ = cloud.api("POST", "/workflows", {"workflowId": "inline", "definition": definition})
        assert (status, body["definition_name"]) == (201, "inline")
        assert body["tasks"][0]["input"] == {"source": "s3"}
        assert body["tasks"][1]["max_attempts"] == 1
        cloud.run()
        assert cloud.api("GET", "/workflows/inline")[1]["status"] == "SUCCESS"

    def test_a_created_workflow_emits_the_workflows_started_metric(
        self, cloud: Cloud, capsys: pytest.CaptureFixture[str]
    ) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "metric"})
        emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
        started = [m for m in emf if "WorkflowsStarted" in m]
        assert len(started) == 1
        directive = started[0]["_aws"]["CloudWatchMetrics"][0]
        assert directive["Namespace"] == "Orchestra/test"
        assert directive["Dimensions"] == [["service"]]
        assert started[0]["service"] == "orchestra"


@pytest.mark.any_dispatch
class TestInvalidDefinitions:
    @pytest.mark.parametrize(
        ("definition", "reason", "field"),
        [
            (
                {
                    "tasks": [
                        {"id": "a", "function": "task-a", "depends_on": ["c"]},
                        {"id": "b", "function": "task-a", "depends_on": ["a"]},
                        {"id": "c", "function": "task-a", "depends_on": ["b"]},
                    ]
                },
                "cycle: a -> c -> b -> a",
                "definition.tasks[0].depends_on",
            ),
            (
                {"tasks": [{"id": "a", "function": "task-a", "depends_on": ["a"]}]},
                "task 'a' depends on itself",
                "definition.tasks[0].depends_on[0]",
            ),
            (
                {"tasks": [{"id": "a", "function": "task-a", "depends_on": ["ghost"]}]},
                "task 'a' depends on unknown task 'ghost'",
                "definition.tasks[0].depends_on[0]",
            ),
            (
                {"tasks": [{"id": "a", "function": "task-a"}, {"id": "a", "function": "task-b1"}]},
                "duplicate task id 'a'",
                "definition.tasks[1].id",
            ),
            (
                {"tasks": [{"id": "a", "function": "task-zz"}]},
                "task 'a' uses unknown function 'task-zz'",
                "definition.tasks[0].function",
            ),
            (
                {"tasks": [{"id": f"t{i}", "function": "task-a"} for i in range(51)]},
                "too many tasks: 51 (at most 50)",
                "definition.tasks",
            ),
            (
                chain(21),
                "too deep: the longest dependency chain has 21 tasks (at most 20)",
                "definition.tasks",
            ),
            ("nightly", "unknown definition 'nightly'", "definition"),
        ],
        ids=[
            "cycle",
            "self-dependency",
            "unknown-task",
            "duplicate-id",
            "unknown-function",
            "too-many",
            "too-deep",
            "unknown-name",
        ],
    )
    def test_is_rejected_with_a_reason_naming_the_problem(
        self, cloud: Cloud, definition: Any, reason: str, field: str
    ) -> None:
        status, body, _ = cloud.api("POST", "/workflows", {"workflowId": "bad", "definition": definition})
        assert status == 400
        assert body["error"] == "invalid_definition"
        assert reason in body["message"]
        assert body["details"][0]["field"] == field
        assert cloud.api("GET", "/workflows/bad")[0] == 404

    def test_limits_themselves_are_allowed(self, cloud: Cloud) -> None:
        assert cloud.api("POST", "/workflows", {"definition": chain(20)})[0] == 201
        wide = {"tasks": [{"id": f"t{i}", "function": "task-a"} for i in range(50)]}
        assert cloud.api("POST", "/workflows", {"definition": wide})[0] == 201
        # The body itself is level 1, "input" level 2, "x" level 3: 29 more lists make 32.
        deepest = '{"input": {"x": ' + nested(29) + "}}"
        assert cloud.api("POST", "/workflows", raw_body=deepest)[0] == 201


@pytest.mark.any_dispatch
class TestBadInput:
    @pytest.mark.parametrize(
        ("request_kwargs", "status", "error", "field"),
        [
            ({"raw_body": '{"workflowId": '}, 400, "invalid_json", None),
            ({"raw_body": "[1, 2]"}, 400, "validation_error", "body"),
            ({"raw_body": "[null, null]"}, 400, "validation_error", "body"),
            ({"raw_body": '"text"'}, 400, "validation_error", "body"),
            ({"raw_body": '{"input": {"x": NaN}}'}, 400, "validation_error", "input.x"),
            ({"raw_body": '{"input": {"x": [1, Infinity]}}'}, 400, "validation_error", "input.x[1]"),
            ({"raw_body": '{"input": {"big": 1e400}}'}, 400, "validation_error", "input.big"),
            ({"raw_body": '{"input": {"huge": ' + "9" * 5000 + "}}"}, 400, "validation_error", "input.huge"),
            (
                {
                    "body": {
                        "definition": {"tasks": [{"id": "a", "function": "task-a", "timeout_seconds": 61}]}
                    }
                },
                400,
                "invalid_definition",
                "definition.tasks[0].timeout_seconds",
            ),
            ({"body": {"workflowId": 123}}, 400, "validation_error", "workflowId"),
            ({"body": {"input": ["not", "an", "object"]}}, 400, "validation_error", "input"),
            ({"body": {"workflowId": "has space"}}, 400, "validation_error", "workflowId"),
            ({"body": {"workflowId": "x", "colour": "red"}}, 400, "validation_error", "colour"),
            (
                {"body": {"definition": {"tasks": [{"id": "a", "function": "task-a", "retries": 3}]}}},
                400,
                "validation_error",
                "definition.tasks[0].retries",
            ),
            (
                {"raw_body": json.dumps({"input": {"blob": "x" * (256 * 1024)}})},
                413,
                "payload_too_large",
                None,
            ),
            ({"raw_body": '{"input": {"x": ' + nested(31) + "}}"}, 400, "validation_error", "input"),
            ({"raw_body": '{"input": ' + nested(100_000) + "}"}, 400, "validation_error", "body"),
            ({"body": {}, "headers": {"Content-Type": "text/plain"}}, 415, "unsupported_media_type", None),
            (
                {
                    "raw_body": "workflowId=x",
                    "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                },
                415,
                "unsupported_media_type",
                None,
            ),
        ],
        ids=[
            "malformed-json",
            "not-an-object",
            "array-of-nulls",
            "a-string",
            "nan",
            "infinity",
            "overflow",
            "too-many-digits",
            "timeout-above-the-functions",
            "wrong-type-id",
            "wrong-type-input",
            "bad-id-pattern",
            "unknown-field",
            "unknown-nested-field",
            "oversized",
            "nested-too-deep",
            "nested-past-the-parser",
            "text-plain",
            "form",
        ],
    )
    def test_post_workflows_answers_the_right_4xx_with_a_json_error(
        self, cloud: Cloud, request_kwargs: dict[str, Any], status: int, error: str, field: str | None
    ) -> None:
        got, body, headers = cloud.api("POST", "/workflows", **request_kwargs)
        assert got == status
        assert headers["Content-Type"] == "application/json"
        assert set(body) == {"error", "message", "details"}
        assert body["error"] == error
        assert body["message"]
        if field is not None:
            assert field in [d["field"] for d in body["details"]]
        assert cloud.api("GET", "/workflows")[1]["items"] == []

    def test_an_unknown_field_is_named_in_the_message(self, cloud: Cloud) -> None:
        body = cloud.api("POST", "/workflows", {"workflowId": "x", "colour": "red"})[1]
        assert "unknown field 'colour'" in body["message"]

    def test_an_error_inside_an_inline_definition_names_only_that_field(self, cloud: Cloud) -> None:
        request = {"definition": {"tasks": [{"id": "a", "function": "task-a", "timeout_seconds": "soon"}]}}
        body = cloud.api("POST", "/workflows", request)[1]
        assert [d["field"] for d in body["details"]] == ["definition.tasks[0].timeout_seconds"]

    @pytest.mark.parametrize(
        ("method", "path", "status", "error"),
        [
            ("GET", "/", 404, "not_found"),
            ("GET", "/nope", 404, "not_found"),
            ("GET", "/workflows/x/y/z", 404, "not_found"),
            ("GET", "/workflows/unknown-id", 404, "not_found"),
            ("DELETE", "/workflows", 405, "method_not_allowed"),
            ("PUT", "/workflows/some-id", 405, "method_not_allowed"),
            ("GET", "/workflows/some-id/cancel", 405, "method_not_allowed"),
            ("POST", "/definitions", 405, "method_not_allowed"),
            ("POST", "/workflows/unknown-id/cancel", 404, "not_found"),
            ("POST", "/workflows/unknown-id/retry", 404, "not_found"),
        ],
    )
    def test_routes_and_methods(self, cloud: Cloud, method: str, path: str, status: int, error: str) -> None:
        got, body, headers = cloud.api(method, path)
        assert (got, body["error"]) == (status, error)
        if status == 405:
            assert "Allow" in headers
            assert method not in headers["Allow"]

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"limit": "abc"}, "query.limit"),
            ({"limit": "0"}, "query.limit"),
            ({"limit": "101"}, "query.limit"),
            ({"status": "DONE"}, "query.status"),
            ({"cursor": "not-a-cursor"}, "query.cursor"),
            ({"cursor": "2026-01-01T00:00:00.000Z"}, "query.cursor"),
        ],
    )
    def test_list_rejects_bad_query_parameters(self, cloud: Cloud, query: dict[str, str], field: str) -> None:
        status, body, _ = cloud.api("GET", "/workflows", query=query)
        assert (status, body["error"]) == (400, "validation_error")
        assert body["details"][0]["field"] == field


class TestListWorkflows:
    def test_newest_first_in_pages_joined_by_an_opaque_cursor(self, cloud: Cloud, clock: Any) -> None:
        for i in range(5):
            cloud.api("POST", "/workflows", {"workflowId": f"w{i}"})
            clock.advance(1)
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            status, body, _ = cloud.api("GET", "/workflows", query=query)
            assert status == 200
            Schemas(cloud).check("WorkflowList", body)
            seen += [w["workflow_id"] for w in body["items"]]
            pages += 1
            cursor = body["next_cursor"]
            if not cursor:
                break
            assert "WF#" not in cursor
        assert seen == ["w4", "w3", "w2", "w1", "w0"]
        assert pages == 3

    def test_workflows_created_in_the_same_millisecond_are_each_listed_once(
        self, cloud: Cloud, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # At thousands of starts a second, created_at (ms) ties, within a shard too: pages must still
        # follow one order, (created_at, id) newest first, and a cursor inside a tie must lose no row.
        fixed = 1_800_000_000.123
        monkeypatch.setattr(runtime, "_clock", lambda: fixed)
        ids = [f"tie-{n:02d}" for n in range(24)]
        for workflow_id in ids:
            assert cloud.api("POST", "/workflows", {"workflowId": workflow_id})[0] == 201
        seen: list[str] = []
        cursor = None
        while True:
            query = {"limit": "5", **({"cursor": cursor} if cursor else {})}
            body = cloud.api("GET", "/workflows", query=query)[1]
            seen += [w["workflow_id"] for w in body["items"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert seen == sorted(ids, reverse=True)

    def test_filter_by_status(self, cloud: Cloud) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "done"})
        cloud.run()
        cloud.api("POST", "/workflows", {"workflowId": "waiting"})
        unfinished = "RUNNING" if cloud.dispatch_mode == "writer" else "PENDING"
        pending = cloud.api("GET", "/workflows", query={"status": unfinished})[1]["items"]
        success = cloud.api("GET", "/workflows", query={"status": "SUCCESS"})[1]["items"]
        assert [w["workflow_id"] for w in pending] == ["waiting"]
        assert [w["workflow_id"] for w in success] == ["done"]
        assert success[0]["task_counts"] == {"SUCCEEDED": 5}

    def test_a_cursor_is_a_position_any_filter_can_go_on_from(self, cloud: Cloud, clock: Any) -> None:
        for i in range(3):
            cloud.api("POST", "/workflows", {"workflowId": f"c{i}"})
            clock.advance(1)
        cursor = cloud.api("GET", "/workflows", query={"limit": "1"})[1]["next_cursor"]
        assert cursor and cursor.endswith("~c2")
        status = "RUNNING" if cloud.dispatch_mode == "writer" else "PENDING"
        body = cloud.api("GET", "/workflows", query={"cursor": cursor, "status": status})[1]
        assert [w["workflow_id"] for w in body["items"]] == ["c1", "c0"]


class TestCancel:
    def test_cancel_mid_flight_stops_the_workflow_and_its_unfinished_tasks(self, cloud: Cloud) -> None:
        cancelled: list[dict[str, Any]] = []

        def cancel_while_b1_runs(event: dict[str, Any]) -> Any:
            # A succeeded; B1 runs, B2 and B3 are READY and dispatched, not run yet.
            status, body, _ = cloud.api("POST", "/workflows/stop/cancel")
            assert status == 200
            cancelled.append(body)
            return {"late": True}

        cloud.tasks["orchestra-test-task-b1"] = cancel_while_b1_runs
        cloud.api("POST", "/workflows", {"workflowId": "stop"})
        cloud.run()  # the dispatched workers arrive after the cancel: nothing more runs

        (body,) = cancelled
        Schemas(cloud).check("WorkflowView", body)
        assert body["status"] == "CANCELLED"
        assert body["finished_at"] is not None
        expected = {
            "A": "SUCCEEDED",
            "B1": "CANCELLED",
            "B2": "CANCELLED",
            "B3": "CANCELLED",
            "C": "CANCELLED",
        }
        assert {t["task_id"]: t["status"] for t in body["tasks"]} == expected
        assert [tid for tid, _ in cloud.task_runs] == ["A", "B1"]
        final = cloud.api("GET", "/workflows/stop")[1]
        assert final["status"] == "CANCELLED"
        b1 = next(t for t in final["tasks"] if t["task_id"] == "B1")
        assert (b1["output"], [a["status"] for a in b1["attempts"]]) == (None, ["CANCELLED"])

    def test_cancelling_a_finished_workflow_is_a_conflict(self, cloud: Cloud) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "over"})
        cloud.run()
        status, body, _ = cloud.api("POST", "/workflows/over/cancel")
        assert (status, body["error"]) == (409, "conflict")
        assert "SUCCESS" in body["message"]


class TestRetry:
    def test_retry_of_a_failed_workflow_reruns_its_failed_and_skipped_tasks(self, cloud: Cloud) -> None:
        request = {"workflowId": "again", "input": {"simulate": {"B1": {"fail_attempts": 3}}}}
        cloud.api("POST", "/workflows", request)
        cloud.run()
        assert cloud.api("GET", "/workflows/again")[1]["status"] == "FAILED"

        status, body, _ = cloud.api("POST", "/workflows/again/retry")
        assert status == 200
        assert body["status"] == "RUNNING"
        assert body["finished_at"] is None
        tasks = {t["task_id"]: t for t in body["tasks"]}
        # With writer dispatch the retry's write also makes B1 READY (its dependency succeeded).
        assert (tasks["B1"]["status"], tasks["C"]["status"], tasks["A"]["status"]) == (
            "READY" if cloud.dispatch_mode == "writer" else "PENDING",
            "PENDING",
            "SUCCEEDED",
        )
        assert tasks["B1"]["max_attempts"] == 6  # three more attempts, numbered on from 3

        cloud.run()
        final = cloud.api("GET", "/workflows/again")[1]
        tasks = {t["task_id"]: t for t in final["tasks"]}
        assert final["status"] == "SUCCESS"
        assert (tasks["B1"]["attempt"], tasks["C"]["attempt"]) == (4, 1)
        assert [a["status"] for a in tasks["B1"]["attempts"]] == ["FAILED"] * 3 + ["SUCCEEDED"]
        assert [r for r in cloud.task_runs if r[0] == "A"] == [("A", 1)]

    def test_retry_of_a_cancelled_workflow_runs_it_to_the_end(self, cloud: Cloud) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "resume"})
        cloud.api("POST", "/workflows/resume/cancel")
        assert cloud.api("POST", "/workflows/resume/retry")[0] == 200
        cloud.run()
        assert cloud.api("GET", "/workflows/resume")[1]["status"] == "SUCCESS"

    @pytest.mark.parametrize("run_first", [False, True], ids=["pending", "succeeded"])
    def test_retry_unless_failed_or_cancelled_is_a_conflict(self, cloud: Cloud, run_first: bool) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "fine"})
        if run_first:
            cloud.run()
        status, body, _ = cloud.api("POST", "/workflows/fine/retry")
        assert (status, body["error"]) == (409, "conflict")


class TestExpiry:
    def _expires(self, cloud: Cloud, workflow_id: str) -> dict[str, int | None]:
        items = cloud.dynamodb.query(
            TableName=cloud.workflows,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"WF#{workflow_id}"}},
        )["Items"]
        return {i["sk"]["S"]: int(i["expires_at"]["N"]) if "expires_at" in i else None for i in items}

    def test_a_finished_workflow_expires_and_a_retry_keeps_what_it_reads(
        self, cloud: Cloud, clock: Any
    ) -> None:
        cloud.api(
            "POST", "/workflows", {"workflowId": "ttl", "input": {"simulate": {"B2": {"fail_attempts": 3}}}}
        )
        cloud.run()
        expires = self._expires(cloud, "ttl")
        days = 86400
        # The state item: its TTL days after the workflow finished. The definition and result items,
        # written while it ran and never rewritten: the TTL plus the longest a workflow can run (5 days).
        assert abs(expires["#WF"] - (clock() + 7 * days)) < 60
        assert set(expires) == {
            "#WF",
            "#DEF",
            "RES#A#0001",
            "RES#B1#0001",
            "RES#B2#0001",
            "RES#B2#0002",
            "RES#B2#0003",
            "RES#B3#0001",
        }
        assert all(abs(v - (clock() + 12 * days)) < 60 for k, v in expires.items() if k != "#WF")
        clock.advance(3 * days)
        assert cloud.api("POST", "/workflows/ttl/retry")[0] == 200
        after = self._expires(cloud, "ttl")
        assert after["#WF"] is None
        # what the rerun reads again (the definition, the succeeded tasks' results) lives on
        assert all(abs(after[k] - (clock() + 12 * days)) < 60 for k in ("#DEF", "RES#A#0001", "RES#B1#0001"))
        assert after["RES#B2#0001"] == expires["RES#B2#0001"]

    def test_an_unexpected_error_is_a_json_500(self, cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
        from engine.service import Engine

        def broken(self: Engine, workflow_id: str) -> Any:
            raise RuntimeError("boom")

        monkeypatch.setattr(Engine, "get", broken)
        status, body, _ = cloud.api("GET", "/workflows/any")
        assert (status, body["error"]) == (500, "internal_error")
        assert "boom" not in body["message"]


class TestReadEndpoints:
    def test_get_workflow_shows_tasks_with_attempts_timings_and_outputs(self, cloud: Cloud) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "shown", "input": {"k": "v"}})
        cloud.run()
        status, body, _ = cloud.api("GET", "/workflows/shown")
        assert status == 200
        Schemas(cloud).check("WorkflowView", body)
        assert body["input"] == {"k": "v"}
        a = body["tasks"][0]
        assert a["attempts"][0]["status"] == "SUCCEEDED"
        assert a["started_at"].endswith("Z")
        assert a["duration_ms"] is not None
        assert a["output"]["task"] == "A"

    def test_definitions_lists_the_reference_workflow(self, cloud: Cloud) -> None:
        status, body, _ = cloud.api("GET", "/definitions")
        assert status == 200
        Schemas(cloud).check("DefinitionList", body)
        (orchestra,) = body["items"]
        assert orchestra["name"] == "orchestra"
        assert [(t["id"], t["depends_on"]) for t in orchestra["tasks"]] == [
            ("A", []),
            ("B1", ["A"]),
            ("B2", ["A"]),
            ("B3", ["A"]),
            ("C", ["B1", "B2", "B3"]),
        ]

    def test_openapi_document_is_valid_openapi_3_1_and_documents_the_error_shape(self, cloud: Cloud) -> None:
        document = Schemas(cloud).document
        assert document["openapi"].startswith("3.1")
        validate_openapi(document)
        assert set(document["paths"]) == {
            "/workflows",
            "/workflows/{workflow_id}",
            "/workflows/{workflow_id}/cancel",
            "/workflows/{workflow_id}/retry",
            "/definitions",
        }
        post = document["paths"]["/workflows"]["post"]
        assert {"200", "201", "400", "409", "413", "415", "429", "500"} <= set(post["responses"])
        assert all(
            {"429", "500"} <= set(op["responses"])
            for path in document["paths"].values()
            for op in path.values()
        )
        task = document["components"]["schemas"]["TaskDefinition"]["properties"]
        assert task["function"]["enum"] == ["task-a", "task-b1", "task-b2", "task-b3", "task-c"]
        request = document["components"]["schemas"]["CreateWorkflowRequest"]["properties"]
        assert request["definition"]["anyOf"][0] == {"type": "string", "enum": ["orchestra"]}
        assert "422" not in json.dumps(document["paths"])
        assert post["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/ErrorBody"
        )


@pytest.mark.any_dispatch
class TestCors:
    def test_an_allowed_origin_is_echoed(self, cloud: Cloud) -> None:
        _, _, headers = cloud.api("GET", "/workflows", headers={"Origin": CORS_ORIGIN})
        assert headers["Access-Control-Allow-Origin"] == CORS_ORIGIN

    def test_another_origin_gets_no_cors_headers(self, cloud: Cloud) -> None:
        _, _, headers = cloud.api("GET", "/workflows", headers={"Origin": "https://evil.example.net"})
        assert "Access-Control-Allow-Origin" not in headers

    def test_preflight_is_answered(self, cloud: Cloud) -> None:
        status, _, headers = cloud.api(
            "OPTIONS",
            "/workflows/x/cancel",
            headers={"Origin": CORS_ORIGIN, "Access-Control-Request-Method": "POST"},
        )
        assert status == 204
        assert headers["Access-Control-Allow-Origin"] == CORS_ORIGIN
        assert "POST" in headers["Access-Control-Allow-Methods"]
        assert "Content-Type" in headers["Access-Control-Allow-Headers"]

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"raw_body": "x" * (256 * 1024 + 1)},
            {"raw_body": "{}", "headers": {"Content-Type": "text/csv"}},
            {"raw_body": "{oops"},
        ],
        ids=["413", "415", "400"],
    )
    def test_error_answers_carry_cors_headers_too(self, cloud: Cloud, kwargs: dict[str, Any]) -> None:
        kwargs = dict(kwargs)  # the parameter is shared by both dispatch modes' runs
        headers = {**kwargs.pop("headers", {}), "Origin": CORS_ORIGIN}
        status, _, got = cloud.api("POST", "/workflows", headers=headers, **kwargs)
        assert status >= 400
        assert got["Access-Control-Allow-Origin"] == CORS_ORIGIN
