"""The reference workflow end to end, and a workflow's life: failure, cancel, retry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from support import Listener, tasks_by_id

from tests.cloud import Api, Deployment, eventually

# B1-B3 sleep so that running in parallel is visible as overlapping times, whatever the machine.
# Long enough that the B tasks overlap even when two of them wait for a worker's cold start (the
# third runs at once in the worker that ran A).
PARALLEL = {"simulate": {"B1": {"sleep_ms": 4000}, "B2": {"sleep_ms": 4000}, "B3": {"sleep_ms": 4000}}}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def inline(*tasks: dict[str, Any]) -> dict[str, Any]:
    return {"tasks": list(tasks)}


def task(
    task_id: str, function: str, *depends_on: str, attempts: int = 1, timeout: int = 30
) -> dict[str, Any]:
    return {
        "id": task_id,
        "function": function,
        "depends_on": list(depends_on),
        "retry": {"max_attempts": attempts, "backoff": 0.5},
        "timeout_seconds": timeout,
    }


class TestReferenceWorkflow:
    def test_succeeds_with_tasks_in_dependency_order_and_b_tasks_in_parallel(
        self, api: Api, deployment: Deployment
    ) -> None:
        with Listener(deployment.websocket_url_as()) as listener:
            created = api.create({"input": PARALLEL})
            # PENDING; or already RUNNING when the create's own write starts it (writer dispatch)
            assert created["status"] in ("PENDING", "RUNNING")
            workflow = api.wait(created["workflow_id"])
            assert workflow["status"] == "SUCCESS", workflow
            tasks = tasks_by_id(workflow)
            assert {t["status"] for t in tasks.values()} == {"SUCCEEDED"}
            a, c = tasks["A"], tasks["C"]
            bs = [tasks["B1"], tasks["B2"], tasks["B3"]]
            assert all(at(a["finished_at"]) <= at(b["started_at"]) for b in bs)
            assert all(at(b["finished_at"]) <= at(c["started_at"]) for b in bs)
            # Overlapping: every B started before any B finished.
            assert max(at(b["started_at"]) for b in bs) < min(at(b["finished_at"]) for b in bs)

            updates = eventually(lambda: self._final(listener, created["workflow_id"]), timeout=20)
        versions = [u.message["data"]["version"] for u in updates]
        assert versions == list(range(1, versions[-1] + 1)), "one update per transition, in order"
        self._every_transition(updates)

    @staticmethod
    def _final(listener: Listener, workflow_id: str) -> list[Any]:
        updates = listener.updates(workflow_id)
        assert updates and updates[-1].message["data"]["status"] == "SUCCESS", [u.message for u in updates]
        return updates

    @staticmethod
    def _every_transition(updates: list[Any]) -> None:
        """Each update is one committed write, which may carry several transitions (a result and the
        dependents it made READY, or claimed for the same worker): every task is seen RUNNING and then
        SUCCEEDED, in the order of the transition table, and the workflow ends SUCCESS."""
        seen: dict[str, list[str]] = {}
        for update in updates:
            data = update.message["data"]
            assert update.message["workflow_id"] == data["workflow_id"]
            for item in data["tasks"]:
                history = seen.setdefault(item["taskId"], [])
                if not history or history[-1] != item["status"]:
                    history.append(item["status"])
        order = ["PENDING", "READY", "RUNNING", "SUCCEEDED"]
        assert set(seen) == {"A", "B1", "B2", "B3", "C"}
        for task, history in seen.items():
            assert history == sorted(history, key=order.index), (task, history)
            assert history[-2:] == ["RUNNING", "SUCCEEDED"], (task, history)
        workflow_statuses = [u.message["data"]["status"] for u in updates]
        changes = [s for i, s in enumerate(workflow_statuses) if i == 0 or s != workflow_statuses[i - 1]]
        assert changes in (["PENDING", "RUNNING", "SUCCESS"], ["RUNNING", "SUCCESS"])

    def test_a_workflow_started_twice_with_the_same_id_is_created_once(self, api: Api) -> None:
        created = api.create()
        again = api.request("POST", "/workflows", json={"workflowId": created["workflow_id"]})
        assert again.status_code == 200
        assert again.json()["workflow_id"] == created["workflow_id"]


class TestArtifacts:
    def test_a_large_output_goes_to_the_artifacts_bucket_and_reaches_its_dependent(
        self, api: Api, deployment: Deployment
    ) -> None:
        created = api.create(
            {
                "definition": inline(task("A", "task-a"), task("B", "task-b2", "A")),
                "input": {"simulate": {"A": {"output_bytes": 100_000}}},  # above the 64 KB inline limit
            }
        )
        workflow = api.wait(created["workflow_id"])
        assert workflow["status"] == "SUCCESS", workflow
        a, b = tasks_by_id(workflow)["A"], tasks_by_id(workflow)["B"]
        assert a["output"] is None
        assert a["output_ref"].startswith(f"s3://{deployment.outputs['artifacts_bucket']}/")
        assert b["output"]["count"] == 10, "B read A's data back from the bucket"


class TestLifecycle:
    def test_a_failing_task_fails_the_workflow_and_skips_its_dependents(self, api: Api) -> None:
        created = api.create(
            {
                "definition": inline(
                    task("A", "task-a"), task("B", "task-b2", "A"), task("C", "task-c", "B")
                ),
                "input": {"simulate": {"B": {"fail_attempts": 99}}},
            }
        )
        workflow = api.wait(created["workflow_id"])
        assert workflow["status"] == "FAILED"
        tasks = tasks_by_id(workflow)
        assert tasks["A"]["status"] == "SUCCEEDED"
        assert tasks["B"]["status"] == "FAILED"
        assert "simulated failure" in str(tasks["B"]["error"])
        assert tasks["C"]["status"] == "SKIPPED"

    def test_cancel_a_running_workflow(self, api: Api) -> None:
        created = api.create({"input": {"simulate": {"A": {"sleep_ms": 4000}}}})
        api.wait(created["workflow_id"], {"RUNNING"}, timeout=30)
        response = api.request("POST", f"/workflows/{created['workflow_id']}/cancel")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "CANCELLED"
        workflow = api.wait(created["workflow_id"])
        assert workflow["status"] == "CANCELLED"
        assert {t["status"] for t in workflow["tasks"]} <= {"CANCELLED", "SUCCEEDED"}
        again = api.request("POST", f"/workflows/{created['workflow_id']}/cancel")
        assert again.status_code == 409
        assert again.json()["error"] == "conflict"

    def test_retry_a_failed_workflow_runs_what_failed_and_succeeds(self, api: Api) -> None:
        created = api.create(
            {
                "definition": inline(
                    task("A", "task-a"), task("B", "task-b1", "A"), task("C", "task-c", "B")
                ),
                "input": {"simulate": {"B": {"fail_attempts": 1}}},  # the first attempt only
            }
        )
        assert api.wait(created["workflow_id"])["status"] == "FAILED"
        response = api.request("POST", f"/workflows/{created['workflow_id']}/retry")
        assert response.status_code == 200, response.text
        workflow = api.wait(created["workflow_id"], {"SUCCESS", "FAILED"})
        assert workflow["status"] == "SUCCESS", workflow
        b = tasks_by_id(workflow)["B"]
        assert [a["status"] for a in b["attempts"]] == ["FAILED", "SUCCEEDED"]
