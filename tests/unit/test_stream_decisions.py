"""Stream dispatch: a decision left to the orchestrator (`settled` false) is never lost, whatever
the writes and the batches that follow it. (Writer dispatch takes every decision in the write it
follows from, so these are about the stream mode; the sweep's safety net applies to both.)"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from driver import Cloud, simulated
from engine import runtime
from engine.service import Engine
from engine.store import Store


def two_roots() -> dict[str, Any]:
    """X -> Z and a root Y of its own, so that Y's claim or result can come after X's result."""
    return {
        "tasks": [
            {"id": "X", "function": "task-a"},
            {"id": "Z", "function": "task-c", "depends_on": ["X"]},
            {"id": "Y", "function": "task-b1"},
            {"id": "W", "function": "task-b2", "depends_on": ["Y"]},
        ]
    }


def statuses(cloud: Cloud, workflow_id: str) -> dict[str, str]:
    return {t["task_id"]: t["status"] for t in cloud.api("GET", f"/workflows/{workflow_id}")[1]["tasks"]}


def engine(cloud: Cloud) -> Engine:
    settings = runtime.settings("worker")
    return Engine(Store(cloud.dynamodb, cloud.workflows), settings, runtime.clock)


def event_for(cloud: Cloud, task_id: str) -> dict[str, Any]:
    (event,) = [e for e in cloud.worker_queue if e["task_id"] == task_id]
    cloud.worker_queue.remove(event)
    return event


@pytest.mark.parametrize("dispatch_mode", ["stream"])
class TestDecisionsLeftToTheOrchestrator:
    def test_a_claim_after_a_result_does_not_mark_its_decision_taken(self, cloud: Cloud) -> None:
        # X finished (its decision, Z READY, is left to the orchestrator); then Y is claimed, and the
        # orchestrator gets both images in one batch (it reconciles the newest only).
        cloud.api("POST", "/workflows", {"workflowId": "claim-after", "definition": two_roots()})
        cloud.orchestrate(cloud.read_stream())  # started: X and Y READY
        cloud.run_worker(event_for(cloud, "X"))
        release = threading.Event()

        def slow(event: dict[str, Any]) -> Any:
            release.wait(10)
            return simulated(event)

        cloud.tasks["orchestra-test-task-b1"] = slow
        worker = threading.Thread(target=cloud.run_worker, args=(event_for(cloud, "Y"),))
        worker.start()
        try:
            for _ in range(100):  # until Y's claim is committed
                if statuses(cloud, "claim-after")["Y"] == "RUNNING":
                    break
                release.wait(0.05)
            cloud.orchestrate(cloud.read_stream())
            # Z's decision is taken now, not when Y ends
            assert statuses(cloud, "claim-after")["Z"] == "READY"
            assert [e["task_id"] for e in cloud.worker_queue] == ["Z"]
        finally:
            release.set()
            worker.join()
        cloud.run()
        assert cloud.api("GET", "/workflows/claim-after")[1]["status"] == "SUCCESS"

    def test_a_batch_whose_newest_image_is_settled_still_takes_an_older_images_decision(
        self, cloud: Cloud
    ) -> None:
        # X finished, then Y failed for good, before the orchestrator saw either. It reconciles X's
        # image first: Z READY, from a state in which Y had not failed (its write says "settled", and
        # its condition that W still waits rests on V, not Y). Then Y's image and that write come in
        # one batch: W's decision (skipped: Y failed) must not wait for V.
        definition = {
            "tasks": [
                {"id": "X", "function": "task-a"},
                {"id": "Z", "function": "task-c", "depends_on": ["X"]},
                {"id": "Y", "function": "task-b1", "retry": {"max_attempts": 1}},
                {"id": "V", "function": "task-b2"},
                {"id": "W", "function": "task-b2", "depends_on": ["Y", "V"]},
            ]
        }
        body = {
            "workflowId": "stale",
            "definition": definition,
            "input": {"simulate": {"Y": {"fail_attempts": 9}}},
        }
        cloud.api("POST", "/workflows", body)
        cloud.orchestrate(cloud.read_stream())  # started: X, Y and V READY
        cloud.run_worker(event_for(cloud, "X"))
        cloud.run_worker(event_for(cloud, "Y"))
        records = cloud.read_stream()
        x_done = next(
            i
            for i, r in enumerate(records)
            if r["dynamodb"]["NewImage"]["tasks"]["L"][0]["M"]["s"]["S"] == "SUCCEEDED"
        )
        cloud.orchestrate(records[: x_done + 1])  # up to X's result: Z READY
        assert statuses(cloud, "stale")["Z"] == "READY"
        cloud.orchestrate(records[x_done + 1 :] + cloud.read_stream())
        assert statuses(cloud, "stale")["W"] == "SKIPPED"
        cloud.run()
        assert cloud.api("GET", "/workflows/stale")[1]["status"] == "FAILED"
