"""The DynamoDB meter, for the bench: requests and capacity per operation.

It sits in the DynamoDB gate (`gate.py`, through which functions reach DynamoDB) when the local
cloud runs with `meter=True`. It asks DynamoDB Local for the consumed capacity of every request
(`ReturnConsumedCapacity: TOTAL`), adds it up by operation, and gives each client the answer it
asked for (the capacity removed again unless the client requested it; the response checksum
recomputed). What it counts is what AWS bills an on-demand table: read and write request units.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import MutableMapping
from typing import Any

# Operations that consume capacity and accept ReturnConsumedCapacity.
_CAPACITY_OPERATIONS = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
}
_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


class Meter:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()  # operation -> requests
        self.read_units = 0.0
        self.write_units = 0.0

    def reset(self) -> None:
        self.requests.clear()
        self.read_units = self.write_units = 0.0

    def stats(self) -> dict[str, Any]:
        return {
            "requests": dict(sorted(self.requests.items())),
            "read_request_units": round(self.read_units, 2),
            "write_request_units": round(self.write_units, 2),
        }

    def request(self, operation: str, body: bytes) -> tuple[bytes, bool]:
        """Count a request and ask for its capacity: (the body to send, whether the client asked)."""
        self.requests[operation] += 1
        if operation not in _CAPACITY_OPERATIONS or not body:
            return body, True
        document = json.loads(body)
        if document.get("ReturnConsumedCapacity", "NONE") != "NONE":
            return body, True
        document["ReturnConsumedCapacity"] = "TOTAL"
        return json.dumps(document).encode(), False

    def response(
        self, operation: str, status: int, payload: bytes, headers: MutableMapping[str, str], asked: bool
    ) -> bytes:
        """Add up the capacity of an answer; the answer as the client asked for it."""
        if operation not in _CAPACITY_OPERATIONS or status != 200:
            return payload
        document = json.loads(payload)
        self._count(operation, document.get("ConsumedCapacity"))
        if asked:
            return payload
        document.pop("ConsumedCapacity", None)
        payload = json.dumps(document).encode()
        headers["x-amz-crc32"] = str(zlib.crc32(payload))
        return payload

    def _count(self, operation: str, consumed: Any) -> None:
        items = consumed if isinstance(consumed, list) else [consumed] if consumed else []
        units = sum(float(item.get("CapacityUnits", 0)) for item in items if isinstance(item, dict))
        if operation in _WRITES:
            self.write_units += units
        else:
            self.read_units += units
