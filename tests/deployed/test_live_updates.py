"""The WebSocket API: subscriptions, and connections that go away."""

from __future__ import annotations

from support import Listener

from tests.cloud import Api, Deployment, eventually


def test_a_subscriber_gets_only_its_workflow_and_a_default_client_gets_all(
    api: Api, deployment: Deployment
) -> None:
    with (
        Listener(deployment.websocket_url_as()) as everything,
        Listener(deployment.websocket_url_as()) as one,
    ):
        slow = {"input": {"simulate": {"A": {"sleep_ms": 5000}}}}  # still running when cancelled below
        mine, other = api.create(slow), api.create(slow)
        one.send({"action": "subscribe", "workflow_id": mine["workflow_id"]})
        acknowledged = {"type": "subscribed", "workflow_id": mine["workflow_id"]}
        eventually(lambda: _replied(one, acknowledged), timeout=20, what="the subscription is acknowledged")
        api.request("POST", f"/workflows/{other['workflow_id']}/cancel")
        api.request("POST", f"/workflows/{mine['workflow_id']}/cancel")
        eventually(lambda: _has(one, mine["workflow_id"], "CANCELLED"), timeout=30)
        eventually(lambda: _has(everything, other["workflow_id"], "CANCELLED"), timeout=30)
        eventually(lambda: _has(everything, mine["workflow_id"], "CANCELLED"), timeout=30)
        late = [u for u in one.updates(other["workflow_id"]) if u.message["data"]["status"] == "CANCELLED"]
        assert late == [], "a client subscribed to one workflow hears nothing of another"


def test_a_refused_message_is_answered_with_the_reason(deployment: Deployment) -> None:
    with Listener(deployment.websocket_url_as()) as client:
        client.send({"action": "subscribe", "workflow_id": "not a workflow id!"})
        eventually(lambda: _replied_with(client, "validation_error"), timeout=20, what="a refusal")
        client.send({"action": "dance"})
        eventually(lambda: _replied_with(client, "unknown_action"), timeout=20, what="a refusal")
        assert all(reply["type"] == "error" and reply["message"] for reply in client.replies())


def _replied(listener: Listener, reply: dict[str, object]) -> None:
    assert reply in listener.replies(), listener.replies()


def _replied_with(listener: Listener, error: str) -> None:
    assert error in [r.get("error") for r in listener.replies()], listener.replies()


def _has(listener: Listener, workflow_id: str, status: str) -> None:
    statuses = [u.message["data"]["status"] for u in listener.updates(workflow_id)]
    assert status in statuses, statuses


def _connection_ids(deployment: Deployment) -> set[str]:
    table = deployment.outputs["connections_table_name"]
    items = deployment.clients["dynamodb"].scan(TableName=table, ProjectionExpression="connection_id")[
        "Items"
    ]
    return {item["connection_id"]["S"] for item in items}


def test_a_closed_connection_is_cleaned_up(api: Api, deployment: Deployment) -> None:
    before = _connection_ids(deployment)
    listener = Listener(deployment.websocket_url_as()).__enter__()
    mine = eventually(lambda: _new(deployment, before), timeout=20, what="the connection is recorded")
    listener.close()
    api.create()  # a broadcast: a connection the gateway still knew would be answered 410 and deleted
    eventually(lambda: _gone(deployment, mine), timeout=30, what="the closed connection is deleted")


def _new(deployment: Deployment, before: set[str]) -> str:
    added = _connection_ids(deployment) - before
    assert len(added) == 1, added
    return added.pop()


def _gone(deployment: Deployment, connection_id: str) -> None:
    assert connection_id not in _connection_ids(deployment)
