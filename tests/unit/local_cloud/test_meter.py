"""The DynamoDB meter (in the DynamoDB gate, `--meter`): it asks for the consumed capacity, counts
it, and gives each client the answer it asked for."""

from __future__ import annotations

import json
import zlib

from localcloud.meter import Meter


def answer(units: float) -> bytes:
    return json.dumps({"Item": {}, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": units}}).encode()


class TestMeter:
    def test_capacity_is_asked_for_counted_and_taken_out_again(self) -> None:
        meter = Meter()
        body, asked = meter.request("GetItem", json.dumps({"TableName": "t"}).encode())
        assert not asked and json.loads(body)["ReturnConsumedCapacity"] == "TOTAL"
        headers: dict[str, str] = {}
        payload = meter.response("GetItem", 200, answer(0.5), headers, asked)
        assert json.loads(payload) == {"Item": {}}
        assert headers["x-amz-crc32"] == str(zlib.crc32(payload))  # botocore checks it
        assert meter.stats() == {
            "requests": {"GetItem": 1},
            "read_request_units": 0.5,
            "write_request_units": 0,
        }

    def test_a_client_that_asked_gets_its_capacity_and_writes_count_as_writes(self) -> None:
        meter = Meter()
        sent = json.dumps({"TableName": "t", "ReturnConsumedCapacity": "TOTAL"}).encode()
        body, asked = meter.request("PutItem", sent)
        assert asked and body == sent
        assert meter.response("PutItem", 200, answer(2.0), {}, asked) == answer(2.0)
        assert meter.stats()["write_request_units"] == 2.0

    def test_errors_and_other_operations_are_counted_as_requests_only(self) -> None:
        meter = Meter()
        meter.request("DescribeTable", b'{"TableName": "t"}')
        _, asked = meter.request("UpdateItem", b'{"TableName": "t"}')
        assert meter.response("UpdateItem", 400, b'{"__type": "x"}', {}, asked) == b'{"__type": "x"}'
        assert meter.stats()["requests"] == {"DescribeTable": 1, "UpdateItem": 1}
        assert meter.stats()["write_request_units"] == 0
