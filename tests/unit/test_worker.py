"""The worker: exclusive claims, results recorded once, large outputs, its two event formats."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import boto3
import pytest
from driver import ARTIFACTS_KEY_ARN, Cloud, simulated
from engine import runtime
from engine.handlers import worker
from engine.model import AttemptResult, TaskState, TaskStatus
from engine.service import Outcome
from engine.store import Snapshot, Store
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


class TestClaimReads:
    def test_a_stale_read_that_does_not_show_the_attempt_ready_yet_is_read_again_consistently(
        self, cloud: Cloud, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The claim reads eventually consistently first; a replica that has not seen the commit that
        made the task READY (the dispatch came right after it) must not turn the dispatch away."""
        event = make_a_ready(cloud, "stale-claim")
        reads: list[bool] = []
        original = Store.read

        def stale_then_fresh(self: Store, workflow_id: str, *, consistent: bool = True) -> Snapshot:
            reads.append(consistent)
            snapshot = original(self, workflow_id, consistent=consistent)
            if not consistent and snapshot.state is not None:  # what a lagging replica would return
                tasks = (TaskState(TaskStatus.PENDING, 0), *snapshot.state.tasks[1:])
                snapshot.state = replace(snapshot.state, status="PENDING", tasks=tasks)
            return snapshot

        monkeypatch.setattr(Store, "read", stale_then_fresh)
        assert cloud.run_worker(dict(event))["result"] == "SUCCEEDED"
        assert reads[:2] == [False, True]
        assert [r for r in cloud.task_runs if r[0] == "A"] == [("A", 1)]

    def test_a_stale_read_that_shows_the_attempt_ready_after_its_claim_loses_the_claim(
        self, cloud: Cloud, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A replica still showing READY after another worker claimed the attempt: the claim's condition
        catches it (a duplicate dispatch runs nothing)."""
        event = make_a_ready(cloud, "stale-duplicate")
        original = Store.read
        ready: list[Snapshot] = []

        def frozen(self: Store, workflow_id: str, *, consistent: bool = True) -> Snapshot:
            snapshot = original(self, workflow_id, consistent=consistent)
            if not consistent:
                if not ready:
                    ready.append(snapshot)  # the first read: A READY; served again later, stale
                return ready[0]
            return snapshot

        monkeypatch.setattr(Store, "read", frozen)
        assert cloud.run_worker(dict(event))["result"] == "SUCCEEDED"
        assert cloud.run_worker(dict(event))["result"] == "not_claimed"
        assert [r for r in cloud.task_runs if r[0] == "A"] == [("A", 1)]


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

    def test_a_claim_between_a_cancels_read_and_its_write_is_cancelled_with_a_result(
        self, cloud: Cloud
    ) -> None:
        """The cancel read A READY; A's worker claims it before the cancel's write. The cancel must see
        that (its write names each task as it read it), end the attempt with a CANCELLED result, and
        the worker's answer is then discarded."""
        event = make_a_ready(cloud, "claimed-meanwhile")
        engine = worker._engine()
        claimed: list[Any] = []

        def claim_first(params: dict[str, Any], **_: Any) -> None:
            if not claimed and "CANCELLED" in json.dumps(params.get("ExpressionAttributeValues", {})):
                claimed.append(engine.claim(event["workflow_id"], event["task_id"], event["attempt"]))

        cloud.dynamodb.meta.events.register("provide-client-params.dynamodb.UpdateItem", claim_first)
        status, _, _ = cloud.api("POST", "/workflows/claimed-meanwhile/cancel")
        cloud.dynamodb.meta.events.unregister("provide-client-params.dynamodb.UpdateItem", claim_first)
        assert status == 200 and claimed and claimed[0] is not None
        recorded = engine.record(claimed[0], Outcome(ok=True, output={"late": True}))
        assert recorded.status is None  # discarded
        a = cloud.api("GET", "/workflows/claimed-meanwhile")[1]["tasks"][0]
        assert (a["status"], [x["status"] for x in a["attempts"]]) == ("CANCELLED", ["CANCELLED"])

    def test_results_that_land_while_a_cancel_runs_are_kept_in_one_cancel(self, cloud: Cloud) -> None:
        """Every RUNNING attempt whose worker wrote its result first keeps it (a success is recorded,
        never lost); the rest are cancelled, all in the cancel's one write."""
        definition = {"tasks": [{"id": f"t{n}", "function": "task-a"} for n in range(8)]}
        cloud.api("POST", "/workflows", {"workflowId": "many", "definition": definition})
        cloud.orchestrate(cloud.read_stream())
        cloud.orchestrate(cloud.read_stream())
        engine = worker._engine()
        attempts = [engine.claim("many", e["task_id"], e["attempt"]) for e in cloud.worker_queue]
        cloud.worker_queue.clear()
        for attempt in attempts[:6]:  # six workers wrote their result item; their state writes are late
            assert attempt is not None
            result = AttemptResult(
                attempt.task_id, attempt.attempt, "SUCCEEDED", None, "2026-01-01T00:00:00.000Z"
            )
            assert engine.store.put_result("many", result, 0) is None
        status, body, _ = cloud.api("POST", "/workflows/many/cancel")
        assert status == 200
        assert [t["status"] for t in body["tasks"]] == ["SUCCEEDED"] * 6 + ["CANCELLED"] * 2
        assert body["status"] == "CANCELLED"


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
