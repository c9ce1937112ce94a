"""The sweep (reaper): every unfinished workflow that stopped moving is reconciled, however many
there are and whatever its state says about the decisions taken."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Clock
from driver import Cloud
from engine import runtime
from engine.service import Engine
from engine.store import Store

HORIZON = 60  # SWEEP_HORIZON_SECONDS in the tests' settings


def engine(cloud: Cloud, page: int = 100) -> Engine:
    store = Store(cloud.dynamodb, cloud.workflows)
    store.sweep_page = page
    return Engine(store, runtime.settings("reaper"), runtime.clock)


@pytest.mark.parametrize("dispatch_mode", ["writer"])
class TestEveryStrandedWorkflowIsReached:
    def test_sweeps_that_run_out_of_time_go_on_where_the_last_one_stopped(
        self, cloud: Cloud, clock: Clock
    ) -> None:
        # Five workflows whose first dispatch was lost, all in one status shard's reach; each sweep
        # has time for one page of two only.
        ids = [f"lost-{n}" for n in range(5)]
        for workflow_id in ids:
            cloud.api("POST", "/workflows", {"workflowId": workflow_id})
        cloud.worker_queue.clear()
        clock.advance(HORIZON + 31)
        reached: list[str] = []
        for _ in range(len(ids)):  # at worst one shard's page each time
            swept = engine(cloud, page=2).sweep(HORIZON, deadline=0)
            assert 1 <= swept.examined <= 2
            reached += [d.workflow_id for d in swept.dispatches]
            if len(reached) == len(ids):
                break
        assert sorted(reached) == ids
        # the next sweep with time enough finishes the pass; the one after it starts from the top
        engine(cloud, page=2).sweep(HORIZON, deadline=None)
        swept = engine(cloud, page=2).sweep(HORIZON, deadline=None)
        assert sorted(d.workflow_id for d in swept.dispatches) == ids

    def test_the_reaper_dispatches_every_lost_root(self, cloud: Cloud, clock: Clock) -> None:
        for n in range(3):
            cloud.api("POST", "/workflows", {"workflowId": f"root-{n}"})
        cloud.worker_queue.clear()
        clock.advance(HORIZON + 31)
        assert cloud.reap()["redispatched"] == 3
        clock.advance(-(HORIZON + 31))
        cloud.run()
        assert {cloud.api("GET", f"/workflows/root-{n}")[1]["status"] for n in range(3)} == {"SUCCESS"}


@pytest.mark.parametrize("dispatch_mode", ["writer"])
class TestADecisionNobodyTook:
    def test_is_taken_by_the_sweep_even_when_the_state_says_settled(self, cloud: Cloud, clock: Clock) -> None:
        # A left SUCCEEDED with B1..B3 still PENDING and nothing running: a write that said settled
        # while its decision was not taken (a dead-lettered batch, a bug). Only the sweep can see it.
        cloud.api("POST", "/workflows", {"workflowId": "undecided"})
        cloud.run_worker(cloud.worker_queue.popleft())  # A
        assert status_of(cloud, "undecided", "A") == "SUCCEEDED"
        cloud.worker_queue.clear()
        cloud.sqs_queue.clear()
        pending = {"s": {"S": "PENDING"}, "a": {"N": "0"}}
        cloud.dynamodb.update_item(
            TableName=cloud.workflows,
            Key={"pk": {"S": "WF#undecided"}, "sk": {"S": "#WF"}},
            UpdateExpression="SET tasks[1] = :p, tasks[2] = :p, tasks[3] = :p, tasks[4] = :p, settled = :t",
            ExpressionAttributeValues={":p": {"M": pending}, ":t": {"BOOL": True}},
        )
        clock.advance(HORIZON + 1)
        assert cloud.reap()["reconciled"] == 1
        assert {status_of(cloud, "undecided", t) for t in ("B1", "B2", "B3")} == {"READY"}
        clock.advance(-(HORIZON + 1))
        cloud.run()
        assert cloud.api("GET", "/workflows/undecided")[1]["status"] == "SUCCESS"


def status_of(cloud: Cloud, workflow_id: str, task_id: str) -> Any:
    tasks = cloud.api("GET", f"/workflows/{workflow_id}")[1]["tasks"]
    return next(t["status"] for t in tasks if t["task_id"] == task_id)
