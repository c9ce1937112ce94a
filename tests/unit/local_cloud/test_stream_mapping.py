"""DynamoDB Streams mappings: batches, filters, bisect on function error, partial batch responses,
retries and the on-failure destination, against Lambda's documented behaviour."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_cloud.harness import Loop, eventually
from localcloud.dynamodb_local import DynamoDBLocal
from localcloud.filters import Criteria
from localcloud.lambda_ import InvokeResult
from localcloud.mappings import MappingConfig
from localcloud.streams import StreamMapping

REGION = "eu-central-1"
STREAM_ARN = f"arn:aws:dynamodb:{REGION}:123456789012:table/t/stream/2026-01-01T00:00:00.000"
DLQ = f"arn:aws:sqs:{REGION}:123456789012:dlq"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:consumer"


class FakeSpec:
    arn = FUNCTION_ARN


class FakeFunction:
    """Stands in for a Lambda function: `behaviour(records)` returns a result per invocation."""

    def __init__(self, behaviour: Callable[[list[dict[str, Any]]], InvokeResult]) -> None:
        self.behaviour = behaviour
        self.calls: list[list[str]] = []
        self.spec = FakeSpec()

    async def invoke(self, payload: bytes, *, throttle: bool = True) -> InvokeResult:
        records = json.loads(payload)["Records"]
        self.calls.append([r["dynamodb"]["SequenceNumber"] for r in records])
        return self.behaviour(records)


def ok(body: Any = None) -> InvokeResult:
    return InvokeResult(json.dumps(body).encode(), None, str(uuid.uuid4()))


def crash() -> InvokeResult:
    return InvokeResult(
        json.dumps({"errorType": "RuntimeError", "errorMessage": "poison"}).encode(),
        "Unhandled",
        str(uuid.uuid4()),
    )


def poison_fails(records: list[dict[str, Any]]) -> InvokeResult:
    return crash() if any(r["poison"] for r in records) else ok({"batchItemFailures": []})


def config(**overrides: Any) -> MappingConfig:
    values: dict[str, Any] = {
        "address": "aws_lambda_event_source_mapping.m",
        "uuid": "u",
        "function_name": "consumer",
        "source_arn": STREAM_ARN,
        "batch_size": 100,
        "starting_position": "TRIM_HORIZON",
        "maximum_retry_attempts": 2,
        "maximum_record_age_in_seconds": -1,
        "bisect_batch_on_function_error": True,
        "report_batch_item_failures": True,
        "criteria": Criteria([]),
        "on_failure": DLQ,
        "maximum_batching_window_in_seconds": 0,
        "enabled": True,
        "maximum_concurrency": None,
    }
    values.update(overrides)
    return MappingConfig(**values)


def records(count: int, poison: set[int] = frozenset(), age: float = 0) -> list[dict[str, Any]]:
    created = int(time.time() - age)
    return [
        {
            "eventID": str(i),
            "eventName": "INSERT",
            "poison": i in poison,
            "dynamodb": {"SequenceNumber": f"{1000 + i}", "ApproximateCreationDateTime": created, "Keys": {}},
        }
        for i in range(count)
    ]


class Harness:
    def __init__(self, aio: Loop, function: FakeFunction, mapping_config: MappingConfig) -> None:
        self.aio = aio
        self.sent: list[tuple[str, dict[str, Any]]] = []

        async def send(arn: str, record: dict[str, Any]) -> None:
            self.sent.append((arn, record))

        self.mapping = StreamMapping(
            mapping_config,
            function,
            None,
            "local-arn",
            region=REGION,
            send=send,
            executor=ThreadPoolExecutor(2),  # type: ignore[arg-type]
        )

    def process(self, batch: list[dict[str, Any]]) -> Any:
        return self.aio.run(self.mapping.process(batch, "shardId-1"))


class TestFunctionErrors:
    def test_bisect_isolates_the_poison_record_and_delivers_the_rest(self, aio: Loop) -> None:
        function = FakeFunction(poison_fails)
        harness = Harness(aio, function, config())
        outcome = harness.process(records(8, poison={5}))
        delivered = {
            seq for call in function.calls if len(call) and not any(s == "1005" for s in call) for seq in call
        }
        assert delivered == {f"{1000 + i}" for i in range(8)} - {"1005"}
        assert function.calls.count(["1005"]) == 3  # alone once, then 2 retries
        # In order: the records after the poison one wait until it is given up.
        assert function.calls.index(["1006", "1007"]) > len(function.calls) - 2
        assert outcome.bisections == 3  # 8 -> 4 -> 2 -> 1
        ((arn, document),) = harness.sent
        assert arn == DLQ
        assert document["requestContext"]["condition"] == "RetryAttemptsExhausted"
        assert document["requestContext"]["functionArn"] == FUNCTION_ARN
        assert document["requestContext"]["approximateInvokeCount"] == 3
        assert document["responseContext"] == {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        }
        info = document["DDBStreamBatchInfo"]
        assert info["startSequenceNumber"] == info["endSequenceNumber"] == "1005"
        assert info["batchSize"] == 1
        assert info["shardId"] == "shardId-1"
        assert info["streamArn"] == STREAM_ARN
        assert info["approximateArrivalOfFirstRecord"].endswith("Z")
        assert document["version"] == "1.0"

    def test_without_bisect_the_whole_batch_is_retried_then_discarded(self, aio: Loop) -> None:
        function = FakeFunction(poison_fails)
        harness = Harness(aio, function, config(bisect_batch_on_function_error=False))
        harness.process(records(4, poison={0}))
        assert function.calls == [["1000", "1001", "1002", "1003"]] * 3
        info = harness.sent[0][1]["DDBStreamBatchInfo"]
        assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
            "1000",
            "1003",
            4,
        )

    def test_retries_without_limit_last_until_success(self, aio: Loop) -> None:
        attempts = iter([crash(), crash(), crash(), ok()])
        function = FakeFunction(lambda batch: next(attempts))
        harness = Harness(
            aio, function, config(maximum_retry_attempts=-1, bisect_batch_on_function_error=False)
        )
        harness.process(records(2))
        assert len(function.calls) == 4 and not harness.sent


class TestPartialBatchResponses:
    def test_retry_starts_at_the_lowest_failed_record(self, aio: Loop) -> None:
        answers = iter(
            [ok({"batchItemFailures": [{"itemIdentifier": "1003"}, {"itemIdentifier": "1002"}]}), ok({})]
        )
        function = FakeFunction(lambda batch: next(answers))
        harness = Harness(aio, function, config())
        harness.process(records(5))
        assert function.calls == [["1000", "1001", "1002", "1003", "1004"], ["1002", "1003", "1004"]]
        assert not harness.sent

    def test_exhausted_partial_failures_go_to_the_destination_without_a_function_error(
        self, aio: Loop
    ) -> None:
        function = FakeFunction(
            lambda batch: ok(
                {"batchItemFailures": [{"itemIdentifier": batch[-1]["dynamodb"]["SequenceNumber"]}]}
            )
        )
        harness = Harness(aio, function, config(maximum_retry_attempts=1))
        harness.process(records(3))
        assert function.calls == [["1000", "1001", "1002"], ["1002"]]
        document = harness.sent[0][1]
        assert document["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
        assert document["DDBStreamBatchInfo"]["startSequenceNumber"] == "1002"

    @pytest.mark.parametrize(
        "answer",
        [
            {"batchItemFailures": [{"itemIdentifier": "9999"}]},
            {"batchItemFailures": [{}]},
            {"batchItemFailures": "all"},
        ],
    )
    def test_an_unreadable_response_fails_the_whole_batch(self, aio: Loop, answer: Any) -> None:
        answers = iter([ok(answer), ok({})])
        function = FakeFunction(lambda batch: next(answers))
        Harness(aio, function, config()).process(records(2))
        assert function.calls == [["1000", "1001"], ["1000", "1001"]]

    def test_without_report_batch_item_failures_a_response_is_success(self, aio: Loop) -> None:
        function = FakeFunction(lambda batch: ok({"batchItemFailures": [{"itemIdentifier": "1000"}]}))
        Harness(aio, function, config(report_batch_item_failures=False)).process(records(2))
        assert len(function.calls) == 1


class TestRecordAge:
    def test_records_older_than_the_maximum_age_are_discarded_without_an_invocation(self, aio: Loop) -> None:
        function = FakeFunction(lambda batch: ok())
        harness = Harness(aio, function, config(maximum_record_age_in_seconds=60))
        harness.process(records(2, age=120))
        assert function.calls == []
        document = harness.sent[0][1]
        assert document["requestContext"]["condition"] == "RecordAgeExceeded"
        assert document["requestContext"]["approximateInvokeCount"] == 0
        assert "responseContext" not in document


class FakeStreams:
    """A closed shard holding `records` (raw GetRecords records), read in one page; the first
    `trimmed` reads fail as DynamoDB Local fails an iterator taken on an empty shard."""

    def __init__(self, records: list[dict[str, Any]], trimmed: int = 0) -> None:
        self.records = records
        self.trimmed = trimmed
        self.iterators: list[dict[str, Any]] = []

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, Any]:
        self.iterators.append(kwargs)
        return {"ShardIterator": "iterator"}

    def get_records(self, **kwargs: Any) -> dict[str, Any]:
        if self.trimmed:
            self.trimmed -= 1
            error = {
                "Error": {"Code": "TrimmedDataAccessException", "Message": "read past the oldest record"}
            }
            raise ClientError(error, "GetRecords")
        return {"Records": self.records}  # no NextShardIterator: the shard is closed


def raw_records(count: int) -> list[dict[str, Any]]:
    import datetime as dt

    return [
        {
            "eventID": str(n),
            "eventName": "MODIFY",
            "dynamodb": {
                "Keys": {"pk": {"S": f"WF#{n % 4}"}, "sk": {"S": "#WF"}},
                "SequenceNumber": f"{1000 + n}",
                "ApproximateCreationDateTime": dt.datetime.now(dt.UTC),
            },
        }
        for n in range(count)
    ]


class TestIterators:
    def test_a_trimmed_iterator_is_replaced_and_no_record_is_lost(self, aio: Loop) -> None:
        seen: list[str] = []

        def collect(batch: list[dict[str, Any]]) -> InvokeResult:
            seen.extend(r["dynamodb"]["SequenceNumber"] for r in batch)
            return ok({})

        streams = FakeStreams(raw_records(3), trimmed=1)
        mapping = StreamMapping(
            config(),
            FakeFunction(collect),
            streams,
            "local-arn",
            region=REGION,
            send=lambda arn, record: asyncio.sleep(0),
            executor=ThreadPoolExecutor(1),
        )
        aio.run(mapping._shard("shardId-1"))
        assert seen == ["1000", "1001", "1002"]
        assert [i["ShardIteratorType"] for i in streams.iterators] == ["TRIM_HORIZON", "TRIM_HORIZON"]


class TestParallelization:
    def test_two_lanes_keep_each_partition_keys_records_in_order(self, aio: Loop) -> None:
        raw = raw_records(24)
        batches: list[list[str]] = []

        async def collect(payload: bytes, *, throttle: bool = True) -> InvokeResult:
            records = json.loads(payload)["Records"]
            batches.append(
                [r["dynamodb"]["Keys"]["pk"]["S"] + "/" + r["dynamodb"]["SequenceNumber"] for r in records]
            )
            await asyncio.sleep(0.05)  # long enough for the other lane to run alongside
            return ok({})

        function = FakeFunction(lambda batch: ok())
        function.invoke = collect  # type: ignore[method-assign]
        mapping = StreamMapping(
            config(batch_size=4, parallelization_factor=2),
            function,
            FakeStreams(raw),
            "local-arn",
            region=REGION,
            send=lambda arn, record: asyncio.sleep(0),
            executor=ThreadPoolExecutor(1),
            partition_key="pk",
        )
        aio.run(mapping._shard("shardId-1"))
        delivered = [item for batch in batches for item in batch]
        assert sorted(delivered) == sorted(f"WF#{n % 4}/{1000 + n}" for n in range(24))
        for key in range(4):  # per key, in stream order
            mine = [int(item.split("/")[1]) for item in delivered if item.startswith(f"WF#{key}/")]
            assert mine == sorted(mine)
        lanes = [
            {mapping._lane_of({"dynamodb": {"Keys": {"pk": {"S": i.split("/")[0]}}}}, 2) for i in b}
            for b in batches
        ]
        assert all(len(lane) == 1 for lane in lanes)  # a batch never mixes lanes
        assert {next(iter(lane)) for lane in lanes} == {0, 1}  # and both lanes were used


class TestTheRealStream:
    """The poller over DynamoDB Local's Streams API: order, batch size, filters, record format."""

    def test_records_arrive_in_order_filtered_and_in_lambdas_format(
        self, aio: Loop, dynamodb_local: DynamoDBLocal
    ) -> None:
        client = boto3.client("dynamodb", **dynamodb_local.client_kwargs())
        streams = boto3.client("dynamodbstreams", **dynamodb_local.client_kwargs())
        table = f"stream-{uuid.uuid4().hex[:8]}"
        description = client.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        for i in range(5):
            client.put_item(
                TableName=table,
                Item={"pk": {"S": "WF#1"}, "sk": {"S": "#WF"}, "n": {"N": str(i)}, "b": {"B": b"\x01"}},
            )
            client.put_item(TableName=table, Item={"pk": {"S": "WF#1"}, "sk": {"S": f"TASK#{i}"}})
        seen: list[dict[str, Any]] = []

        def collect(batch: list[dict[str, Any]]) -> InvokeResult:
            seen.extend(batch)
            return ok({"batchItemFailures": []})

        mapping = StreamMapping(
            config(batch_size=2, criteria=Criteria(['{"dynamodb":{"Keys":{"sk":{"S":["#WF"]}}}}'])),
            FakeFunction(collect),
            streams,
            description["LatestStreamArn"],
            region=REGION,
            send=lambda arn, record: asyncio.sleep(0),
            executor=ThreadPoolExecutor(2),
        )
        task = asyncio.run_coroutine_threadsafe(mapping.run(), aio.loop)
        try:
            eventually(lambda: len(seen) == 5, timeout=15)
        finally:
            task.cancel()
        assert [r["dynamodb"]["NewImage"]["n"]["N"] for r in seen] == ["0", "1", "2", "3", "4"]
        first = seen[0]
        assert first["eventSource"] == "aws:dynamodb" and first["eventVersion"] == "1.1"
        assert first["awsRegion"] == REGION
        assert first["eventSourceARN"] == STREAM_ARN
        assert first["eventName"] == "MODIFY" or first["eventName"] == "INSERT"
        assert isinstance(first["dynamodb"]["ApproximateCreationDateTime"], int)
        assert first["dynamodb"]["NewImage"]["b"] == {"B": "AQ=="}
        assert first["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert mapping.stats["filtered_out"] == 5
        assert all(len(call) <= 2 for call in mapping.function.calls)  # type: ignore[attr-defined]
