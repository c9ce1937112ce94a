"""The DynamoDB meter, for the bench: requests and capacity per operation, as AWS bills them.

It sits in the DynamoDB gate (`gate.py`, through which functions reach DynamoDB) when the local
cloud runs with `meter=True`. It asks DynamoDB Local for the consumed capacity of every request
(`ReturnConsumedCapacity: TOTAL`, which includes the global secondary indexes' writes: DynamoDB Local
counts them as AWS does, one write per index row put or deleted, two when an index key changes, by
the projected size), adds it up by operation, and gives each client the answer it asked for (the
capacity removed again unless the client requested it; the response checksum recomputed).

Everything is also added up per caller (the function whose role signed the request) and operation,
with the index writes apart (`ReturnConsumedCapacity: INDEXES`), so the bench can say where every
unit goes.

What DynamoDB returns no capacity for but AWS bills all the same (Developer Guide, "DynamoDB read
and write operations" and "Amazon DynamoDB Transactions: How it works"):
- a conditional write whose condition fails consumes write units for the item as it is (at least
  one): the meter asks for the item with the failure (ReturnValuesOnConditionCheckFailure) and sizes it;
- a cancelled transaction: every item's prepare is billed like a transactional write, two units per
  KB of the item (at least one KB; the failing item sized from its returned image).
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import MutableMapping
from dataclasses import dataclass
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
_CONDITIONAL = {"PutItem", "UpdateItem", "DeleteItem"}


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB's item-size rules ("Item sizes and formats")."""
    ((kind, data),) = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "B":
        return len(str(data)) * 3 // 4  # base64 on the wire
    if kind == "N":
        digits = str(data).lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: item}) for item in data)
    if kind == "L":
        return 3 + sum(attribute_size(item) + 1 for item in data)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in data.items())
    return 0


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def _units(size: int, unit: int = 1024) -> int:
    return max(1, -(-size // unit))


@dataclass(frozen=True)
class Asked:
    """What the client itself asked for (the meter adds what it needs, and takes it out again)."""

    capacity: bool = True
    item_on_failure: bool = True
    sent: dict[str, Any] | None = None
    caller: str = "-"


@dataclass
class Usage:
    """What one caller's requests of one operation cost."""

    requests: int = 0
    read_units: float = 0.0
    write_units: float = 0.0  # table and index writes together
    index_write_units: float = 0.0
    failed: int = 0  # failed conditions and cancelled transactions (their units are in write_units)

    def as_dict(self) -> dict[str, float]:
        return {
            "requests": self.requests,
            "rru": round(self.read_units, 2),
            "wru": round(self.write_units, 2),
            "index_wru": round(self.index_write_units, 2),
            "failed": self.failed,
        }


class Meter:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()  # operation -> requests
        self.read_units = 0.0
        self.write_units = 0.0
        self.failed_conditions = 0
        self.cancelled_transactions = 0
        self.failed_write_units = 0.0  # billed for writes that changed nothing
        self.usage: dict[tuple[str, str], Usage] = {}  # (caller, operation) -> what it cost

    def _usage(self, caller: str, operation: str) -> Usage:
        return self.usage.setdefault((caller, operation), Usage())

    def reset(self) -> None:
        self.requests.clear()
        self.usage.clear()
        self.read_units = self.write_units = self.failed_write_units = 0.0
        self.failed_conditions = self.cancelled_transactions = 0

    def stats(self) -> dict[str, Any]:
        return {
            "requests": dict(sorted(self.requests.items())),
            "read_request_units": round(self.read_units, 2),
            "write_request_units": round(self.write_units, 2),
            "failed_conditional_writes": self.failed_conditions,
            "cancelled_transactions": self.cancelled_transactions,
            "failed_write_request_units": round(self.failed_write_units, 2),
            "by_caller": {
                caller: {op: u.as_dict() for (c, op), u in sorted(self.usage.items()) if c == caller}
                for caller in sorted({c for c, _ in self.usage})
            },
        }

    def request(self, operation: str, body: bytes, caller: str = "-") -> tuple[bytes, Asked]:
        """Count a request and ask for what billing it needs: (the body to send, what the client asked).
        `caller`: who signed it (a function's name), for the breakdown."""
        self.requests[operation] += 1
        self._usage(caller, operation).requests += 1
        if operation not in _CAPACITY_OPERATIONS or not body:
            return body, Asked(caller=caller)
        document = json.loads(body)
        capacity = document.get("ReturnConsumedCapacity", "NONE") != "NONE"
        item = True
        if not capacity:
            document["ReturnConsumedCapacity"] = "INDEXES"  # the total, and the index writes apart
        conditional = operation in _CONDITIONAL and "ConditionExpression" in document
        if conditional and document.get("ReturnValuesOnConditionCheckFailure", "NONE") == "NONE":
            document["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
            item = False
        if operation == "TransactWriteItems":
            for entry in document.get("TransactItems") or []:
                for part in entry.values():
                    if isinstance(part, dict) and part.get("ConditionExpression"):
                        part.setdefault("ReturnValuesOnConditionCheckFailure", "ALL_OLD")
        asked = Asked(capacity, item, document, caller)
        return json.dumps(document).encode(), asked

    def response(
        self, operation: str, status: int, payload: bytes, headers: MutableMapping[str, str], asked: Asked
    ) -> bytes:
        """Add up the capacity of an answer; the answer as the client asked for it."""
        if operation not in _CAPACITY_OPERATIONS:
            return payload
        if status != 200:
            return self._failure(operation, payload, headers, asked)
        document = json.loads(payload)
        self._count(operation, document.get("ConsumedCapacity"), asked.caller)
        if asked.capacity:
            return payload
        document.pop("ConsumedCapacity", None)
        return self._rewritten(document, headers)

    def _failure(
        self, operation: str, payload: bytes, headers: MutableMapping[str, str], asked: Asked
    ) -> bytes:
        """A write that changed nothing but is billed: a failed condition, a cancelled transaction."""
        try:
            error = json.loads(payload)
        except ValueError:
            return payload
        code = str(error.get("__type", "")).rpartition("#")[2]
        usage = self._usage(asked.caller, operation)
        if code == "ConditionalCheckFailedException" and operation in _CONDITIONAL:
            self.failed_conditions += 1
            units = _units(item_size(error.get("Item")))
            self.write_units += units
            self.failed_write_units += units
            usage.write_units += units
            usage.failed += 1
            if not asked.item_on_failure and "Item" in error:
                error.pop("Item")
                return self._rewritten(error, headers)
        elif code == "TransactionCanceledException" and operation == "TransactWriteItems":
            self.cancelled_transactions += 1
            reasons = error.get("CancellationReasons") or []
            units = 0
            for n, entry in enumerate((asked.sent or {}).get("TransactItems") or []):
                (part,) = entry.values()
                reason = reasons[n] if n < len(reasons) and isinstance(reasons[n], dict) else {}
                units += 2 * _units(item_size(reason.get("Item") or part.get("Item")))
            self.write_units += units
            self.failed_write_units += units
            usage.write_units += units
            usage.failed += 1
        return payload

    @staticmethod
    def _rewritten(document: dict[str, Any], headers: MutableMapping[str, str]) -> bytes:
        payload = json.dumps(document).encode()
        headers["x-amz-crc32"] = str(zlib.crc32(payload))
        return payload

    def _count(self, operation: str, consumed: Any, caller: str = "-") -> None:
        items = [i for i in (consumed if isinstance(consumed, list) else [consumed]) if isinstance(i, dict)]
        units = sum(float(item.get("CapacityUnits", 0)) for item in items)
        usage = self._usage(caller, operation)
        if operation in _WRITES:
            self.write_units += units
            usage.write_units += units
            usage.index_write_units += sum(
                float(index.get("CapacityUnits", 0))
                for item in items
                for index in (item.get("GlobalSecondaryIndexes") or {}).values()
            )
        else:
            self.read_units += units
            usage.read_units += units
