"""The reference workflow A -> (B1, B2, B3) -> C, end to end through the real handlers and the real
task handlers (Node.js and Python, each in its own process), driven by DynamoDB Local's stream."""

from __future__ import annotations

import json
from collections import Counter

from driver import REAL_TASKS, Cloud

ORDER = ["A", "B1", "B2", "B3", "C"]


def _tasks(body: dict) -> dict[str, dict]:
    return {t["task_id"]: t for t in body["tasks"]}


class TestReferenceWorkflow:
    def test_runs_to_success_with_every_task_once_and_c_aggregating_b1_to_b3(self, cloud: Cloud) -> None:
        cloud.tasks.update(REAL_TASKS)
        cloud.websocket("$connect", "watcher")

        status, created, _ = cloud.api(
            "POST", "/workflows", {"workflowId": "ref-1", "input": {"data": [4, 8, 15]}}
        )
        assert status == 201
        # With writer dispatch the create starts the workflow in the same write (its roots READY).
        assert created["status"] == ("RUNNING" if cloud.dispatch_mode == "writer" else "PENDING")
        cloud.run()

        status, body, _ = cloud.api("GET", "/workflows/ref-1")
        assert status == 200
        assert body["status"] == "SUCCESS"
        tasks = _tasks(body)
        assert [t["task_id"] for t in body["tasks"]] == ORDER
        assert {tid: (t["status"], t["attempt"]) for tid, t in tasks.items()} == dict.fromkeys(
            ORDER, ("SUCCEEDED", 1)
        )
        assert tasks["A"]["output"]["workflow_id"] == "ref-1"
        assert tasks["B1"]["output"]["sum"] == 27
        assert tasks["B2"]["output"]["mean"] == 9
        assert tasks["C"]["output"]["sources"] == ["B1", "B2", "B3"]
        assert tasks["C"]["output"]["report"] == {
            "count": 3,
            "sum": 27,
            "mean": 9,
            "min": 4,
            "max": 15,
            "sha256": tasks["B3"]["output"]["sha256"],
        }
        assert body["duration_ms"] is not None
        assert body["task_counts"] == {"SUCCEEDED": 5}
        # Every attempt ran exactly once, dependencies arrived before their dependents.
        assert Counter(cloud.task_runs) == Counter((tid, 1) for tid in ORDER)
        order = [tid for tid, _ in cloud.task_runs]
        assert order[0] == "A"
        assert order[-1] == "C"
        # Tasks got their idempotency key and their dependencies' outputs.
        c_event = next(e for e in cloud.task_events if e["task_id"] == "C")
        assert c_event["idempotency_key"] == "ref-1:C:1"
        assert sorted(c_event["dependencies"]) == ["B1", "B2", "B3"]
        # The watcher saw every transition (one image each), in order, ending with SUCCESS.
        updates = [m for cid, m in cloud.posts if cid == "watcher"]
        assert updates
        assert updates[-1]["data"]["status"] == "SUCCESS"
        assert updates[-1]["data"]["tasks"][0] == {"taskId": "A", "status": "SUCCEEDED", "type": "node"}
        versions = [m["data"]["version"] for m in updates]
        assert versions == list(range(1, versions[-1] + 1))
        assert all(r == {"batchItemFailures": []} for r in cloud.orchestrator_results)

    def test_cost_per_workflow_is_small_and_reported(self, cloud: Cloud) -> None:
        """DynamoDB requests and Lambda invocations of one reference workflow (the bench prints the
        figures on the local cloud; bounds here catch regressions)."""
        cloud.websocket("$connect", "dashboard")  # one subscriber, so broadcasts are really sent
        status, _, _ = cloud.api("POST", "/workflows", {"workflowId": "cost-1"})
        assert status == 201
        cloud.run()
        cost = cloud.cost()
        cost["stream_records"] = len(cloud.delivered)
        cost["websocket_posts"] = len(cloud.posts)
        print(f"\nreference workflow cost ({cloud.dispatch_mode} dispatch):", json.dumps(cost, indent=2))
        assert cloud.api("GET", "/workflows/cost-1")[1]["status"] == "SUCCESS"
        ops = cost["workflows_table"]["by_operation"]
        assert "TransactWriteItems" not in ops, "no transactions on the hot path"
        # create: the definition and the state item; one immutable result item per attempt
        assert ops["PutItem"] == 2 + 5
        invocations = cost["invocations"]
        if cloud.dispatch_mode == "writer":
            # claims of A, B2, B3 (B1 is kept by the worker that ran A, C by the worker whose result made
            # it READY), five results; the orchestrator takes no decision (the writers did)
            assert ops["UpdateItem"] == 3 + 5
            assert invocations["worker"] == 3
        else:
            # five claims, five results, and the orchestrator's start, B READY, C READY and the end
            assert ops["UpdateItem"] == 5 + 5 + 4
            assert invocations["worker"] == 5
        assert all(invocations[f"orchestra-test-task-{x}"] == 1 for x in ("a", "b1", "b2", "b3", "c"))
