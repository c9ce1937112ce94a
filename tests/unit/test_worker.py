"""The worker: exclusive claims, results recorded once, large outputs, its two event formats."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from driver import ARTIFACTS_KEY_ARN, Cloud, simulated
from engine import runtime
from moto import mock_aws


def make_a_ready(cloud: Cloud, workflow_id: str, **body: Any) -> dict[str, Any]:
    """A READY and dispatched (by the API with writer dispatch, by the orchestrator with stream dispatch)."""
    assert cloud.api("POST", "/workflows", {"workflowId": workflow_id, **body})[0] == 201
    cloud.orchestrate(cloud.read_stream())
    cloud.orchestrate(cloud.read_stream())
    assert len(cloud.worker_queue) == 1
    return cloud.worker_queue.popleft()


class TestClaimIsExclusive:
    def test_eight_workers_racing_for_one_ready_task_exactly_one_claims(self, cloud: Cloud) -> None:
        event = make_a_ready(cloud, "race")
        workers = 8
        barrier = threading.Barrier(workers, timeout=20)
        released = threading.Event()

        def hold_claims(**_: Any) -> None:
            # Every worker has read the task READY at the same version; release their conditional
            # writes together so they really race in DynamoDB Local.
            if not released.is_set():
                barrier.wait()
                released.set()

        cloud.dynamodb.meta.events.register("before-call.dynamodb.UpdateItem", hold_claims)
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(lambda _: cloud.run_worker(dict(event))["result"], range(workers)))

        assert sorted(results) == ["SUCCEEDED"] + ["not_claimed"] * (workers - 1)
        assert [r for r in cloud.task_runs if r[0] == "A"] == [("A", 1)]
        task = cloud.api("GET", "/workflows/race")[1]["tasks"][0]
        assert (task["status"], task["attempt"], len(task["attempts"])) == ("SUCCEEDED", 1, 1)


class TestResultRecordedOnce:
    def test_a_result_arriving_after_cancel_is_discarded(self, cloud: Cloud) -> None:
        event = make_a_ready(cloud, "cancel-in-flight")

        def cancel_while_running(task_event: dict[str, Any]) -> Any:
            # The task is RUNNING (claimed) when the user cancels; then it answers.
            status, body, _ = cloud.api("POST", "/workflows/cancel-in-flight/cancel")
            assert status == 200
            assert body["tasks"][0]["status"] == "CANCELLED"
            return {"late": True}

        cloud.tasks["orchestra-test-task-a"] = cancel_while_running
        assert cloud.run_worker(event)["result"] == "discarded"
        body = cloud.api("GET", "/workflows/cancel-in-flight")[1]
        assert body["status"] == "CANCELLED"
        a = body["tasks"][0]
        assert (a["status"], a["output"], a["attempts"][0]["status"]) == ("CANCELLED", None, "CANCELLED")
        assert {t["status"] for t in body["tasks"][1:]} == {"CANCELLED"}


class TestLargeOutputs:
    def test_an_output_over_64_kb_goes_to_the_artifacts_bucket_with_a_pointer_in_the_item(
        self, cloud: Cloud, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("AWS_ENDPOINT_URL")  # moto serves S3 in-process; only S3 is mocked here
        with mock_aws():
            s3 = boto3.client("s3", region_name="us-east-1")
            s3.create_bucket(Bucket="orchestra-test-artifacts")
            cloud.use_s3(s3)
            body = {"workflowId": "big", "input": {"simulate": {"B3": {"output_bytes": 100_000}}}}
            assert cloud.api("POST", "/workflows", body)[0] == 201
            cloud.run()

            wf = cloud.api("GET", "/workflows/big")[1]
            tasks = {t["task_id"]: t for t in wf["tasks"]}
            assert wf["status"] == "SUCCESS"
            b3 = tasks["B3"]
            assert b3["output"] is None
            assert b3["output_ref"] == "s3://orchestra-test-artifacts/outputs/big/B3/1.json"
            assert tasks["B2"]["output_ref"] is None
            assert tasks["B2"]["output"]["task"] == "B2"
            head = s3.head_object(Bucket="orchestra-test-artifacts", Key="outputs/big/B3/1.json")
            # The project key by its ARN: aws:kms alone would be the AWS managed key aws/s3.
            assert head["ServerSideEncryption"] == "aws:kms"
            assert head["SSEKMSKeyId"] == ARTIFACTS_KEY_ARN
            stored = json.loads(
                s3.get_object(Bucket="orchestra-test-artifacts", Key="outputs/big/B3/1.json")["Body"].read()
            )
            assert len(stored["padding"]) > 64 * 1024
            # C received B3's full output, fetched back from the bucket.
            c_event = next(e for e in cloud.task_events if e["task_id"] == "C")
            assert c_event["dependencies"]["B3"] == stored

    def test_an_output_of_exactly_the_limit_stays_in_the_item(self, cloud: Cloud) -> None:
        cloud.tasks["orchestra-test-task-a"] = lambda e: {"blob": "x" * (64 * 1024 - len('{"blob":""}'))}
        event = make_a_ready(cloud, "edge")
        assert cloud.run_worker(event)["result"] == "SUCCEEDED"
        a = cloud.api("GET", "/workflows/edge")[1]["tasks"][0]
        assert a["output_ref"] is None
        assert len(a["output"]["blob"]) == 64 * 1024 - 11


class TestWorkerEvents:
    def test_sqs_messages_from_the_retry_queue_are_claimed_like_direct_events(self, cloud: Cloud) -> None:
        event = make_a_ready(cloud, "via-sqs")
        result = cloud.run_sqs_worker([json.dumps(event), json.dumps(event)])
        assert result == {"batchItemFailures": []}
        assert [r for r in cloud.task_runs if r[0] == "A"] == [("A", 1)]

    def test_a_malformed_sqs_message_is_reported_as_a_batch_item_failure(self, cloud: Cloud) -> None:
        result = cloud.run_sqs_worker(
            ["not json", json.dumps({"workflow_id": "x", "task_id": "A", "attempt": 0})]
        )
        assert len(result["batchItemFailures"]) == 2

    def test_a_malformed_direct_event_is_logged_and_not_retried(self, cloud: Cloud) -> None:
        assert cloud.run_worker({"workflow_id": "x", "attempt": "first"}) == {"result": "invalid_event"}
        assert cloud.task_runs == []

    def test_an_event_for_a_workflow_that_does_not_exist_is_dropped(self, cloud: Cloud) -> None:
        assert (
            cloud.run_worker({"workflow_id": "ghost", "task_id": "A", "attempt": 1})["result"]
            == "not_claimed"
        )
        assert cloud.task_runs == []

    def test_the_task_function_receives_the_contracted_payload(self, cloud: Cloud) -> None:
        event = make_a_ready(cloud, "payload", input={"region": "eu", "simulate": {}})
        cloud.run_worker(event)
        sent = cloud.task_events[0]
        assert sent == {
            "workflow_id": "payload",
            "task_id": "A",
            "attempt": 1,
            "idempotency_key": "payload:A:1",
            "input": {"region": "eu", "simulate": {}},
            "dependencies": {},
        }

    def test_an_output_nested_past_the_limit_counts_as_a_failed_attempt(self, cloud: Cloud) -> None:
        deep: Any = []
        for _ in range(40):
            deep = [deep]
        cloud.tasks["orchestra-test-task-a"] = lambda event: {"deep": deep}
        event = make_a_ready(cloud, "deep-output")
        assert cloud.run_worker(event)["result"] == "READY"
        a = cloud.api("GET", "/workflows/deep-output")[1]["tasks"][0]
        assert (a["status"], a["attempt"], a["output"]) == ("READY", 2, None)
        assert a["attempts"][0]["error"] == {
            "type": "InvalidOutput",
            "message": "task output is nested more than 32 levels deep",
        }
        cloud.tasks["orchestra-test-task-a"] = simulated

    def test_a_task_invoke_error_counts_as_a_failed_attempt(self, cloud: Cloud) -> None:
        from botocore.exceptions import ClientError

        def throttled(event: dict[str, Any]) -> Any:
            raise ClientError(
                {"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "Invoke"
            )

        cloud.tasks["orchestra-test-task-a"] = throttled
        event = make_a_ready(cloud, "throttled")
        assert cloud.run_worker(event)["result"] == "READY"
        a = cloud.api("GET", "/workflows/throttled")[1]["tasks"][0]
        assert (a["status"], a["attempt"]) == ("READY", 2)
        assert a["attempts"][0]["error"]["type"] == "ClientError"
        cloud.tasks["orchestra-test-task-a"] = simulated
        assert runtime.settings("worker").artifacts_bucket == "orchestra-test-artifacts"
