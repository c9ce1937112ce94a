"""WebSocket routes and the orchestrator's broadcasts to them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Clock
from driver import Cloud


def connection(cloud: Cloud, connection_id: str) -> dict[str, Any] | None:
    item = cloud.dynamodb.get_item(TableName=cloud.connections, Key={"connection_id": {"S": connection_id}})
    return item.get("Item")


@pytest.mark.any_dispatch
class TestConnections:
    def test_connect_stores_the_connection_subscribed_to_everything_with_a_ttl(
        self, cloud: Cloud, clock: Clock
    ) -> None:
        assert cloud.websocket("$connect", "c1") == {"statusCode": 200}
        item = connection(cloud, "c1")
        assert item is not None
        assert item["topic"] == {"S": "*"}
        assert int(item["expires_at"]["N"]) - int(item["connected_at"]["N"]) == 7200

    def test_subscribe_to_one_workflow_and_back_to_all(self, cloud: Cloud) -> None:
        cloud.websocket("$connect", "c1")
        reply = cloud.websocket("subscribe", "c1", {"action": "subscribe", "workflow_id": "wf-9"})
        assert reply["statusCode"] == 200
        assert json.loads(reply["body"]) == {"type": "subscribed", "workflow_id": "wf-9"}
        assert connection(cloud, "c1")["topic"] == {"S": "wf-9"}
        cloud.websocket("subscribe", "c1", {"action": "subscribe"})
        assert connection(cloud, "c1")["topic"] == {"S": "*"}

    def test_disconnect_deletes_the_connection(self, cloud: Cloud) -> None:
        cloud.websocket("$connect", "c1")
        assert cloud.websocket("$disconnect", "c1") == {"statusCode": 200}
        assert connection(cloud, "c1") is None

    def test_a_subscribe_after_disconnect_does_not_bring_the_connection_back(self, cloud: Cloud) -> None:
        reply = cloud.websocket("subscribe", "gone", {"action": "subscribe", "workflow_id": "wf-1"})
        assert reply["statusCode"] == 410
        assert connection(cloud, "gone") is None

    @pytest.mark.parametrize(
        ("route", "body", "error"),
        [
            ("subscribe", "{not json", "invalid_json"),
            (
                "subscribe",
                '{"action": "subscribe", "workflow_id": ' + "[" * 50 + "]" * 50 + "}",
                "validation_error",
            ),
            ("subscribe", "[" * 100_000 + "]" * 100_000, "validation_error"),
            ("subscribe", {"action": "subscribe", "workflow_id": "bad id!"}, "validation_error"),
            ("subscribe", {"action": "subscribe", "workflow_id": 7}, "validation_error"),
            ("$default", {"action": "dance"}, "unknown_action"),
        ],
    )
    def test_bad_messages_get_a_400_with_a_json_body(
        self, cloud: Cloud, route: str, body: Any, error: str
    ) -> None:
        cloud.websocket("$connect", "c1")
        reply = cloud.websocket(route, "c1", body)
        assert reply["statusCode"] == 400
        assert json.loads(reply["body"])["error"] == error


class TestBroadcast:
    def test_updates_reach_subscribers_of_everything_and_of_that_workflow_only(self, cloud: Cloud) -> None:
        for cid in ("all", "mine", "other"):
            cloud.websocket("$connect", cid)
        cloud.websocket("subscribe", "mine", {"action": "subscribe", "workflow_id": "watched"})
        cloud.websocket("subscribe", "other", {"action": "subscribe", "workflow_id": "elsewhere"})
        cloud.api("POST", "/workflows", {"workflowId": "watched"})
        cloud.run()
        receivers = {cid for cid, _ in cloud.posts}
        assert receivers == {"all", "mine"}
        last = [m for cid, m in cloud.posts if cid == "mine"][-1]
        assert last["type"] == "workflow_update"
        assert last["workflow_id"] == "watched"
        assert last["data"]["status"] == "SUCCESS"
        assert [t["taskId"] for t in last["data"]["tasks"]] == ["A", "B1", "B2", "B3", "C"]
        assert {t["type"] for t in last["data"]["tasks"]} == {"node", "python", "container"}

    def test_a_connection_that_answers_410_gone_is_deleted(self, cloud: Cloud) -> None:
        cloud.websocket("$connect", "alive")
        cloud.websocket("$connect", "closed")
        cloud.gone.add("closed")
        cloud.api("POST", "/workflows", {"workflowId": "w"})
        result = cloud.orchestrate(cloud.read_stream())
        assert result == {"batchItemFailures": []}
        assert connection(cloud, "closed") is None
        assert connection(cloud, "alive") is not None
        assert [cid for cid, _ in cloud.posts] == ["alive"]
