"""Faults the system survives (issue 5 §4): a function process that crashes mid-invocation, a
handler that exceeds its timeout, a stream batch that keeps failing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from support import tasks_by_id

from tests.cloud import Api, Deployment, eventually


def inline(*tasks: dict[str, Any]) -> dict[str, Any]:
    return {"tasks": list(tasks)}


def test_a_crashing_process_fails_the_attempt_and_is_replaced(api: Api, local_only: Deployment) -> None:
    name = local_only.function_name("task-b1")
    before = local_only.control("stats")["functions"][name]
    local_only.control("faults", {"function": name, "fault": "crash", "count": 1})
    created = api.create(
        {
            "definition": inline(
                {
                    "id": "B",
                    "function": "task-b1",
                    "depends_on": [],
                    "retry": {"max_attempts": 2, "backoff": 0.5},
                }
            )
        }
    )
    workflow = api.wait(created["workflow_id"])
    assert workflow["status"] == "SUCCESS", workflow
    first, second = tasks_by_id(workflow)["B"]["attempts"]
    assert first["status"] == "FAILED"
    assert first["error"]["type"] == "Runtime.ExitError"
    assert first["error"]["message"].endswith("Runtime exited with error: signal: killed")
    assert second["status"] == "SUCCEEDED"
    after = local_only.control("stats")["functions"][name]
    assert after["crashes"] == before.get("crashes", 0) + 1
    assert set(before["environments"]) - set(after["environments"]), "the crashed process is not reused"


@pytest.mark.late
def test_a_handler_past_its_timeout_is_stopped_and_the_task_fails(
    api: Api, timed_out_workflow: dict[str, Any]
) -> None:
    timeout = timed_out_workflow["timeout"]
    workflow = api.wait(timed_out_workflow["workflow_id"], timeout=timeout + 60)
    assert workflow["status"] == "FAILED", workflow
    (attempt,) = tasks_by_id(workflow)["SLOW"]["attempts"]
    assert attempt["error"]["type"] == "Sandbox.Timedout"
    assert attempt["error"]["message"].endswith(f"Task timed out after {timeout:.2f} seconds")


def test_a_stream_record_that_keeps_failing_is_bisected_retried_and_sent_to_the_dlq(
    api: Api, deployment: Deployment
) -> None:
    """A workflow item the orchestrator cannot read (written around the API) fails every batch it
    is in: Lambda splits the batch until the record is alone, retries it, then gives it up to the
    orchestrator's DLQ with the stream position; the records after it are processed."""
    table = deployment.outputs["workflows_table_name"]
    dynamodb, sqs = deployment.clients["dynamodb"], deployment.clients["sqs"]
    pk = f"WF#poison-{uuid.uuid4().hex[:8]}"
    dynamodb.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": "#WF"}, "version": {"N": "1"}})
    try:
        after = api.create()
        record = eventually(lambda: _dead_letter(sqs, deployment.outputs["orchestrator_dlq_url"]), timeout=60)
        assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
        assert record["requestContext"]["approximateInvokeCount"] >= 2
        assert record["responseContext"]["functionError"] == "Unhandled"
        info = record["DDBStreamBatchInfo"]
        assert info["batchSize"] == 1, "bisected down to the record that fails"
        assert info["startSequenceNumber"] == info["endSequenceNumber"]
        assert _stream_record(deployment, table, info)["dynamodb"]["Keys"]["pk"]["S"] == pk
        assert api.wait(after["workflow_id"])["status"] == "SUCCESS", "the shard moved on"
    finally:
        dynamodb.delete_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "#WF"}})


def _dead_letter(sqs: Any, queue_url: str) -> dict[str, Any]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
        "Messages", []
    )
    records = [json.loads(m["Body"]) for m in messages]
    for message in messages:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    found = [r for r in records if "DDBStreamBatchInfo" in r]
    assert found, "no stream failure record yet"
    return found[0]


def _stream_record(deployment: Deployment, table: str, info: dict[str, Any]) -> dict[str, Any]:
    """The record a failure record points at, read back from the stream as AWS's docs suggest.
    (The table's own stream ARN: the local one differs from the stack's ARN in the record.)"""
    streams = deployment.clients["dynamodbstreams"]
    stream_arn = deployment.clients["dynamodb"].describe_table(TableName=table)["Table"]["LatestStreamArn"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn,
        ShardId=info["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=info["startSequenceNumber"],
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator, Limit=1)["Records"]
    assert records, "the record is still in the stream"
    return dict(records[0])
