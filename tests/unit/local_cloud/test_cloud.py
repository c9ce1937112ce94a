"""The local cloud as a whole: outputs, inert resources, functions' environments, the stream and
queue mappings end to end, the schedule."""

from __future__ import annotations

import json
import re
import stat
import uuid
from typing import Any

from local_cloud.harness import Loop, Running, eventually
from localcloud import iam
from localcloud.cloud import endpoints_path
from localcloud.lambda_ import CREDENTIALS


class TestOutputs:
    def test_the_outputs_file_is_in_cdktfs_format(self, running: Running) -> None:
        document = json.loads(running.cloud.options.outputs_path.read_text())
        assert set(document) == {"test"}
        outputs = document["test"]
        assert outputs["api_url"].startswith("http://127.0.0.1:") and outputs["api_url"].endswith("/prod")
        assert outputs["websocket_url"].startswith("ws://127.0.0.1:")
        assert outputs["dashboard_url"].startswith("http://127.0.0.1:")
        assert outputs["table_name"] == "test-items"

    def test_the_endpoints_file_sits_beside_it(self, running: Running) -> None:
        described = json.loads(endpoints_path(running.cloud.options.outputs_path).read_text())
        assert described["dynamodb"] == running.cloud.endpoints.dynamodb
        assert described["region"] == "eu-central-1"

    def test_only_its_owner_may_read_the_endpoints_file(self, running: Running) -> None:
        # It holds credentials: the deployer's, and with a user pool the users' passwords and the
        # machine client's secret.
        described = endpoints_path(running.cloud.options.outputs_path)
        assert stat.S_IMODE(described.stat().st_mode) == 0o600
        assert not described.with_name(described.name + ".partial").exists()

    def test_inert_types_are_listed(self, running: Running) -> None:
        assert running.cloud.inert == ["aws_cloudwatch_log_group", "aws_kms_key"]


class TestFunctionEnvironment:
    def test_declared_variables_are_localized_and_endpoints_added(self, running: Running) -> None:
        response = running.client("lambda").invoke(FunctionName="test-echo", Payload=b"{}")
        env = json.loads(response["Payload"].read())["environ"]
        assert env["TABLE_NAME"] == "test-items"
        assert env["QUEUE_URL"] == running.outputs["retry_queue_url"]
        assert env["MANAGEMENT_ENDPOINT"] == running.outputs["websocket_url"].replace("ws://", "http://")
        # DynamoDB, SQS and S3 through the gates that check the function's role; the Lambda API
        # and @connections check it themselves.
        assert env["AWS_ENDPOINT_URL_DYNAMODB"] == running.cloud.function_dynamodb
        assert env["AWS_ENDPOINT_URL_SQS"] == env["AWS_ENDPOINT_URL_S3"] == running.cloud.function_moto
        assert running.cloud.function_dynamodb != running.cloud.endpoints.dynamodb
        assert env["AWS_ENDPOINT_URL_LAMBDA"] == running.cloud.endpoints.lambda_
        assert env["AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"] == env["MANAGEMENT_ENDPOINT"]
        assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9"

    def test_each_function_signs_as_its_own_role_session(self, running: Running) -> None:
        response = running.client("lambda").invoke(FunctionName="test-echo")
        env = json.loads(response["Payload"].read())["environ"]
        assert env["AWS_ACCESS_KEY_ID"] == iam.access_key("test-echo")
        others = (iam.access_key("test-node"), CREDENTIALS["AWS_ACCESS_KEY_ID"])
        assert env["AWS_ACCESS_KEY_ID"] not in others
        assert re.fullmatch(r"ASIA[A-Z2-7]{16}", env["AWS_ACCESS_KEY_ID"])

    def test_json_log_format_is_passed_on_as_lambda_does(self, running: Running) -> None:
        response = running.client("lambda").invoke(FunctionName="test-tick", Payload=b'{"peek": 1}')
        env = json.loads(response["Payload"].read())["environ"]
        assert env["AWS_LAMBDA_LOG_FORMAT"] == "JSON"
        assert env["AWS_LAMBDA_LOG_LEVEL"] == "WARN"

    def test_cors_origin_is_the_local_dashboard(self, running: Running) -> None:
        assert running.cloud.lambdas is not None
        assert (
            running.cloud.lambdas.functions["test-api"].spec.environment["CORS"]
            == running.outputs["dashboard_url"]
        )


def put(running: Running, sk: str, **attributes: Any) -> str:
    pk = f"ITEM#{uuid.uuid4().hex[:8]}"
    item = {"pk": {"S": pk}, "sk": {"S": sk}, **attributes}
    running.client("dynamodb").put_item(TableName="test-items", Item=item)
    return pk


def stream_keys(running: Running) -> list[str]:
    return [
        r["dynamodb"]["Keys"]["pk"]["S"] for batch in running.recorded("stream") for r in batch["Records"]
    ]


class TestStreamMapping:
    def test_filtered_records_reach_the_consumer(self, running: Running) -> None:
        kept = put(running, "#ITEM")
        dropped = put(running, "OTHER")
        eventually(lambda: kept in stream_keys(running))
        assert dropped not in stream_keys(running)

    def test_a_poison_record_is_isolated_retried_and_sent_to_the_dlq(self, running: Running) -> None:
        poison = put(running, "#ITEM", poison={"BOOL": True})
        # Delivered alone first, so the count below does not depend on how a poller batches records.
        eventually(lambda: poison in stream_keys(running), timeout=30)
        after = put(running, "#ITEM")
        eventually(lambda: after in stream_keys(running), timeout=30)
        assert stream_keys(running).count(poison) == 2  # once, then the one retry the mapping allows
        sqs = running.client("sqs")

        def dead_letter() -> dict[str, Any]:
            messages = sqs.receive_message(QueueUrl=running.outputs["dlq_url"], MaxNumberOfMessages=10).get(
                "Messages", []
            )
            bodies = [json.loads(m["Body"]) for m in messages]
            return next(b for b in bodies if "DDBStreamBatchInfo" in b)

        record = eventually(dead_letter, timeout=30)
        assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
        assert record["DDBStreamBatchInfo"]["batchSize"] == 1
        assert record["DDBStreamBatchInfo"]["streamArn"].startswith(
            "arn:aws:dynamodb:eu-central-1:123456789012:table/test-items/stream/"
        )


class TestQueueMapping:
    def test_messages_reach_the_worker_in_lambdas_sqs_format(self, running: Running) -> None:
        marker = uuid.uuid4().hex
        running.client("sqs").send_message(
            QueueUrl=running.outputs["retry_queue_url"], MessageBody=json.dumps({"m": marker})
        )

        def delivered() -> dict[str, Any]:
            return next(
                r
                for batch in running.recorded("sqs")
                for r in batch["Records"]
                if json.loads(r["body"]).get("m") == marker
            )

        record = eventually(delivered)
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == "arn:aws:sqs:eu-central-1:123456789012:test-retry"
        assert record["awsRegion"] == "eu-central-1"
        assert record["attributes"]["ApproximateReceiveCount"] == "1"

    def test_delay_seconds_holds_a_message_back(self, running: Running) -> None:
        import time

        marker = uuid.uuid4().hex
        sent = time.time()
        running.client("sqs").send_message(
            QueueUrl=running.outputs["retry_queue_url"], MessageBody=json.dumps({"m": marker}), DelaySeconds=2
        )
        eventually(
            lambda: any(
                json.loads(r["body"]).get("m") == marker
                for b in running.recorded("sqs")
                for r in b["Records"]
            ),
            timeout=15,
        )
        assert time.time() - sent >= 2

    def test_a_failing_message_moves_to_the_dead_letter_queue(self, running: Running) -> None:
        marker = uuid.uuid4().hex
        sqs = running.client("sqs")
        sqs.send_message(
            QueueUrl=running.outputs["retry_queue_url"], MessageBody=json.dumps({"fail": True, "m": marker})
        )

        def in_dlq() -> bool:
            messages = sqs.receive_message(QueueUrl=running.outputs["dlq_url"], MaxNumberOfMessages=10).get(
                "Messages", []
            )
            return any(marker in m["Body"] for m in messages)

        eventually(in_dlq, timeout=30, interval=0.5)


class TestSchedule:
    def test_a_rule_invokes_its_target_with_the_scheduled_event(self, running: Running, aio: Loop) -> None:
        assert running.cloud.scheduler is not None
        (rule,) = running.cloud.scheduler.rules
        assert rule.period == 60
        aio.call(lambda: running.cloud.scheduler.fire(rule))  # type: ignore[union-attr]
        event = eventually(lambda: next(e for e in running.recorded("tick") if "detail-type" in e))
        assert event["detail-type"] == "Scheduled Event"
        assert event["source"] == "aws.events"
        assert event["resources"] == ["arn:aws:events:eu-central-1:123456789012:rule/test-tick"]
