"""Failures: retries with backoff, a task that always fails, a worker that dies, lost dispatches."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from conftest import Clock
from driver import Cloud, worker_parallel_tasks


class WorkerDied(BaseException):
    """The worker's process ends after its claim (BaseException: nothing in the handler catches it)."""


def tasks_of(cloud: Cloud, workflow_id: str) -> dict[str, dict[str, Any]]:
    return {t["task_id"]: t for t in cloud.api("GET", f"/workflows/{workflow_id}")[1]["tasks"]}


def inline(*tasks: dict[str, Any]) -> dict[str, Any]:
    return {"tasks": list(tasks)}


def reap(cloud: Cloud) -> dict[str, int]:
    """The sweep's figures that these tests are about."""
    summary = cloud.reap()
    return {k: summary[k] for k in ("expired", "retried", "redispatched")}


# The sweep reconciles workflows that have not moved within its horizon (SWEEP_HORIZON_SECONDS=60).
HORIZON = 60


class TestRetriesWithBackoff:
    def test_a_failed_attempt_is_retried_after_its_backoff_through_the_retry_queue(
        self, cloud: Cloud
    ) -> None:
        body = {"workflowId": "flaky", "input": {"simulate": {"B2": {"fail_attempts": 2}}}}
        cloud.api("POST", "/workflows", body)
        cloud.run()
        b2 = tasks_of(cloud, "flaky")["B2"]
        assert (b2["status"], b2["attempt"]) == ("SUCCEEDED", 3)
        assert [a["status"] for a in b2["attempts"]] == ["FAILED", "FAILED", "SUCCEEDED"]
        assert "simulated failure of B2 attempt 1" in b2["attempts"][0]["error"]["message"]
        assert b2["error"] is None
        # Backoff 1 s then 2 s (exponential), each as an SQS delay, never a sleep in a handler.
        delays = [(json.loads(m["body"])["attempt"], m["delay"]) for m in cloud.sent_messages]
        assert delays == [(2, 1), (3, 2)]
        assert cloud.api("GET", "/workflows/flaky")[1]["status"] == "SUCCESS"

    def test_a_retry_without_backoff_is_invoked_directly(self, cloud: Cloud) -> None:
        definition = inline({"id": "only", "function": "task-a", "retry": {"max_attempts": 2, "backoff": 0}})
        body = {
            "workflowId": "no-backoff",
            "definition": definition,
            "input": {"simulate": {"only": {"fail_attempts": 1}}},
        }
        cloud.api("POST", "/workflows", body)
        cloud.run()
        assert cloud.sent_messages == []
        assert tasks_of(cloud, "no-backoff")["only"]["attempt"] == 2


class TestTaskThatAlwaysFails:
    def test_the_workflow_fails_after_max_attempts_and_dependents_are_skipped(self, cloud: Cloud) -> None:
        body = {"workflowId": "doomed", "input": {"simulate": {"B1": {"fail_attempts": 99}}}}
        cloud.api("POST", "/workflows", body)
        cloud.run()
        wf = cloud.api("GET", "/workflows/doomed")[1]
        tasks = {t["task_id"]: t for t in wf["tasks"]}
        assert wf["status"] == "FAILED"
        assert wf["finished_at"] is not None
        assert (tasks["B1"]["status"], tasks["B1"]["attempt"], len(tasks["B1"]["attempts"])) == (
            "FAILED",
            3,
            3,
        )
        assert tasks["B1"]["error"]["message"].startswith("simulated failure of B1 attempt 3")
        assert tasks["C"]["status"] == "SKIPPED"
        assert tasks["C"]["attempts"] == []
        assert {tasks[t]["status"] for t in ("A", "B2", "B3")} == {"SUCCEEDED"}
        assert [r for r in cloud.task_runs if r[0] == "B1"] == [("B1", 1), ("B1", 2), ("B1", 3)]
        assert ("C", 1) not in cloud.task_runs

    def test_skips_cascade_down_a_chain_in_one_write(self, cloud: Cloud) -> None:
        definition = inline(
            {"id": "first", "function": "task-a", "retry": {"max_attempts": 1}},
            {"id": "second", "function": "task-b1", "depends_on": ["first"]},
            {"id": "third", "function": "task-c", "depends_on": ["second"]},
        )
        body = {
            "workflowId": "chain",
            "definition": definition,
            "input": {"simulate": {"first": {"fail_attempts": 1}}},
        }
        cloud.api("POST", "/workflows", body)
        cloud.run()
        tasks = tasks_of(cloud, "chain")
        assert [tasks[t]["status"] for t in ("first", "second", "third")] == ["FAILED", "SKIPPED", "SKIPPED"]
        assert cloud.api("GET", "/workflows/chain")[1]["status"] == "FAILED"


class TestWorkerThatDies:
    def test_the_reaper_retries_a_task_whose_worker_died_after_claiming(
        self, cloud: Cloud, clock: Clock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        worker_parallel_tasks(monkeypatch, 1)  # B2 runs in a worker of its own (see the next test)
        died = []

        def die_once(event: dict[str, Any]) -> Any:
            if not died:
                died.append(event["attempt"])
                raise WorkerDied
            return {"task": event["task_id"]}

        cloud.tasks["orchestra-test-task-b2"] = die_once
        cloud.api("POST", "/workflows", {"workflowId": "crash"})
        with pytest.raises(WorkerDied):
            cloud.run()
        assert tasks_of(cloud, "crash")["B2"]["status"] == "RUNNING"

        # Before the lease runs out the sweep leaves the task alone.
        clock.advance(HORIZON + 1)
        # (the dispatches that were queued when the worker died are past their deadline: dispatched again)
        assert {k: v for k, v in reap(cloud).items() if k != "redispatched"} == {"expired": 0, "retried": 0}
        clock.advance(60 + 30 - HORIZON)  # the task's timeout (its function's, 60 s) plus the lease margin
        assert {k: v for k, v in reap(cloud).items() if k != "redispatched"} == {"expired": 1, "retried": 1}
        b2 = tasks_of(cloud, "crash")["B2"]
        assert (b2["status"], b2["attempt"]) == ("READY", 2)
        assert b2["attempts"][0]["error"]["type"] == "LeaseExpired"

        cloud.run()
        b2 = tasks_of(cloud, "crash")["B2"]
        assert (b2["status"], b2["attempt"]) == ("SUCCEEDED", 2)
        assert cloud.api("GET", "/workflows/crash")[1]["status"] == "SUCCESS"
        assert died == [1]

    def test_every_kept_task_of_a_worker_that_died_is_run_again_after_its_lease_once(
        self, cloud: Cloud, clock: Clock
    ) -> None:
        """With writer dispatch A's worker keeps B1, B2 and B3 and runs them at once; when it dies
        (in B2) all three attempts end by their leases and each runs once more, with one result each.
        With stream dispatch each B has its own worker and only B2's attempt is lost."""
        died = threading.Event()

        def die_once(event: dict[str, Any]) -> Any:
            if not died.is_set():
                died.set()
                raise WorkerDied
            return {"task": event["task_id"]}

        def outlived(event: dict[str, Any]) -> Any:
            # Kept beside B2: still running when the process ends (its result is never written).
            if cloud.dispatch_mode == "writer" and event["attempt"] == 1:
                assert died.wait(20)
                threading.Event().wait(1.0)
            return {"task": event["task_id"]}

        cloud.tasks["orchestra-test-task-b1"] = outlived
        cloud.tasks["orchestra-test-task-b2"] = die_once
        cloud.tasks["orchestra-test-task-b3"] = outlived
        cloud.api("POST", "/workflows", {"workflowId": "crash-kept"})
        with pytest.raises(WorkerDied):
            cloud.run()
        lost = ["B1", "B2", "B3"] if cloud.dispatch_mode == "writer" else ["B2"]
        tasks = tasks_of(cloud, "crash-kept")
        assert [t for t in ("B1", "B2", "B3") if tasks[t]["status"] == "RUNNING"] == lost

        clock.advance(60 + 30 + 1)  # past the leases (the tasks' timeout, 60 s, plus the lease margin)
        assert {k: v for k, v in reap(cloud).items() if k != "redispatched"} == {
            "expired": len(lost),
            "retried": len(lost),
        }
        cloud.run()
        tasks = tasks_of(cloud, "crash-kept")
        assert cloud.api("GET", "/workflows/crash-kept")[1]["status"] == "SUCCESS"
        for tid in ("B1", "B2", "B3"):
            statuses = [(a["status"], (a["error"] or {}).get("type")) for a in tasks[tid]["attempts"]]
            if tid in lost:
                assert statuses == [("FAILED", "LeaseExpired"), ("SUCCEEDED", None)], tid
                assert [n for t, n in cloud.task_runs if t == tid] == [1, 2], tid
            else:
                assert statuses == [("SUCCEEDED", None)], tid
                assert [n for t, n in cloud.task_runs if t == tid] == [1], tid
        assert [t for t, _ in cloud.task_runs].count("C") == 1

    def test_an_expired_lease_on_the_last_attempt_fails_the_task(self, cloud: Cloud, clock: Clock) -> None:
        definition = inline(
            {"id": "solo", "function": "task-a", "retry": {"max_attempts": 1}, "timeout_seconds": 5}
        )
        cloud.tasks["orchestra-test-task-a"] = lambda e: (_ for _ in ()).throw(WorkerDied())
        cloud.api("POST", "/workflows", {"workflowId": "last", "definition": definition})
        with pytest.raises(WorkerDied):
            cloud.run()
        clock.advance(max(5 + 30, HORIZON) + 1)
        assert reap(cloud)["expired"] == 1
        cloud.run()
        wf = cloud.api("GET", "/workflows/last")[1]
        assert (wf["status"], wf["tasks"][0]["status"]) == ("FAILED", "FAILED")

    def test_a_late_result_after_the_reaper_took_over_is_discarded(self, cloud: Cloud, clock: Clock) -> None:
        results: list[Any] = []

        def slow_then_reaped(event: dict[str, Any]) -> Any:
            if event["attempt"] == 1:
                clock.advance(120)  # the attempt outlives its lease ...
                results.append(reap(cloud))  # ... and the sweep moves on meanwhile
            return {"task": event["task_id"], "attempt": event["attempt"]}

        cloud.tasks["orchestra-test-task-a"] = slow_then_reaped
        cloud.api("POST", "/workflows", {"workflowId": "slow"})
        cloud.run()
        assert results == [{"expired": 1, "retried": 1, "redispatched": 0}]
        a = tasks_of(cloud, "slow")["A"]
        assert (a["status"], a["attempt"], a["output"]["attempt"]) == ("SUCCEEDED", 2, 2)
        assert [x["status"] for x in a["attempts"]] == ["FAILED", "SUCCEEDED"]


class TestLostDispatch:
    def test_the_reaper_dispatches_again_a_ready_task_nobody_claimed(
        self, cloud: Cloud, clock: Clock
    ) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "lost"})
        cloud.orchestrate(cloud.read_stream())
        cloud.orchestrate(cloud.read_stream())
        cloud.worker_queue.clear()  # the async invoke never arrived
        assert reap(cloud)["redispatched"] == 0
        clock.advance(HORIZON + 1)
        assert reap(cloud)["redispatched"] == 1
        assert list(cloud.worker_queue) == [{"workflow_id": "lost", "task_id": "A", "attempt": 1}]
        clock.advance(-(HORIZON + 1))
        cloud.run()
        assert cloud.api("GET", "/workflows/lost")[1]["status"] == "SUCCESS"


class TestStreamRepairsALostDispatch:
    def test_a_ready_task_past_its_dispatch_deadline_is_dispatched_by_the_next_image(
        self, cloud: Cloud, clock: Clock
    ) -> None:
        definition = inline({"id": "a", "function": "task-a"}, {"id": "b", "function": "task-b1"})
        cloud.api("POST", "/workflows", {"workflowId": "repair", "definition": definition})
        cloud.orchestrate(cloud.read_stream())
        cloud.orchestrate(cloud.read_stream())
        lost = [e for e in cloud.worker_queue if e["task_id"] == "b"]
        assert lost
        cloud.worker_queue.clear()  # b's dispatch never arrived; a's too
        clock.advance(31)  # past the dispatch deadline (30 s)
        cloud.replay_everything()  # any image of the workflow: here, a replay
        assert sorted(e["task_id"] for e in cloud.task_events) == ["a", "b"]
        cloud.run()
        assert cloud.api("GET", "/workflows/repair")[1]["status"] == "SUCCESS"
