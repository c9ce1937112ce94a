"""The `connections` table (WebSocket clients) and broadcasting workflow images to them."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from engine.auth import Caller, may_receive

ALL_WORKFLOWS = "*"
BY_TOPIC = "by_topic"

log = logging.getLogger(__name__)


class Connections:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self.dynamodb = dynamodb
        self.table = table

    def connect(self, connection_id: str, now: float, ttl_seconds: int, caller: Caller) -> None:
        """Record the connection and who opened it: the broadcaster asks `may_receive` of its
        permissions before sending anything."""
        self.dynamodb.put_item(
            TableName=self.table,
            Item={
                "connection_id": {"S": connection_id},
                "topic": {"S": ALL_WORKFLOWS},
                "connected_at": {"N": str(int(now))},
                "expires_at": {"N": str(int(now + ttl_seconds))},
                "principal": {"S": caller.principal},
                "role": {"S": caller.role},
                "permissions": {"S": " ".join(sorted(caller.permissions)) or "-"},
            },
        )

    def disconnect(self, connection_id: str) -> None:
        self.dynamodb.delete_item(TableName=self.table, Key={"connection_id": {"S": connection_id}})

    def subscribe(self, connection_id: str, topic: str) -> bool:
        """Set the topic; False when the connection is gone (a late subscribe must not recreate it)."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={"connection_id": {"S": connection_id}},
                UpdateExpression="SET topic = :t",
                ConditionExpression="attribute_exists(connection_id)",
                ExpressionAttributeValues={":t": {"S": topic}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def subscribers(self, topic: str) -> list[str]:
        """The connections subscribed to `topic` that may receive it (engine.auth.may_receive)."""
        ids: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": BY_TOPIC,
            "KeyConditionExpression": "topic = :t",
            "ExpressionAttributeValues": {":t": {"S": topic}},
        }
        while True:
            page = self.dynamodb.query(**kwargs)
            ids.extend(
                item["connection_id"]["S"]
                for item in page.get("Items", [])
                if may_receive(item.get("permissions", {}).get("S"))
            )
            if "LastEvaluatedKey" not in page:
                return ids
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class Broadcaster:
    """Posts messages through the API Gateway Management API; one instance per invocation (it
    caches the `*` subscribers for the batch)."""

    def __init__(self, connections: Connections, management_api: Callable[[], Any]) -> None:
        self.connections = connections
        self._management_api = management_api
        self._client: Any = None
        self._everyone: list[str] | None = None
        self._topics: dict[str, list[str]] = {}

    def recipients(self, workflow_id: str) -> list[str]:
        """The connections that hear about this workflow: subscribed to everything or to it. (One
        place to decide who may hear what: the lookups are cached for the batch.)"""
        if self._everyone is None:
            self._everyone = self.connections.subscribers(ALL_WORKFLOWS)
        if workflow_id not in self._topics:
            self._topics[workflow_id] = self.connections.subscribers(workflow_id)
        return list(dict.fromkeys(self._everyone + self._topics[workflow_id]))

    def has_subscribers(self, workflow_id: str) -> bool:
        return bool(self.recipients(workflow_id))

    def send(self, workflow_id: str, message: dict[str, Any]) -> tuple[int, int]:
        """Best effort: (delivered, gone). A 410 Gone connection is deleted; other errors are logged."""
        targets = self.recipients(workflow_id)
        if not targets:
            return 0, 0
        if self._client is None:
            self._client = self._management_api()
        data = json.dumps(message, separators=(",", ":")).encode()
        delivered = gone = 0
        for connection_id in targets:
            try:
                self._client.post_to_connection(ConnectionId=connection_id, Data=data)
                delivered += 1
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "GoneException":
                    self.connections.disconnect(connection_id)
                    self._everyone = [c for c in self._everyone or [] if c != connection_id]
                    self._topics = {
                        t: [c for c in ids if c != connection_id] for t, ids in self._topics.items()
                    }
                    gone += 1
                else:
                    log.warning("post_to_connection %s failed: %s", connection_id, exc)
            except Exception as exc:
                log.warning("post_to_connection %s failed: %s", connection_id, exc)
        return delivered, gone
