"""A counting proxy in front of DynamoDB Local, for the bench: requests and capacity per operation.

Functions reach DynamoDB through it when the local cloud runs with `meter=True`. It asks DynamoDB
Local for the consumed capacity of every request (`ReturnConsumedCapacity: TOTAL`), adds it up by
table and operation, and gives each client the answer it asked for (the capacity removed again
unless the client requested it; the response checksum recomputed). What it counts is what AWS
bills an on-demand table: read and write request units.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from typing import Any

import aiohttp
from aiohttp import web

from localcloud.web import Listener, listen

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
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.requests: Counter[str] = Counter()  # operation -> requests
        self.read_units = 0.0
        self.write_units = 0.0
        self.listener: Listener | None = None
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> Listener:
        self.session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.listener = await listen(app)
        return self.listener

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.close()
        if self.session is not None:
            await self.session.close()

    def reset(self) -> None:
        self.requests.clear()
        self.read_units = self.write_units = 0.0

    def stats(self) -> dict[str, Any]:
        return {
            "requests": dict(sorted(self.requests.items())),
            "read_request_units": round(self.read_units, 2),
            "write_request_units": round(self.write_units, 2),
        }

    async def handle(self, request: web.Request) -> web.StreamResponse:
        assert self.session is not None
        body = await request.read()
        operation = request.headers.get("X-Amz-Target", "").rpartition(".")[2]
        self.requests[operation] += 1
        asked = True
        if operation in _CAPACITY_OPERATIONS and body:
            document = json.loads(body)
            asked = "ReturnConsumedCapacity" in document and document["ReturnConsumedCapacity"] != "NONE"
            if not asked:
                document["ReturnConsumedCapacity"] = "TOTAL"
                body = json.dumps(document).encode()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self.session.post(self.upstream + request.path_qs, data=body, headers=headers) as upstream:
            payload = await upstream.read()
            status = upstream.status
            out_headers = {
                k: v
                for k, v in upstream.headers.items()
                if k.lower() not in ("content-length", "transfer-encoding", "connection")
            }
        if operation in _CAPACITY_OPERATIONS and status == 200:
            document = json.loads(payload)
            self._count(operation, document.get("ConsumedCapacity"))
            if not asked:
                document.pop("ConsumedCapacity", None)
                payload = json.dumps(document).encode()
                out_headers["x-amz-crc32"] = str(zlib.crc32(payload))
        return web.Response(status=status, body=payload, headers=out_headers)

    def _count(self, operation: str, consumed: Any) -> None:
        items = consumed if isinstance(consumed, list) else [consumed] if consumed else []
        units = sum(float(item.get("CapacityUnits", 0)) for item in items if isinstance(item, dict))
        if operation in _WRITES:
            self.write_units += units
        else:
            self.read_units += units
