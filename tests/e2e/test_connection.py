"""The connection indicator and the page's correctness when the gateway drops the WebSocket."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.cloud import Api, Deployment
from tests.e2e.dashboard import (
    TASKS,
    connection,
    expect_nodes,
    history,
    node,
    open_workflow,
    simulate,
    unique_id,
    workflow_status,
)


@pytest.fixture
def gateway(local_only: Deployment) -> Iterator[Callable[[float], int]]:
    """Drops every WebSocket connection, as API Gateway does at its 2-hour limit or idle timeout,
    keeping new handshakes waiting `hold_seconds` (the local cloud's control API). Any hold is
    ended afterwards, whatever the test did."""

    def drop(hold_seconds: float) -> int:
        return int(local_only.control("websocket/disconnect", {"hold_seconds": hold_seconds})["closed"])

    yield drop
    drop(0)


def test_the_indicator_reconnects_when_the_gateway_drops_the_connection_and_the_page_catches_up(
    page: Page, api: Api, gateway: Callable[[float], int], screenshot: Callable[[str], Path]
) -> None:
    workflow_id = unique_id("outage")
    # A runs for 3 s: long enough to be caught running, however slowly the page opens.
    api.create({"workflowId": workflow_id, "input": simulate(A=3000)})
    open_workflow(page, workflow_id)
    expect(node(page, "A")).to_have_attribute("data-status", "RUNNING")

    assert gateway(60) >= 1, "the page's connection was open"
    expect(connection(page)).to_have_attribute("data-state", "reconnecting")
    screenshot("connection-reconnecting")
    # The workflow finishes while no WebSocket can reach the page: its updates are lost to it.
    api.wait(workflow_id)
    expect(connection(page)).to_have_attribute("data-state", "reconnecting")

    assert gateway(0) == 0, "the page's new connection was still waiting for its handshake"
    expect(connection(page)).to_have_attribute("data-state", "live")
    expect(workflow_status(page)).to_have_attribute("data-status", "SUCCESS")
    expect_nodes(page, "SUCCEEDED", timeout=10_000)
    states = [s.value for s in history(page, "connection-status") if s.value != "connecting"]
    assert states == ["live", "reconnecting", "live"], states

    # The new connection carries live updates again: a workflow started now appears in the list,
    # which does not poll while the page is live.
    page.get_by_role("link", name="All workflows").click()
    later = unique_id("after-outage")
    api.create({"workflowId": later})
    expect(page.get_by_test_id(f"workflow-row-{later}")).to_be_visible()
    row = page.get_by_test_id(f"workflow-row-{workflow_id}")
    expect(row).to_have_attribute("data-status", "SUCCESS")
    expect(row).to_contain_text(f"{len(TASKS)}/{len(TASKS)} succeeded")
