"""DynamoDB: the stack's tables in DynamoDB Local, with their keys, indexes, stream and TTL.

DynamoDB Local runs with `-sharedDb`, so every client sees the same tables whatever its access
key and region. It names streams with its own region and account (`ddblocal`, `000000000000`);
the stack's functions and mappings only ever see the stack's ARN (see `plan.py`), and
`Tables.local_stream_arn` maps one to the other for the stream pollers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from localcloud.plan import Plan, PlanError, Resource

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
