"""DynamoDB: the stack's tables in DynamoDB Local, with their keys, indexes, stream and TTL.

DynamoDB Local runs with `-sharedDb`, so every client sees the same tables whatever its access
key and region. It names streams with its own region and account (`ddblocal`, `000000000000`);
the stack's functions and mappings only ever see the stack's ARN (see `plan.py`), and
`Tables.local_stream_arn` maps one to the other for the stream pollers.

`Access` says what IAM checks for a function's DynamoDB request (the gate asks it): the operation
is the action, on the table's ARN, or `table/<t>/index/<i>` for a Query or Scan of an index, or the
stream's ARN. A transaction is checked item by item as the item's own operation (Put is
dynamodb:PutItem, ConditionCheck dynamodb:ConditionCheckItem, Get dynamodb:GetItem); the batch
operations are actions of their own (dynamodb:BatchWriteItem, dynamodb:BatchGetItem), on every
table they name.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from localcloud.iam import Denial, Principal, Unmapped
from localcloud.plan import Plan, PlanError, Resource
from localcloud.web import request_id

TYPES = ("aws_dynamodb_table",)
# Accepted and applied only as far as DynamoDB Local can: it has no KMS, backups or deletion
# protection, and it does not delete expired items (TTL is recorded, never enforced).


@dataclass
class Table:
    address: str
    name: str
    arn: str
    stream_arn: str  # the stack's ARN ("" without a stream)
    local_stream_arn: str  # DynamoDB Local's ARN for the same stream
    hash_key: str


def table_request(plan: Plan, resource: Resource) -> dict[str, Any]:
    """CreateTable parameters from an aws_dynamodb_table's resolved configuration."""
    config = plan.resolved(resource.address)
    where = resource.address

    def blocks(key: str) -> list[dict[str, Any]]:
        value = config.get(key) or []
        return value if isinstance(value, list) else [value]

    attributes = {a["name"]: a["type"] for a in blocks("attribute")}
    used: set[str] = set()

    def key_schema(hash_key: str, range_key: str | None, owner: str) -> list[dict[str, str]]:
        schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
        if range_key:
            schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
        for item in schema:
            if item["AttributeName"] not in attributes:
                raise PlanError(
                    f"{where}: {owner} uses {item['AttributeName']!r}, which has no attribute block"
                )
            used.add(item["AttributeName"])
        return schema

    def projection(index: dict[str, Any]) -> dict[str, Any]:
        kind = index.get("projection_type", "ALL")
        result: dict[str, Any] = {"ProjectionType": kind}
        if kind == "INCLUDE":
            result["NonKeyAttributes"] = list(index.get("non_key_attributes") or [])
        return result

    request: dict[str, Any] = {
        "TableName": config["name"],
        "KeySchema": key_schema(config["hash_key"], config.get("range_key"), "the table key"),
    }
    billing = config.get("billing_mode", "PROVISIONED")
    request["BillingMode"] = billing
    throughput = {
        "ReadCapacityUnits": int(config.get("read_capacity") or 1),
        "WriteCapacityUnits": int(config.get("write_capacity") or 1),
    }
    if billing == "PROVISIONED":
        request["ProvisionedThroughput"] = throughput
    gsis = []
    for index in blocks("global_secondary_index"):
        gsi: dict[str, Any] = {
            "IndexName": index["name"],
            "KeySchema": key_schema(index["hash_key"], index.get("range_key"), f"index {index['name']}"),
            "Projection": projection(index),
        }
        if billing == "PROVISIONED":
            gsi["ProvisionedThroughput"] = {
                "ReadCapacityUnits": int(index.get("read_capacity") or 1),
                "WriteCapacityUnits": int(index.get("write_capacity") or 1),
            }
        gsis.append(gsi)
    if gsis:
        request["GlobalSecondaryIndexes"] = gsis
    lsis = [
        {
            "IndexName": index["name"],
            "KeySchema": key_schema(config["hash_key"], index["range_key"], f"index {index['name']}"),
            "Projection": projection(index),
        }
        for index in blocks("local_secondary_index")
    ]
    if lsis:
        request["LocalSecondaryIndexes"] = lsis
    unused = sorted(set(attributes) - used)
    if unused:
        # AWS rejects this too: every attribute block must be a key of the table or of an index.
        raise PlanError(f"{where}: attribute(s) {', '.join(unused)} are declared but no key uses them")
    request["AttributeDefinitions"] = [
        {"AttributeName": n, "AttributeType": t} for n, t in attributes.items()
    ]
    if config.get("stream_enabled"):
        request["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": config.get("stream_view_type") or "NEW_AND_OLD_IMAGES",
        }
    return request


class Tables:
    def __init__(self, client: Any, streams_client: Any) -> None:
        self.client = client
        self.streams_client = streams_client
        self.by_address: dict[str, Table] = {}

    def create(self, plan: Plan) -> list[Table]:
        for resource in plan.of_type(*TYPES):
            request = table_request(plan, resource)
            description = self.client.create_table(**request)["TableDescription"]
            ttl = plan.resolved(resource.address).get("ttl") or {}
            ttl = ttl[0] if isinstance(ttl, list) and ttl else ttl
            if isinstance(ttl, dict) and ttl.get("enabled") and ttl.get("attribute_name"):
                self.client.update_time_to_live(
                    TableName=request["TableName"],
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attribute_name"]},
                )
            self.by_address[resource.address] = Table(
                address=resource.address,
                name=request["TableName"],
                arn=str(plan.attribute(resource.address, "arn")),
                stream_arn=str(plan.attribute(resource.address, "stream_arn")),
                local_stream_arn=description.get("LatestStreamArn", ""),
                hash_key=request["KeySchema"][0]["AttributeName"],
            )
        return list(self.by_address.values())

    def for_stream(self, stream_arn: str) -> Table:
        for table in self.by_address.values():
            if stream_arn and stream_arn in (table.stream_arn, table.local_stream_arn):
                return table
        raise PlanError(f"no table in the stack has the stream {stream_arn}")


_TRANSACT_ACTIONS = {
    "Get": "GetItem",
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_STREAM_OF_TABLE = re.compile(r":table/([^/|]+)/stream/")


class Access:
    """What IAM checks for a DynamoDB or DynamoDB Streams request, and DynamoDB's answer to a denial."""

    def __init__(self, plan: Plan) -> None:
        self.tables = f"arn:aws:dynamodb:{plan.region}:{plan.account_id}:table/"
        self.stream_label = plan.stream_label

    def _table(self, name: str) -> str:
        return name if name.startswith("arn:") else self.tables + name

    def _stream(self, local: str) -> str:
        # DynamoDB Local names a stream with its own region, account and label (its shard
        # iterators carry that ARN too); policies name the stack's.
        match = _STREAM_OF_TABLE.search(local)
        return f"{self.tables}{match.group(1)}/stream/{self.stream_label}" if match else "*"

    def requests(self, request: web.Request, body: bytes) -> list[tuple[str, str]]:
        operation = request.headers.get("X-Amz-Target", "").rpartition(".")[2]
        try:
            document = json.loads(body) if body else {}
        except ValueError:
            return []  # DynamoDB refuses it as a SerializationException before anything is read
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{operation}", self._table(t)) for t in document.get("RequestItems") or {}]
        if operation in ("TransactGetItems", "TransactWriteItems"):
            checked = []
            for item in document.get("TransactItems") or []:
                for kind, part in item.items():
                    if kind not in _TRANSACT_ACTIONS:
                        raise Unmapped(f"{operation}: an item of kind {kind} is not known to the local cloud")
                    checked.append((f"dynamodb:{_TRANSACT_ACTIONS[kind]}", self._table(part["TableName"])))
            return checked
        if "StreamArn" in document:
            resource = self._stream(document["StreamArn"])
        elif "ShardIterator" in document:
            resource = self._stream(document["ShardIterator"])
        elif "TableName" in document:
            resource = self._table(document["TableName"])
            if document.get("IndexName") and operation in ("Query", "Scan"):
                resource += f"/index/{document['IndexName']}"
        elif "ResourceArn" in document:
            resource = document["ResourceArn"]
        else:
            resource = "*"  # ListTables, ListStreams, DescribeLimits, ...
        return [(f"dynamodb:{operation}", resource)]

    def resource_denial(
        self, request: web.Request, principal: Principal, requests: list[tuple[str, str]]
    ) -> Denial | None:
        return None  # no resource policies on tables and queues in the stacks (queue policies: none)

    def message(self, denial: Denial) -> str:
        return denial.message()

    def denied(self, request: web.Request, message: str) -> web.Response:
        body = json.dumps({"__type": "com.amazon.coral.service#AccessDeniedException", "Message": message})
        data = body.encode()
        headers = {"x-amzn-RequestId": request_id(), "x-amz-crc32": str(zlib.crc32(data))}
        return web.Response(status=400, body=data, headers=headers, content_type="application/x-amz-json-1.0")
