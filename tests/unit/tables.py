"""The two tables exactly as docs/architecture.md describes them; every DynamoDB Local test uses this."""

from __future__ import annotations

from typing import Any


def _gsi(
    name: str, hash_key: str, range_key: str | None = None, include: tuple[str, ...] | None = None
) -> dict[str, Any]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    projection: dict[str, Any] = {"ProjectionType": "KEYS_ONLY"}
    if include:
        projection = {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(include)}
    return {"IndexName": name, "KeySchema": schema, "Projection": projection}


def workflows_table(name: str) -> dict[str, Any]:
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "list_pk", "AttributeType": "S"},
            {"AttributeName": "status_pk", "AttributeType": "S"},
            {"AttributeName": "created_at", "AttributeType": "S"},
        ],
        "GlobalSecondaryIndexes": [
            _gsi("by_created", "list_pk", "created_at"),
            _gsi("by_status", "status_pk", "created_at"),
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }


def connections_table(name: str) -> dict[str, Any]:
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "connection_id", "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": "connection_id", "AttributeType": "S"},
            {"AttributeName": "topic", "AttributeType": "S"},
        ],
        "GlobalSecondaryIndexes": [_gsi("by_topic", "topic", include=("permissions",))],
    }


def create_tables(client: Any, workflows: str, connections: str) -> None:
    """Create both tables and enable TTL on `expires_at`, as the data module does on AWS."""
    client.create_table(**workflows_table(workflows))
    client.create_table(**connections_table(connections))
    for table in (workflows, connections):
        client.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
        )
