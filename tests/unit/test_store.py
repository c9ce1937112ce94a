"""The store's error handling: lost conditions become domain errors; contention is retried, bounded."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from driver import Cloud
from engine.errors import ContentionExhausted, ItemAlreadyExists, VersionConflict
from engine.model import TaskStatus
from engine.store import Store, TaskChange, WorkflowChange


def cancelled(*codes: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": c} for c in codes],
        },
        "TransactWriteItems",
    )


class FlakyClient:
    """Answers TransactWriteItems with the given errors, then succeeds."""

    def __init__(self, *errors: ClientError) -> None:
        self.errors = list(errors)
        self.calls = 0

    def transact_write_items(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {}


def two_item_change() -> tuple[WorkflowChange, list[TaskChange]]:
    change = TaskChange("wf", "A", "ready", TaskStatus.PENDING, 1, 1, due_at=100.0)
    return WorkflowChange("wf"), [change]


class TestTransactionConflicts:
    def test_are_retried_with_jittered_bounded_sleeps(self) -> None:
        client = FlakyClient(
            cancelled("TransactionConflict", "None"), cancelled("None", "TransactionConflict")
        )
        slept: list[float] = []
        Store(client, "t", sleep=slept.append).apply(*two_item_change())
        assert client.calls == 3
        assert len(slept) == 2
        assert all(0 <= s <= 0.02 * 2**n for n, s in enumerate(slept, start=1))

    def test_give_up_after_five_attempts_with_a_domain_error(self) -> None:
        client = FlakyClient(*[cancelled("TransactionConflict", "None") for _ in range(9)])
        with pytest.raises(ContentionExhausted) as raised:
            Store(client, "t", sleep=lambda _: None).apply(*two_item_change())
        assert client.calls == 5
        assert isinstance(raised.value.__cause__, ClientError)

    def test_a_failed_condition_is_not_retried(self) -> None:
        client = FlakyClient(cancelled("None", "ConditionalCheckFailed"))
        with pytest.raises(VersionConflict, match="condition failed on item 1"):
            Store(client, "t", sleep=lambda _: None).apply(*two_item_change())
        assert client.calls == 1


class TestLostConditions:
    def test_a_second_create_carries_the_existing_workflow(self, cloud: Cloud) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "exists"})
        store = Store(boto3.client("dynamodb", **cloud_kwargs(cloud)), cloud.workflows)
        loaded = store.load("exists")
        assert loaded is not None
        wf, tasks = loaded
        with pytest.raises(ItemAlreadyExists) as raised:
            store.create(wf, list(tasks.values()))
        assert raised.value.current is not None
        assert raised.value.current["workflow_id"] == "exists"
        assert isinstance(raised.value.__cause__, ClientError)

    def test_a_stale_version_loses_and_says_why(self, cloud: Cloud) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "stale"})
        store = Store(cloud.dynamodb, cloud.workflows)
        change = TaskChange("stale", "A", "ready", TaskStatus.PENDING, 1, 1, due_at=1.0)
        store.apply(WorkflowChange("stale"), [change])
        again = TaskChange("stale", "A", "ready", TaskStatus.PENDING, 1, 1, due_at=1.0)
        with pytest.raises(VersionConflict, match="version its writer read") as raised:
            store.apply(WorkflowChange("stale"), [again])
        assert raised.value.current is not None
        assert raised.value.current["status"] == "READY"

    def test_a_change_outside_the_transition_table_is_refused_before_any_write(self) -> None:
        with pytest.raises(ValueError, match="not in the transition table"):
            TaskChange("wf", "A", "claim", TaskStatus.PENDING, 1, 1)


def cloud_kwargs(cloud: Cloud) -> dict[str, Any]:
    endpoint = cloud.dynamodb.meta.endpoint_url
    return {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "local",
        "aws_secret_access_key": "local",
    }
