"""At-least-once delivery: duplicated, reordered and replayed stream records and dispatches."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from driver import Cloud

ORDER = ["A", "B1", "B2", "B3", "C"]


def final_state(cloud: Cloud, workflow_id: str) -> dict:
    """What must not depend on delivery: statuses, attempts, outputs, the workflow's version."""
    status, body, _ = cloud.api("GET", f"/workflows/{workflow_id}")
    assert status == 200
    return {
        "status": body["status"],
        "version": body["version"],
        "tasks": {
            t["task_id"]: (t["status"], t["attempt"], len(t["attempts"]), t["output"]["task"])
            for t in body["tasks"]
        },
    }


class TestStreamRecordsDeliveredAtLeastOnce:
    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_duplicated_reordered_and_replayed_records_give_the_same_final_state(
        self, cloud: Cloud, seed: int
    ) -> None:
        # GIVEN the final state of a run with clean delivery
        cloud.api("POST", "/workflows", {"workflowId": "clean"})
        cloud.run()
        expected = final_state(cloud, "clean")
        runs_before = len(cloud.task_runs)

        # WHEN the same workflow runs with every batch delivered twice, records shuffled, small batches
        cloud.api("POST", "/workflows", {"workflowId": "chaos"})
        cloud.run(duplicate=True, shuffle=random.Random(seed), batch_size=2)
        after_chaos = final_state(cloud, "chaos")
        # ... and then every record is delivered once more, oldest first
        cloud.replay_everything()

        # THEN the outcome is the same, with every attempt run once and no extra write
        assert after_chaos == expected
        assert final_state(cloud, "chaos") == expected
        assert expected["status"] == "SUCCESS"
        chaos_runs = cloud.task_runs[runs_before:]
        assert Counter(chaos_runs) == Counter((tid, 1) for tid in ORDER)

    def test_a_replayed_record_of_the_last_dependency_does_not_make_c_ready_twice(self, cloud: Cloud) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "fan-in"})
        cloud.run()

        # The records in which C was still PENDING while every B had succeeded (stream dispatch: the
        # orchestrator made C READY from it; writer dispatch: there is none, the writer did it).
        def statuses(record: dict) -> list[str]:
            tasks = record["dynamodb"].get("NewImage", {}).get("tasks", {}).get("L", [])
            return [t["M"]["s"]["S"] for t in tasks]

        fan_in = [r for r in cloud.delivered if statuses(r)[1:] == ["SUCCEEDED"] * 3 + ["PENDING"]]
        assert len(fan_in) == (1 if cloud.dispatch_mode == "stream" else 0)
        replays = fan_in or [r for r in cloud.delivered if statuses(r)[4:] == ["RUNNING"]]
        version = final_state(cloud, "fan-in")["version"]
        for _ in range(3):
            result = cloud.orchestrate(replays)
            assert result == {"batchItemFailures": []}
        cloud.run_pending_workers()
        state = final_state(cloud, "fan-in")
        assert state["version"] == version
        assert state["tasks"]["C"][:3] == ("SUCCEEDED", 1, 1)
        assert Counter(cloud.task_runs)[("C", 1)] == 1

    def test_other_items_in_the_stream_are_ignored_by_the_orchestrator(self, cloud: Cloud) -> None:
        """The mapping passes state items only; if a definition or result item slips through, it
        changes nothing."""
        cloud.api("POST", "/workflows", {"workflowId": "filtered"})
        shards = cloud.streams.describe_stream(StreamArn=cloud._stream_arn)["StreamDescription"]["Shards"]
        iterator = cloud.streams.get_shard_iterator(
            StreamArn=cloud._stream_arn, ShardId=shards[0]["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        raw = cloud.streams.get_records(ShardIterator=iterator)["Records"]
        others = [cloud._lambda_record(r) for r in raw if r["dynamodb"]["Keys"]["sk"]["S"] != "#WF"]
        assert [r["dynamodb"]["Keys"]["sk"]["S"] for r in others] == ["#DEF"]
        queued = len(cloud.worker_queue)
        assert cloud.orchestrate(others) == {"batchItemFailures": []}
        assert len(cloud.worker_queue) == queued
        assert final_state_status(cloud, "filtered") == (
            "RUNNING" if cloud.dispatch_mode == "writer" else "PENDING"
        )


def final_state_status(cloud: Cloud, workflow_id: str) -> str:
    return cloud.api("GET", f"/workflows/{workflow_id}")[1]["status"]


class TestDispatchDeliveredAtLeastOnce:
    def test_a_duplicated_worker_event_runs_the_attempt_once(self, cloud: Cloud) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "dup"})
        cloud.orchestrate(cloud.read_stream())  # (stream dispatch) PENDING -> RUNNING, A READY, dispatched
        cloud.orchestrate(cloud.read_stream())
        assert list(cloud.worker_queue) == [{"workflow_id": "dup", "task_id": "A", "attempt": 1}]
        event = cloud.worker_queue.popleft()
        results = [cloud.run_worker(event)["result"] for _ in range(3)]
        assert results == ["SUCCEEDED", "not_claimed", "not_claimed"]
        assert [r for r in cloud.task_runs if r[0] == "A"] == [("A", 1)]

    def test_a_late_event_for_an_earlier_attempt_does_nothing(self, cloud: Cloud) -> None:
        cloud.api(
            "POST",
            "/workflows",
            {"workflowId": "late", "input": {"simulate": {"A": {"fail_attempts": 1}}}},
        )
        cloud.run()
        assert cloud.api("GET", "/workflows/late")[1]["status"] == "SUCCESS"
        runs = list(cloud.task_runs)
        assert (
            cloud.run_worker({"workflow_id": "late", "task_id": "A", "attempt": 1})["result"] == "not_claimed"
        )
        assert (
            cloud.run_worker({"workflow_id": "late", "task_id": "A", "attempt": 2})["result"] == "not_claimed"
        )
        assert cloud.task_runs == runs


class TestAnIdUsedAgain:
    def test_a_workflow_id_used_again_after_expiry_runs_its_own_definition(self, cloud: Cloud) -> None:
        """Handlers keep definitions for the life of their process; a workflow id may come back with
        another definition once the first one's items have expired (TTL)."""
        first = {"tasks": [{"id": "one", "function": "task-a"}, {"id": "two", "function": "task-b1"}]}
        cloud.api("POST", "/workflows", {"workflowId": "again", "definition": first})
        cloud.run()
        items = cloud.dynamodb.query(
            TableName=cloud.workflows,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "WF#again"}},
        )["Items"]
        for item in items:  # what DynamoDB's TTL does, eventually
            cloud.dynamodb.delete_item(TableName=cloud.workflows, Key={"pk": item["pk"], "sk": item["sk"]})
        second = {
            "tasks": [
                {"id": "x", "function": "task-c"},
                {"id": "y", "function": "task-c", "depends_on": ["x"]},
                {"id": "z", "function": "task-c", "depends_on": ["y"]},
            ]
        }
        status, _, _ = cloud.api("POST", "/workflows", {"workflowId": "again", "definition": second})
        assert status == 201
        cloud.run()
        body = cloud.api("GET", "/workflows/again")[1]
        assert body["status"] == "SUCCESS"
        assert [(t["task_id"], t["status"]) for t in body["tasks"]] == [
            ("x", "SUCCEEDED"),
            ("y", "SUCCEEDED"),
            ("z", "SUCCEEDED"),
        ]

    def test_an_id_whose_workflow_expired_only_in_part_is_not_resumed_over_its_old_results(
        self, cloud: Cloud
    ) -> None:
        """The state item expires first (TTL days after the end; the definition and results later): a
        POST with the same id and body then finds a definition without state, which is otherwise a
        create that stopped between its two writes. Resuming it would run over the old run's results
        (its attempt 1 is already there): refused instead."""
        cloud.api("POST", "/workflows", {"workflowId": "half-gone"})
        cloud.run()
        cloud.dynamodb.delete_item(
            TableName=cloud.workflows, Key={"pk": {"S": "WF#half-gone"}, "sk": {"S": "#WF"}}
        )
        status, body, _ = cloud.api("POST", "/workflows", {"workflowId": "half-gone"})
        assert (status, body["error"]) == (409, "conflict")
        assert "expired" in body["message"]

    def test_a_create_that_stopped_between_its_two_writes_is_finished_by_the_retry(
        self, cloud: Cloud
    ) -> None:
        cloud.api("POST", "/workflows", {"workflowId": "half-made"})
        cloud.dynamodb.delete_item(
            TableName=cloud.workflows, Key={"pk": {"S": "WF#half-made"}, "sk": {"S": "#WF"}}
        )
        cloud.worker_queue.clear()
        status, _, _ = cloud.api("POST", "/workflows", {"workflowId": "half-made"})
        assert status == 201
        cloud.run()
        assert cloud.api("GET", "/workflows/half-made")[1]["status"] == "SUCCESS"
