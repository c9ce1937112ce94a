"""The store: one conditional UpdateItem per transition; a lost condition carries the current state."""

from __future__ import annotations

import pytest
from driver import Cloud
from engine import flow
from engine.errors import ContentionExhausted, ItemAlreadyExists
from engine.flow import Dag
from engine.store import StateConflict, Store, retry_conflicts


def store_of(cloud: Cloud) -> Store:
    return Store(cloud.dynamodb, cloud.workflows, ttl_days=7)


def dag_of(cloud: Cloud, workflow_id: str) -> Dag:
    snapshot = store_of(cloud).read(workflow_id)
    assert snapshot.definition is not None
    return Dag.from_definition(snapshot.definition.definition)


class TestConditionalWrites:
    def test_a_stale_claim_loses_and_carries_the_state_as_it_is(self, cloud: Cloud) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "stale"})
        cloud.orchestrate(cloud.read_stream())  # stream mode: the orchestrator starts it
        store, dag = store_of(cloud), dag_of(cloud, "stale")
        read = store.get_state("stale")
        assert read is not None and read.tasks[0].status == "READY"
        first = flow.claim(read, dag, 0, 1, cloud_now())
        second = flow.claim(read, dag, 0, 1, cloud_now())
        assert first is not None and second is not None
        store.apply(first, cloud_now())
        with pytest.raises(StateConflict, match="exactly one worker claims an attempt") as raised:
            store.apply(second, cloud_now())
        assert raised.value.state is not None
        assert raised.value.state.tasks[0].status == "RUNNING"

    def test_unrelated_transitions_do_not_fail_each_other(self, cloud: Cloud) -> None:
        definition = {"tasks": [{"id": "x", "function": "task-a"}, {"id": "y", "function": "task-a"}]}
        cloud.api("POST", "/workflows", {"workflowId": "two", "definition": definition})
        cloud.orchestrate(cloud.read_stream())
        store, dag = store_of(cloud), dag_of(cloud, "two")
        read = store.get_state("two")
        assert read is not None
        claims = [flow.claim(read, dag, i, 1, cloud_now()) for i in (0, 1)]
        for change in claims:  # both computed from the same read: each names only its own task
            assert change is not None
            store.apply(change, cloud_now())
        after = store.get_state("two")
        assert after is not None and [t.status for t in after.tasks] == ["RUNNING", "RUNNING"]
        assert after.version == read.version + 2

    def test_no_transactions_on_the_hot_path(self, cloud: Cloud) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "plain"})
        cloud.run()
        operations = {op for (_, op) in cloud.calls}
        assert "TransactWriteItems" not in operations and "TransactGetItems" not in operations

    def test_a_second_create_learns_what_is_there(self, cloud: Cloud) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "exists"})
        store = store_of(cloud)
        snapshot = store.read("exists")
        assert snapshot.definition is not None and snapshot.state is not None
        change = flow.create(
            "exists", dag_of(cloud, "exists"), snapshot.state.created_at, cloud_now(), start=False
        )
        with pytest.raises(ItemAlreadyExists) as raised:
            store.create(snapshot.definition, change, cloud_now())
        assert raised.value.current is not None and raised.value.current["sk"] == "#DEF"


class TestContention:
    def test_a_change_that_keeps_losing_gives_up_with_a_domain_error(self, cloud: Cloud) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "busy"})
        store = store_of(cloud)
        read = store.get_state("busy")
        assert read is not None

        def always_loses(change: flow.Change) -> None:
            raise StateConflict("lost", read)

        with pytest.raises(ContentionExhausted):
            retry_conflicts(lambda s: flow.cancel(s, cloud_now()), always_loses, read, attempts=3)  # type: ignore[arg-type,return-value]

    def test_a_change_outside_the_transition_table_is_refused_before_any_write(self, cloud: Cloud) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "table"})
        read = store_of(cloud).get_state("table")
        assert read is not None
        change = flow.Change("table", read)
        with pytest.raises(ValueError, match="not in the transition table"):
            change.move_task(0, "succeed", read.tasks[0])


def cloud_now() -> float:
    import time

    return time.time()
