"""The DynamoDB meter (in the DynamoDB gate, `--meter`): it asks for what billing needs, counts it as
AWS bills it, and gives each client the answer it asked for."""

from __future__ import annotations

import json
import zlib

from localcloud.meter import Meter, item_size


def answer(units: float) -> bytes:
    return json.dumps({"Item": {}, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": units}}).encode()


def failed(item: dict | None) -> bytes:
    body: dict = {
        "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
        "message": "x",
    }
    if item is not None:
        body["Item"] = item
    return json.dumps(body).encode()


class TestMeter:
    def test_capacity_is_asked_for_counted_and_taken_out_again(self) -> None:
        meter = Meter()
        body, asked = meter.request("GetItem", json.dumps({"TableName": "t"}).encode())
        assert not asked.capacity and json.loads(body)["ReturnConsumedCapacity"] == "INDEXES"
        headers: dict[str, str] = {}
        payload = meter.response("GetItem", 200, answer(0.5), headers, asked)
        assert json.loads(payload) == {"Item": {}}
        assert headers["x-amz-crc32"] == str(zlib.crc32(payload))  # botocore checks it
        stats = meter.stats()
        assert (stats["requests"], stats["read_request_units"], stats["write_request_units"]) == (
            {"GetItem": 1},
            0.5,
            0,
        )

    def test_a_client_that_asked_gets_its_capacity_and_writes_count_as_writes(self) -> None:
        meter = Meter()
        sent = json.dumps({"TableName": "t", "ReturnConsumedCapacity": "TOTAL"}).encode()
        body, asked = meter.request("PutItem", sent)
        assert asked.capacity and json.loads(body) == json.loads(sent)
        assert meter.response("PutItem", 200, answer(2.0), {}, asked) == answer(2.0)
        assert meter.stats()["write_request_units"] == 2.0

    def test_a_failed_condition_is_billed_by_the_size_of_the_item_as_it_is(self) -> None:
        meter = Meter()
        request = {"TableName": "t", "Key": {}, "ConditionExpression": "attribute_not_exists(pk)"}
        body, asked = meter.request("PutItem", json.dumps(request).encode())
        assert json.loads(body)["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"
        existing = {"pk": {"S": "k"}, "blob": {"S": "x" * 2500}}
        headers: dict[str, str] = {}
        payload = meter.response("PutItem", 400, failed(existing), headers, asked)
        assert "Item" not in json.loads(payload), "the client did not ask for the item"
        assert headers["x-amz-crc32"] == str(zlib.crc32(payload))
        assert meter.stats()["write_request_units"] == 3  # 2.5 KB: three write units
        assert meter.stats()["failed_conditional_writes"] == 1
        # an absent item still costs one unit; a client that asked keeps the item
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        _, asked = meter.request("UpdateItem", json.dumps(request).encode())
        assert "Item" in json.loads(meter.response("UpdateItem", 400, failed({"pk": {"S": "k"}}), {}, asked))
        assert meter.stats()["write_request_units"] == 4

    def test_a_cancelled_transaction_bills_every_items_prepare(self) -> None:
        meter = Meter()
        request = {
            "TransactItems": [
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}}}},
                {"Update": {"TableName": "t", "Key": {}, "ConditionExpression": "x"}},
            ]
        }
        _, asked = meter.request("TransactWriteItems", json.dumps(request).encode())
        error = {
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "CancellationReasons": [
                {"Code": "None"},
                {"Code": "ConditionalCheckFailed", "Item": {"pk": {"S": "b"}}},
            ],
        }
        meter.response("TransactWriteItems", 400, json.dumps(error).encode(), {}, asked)
        assert meter.stats()["write_request_units"] == 4
        assert meter.stats()["cancelled_transactions"] == 1

    def test_every_unit_is_added_up_per_caller_and_operation_index_writes_apart(self) -> None:
        meter = Meter()
        _, asked = meter.request("PutItem", b'{"TableName": "t"}', caller="orchestra-dev-api")
        written = {
            "ConsumedCapacity": {
                "TableName": "t",
                "CapacityUnits": 3.0,
                "Table": {"CapacityUnits": 1.0},
                "GlobalSecondaryIndexes": {
                    "by_created": {"CapacityUnits": 1.0},
                    "by_status": {"CapacityUnits": 1.0},
                },
            }
        }
        meter.response("PutItem", 200, json.dumps(written).encode(), {}, asked)
        request = {"TableName": "t", "Key": {}, "ConditionExpression": "x"}
        _, asked = meter.request("UpdateItem", json.dumps(request).encode(), caller="orchestra-dev-worker")
        meter.response("UpdateItem", 400, failed({"pk": {"S": "k"}}), {}, asked)
        _, asked = meter.request("Query", b'{"TableName": "t"}', caller="orchestra-dev-worker")
        meter.response("Query", 200, answer(1.0), {}, asked)
        assert meter.stats()["by_caller"] == {
            "orchestra-dev-api": {
                "PutItem": {"requests": 1, "rru": 0, "wru": 3.0, "index_wru": 2.0, "failed": 0}
            },
            "orchestra-dev-worker": {
                "Query": {"requests": 1, "rru": 1.0, "wru": 0, "index_wru": 0, "failed": 0},
                "UpdateItem": {"requests": 1, "rru": 0, "wru": 1, "index_wru": 0, "failed": 1},
            },
        }

    def test_other_errors_are_counted_as_requests_only(self) -> None:
        meter = Meter()
        meter.request("DescribeTable", b'{"TableName": "t"}')
        _, asked = meter.request("UpdateItem", b'{"TableName": "t"}')
        assert meter.response("UpdateItem", 400, b'{"__type": "x"}', {}, asked) == b'{"__type": "x"}'
        assert meter.stats()["requests"] == {"DescribeTable": 1, "UpdateItem": 1}
        assert meter.stats()["write_request_units"] == 0


class TestItemSize:
    def test_follows_dynamodbs_rules(self) -> None:
        assert item_size({"pk": {"S": "abc"}}) == 5
        assert item_size({"n": {"N": "12345"}}) == 1 + 4
        assert item_size({"m": {"M": {"a": {"S": "xy"}}}}) == 1 + 3 + (1 + 2 + 1)
        assert item_size({"l": {"L": [{"BOOL": True}, {"NULL": True}]}}) == 1 + 3 + 2 + 2
